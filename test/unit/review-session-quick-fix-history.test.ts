/**
 * A quick fix ("Accept Suggested Label", "Keep Teacher Label") taken while no Label Review panel shows the dataset
 * decides through a session of its own. That session had a history of its own too, dropped at once: after the panel
 * was opened again, `u` undid the last panel decision, not the quick fix taken after it. It now records into the
 * dataset's kept history (ReviewHistories), without taking over the refreshes of a session a panel shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReviewHistories, ReviewSession, type SessionUpdate } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const A = '{"id": "a", "text": "alpha", "teacher_label": "World"}';
const B = '{"id": "b", "text": "beta", "teacher_label": "World"}';
const LABELS = ['World', 'Sports'];
const DATASET = 'file:///work/news.jsonl';

function prediction(id: string, line: number): Prediction {
  return { id, line, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9, flagged: true, probs: { Sports: 0.9 }, peer_probs: {}, vanilla_probs: {} };
}

const run = { labels: LABELS, predictions: [prediction('a', 1), prediction('b', 2)] };
const humanField = () => 'human_label';

test('a quick fix taken while the panel is closed is what u in the panel opened again undoes first, then the panel\'s own decision', async () => {
  const histories = new ReviewHistories();
  const document = new FakeReviewDocument(`${A}\n${B}\n`);
  // The panel decides row a, then is closed (it lets go of the session it showed).
  const panel = new ReviewSession(run, document, { humanField, continues: histories.of(DATASET) });
  assert.equal((await panel.decide('a', { kind: 'accept' })).status, 'done');
  histories.of(DATASET).current = undefined;
  const decidedA = document.lines[0];
  // The quick fix on row b, the panel closed: a session of its own, on the dataset's kept history.
  const quickFix = new ReviewSession(run, document, { humanField, continues: histories.of(DATASET), shown: false });
  assert.equal((await quickFix.decide('b', { kind: 'keep' })).status, 'done');
  assert.match(document.lines[1], /"human_label": ?"World"/);
  // The panel opened again on the dataset.
  const reopened = new ReviewSession(run, document, { humanField, continues: histories.get(DATASET) });
  assert.equal(reopened.view().canUndo, true);
  const first = await reopened.undo();
  assert.equal(first.description, "Keep 'World'", 'u undoes the quick fix, the last decision taken');
  assert.deepEqual(document.lines, [decidedA, B, ''], 'the quick fix is taken back, the panel decision is still there');
  const second = await reopened.undo();
  assert.equal(second.description, "Accept 'Sports'");
  assert.deepEqual(document.lines, [A, B, '']);
});

test('the exact-line check holds for an undone quick fix: a line typed over since is left as it is', async () => {
  const histories = new ReviewHistories();
  const document = new FakeReviewDocument(`${A}\n${B}\n`);
  const quickFix = new ReviewSession(run, document, { humanField, continues: histories.of(DATASET), shown: false });
  await quickFix.decide('a', { kind: 'accept' });
  const typed = '{"id": "a", "text": "alpha", "teacher_label": "World", "human_label": "Business"}';
  document.type(1, typed);
  const panel = new ReviewSession(run, document, { humanField, continues: histories.get(DATASET) });
  const undone = await panel.undo();
  assert.deepEqual(undone.conflicts, [{ rowId: 'a', reason: 'line 1 was edited since' }]);
  assert.equal(document.lines[0], typed);
});

test('a quick fix\'s own session (the panel open on another run of the dataset) records into its history without taking over the refreshes of the session shown', async () => {
  const histories = new ReviewHistories();
  const document = new FakeReviewDocument(`${A}\n${B}\n`);
  const updates: SessionUpdate[] = [];
  const shown = new ReviewSession(run, document, { humanField, continues: histories.of(DATASET), onUpdate: (update) => updates.push(update) });
  document.onChange = () => shown.documentChanged();
  const quickFix = new ReviewSession(run, document, { humanField, continues: histories.of(DATASET), shown: false });
  await quickFix.decide('b', { kind: 'accept' });
  assert.equal(updates.at(-1)?.rows.find((row) => row.key === 'b')?.human, 'Sports', 'the panel shows the quick fix');
  await quickFix.decide('a', { kind: 'skip' });
  assert.equal(updates.at(-1)?.view.counts.skipped, 1, 'and a skip');
  assert.equal(shown.view().canUndo, true);
  assert.equal((await shown.undo()).description, 'Skip');
  assert.equal((await shown.undo()).description, "Accept 'Sports'");
  assert.deepEqual(document.lines, [A, B, '']);
});
