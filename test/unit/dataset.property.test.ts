/**
 * Property tests of the JSONL core (fast-check): for random lines (valid and invalid JSON, raw bytes including
 * invalid UTF-8, LF / CRLF / lone CR, a BOM, deep nesting, unicode escapes) parsing never throws, every problem
 * names a line, line numbers agree with the editor's (VS Code counts LF, CRLF and a lone CR as one break each),
 * and setting one field changes no byte outside that field's value. Kept to a few seconds.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import {
  applyRowEditsToFile,
  DEFAULT_FIELDS,
  IncrementalDatasetValidator,
  parseDatasetText,
  readDatasetFile,
  setFieldInLineBytes,
} from '../../src/dataset/index';

const RUNS = { numRuns: 150, seed: 8 };

/** The editor's lines: a BOM is not text, and LF, CRLF and a lone CR each end a line. */
function editorLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return body.split(/\r\n|\r|\n/);
}

const terminator = fc.constantFrom('\n', '\r\n', '\r');
const nested = fc.integer({ min: 1, max: 3000 }).map((depth) => `{"id":"d","text":"t","x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
const row = fc
  .record({
    id: fc.oneof(fc.string(), fc.integer()),
    text: fc.string({ unit: 'binary' }),
    teacher_label: fc.oneof(fc.constantFrom('A', 'B'), fc.integer(), fc.constant(null)),
    extra: fc.jsonValue({ maxDepth: 3 }),
  }, { requiredKeys: [] })
  .map((value) => JSON.stringify(value));
/** Unicode escapes, lone surrogates among them, written as escapes rather than characters. */
const escaped = fc.string({ unit: 'binary' }).map((text) => `{"id":1,"text":"${[...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`);
const garbage = fc.string({ unit: 'binary' }).map((text) => text.replace(/[\r\n]/g, ''));
const truncated = row.chain((line) => fc.integer({ min: 0, max: line.length }).map((cut) => line.slice(0, cut)));
const anyLine = fc.oneof(row, row, escaped, garbage, truncated, nested, fc.constant(''), fc.constant('  \t'));

const documentText = fc
  .tuple(fc.boolean(), fc.array(fc.tuple(anyLine, terminator), { maxLength: 12 }), fc.boolean())
  .map(([bom, lines, finalTerminator]) => {
    let text = (bom ? '\ufeff' : '') + lines.map(([line, end]) => line + end).join('');
    if (!finalTerminator && lines.length > 0) text = text.slice(0, -lines[lines.length - 1][1].length);
    return text;
  });

test('parsing never throws, every problem names a line, and lines are numbered as the editor numbers them', () => {
  fc.assert(
    fc.property(documentText, (text) => {
      const parsed = parseDatasetText(text, DEFAULT_FIELDS, { labels: ['A', 'B'] });
      const lines = editorLines(text);
      // A final terminator does not start another line (the editor shows an empty last line there).
      const expectedCount = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
      assert.equal(parsed.lineCount, expectedCount);
      for (const found of parsed.problems) {
        assert.ok(Number.isInteger(found.line) && found.line >= 1 && found.line <= expectedCount, `line ${found.line}`);
        assert.ok(found.column >= 1 && found.endColumn >= found.column && found.endColumn <= lines[found.line - 1].length + 2);
        assert.notEqual(lines[found.line - 1].trim(), '', 'a blank line is never a problem');
        assert.doesNotMatch(found.message, /[\u0000-\u0008\u000b-\u001f]/); // eslint-disable-line no-control-regex
      }
      for (const parsedRow of parsed.rows) assert.deepEqual(parsedRow.value, JSON.parse(lines[parsedRow.line - 1]));
      // The editor's incremental validation, fed the editor's lines, finds the same problems on the same lines.
      const editorView = expectedCount === lines.length ? lines : lines.slice(0, -1);
      const incremental = new IncrementalDatasetValidator(DEFAULT_FIELDS, { labels: ['A', 'B'] });
      assert.deepEqual(
        incremental.validate(editorView.length, (index) => editorView[index]).map((found) => [found.line, found.code]),
        parsed.problems.map((found) => [found.line, found.code]),
      );
    }),
    RUNS,
  );
});

/** Random bytes, invalid UTF-8 and stray terminators included, between JSON-ish pieces. */
const bytesDocument = fc
  .array(fc.oneof(row.map((line) => Buffer.from(line + '\n')), fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))), { maxLength: 10 })
  .map((parts) => Buffer.concat(parts));

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

