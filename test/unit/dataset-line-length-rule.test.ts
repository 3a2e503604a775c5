/**
 * One line length rule for every reader of a dataset (dataset/lines.ts MAX_LINE_BYTES): bytes of UTF-8, without the
 * terminator and line 1's byte order mark. `peerkd export` counted bytes, while `distill`, `predict`, `label` and
 * Validate Dataset counted UTF-16 characters, so a line of accented or CJK text could be read by a run and refused by
 * the export of that run (or the other way round for a text in memory, which had no limit at all). Here every reader
 * is given the same lowered limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDatasetText, readDatasetFile, readLineBatches, streamDatasetText } from '../../src/dataset/parse';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { exportReviewedFile, type ExportOptions } from '../../src/review/export';

const LIMIT = 100;

/** A row line of exactly `bytes` bytes of UTF-8 whose text is `char` repeated (padded with ASCII). */
function rowOfBytes(bytes: number, char: string): string {
  const head = '{"id": "b", "text": "';
  const tail = '", "teacher_label": "A"}';
  const room = bytes - Buffer.byteLength(head + tail);
  const charBytes = Buffer.byteLength(char);
  const text = char.repeat(Math.floor(room / charBytes)) + 'x'.repeat(room % charBytes);
  const line = head + text + tail;
  assert.equal(Buffer.byteLength(line), bytes);
  return line;
}

async function drain<T>(batches: AsyncIterable<T[]>): Promise<number> {
  let count = 0;
  for await (const batch of batches) count += batch.length;
  return count;
}

/** Every reader of `text` (written to `file`): undefined where it read the file, else its error message. */
async function readers(file: string, text: string): Promise<Record<string, string | undefined>> {
  await writeFile(file, text);
  const options = { maxLineBytes: LIMIT };
  const exportOptions: ExportOptions = { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null };
  const outcome = async (read: () => Promise<unknown>) => read().then(() => undefined, (error: Error) => error.message);
  const results: Record<string, string | undefined> = {};
  for (const chunkBytes of [7, 64, 65_536]) {
    results[`file lines (chunk ${chunkBytes})`] = await outcome(() => drain(readLineBatches(file, chunkBytes, LIMIT)));
    results[`text (chunk ${chunkBytes})`] = await outcome(() => drain(streamDatasetText(text.replace(/^\ufeff/, ''), DEFAULT_FIELDS, options, chunkBytes)));
    results[`export (chunk ${chunkBytes})`] = await outcome(() => exportReviewedFile(file, `${file}.copy-${chunkBytes}.jsonl`, exportOptions, { chunkBytes, maxLineBytes: LIMIT }));
  }
  results['distill, predict, label (readDatasetFile)'] = await outcome(() => readDatasetFile(file, DEFAULT_FIELDS, options));
  results['an open document (parseDatasetText)'] = await outcome(async () => parseDatasetText(text, DEFAULT_FIELDS, options));
  return results;
}

test('a line of more bytes than the limit but fewer characters is refused by every reader, naming the line; one of exactly the limit is read by all', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'peerkd-line-rule-'));
  try {
    const file = join(folder, 'data.jsonl');
    for (const char of ['é', '語', '😀']) {
      // One byte over the limit, in fewer characters than the limit: refused by all, each naming line 2.
      const over = rowOfBytes(LIMIT + 1, char);
      assert.ok(over.length < LIMIT, `${char}: fewer characters (${over.length}) than the limit`);
      const refused = await readers(file, ['{"id": "a", "text": "one", "teacher_label": "A"}', over, '{"id": "c", "text": "three", "teacher_label": "A"}'].join('\r\n'));
      for (const [reader, message] of Object.entries(refused)) {
        const expected = reader.startsWith('text') || reader.startsWith('an open document') ? 'line 2' : `${file}:2`;
        assert.equal(message, `${expected}: longer than 100 bytes, too long to read`, `${char}, ${reader}`);
      }
      // Exactly the limit, on line 1 behind a byte order mark (not counted) and on line 2: read by all.
      const exact = rowOfBytes(LIMIT, char);
      const read = await readers(file, ['\ufeff' + exact, exact.replace('"b"', '"c"')].join('\n'));
      for (const [reader, message] of Object.entries(read)) assert.equal(message, undefined, `${char}, ${reader}`);
    }
    // A refused export wrote no copy.
    assert.ok((await readdir(folder)).every((name) => name === 'data.jsonl' || !name.includes('.tmp')), (await readdir(folder)).join(', '));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
