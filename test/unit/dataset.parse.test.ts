import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_FIELDS,
  DatasetParser,
  inferLabelSet,
  parseDatasetText,
  readDatasetFile,
  forEachLine,
  readLineBatches,
  readLines,
  READ_CHUNK_BYTES,
  streamDataset,
  streamDatasetText,
  type FieldMapping,
  type Problem,
} from '../../src/dataset/index';
import { EventLoopTurns } from '../support/eventLoopTurns';

const fixture = (name: string): string => join(__dirname, '..', 'fixtures', 'dataset', name);
const AG_LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** The text a problem's column range covers on its line. */
function covered(lineText: string, problem: Problem): string {
  return lineText.slice(problem.column - 1, problem.endColumn - 1);
}

function withTempFile(content: string | Buffer, run: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'peerkd-parse-'));
  const path = join(dir, 'data.jsonl');
  writeFileSync(path, content);
  return run(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('valid rows: line numbers, mapped fields, id fallback and the value exactly as in the file', async () => {
  const parsed = await readDatasetFile(fixture('valid.jsonl'), DEFAULT_FIELDS, { labels: AG_LABELS });
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.lineCount, 4);
  assert.equal(parsed.skippedBlankLines, 0);
  assert.deepEqual(
    parsed.rows.map((row) => [row.line, row.id, row.teacher, row.human, row.teacherConfidence]),
    [
      [1, 'r1', 'Business', null, null],
      [2, 'r2', 'Sports', 'Sports', null],
      [3, '3', 'Sci/Tech', null, 0.92],
      [4, parsed.rows[3].id, 'World', null, null],
    ],
  );
  assert.match(parsed.rows[3].id, /^text:[0-9a-f]{16}$/);
  assert.deepEqual(parsed.rows[3].value, {
    text: 'Summit ends without a deal',
    teacher_label: 'World',
    extra: { source: 'wire' },
  });
});

test('every bad input in the problems fixture is reported once, on its line, with the right code and severity', async () => {
  const parsed = await readDatasetFile(fixture('problems.jsonl'), DEFAULT_FIELDS, { labels: AG_LABELS });
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.severity, problem.field]),
    [
      [2, 'invalid-json', 'error', undefined],
      [3, 'not-an-object', 'error', undefined],
      [4, 'not-an-object', 'error', undefined],
      [6, 'missing-text', 'error', 'text'],
      [7, 'empty-text', 'error', 'text'],
      [8, 'unknown-label', 'warning', 'teacher_label'],
      [9, 'duplicate-id', 'warning', 'id'],
      [10, 'unknown-label', 'warning', 'human_label'],
      [11, 'invalid-json', 'error', undefined],
    ],
  );
  assert.equal(parsed.lineCount, 11);
  assert.equal(parsed.skippedBlankLines, 1);
  // Rows with validation problems are still rows; lines that are not objects are not.
  assert.deepEqual(
    parsed.rows.map((row) => row.line),
    [1, 6, 7, 8, 9, 10],
  );
});