test('reading a file of random bytes never throws and agrees with parsing its decoded text', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-prop-'));
  dirs.push(dir);
  const file = path.join(dir, 'data.jsonl');
  await fc.assert(
    fc.asyncProperty(bytesDocument, async (bytes) => {
      fs.writeFileSync(file, bytes);
      const read = await readDatasetFile(file, DEFAULT_FIELDS);
      const parsed = parseDatasetText(bytes.toString('utf8'), DEFAULT_FIELDS);
      assert.deepEqual(read.problems, parsed.problems);
      assert.deepEqual(read.rows.map((found) => [found.line, found.id]), parsed.rows.map((found) => [found.line, found.id]));
    }),
    { numRuns: 60, seed: 8 },
  );
});

/** A JSON string whose content is raw bytes: any byte but '"', '\' and controls, invalid UTF-8 included. */
const rawString = fc
  .uint8Array({ maxLength: 12 })
  .map((bytes) => Buffer.concat([Buffer.from('"'), Buffer.from(bytes.filter((b) => b !== 0x22 && b !== 0x5c && b >= 0x20)), Buffer.from('"')]));
const jsonBytes = fc.oneof(rawString, fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value))));
const space = fc.constantFrom('', ' ', '  ', '\t');
const member = fc.tuple(fc.string({ maxLength: 6 }).filter((key) => key !== 'human_label'), space, space, jsonBytes);

test('setting one field changes no byte outside that field’s value (or, when absent, outside the inserted member)', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(member, { maxLength: 4 }),
      fc.option(fc.tuple(space, space, jsonBytes)),
      fc.array(member, { maxLength: 4 }),
      fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('Sports', 'Sci/Tech', '\u0000', '\ufffd')),
      (bom, before, target, afterMembers, label) => {
        const parts: Buffer[] = [Buffer.from(bom ? '\ufeff{' : '{')];
        const encodeMember = ([key, s1, s2, value]: [string, string, string, Buffer]) => Buffer.concat([Buffer.from(`${JSON.stringify(key)}${s1}:${s2}`), value]);
        const members = [...before.map(encodeMember)];
        let valueAt = -1;
        let valueLength = 0;
        if (target) {
          const [s1, s2, value] = target;
          members.push(Buffer.concat([Buffer.from(`"human_label"${s1}:${s2}`), value]));
          valueLength = value.length;
        }
        members.push(...afterMembers.map(encodeMember));
        members.forEach((encoded, index) => {
          if (index > 0) parts.push(Buffer.from(', '));
          if (target && index === before.length) valueAt = Buffer.concat(parts).length + encoded.length - valueLength;
          parts.push(encoded);
        });
        const closeAt = Buffer.concat(parts).length;
        parts.push(Buffer.from('}'));
        const line = Buffer.concat(parts);
        const out = setFieldInLineBytes(line, 'human_label', label);
        const serialized = Buffer.from(JSON.stringify(label));
        if (target) {
          assert.deepEqual(out, Buffer.concat([line.subarray(0, valueAt), serialized, line.subarray(valueAt + valueLength)]));
        } else {
          // The separators follow the line's own style: its first colon, its first comma (or the colon's spacing).
          const first = before[0] ?? afterMembers[0];
          const colon = first ? `${first[1]}:${first[2]}` : ': ';
          const comma = members.length > 1 ? ', ' : colon === ':' ? ',' : ', ';
          const inserted = Buffer.concat([Buffer.from(`${members.length > 0 ? comma : ''}"human_label"${colon}`), serialized]);
          assert.deepEqual(out, Buffer.concat([line.subarray(0, closeAt), inserted, line.subarray(closeAt)]));
        }
      },
    ),
    RUNS,
  );
});

test('applyRowEditsToFile changes no byte of the file outside the edited value, whatever the terminators', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-prop-edit-'));
  dirs.push(dir);
  const file = path.join(dir, 'data.jsonl');
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.oneof(rawString, fc.constant(Buffer.from('"x"'))), terminator), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.string(),
      async (rows, pick, label) => {
        const lines = rows.map(([text], index) => Buffer.concat([Buffer.from(`{"id":"r${index}","text":`), text, Buffer.from(',"human_label":"old"}')]));
        const bytes = Buffer.concat(rows.flatMap(([, end], index) => [lines[index], Buffer.from(end)]));
        fs.writeFileSync(file, bytes);
        const index = pick % rows.length;
        await applyRowEditsToFile(file, [{ line: index + 1, id: `r${index}`, field: 'human_label', value: label }], DEFAULT_FIELDS);
        const valueEnd = bytes.indexOf(lines[index]) + lines[index].length - 1; // before '}'
        const valueStart = valueEnd - '"old"'.length;
        assert.deepEqual(fs.readFileSync(file), Buffer.concat([bytes.subarray(0, valueStart), Buffer.from(JSON.stringify(label)), bytes.subarray(valueEnd)]));
      },
    ),
    { numRuns: 40, seed: 8 },
  );
});
