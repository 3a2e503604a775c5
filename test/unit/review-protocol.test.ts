import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilters, parseViewState, parseWebviewMessage } from '../../src/review/protocol';
import { confusionCellName, confusionCellTitle, DEFAULT_FILTERS, isFilteredCell, NO_TEACHER_FILTER, NO_TEACHER_TEXT, teacherFilterOf, teacherFilterText } from '../../src/review/model';
import { planUndo, UndoStack, type UndoEntry } from '../../src/review/undo';
import { buildViewUpdate, changedRows, labelProbabilities, toRowView } from '../../src/review/view';
import type { ReviewRow } from '../../src/review/model';

test('well-formed webview messages pass validation unchanged', () => {
  const messages = [
    { type: 'ready', state: null },
    { type: 'setFilters', requestId: 1, filters: { ...DEFAULT_FILTERS, teacher: 'World', minProbability: 0.8 } },
    { type: 'viewState', scrollTop: 460, selectedRowId: 'ag-1' },
    { type: 'viewState', scrollTop: 0, selectedRowId: null },
    { type: 'decide', rowId: 'ag-1', decision: { kind: 'accept' } },
    { type: 'decide', rowId: 'ag-1', decision: { kind: 'keep' } },
    { type: 'decide', rowId: 'ag-1', decision: { kind: 'skip' } },
    { type: 'decide', rowId: 'ag-1', decision: { kind: 'set', label: 'Sci/Tech' } },
    { type: 'newLabel', rowId: 'ag-1' },
    { type: 'bulkAccept', minProbability: 0.9 },
    { type: 'undo' },
    { type: 'open', rowId: 'text:abc' },
    { type: 'probabilities', requestId: 7, rowId: 'ag-1' },
    { type: 'rendered', rows: 10000, firstRenderMs: 12.5 },
    { type: 'runDistillation' },
  ];
  for (const message of messages) {
    assert.deepEqual(parseWebviewMessage(message), message);
  }
});

test('malformed or hostile webview messages are rejected', () => {
  const bad: unknown[] = [
    null,
    'undo',
    [],
    {},
    { type: 'eval', code: 'process.exit()' },
    { type: 'decide', rowId: 'x', decision: { kind: 'delete' } },
    { type: 'decide', rowId: 'x', decision: { kind: 'set' } },
    { type: 'decide', rowId: 'x', decision: { kind: 'set', label: '   ' } },
    { type: 'decide', rowId: 'x', decision: { kind: 'set', label: 'x'.repeat(201) } },
    { type: 'decide', rowId: 42, decision: { kind: 'accept' } },
    { type: 'decide', rowId: 'x'.repeat(5000), decision: { kind: 'accept' } },
    { type: 'bulkAccept', minProbability: 1.5 },
    { type: 'bulkAccept', minProbability: Number.NaN },
    { type: 'bulkAccept', minProbability: '0.9' },
    { type: 'setFilters', requestId: 1, filters: { ...DEFAULT_FILTERS, status: 'everything' } },
    { type: 'setFilters', requestId: 1, filters: { ...DEFAULT_FILTERS, minProbability: -0.1 } },
    { type: 'setFilters', requestId: 1, filters: { teacher: 'World' } },
    // A request without its id could never be answered: refused.
    { type: 'setFilters', filters: DEFAULT_FILTERS },
    { type: 'setFilters', requestId: -1, filters: DEFAULT_FILTERS },
    { type: 'setFilters', requestId: 1.5, filters: DEFAULT_FILTERS },
    { type: 'probabilities', rowId: 'a' },
    { type: 'probabilities', requestId: '3', rowId: 'a' },
    { type: 'viewState', scrollTop: -5, selectedRowId: null },
    { type: 'viewState', scrollTop: 10, selectedRowId: 42 },
    { type: 'viewState', scrollTop: 10 },
    { type: 'open' },
    { type: 'probabilities', rowId: ['a'] },
    { type: 'rendered', rows: -1, firstRenderMs: 3 },
    { type: 'rendered', rows: 3, firstRenderMs: Number.POSITIVE_INFINITY },
  ];
  for (const message of bad) {
    assert.equal(parseWebviewMessage(message), undefined, JSON.stringify(message));
  }
});

test('extra properties never reach the host: only the known fields are copied', () => {
  const parsed = parseWebviewMessage({ type: 'decide', rowId: 'a', decision: { kind: 'accept', label: 'Evil' }, extra: 1 });
  assert.deepEqual(parsed, { type: 'decide', rowId: 'a', decision: { kind: 'accept' } });
  const filters = parseFilters({ ...DEFAULT_FILTERS, __proto__: { polluted: true }, other: 'x' });
  assert.deepEqual(filters, DEFAULT_FILTERS);
});

test('a saved view state keeps its valid parts and drops the rest', () => {
  assert.deepEqual(parseViewState({ datasetUri: 'file:///d.jsonl', scrollTop: 120, selectedRowId: 'a', filters: DEFAULT_FILTERS }), {
    datasetUri: 'file:///d.jsonl',
    scrollTop: 120,
    selectedRowId: 'a',
    filters: DEFAULT_FILTERS,
  });
  assert.deepEqual(parseViewState({ datasetUri: 3, scrollTop: -5, filters: { status: 'x' } }), {});
  assert.equal(parseViewState('nope'), undefined);
  assert.deepEqual(parseWebviewMessage({ type: 'ready', state: 'garbage' }), { type: 'ready', state: null });
});

