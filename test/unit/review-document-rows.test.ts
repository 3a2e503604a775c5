/**
 * The review's rows of a document, read again after every change (src/review/documentRows.ts). Every read parsed every
 * line: each decision on a 10,000-row dataset re-parsed the whole file (about a quarter of a second on a 2-core
 * machine), so a key held down queued decisions in the extension host. The reader now parses only lines whose text is
 * new, and reads exactly what a full parse reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDatasetText } from '../../src/dataset/parse';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { DocumentRowReader } from '../../src/review/documentRows';
import { keyRows } from '../../src/review/rowKeys';
import { syntheticRows } from '../support/syntheticRows';

/** The rows as a full parse reads them (what the review read before). */
function fullRead(text: string) {
  return keyRows(parseDatasetText(text, DEFAULT_FIELDS).rows, (row) => ({ line: row.line, text: row.text, teacher: row.teacher, human: row.human }));
}

function assertSameRows(reader: DocumentRowReader, text: string, message: string): void {
  const read = reader.read(text);
  const full = fullRead(text);
  assert.deepEqual([...read.byKey], [...full.byKey], message);
  assert.deepEqual([...read.keyByLine], [...full.keyByLine], message);
  assert.deepEqual([...read.linesById], [...full.linesById], message);
}

test('a read gives the rows a full parse gives: BOM, CRLF, lone CR, blank and broken lines, repeated ids and lines, rows without an id', () => {
  const lines = [
    '\ufeff{"id": "a", "text": "alpha", "teacher_label": "World"}',
    '{"id": "b", "text": "beta", "teacher_label": "Sports", "human_label": "World"}',
    '',
    '{"id": "b", "text": "beta again", "teacher_label": "Sports"}',
    '{not json',
    '[1, 2]',
    '{"text": "no id", "teacher_label": "World"}',
    '{"text": "no id", "teacher_label": "World"}',
    '{"id": 7, "text": "numeric id", "teacher_label": "  "}',
    '{"id": "a", "text": "alpha", "teacher_label": "World"}',
  ];
  const reader = new DocumentRowReader(DEFAULT_FIELDS);
  assertSameRows(reader, lines.join('\n'), 'LF');
  assertSameRows(reader, lines.join('\r\n') + '\r\n', 'CRLF, read after the LF text');
  assertSameRows(reader, lines.join('\r'), 'lone CR');
  assertSameRows(reader, lines.slice(1).join('\n'), 'the BOM line gone');
  assertSameRows(reader, ['\ufeff' + lines[1], ...lines.slice(2)].join('\n'), 'a BOM added in front of a known line');
});

test('random edits (lines changed, inserted, deleted, swapped, duplicated): every read equals a full parse', () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r${i % 30}`, text: `text ${i}`, teacher_label: 'World' }));
  const reader = new DocumentRowReader(DEFAULT_FIELDS);
  for (let step = 0; step < 300; step++) {
    const at = random(lines.length);
    switch (random(5)) {
      case 0:
        lines[at] = JSON.stringify({ id: `r${random(30)}`, text: `edited ${step}`, teacher_label: 'Sports', human_label: random(2) ? 'World' : null });
        break;
      case 1:
        lines.splice(at, 0, random(3) ? lines[random(lines.length)] : '{broken');
        break;
      case 2:
        if (lines.length > 1) lines.splice(at, 1);
        break;
      case 3: {
        const other = random(lines.length);
        [lines[at], lines[other]] = [lines[other], lines[at]];
        break;
      }
      default:
        lines[at] = '';
    }
    assertSameRows(reader, lines.join(step % 2 ? '\n' : '\r\n'), `after step ${step}`);
  }
});

test('after a decision, a line inserted above or rows reordered, only the lines with new text are parsed again', () => {
  const rows = syntheticRows(10_000, 50).map((row, i) => JSON.stringify({ id: `row-${i}`, text: row.text, teacher_label: row.teacher }));
  const reader = new DocumentRowReader(DEFAULT_FIELDS);
  reader.read(rows.join('\n'));
  assert.equal(reader.lastParsedLineCount, 10_000, 'the first read parses every line');
  rows[5000] = rows[5000].replace(/}$/, ', "human_label": "World"}');
  const afterDecision = reader.read(rows.join('\n'));
  assert.equal(reader.lastParsedLineCount, 1, 'a decision rewrote one line');
  assert.equal(afterDecision.byKey.get('row-5000')?.human, 'World');
  rows.unshift(JSON.stringify({ id: 'new', text: 'typed above', teacher_label: 'World' }));
  const afterInsert = reader.read(rows.join('\n'));
  assert.equal(reader.lastParsedLineCount, 1, 'one line inserted above');
  assert.equal(afterInsert.byKey.get('row-5000')?.line, 5002);
  rows.reverse();
  const reversed = reader.read(rows.join('\r\n'));
  assert.equal(reader.lastParsedLineCount, 0, 'lines reordered, line breaks changed: no text is new');
  assert.equal(reversed.byKey.get('row-0')?.line, 10_000);
});
