import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_FIELDS,
  applyRowEditsToFile,
  parseDatasetText,
  setFieldInLine,
  textIdentity,
  writeFileAtomic,
} from '../../src/dataset/index';

const fixture = (name: string): string => join(__dirname, '..', 'fixtures', 'dataset', name);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'peerkd-edit-'));
}

test('setFieldInLine replaces only the value bytes, keeping key order, unknown fields and spacing', () => {
  assert.equal(
    setFieldInLine('{"id": 1,  "human_label" :"World" , "zz": [1, {"a": 2}], "text": "x"}', 'human_label', 'Sports'),
    '{"id": 1,  "human_label" :"Sports" , "zz": [1, {"a": 2}], "text": "x"}',
  );
  assert.equal(setFieldInLine('  {"a":1}  ', 'a', 2), '  {"a":2}  ');
});

test('setFieldInLine on tricky lines: escaped quotes, backslashes, unicode, look-alike keys', () => {
  const line = '{"text": "He said \\"human_label\\": \\\\", "note": "日本語 😀", "human_label": "x"}';
  assert.equal(JSON.parse(line).text, 'He said "human_label": \\');
  const edited = setFieldInLine(line, 'human_label', 'Sci/Tech');
  assert.equal(edited, '{"text": "He said \\"human_label\\": \\\\", "note": "日本語 😀", "human_label": "Sci/Tech"}');
  // Values with quotes and non-ASCII are written as JSON; non-ASCII stays as is (no \u escapes).
  assert.equal(setFieldInLine('{"a": 1}', 'a', 'quote " and é'), '{"a": "quote \\" and é"}');
  // A key written with an escape is the same key.
  assert.equal(setFieldInLine('{"te\\u0078t": "old"}', 'text', 'new'), '{"te\\u0078t": "new"}');
  // A key that is a prefix or suffix of another is not confused with it.
  assert.equal(setFieldInLine('{"label_x": 1, "label": 2, "x_label": 3}', 'label', 9), '{"label_x": 1, "label": 9, "x_label": 3}');
});

test('setFieldInLine writes objects, arrays, null, numbers and booleans as JSON and replaces such values whole', () => {
  assert.equal(setFieldInLine('{"a": {"b": [1, 2]}, "c": 0}', 'a', null), '{"a": null, "c": 0}');
  // An object value follows the line's own spacing (issue 10 §3.8): spaced in a spaced line, compact in a compact one.
  assert.equal(setFieldInLine('{"a": null}', 'a', { x: [1, 'y'], z: null }), '{"a": {"x": [1, "y"], "z": null}}');
  assert.equal(setFieldInLine('{"a":null}', 'a', { x: [1, 'y'], z: null }), '{"a":{"x":[1,"y"],"z":null}}');
  assert.equal(setFieldInLine('{"a" : 1 ,  "b": 2}', 'c', { x: 1, y: [] }), '{"a" : 1 ,  "b": 2 ,  "c" : {"x" : 1 ,  "y" : []}}');
  assert.equal(setFieldInLine('{"a": "s"}', 'a', [1, 2]), '{"a": [1, 2]}');
  assert.equal(setFieldInLine('{"a": [1, [2, 3]], "b": 1}', 'a', 0.25), '{"a": 0.25, "b": 1}');
  assert.equal(setFieldInLine('{"a": true}', 'a', false), '{"a": false}');
  assert.throws(() => setFieldInLine('{"a": 1}', 'a', undefined), /not a JSON value/);
});

test('setFieldInLine inserts an absent field before the closing brace, in the line’s own separator style', () => {
  assert.equal(
    setFieldInLine('{"id": 1, "text": "x"}', 'human_label', 'World'),
    '{"id": 1, "text": "x", "human_label": "World"}',
  );
  assert.equal(setFieldInLine('{"id":1,"text":"x"}', 'human_label', 'World'), '{"id":1,"text":"x","human_label":"World"}');
  assert.equal(setFieldInLine('{"id": 1 }', 'h', 2), '{"id": 1, "h": 2 }');
  assert.equal(setFieldInLine('{"id":1}', 'h', 2), '{"id":1,"h":2}');
  assert.equal(setFieldInLine('{}', 'h', 'x'), '{"h": "x"}');
  assert.equal(setFieldInLine('{ }', 'h', 'x'), '{"h": "x" }');
  assert.equal(setFieldInLine('{"k": "v"}', 'needs "quote"', 1), '{"k": "v", "needs \\"quote\\"": 1}');
});

