/**
 * A decision or an undo whose edit the editor refuses, or whose edit throws: the undo history stays true to the file
 * (nothing lost, nothing recorded that was not written) and the session's queue is released for the next decision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReviewSession } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const A = '{"id": "a", "text": "alpha", "teacher_label": "World"}';
const B = '{"id": "b", "text": "beta", "teacher_label": "World"}';

function prediction(id: string, line: number): Prediction {
  return { id, line, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9, flagged: true, probs: { Sports: 0.9 }, peer_probs: {}, vanilla_probs: {} };
}

/** The editor, which can refuse an edit (false) or fail it (an error) when told to. */
class FlakyDocument extends FakeReviewDocument {
  next: 'ok' | 'refuse' | 'throw' = 'ok';
  override async replaceLines(writes: readonly { line: number; text: string }[]): Promise<boolean> {
    const mode = this.next;
    this.next = 'ok';
    if (mode === 'refuse') return false;
    if (mode === 'throw') throw new Error('the document was closed');
    return super.replaceLines(writes);
  }
}

function setup(): { document: FlakyDocument; session: ReviewSession } {
  const document = new FlakyDocument(`${A}\n${B}\n`);
  const session = new ReviewSession({ labels: ['World', 'Sports'], predictions: [prediction('a', 1), prediction('b', 2)] }, document, { humanField: () => 'human_label' });
  document.onChange = () => session.documentChanged();
  return { document, session };
}

test('an undo the editor refuses keeps its entry: the decision can still be undone once the editor accepts', async () => {
  const { document, session } = setup();
  assert.equal((await session.decide('a', { kind: 'accept' })).status, 'done');
  assert.match(document.lines[0], /"human_label": "Sports"/);
  document.next = 'refuse';
  const refused = await session.undo();
  assert.equal(refused.applied, false);
  assert.match(document.lines[0], /"human_label": "Sports"/, 'the refused undo wrote nothing');
  const again = await session.undo();
  assert.equal(again.undone, true);
  assert.equal(again.applied, true);
  assert.equal(document.lines[0], A);
});

test('an undo whose edit throws keeps its entry and its skip marks, and releases the queue', async () => {
  const { document, session } = setup();
  await session.decide('b', { kind: 'skip' });
  await session.decide('a', { kind: 'accept' });
  document.next = 'throw';
  await assert.rejects(session.undo(), /the document was closed/);
  // The queue goes on: the next undo takes back the same decision, then the skip.
  assert.equal((await session.undo()).description.startsWith('Accept'), true);
  assert.equal(document.lines[0], A);
  assert.equal(session.row('b')?.skipped, true);
  assert.equal((await session.undo()).description, 'Skip');
  assert.equal(session.row('b')?.skipped, false);
});

test('a decision whose edit throws leaves no undo entry for a line it never wrote, and releases the queue', async () => {
  const { document, session } = setup();
  await session.decide('a', { kind: 'accept' });
  document.next = 'throw';
  await assert.rejects(session.decide('b', { kind: 'accept' }), /the document was closed/);
  assert.equal(document.lines[1], B);
  // The next undo is the decision on 'a' (written), not the failed one on 'b'.
  const undone = await session.undo();
  assert.deepEqual(undone.conflicts, []);
  assert.equal(document.lines[0], A);
  assert.equal((await session.undo()).undone, false);
});

test('a session that takes over the undo history waits for the decisions still in flight in the session it replaces', async () => {
  const document = new FlakyDocument(`${A}\n${B}\n`);
  const run = { labels: ['World', 'Sports'], predictions: [prediction('a', 1), prediction('b', 2)] };
  const first = new ReviewSession(run, document, { humanField: () => 'human_label' });
  let session = first;
  document.onChange = () => session.documentChanged();
  // The editor applies the decision's edit a moment later, while a new run replaces the session (the panel's showDataset).
  let release!: () => void;
  const slow = new Promise<void>((resolve) => (release = resolve));
  const replaceLines = document.replaceLines.bind(document);
  document.replaceLines = async (writes) => {
    await slow;
    return replaceLines(writes);
  };
  const decided = first.decide('a', { kind: 'accept' });
  await new Promise((resolve) => setImmediate(resolve));
  session = new ReviewSession(run, document, { humanField: () => 'human_label', ...first.carryOver() });
  const undone = session.undo();
  await new Promise((resolve) => setImmediate(resolve));
  release();
  assert.equal((await decided).status, 'done');
  const result = await undone;
  assert.equal(result.undone, true, 'the decision in flight is the one undone');
  assert.deepEqual(result.conflicts, []);
  assert.equal(document.lines[0], A);
});
