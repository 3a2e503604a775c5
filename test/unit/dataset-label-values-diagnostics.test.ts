// The editor's dataset diagnostics: a label problem that every row repeats (every teacher label a number, or none in
// the configured set) is one warning for the file, not one per row (10,000 in the Problems panel for 10,000 rows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { foldRepeatedLabelProblems, IncrementalDatasetValidator } from '../../src/dataset/incremental';

function validate(lines: string[], labels: string[] = []) {
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS, { labels });
  const problems = validator.validate(lines.length, (index) => lines[index]);
  return { problems, folded: foldRepeatedLabelProblems(problems, validator.lastTeacherLabelRows, DEFAULT_FIELDS) };
}

const numeric = Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i}`, teacher_label: i % 4 }));

test('every teacher label a number: one warning on the first row, naming how many rows and what to write', () => {
  const { problems, folded } = validate(numeric);
  assert.equal(problems.filter((problem) => problem.code === 'label-not-string').length, 500, 'the validator still reports each row');
  assert.equal(folded.length, 1);
  assert.equal(folded[0].line, 1);
  assert.equal(folded[0].code, 'label-not-string');
  assert.equal(
    folded[0].message,
    'Teacher label 0 (field teacher_label) is not a string, so it is ignored — and so is every teacher label of the file (500 rows; shown once): write each label as a JSON string',
  );
});

test('every teacher label outside the configured set: one warning naming the setting', () => {
  const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `row ${i}`, teacher_label: ` World` }));
  const { folded } = validate(lines, ['World', 'Sports']);
  assert.deepEqual(folded.map((problem) => [problem.line, problem.code]), [[1, 'unknown-label']]);
  // ' World' reads as 'World': the warning says which label of the set it is written for (dataset/labels.ts lookAlikeHint).
  assert.match(
    folded[0].message,
    /^Teacher label ' World' \(field teacher_label\) is not in the label set: World, Sports; ' World' is the label 'World' written with other Unicode characters or white space: write it as in the label set — and so is every teacher label of the file \(50 rows; shown once\): check the label set \(setting peerkd\.labels\) against the file$/,
  );
});

test('label problems on some rows only stay on their rows; other problems are kept', () => {
  const lines = [...numeric.slice(0, 3), JSON.stringify({ id: 'ok', text: 'x', teacher_label: 'A' }), '{"broken'];
  const { problems, folded } = validate(lines);
  assert.deepEqual(folded, problems);
  assert.equal(folded.length, 4);
});

test('rows not labelled yet (teacher field null or blank) do not keep a repeated label problem on every other row', () => {
  // A file being labelled: the teacher's class ids (numbers) on most rows, null on the rows the teacher has not done
  // yet. Each null row kept the fold off, so every labelled row had its own warning again.
  const lines = [...numeric.slice(0, 300), ...Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `n${i}`, text: `new ${i}`, teacher_label: i % 2 ? null : '' }))];
  const { folded } = validate(lines);
  assert.deepEqual(folded.map((problem) => [problem.line, problem.code]), [[1, 'label-not-string']]);
  assert.match(folded[0].message, /\(300 rows; shown once\)/);
  const unknown = [...Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `row ${i}`, teacher_label: 'world' })), JSON.stringify({ text: 'later', teacher_label: null })];
  assert.deepEqual(validate(unknown, ['World', 'Sports']).folded.map((problem) => [problem.line, problem.code]), [[1, 'unknown-label']]);
});
