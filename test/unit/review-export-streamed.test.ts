/**
 * The reviewed copy streamed from the dataset file (exportReviewedFile, what `peerkd export` writes): the same bytes and
 * counts as the whole-file export (exportReviewedBytes) for hostile files read in any chunk sizes — LF, CRLF, lone CR
 * and mixes, a BOM, no final newline, invalid JSON, bytes that are not UTF-8, characters split between chunks, rows that
 * share an id —; a file rewritten between its two reads, a stop (Ctrl-C) mid-write and a failing write leave no copy
 * and nothing half-written under the copy's name.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createExportCommand } from '../../src/cli/export';
import { forEachLine, splitLineBytes } from '../../src/dataset/lines';
import { Utf8LineValidator } from '../../src/dataset/utf8';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { OutputAppearedError } from '../../src/dataset/files';
import { ExportInterrupted, exportedPrediction, exportReviewedBytes, exportReviewedFile, finalLabelOf, type ExportOptions } from '../../src/review/export';
import { assignRowKeys } from '../../src/review/rowKeys';
import { SeededRandom } from '../../src/training/random';
import type { Prediction } from '../../src/training/types';
import { tempFolder } from '../fixtures/training/build';
import { captureIo } from '../support/captureIo';

let folder: string;

before(async () => {
  folder = await tempFolder('export-streamed');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const TERMINATORS = ['\n', '\r\n', '\r', '\r\r\n', '\n\r', '\n\n'];
const TEXTS = ['plain words', 'émigré naïve', '日本語のニュース', 'emoji 🚀🌍 here', 'RTL שלום עולם', 'line\\nbreak \\r escaped', 'sep\u2028arator'];

/** One dataset file of `rng`'s choosing, and the row ids it holds (a row without an id: its index, unused). */
function hostileFile(rng: SeededRandom): { bytes: Buffer; rowIds: string[] } {
  const parts: Buffer[] = [];
  const rowIds: string[] = [];
  if (rng.next() < 0.3) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  const lines = 1 + rng.int(14);
  for (let index = 0; index < lines; index++) {
    const kind = rng.next();
    if (kind < 0.08) parts.push(Buffer.from('{"id": "cut", '));
    else if (kind < 0.12) parts.push(Buffer.from(rng.next() < 0.5 ? '' : '   '));
    else if (kind < 0.15) parts.push(Buffer.from('[1, 2]'));
    else {
      const row: Record<string, unknown> = { text: `${TEXTS[rng.int(TEXTS.length)]} ${index}` };
      const withId = rng.next() < 0.85;
      if (withId) row.id = `r${rng.int(5)}`;
      const teacher = rng.next();
      row.teacher_label = teacher < 0.7 ? ['A', 'B', 'C'][rng.int(3)] : teacher < 0.8 ? 1 : teacher < 0.9 ? '  ' : null;
      if (rng.next() < 0.2) row.human_label = ['A', 'B', 7, ''][rng.int(4)];
      if (rng.next() < 0.1) row.final_label = 'old';
      const json = rng.next() < 0.5 ? JSON.stringify(row) : JSON.stringify(row, null, 1).replace(/\n/g, ' ');
      if (rng.next() < 0.1) {
        // Bytes that are not UTF-8 inside the text: the line is still a row (read with U+FFFD), copied byte for byte.
        const at = json.indexOf('"text": "') >= 0 ? json.indexOf('"text": "') + 9 : json.indexOf('"text":"') + 8;
        parts.push(Buffer.concat([Buffer.from(json.slice(0, at)), Buffer.from([0xff, 0xc3]), Buffer.from(json.slice(at))]));
      } else {
        parts.push(Buffer.from(json));
      }
      rowIds.push(withId ? (row.id as string) : `\u0001row${index}`);
    }
    if (index < lines - 1 || rng.next() < 0.6) parts.push(Buffer.from(TERMINATORS[rng.int(TERMINATORS.length)]));
  }
  return { bytes: Buffer.concat(parts), rowIds };
}