function entry(description: string, changes: UndoEntry['changes'], skippedRowIds: string[] = []): UndoEntry {
  return { description, changes, skippedRowIds };
}

test('undo stack: last in first out, empty entries ignored, bounded', () => {
  const stack = new UndoStack(2);
  stack.push(entry('nothing', []));
  assert.equal(stack.size, 0);
  stack.push(entry('one', [{ rowId: 'a', before: 'A', after: 'A2' }]));
  stack.push(entry('two', [], ['b']));
  stack.push(entry('three', [{ rowId: 'c', before: 'C', after: 'C2' }]));
  assert.equal(stack.size, 2);
  assert.equal(stack.peek()?.description, 'three');
  assert.equal(stack.pop()?.description, 'three');
  assert.equal(stack.pop()?.description, 'two');
  assert.equal(stack.pop(), undefined);
});

test('undo restores the exact line only where it still reads what the decision wrote', () => {
  const lines = new Map([
    ['a', { line: 3, text: '{"id":"a","human_label":"Sports"}' }],
    ['b', { line: 7, text: '{"id":"b","human_label":"typed by hand"}' }],
  ]);
  const plan = planUndo(
    entry('bulk', [
      { rowId: 'a', before: '{"id":"a"}', after: '{"id":"a","human_label":"Sports"}' },
      { rowId: 'b', before: '{"id":"b"}', after: '{"id":"b","human_label":"World"}' },
      { rowId: 'gone', before: '{"id":"gone"}', after: '{"id":"gone","human_label":"World"}' },
    ]),
    (id) => lines.get(id),
  );
  assert.deepEqual(plan.writes, [{ rowId: 'a', line: 3, text: '{"id":"a"}' }]);
  assert.deepEqual(plan.conflicts, [
    { rowId: 'b', reason: 'line 7 was edited since' },
    { rowId: 'gone', reason: 'the row is no longer in the file' },
  ]);
});

function reviewRow(id: string, p: number, human: string | null = null): ReviewRow {
  return {
    key: id,
    id,
    line: 1,
    text: id,
    teacher: 'World',
    suggested: 'Sports',
    queue: 'flagged',
    p,
    probs: { World: 0.2, Sports: 0.7, Business: 0.1 },
    peerProbs: { World: 0.3, Sports: 0.7 },
    vanillaProbs: {},
    human,
    skipped: false,
    changedSinceRun: false,
    textChangedSinceRun: false,
    runTeacher: 'World',
  };
}

test('row view carries what the list draws and no probabilities (those come on demand)', () => {
  const row = reviewRow('a', 0.7);
  assert.deepEqual(toRowView(row), { key: 'a', id: 'a', line: 1, text: 'a', teacher: 'World', suggested: 'Sports', queue: 'flagged', p: 0.7, human: null, skipped: false, changedSinceRun: false, textChangedSinceRun: false, runTeacher: 'World', outcome: null, textLength: 1 });
  assert.equal(toRowView(reviewRow('b', 0.7, 'Sports')).outcome, 'accepted');
  assert.equal(toRowView(reviewRow('c', 0.7, 'World')).outcome, 'kept');
  assert.equal(toRowView(reviewRow('d', 0.7, 'Business')).outcome, 'relabelled');
});

test('label probabilities list every label once, most probable first, with peer and vanilla where known', () => {
  assert.deepEqual(labelProbabilities(reviewRow('a', 0.7)), [
    { label: 'Sports', advised: 0.7, peer: 0.7, vanilla: null },
    { label: 'World', advised: 0.2, peer: 0.3, vanilla: null },
    { label: 'Business', advised: 0.1, peer: null, vanilla: null },
  ]);
});

test('view update carries order, counts, confusion and the undo state', () => {
  const stack = new UndoStack();
  const rows = [reviewRow('a', 0.6), reviewRow('b', 0.9, 'Sports')];
  let view = buildViewUpdate(rows, { ...DEFAULT_FILTERS, status: 'unreviewed' }, stack, ['World', 'Sports']);
  assert.deepEqual(view.order, ['a']);
  assert.equal(view.counts.reviewed, 1);
  assert.deepEqual(view.confusion.counts, [[2]]);
  assert.equal(view.canUndo, false);
  stack.push(entry("Accept 'Sports'", [{ rowId: 'b', before: 'x', after: 'y' }]));
  view = buildViewUpdate(rows, DEFAULT_FILTERS, stack, ['World', 'Sports']);
  assert.deepEqual(view.order, ['b', 'a']);
  assert.equal(view.undoDescription, "Accept 'Sports'");
});

