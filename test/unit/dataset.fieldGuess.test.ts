import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { guessFields, IncrementalDatasetValidator, missingLabelFixes, missingTextFixes, parseDatasetText } from '../../src/dataset/index';
import { teacherFieldCandidates } from '../../src/dataset/fieldGuess';
import { prepareTrainingInput } from '../../src/training/input';
import { inputError } from '../support/inputError';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** A dataset whose fields are named as many public sets name them (issue 10 §3.10). */
function otherNames(rows: number): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    lines.push(JSON.stringify({ id: i, sentence: `Row ${i} says something about the ${LABELS[i % 4]} desk today`, llm_label: LABELS[i % 4], source: `s${i}` }));
  }
  return lines.join('\n') + '\n';
}

test('guessFields finds a long-text field and a small-label-set field, not ids or per-row strings', () => {
  const rows = otherNames(40)
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(guessFields(rows), { text: ['sentence'], label: ['llm_label'] });
  // Nested one level, and mapped fields are not offered.
  const nested = rows.map((row) => ({ meta: { gold: row.llm_label }, body: row.sentence }));
  assert.deepEqual(guessFields(nested), { text: ['body'], label: ['meta.gold'] });
  assert.deepEqual(guessFields(rows, ['sentence']), { text: [], label: ['llm_label'] });
});

test('a text field missing on every row is one problem for the file naming the setting and the likely field', () => {
  const parsed = parseDatasetText(otherNames(1000), DEFAULT_FIELDS);
  assert.equal(parsed.rows.length, 1000);
  const missing = parsed.problems.filter((problem) => problem.code.startsWith('missing-text'));
  assert.equal(missing[0].code, 'missing-text-field');
  assert.equal(missing.length, 1);
  assert.equal(missing[0].line, 1);
  assert.equal(
    missing[0].message,
    "Missing text: none of the 1,000 rows has a field 'text'; set peerkd.fields.text (or --fields.text) to the field that holds it: 'sentence' looks like text",
  );
  // The labels are under another name too: one warning for that as well (see the test below), nothing per row.
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code]),
    [
      [1, 'missing-text-field'],
      [1, 'missing-label-fields'],
    ],
  );
});

test('the editor validator folds the same way, and unfolds once the setting maps the field', () => {
  const lines = otherNames(300).trim().split('\n');
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS);
  const problems = validator.validate(lines.length, (index) => lines[index]);
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code]),
    [
      [1, 'missing-text-field'],
      [1, 'missing-label-fields'],
    ],
  );
  assert.match(problems[0].message, /peerkd\.fields\.text .*'sentence' looks like text/);
  validator.reconfigure({ ...DEFAULT_FIELDS, text: 'sentence', teacher: 'llm_label' });
  assert.deepEqual(validator.validate(lines.length, (index) => lines[index]), []);
});

test('rows that lack the text field among rows that have it are still reported one by one, naming the setting', () => {
  const text = '{"text": "a b c"}\n{"sentence": "x"}\n{"text": "d e f"}\n{"other": 1}\n';
  const parsed = parseDatasetText(text, DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.message]),
    [
      [2, 'Missing text: the row has no field text (setting peerkd.fields.text)'],
      [4, 'Missing text: the row has no field text (setting peerkd.fields.text)'],
    ],
  );
});

test('the run (CLI and worker input) names the setting and the candidate fields when the fields are named otherwise', () => {
  const source = { file: '/d/set.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 };
  const noText = inputError(() => prepareTrainingInput(otherNames(50), source));
  assert.equal(
    noText.message,
    "/d/set.jsonl: Missing text: none of the 50 rows has a field 'text'; set peerkd.fields.text (or --fields.text) to the field that holds it: 'sentence' looks like text",
  );
  const noLabels = inputError(() => prepareTrainingInput(otherNames(50), { ...source, fields: { ...DEFAULT_FIELDS, text: 'sentence' } }));
  assert.equal(
    noLabels.message,
    "/d/set.jsonl: no row with text has a teacher label (field 'teacher_label') or a human label (field 'human_label'); set peerkd.fields.teacher (or --fields.teacher) to the field of the teacher's labels: 'llm_label' looks like labels",
  );
  const input = prepareTrainingInput(otherNames(50), { ...source, fields: { ...DEFAULT_FIELDS, text: 'sentence', teacher: 'llm_label' } });
  assert.equal(input.rows.length, 50);
});

test('the quick fix of the folded problem offers the text candidates as "Use \'sentence\' as the text field"', () => {
  const rows = otherNames(20)
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(missingTextFixes(DEFAULT_FIELDS, rows), [
    { field: 'text', path: 'sentence', title: "Use 'sentence' as the text field (workspace setting peerkd.fields.text)" },
  ]);
  assert.deepEqual(missingTextFixes(DEFAULT_FIELDS, [{ a: 1 }, { a: 2 }]), []);
});

test('no row with a label field but a field that looks like labels: one warning naming peerkd.fields.teacher, with its quick fix', () => {
  const fields = { ...DEFAULT_FIELDS, text: 'sentence' };
  const text = '{"broken\n' + otherNames(300);
  const parsed = parseDatasetText(text, fields);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.severity]),
    [
      [1, 'invalid-json', 'error'],
      [2, 'missing-label-fields', 'warning'],
    ],
  );
  assert.equal(
    parsed.problems[1].message,
    "No row has a teacher label (field 'teacher_label') or a human label (field 'human_label'); set peerkd.fields.teacher (or --fields.teacher) to the field of the teacher's labels: 'llm_label' looks like labels",
  );
  const lines = text.trim().split('\n');
  const validator = new IncrementalDatasetValidator(fields);
  assert.deepEqual(validator.validate(lines.length, (index) => lines[index]), parsed.problems);
  const rows = lines.slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(missingLabelFixes(fields, rows), [
    { field: 'teacher', path: 'llm_label', title: "Use 'llm_label' as the teacher label field (workspace setting peerkd.fields.teacher)" },
  ]);
  // Mapped, or a file that is simply unlabelled (no field looks like labels): no warning.
  assert.deepEqual(parseDatasetText(otherNames(30), { ...fields, teacher: 'llm_label' }).problems, []);
  assert.deepEqual(parseDatasetText('{"text": "a b"}\n{"text": "c d", "teacher_label": null}\n', DEFAULT_FIELDS).problems, []);
  assert.deepEqual(parseDatasetText('{"text": "a b"}\n{"text": "c d"}\n', DEFAULT_FIELDS).problems, []);
});