function prediction(id: string, teacher: string, suggested: string, p: number): Prediction {
  return { id, line: 0, teacher, human: null, suggested, p_teacher_wrong: p, flagged: p > 0.5, probs: { [suggested]: p, [teacher]: 1 - p }, peer_probs: {}, vanilla_probs: {} };
}

/** A run that scored some of the rows (by their keys, rows that share an id included), advice taken from 0.6 on. */
function runOptions(rng: SeededRandom, rowIds: string[]): ExportOptions {
  const predictionsByKey = new Map<string, Prediction>();
  const keys = assignRowKeys(rowIds);
  keys.forEach((key, index) => {
    if (rng.next() < 0.7) predictionsByKey.set(key, prediction(rowIds[index], ['A', 'B', 'C'][rng.int(3)], ['A', 'B', 'C'][rng.int(3)], rng.next()));
  });
  return { fields: DEFAULT_FIELDS, predictionsByKey, runId: 'run-1', advice: rng.next() < 0.5 ? null : { minProbability: 0.6 } };
}

test('split into lines from chunks of any size, the bytes are those forEachLine cuts from the whole, terminators and all', async () => {
  const rng = new SeededRandom(1);
  for (let round = 0; round < 400; round++) {
    const { bytes } = hostileFile(rng);
    const whole: string[] = [];
    forEachLine(bytes, (start, end, next) => whole.push(`${bytes.subarray(start, end).toString('hex')}|${bytes.subarray(end, next).toString('hex')}`));
    const size = 1 + rng.int(24);
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    }
    const streamed: string[] = [];
    for await (const batch of splitLineBytes(chunks())) for (const { line, terminator } of batch) streamed.push(`${line.toString('hex')}|${terminator.toString('hex')}`);
    assert.deepEqual(streamed, whole, `round ${round}, chunks of ${size}: ${JSON.stringify(bytes.toString('latin1'))}`);
  }
});

test('the streamed copy holds the bytes and counts of the whole-file export, for hostile files read in any chunk size', async () => {
  const rng = new SeededRandom(2);
  const data = join(folder, 'property.jsonl');
  const out = join(folder, 'property.reviewed.jsonl');
  for (let round = 0; round < 300; round++) {
    const { bytes, rowIds } = hostileFile(rng);
    const options = runOptions(rng, rowIds);
    await writeFile(data, bytes);
    const chunkBytes = rng.next() < 0.2 ? 65_536 : 1 + rng.int(40);
    const where = `round ${round}, chunks of ${chunkBytes}: ${JSON.stringify(bytes.toString('latin1'))}`;
    let whole: ReturnType<typeof exportReviewedBytes>;
    try {
      whole = exportReviewedBytes(bytes, options, data);
    } catch (error) {
      // A file without a row is no dataset: both exports refuse it, as a run does, in the same words (its first invalid
      // line), and the file export writes nothing.
      const message = error instanceof Error ? error.message : String(error);
      assert.match(message, /(the file has no rows|no line is a valid row).*; no copy was written$/, where);
      await rm(out, { force: true });
      await assert.rejects(exportReviewedFile(data, out, options, { chunkBytes, shown: data }), { message }, where);
      await assert.rejects(readFile(out), { code: 'ENOENT' }, where);
      continue;
    }
    const streamed = await exportReviewedFile(data, out, options, { chunkBytes });
    assert.deepEqual(await readFile(out), whole.data, where);
    assert.deepEqual(streamed.counts, whole.counts, where);
    const utf8 = new Utf8LineValidator();
    utf8.update(bytes);
    assert.equal(streamed.invalidUtf8Line, utf8.end(), where);
  }
});

