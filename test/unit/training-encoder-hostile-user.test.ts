/**
 * The pretrained-encoder paths as a hostile or careless user meets them, through the real CLI (child processes) where
 * the user would: a Model2Vec folder whose safetensors tensors overlap, links that loop, a tokenizer that turns every
 * word into [UNK]; an embedding cache whose vectors were changed in place; a model whose static folder moved.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readStaticModel, staticEncoder } from '../../src/training/encoders/static';
import { repoRoot, runCli } from '../fixtures/training/build';
import { safetensorsBytes, seededValues, tensorBytes, vocabularyFrom, wordPieceTokenizerJson, writeModel2Vec } from '../support/model2vec';

let root: string;
let dataset: string;
let texts: string[];
let vocab: string[];
const DIMS = 8;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'peerkd-encoder-hostile-user-'));
  dataset = path.join(root, 'agnews.jsonl');
  copyFileSync(path.join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
  texts = readFileSync(dataset, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
  vocab = vocabularyFrom(texts, 800);
});
after(() => rmSync(root, { recursive: true, force: true }));

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function model(name: string, extra: Partial<Parameters<typeof writeModel2Vec>[1]> = {}): string {
  const random = seededValues(3);
  return writeModel2Vec(path.join(root, name), { vocab, vectors: Array.from({ length: vocab.length * DIMS }, random), dims: DIMS, ...extra });
}

/** `peerkd distill --encoder static:<folder>` on the dataset; stderr and the exit code. */
const distillStatic = (folder: string) => runCli(['distill', dataset, '--backend', 'cpu', '--stages', '1', '--encoder', `static:${folder}`], root);

test('peerkd distill --encoder static: a model.safetensors whose tensors overlap (weights read out of the vectors) or leave bytes to none fails naming the file, as the safetensors library does', async () => {
  const folder = model('overlap');
  const modelFile = path.join(folder, 'model.safetensors');
  const vectors = Float32Array.from({ length: vocab.length * DIMS }, seededValues(3));
  const data = new Uint8Array(vectors.buffer);
  const header = (tensors: Record<string, unknown>) => {
    const json = JSON.stringify(tensors);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    return Buffer.concat([length, Buffer.from(json), data]);
  };
  // "weights" (one per token) declared over the first bytes of "embeddings": every offset is inside the file.
  writeFileSync(
    modelFile,
    header({ embeddings: { dtype: 'F32', shape: [vocab.length, DIMS], data_offsets: [0, data.length] }, weights: { dtype: 'F32', shape: [vocab.length], data_offsets: [0, vocab.length * 4] } }),
  );
  const overlap = await distillStatic(folder);
  assert.equal(overlap.code, 1, overlap.stderr);
  assert.match(overlap.stderr, new RegExp(`encoder static: ${escape(modelFile)}: tensor "(weights|embeddings)" \\(bytes 0 to \\d+ of the data\\) overlaps tensor "(embeddings|weights)", which ends at byte \\d+: not a valid safetensors file`));
  assert.doesNotMatch(overlap.stderr, /\n\s+at /, 'no stack trace');

  // A hole before the vectors, and bytes after the last tensor.
  writeFileSync(modelFile, header({ embeddings: { dtype: 'F32', shape: [vocab.length - 1, DIMS], data_offsets: [DIMS * 4, data.length] } }));
  await assert.rejects(readStaticModel(folder), new RegExp(`^SafetensorsError: ${escape(modelFile)}: bytes 0 to ${DIMS * 4} of the data belong to no tensor \\(before tensor "embeddings"\\)`));
  writeFileSync(modelFile, header({ embeddings: { dtype: 'F32', shape: [vocab.length - 1, DIMS], data_offsets: [0, data.length - DIMS * 4] } }));
  await assert.rejects(readStaticModel(folder), new RegExp(`^SafetensorsError: ${escape(modelFile)}: the data has ${data.length} bytes but its tensors end at byte ${data.length - DIMS * 4}`));

  // What the library writes (tensors back to back, weights after the vectors) still reads.
  const weights = { dtype: 'F32', shape: [vocab.length], data: tensorBytes(vocab.map(() => 0.5), 'F32') };
  writeFileSync(modelFile, safetensorsBytes({ embeddings: { dtype: 'F32', shape: [vocab.length, DIMS], data }, weights }));
  assert.ok((await readStaticModel(folder)).weights);
});

