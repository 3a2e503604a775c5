// How a run reads the values of labels and texts as a real user's file has them: numbers next to strings, blank
// labels, labels that read as the same number, rows without text, configured labels no row uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { prepareTrainingInput, type InputSource } from '../../src/training/input';
import { inputError } from '../support/inputError';

const FILE = '/data/set.jsonl';

function source(extra: Partial<InputSource> = {}): InputSource {
  return { file: FILE, fields: DEFAULT_FIELDS, labels: [], folds: 2, ...extra };
}

function lines(...rows: Record<string, unknown>[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

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
