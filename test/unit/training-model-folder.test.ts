/**
 * A saved model folder is checked in full before `loadModel` (and so `peerkd predict`) uses it: a corrupt or hostile
 * folder fails with a message naming the file at fault, never with a wrong prediction or a bare RangeError.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel, saveModel, type TrainedModel } from '../../src/training/model';
import { TOKENIZER_VERSION } from '../../src/training/featurize';
import { runCli } from '../fixtures/training/build';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const BUCKETS = 16;
const DIM = 4;

let root: string;
let good: string;
let copies = 0;

function trainedModel(): TrainedModel {
  const embedding = new Float32Array(BUCKETS * DIM);
  for (let i = 0; i < embedding.length; i += 3) embedding[i] = ((i % 7) - 3) / 10;
  const kernel = new Float32Array(DIM * LABELS.length).map((_, i) => ((i % 5) - 2) / 4);
  return {
    labels: LABELS,
    featurizer: { config: { buckets: BUCKETS, wordNgrams: 1, charNgrams: null }, idf: new Float32Array(BUCKETS).fill(1.5) },
    weights: { buckets: BUCKETS, dim: DIM, denseDim: 0, classes: LABELS.length, embedding, kernel, bias: new Float32Array([0.1, -0.1, 0.2, 0]) },
  };
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'peerkd-model-folder-'));
  good = path.join(root, 'good');
  await saveModel(trainedModel(), good, 'cpu');
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the good model folder with `change` applied to it. */
async function corrupted(change: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(root, `copy-${++copies}`, 'model');
  await cp(good, dir, { recursive: true });
  await change(dir);
  return dir;
}

async function editModelJson(
  dir: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- model.json is edited freely here, as an attacker would
  edit: (json: Record<string, any>) => void): Promise<void> {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(await readFile(file, 'utf8'));
  edit(json);
  await writeFile(file, JSON.stringify(json));
}

async function setFloat(file: string, index: number, value: number): Promise<void> {
  const bytes = await readFile(file);
  bytes.writeFloatLE(value, index * 4);
  await writeFile(file, bytes);
}