test('a file rewritten between the two reads so that its rows are others is refused, and no copy is written', async () => {
  const work = join(folder, 'changed');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  const rows = ['{"id": "a", "text": "one", "teacher_label": "A"}', '{"id": "b", "text": "two", "teacher_label": "B"}'];
  await writeFile(data, rows.join('\n') + '\n');
  const options: ExportOptions = {
    fields: DEFAULT_FIELDS,
    predictionsByKey: new Map([['b', prediction('b', 'B', 'A', 0.9)]]),
    runId: 'run-1',
    advice: { minProbability: 0.5 },
  };
  // A second row "b" inserted: "b" is now two rows, which the keys of the first read would not tell apart.
  const inserted = [rows[0], '{"id": "b", "text": "new", "teacher_label": "B"}', rows[1]].join('\n') + '\n';
  await assert.rejects(
    exportReviewedFile(data, join(work, 'copy.jsonl'), options, { shown: 'data.jsonl', afterFirstRead: () => writeFile(data, inserted) }),
    { message: "data.jsonl: the file changed while it was being exported (its rows' ids are not those read first), so no copy was written; export again once it is saved" },
  );
  assert.deepEqual(await readdir(work), ['data.jsonl']);
});

test('a file whose texts were swapped between the two reads (ids kept) is refused: the first read compared those texts with the run', async () => {
  const work = join(folder, 'texts-changed');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  const rows = ['{"id": "d", "text": "one", "teacher_label": "A"}', '{"id": "d", "text": "two", "teacher_label": "A"}'];
  await writeFile(data, rows.join('\n') + '\n');
  const options: ExportOptions = { fields: DEFAULT_FIELDS, predictionsByKey: new Map(), runId: 'run-1', advice: { minProbability: 0.5 } };
  await assert.rejects(
    exportReviewedFile(data, join(work, 'copy.jsonl'), options, { shown: 'data.jsonl', afterFirstRead: () => writeFile(data, [rows[1], rows[0]].join('\n') + '\n') }),
    { message: "data.jsonl: the file changed while it was being exported (its rows' texts are not those read first), so no copy was written; export again once it is saved" },
  );
  assert.deepEqual(await readdir(work), ['data.jsonl']);
});

test('a stop (Ctrl-C) while the copy is written leaves the file that was there, and no temporary file', async () => {
  const work = join(folder, 'interrupted');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  await writeFile(data, Array.from({ length: 50 }, (_, index) => JSON.stringify({ id: `r${index}`, text: `row ${index}`, teacher_label: 'A' })).join('\n'));
  await writeFile(join(work, 'copy.jsonl'), 'the copy of yesterday\n');
  const controller = new AbortController();
  const options: ExportOptions = { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null };
  await assert.rejects(
    exportReviewedFile(data, join(work, 'copy.jsonl'), options, { chunkBytes: 64, signal: controller.signal, afterFirstRead: async () => controller.abort() }),
    ExportInterrupted,
  );
  assert.deepEqual((await readdir(work)).sort(), ['copy.jsonl', 'data.jsonl']);
  assert.equal(await readFile(join(work, 'copy.jsonl'), 'utf8'), 'the copy of yesterday\n');
});

test('peerkd export stopped (Ctrl-C) before or while it writes exits 130 and writes no copy (the copy was written, exit 0)', async () => {
  const work = join(folder, 'cli-sigint');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  await writeFile(data, '{"id": "a", "text": "one", "teacher_label": "A"}\n');
  const io = captureIo();
  // What the command's SIGINT handler does once the copy is being written (a signal before that quits at once).
  const stop = new AbortController();
  stop.abort();
  assert.equal(await createExportCommand({ ...io, signal: stop.signal }).run([data, '--teacher-labels']), 130, io.err());
  assert.equal(io.err(), `Interrupted: ${join(work, 'data.reviewed.jsonl')} was not written.\n`);
  assert.deepEqual(await readdir(work), ['data.jsonl']);
});