test('setFieldInLine with dotted paths: edits nested values and creates missing objects', () => {
  assert.equal(setFieldInLine('{"meta": {"label": "a", "p": 1}, "t": 2}', 'meta.label', 'b'), '{"meta": {"label": "b", "p": 1}, "t": 2}');
  assert.equal(setFieldInLine('{"meta": {"p": 1}, "t": 2}', 'meta.label', 'b'), '{"meta": {"p": 1, "label": "b"}, "t": 2}');
  assert.equal(setFieldInLine('{"meta": {}, "t": 2}', 'meta.label', 'b'), '{"meta": {"label": "b"}, "t": 2}');
  assert.equal(setFieldInLine('{"t": 2}', 'review.human.label', 'b'), '{"t": 2, "review": {"human": {"label": "b"}}}');
  assert.throws(() => setFieldInLine('{"meta": "flat"}', 'meta.label', 'b'), /'meta' is not an object, so 'meta.label' cannot be set inside it/);
  assert.throws(() => setFieldInLine('{"meta": [1]}', 'meta.label', 'b'), /'meta' is not an object/);
});

test('setFieldInLine changes the last of repeated keys, the one JSON.parse reads', () => {
  const edited = setFieldInLine('{"a": 1, "a": 2}', 'a', 3);
  assert.equal(edited, '{"a": 1, "a": 3}');
  assert.equal(JSON.parse(edited).a, 3);
});

