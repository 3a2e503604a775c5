import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareForReview,
  confusionTable,
  countRows,
  DEFAULT_FILTERS,
  diagnosticMessage,
  filterAndSort,
  isFilteredCell,
  NO_TEACHER_FILTER,
  teacherFilterOf,
  teacherFilterText,
  confusionCellName,
  labelForDecision,
  labelForDigit,
  labelChoices,
  decisionNote,
  describeDecision,
  digitForLabel,
  sortByLabelOrder,
  outcomeOf,
  rowsForBulkAccept,
  reviewedVerdict,
  type DocumentRowState,
  type ReviewRow,
} from '../../src/review/model';
import { buildReviewRows } from '../../src/review/reviewRows';
import type { Prediction } from '../../src/training/types';

function row(overrides: Partial<ReviewRow> & { id: string }): ReviewRow {
  return {
    key: overrides.id,
    line: 1,
    text: `text of ${overrides.id}`,
    teacher: 'World',
    suggested: 'Sports',
    queue: 'flagged',
    p: 0.5,
    probs: { World: 0.5, Sports: 0.5 },
    peerProbs: {},
    vanillaProbs: {},
    human: null,
    skipped: false,
    changedSinceRun: false,
    textChangedSinceRun: false,
    runTeacher: overrides.teacher === undefined ? 'World' : overrides.teacher,
    ...overrides,
  };
}

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
    vanilla_probs: { World: 0.3, Sports: 0.7 },
    ...overrides,
  };
}

const rows: ReviewRow[] = [
  row({ id: 'a', line: 4, p: 0.7, teacher: 'World', suggested: 'Sports', text: 'Football final tonight' }),
  row({ id: 'b', line: 2, p: 0.95, teacher: 'Business', suggested: 'Sci/Tech', text: 'New GPU released' }),
  row({ id: 'c', line: 9, p: 0.7, teacher: 'World', suggested: 'Business', human: 'Business', text: 'Oil prices' }),
  row({ id: 'd', line: null, p: 0.6, teacher: null, suggested: 'World', text: 'Elections abroad' }),
  row({ id: 'e', line: 1, p: 0.7, teacher: 'World', suggested: 'Sports', human: 'World', text: 'Tennis in Paris' }),
];

test('review order: highest p first, ties by line, rows gone from the file after rows still in it', () => {
  assert.deepEqual(
    [...rows].sort(compareForReview).map((r) => r.id),
    ['b', 'e', 'a', 'c', 'd'],
  );
  const gone = row({ id: 'x', line: null, p: 0.7 });
  const present = row({ id: 'y', line: 1000, p: 0.7 });
  assert.deepEqual([gone, present].sort(compareForReview).map((r) => r.id), ['y', 'x']);
});

test('filterAndSort with default filters keeps every row, sorted, and does not mutate its input', () => {
  const before = rows.map((r) => r.id);
  assert.deepEqual(filterAndSort(rows, DEFAULT_FILTERS).map((r) => r.id), ['b', 'e', 'a', 'c', 'd']);
  assert.deepEqual(rows.map((r) => r.id), before);
});

test('filters by teacher label, suggested label, minimum probability and review status', () => {
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, teacher: 'World' }).map((r) => r.id), ['e', 'a', 'c']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, suggested: 'Sports' }).map((r) => r.id), ['e', 'a']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, minProbability: 0.7 }).map((r) => r.id), ['b', 'e', 'a', 'c']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, minProbability: 0.71 }).map((r) => r.id), ['b']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, status: 'reviewed' }).map((r) => r.id), ['e', 'c']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, status: 'unreviewed' }).map((r) => r.id), ['b', 'a', 'd']);
  assert.deepEqual(
    filterAndSort(rows, { ...DEFAULT_FILTERS, teacher: 'World', suggested: 'Sports', status: 'unreviewed' }).map((r) => r.id),
    ['a'],
  );
});

test('text search is case-insensitive, matches ids too, and #N finds the row on line N', () => {
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, search: 'gpu' }).map((r) => r.id), ['b']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, search: '  PARIS ' }).map((r) => r.id), ['e']);
  const withId = [...rows, row({ id: 'ag-123', text: 'no match in the text' })];
  assert.deepEqual(filterAndSort(withId, { ...DEFAULT_FILTERS, search: 'AG-12' }).map((r) => r.id), ['ag-123']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, search: '#9' }).map((r) => r.id), ['c']);
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, search: 'nothing like this' }), []);
});