test('a write that fails (the file size limit, a full disk) names the copy, and leaves no temporary file', { skip: process.platform === 'win32' }, async () => {
  const work = join(folder, 'too-large');
  await mkdir(work);
  await writeFile(join(work, 'data.jsonl'), Array.from({ length: 400 }, (_, index) => JSON.stringify({ id: `r${index}`, text: `row ${index} `.repeat(10), teacher_label: 'A' })).join('\n'));
  // ulimit -f: writes past 4 KiB fail with EFBIG (Node ignores SIGXFSZ), as ENOSPC would on a full disk.
  const tsx = require.resolve('tsx');
  const main = join(__dirname, '..', '..', 'src', 'cli', 'main.ts');
  const result = spawnSync('bash', ['-c', `ulimit -f 8 && exec "${process.execPath}" --import "${tsx}" "${main}" export data.jsonl --teacher-labels --out copy.jsonl`], { cwd: work, encoding: 'utf8' });
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stderr, 'peerkd export: copy.jsonl: the file is larger than the file system allows\n');
  assert.deepEqual(await readdir(work), ['data.jsonl']);
});

test('what peerkd export keeps of a prediction gives every row the final label and provenance the whole prediction gives', () => {
  const rng = new SeededRandom(3);
  const labels = ['A', 'B', 'C', '__proto__', 'constructor'];
  const pick = () => labels[rng.int(labels.length)];
  for (let round = 0; round < 2000; round++) {
    const probs: Record<string, number> = {};
    for (const label of labels) if (rng.next() < 0.7) probs[label] = rng.next();
    const full: Prediction = {
      id: 'r',
      line: 1,
      teacher: rng.next() < 0.8 ? pick() : null,
      human: rng.next() < 0.2 ? pick() : null,
      suggested: rng.next() < 0.1 ? '' : pick(),
      p_teacher_wrong: rng.next(),
      flagged: rng.next() < 0.3,
      probs,
      peer_probs: { A: rng.next() },
      vanilla_probs: { B: rng.next() },
    };
    const row = { key: 'r', teacher: rng.next() < 0.8 ? pick() : null, human: rng.next() < 0.3 ? pick() : null };
    for (const advice of [null, { minProbability: 0.5 }, { minProbability: 1 }]) {
      const options = (prediction: Prediction) => ({ predictionsByKey: new Map([['r', prediction]]), runId: 'run-1', advice });
      assert.deepEqual(finalLabelOf(row, options(exportedPrediction(full))), finalLabelOf(row, options(full)), JSON.stringify({ full, row, advice }));
    }
    assert.equal(exportedPrediction(full).flagged, full.flagged);
  }
});

test('a line too long to read fails the export naming the file and line, for any chunk size, and no copy is written', async () => {
  const work = join(folder, 'long-line');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  const long = JSON.stringify({ id: 'b', text: 'x'.repeat(200), teacher_label: 'A' });
  await writeFile(data, ['{"id": "a", "text": "one", "teacher_label": "A"}', long, '{"id": "c", "text": "three", "teacher_label": "A"}'].join('\r\n'));
  const options: ExportOptions = { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null };
  for (const chunkBytes of [7, 64, 65_536]) {
    await assert.rejects(exportReviewedFile(data, join(work, 'copy.jsonl'), options, { shown: 'data.jsonl', chunkBytes, maxLineBytes: 100 }), {
      message: 'data.jsonl:2: longer than 100 bytes, too long to read',
    });
  }
  assert.deepEqual(await readdir(work), ['data.jsonl']);
  // A line of exactly the limit is read.
  await exportReviewedFile(data, join(work, 'copy.jsonl'), options, { chunkBytes: 7, maxLineBytes: Buffer.byteLength(long) });
});

test('without --force (exclusive) a copy another export wrote while this one read is left as it is, and no temporary file', async () => {
  const work = join(folder, 'race');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  await writeFile(data, '{"id": "a", "text": "one", "teacher_label": "A"}\n');
  const copy = join(work, 'copy.jsonl');
  const options: ExportOptions = { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null };
  await assert.rejects(exportReviewedFile(data, copy, options, { exclusive: true, afterFirstRead: () => writeFile(copy, 'the first export\n') }), OutputAppearedError);
  assert.equal(await readFile(copy, 'utf8'), 'the first export\n');
  assert.deepEqual((await readdir(work)).sort(), ['copy.jsonl', 'data.jsonl']);
});
