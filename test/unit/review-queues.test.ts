import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FILTERS, filtersForQueue, NO_TEACHER_FILTER, queueListLabel, queueTitle, REVIEW_QUEUES, rowsForBulkAccept, teacherFilterText, type DocumentRowState } from '../../src/review/model';
import { buildReviewRows } from '../../src/review/reviewRows';
import { parseFilters } from '../../src/review/protocol';
import { UndoStack } from '../../src/review/undo';
import { buildViewUpdate } from '../../src/review/view';
import type { Prediction } from '../../src/training/types';

function prediction(overrides: Partial<Prediction> & { id: string }): Prediction {
  return {
    line: 1,
    teacher: 'World',
    human: null,
    suggested: 'Sports',
    p_teacher_wrong: 0.9,
    flagged: true,
    probs: { World: 0.1, Sports: 0.9 },
    peer_probs: { World: 0.2, Sports: 0.8 },
    vanilla_probs: {},
    ...overrides,
  };
}

// Rows that had no teacher label at run time: the pipeline writes p_teacher_wrong 0 and flagged false for them.
const predictions = [
  prediction({ id: 'f1', line: 1 }),
  prediction({ id: 'f2', line: 2, p_teacher_wrong: 0.7, suggested: 'Business', probs: { World: 0.3, Business: 0.7 } }),
  prediction({ id: 'ok', line: 3, p_teacher_wrong: 0.1, flagged: false, suggested: 'World', probs: { World: 0.9, Sports: 0.1 } }),
  prediction({ id: 'u1', line: 4, teacher: null, p_teacher_wrong: 0, flagged: false, suggested: 'Sports', probs: { World: 0.42, Sports: 0.58 } }),
  prediction({ id: 'u2', line: 5, teacher: null, p_teacher_wrong: 0, flagged: false, suggested: 'World', probs: { World: 0.97, Sports: 0.03 } }),
  prediction({ id: 'u3', line: 6, teacher: null, p_teacher_wrong: 0, flagged: false, suggested: 'World', probs: { World: 0.8, Sports: 0.2 } }),
  prediction({ id: 'h', line: 7, teacher: null, human: 'World', p_teacher_wrong: 0, flagged: false, suggested: 'World', probs: { World: 1 } }),
];
const documentRows = new Map<string, DocumentRowState>(
  predictions.map((p) => [p.id, { line: p.line, text: `text ${p.id}`, teacher: p.teacher, human: p.id === 'u3' ? 'Sports' : p.human }]),
);

test('rows without a teacher label get their own queue, ranked by the probability of their advice (issue 10 §3.12)', () => {
  // Without the option the review is what it was: the flagged rows only.
  assert.deepEqual(buildReviewRows(predictions, documentRows, { minProbability: 0 }).map((r) => r.key), ['f1', 'f2']);
  const rows = buildReviewRows(predictions, documentRows, { minProbability: 0, allQueues: true });
  assert.deepEqual(rows.map((r) => [r.key, r.queue, r.p]), [
    ['u2', 'unlabelled', 0.97],
    ['f1', 'flagged', 0.9],
    ['u3', 'unlabelled', 0.8],
    ['f2', 'flagged', 0.7],
    ['u1', 'unlabelled', 0.58],
  ]);
  const undo = new UndoStack();
  const flagged = buildViewUpdate(rows, DEFAULT_FILTERS, undo, ['World', 'Sports', 'Business']);
  assert.deepEqual(flagged.order, ['f1', 'f2']);
  assert.equal(flagged.counts.flagged, 2);
  assert.deepEqual(flagged.queues, { flagged: { rows: 2, remaining: 2 }, doubtful: { rows: 0, remaining: 0 }, unlabelled: { rows: 3, remaining: 2 } });
  const unlabelled = buildViewUpdate(rows, { ...DEFAULT_FILTERS, queue: 'unlabelled' }, undo, ['World', 'Sports', 'Business']);
  assert.deepEqual(unlabelled.order, ['u2', 'u3', 'u1']);
  assert.deepEqual({ rows: unlabelled.counts.flagged, reviewed: unlabelled.counts.reviewed }, { rows: 3, reviewed: 1 });
  // The Teacher dropdown offers the rows without a teacher label, the filter the table's last row sets, and counts them.
  assert.deepEqual(unlabelled.teacherLabels, [NO_TEACHER_FILTER]);
  assert.deepEqual([unlabelled.noTeacherRows, flagged.noTeacherRows], [3, 0]);
  assert.equal(teacherFilterText(NO_TEACHER_FILTER, unlabelled.noTeacherRows), 'No teacher label (3 rows)');
  assert.deepEqual(unlabelled.confusion.teacherLabels, [null]);
  // The other filters apply within the queue.
  assert.deepEqual(buildViewUpdate(rows, { ...DEFAULT_FILTERS, queue: 'unlabelled', minProbability: 0.9 }, undo, []).order, ['u2']);
  // A bulk accept takes the queue it is asked for, never the other's rows.
  assert.deepEqual(rowsForBulkAccept(rows, 0.5).map((r) => r.key), ['f1', 'f2']);
  assert.deepEqual(rowsForBulkAccept(rows, 0.5, 'unlabelled').map((r) => r.key), ['u2', 'u1']);
});

test('the protocol carries the queue; a client that sends none is showing the flagged rows', () => {
  const { queue: _queue, ...withoutQueue } = DEFAULT_FILTERS;
  assert.deepEqual(parseFilters(withoutQueue), DEFAULT_FILTERS);
  assert.deepEqual(parseFilters({ ...DEFAULT_FILTERS, queue: 'unlabelled' }), { ...DEFAULT_FILTERS, queue: 'unlabelled' });
  assert.equal(parseFilters({ ...DEFAULT_FILTERS, queue: 'everything' }), undefined);
});

test("the list's label names the queue shown, as the queue switch names it, and the order of its rows", () => {
  // It said "Flagged rows, …" in every queue: a screen reader heard the flagged queue after `q` showed another.
  const labels = REVIEW_QUEUES.map((queue) => queueListLabel(queue, false));
  assert.equal(new Set(labels).size, REVIEW_QUEUES.length, 'one label per queue');
  REVIEW_QUEUES.forEach((queue, index) => assert.ok(labels[index].startsWith(`${queueTitle(queue)} queue:`), labels[index]));
  assert.equal(queueTitle('unlabelled'), 'No teacher label');
  assert.match(queueListLabel('flagged', false), /highest probability of a wrong teacher label first$/);
  assert.match(queueListLabel('unlabelled', false), /highest probability of the advised label first$/);
  assert.match(queueListLabel('doubtful', true), /re-ranked with your decisions/);
  assert.equal(queueListLabel('unlabelled', true), queueListLabel('unlabelled', false), 'a re-rank orders the flagged and doubtful queues only');
});

test('the teacher filter is cleared on the way into and out of the queue without teacher labels, kept between the others', () => {
  assert.deepEqual(filtersForQueue('flagged', 'unlabelled'), { queue: 'unlabelled', teacher: '' });
  // Its ∅ row's filter would show none of the doubtful rows, which all have a teacher label.
  assert.deepEqual(filtersForQueue('unlabelled', 'doubtful'), { queue: 'doubtful', teacher: '' });
  assert.deepEqual(filtersForQueue('flagged', 'doubtful'), { queue: 'doubtful' });
});