test('a missing teacher label never matches a teacher filter', () => {
  assert.deepEqual(filterAndSort(rows, { ...DEFAULT_FILTERS, teacher: '∅' }).map((r) => r.id), []);
});

test("the confusion table's cell of the rows without a teacher label filters them, is then the filtered cell, and a second click clears it", () => {
  const table = confusionTable(rows, ['Business', 'Sci/Tech', 'Sports', 'World']);
  const i = table.teacherLabels.indexOf(null);
  const j = table.suggestedLabels.indexOf('World');
  assert.equal(table.counts[i][j], 1);
  // A click (or Enter) on the cell: the list shows its one row, not every row suggested 'World'.
  const clicked = { ...DEFAULT_FILTERS, teacher: teacherFilterOf(null), suggested: 'World' };
  assert.deepEqual(filterAndSort(rows, clicked).map((r) => r.id), ['d']);
  // The cell is the filter: drawn as such, said so to a screen reader, and the next click clears it.
  assert.equal(isFilteredCell(clicked, null, 'World'), true);
  assert.match(confusionCellName(null, 'World', 1, isFilteredCell(clicked, null, 'World')), /the list shows these/);
  // "Any teacher label" with the suggestion 'World' (the dropdowns) is not the ∅ cell, nor is any other cell.
  assert.equal(isFilteredCell({ ...DEFAULT_FILTERS, suggested: 'World' }, null, 'World'), false);
  assert.equal(isFilteredCell(clicked, 'World', 'World'), false);
  assert.equal(isFilteredCell({ ...DEFAULT_FILTERS, teacher: 'World', suggested: 'Sports' }, 'World', 'Sports'), true);
  // The Teacher dropdown names the filter; a label written '∅' stays a label, never the rows without one.
  assert.equal(teacherFilterText(NO_TEACHER_FILTER, 1), 'No teacher label (1 row)');
  assert.equal(teacherFilterText(NO_TEACHER_FILTER, 1234), 'No teacher label (1,234 rows)');
  assert.equal(teacherFilterText('∅', 1234), '∅');
  const literal = [...rows, row({ id: 'l', teacher: '∅', suggested: 'World' })];
  assert.deepEqual(filterAndSort(literal, clicked).map((r) => r.id), ['d']);
  assert.deepEqual(filterAndSort(literal, { ...DEFAULT_FILTERS, teacher: '∅' }).map((r) => r.id), ['l']);
});

test('outcomes are derived from the human label in the document, so labels typed by hand count', () => {
  assert.equal(outcomeOf(row({ id: '1' })), null);
  assert.equal(outcomeOf(row({ id: '2', human: 'Sports' })), 'accepted');
  assert.equal(outcomeOf(row({ id: '3', human: 'World' })), 'kept');
  assert.equal(outcomeOf(row({ id: '4', human: 'Business' })), 'relabelled');
});

test('counts: flagged, reviewed, remaining, skipped and how the reviewed rows were decided', () => {
  const counted = countRows([
    ...rows,
    row({ id: 'f', human: 'Sports' }),
    row({ id: 'g', skipped: true }),
    row({ id: 'h', skipped: true, human: 'Sci/Tech' }),
  ]);
  assert.deepEqual({ ...counted, expectedWrong: Number(counted.expectedWrong.toFixed(6)) }, { flagged: 8, reviewed: 4, remaining: 4, skipped: 1, accepted: 2, kept: 1, relabelled: 1, judged: 4, teacherWrong: 3, expectedWrong: 2.4 });
  assert.deepEqual(countRows([]), { flagged: 0, reviewed: 0, remaining: 0, skipped: 0, accepted: 0, kept: 0, relabelled: 0, judged: 0, teacherWrong: 0, expectedWrong: 0 });
});