test('setFieldInLine keeps a BOM and a trailing CR, and refuses lines that are not JSON objects', () => {
  assert.equal(setFieldInLine('\ufeff{"a": 1}\r', 'a', 2), '\ufeff{"a": 2}\r');
  assert.equal(setFieldInLine('\ufeff{"a": 1}', 'b', 2), '\ufeff{"a": 1, "b": 2}');
  assert.throws(() => setFieldInLine('{"a": 1', 'a', 2), /not valid JSON \(column 8: Expected ',' or '}'/);
  assert.throws(() => setFieldInLine('[1]', 'a', 2), /not a JSON object/);
  assert.throws(() => setFieldInLine('', 'a', 2), /not valid JSON/);
  assert.throws(() => setFieldInLine('{"a": 1}', '', 2), /Invalid field path/);
});

test('applyRowEditsToFile: a CRLF file with a BOM and no final newline round-trips byte for byte', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'data.jsonl');
    const original = readFileSync(fixture('crlf-bom-no-final-newline.jsonl'));
    writeFileSync(path, original);
    await applyRowEditsToFile(
      path,
      [
        { line: 1, id: 'c1', field: 'human_label', value: 'World' },
        { line: 3, id: 'c2', field: 'teacher_label', value: 'Business' },
      ],
      DEFAULT_FIELDS,
    );
    const expected = Buffer.from(
      '\ufeff{"id": "c1", "text": "Windows line one", "teacher_label": "World", "human_label": "World"}\r\n\r\n' +
        '{"id": "c2", "text": "Windows line two", "teacher_label": "Business"}',
      'utf8',
    );
    assert.deepEqual(readFileSync(path), expected);
    // Setting the values back (the field added stays, the label reverts) touches only those bytes again.
    await applyRowEditsToFile(path, [{ line: 3, id: 'c2', field: 'teacher_label', value: 'Sports' }], DEFAULT_FIELDS);
    assert.deepEqual(
      readFileSync(path).subarray(readFileSync(path).lastIndexOf('\r\n') + 2),
      original.subarray(original.lastIndexOf('\r\n') + 2),
    );
    assert.deepEqual(readdirSync(dir), ['data.jsonl']); // no temporary file left behind
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyRowEditsToFile keeps every other byte: LF, final newline, invalid lines, even invalid UTF-8 elsewhere', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'data.jsonl');
    const before = Buffer.concat([
      Buffer.from('{"id": "a", "text": "caf\u00e9 \\"q\\"", "x": {"y": [1,2]}}\n', 'utf8'),
      Buffer.from('{"broken": \n', 'utf8'),
      Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"t":"\xff\xfe"}
      Buffer.from('{"text": "no id row"}\n', 'utf8'),
    ]);
    writeFileSync(path, before);
    await applyRowEditsToFile(
      path,
      [
        { line: 1, id: 'a', field: 'human_label', value: 'World' },
        { line: 4, id: textIdentity('no id row'), field: 'review.label', value: 'Sports' },
      ],
      DEFAULT_FIELDS,
    );
    const after = readFileSync(path);
    const expected = Buffer.concat([
      Buffer.from('{"id": "a", "text": "caf\u00e9 \\"q\\"", "x": {"y": [1,2]}, "human_label": "World"}\n', 'utf8'),
      Buffer.from('{"broken": \n', 'utf8'),
      Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
      Buffer.from('{"text": "no id row", "review": {"label": "Sports"}}\n', 'utf8'),
    ]);
    assert.deepEqual(after, expected);
    const parsed = parseDatasetText(after.toString('utf8'), DEFAULT_FIELDS);
    assert.equal(parsed.rows.find((row) => row.id === 'a')?.human, 'World');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyRowEditsToFile applies several edits to one line and keeps the file mode', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'data.jsonl');
    writeFileSync(path, '{"id": 1, "text": "t"}\n');
    chmodSync(path, 0o640);
    await applyRowEditsToFile(
      path,
      [
        { line: 1, id: '1', field: 'human_label', value: 'A' },
        { line: 1, id: '1', field: 'teacher_label', value: 'B' },
      ],
      DEFAULT_FIELDS,
    );
    assert.equal(readFileSync(path, 'utf8'), '{"id": 1, "text": "t", "human_label": "A", "teacher_label": "B"}\n');
    assert.equal(statSync(path).mode & 0o777, 0o640);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyRowEditsToFile refuses, naming file and line, when the line no longer holds the expected row; nothing is written', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'data.jsonl');
    const content = '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n{oops\n';
    writeFileSync(path, content);
    await assert.rejects(
      applyRowEditsToFile(
        path,
        [
          { line: 1, id: 'a', field: 'human_label', value: 'World' }, // valid, but must not be written alone
          { line: 2, id: 'a', field: 'human_label', value: 'World' },
        ],
        DEFAULT_FIELDS,
      ),
      (error: Error) => error.message === `${path}:2: expected the row with id 'a' but found 'b'; the file changed since the edit was made`,
    );
    await assert.rejects(
      applyRowEditsToFile(path, [{ line: 3, id: 'c', field: 'human_label', value: 'World' }], DEFAULT_FIELDS),
      new RegExp(`^Error: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: expected the row with id 'c' but the line is not valid JSON`),
    );
    await assert.rejects(
      applyRowEditsToFile(path, [{ line: 4, id: 'c', field: 'human_label', value: 'World' }], DEFAULT_FIELDS),
      /:4: the file has no line 4/,
    );
    await assert.rejects(
      applyRowEditsToFile(path, [{ line: 0, id: 'c', field: 'human_label', value: 'World' }], DEFAULT_FIELDS),
      /:0: the file has no line 0/,
    );
    await assert.rejects(
      applyRowEditsToFile(path, [{ line: 1, id: 'a', field: 'text.inner', value: 'World' }], DEFAULT_FIELDS),
      /:1: 'text' is not an object/,
    );
    assert.equal(readFileSync(path, 'utf8'), content);
    assert.deepEqual(readdirSync(dir), ['data.jsonl']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic replaces the file whole, and creates it when absent', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'out.jsonl');
    await writeFileAtomic(path, 'first\n');
    assert.equal(readFileSync(path, 'utf8'), 'first\n');
    await writeFileAtomic(path, Buffer.from('second\n'));
    assert.equal(readFileSync(path, 'utf8'), 'second\n');
    assert.deepEqual(readdirSync(dir), ['out.jsonl']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic leaves the original intact and no temporary file when the final rename fails', async () => {
  const dir = tempDir();
  const rename = mock.method(fsp, 'rename', async () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  });
  try {
    const path = join(dir, 'data.jsonl');
    writeFileSync(path, 'original\n');
    // Named as the file written, in words (it said only 'ENOSPC: no space left on device').
    await assert.rejects(writeFileAtomic(path, 'replacement\n'), { code: 'ENOSPC', message: `${path}: no space left on the disk` });
    assert.equal(rename.mock.callCount(), 1);
    assert.equal(readFileSync(path, 'utf8'), 'original\n');
    assert.deepEqual(readdirSync(dir), ['data.jsonl']);
  } finally {
    rename.mock.restore();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic leaves the original intact when writing the temporary file fails', async () => {
  const dir = tempDir();
  const realOpen = fsp.open;
  const open = mock.method(fsp, 'open', async (...args: Parameters<typeof fsp.open>) => {
    const handle = await realOpen(...args);
    mock.method(handle, 'writeFile', async () => {
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    });
    return handle;
  });
  try {
    const path = join(dir, 'data.jsonl');
    writeFileSync(path, 'original\n');
    await assert.rejects(writeFileAtomic(path, 'replacement\n'), { code: 'EIO', message: `${path}: input/output error (the disk or the network share failed)` });
    assert.ok(open.mock.callCount() >= 1);
    assert.equal(readFileSync(path, 'utf8'), 'original\n');
    assert.deepEqual(readdirSync(dir), ['data.jsonl']);
  } finally {
    open.mock.restore();
    rmSync(dir, { recursive: true, force: true });
  }
});