/** otherNames with a human label on every `every`-th row, and a `split` field whose values are no labels. */
function otherNamesWithHumans(rows: number, every: number): string {
  return otherNames(rows)
    .trim()
    .split('\n')
    .map((line, i) => {
      const row = JSON.parse(line) as Record<string, unknown>;
      row.split = i % 3 === 0 ? 'test' : 'train';
      if (i % every === 0) row.human_label = row.llm_label;
      return JSON.stringify(row);
    })
    .join('\n')
    .concat('\n');
}

test('human labels but no teacher field, while a field looks like the teacher labels: one warning naming peerkd.fields.teacher, in the editor and the run', () => {
  const fields = { ...DEFAULT_FIELDS, text: 'sentence' };
  const text = otherNamesWithHumans(300, 25);
  const parsed = parseDatasetText(text, fields);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.severity]),
    [[1, 'missing-teacher-field', 'warning']],
  );
  // `split` looks like a small label set too, but shares no value with the human labels: only llm_label is named.
  const message =
    "no row has a teacher label (field 'teacher_label'), only human labels (field 'human_label'), so a run can flag nothing; set peerkd.fields.teacher (or --fields.teacher) to the field of the teacher's labels: 'llm_label' looks like labels";
  assert.equal(parsed.problems[0].message, message.charAt(0).toUpperCase() + message.slice(1));
  const lines = text.trim().split('\n');
  assert.deepEqual(new IncrementalDatasetValidator(fields).validate(lines.length, (index) => lines[index]), parsed.problems);
  const rows = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(missingLabelFixes(fields, rows), [
    { field: 'teacher', path: 'llm_label', title: "Use 'llm_label' as the teacher label field (workspace setting peerkd.fields.teacher)" },
  ]);
  // The run goes on (the human labels can train a student) and says why nothing will be flagged.
  const input = prepareTrainingInput(text, { file: '/d/set.jsonl', fields, labels: [], folds: 2 });
  assert.equal(input.counts.teacherLabelled, 0);
  assert.ok(input.warnings.includes(`/d/set.jsonl: ${message}`), input.warnings.join('\n'));
  // The teacher field mapped, or on one row only: no warning.
  assert.deepEqual(parseDatasetText(text, { ...fields, teacher: 'llm_label' }).problems, []);
  const oneTeacher = text.replace('"llm_label":', '"teacher_label":"World","llm_label":');
  assert.deepEqual(parseDatasetText(oneTeacher, fields).problems, []);
  // Human labels and no field sharing their values (a file the teacher has not labelled yet): no warning.
  const unlabelled = lines.map((line) => {
    const row = JSON.parse(line) as Record<string, unknown>;
    delete row.llm_label;
    return JSON.stringify(row);
  });
  assert.deepEqual(parseDatasetText(unlabelled.join('\n') + '\n', fields).problems, []);
});

test("a human_label: null placeholder on every row is no human label: the warning says no row has a label, not 'only human labels'", () => {
  const text = Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `row ${i}`, human_label: null, llm_label: i % 3 ? 'A' : 'B' })).join('\n') + '\n';
  const parsed = parseDatasetText(text, DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.message]),
    [
      [
        1,
        'missing-label-fields',
        "No row has a teacher label (field 'teacher_label') or a human label (field 'human_label'); set peerkd.fields.teacher (or --fields.teacher) to the field of the teacher's labels: 'llm_label' looks like labels",
      ],
    ],
  );
  const lines = text.trim().split('\n');
  assert.deepEqual(new IncrementalDatasetValidator(DEFAULT_FIELDS).validate(lines.length, (index) => lines[index]), parsed.problems);
});

test('a field that copies the human labels is offered after the one that may hold the teacher labels', () => {
  const rows = Array.from({ length: 40 }, (_, i) => {
    const label = LABELS[i % 4];
    const teacher = i % 5 === 0 ? LABELS[(i + 1) % 4] : label;
    // Both on every row, so the label-like order (most rows, then name) would put gold first.
    return { sentence: `Row ${i} says something`, gold: label, label: teacher, human_label: label };
  });
  assert.deepEqual(teacherFieldCandidates({ ...DEFAULT_FIELDS, text: 'sentence' }, rows), ['label', 'gold']);
});