test("the user's own verdict on a queue: teacher labels found wrong among the decided rows the run judged, against the run's expectation", () => {
  const decided = [
    row({ id: 'w1', p: 0.3, queue: 'doubtful', human: 'Sports' }), // teacher World: wrong
    row({ id: 'w2', p: 0.2, queue: 'doubtful', human: 'Business' }), // wrong, relabelled
    row({ id: 'r1', p: 0.4, queue: 'doubtful', human: 'World' }), // teacher right
    row({ id: 'u1', p: 0.3, queue: 'doubtful' }), // undecided: not counted
    row({ id: 'ch', p: 0.9, queue: 'doubtful', teacher: 'Business', runTeacher: 'World', changedSinceRun: true, human: 'Sports' }), // the run judged another label
  ];
  const counted = countRows(decided);
  assert.equal(counted.judged, 3);
  assert.equal(counted.teacherWrong, 2);
  assert.ok(Math.abs(counted.expectedWrong - 0.9) < 1e-9);
  assert.equal(reviewedVerdict(counted), 'You found the teacher wrong on 2 of the 3 rows you decided here; the run expected about 1.');
  // Rows without a teacher label have no teacher to find wrong: no verdict, whatever their p (the advice's probability).
  const unlabelled = countRows([row({ id: 'n1', p: 0.9, queue: 'unlabelled', teacher: null, human: 'World' })]);
  assert.equal(unlabelled.judged, 0);
  assert.equal(reviewedVerdict(unlabelled), '');
  assert.equal(reviewedVerdict(countRows([row({ id: 'only', p: 0.8, human: 'Sports' })])), 'You found the teacher wrong on the row you decided here; the run gave it p = 0.80 of being wrong.');
  assert.equal(reviewedVerdict(countRows([row({ id: 'kept', p: 0.3, human: 'World' })])), 'You found the teacher right on the row you decided here; the run gave it p = 0.30 of being wrong.');
});

test('confusion table of teacher vs suggested labels, with the missing teacher label as its own row', () => {
  const table = confusionTable(rows, ['Business', 'Sci/Tech', 'Sports', 'World']);
  assert.deepEqual(table.teacherLabels, ['Business', 'World', null]);
  assert.deepEqual(table.suggestedLabels, ['Business', 'Sci/Tech', 'Sports', 'World']);
  assert.deepEqual(table.teacherDigits, [1, 4, null]);
  assert.deepEqual(table.suggestedDigits, [1, 2, 3, 4]);
  assert.deepEqual(table.counts, [
    [0, 1, 0, 0],
    [1, 0, 2, 0],
    [0, 0, 0, 1],
  ]);
  const total = table.counts.flat().reduce((sum, n) => sum + n, 0);
  assert.equal(total, rows.length);
});

test('each decision writes the label the user means, and skip writes nothing', () => {
  const r = row({ id: 'x', teacher: 'World', suggested: 'Sports' });
  assert.equal(labelForDecision(r, { kind: 'accept' }), 'Sports');
  assert.equal(labelForDecision(r, { kind: 'keep' }), 'World');
  assert.equal(labelForDecision(r, { kind: 'set', label: 'Business' }), 'Business');
  assert.equal(labelForDecision(r, { kind: 'skip' }), null);
  assert.equal(labelForDecision({ teacher: null, suggested: 'Sports' }, { kind: 'keep' }), null);
});

test('digits 1-9 pick the n-th label of the label set; anything else picks none', () => {
  const labels = ['Business', 'Sci/Tech', 'Sports', 'World'];
  assert.equal(labelForDigit(labels, 1), 'Business');
  assert.equal(labelForDigit(labels, 2), 'Sci/Tech');
  assert.equal(labelForDigit(labels, 4), 'World');
  assert.equal(labelForDigit(labels, 5), undefined);
  assert.equal(labelForDigit(labels, 0), undefined);
  assert.equal(labelForDigit(labels, 10), undefined);
  assert.equal(labelForDigit(labels, 1.5), undefined);
});