test('changedRows finds rows whose line, labels, text or skip mark changed', () => {
  const a = reviewRow('a', 0.6);
  const before = new Map([['a', a], ['b', reviewRow('b', 0.5)]]);
  const after = [{ ...a }, { ...reviewRow('b', 0.5), line: 9 }, reviewRow('c', 0.4), { ...a, id: 'a' }];
  assert.deepEqual(changedRows(before, after).map((r) => r.id), ['b', 'c']);
  assert.deepEqual(changedRows(before, [{ ...a, human: 'World' }]).map((r) => r.id), ['a']);
});

test("the empty state's Run button message carries nothing the host would trust: extra fields are dropped", () => {
  assert.deepEqual(parseWebviewMessage({ type: 'runDistillation', datasetUri: 'file:///etc/passwd' }), { type: 'runDistillation' });
  assert.equal(parseWebviewMessage({ type: 'runDistillations' }), undefined);
});

test("a teacher label written '∅' and the rows without a teacher label are two rows of the confusion table, two filters and two names", () => {
  const labels = ['World', 'Sports'];
  const rows = [
    { ...reviewRow('w', 0.9), teacher: 'World', suggested: 'Sports' },
    { ...reviewRow('sign1', 0.8), teacher: '∅', suggested: 'Sports' },
    { ...reviewRow('sign2', 0.7), teacher: '∅', suggested: 'Sports' },
    { ...reviewRow('none', 0.6), teacher: null, runTeacher: null, suggested: 'Sports' },
  ];
  const view = buildViewUpdate(rows, DEFAULT_FILTERS, new UndoStack(), labels);
  // Two rows of the table, each counting its own rows: the label '∅' among the labels, the missing label last.
  assert.deepEqual(view.confusion.teacherLabels, ['World', '∅', null]);
  assert.deepEqual(view.confusion.counts, [[0, 1], [0, 2], [0, 1]].map(([world, sports]) => view.confusion.suggestedLabels.map((label) => (label === 'World' ? world : sports))));
  // A click on each row's 'Sports' cell shows that row's rows, and only that cell is then drawn as the filter.
  const shown = (teacher: string | null) => {
    const filters = { ...DEFAULT_FILTERS, teacher: teacherFilterOf(teacher), suggested: 'Sports' };
    return {
      ids: buildViewUpdate(rows, filters, new UndoStack(), labels).order,
      filtered: view.confusion.teacherLabels.filter((label) => isFilteredCell(filters, label, 'Sports')),
    };
  };
  assert.deepEqual(shown('∅'), { ids: ['sign1', 'sign2'], filtered: ['∅'] });
  assert.deepEqual(shown(null), { ids: ['none'], filtered: [null] });
  // The Teacher dropdown: two choices, two values, two texts; the missing label in words, with how many rows it shows.
  assert.deepEqual(view.teacherLabels, ['World', '∅', NO_TEACHER_FILTER]);
  assert.equal(view.noTeacherRows, 1);
  assert.deepEqual(
    view.teacherLabels.map((label) => teacherFilterText(label, view.noTeacherRows)),
    ['World', '∅', 'No teacher label (1 row)'],
  );
  // The table's last row and the list's teacher column say it in the same words, never a sign to read as a choice.
  assert.equal(NO_TEACHER_TEXT, 'No teacher label');
  // What a screen reader and a tooltip say of each row's cell.
  assert.equal(confusionCellName('∅', 'Sports', 2, false), 'Teacher ∅, suggested Sports: 2 rows');
  assert.equal(confusionCellName(null, 'Sports', 1, false), 'No teacher label, suggested Sports: 1 row');
  assert.equal(confusionCellTitle('∅', 'Sports', false), "Show rows with teacher '∅' and suggestion 'Sports' (click, or Enter)");
  assert.equal(confusionCellTitle(null, 'Sports', false), "Show rows without a teacher label and suggestion 'Sports' (click, or Enter)");
});

test('view update orders the confusion table and the dropdowns by the run label order (keys 1-9), with their digits', () => {
  const labels = ['World', 'Sports', 'Business', 'Sci/Tech'];
  const rows = [
    { ...reviewRow('a', 0.9), teacher: 'World', suggested: 'Sports' },
    { ...reviewRow('b', 0.8), teacher: 'Business', suggested: 'World' },
    { ...reviewRow('c', 0.7), teacher: null, suggested: 'Sci/Tech' },
    { ...reviewRow('d', 0.6), teacher: 'Sci/Tech', suggested: 'Business' },
  ];
  const view = buildViewUpdate(rows, DEFAULT_FILTERS, new UndoStack(), labels);
  assert.deepEqual(view.confusion.teacherLabels, ['World', 'Business', 'Sci/Tech', null]);
  assert.deepEqual(view.confusion.teacherDigits, [1, 3, 4, null]);
  assert.deepEqual(view.confusion.suggestedLabels, ['World', 'Sports', 'Business', 'Sci/Tech']);
  assert.deepEqual(view.confusion.suggestedDigits, [1, 2, 3, 4]);
  assert.deepEqual(view.teacherLabels, ['World', 'Business', 'Sci/Tech', NO_TEACHER_FILTER]);
  assert.deepEqual(view.suggestedLabels, ['World', 'Sports', 'Business', 'Sci/Tech']);
});
