import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS, IncrementalDatasetValidator, lineCountOf, parseDatasetText, type LineChange } from '../../src/dataset/index';

const LABELS = { labels: ['World', 'Sports'] };

/** A tiny text document: edits by (line, character) ranges as an editor reports them. */
class FakeDocument {
  constructor(public text: string) {}

  get lines(): string[] {
    return this.text.split('\n');
  }

  offsetAt(line: number, character: number): number {
    const lines = this.lines;
    let offset = 0;
    for (let i = 0; i < line; i++) offset += lines[i].length + 1;
    return offset + character;
  }

  /** Replaces a range and returns the change the editor would report. */
  edit(startLine: number, startChar: number, endLine: number, endChar: number, inserted: string): LineChange {
    const start = this.offsetAt(startLine, startChar);
    const end = this.offsetAt(endLine, endChar);
    this.text = this.text.slice(0, start) + inserted + this.text.slice(end);
    return { startLine, endLine, insertedLineCount: lineCountOf(inserted) };
  }
}

function validateAll(validator: IncrementalDatasetValidator, document: FakeDocument) {
  const lines = document.lines;
  return validator.validate(lines.length, (index) => lines[index]);
}

test('lineCountOf counts LF, CRLF and a lone CR as one break each', () => {
  assert.equal(lineCountOf(''), 1);
  assert.equal(lineCountOf('abc'), 1);
  assert.equal(lineCountOf('a\nb'), 2);
  assert.equal(lineCountOf('a\r\nb\r\n'), 3);
  assert.equal(lineCountOf('a\rb\n\nc'), 4);
});

test('the first validation parses every line and matches the whole-text parser', () => {
  const document = new FakeDocument(
    ['{"id": 1, "text": "a", "teacher_label": "Sprots"}', '', '{"id": 1, "text": ""}', '[1]', '{"text": "x"'].join('\n'),
  );
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS, LABELS);
  const problems = validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 5);
  assert.deepEqual(problems, parseDatasetText(document.text, DEFAULT_FIELDS, LABELS).problems);
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code]),
    [
      [1, 'unknown-label'],
      [3, 'empty-text'],
      [3, 'duplicate-id'],
      [4, 'not-an-object'],
      [5, 'invalid-json'],
    ],
  );
});

test('typing in one line re-parses only that line; problems below an inserted line move down with it', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i}`, teacher_label: 'World' }));
  rows[500] = '{"id": "r500", "text": ""}';
  const document = new FakeDocument(rows.join('\n'));
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS, LABELS);
  validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 1000);

  // Break the JSON on line 10 (0-based 9) by deleting its closing brace.
  const line10 = document.lines[9];
  const change = document.edit(9, line10.length - 1, 9, line10.length, '');
  validator.applyChange(change);
  let problems = validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 1);
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code]),
    [
      [10, 'invalid-json'],
      [501, 'empty-text'],
    ],
  );

  // Insert two new lines at the top, one duplicating r7's id: the old problems shift by two.
  validator.applyChange(document.edit(0, 0, 0, 0, '{"id": "r7", "text": "dup"}\n\n'));
  problems = validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 3); // the two new lines and the (changed) old first line
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code]),
    [
      [10, 'duplicate-id'], // r7, now below its first use on line 1
      [12, 'invalid-json'],
      [503, 'empty-text'],
    ],
  );
  assert.deepEqual(problems, parseDatasetText(document.text, DEFAULT_FIELDS, LABELS).problems);

  // Nothing changed: nothing is parsed.
  validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 0);
});

test('random multi-line edits always give the same problems as parsing the whole text again', () => {
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const snippets = [
    '{"id": "a", "text": "alpha", "teacher_label": "World"}',
    '{"id": "a", "text": "again"}',
    '{"text": "no id"}',
    '{"text": "no id"}',
    '{"text": ""}',
    '{"id": 2, "teacher_label": "Sprots", "text": "t"}',
    '[]',
    '{"broken": ',
    '\n',
    '\n\n',
    '"}',
    'x',
    '',
  ];
  const document = new FakeDocument(snippets.slice(0, 6).join('\n'));
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS, LABELS);
  validateAll(validator, document);
  for (let step = 0; step < 400; step++) {
    const lines = document.lines;
    const startLine = random(lines.length);
    const endLine = Math.min(lines.length - 1, startLine + random(3));
    const startChar = random(lines[startLine].length + 1);
    const endChar = endLine === startLine ? startChar + random(lines[startLine].length - startChar + 1) : random(lines[endLine].length + 1);
    const inserted = snippets[random(snippets.length)] + (random(2) ? '\n' + snippets[random(snippets.length)] : '');
    validator.applyChange(document.edit(startLine, startChar, endLine, endChar, inserted));
    // Several edits may arrive before one validation (the debounce), as in the editor.
    if (random(3) === 0) continue;
    const incremental = validateAll(validator, document);
    const whole = parseDatasetText(document.text, DEFAULT_FIELDS, LABELS).problems;
    assert.deepEqual(incremental, whole, `step ${step}`);
  }
});

test('reconfigure (new fields or labels) re-parses everything with the new settings', () => {
  const document = new FakeDocument('{"id": 1, "body": "x", "teacher_label": "Sprots"}');
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS, LABELS);
  assert.deepEqual(
    validateAll(validator, document).map((problem) => problem.code),
    ['missing-text-field', 'unknown-label'],
  );
  validator.reconfigure({ ...DEFAULT_FIELDS, text: 'body' }, { labels: [] });
  assert.deepEqual(validateAll(validator, document), []);
  assert.equal(validator.lastParsedLineCount, 1);
});

test('a change that does not fit the cache falls back to a full parse instead of misplacing problems', () => {
  const document = new FakeDocument('{"text": "a"}\n{"text": ""}');
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS);
  validator.applyChange({ startLine: 5, endLine: 7, insertedLineCount: 1 });
  const problems = validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 2);
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code]),
    [[2, 'empty-text']],
  );
});

test('parseChanged parses in slices; validate afterwards only assembles, and counts every line parsed', () => {
  const rows = Array.from({ length: 2500 }, (_, i) => (i === 1234 ? '{"text": ""}' : JSON.stringify({ id: i % 2400, text: `t${i}` })));
  const document = new FakeDocument(rows.join('\n'));
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS);
  const lines = document.lines;
  const lineAt = (index: number): string => lines[index];
  let slices = 1;
  while (!validator.parseChanged(lines.length, lineAt, 1000)) slices++;
  assert.equal(slices, 3);
  const problems = validator.validate(lines.length, lineAt);
  assert.equal(validator.lastParsedLineCount, 2500);
  assert.deepEqual(problems, parseDatasetText(document.text, DEFAULT_FIELDS).problems);
  assert.equal(problems.filter((problem) => problem.code === 'duplicate-id').length, 100);
});

test('a paste of more lines than a function call can take as arguments is applied to the cache', () => {
  const document = new FakeDocument('{"text": "a"}\n{"text": ""}');
  const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS);
  validateAll(validator, document);
  // 140,000 arguments overflow the call stack of Array.prototype.splice in Node 20.
  const pasted = Array.from({ length: 140_000 }, (_, i) => `{"id": ${i}, "text": "p"}`).join('\n') + '\n';
  validator.applyChange(document.edit(1, 0, 1, 0, pasted));
  const problems = validateAll(validator, document);
  assert.equal(validator.lastParsedLineCount, 140_001);
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code]),
    [[140_002, 'empty-text']],
  );
});