test('peerkd distill --encoder static: a folder or model file that is a link loop, or a link to nothing (a folder copied out of the HuggingFace cache without its blobs), is named as such, not "not found"', { skip: process.platform === 'win32' }, async () => {
  const loop = path.join(root, 'loop-a');
  symlinkSync(path.join(root, 'loop-b'), loop);
  symlinkSync(loop, path.join(root, 'loop-b'));
  const looped = await distillStatic(loop);
  assert.equal(looped.code, 1, looped.stderr);
  assert.match(looped.stderr, new RegExp(`encoder static: ${escape(loop)}: symbolic link loop`));
  assert.doesNotMatch(looped.stderr, /not found/);

  // As `cp -r` copies a HuggingFace snapshot folder: its files are relative links into ../../blobs.
  const hub = path.join(root, 'hub');
  const blobs = path.join(hub, 'blobs');
  const snapshot = path.join(hub, 'snapshots', 'abc123');
  mkdirSync(snapshot, { recursive: true });
  model('hub-source');
  mkdirSync(blobs);
  for (const file of ['tokenizer.json', 'model.safetensors']) {
    renameSync(path.join(root, 'hub-source', file), path.join(blobs, file));
    symlinkSync(path.join('..', '..', 'blobs', file), path.join(snapshot, file));
  }
  const copy = path.join(root, 'copied-snapshot');
  mkdirSync(copy);
  for (const file of ['tokenizer.json', 'model.safetensors']) symlinkSync(path.join('..', '..', 'blobs', file), path.join(copy, file));
  const dangling = await distillStatic(copy);
  assert.equal(dangling.code, 1, dangling.stderr);
  assert.match(
    dangling.stderr,
    new RegExp(`encoder static: ${escape(path.join(copy, 'tokenizer.json'))} is a symbolic link to \\.\\./\\.\\./blobs/tokenizer\\.json, which does not exist: copy the model's files themselves`),
  );
  // The snapshot folder itself, links and all, reads.
  assert.equal((await readStaticModel(snapshot)).rows, vocab.length);

  // A config.json that is a link to nothing is not skipped as absent (potion models say normalize: true there).
  const config = model('dangling-config');
  symlinkSync(path.join(root, 'nowhere', 'config.json'), path.join(config, 'config.json'));
  await assert.rejects(readStaticModel(config), new RegExp(`${escape(path.join(config, 'config.json'))} is a symbolic link to ${escape(path.join(root, 'nowhere', 'config.json'))}, which does not exist`));
});

test('peerkd distill --encoder static: a tokenizer that makes every word the unknown token fails clearly instead of a run on vectors of zeros ("did not help")', async () => {
  // max_input_chars_per_word below 1: every word is longer, so every word is [UNK] (the Rust crate refuses -1 outright).
  for (const max of [-1, 0]) {
    const tokenizer = wordPieceTokenizerJson(vocab) as { model: Record<string, unknown> };
    tokenizer.model.max_input_chars_per_word = max;
    const folder = model(`max-chars-${max}`, { tokenizer: tokenizer as Record<string, unknown> });
    const run = await distillStatic(folder);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`encoder static: ${escape(path.join(folder, 'tokenizer.json'))}: model\\.max_input_chars_per_word must be a positive integer \\(usually 100\\), got ${max}`));
  }

  // A vocabulary of another script: no word of these texts is in it.
  const foreign = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'новости', 'спорт', 'мир', '##и'];
  const folder = writeModel2Vec(path.join(root, 'cyrillic'), { vocab: foreign, vectors: Array.from({ length: foreign.length * DIMS }, seededValues(5)), dims: DIMS });
  const run = await distillStatic(folder);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`encoder static:${escape(folder)}: none of \\d+ texts has a token of the vocabulary of ${escape(path.join(folder, 'tokenizer.json'))} \\(9 tokens, WordPiece/BertNormalizer/BertPreTokenizer\\) other than the unknown token, so every vector would be zeros`),
  );

  // A few texts without a known token (emoji rows, a short prediction) still get their zeros, as model2vec gives them.
  const encoder = staticEncoder(await readStaticModel(folder));
  const values = await encoder.encode(['🙂', 'hello world', 'spam']);
  assert.ok(values.every((x) => x === 0));
  const mixed = await encoder.encode([...Array.from({ length: 20 }, () => 'hello'), 'мир новости']);
  assert.ok(mixed.some((x) => x !== 0));
});