test('invalid JSON: the column is where the syntax breaks, and the line is neither dropped nor rewritten', () => {
  const lines = [
    '{"id": "a", "text": "ok", "teacher_label": "World"',
    '{"id": "b", "text": "x", \'teacher_label\': "World"}',
    '{"id": "c" "text": "x"}',
    '{"id": "d", "text": "bad \\q escape"}',
    '{"id": "e", "text": "x"} trailing',
    '{"id": 01}',
    'nope',
  ];
  const parsed = parseDatasetText(lines.join('\n'), DEFAULT_FIELDS);
  assert.equal(parsed.rows.length, 0);
  const columns = parsed.problems.map((problem) => [problem.line, problem.code, problem.column]);
  assert.deepEqual(columns, [
    [1, 'invalid-json', lines[0].length], // ran out at the end of the line: points at its last character
    [2, 'invalid-json', 26],
    [3, 'invalid-json', 12],
    [4, 'invalid-json', 26],
    [5, 'invalid-json', 26],
    [6, 'invalid-json', 9],
    [7, 'invalid-json', 2],
  ]);
  assert.equal(parsed.problems[0].message, "Invalid JSON: Expected ',' or '}' after a property value but found end of line");
  assert.match(parsed.problems[1].message, /Invalid JSON at column 26: Expected a property name in double quotes but found character '''/);
  assert.match(parsed.problems[2].message, /Expected ',' or '}' after a property value but found character '"'/);
  assert.match(parsed.problems[3].message, /Invalid escape '\\q'/);
  assert.match(parsed.problems[4].message, /after the end of the JSON value/);
  for (const problem of parsed.problems) assert.equal(problem.endColumn, problem.column + 1);
});

test('lines that are JSON but not objects: array, string, number, null', () => {
  const parsed = parseDatasetText('[1,2]\n"text"\n42\nnull\n', DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.message]),
    [
      [1, 'not-an-object', 'Line is an array, not a JSON object: each line must be one row object'],
      [2, 'not-an-object', 'Line is a string, not a JSON object: each line must be one row object'],
      [3, 'not-an-object', 'Line is a number, not a JSON object: each line must be one row object'],
      [4, 'not-an-object', 'Line is null, not a JSON object: each line must be one row object'],
    ],
  );
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.column, problem.endColumn]),
    [
      [1, 6],
      [1, 7],
      [1, 3],
      [1, 5],
    ],
  );
});

test('BOM, CRLF, blank lines and no final newline are tolerated by the text and the file readers alike', async () => {
  const expectRows = (lineNumbers: number[], ids: string[], text: string | null) => (parsed: Awaited<ReturnType<typeof readDatasetFile>>) => {
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.rows.map((row) => row.line), lineNumbers);
    assert.deepEqual(parsed.rows.map((row) => row.id), ids);
    if (text !== null) assert.equal(parsed.rows[0].text, text);
  };
  const check = expectRows([1, 3], ['c1', 'c2'], 'Windows line one');
  const fromFile = await readDatasetFile(fixture('crlf-bom-no-final-newline.jsonl'), DEFAULT_FIELDS);
  check(fromFile);
  assert.equal(fromFile.lineCount, 3);
  assert.equal(fromFile.skippedBlankLines, 1);
  assert.equal(fromFile.rows[1].text, 'Windows line two'); // no stray CR at the end of the last line

  const text = '\ufeff{"id":"x","text":"a"}\r\n   \r\n\t\n{"id":"y","text":"b"}\r\n';
  const fromText = parseDatasetText(text, DEFAULT_FIELDS);
  expectRows([1, 4], ['x', 'y'], 'a')(fromText);
  assert.equal(fromText.lineCount, 4); // the final newline ends line 4, it does not start line 5
  assert.equal(fromText.skippedBlankLines, 2);
  await withTempFile(text, async (path) => {
    const streamed = await readDatasetFile(path, DEFAULT_FIELDS);
    assert.deepEqual(streamed, fromText);
  });
  assert.deepEqual(parseDatasetText('', DEFAULT_FIELDS), { rows: [], problems: [], lineCount: 0, skippedBlankLines: 0 });
});

test('problem columns are those of the line without its BOM (as the editor shows it)', () => {
  const parsed = parseDatasetText('\ufeff{"id": 1, "text": ""}', DEFAULT_FIELDS);
  assert.equal(parsed.problems.length, 1);
  assert.equal(covered('{"id": 1, "text": ""}', parsed.problems[0]), '""');
});

test('missing or empty text: errors that name the field and point at the value', () => {
  const lines = [
    '{"id": 1, "teacher_label": "World"}',
    '{"id": 2, "text": "", "teacher_label": "World"}',
    '{"id": 3, "text": "   ", "teacher_label": "World"}',
    '{"id": 4, "text": null}',
    '{"id": 5, "text": 17}',
  ];
  const parsed = parseDatasetText(lines.join('\n'), DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.code, problem.severity, problem.message, covered(lines[problem.line - 1], problem)]),
    [
      ['missing-text', 'error', 'Missing text: the row has no field text (setting peerkd.fields.text)', lines[0]],
      ['empty-text', 'error', 'Text (field text) is empty', '""'],
      ['empty-text', 'error', 'Text (field text) is blank: "   "', '"   "'],
      ['missing-text', 'error', 'Text (field text) is null, not a string', 'null'],
      ['missing-text', 'error', 'Text (field text) is 17, not a string', '17'],
    ],
  );
  assert.deepEqual(
    parsed.rows.map((row) => row.text),
    [null, '', '   ', null, null],
  );
});

test('labels outside a configured label set are warnings naming the field and value; without one nothing is checked', () => {
  const lines = [
    '{"id": 1, "text": "a", "teacher_label": "Sprots"}',
    '{"id": 2, "text": "b", "teacher_label": "Sports", "human_label": "sports"}',
    '{"id": 3, "text": "c", "teacher_label": 2}',
    '{"id": 4, "text": "d", "teacher_label": "World", "human_label": null}',
    '{"id": 5, "text": "e", "teacher_label": "", "human_label": "World"}',
  ];
  const text = lines.join('\n');
  const parsed = parseDatasetText(text, DEFAULT_FIELDS, { labels: AG_LABELS });
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.severity, problem.field, covered(lines[problem.line - 1], problem)]),
    [
      [1, 'unknown-label', 'warning', 'teacher_label', '"Sprots"'],
      [2, 'unknown-label', 'warning', 'human_label', '"sports"'],
      [3, 'label-not-string', 'warning', 'teacher_label', '2'],
    ],
  );
  assert.equal(
    parsed.problems[0].message,
    "Teacher label 'Sprots' (field teacher_label) is not in the label set: World, Sports, Business, Sci/Tech",
  );
  assert.equal(
    parsed.problems[1].message,
    "Human label 'sports' (field human_label) is not in the label set: World, Sports, Business, Sci/Tech; 'sports' is the label 'Sports' written in other case: write it as in the label set",
  );
  assert.equal(parsed.problems[2].message, 'Teacher label 2 (field teacher_label) is not a string, so it is ignored');
  assert.deepEqual(
    parsed.rows.map((row) => [row.teacher, row.human]),
    [
      ['Sprots', null],
      ['Sports', 'sports'],
      [null, null],
      ['World', null],
      [null, 'World'],
    ],
  );

  const unconfigured = parseDatasetText(text, DEFAULT_FIELDS, { labels: [] });
  assert.deepEqual(
    unconfigured.problems.map((problem) => problem.code),
    ['label-not-string'], // only the non-string label
  );
});

test('a long label set is shortened in the message', () => {
  const labels = Array.from({ length: 20 }, (_, i) => `L${i}`);
  const parsed = parseDatasetText('{"text": "a", "teacher_label": "X"}', DEFAULT_FIELDS, { labels });
  assert.equal(parsed.problems[0].message, `Teacher label 'X' (field teacher_label) is not in the label set: ${labels.slice(0, 12).join(', ')}, …`);
});

test('inferLabelSet: every teacher and human label present, in a stable order', () => {
  const parsed = parseDatasetText(
    [
      '{"text": "a", "teacher_label": "World"}',
      '{"text": "b", "teacher_label": "Sports", "human_label": "Business"}',
      '{"text": "c", "teacher_label": "World", "human_label": ""}',
      '{"text": "d"}',
    ].join('\n'),
    DEFAULT_FIELDS,
  );
  assert.deepEqual(inferLabelSet(parsed.rows), ['Business', 'Sports', 'World']);
  assert.deepEqual(inferLabelSet([...parsed.rows].reverse()), ['Business', 'Sports', 'World']);
  assert.deepEqual(inferLabelSet([]), []);
});

test('duplicate ids: a warning on each later line that names the id and the first line; numbers and strings compare as text', () => {
  const lines = [
    '{"id": "a", "text": "one"}',
    '{"id": "b", "text": "two"}',
    '{"id": "a", "text": "three"}',
    '{"id": 7, "text": "four"}',
    '{"id": "7", "text": "five"}',
    '{"id": "a", "text": "six"}',
  ];
  const parsed = parseDatasetText(lines.join('\n'), DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.severity, problem.message, covered(lines[problem.line - 1], problem)]),
    [
      [3, 'duplicate-id', 'warning', "Duplicate id 'a' (field id): line 1 has the same id", '"a"'],
      // 7 and "7" are one id: the message says so, or the user sees two different ids called the same.
      [5, 'duplicate-id', 'warning', 'Duplicate id \'7\' (field id): line 4 has the same id (a number and its text count as one id: 7 and "7")', '"7"'],
      [6, 'duplicate-id', 'warning', "Duplicate id 'a' (field id): line 1 has the same id", '"a"'],
    ],
  );
});

test('rows without ids but with the same text share an identity and are reported', () => {
  const lines = ['{"text": "same"}', '{"text": "other"}', '{"text": "same", "teacher_label": "World"}'];
  const parsed = parseDatasetText(lines.join('\n'), DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, covered(lines[problem.line - 1], problem)]),
    [[3, 'duplicate-id', '"same"']],
  );
  assert.match(parsed.problems[0].message, /no id \(field id\) and the same text \(field text\) as line 1/);
});

test('field mapping with dotted paths: text, labels and id read from nested objects', async () => {
  const fields: FieldMapping = {
    text: 'input.text',
    teacher: 'meta.label',
    human: 'review.label',
    id: 'meta.uid',
    teacherConfidence: 'meta.p',
  };
  const parsed = await readDatasetFile(fixture('nested.jsonl'), fields, { labels: ['World'] });
  assert.deepEqual(
    parsed.rows.map((row) => [row.line, row.id.startsWith('text:') ? 'hash' : row.id, row.text, row.teacher]),
    [
      [1, 'n1', 'Nested one', 'World'],
      [2, 'n2', 'Nested two', null],
      [3, 'hash', 'Nested three', 'Sports'],
    ],
  );
  assert.deepEqual(
    parsed.problems.map((problem) => [problem.line, problem.code, problem.field, problem.message]),
    [[3, 'unknown-label', 'meta.label', "Teacher label 'Sports' (field meta.label) is not in the label set: World"]],
  );
  const missing = parseDatasetText('{"input": {"txt": "x"}}\n{"input": "flat"}', fields);
  assert.deepEqual(
    missing.problems.map((problem) => [problem.line, problem.code, problem.message]),
    // Absent on every row: one problem for the file, naming the setting (issue 10 §3.10).
    [[1, 'missing-text-field', "Missing text: none of the 2 rows has a field 'input.text'; set peerkd.fields.text (or --fields.text) to the field that holds it"]],
  );
});

test('a problem points at the value JSON.parse keeps when a key is repeated (the last one)', () => {
  const line = '{"text": "first", "text": ""}';
  const parsed = parseDatasetText(line, DEFAULT_FIELDS);
  assert.equal(parsed.problems[0].code, 'empty-text');
  assert.equal(parsed.problems[0].column, line.lastIndexOf('""') + 1);
});

test('readLines streams lines with numbers, stripping CR and BOM, and handles a line split across chunks', async () => {
  const long = 'x'.repeat(3 * 1024 * 1024); // longer than a read chunk
  const content = `\ufeffa\r\n\n{"text":"${long}"}\r\nlast`;
  await withTempFile(content, async (path) => {
    const lines = [];
    for await (const line of readLines(path)) lines.push(line);
    assert.deepEqual(
      lines.map((line) => [line.line, line.text.length > 100 ? `long:${line.text.length}` : line.text]),
      [
        [1, 'a'],
        [2, ''],
        [3, `long:${long.length + 11}`],
        [4, 'last'],
      ],
    );
  });
});

test('readLines: a CRLF split across two read chunks ends the line without a stray CR', async () => {
  const first = '{"text":"' + 'a'.repeat(READ_CHUNK_BYTES - 12) + '"}'; // its CR is the last byte of the first read chunk
  await withTempFile(`${first}\r\n{"text":"b"}\r\n`, async (path) => {
    const lines = [];
    for await (const line of readLines(path)) lines.push(line.text);
    assert.equal(first.length + 1, READ_CHUNK_BYTES);
    assert.deepEqual(lines, [first, '{"text":"b"}']);
  });
});

test('readLines does not split a multi-byte character that straddles a chunk boundary', async () => {
  const prefix = '{"text":"' + 'a'.repeat(READ_CHUNK_BYTES - 10);
  const content = `${prefix}é日本😀"}\n`;
  await withTempFile(content, async (path) => {
    const parsed = await readDatasetFile(path, DEFAULT_FIELDS);
    assert.deepEqual(parsed.problems, []);
    assert.ok(parsed.rows[0].text?.endsWith('aé日本😀'));
  });
});

test('readLineBatches: every chunk size gives the lines forEachLine finds in the whole text (LF, CRLF, lone CR, BOM, multi-byte characters)', async () => {
  // Terminators and multi-byte characters at every position relative to a chunk boundary, lines spanning several
  // chunks, a CR ending a chunk followed by a chunk without any terminator, and a last line without one.
  const pieces = ['a', '\n', '\r', '\r\n', 'é', '日', '😀', 'bc', '\n\n', '\r\r', 'xyz'];
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < 40; round++) {
    let text = round % 4 === 0 ? '\ufeff' : '';
    const length = 1 + Math.floor(next() * 60);
    for (let i = 0; i < length; i++) text += pieces[Math.floor(next() * pieces.length)];
    const body = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    const expected: string[] = [];
    forEachLine(text, (start, end) => expected.push(text.slice(start, end)), body);
    await withTempFile(text, async (path) => {
      for (const chunkBytes of [1, 2, 3, 5, 8, 64]) {
        const lines: string[] = [];
        let number = 0;
        for await (const batch of readLineBatches(path, chunkBytes)) {
          for (const line of batch) {
            assert.equal(line.line, ++number);
            lines.push(line.text);
          }
        }
        assert.deepEqual(lines, expected, `text ${JSON.stringify(text)}, chunks of ${chunkBytes} bytes`);
      }
    });
  }
});

test('streamDataset yields every line result in batches and reports duplicates across batches', async () => {
  // About 1.5 MB, so the file arrives in more than one read chunk.
  const padding = 'p'.repeat(500);
  const rows = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i % 2999, text: `row ${i} ${padding}` }));
  await withTempFile(rows.join('\n') + '\n', async (path) => {
    let count = 0;
    const problems: Problem[] = [];
    let batches = 0;
    for await (const batch of streamDataset(path, DEFAULT_FIELDS)) {
      batches++;
      for (const result of batch) {
        count++;
        problems.push(...result.problems);
      }
    }
    assert.equal(count, 3000);
    assert.ok(batches >= 2);
    assert.deepEqual(
      problems.map((problem) => [problem.line, problem.code]),
      [[3000, 'duplicate-id']],
    );
  });
});

test('streamDatasetText (an open document\'s text in chunks) gives what parseDatasetText gives, whatever the chunk size', async () => {
  // Rows, problems, duplicates across chunks, a BOM, CRLF / lone CR split at chunk boundaries, a surrogate pair split
  // across two chunks, blank lines and no final newline.
  const text = '\ufeff{"id": 1, "text": "a😀b", "teacher_label": "World"}\r\n{"id": 1, "text": ""}\r{broken\n\n[1]\r\n{"text": "é日", "teacher_label": "Nope"}';
  const expected = parseDatasetText(text, DEFAULT_FIELDS, { labels: AG_LABELS });
  for (const chunkChars of [1, 2, 3, 7, 64, 1 << 16]) {
    const rows: unknown[] = [];
    const problems: Problem[] = [];
    let lines = 0;
    for await (const batch of streamDatasetText(text, DEFAULT_FIELDS, { labels: AG_LABELS }, chunkChars)) {
      for (const result of batch) {
        assert.equal(result.line, ++lines);
        if (result.row) rows.push(result.row);
        problems.push(...result.problems);
      }
    }
    assert.equal(lines, expected.lineCount, `chunks of ${chunkChars}`);
    assert.deepEqual(rows, expected.rows, `chunks of ${chunkChars}`);
    assert.deepEqual(problems, expected.problems, `chunks of ${chunkChars}`);
  }
});

test('streamDatasetText gives the event loop back between chunks: a large text does not keep it busy until the end', async () => {
  const text = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: i, text: `row ${i}` })).join('\n') + '\n';
  // How many times the event loop turned while each batch was being handed out.
  const loop = new EventLoopTurns().start();
  const seen: number[] = [];
  for await (const batch of streamDatasetText(text, DEFAULT_FIELDS, {}, 4096)) {
    assert.ok(batch.length > 0);
    seen.push(loop.count);
  }
  loop.stop();
  assert.ok(seen.length > 5, `${seen.length} batches`);
  // Each batch after the first comes after at least one more turn of the event loop.
  for (let index = 1; index < seen.length; index++) assert.ok(seen[index] > seen[index - 1], `batch ${index}: ${seen.join(', ')}`);
});

test('DatasetParser.parseLine is stateless: the same line parsed twice gives no duplicate', () => {
  const parser = new DatasetParser(DEFAULT_FIELDS);
  const first = parser.parseLine('{"id": 1, "text": "a"}', 1);
  const second = parser.parseLine('{"id": 1, "text": "a"}', 2);
  assert.deepEqual(first.problems, []);
  assert.deepEqual(second.problems, []);
  assert.equal(parser.parseLine('  ', 3).blank, true);
  assert.equal(parser.parseLine('{', 4).blank, false);
});

test('a line too long to read is refused naming the file and line, whatever the chunk size (distill, Validate)', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'peerkd-long-line-'));
  try {
    const path = join(folder, 'rows.jsonl');
    const long = JSON.stringify({ id: 'b', text: 'x'.repeat(200), teacher_label: 'A' });
    writeFileSync(path, ['{"id": "a", "text": "one"}', long, '{"id": "c", "text": "three"}'].join('\r\n'));
    for (const chunkBytes of [7, 64, 65_536]) {
      await assert.rejects(
        (async () => {
          for await (const batch of readLineBatches(path, chunkBytes, 100)) assert.ok(batch.length > 0);
        })(),
        { message: `${path}:2: longer than 100 bytes, too long to read` },
      );
    }
    // A line of exactly the limit is read.
    const lines: string[] = [];
    for await (const batch of readLineBatches(path, 7, long.length)) lines.push(...batch.map(({ text }) => text));
    assert.equal(lines[1], long);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