async function rejectsNaming(dir: string, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadModel(dir, 'cpu'), (error: Error) => {
    assert.ok(error.message.startsWith(`${path.join(dir, file)}: `) || error.message.includes(path.join(dir, file)), error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

test('the saved model loads and its probabilities sum to 1', async () => {
  const model = await loadModel(good, 'cpu');
  const [prediction] = await model.predict(['some words here']);
  assert.ok(Math.abs(Object.values(prediction.probs).reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

test('a weights path that leaves the folder is refused, not read', async () => {
  for (const hostile of ['../../../../etc/passwd', '/etc/passwd', 'sub/../../weights.bin', '..']) {
    const dir = await corrupted((d) => editModelJson(d, (json) => (json.weightsManifest[0].paths = [hostile])));
    await rejectsNaming(dir, 'model.json', /is not a file name inside the model folder/);
  }
});

test('a symbolic link out of the folder is refused, whichever file it replaces', async () => {
  const outside = path.join(root, 'outside.bin');
  await cp(path.join(good, 'weights.bin'), outside);
  for (const name of ['weights.bin', 'embedding.bin', 'idf.bin']) {
    const dir = await corrupted(async (d) => {
      await cp(path.join(good, name), outside, { force: true });
      await rm(path.join(d, name));
      await symlink(outside, path.join(d, name));
    });
    await rejectsNaming(dir, name, /leads outside the model folder/);
  }
});

test('metadata whose labels do not match the head is refused (no probabilities that fail to sum to 1)', async () => {
  const dir = await corrupted((d) => editModelJson(d, (json) => (json.userDefinedMetadata.peerkd.labels = ['World', 'Sports'])));
  await rejectsNaming(dir, 'model.json', /kernel has shape \[4,4\], expected \[4,2\] \(dim 4, 2 labels\)/);
  const dimDir = await corrupted((d) => editModelJson(d, (json) => (json.userDefinedMetadata.peerkd.dim = 8)));
  await rejectsNaming(dimDir, 'model.json', /kernel has shape \[4,4\], expected \[8,4\]/);
  const dup = await corrupted((d) => editModelJson(d, (json) => (json.userDefinedMetadata.peerkd.labels = ['A', 'A', 'B', 'C'])));
  await rejectsNaming(dup, 'model.json', /repeats a label/);
});

test('NaN or infinite values in any weights file are refused, naming the file', async () => {
  for (const [name, index] of [['weights.bin', 3], ['embedding.bin', 1 + 2], ['idf.bin', 5]] as const) {
    const dir = await corrupted(async (d) => {
      // embedding.bin starts with the Int32 row indices: index 3 is inside the first stored row when rows ≥ 2.
      const bytes = await readFile(path.join(d, name));
      const at = name === 'embedding.bin' ? bytes.length / 4 - 1 : index;
      await setFloat(path.join(d, name), at, name === 'idf.bin' ? Infinity : NaN);
    });
    await rejectsNaming(dir, name, /is (NaN|Infinity), not a finite number/);
  }
});

test('sizes that disagree with model.json, out-of-range rows and huge dimensions fail before any allocation, naming the file', async () => {
  const truncated = await corrupted(async (d) => writeFile(path.join(d, 'weights.bin'), (await readFile(path.join(d, 'weights.bin'))).subarray(0, 20)));
  await rejectsNaming(truncated, 'weights.bin', /has 20 bytes, expected 80/);

  const badRow = await corrupted(async (d) => {
    const bytes = await readFile(path.join(d, 'embedding.bin'));
    bytes.writeInt32LE(BUCKETS + 5, 0);
    await writeFile(path.join(d, 'embedding.bin'), bytes);
  });
  await rejectsNaming(badRow, 'embedding.bin', /row index 0 is 21: indices must increase and lie in \[0, 16\)/);

  const tooManyRows = await corrupted((d) => editModelJson(d, (json) => (json.userDefinedMetadata.peerkd.embeddingRows = 9)));
  await rejectsNaming(tooManyRows, 'embedding.bin', /has \d+ bytes, expected 180/);

  const huge = await corrupted((d) =>
    editModelJson(d, (json) => {
      json.userDefinedMetadata.peerkd.buckets = 400_000_000;
      json.userDefinedMetadata.peerkd.featurizer.buckets = 400_000_000;
      json.userDefinedMetadata.peerkd.dim = 32;
    }),
  );
  await rejectsNaming(huge, 'model.json', /buckets must be an integer from 1 to 16777216, got 400000000/);
  const wide = await corrupted((d) =>
    editModelJson(d, (json) => {
      json.userDefinedMetadata.peerkd.buckets = json.userDefinedMetadata.peerkd.featurizer.buckets = 1 << 24;
      json.userDefinedMetadata.peerkd.dim = 32;
    }),
  );
  await rejectsNaming(wide, 'model.json', /buckets × dim = 536870912 exceeds 268435456 embedding values/);

  const idf = await corrupted(async (d) => writeFile(path.join(d, 'idf.bin'), Buffer.alloc(12)));
  await rejectsNaming(idf, 'idf.bin', /has 12 bytes, expected 64/);

  const notJson = await corrupted(async (d) => writeFile(path.join(d, 'model.json'), '{"format": '));
  await assert.rejects(loadModel(notJson, 'cpu'), new RegExp(`cannot read model ${path.join(notJson, 'model.json').replace(/[/\\.]/g, '\\$&')}`));
});

test('peerkd predict on a hostile model folder exits 1 with one line naming model.json, and writes no predictions', async () => {
  const dir = await corrupted((d) => editModelJson(d, (json) => (json.weightsManifest[0].paths = ['../../../../etc/passwd'])));
  const data = path.join(root, 'data.jsonl');
  await writeFile(data, '{"id": "a", "text": "the match ended in a draw"}\n');
  const { code, stdout, stderr } = await runCli(['predict', dir, data, '--backend', 'cpu'], root);
  assert.equal(code, 1, stderr);
  assert.equal(stdout, '');
  assert.equal(stderr, `peerkd predict: ${path.join(dir, 'model.json')}: weight file '../../../../etc/passwd' is not a file name inside the model folder\n`);
});

test('compact weights (used buckets only) save the very files of the full table, and load back to the same predictions', async () => {
  const full = trainedModel();
  // The rows of the buckets in use (some all-zero rows included: saveModel leaves those out either way).
  const rowBuckets = Int32Array.from([0, 1, 3, 4, 7, 9, 12, 15]);
  const embedding = new Float32Array(rowBuckets.length * DIM);
  rowBuckets.forEach((bucket, i) => embedding.set(full.weights.embedding.subarray(bucket * DIM, (bucket + 1) * DIM), i * DIM));
  // Buckets outside rowBuckets must be zero in the full table for the two to be the same model.
  const sameFull: TrainedModel = { ...full, weights: { ...full.weights, embedding: new Float32Array(BUCKETS * DIM) } };
  rowBuckets.forEach((bucket, i) => sameFull.weights.embedding.set(embedding.subarray(i * DIM, (i + 1) * DIM), bucket * DIM));
  const compact: TrainedModel = { ...full, weights: { ...full.weights, embedding, rowBuckets } };
  const fullDir = path.join(root, 'full');
  const compactDir = path.join(root, 'compact');
  await saveModel(sameFull, fullDir, 'cpu');
  await saveModel(compact, compactDir, 'cpu');
  for (const name of ['embedding.bin', 'weights.bin', 'idf.bin']) {
    assert.deepEqual(await readFile(path.join(compactDir, name)), await readFile(path.join(fullDir, name)), name);
  }
  const texts = ['a b c', 'hello world', ''];
  assert.deepEqual(await (await loadModel(compactDir, 'cpu')).predict(texts), await (await loadModel(fullDir, 'cpu')).predict(texts));
});

test('peerkd predict --out refuses to write over a file of the model folder it reads (the model stays usable)', async () => {
  const dir = await corrupted(async () => undefined);
  const data = path.join(root, 'data-out.jsonl');
  await writeFile(data, '{"id": "a", "text": "the match ended in a draw"}\n');
  for (const name of ['weights.bin', 'model.json']) {
    const before = await readFile(path.join(dir, name));
    const { code, stderr } = await runCli(['predict', dir, data, '--backend', 'cpu', '--out', path.join(dir, '.', name)], root);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`is the input file .*${name.replace('.', '\\.')}: refusing to write over the input`));
    assert.deepEqual(await readFile(path.join(dir, name)), before, name);
  }
  const { code, stderr } = await runCli(['predict', dir, data, '--backend', 'cpu'], root);
  assert.equal(code, 0, stderr);
});

test('a model records the tokenizer version it was saved with; one of another version is refused naming model.json, one without a version loads with a warning', async () => {

  const saved = JSON.parse(await readFile(path.join(good, 'model.json'), 'utf8'));
  assert.equal(saved.userDefinedMetadata.peerkd.tokenizerVersion, TOKENIZER_VERSION);
  assert.deepEqual((await loadModel(good, 'cpu')).warnings, []);
  for (const other of [TOKENIZER_VERSION - 1, TOKENIZER_VERSION + 1]) {
    const dir = await corrupted((d) => editModelJson(d, (json) => (json.userDefinedMetadata.peerkd.tokenizerVersion = other)));
    await rejectsNaming(dir, 'model.json', new RegExp(`^${path.join(dir, 'model.json').replace(/[/\\.]/g, '\\$&')}: the model was saved with tokenizer version ${other} \\(userDefinedMetadata\\.peerkd\\.tokenizerVersion\\), but this PeerKD reads the words of a text with version ${TOKENIZER_VERSION}, .* train a new model \\(peerkd distill\\)$`));
  }
  for (const hostile of ['3', 0, 1.5, null]) {
    const dir = await corrupted((d) => editModelJson(d, (json) => (json.userDefinedMetadata.peerkd.tokenizerVersion = hostile)));
    await rejectsNaming(dir, 'model.json', /tokenizerVersion must be a positive integer/);
  }
  // Saved before the version was recorded: it loads (ASCII text is read alike by every version), and says so.
  const old = await corrupted((d) => editModelJson(d, (json) => delete json.userDefinedMetadata.peerkd.tokenizerVersion));
  const model = await loadModel(old, 'cpu');
  assert.deepEqual(model.warnings, [
    `${path.join(old, 'model.json')}: records no tokenizer version (saved by an older PeerKD), so texts outside ASCII (Chinese or Japanese, emoji, accents written as NFD) may be read into other words than in training; ASCII text is read alike — train a new model (peerkd distill) to be sure`,
  ]);
});
