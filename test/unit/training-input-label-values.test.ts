// How a run reads the values of labels and texts as a real user's file has them: numbers next to strings, blank
// labels, labels that read as the same number, rows without text, configured labels no row uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { prepareTrainingInput, type InputSource } from '../../src/training/input';
import { inputError } from '../support/inputError';
import { jsonlText } from '../support/jsonl';

const FILE = '/data/set.jsonl';

function source(extra: Partial<InputSource> = {}): InputSource {
  return { file: FILE, fields: DEFAULT_FIELDS, labels: [], folds: 2, ...extra };
}

const lines = (...rows: Record<string, unknown>[]): string => jsonlText(rows);

test('a label written as the number 1 where another row writes the string "1" is refused, naming both lines: it is never silently dropped', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: '1' },
    { id: 'b', text: 'two', teacher_label: 1 },
    { id: 'c', text: 'three', teacher_label: '0' },
    { id: 'd', text: 'four', teacher_label: 0 },
  );
  const error = inputError(() => prepareTrainingInput(text, source()));
  assert.equal(error.line, 2);
  assert.match(error.message, /^\/data\/set\.jsonl:2: teacher label 1 \(field teacher_label\) is a number, while line 1 writes the label '1' as a string/);
  assert.match(error.message, /write every label as a JSON string \("1"\)/);
});

test('teacher labels as numbers and human labels as the same strings are refused (the teacher labels would all be dropped)', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 1, human_label: '1' },
    { id: 'b', text: 'two', teacher_label: 0, human_label: '0' },
    { id: 'c', text: 'three', teacher_label: 1 },
    { id: 'd', text: 'four', teacher_label: 0 },
  );
  const error = inputError(() => prepareTrainingInput(text, source()));
  assert.equal(error.line, 1);
  assert.match(error.message, /teacher label 1 \(field teacher_label\) is a number, while line 1 writes the label '1' as a string \(field human_label\)/);
});

test('human labels as numbers next to teacher labels as strings are refused too; true is matched to "true"', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'true', human_label: true },
    { id: 'b', text: 'two', teacher_label: 'false' },
    { id: 'c', text: 'three', teacher_label: 'true' },
  );
  const error = inputError(() => prepareTrainingInput(text, source()));
  assert.match(error.message, /^\/data\/set\.jsonl:1: human label true \(field human_label\) is a boolean, while line 1 writes the label 'true' as a string \(field teacher_label\)/);
});

test('a configured label set of strings with numeric labels in the file is refused the same way', () => {
  const text = lines({ id: 'a', text: 'one', teacher_label: 1 }, { id: 'b', text: 'two', teacher_label: 0 });
  const error = inputError(() => prepareTrainingInput(text, source({ labels: ['0', '1'] })));
  assert.match(error.message, /^\/data\/set\.jsonl:1: teacher label 1 \(field teacher_label\) is a number, while the configured label set \(setting peerkd\.labels or --labels\) has the label '1' as a string/);
});

test('a teacher field that holds no label written as a string is refused, not trained on the human labels alone', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 3, human_label: 'World' },
    { id: 'b', text: 'two', teacher_label: 2, human_label: 'Sports' },
    { id: 'c', text: 'three', teacher_label: 3 },
    { id: 'd', text: 'four', teacher_label: 2 },
  );
  const error = inputError(() => prepareTrainingInput(text, source()));
  assert.equal(error.line, 1);
  assert.match(error.message, /^\/data\/set\.jsonl:1: no teacher label \(field teacher_label\) is a string: 4 are numbers, objects, arrays or booleans \(lines 1, 2, 3, 4\), so the run would flag nothing/);
  assert.match(error.message, /write each label as a JSON string, e\.g\. "3" for 3/);
});

test('non-string labels that are no label of the set still only warn (a stray object among string labels)', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X' },
    { id: 'b', text: 'two', teacher_label: 7 },
    { id: 'c', text: 'three', teacher_label: 'Y' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.labels, ['X', 'Y']);
  assert.ok(input.warnings.some((warning) => /^1 label\(s\) are not strings/.test(warning)), JSON.stringify(input.warnings));
});

