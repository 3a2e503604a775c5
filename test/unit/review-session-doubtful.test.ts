/**
 * The `doubtful` queue of Label Review: rows the run doubts but does not flag (src/training/doubtful.ts). On a
 * two-label task with a strong teacher a run can flag nothing while the rows it ranks first hold most of its errors;
 * this queue shows them, each suggesting the most probable label other than the teacher's. Accept and keep write
 * exactly as in the flagged queue; a bulk accept refuses (each suggestion is less likely than the teacher's label).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bulkAcceptRefusal, DEFAULT_FILTERS, doubtfulOf, nextQueue, REVIEW_QUEUES, type DocumentRowState } from '../../src/review/model';
import { buildReviewRows } from '../../src/review/reviewRows';
import { flaggedEmptyOffer, queueDescriptions } from '../../src/review/format';
import { rerankQueue } from '../../src/review/queueRerank';
import { ReviewSession } from '../../src/review/session';
import { buildViewUpdate } from '../../src/review/view';
import { UndoStack } from '../../src/review/undo';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const LABELS = ['neg', 'pos'];

/** A two-label run that flags nothing: every p below 0.5, the teacher's label each row's arg-max. */
function unflagged(id: string, line: number, teacher: string | null, p: number, human: string | null = null): Prediction {
  const other = teacher === 'pos' ? 'neg' : 'pos';
  const probs = teacher === null ? { neg: 0.6, pos: 0.4 } : { [teacher]: 1 - p, [other]: p };
  return { id, line, teacher, human, suggested: teacher ?? 'neg', p_teacher_wrong: p, flagged: false, probs, peer_probs: {}, vanilla_probs: {} };
}

// Candidates (teacher label, no human label, not flagged): Σp = 0.45 + 0.4 + 0.4 + 0.3 + 0.05 × 2 = 1.65 → K = 2.
const predictions: Prediction[] = [
  unflagged('a', 1, 'neg', 0.05),
  unflagged('b', 2, 'pos', 0.4),
  unflagged('c', 3, 'neg', 0.45),
  unflagged('d', 4, 'pos', 0.4),
  unflagged('e', 5, 'neg', 0.3),
  unflagged('f', 6, 'pos', 0.05),
  unflagged('h', 7, 'neg', 0, 'pos'), // a human label at run time: never doubtful
  unflagged('n', 8, null, 0), // no teacher label: the unlabelled queue
];
const text = predictions
  .map((p) => JSON.stringify({ id: p.id, text: `text ${p.id}`, ...(p.teacher === null ? {} : { teacher_label: p.teacher }), ...(p.human === null ? {} : { human_label: p.human }) }))
  .join('\n');

function setup(): { document: FakeReviewDocument; session: ReviewSession } {
  const document = new FakeReviewDocument(text);
  const session = new ReviewSession({ labels: LABELS, predictions }, document, { humanField: () => 'human_label' });
  document.onChange = () => session.documentChanged();
  return { document, session };
}

test('the doubtful queue: the top round(Σp) unflagged rows, ties by line, each suggesting the other label with p = p_teacher_wrong', () => {
  const documentRows = new Map<string, DocumentRowState>(predictions.map((p) => [p.id, { line: p.line, text: `text ${p.id}`, teacher: p.teacher, human: p.human }]));
  const rows = buildReviewRows(predictions, documentRows, { minProbability: 0, allQueues: true });
  assert.deepEqual(
    rows.filter((row) => row.queue === 'doubtful').map((row) => [row.key, row.teacher, row.suggested, row.p]),
    [
      ['c', 'neg', 'pos', 0.45],
      ['b', 'pos', 'neg', 0.4], // b and d tie at 0.4: b's line comes first
    ],
  );
  assert.deepEqual(rows.filter((row) => row.queue === 'unlabelled').map((row) => row.key), ['n']);
  // Without the other queues (the editor's diagnostics), only flagged rows: none here.
  assert.deepEqual(buildReviewRows(predictions, documentRows, { minProbability: 0 }), []);
  const view = buildViewUpdate(rows, { ...DEFAULT_FILTERS, queue: 'doubtful' }, new UndoStack(), LABELS);
  assert.deepEqual(view.order, ['c', 'b']);
  assert.deepEqual(view.queues, { flagged: { rows: 0, remaining: 0 }, doubtful: { rows: 2, remaining: 2 }, unlabelled: { rows: 1, remaining: 1 } });
});

