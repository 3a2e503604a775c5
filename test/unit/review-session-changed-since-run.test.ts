/**
 * A row whose teacher label changed in the file since the run (edited by hand, or the file replaced by one with the
 * same ids and other labels): the run's suggestion and probability are about a label no longer there. The panel shows
 * it as changed since the run, never accepts its suggestion (one decision, the quick fix, or bulk), and lets the user
 * keep or set a label — the same rule by which the editor's diagnostics drop its warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReviewSession } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

function prediction(id: string, line: number, p: number, teacher: string | null, suggested: string): Prediction {
  return { id, line, teacher, human: null, suggested, p_teacher_wrong: p, flagged: true, probs: { [suggested]: p }, peer_probs: {}, vanilla_probs: {} };
}

function setup(): { document: FakeReviewDocument; session: ReviewSession } {
  const document = new FakeReviewDocument(
    [
      '{"id": "a", "text": "alpha", "teacher_label": "World"}',
      '{"id": "b", "text": "beta", "teacher_label": "World"}',
    ].join('\n'),
  );
  const session = new ReviewSession(
    { labels: ['World', 'Sports', 'Business'], predictions: [prediction('a', 1, 0.9, 'World', 'Sports'), prediction('b', 2, 0.8, 'World', 'Business')] },
    document,
    { humanField: () => 'human_label' },
  );
  document.onChange = () => session.documentChanged();
  return { document, session };
}

test('a row whose teacher label was edited since the run shows as changed, and its suggestion is not accepted', async () => {
  const { document, session } = setup();
  assert.equal(session.row('a')?.changedSinceRun, false);
  document.type(1, '{"id": "a", "text": "alpha", "teacher_label": "Business"}');
  const row = session.row('a')!;
  assert.equal(row.changedSinceRun, true);
  assert.equal(row.runTeacher, 'World');
  assert.equal(row.teacher, 'Business');
  const view = session.rowViews().find((candidate) => candidate.key === 'a')!;
  assert.equal(view.changedSinceRun, true, 'the webview is told, so it draws no probability and no Accept');

  const result = await session.decide('a', { kind: 'accept' });
  assert.equal(result.status, 'refused');
  assert.match(result.status === 'refused' ? result.message : '', /row 'a'.*changed since the run.*'World' then, 'Business' now/);
  assert.equal(document.lines[0], '{"id": "a", "text": "alpha", "teacher_label": "Business"}', 'nothing written');
  assert.equal(document.edits, 0);

  // Keeping the label now there is the user's own judgement of the row as it is: written.
  assert.deepEqual(await session.decide('a', { kind: 'keep' }), { status: 'done', note: null });
  assert.equal(document.lines[0], '{"id": "a", "text": "alpha", "teacher_label": "Business", "human_label": "Business"}');
});

test('bulk accept leaves out rows changed since the run, and refuses one that changed while its dialog was open', async () => {
  const { document, session } = setup();
  document.type(1, '{"id": "a", "text": "alpha", "teacher_label": "Sports"}');
  assert.deepEqual(session.bulkAcceptRows(0).map((row) => row.key), ['b'], 'a changed since the run: not offered');

  // b is chosen, then the file is replaced by one with the same ids and other labels before the user confirms.
  const rows = session.bulkAcceptRows(0);
  document.type(2, '{"id": "b", "text": "beta", "teacher_label": "Sports"}');
  const result = await session.bulkAccept(rows);
  assert.equal(result.written, 0);
  assert.equal(result.failed.length, 1);
  assert.match(result.failed[0].reason, /changed since the run/);
  assert.equal(document.lines[1], '{"id": "b", "text": "beta", "teacher_label": "Sports"}');
});

test('a row whose teacher label is as the run saw it is accepted as before', async () => {
  const { document, session } = setup();
  assert.deepEqual(await session.decide('b', { kind: 'accept' }), { status: 'done', note: null });
  assert.equal(document.lines[1], '{"id": "b", "text": "beta", "teacher_label": "World", "human_label": "Business"}');
});

test('a row changed since the run goes to the end of the queue: its old probability no longer ranks it', () => {
  const { document, session } = setup();
  assert.deepEqual(session.place().order, ['a', 'b'], 'a (p 0.9) before b (p 0.8) while both are as the run saw them');
  document.type(1, '{"id": "a", "text": "alpha", "teacher_label": "Business"}');
  assert.deepEqual(session.place().order, ['b', 'a'], 'a changed since the run: after b');
  document.type(1, '{"id": "a", "text": "alpha", "teacher_label": "World"}');
  assert.deepEqual(session.place().order, ['a', 'b'], 'its label restored: ranked by its probability again');
});