test('rows left out for want of text are named by line in a warning, not only counted', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X' },
    { id: 'b', text: '', teacher_label: 'Y' },
    { id: 'c', text: ' \t ', teacher_label: 'X' },
    { id: 'd', teacher_label: 'Y' },
    { id: 'e', text: 42, teacher_label: 'Y' },
    { id: 'f', text: '😀🎉', teacher_label: 'Y' },
    { id: 'g', text: '中国经济', teacher_label: 'X' },
    { id: 'h', text: 'https://example.com/a?b=1', teacher_label: 'Y' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.rows.map((row) => row.id), ['a', 'f', 'g', 'h']);
  assert.equal(input.counts.skippedNoText, 4);
  assert.ok(
    input.warnings.includes('4 row(s) have no text (field text: empty, blank, absent or not a string) and were left out (lines 2, 3, 4, 5)'),
    JSON.stringify(input.warnings),
  );
});

test('empty and blank labels are treated as no label with one warning per field naming the lines', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X' },
    { id: 'b', text: 'two', teacher_label: '' },
    { id: 'c', text: 'three', teacher_label: ' \n', human_label: 'X' },
    { id: 'd', text: 'four', teacher_label: 'Y', human_label: '  ' },
    { id: 'e', text: 'five', teacher_label: 'Y' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.rows.map((row) => [row.teacher, row.human]), [['X', null], [null, null], [null, 'X'], ['Y', null], ['Y', null]]);
  assert.ok(input.warnings.includes('2 teacher label(s) (field teacher_label) are empty or blank strings and were treated as no label (lines 2, 3)'), JSON.stringify(input.warnings));
  assert.ok(input.warnings.includes('1 human label(s) (field human_label) are empty or blank strings and were treated as no label (line 4)'), JSON.stringify(input.warnings));
});

test('an empty human label is the usual "not reviewed yet" of a converted spreadsheet: no warning for it, unlike a blank or an empty teacher label', () => {
  // A CSV turned into JSONL writes "" for every empty cell: every unlabelled row of a normal file, warned about before.
  const rows = Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, text: `row number ${i}`, teacher_label: i % 2 ? 'X' : 'Y', human_label: i < 4 ? (i % 2 ? 'X' : 'Y') : '' }));
  const input = prepareTrainingInput(lines(...rows), source());
  assert.equal(input.rows.filter((row) => row.human !== null).length, 4);
  assert.ok(!input.warnings.some((warning) => /human label\(s\) \(field human_label\) are empty/.test(warning)), JSON.stringify(input.warnings));
  // A teacher that answered "" is still named, as is a human label of white space only.
  const answered = prepareTrainingInput(lines(...rows.slice(0, 59), { id: 'z', text: 'last', teacher_label: '', human_label: ' ' }), source());
  assert.ok(answered.warnings.includes('1 teacher label(s) (field teacher_label) are empty or blank strings and were treated as no label (line 60)'), JSON.stringify(answered.warnings));
  assert.ok(answered.warnings.includes('1 human label(s) (field human_label) are empty or blank strings and were treated as no label (line 60)'), JSON.stringify(answered.warnings));
});

test('labels that differ only by an invisible character (zero-width space) are refused naming both lines; a lone one is named', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'World' },
    { id: 'b', text: 'two', teacher_label: 'Sports' },
    { id: 'c', text: 'three', teacher_label: 'World\u200b' },
  );
  assert.equal(
    inputError(() => prepareTrainingInput(text, source())).message,
    `${FILE}:3: labels 'World' (line 1) and 'World\\u200b' (line 3) differ only in invisible characters (zero-width spaces, soft hyphens, format marks); write them the same way or they are trained as two labels`,
  );
  const lone = prepareTrainingInput(lines({ id: 'a', text: 'one', teacher_label: 'World' }, { id: 'b', text: 'two', teacher_label: 'Sports\u200b' }), source());
  assert.ok(lone.warnings.some((warning) => warning.startsWith("1 label(s) have white space around them, control characters or invisible characters: 'Sports\\u200b' (line 2)")), JSON.stringify(lone.warnings));
});

test('labels that read as the same number ("01" and "1") are kept apart with a warning naming both lines', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: '1' },
    { id: 'b', text: 'two', teacher_label: '2' },
    { id: 'c', text: 'three', teacher_label: '01' },
    { id: 'd', text: 'four', teacher_label: '2.0' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.labels, ['01', '1', '2', '2.0']);
  assert.deepEqual(input.rows.map((row) => row.teacher), ['1', '2', '01', '2.0']);
  const warnings = input.warnings.filter((warning) => /the same number/.test(warning));
  assert.deepEqual(warnings, [
    "labels '1' (line 1) and '01' (line 3) are the same number written differently; they are trained as two labels — write them the same way if they are one",
    "labels '2' (line 2) and '2.0' (line 4) are the same number written differently; they are trained as two labels — write them the same way if they are one",
  ]);
});