test('Accept in the doubtful queue writes the other label, Keep the teacher label, as in the flagged queue', async () => {
  const { document, session } = setup();
  session.setFilters({ ...DEFAULT_FILTERS, queue: 'doubtful' });
  assert.deepEqual(await session.decide('c', { kind: 'accept' }), { status: 'done', note: null });
  assert.equal(document.lines[2], '{"id":"c","text":"text c","teacher_label":"neg","human_label":"pos"}');
  assert.equal(session.row('c')?.human, 'pos');
  assert.equal(session.view().counts.accepted, 1);
  assert.deepEqual(await session.decide('b', { kind: 'keep' }), { status: 'done', note: null });
  assert.equal(document.lines[1], '{"id":"b","text":"text b","teacher_label":"pos","human_label":"pos"}');
  assert.equal(session.view().counts.kept, 1);
  // One undo step per decision, as in the flagged queue.
  assert.equal((await session.undo()).undone, true);
  assert.equal(document.lines[1], '{"id":"b","text":"text b","teacher_label":"pos"}');
  // The rows stay in the queue once decided (membership is the run's), reviewed.
  assert.deepEqual(session.view().queues.doubtful, { rows: 2, remaining: 1 });
});

test('bulk accept refuses the doubtful queue with a message, and offers none of its rows', async () => {
  const { document, session } = setup();
  session.setFilters({ ...DEFAULT_FILTERS, queue: 'doubtful' });
  assert.match(session.bulkAcceptRefusal() ?? '', /does not act on the doubtful queue.*less likely than the teacher's label/);
  assert.deepEqual(session.bulkAcceptRows(0), []);
  assert.equal(bulkAcceptRefusal('flagged'), null);
  assert.equal(bulkAcceptRefusal('unlabelled'), null);
  assert.equal(document.edits, 0);
  session.setFilters({ ...DEFAULT_FILTERS, queue: 'unlabelled' });
  assert.equal(session.bulkAcceptRefusal(), null);
});

test('q cycles flagged → doubtful → unlabelled → flagged', () => {
  assert.deepEqual(REVIEW_QUEUES, ['flagged', 'doubtful', 'unlabelled']);
  assert.deepEqual(REVIEW_QUEUES.map(nextQueue), ['doubtful', 'unlabelled', 'flagged']);
});

test('the header says what the doubtful queue is, and an empty flagged queue offers it', () => {
  const { session } = setup();
  const { queueTexts, flaggedEmpty } = session.queueTexts();
  assert.equal(
    queueTexts.doubtful,
    "Doubtful: not flagged — the run thinks each teacher label more likely right than wrong, but these 2 rows hold about 1 of the 2 errors it expects among the rows it did not flag. Each suggests the most likely other label; decide them one by one (no bulk accept here).",
  );
  assert.equal(queueTexts.flagged, 'Flagged: none — the run doubts no teacher label enough to suggest another.');
  assert.equal(flaggedEmpty, 'The run flagged no rows, but it expects about 2 teacher errors among the rows it did not flag: its doubtful queue lists the 2 rows it ranks first.');
  const none = { rows: 0, expectedInQueue: 0, expectedErrors: 0.3, maxP: 0 };
  assert.equal(flaggedEmptyOffer(0, none), null, 'nothing to offer');
  assert.equal(flaggedEmptyOffer(3, { rows: 2, expectedInQueue: 1, expectedErrors: 2, maxP: 0.4 }), null, 'the flagged queue is not empty');
  assert.equal(queueDescriptions(3, none).doubtful, 'Doubtful: none — the run expects less than one teacher error among the rows it did not flag.');
  // Where the queue holds a row the run thinks more likely wrong (several labels, none preferred to the teacher's), it does not say otherwise.
  assert.match(queueDescriptions(0, { rows: 1, expectedInQueue: 0.6, expectedErrors: 0.7, maxP: 0.6 }).doubtful, /prefers the teacher's label to any single other label/);
});

test('re-rank orders the doubtful queue too (its cells are teacher → the other label); the queue keeps its rows', async () => {
  const keys = predictions.map((p) => p.id);
  const doubtful = doubtfulOf(predictions).indices;
  // 'c' was accepted (teacher 'neg' wrong): the (neg → pos) cell's correction is fitted on it.
  const human = new Map([['c', 'pos']]);
  const result = rerankQueue(predictions, keys, LABELS, (key) => human.get(key) ?? null, undefined, doubtful);
  assert.deepEqual([...result.scores.keys()].sort(), ['b', 'c']);
  assert.equal(result.scores.get('c'), 0.45, 'a reviewed row keeps its score');
  assert.notEqual(result.scores.get('b'), 0.4, 'an unreviewed doubtful row is re-scored');
  assert.equal(result.correction.cells.size, 1);
  assert.ok(result.correction.cells.has(LABELS.indexOf('neg') * LABELS.length + LABELS.indexOf('pos')), 'c counts in the cell of the suggestion it showed');
  const { session } = setup();
  session.setFilters({ ...DEFAULT_FILTERS, queue: 'doubtful' });
  await session.decide('c', { kind: 'accept' });
  session.rerankNow();
  assert.deepEqual([...session.view().order].sort(), ['b', 'c']);
  assert.ok(session.view().reranked);
});
