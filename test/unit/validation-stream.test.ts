// "PeerKD: Validate Dataset" of a file that is not open (training/input.ts validateDatasetStream) makes the run's own
// checks of the file as a whole without keeping its rows: each row goes into the checks (InputChecks) while its batch
// streams past, so a million-row file is not held in the extension host. The findings are the run's, at the same lines.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstInvalidUtf8LineOfFile, parseDatasetText, readDatasetFile, readLineTexts, streamDataset, type LineResult } from '../../src/dataset/index';
import { DEFAULT_FIELDS, type Problem } from '../../src/dataset/types';
import { checkTrainingInput, inputProblems, textsWithSeveralLabels, validateDatasetStream, type InputSource } from '../../src/training/input';
import { jsonlText } from '../support/jsonl';

const dir = mkdtempSync(join(tmpdir(), 'peerkd-validate-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The batches of `batches`, each row behind a proxy that is revoked once the reader asks for the next batch (or the end). */
async function* revokedOnceRead(batches: AsyncIterable<LineResult[]>, counts: { revoked: number }): AsyncGenerator<LineResult[]> {
  for await (const batch of batches) {
    const revokes: (() => void)[] = [];
    const shown = batch.map((result) => {
      if (!result.row) return result;
      const { proxy, revoke } = Proxy.revocable(result.row, {});
      revokes.push(revoke);
      return { ...result, row: proxy };
    });
    yield shown;
    for (const revoke of revokes) revoke();
    counts.revoked += revokes.length;
  }
}

/** Rows that give the run's checks something to say, in several 64 KiB read chunks. */
function datasetRows(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 3000; i++) rows.push({ id: `r${i}`, text: `story number ${i} about ${i % 2 ? 'markets' : 'football'} ${'and more words '.repeat(3)}`, teacher_label: i % 2 ? 'Business' : 'Sports' });
  rows.push({ id: 'x1', text: 'same text', teacher_label: 'Business' }, { id: 'x2', text: 'same text', teacher_label: 'Sports' }); // conflicting texts
  rows.push({ id: 'w', text: '!!! ???', teacher_label: 'Sports' }); // no word
  rows.push({ id: 'b', text: 'a blank teacher label', teacher_label: '  ' });
  rows.push({ id: 'o', text: 'an odd label', teacher_label: 'Business\n' }); // odd label, and on one row only
  rows.push({ id: 's', text: 'a label by case', teacher_label: 'sports' });
  rows.push({ id: 'r1', text: 'rare one', teacher_label: 'World' }, { id: 'r2', text: 'rare two', teacher_label: 'World' });
  rows.push({ id: 'n', text: 'no text field' } as Record<string, unknown>, { id: 'e', text: '', teacher_label: 'Sports' });
  return rows.map((row) => (row.id === 'n' ? { id: 'n', body: 'no text field', teacher_label: 'Sports' } : row));
}

test("Validate Dataset of a closed file reads each row only while its batch streams past, and shows the run's findings at the run's lines", async () => {
  const file = join(dir, 'data.jsonl');
  // A line of bytes that are not UTF-8 too: the run warns about it, naming that line.
  writeFileSync(file, Buffer.concat([Buffer.from(jsonlText(datasetRows())), Buffer.from('{"id": "l", "text": "caf'), Buffer.from([0xe9]), Buffer.from(' prices", "teacher_label": "Sports"}\n')]));
  const source: Omit<InputSource, 'text'> = { file, fields: DEFAULT_FIELDS, labels: [], folds: 2 };

  const counts = { revoked: 0 };
  // A row read after its batch (kept for the checks of the whole file, as before) throws: "Cannot perform 'get' on a proxy that has been revoked".
  const found = await validateDatasetStream(revokedOnceRead(streamDataset(file, source.fields), counts), source, { invalidUtf8Line: () => firstInvalidUtf8LineOfFile(file) });
  assert.ok(found);

  // The same as the run's checks of the whole parsed file (the rows kept), at the same lines.
  const parsed = await readDatasetFile(file, source.fields);
  assert.equal(counts.revoked, parsed.rows.length);
  assert.ok(parsed.rows.length > 3000);
  const utf8Line = await firstInvalidUtf8LineOfFile(file);
  assert.equal(found.rows, parsed.rows.length);
  const expected: Problem[] = [...parsed.problems, ...inputProblems(parsed, source, undefined, utf8Line)];
  assert.deepEqual(found.problems, expected);
  const shown = (problems: readonly Problem[]) => problems.filter((problem) => problem.code === 'run-check').map((problem) => [problem.line, problem.severity, problem.message.slice(0, 40)]);
  // Every check this file trips, each at the line the run names.
  const run = checkTrainingInput(parsed, source, utf8Line);
  const line = (check: string) => run.findings.find((finding) => finding.check === check)?.line;
  assert.deepEqual(
    ['conflicting-texts', 'wordless-rows', 'blank-labels', 'odd-labels', 'case-labels', 'single-row-labels', 'invalid-utf8'].map((check) => [check, line(check)]),
    [
      ['conflicting-texts', 3001],
      ['wordless-rows', 3003],
      ['blank-labels', 3004],
      ['odd-labels', 3005],
      ['case-labels', 3006],
      ['single-row-labels', 3005],
      ['invalid-utf8', 3011],
    ],
  );
  assert.deepEqual(shown(found.problems), shown(expected));
});

test("Validate Dataset of a closed file marks each run finding's line text, reading again only the lines the findings name", async () => {
  const file = join(dir, 'ranges.jsonl');
  const text = jsonlText(datasetRows());
  writeFileSync(file, text);
  const source: Omit<InputSource, 'text'> = { file, fields: DEFAULT_FIELDS, labels: [], folds: 2 };
  const asked: number[][] = [];
  const kept: number[] = [];
  const found = await validateDatasetStream(streamDataset(file, source.fields), source, {
    lineTexts: async (lines) => {
      asked.push([...lines]);
      const texts = await readLineTexts(file, lines);
      kept.push(texts.size);
      return texts;
    },
  });
  assert.ok(found);
  const runLines = [...new Set(found.problems.filter((problem) => problem.code === 'run-check').map((problem) => problem.line))].sort((a, b) => a - b);
  // One second read, of the findings' lines only (a handful of a file of 3,000 rows).
  assert.deepEqual(asked, [runLines]);
  assert.deepEqual(kept, [runLines.length]);
  assert.ok(runLines.length < 10, String(runLines));
  // Each finding marks its line's text, as inputProblems does with the lines of the whole text.
  const lines = text.split('\n');
  const expected = inputProblems(parseDatasetText(text, source.fields), source, (line) => lines[line - 1]);
  assert.deepEqual(found.problems.filter((problem) => problem.code === 'run-check'), expected);
  assert.ok(expected.every((problem) => problem.endColumn === lines[problem.line - 1].length + 1));
  // A line past the end is missing, not an empty text.
  assert.deepEqual([...(await readLineTexts(file, [2, 99_999]))], [[2, lines[1]]]);
});

test('Validate Dataset of a closed file stops when cancelled, before the next batch', async () => {
  const file = join(dir, 'cancel.jsonl');
  writeFileSync(file, jsonlText(datasetRows()));
  let calls = 0;
  const found = await validateDatasetStream(streamDataset(file, DEFAULT_FIELDS), { file, fields: DEFAULT_FIELDS, labels: [], folds: 2 }, { onBatch: () => ++calls < 2 });
  assert.equal(found, undefined);
  assert.equal(calls, 2);
});

test('the repeated-text check, which keeps a hash of each text instead of the text, finds the texts that the exact comparison finds', () => {
  // Texts that differ in one character, by two characters swapped (next to each other, or two apart), or only in
  // length, each on rows of two labels; a few of them repeated exactly with another label.
  const texts: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const base = `headline ${String(i).padStart(5, '0')} about the markets`;
    texts.push(base, base.replace('about', 'abuot'), base.replace('about', 'aobut'), base.replace('about', 'baout'), base + ' ');
  }
  const rows = texts.map((text, i) => ({ id: `r${i}`, text, teacher_label: i % 2 ? 'World' : 'Sports' }));
  for (let i = 0; i < 7; i++) rows.push({ id: `again${i}`, text: texts[i * 4001], teacher_label: 'Business' });
  const source: InputSource = { file: '/d.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 };
  const checked = checkTrainingInput(parseDatasetText(jsonlText(rows), source.fields), source);
  const exact = textsWithSeveralLabels(checked.input!.rows);
  assert.equal(exact.length, 7);
  const finding = checked.findings.find((f) => f.check === 'conflicting-texts');
  assert.match(finding?.message ?? '', /^7 text\(s\) are on several rows with different labels: e\.g\. line 1's text is also on line 30001 \(labels 'Sports', 'Business'\)/);
});