test('labels of a configured set that no row uses are named in a warning', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'World' },
    { id: 'b', text: 'two', teacher_label: 'World' },
    { id: 'c', text: 'three', teacher_label: 'Sports', human_label: 'World' },
  );
  const input = prepareTrainingInput(text, source({ labels: ['World', 'Sports', 'Business'] }));
  assert.ok(
    input.warnings.includes("1 label(s) of the configured label set (setting peerkd.labels or --labels) are on no row: 'Business'; the students never see them, so no row is ever suggested one"),
    JSON.stringify(input.warnings),
  );
});

test('the same text on several rows with different labels is named in a warning with the lines and the labels', () => {
  const text = lines(
    { id: 'a', text: 'Same text', teacher_label: 'World' },
    { id: 'b', text: 'other', teacher_label: 'Sports' },
    { id: 'c', text: 'Same text', teacher_label: 'Sports' },
    { id: 'd', text: 'Same text', teacher_label: 'World', human_label: 'Business' },
    { id: 'e', text: 'twice, agreeing', teacher_label: 'World' },
    { id: 'f', text: 'twice, agreeing', teacher_label: 'World' },
  );
  const input = prepareTrainingInput(text, source());
  assert.equal(input.rows.length, 6, 'every row is kept');
  assert.ok(
    input.warnings.includes(
      "1 text(s) are on several rows with different labels: line 1's text is also on lines 3, 4 (labels 'World', 'Sports', 'Business'); the students see one input there and cannot tell those rows apart — give each row the label its text has",
    ),
    JSON.stringify(input.warnings),
  );
});

test('rows whose text has no word the students can read (punctuation only) are named in a warning; emoji and CJK rows are not', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X' },
    { id: 'b', text: '!!! ...', teacher_label: 'Y' },
    { id: 'c', text: '😀🎉', teacher_label: 'X' },
    { id: 'd', text: '中国', teacher_label: 'Y' },
    { id: 'e', text: '-- ** --', teacher_label: 'Y' },
  );
  const input = prepareTrainingInput(text, source());
  assert.equal(input.rows.length, 5, 'the rows are kept');
  const found = input.warnings.filter((warning) => /no word/.test(warning));
  assert.deepEqual(found, [
    '2 row(s) have no word in their text (field text) that the students read — letters, digits, CJK characters or emoji (lines 2, 5): the students learn nothing from them, and judge their labels by how common each label is',
  ]);
});

test('a label set whose typical label is on few rows (200 labels on 400 rows) is named in a warning: the peers cannot learn them', () => {
  const many = Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, text: `row ${i} word${i % 200}`, teacher_label: `L${String(i % 200).padStart(3, '0')}` }));
  const input = prepareTrainingInput(lines(...many), source());
  assert.equal(input.labels.length, 200);
  assert.ok(
    input.warnings.includes(
      'the 200 labels have a median of 2 labelled rows each, fewer than the 30 the peers need to learn a label: the peers barely see any label, so this run\'s flags and its estimate of the teacher\'s accuracy say little — label more rows of each, or use fewer labels (setting peerkd.labels or --labels)',
    ),
    JSON.stringify(input.warnings),
  );
  const few = prepareTrainingInput(lines(...many.slice(0, 120).map((row, i) => ({ ...row, teacher_label: ['A', 'B', 'C'][i % 3] }))), source());
  assert.ok(!few.warnings.some((warning) => /median/.test(warning)), JSON.stringify(few.warnings));
});

test('labels with white space around them or control characters are kept as written, with one warning naming them', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: ' World' },
    { id: 'b', text: 'two', teacher_label: 'Sports' },
    { id: 'c', text: 'three', teacher_label: 'Tech\u0007' },
    { id: 'd', text: 'four', teacher_label: ' World' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.labels, [' World', 'Sports', 'Tech\u0007']);
  assert.deepEqual(input.rows.map((row) => row.teacher), [' World', 'Sports', 'Tech\u0007', ' World']);
  assert.ok(
    input.warnings.includes(
      "2 label(s) have white space around them, control characters or invisible characters: ' World' (line 1), 'Tech\\u0007' (line 3); they are kept as written, so a label written without them (by the teacher, in peerkd.labels) is another label",
    ),
    JSON.stringify(input.warnings),
  );
});