test('labels written as digits are set by their own digit, not by position: key 1 sets "1" of ["0", "1"], key 2 sets "2" of 1–10', () => {
  // inferLabelSet sorts by code unit: a 1–10 rating reads ["1", "10", "2", …], where key 2 set "10" by position.
  const ratings = ['1', '10', '2', '3', '4', '5', '6', '7', '8', '9'];
  assert.deepEqual([1, 2, 3, 9].map((digit) => labelForDigit(ratings, digit)), ['1', '2', '3', '9']);
  assert.equal(digitForLabel(ratings, '10'), undefined, 'no key sets "10": its button or "Other label…" does');
  assert.deepEqual(ratings.map((label) => digitForLabel(ratings, label)), [1, undefined, 2, 3, 4, 5, 6, 7, 8, 9]);
  const binary = ['0', '1'];
  assert.equal(labelForDigit(binary, 1), '1');
  assert.equal(labelForDigit(binary, 2), undefined);
  assert.deepEqual(binary.map((label) => digitForLabel(binary, label)), [undefined, 1]);
  // A set with some labels written as digits: the digits are names there too; the labels that are no number take the
  // keys left, in order (a stray '0' among negative/positive took every key and button from them); '0' has none.
  assert.equal(labelForDigit(['1', 'spam'], 2), 'spam');
  assert.equal(digitForLabel(['1', 'spam'], 'spam'), 2);
  const stray = ['0', 'negative', 'positive'];
  assert.deepEqual([1, 2, 3].map((digit) => labelForDigit(stray, digit)), ['negative', 'positive', undefined]);
  assert.deepEqual(stray.map((label) => digitForLabel(stray, label)), [undefined, 1, 2]);
  const mixed = ['1', '3', '10', 'A', 'B', 'C'];
  assert.deepEqual(mixed.map((label) => digitForLabel(mixed, label)), [1, 3, undefined, 2, 4, 5]);
  // Past nine keys the rest are picked in the label picker.
  const many = ['5', ...Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`)];
  assert.deepEqual(many.map((label) => digitForLabel(many, label)), [5, 1, 2, 3, 4, 6, 7, 8, 9, undefined, undefined, undefined, undefined]);
  // The confusion table's headers show the same digits.
  const table = confusionTable([row({ id: 'r', teacher: '0', suggested: '1' })], binary);
  assert.deepEqual([table.teacherDigits, table.suggestedDigits], [[null], [1]]);
});

test('the label picker ("Other label…") lists every label of a 30-label set with its key, and offers typed text as a new label', () => {
  const labels = Array.from({ length: 30 }, (_, i) => `topic-${String(i + 1).padStart(2, '0')}`);
  const choices = labelChoices(labels, { teacher: 'topic-02', suggested: 'topic-30' }, '');
  assert.equal(choices.length, 30, 'labels past the ninth, which no key sets, are there to pick');
  assert.deepEqual(choices.slice(0, 2).map((choice) => [choice.label, choice.description]), [['topic-01', 'key 1'], ['topic-02', 'key 2 · teacher']]);
  assert.deepEqual([choices[29].label, choices[29].description, choices[29].isNew], ['topic-30', 'suggested', false]);
  // Typed text naming a label adds nothing; other text is offered as a new label (decide() asks before writing it).
  assert.equal(labelChoices(labels, { teacher: null, suggested: 'topic-01' }, ' topic-07 ').length, 30);
  const typed = labelChoices(labels, { teacher: null, suggested: 'topic-01' }, ' __proto__ ');
  assert.deepEqual(typed.at(-1), { label: '__proto__', description: 'new label, not in the label set (asks first)', isNew: true });
  assert.deepEqual(labelChoices(['constructor', 'toString'], { teacher: 'toString', suggested: 'constructor' }, 'hasOwnProperty').map((choice) => choice.label), ['constructor', 'toString', 'hasOwnProperty']);
});

test('bulk accept takes unreviewed rows still in the file at or above the threshold, in review order', () => {
  assert.deepEqual(rowsForBulkAccept(rows, 0.7).map((r) => r.id), ['b', 'a']);
  assert.deepEqual(rowsForBulkAccept(rows, 0.96).map((r) => r.id), []);
  // d is unreviewed and above 0.5 but is no longer in the file: nothing to write.
  assert.deepEqual(rowsForBulkAccept(rows, 0.5).map((r) => r.id), ['b', 'a']);
});

test('buildReviewRows joins flagged predictions with the document by row identity', () => {
  const predictions = [
    prediction({ id: 'moved', line: 1, p_teacher_wrong: 0.8 }),
    prediction({ id: 'unflagged', line: 2, flagged: false }),
    prediction({ id: 'low', line: 3, p_teacher_wrong: 0.3 }),
    prediction({ id: 'gone', line: 4, p_teacher_wrong: 0.99, teacher: 'Business' }),
    prediction({ id: 'relabelled', line: 5, p_teacher_wrong: 0.9 }),
  ];
  const documentRows = new Map<string, DocumentRowState>([
    ['moved', { line: 10, text: 'moved text', teacher: 'World', human: null }],
    ['unflagged', { line: 2, text: 'u', teacher: 'World', human: null }],
    ['low', { line: 3, text: 'l', teacher: 'World', human: null }],
    ['relabelled', { line: 5, text: 'r', teacher: 'Sports', human: 'Sports' }],
  ]);
  const built = buildReviewRows(predictions, documentRows, {
    minProbability: 0.5,
    skipped: new Set(['moved']),
    textsById: new Map([['gone', 'text from the run']]),
  });
  assert.deepEqual(
    built.map((r) => [r.id, r.line, r.teacher, r.human, r.skipped, r.text]),
    [
      ['gone', null, 'Business', null, false, 'text from the run'],
      ['moved', 10, 'World', null, true, 'moved text'],
      // Its teacher label is not the one the run judged: after the rows the run's probability still ranks.
      ['relabelled', 5, 'Sports', 'Sports', false, 'r'],
    ],
  );
  assert.equal(built[2].changedSinceRun, true);
  assert.deepEqual(built[1].probs, { World: 0.1, Sports: 0.9 });
  assert.deepEqual(built[1].peerProbs, { World: 0.2, Sports: 0.8 });
});

test('diagnostic message names both labels and the probability with two decimals', () => {
  assert.equal(diagnosticMessage('World', 'Sports', 0.934), "Teacher label 'World' may be wrong: peers suggest 'Sports' (p = 0.93)");
  assert.equal(diagnosticMessage(null, 'Sports', 0.5), "Missing teacher label may be wrong: peers suggest 'Sports' (p = 0.50)");
});

test('the confusion table follows the run label order (the digit keys), not the alphabet; other labels after, ∅ last', () => {
  const order = ['World', 'Sports', 'Business', 'Sci/Tech'];
  const table = confusionTable([...rows, row({ id: 'z', teacher: 'Aardvark', suggested: 'World' })], order);
  assert.deepEqual(table.teacherLabels, ['World', 'Business', 'Aardvark', null]);
  assert.deepEqual(table.suggestedLabels, ['World', 'Sports', 'Business', 'Sci/Tech']);
  assert.deepEqual(table.suggestedDigits, [1, 2, 3, 4]);
  assert.deepEqual(table.teacherDigits, [1, 3, null, null]);
  // The key that sets a column's label is the column's digit.
  table.suggestedLabels.forEach((label, j) => assert.equal(labelForDigit(order, table.suggestedDigits[j]!), label));
  assert.deepEqual(table.counts, [
    [0, 2, 1, 0],
    [0, 0, 0, 1],
    [1, 0, 0, 0],
    [1, 0, 0, 0],
  ]);
  assert.deepEqual(sortByLabelOrder(['b', '∅', 'x', 'a', 'b'], ['x']), ['x', 'a', 'b', '∅']);
  assert.equal(digitForLabel(order, 'Sports'), 2);
  assert.equal(digitForLabel(order, 'Aardvark'), undefined);
  assert.equal(digitForLabel([...'abcdefghij'], 'j'), undefined, 'only 9 digit keys');
});

test('a digit that writes the suggested (or teacher) label is named accept (keep) in the undo entry and a note, as the counts do', () => {
  const r = { teacher: 'World', suggested: 'Sports' };
  assert.equal(describeDecision(r, 'Sports'), "Accept 'Sports'");
  assert.equal(describeDecision(r, 'World'), "Keep 'World'");
  assert.equal(describeDecision(r, 'Business'), "Set 'Business'");
  assert.equal(decisionNote(r, { kind: 'set', label: 'Sports' }), "'Sports' is the suggested label: counted as accepted.");
  assert.equal(decisionNote(r, { kind: 'set', label: 'World' }), "'World' is the teacher's label: counted as kept.");
  assert.equal(decisionNote(r, { kind: 'set', label: 'Business' }), null);
  assert.equal(decisionNote(r, { kind: 'accept' }), null);
  assert.equal(outcomeOf({ ...r, human: 'Sports' }), 'accepted');
});
