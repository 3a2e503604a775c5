/**
 * A newer run of the same dataset loads while the Label Review panel is open: the new session takes over the old one's
 * undo history, skips and queue (carryOver). Every decision, skip and undo asked before or during the hand-over is
 * applied once, in the order asked, and shows in the new session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReviewSession, type SessionUpdate } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const A = '{"id": "a", "text": "alpha", "teacher_label": "World"}';
const B = '{"id": "b", "text": "beta", "teacher_label": "World"}';
const LABELS = ['World', 'Sports'];

function prediction(id: string, line: number, p = 0.9): Prediction {
  return { id, line, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: p, flagged: true, probs: { Sports: p }, peer_probs: {}, vanilla_probs: {} };
}

const firstRun = { labels: LABELS, predictions: [prediction('a', 1), prediction('b', 2)] };
/** The newer run: the same rows, other probabilities. */
const secondRun = { labels: LABELS, predictions: [prediction('a', 1, 0.7), prediction('b', 2, 0.8)] };

/** An editor that applies the next edit only when told to (the edit is in flight meanwhile). */
class SlowDocument extends FakeReviewDocument {
  private gate: Promise<void> | null = null;
  private open_: (() => void) | null = null;

  holdNextEdit(): () => void {
    this.gate = new Promise<void>((resolve) => (this.open_ = resolve));
    return () => this.open_?.();
  }

  override async replaceLines(writes: readonly { line: number; text: string }[]): Promise<boolean> {
    const gate = this.gate;
    this.gate = null;
    if (gate) await gate;
    return super.replaceLines(writes);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a skip still queued behind an edit in flight at the hand-over is kept by the new session, shown, and undone there first', async () => {
  const document = new SlowDocument(`${A}\n${B}\n`);
  const oldUpdates: SessionUpdate[] = [];
  const first = new ReviewSession(firstRun, document, { humanField: () => 'human_label', onUpdate: (update) => oldUpdates.push(update) });
  let shown = first;
  document.onChange = () => shown.documentChanged();
  const release = document.holdNextEdit();
  const accepted = first.decide('a', { kind: 'accept' });
  const skipped = first.decide('b', { kind: 'skip' });
  await settle();
  // The new run loads now (the panel's showDataset), the accept's edit still in flight and the skip queued behind it.
  const updates: SessionUpdate[] = [];
  const next = new ReviewSession(secondRun, document, { humanField: () => 'human_label', onUpdate: (update) => updates.push(update), ...first.carryOver() });
  shown = next;
  const oldUpdatesAtHandOver = oldUpdates.length;
  release();
  assert.equal((await accepted).status, 'done');
  assert.equal((await skipped).status, 'done');
  assert.equal(next.row('b')?.skipped, true, 'the skip asked before the hand-over is a skip of the new session');
  assert.equal(next.view().counts.skipped, 1);
  assert.equal(updates.at(-1)?.view.counts.skipped, 1, 'the panel is sent the new session with the skip');
  assert.equal(oldUpdates.length, oldUpdatesAtHandOver, 'the replaced session sends nothing to the panel that shows its successor');
  assert.deepEqual(next.place().skipped, ['b'], 'a retrain from the new session carries the skip on');
  const undoSkip = await next.undo();
  assert.equal(undoSkip.description, 'Skip');
  assert.equal(next.row('b')?.skipped, false);
  const undoAccept = await next.undo();
  assert.deepEqual([undoAccept.description, undoAccept.conflicts], ["Accept 'Sports'", []]);
  assert.deepEqual(document.lines, [A, B, '']);
  assert.equal((await next.undo()).undone, false);
});

test('an undo and a decision asked of the old session during the hand-over (the new run loading, a dialog open) run once, in order, before the new session\'s undo', async () => {
  const document = new FakeReviewDocument(`${A}\n${B}\n`);
  const first = new ReviewSession(firstRun, document, { humanField: () => 'human_label' });
  let shown = first;
  document.onChange = () => shown.documentChanged();
  await first.decide('a', { kind: 'skip' });
  const carried = first.carryOver();
  // A key pressed while the new run loads still reaches the old session.
  const undoneInOld = first.undo();
  const next = new ReviewSession(secondRun, document, { humanField: () => 'human_label', ...carried });
  shown = next;
  // A decision whose dialog ("not in the label set") opened before the hand-over is answered after it.
  const decidedInOld = first.decide('b', { kind: 'accept' });
  const undoneInNew = next.undo();
  assert.equal((await undoneInOld).description, 'Skip');
  assert.equal((await decidedInOld).status, 'done');
  const undone = await undoneInNew;
  assert.deepEqual([undone.undone, undone.description, undone.conflicts], [true, "Accept 'Sports'", []], "the new session's undo takes back the decision asked before it");
  assert.deepEqual(document.lines, [A, B, '']);
  assert.equal(next.row('a')?.skipped, false, 'the skip undone in the old session is not skipped in the new one');
  assert.equal(next.view().canUndo, false);
  assert.deepEqual(next.place().skipped, []);
});
