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
import { readLatestRun } from '../../src/training/artifacts';
import { runDistillation } from '../../src/training/pipeline';
import { saveModel } from '../../src/training/model';
import { readDatasetFile } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import type { TrainingRow } from '../../src/training/types';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { endpointVersion } from '../../src/training/encoders/endpoint';
import { embeddingsHandler, hashedBagOfWords, startFakeOpenAi } from '../support/fakeOpenAiServer';
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

/**
 * A copy of the AG News fixture in its own folder under root, and vectors that carry each row's label (so that the
 * engine keeps them and predict needs them) next to 12 hashed word counts.
 */
function labelledCopy(name: string): { folder: string; data: string; oracle: (text: string) => number[] } {
  const folder = path.join(root, name);
  mkdirSync(folder);
  const data = path.join(folder, 'agnews.jsonl');
  copyFileSync(dataset, data);
  const labels = ['Business', 'Sci/Tech', 'Sports', 'World'];
  const labelOf = new Map(readFileSync(data, 'utf8').trim().split('\n').map((line) => {
    const row = JSON.parse(line) as { text: string; teacher_label: string; human_label?: string | null };
    return [row.text, row.human_label ?? row.teacher_label];
  }));
  return { folder, data, oracle: (text) => [...labels.map((label) => (label === labelOf.get(text) ? 3 : 0)), ...hashedBagOfWords(text, 12)] };
}

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
  assert.equal(looped.code, 2, looped.stderr);
  assert.match(looped.stderr, new RegExp(`--encoder static:${escape(loop)}: ${escape(loop)}: symbolic link loop`));
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
  assert.equal(dangling.code, 2, dangling.stderr);
  assert.match(
    dangling.stderr,
    new RegExp(`--encoder static:${escape(copy)}: ${escape(path.join(copy, 'tokenizer.json'))} is a symbolic link to \\.\\./\\.\\./blobs/tokenizer\\.json, which does not exist: copy the model's files themselves`),
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

test('static encoder: a batch of texts without letters or digits (emoji rows, "!!!") is no sign of a foreign tokenizer: zeros, not an error', async () => {
  // With the rest of the file cached, rows appended since (emoji reactions) are a batch of their own: the run failed
  // with "is it a model for another language or script?" although the tokenizer reads every other row.
  const encoder = staticEncoder(await readStaticModel(model('emoji-batch')));
  const emoji = ['🙂', '👍', '🎉🎉', '❤️', '😂😂😂', '🔥', '👏', '💯', '🙏', '😢', '🤔', '✨'];
  const values = await encoder.encode(emoji);
  assert.equal(values.length, emoji.length * DIMS);
  assert.ok(values.every((x) => x === 0));
  // Texts with letters and no known token are still refused (another language's model).
  await assert.rejects(encoder.encode(Array.from({ length: 12 }, (_, i) => `ксенофобия${i}`)), /none of 12 texts has a token of the vocabulary/);
});

test('embedding cache: a vector changed in place (one base64 character: a flipped bit, an edit) is caught by its checksum and embedded again; lines without one are still read', async () => {
  const server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    const { folder, data, oracle } = labelledCopy('checksum');
    // Vectors that carry the label, so that the engine keeps them and predict needs them.
    server.setEmbeddingsHandler(embeddingsHandler(oracle));
    const env = { ...process.env, OPENAI_API_KEY: '' };
    const distilled = await runCli(['distill', 'agnews.jsonl', '--backend', 'cpu', '--stages', '1', '--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'm'], folder, env);
    assert.equal(distilled.code, 0, distilled.stderr);
    const latest = await readLatestRun(data);
    assert.equal((latest!.metrics as { encoder: { used: string } }).encoder.used, 'words+embedding');
    const predict = () => runCli(['predict', latest!.runDir, 'agnews.jsonl', '--backend', 'cpu'], folder, env);
    const sent = () => server.embeddingsRequests().flatMap((call) => (JSON.parse(call.body) as { input: string[] }).input);
    server.requests.length = 0;
    const clean = await predict();
    assert.equal(clean.code, 0, clean.stderr);
    assert.deepEqual(sent(), [], 'every row from the cache');

    const file = EmbeddingCache.open(path.join(folder, '.peerkd', 'embedding-cache'), { name: 'endpoint', version: endpointVersion(server.baseUrl, 'm', 16), dims: 16 }).file;
    const original = readFileSync(file, 'utf8');
    const lines = original.split('\n');
    // Line 11: one base64 character of the vector replaced by another; it still decodes to 16 finite float32.
    const line = JSON.parse(lines[10]) as { k: string; v: string };
    const at = line.v.indexOf('AAAA') >= 0 ? line.v.indexOf('AAAA') : 2;
    const changed = { ...line, v: `${line.v.slice(0, at)}Q${line.v.slice(at + 1)}` };
    lines[10] = JSON.stringify(changed);
    writeFileSync(file, lines.join('\n'));
    const damaged = readFileSync(file);
    server.requests.length = 0;
    const after = await predict();
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stderr, new RegExp(`warning: ${escape(file)}:11: the line does not match its checksum \\(changed after it was written\\); entry ignored`));
    assert.equal(sent().filter((text) => text !== 'PeerKD dimension probe').length, 1, 'the row of the changed line is embedded again, not read from the cache');
    assert.equal(after.stdout, clean.stdout, 'every prediction as with the intact cache');
    assert.ok(readFileSync(file).subarray(0, damaged.length).equals(damaged), 'the damaged line is left as it was (only appended to)');

    // A cache written before lines had a checksum: read as it is, nothing sent again.
    writeFileSync(file, original.split('\n').map((text) => (text ? JSON.stringify({ k: (JSON.parse(text) as { k: string }).k, v: (JSON.parse(text) as { v: string }).v }) : text)).join('\n'));
    server.requests.length = 0;
    const old = await predict();
    assert.equal(old.code, 0, old.stderr);
    assert.deepEqual(sent(), []);
    assert.equal(old.stdout, clean.stdout);
  } finally {
    await server.close();
  }
});

test('peerkd distill shows the damaged lines of the embedding cache on the terminal (file:line), as predict does, not only in run.log', async () => {
  const server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    const folder = path.join(root, 'damaged-shown');
    mkdirSync(folder);
    copyFileSync(dataset, path.join(folder, 'agnews.jsonl'));
    server.setEmbeddingsHandler(embeddingsHandler((text) => hashedBagOfWords(text, 8)));
    const env = { ...process.env, OPENAI_API_KEY: '' };
    const distill = () => runCli(['distill', 'agnews.jsonl', '--backend', 'cpu', '--stages', '1', '--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'm'], folder, env);
    const first = await distill();
    assert.equal(first.code, 0, first.stderr);
    const file = EmbeddingCache.open(path.join(folder, '.peerkd', 'embedding-cache'), { name: 'endpoint', version: endpointVersion(server.baseUrl, 'm', 8), dims: 8 }).file;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.splice(4, 0, '{"k": "half a line, then the machine went down');
    writeFileSync(file, lines.join('\n'));
    const second = await distill();
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.stderr.includes(`warn: ${file}:5: not valid JSON; entry ignored\n`), second.stderr);
    const log = readFileSync(path.join((await readLatestRun(path.join(folder, 'agnews.jsonl')))!.runDir, 'run.log'), 'utf8');
    assert.match(log, new RegExp(`WARN  ${escape(file)}:5: not valid JSON; entry ignored\n`));
  } finally {
    await server.close();
  }
});

test('peerkd predict with a model whose static folder was moved: exit 1, the error names model.json, the folder, and says to put those very files back or train again', async () => {
  const folder = model('moved-model');
  const parsed = await readDatasetFile(dataset, DEFAULT_FIELDS);
  const rows: TrainingRow[] = parsed.rows.map((r) => ({ id: r.id, line: r.line, text: r.text!, teacher: r.teacher, human: r.human, teacherConfidence: null }));
  const labels = [...new Set(rows.map((r) => r.teacher!))].sort();
  const out = await runDistillation({ rows, labels }, { folds: 2, stages: 1, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: `static:${folder}` }, {}, { keepEncoder: 'always' });
  const modelDir = path.join(root, 'moved-run', 'model');
  await saveModel(out.model, modelDir, 'cpu');
  renameSync(folder, `${folder}-elsewhere`);
  const predicted = await runCli(['predict', modelDir, dataset, '--backend', 'cpu'], root);
  assert.equal(predicted.code, 1, predicted.stderr);
  assert.equal(predicted.stdout, '', 'no prediction from the words alone');
  assert.match(
    predicted.stderr,
    new RegExp(
      `^peerkd predict: ${escape(path.join(modelDir, 'model.json'))}: the model was trained with encoder static:${escape(folder)} \\(model2vec/sha256:[0-9a-f]{16}/.*\\), which is not available here: ` +
        `encoder static: folder ${escape(folder)} not found .*\\. This model reads the vectors of those very files \\(model2vec/sha256:[0-9a-f]{16}\\): put the folder's tokenizer\\.json and model\\.safetensors back at ${escape(folder)}, or train a new model`,
    ),
  );
  assert.doesNotMatch(predicted.stderr, /\n\s+at /);
});

test('peerkd distill --encoder static: a tokenizer.json or config.json saved with a byte order mark (a Windows editor) reads; one saved as UTF-16 fails saying so', async () => {
  const folder = model('bom', { config: { normalize: true } });
  const plain = await readStaticModel(folder);
  for (const file of ['tokenizer.json', 'config.json']) {
    const target = path.join(folder, file);
    writeFileSync(target, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(target)]));
  }
  const read = await readStaticModel(folder);
  assert.equal(read.normalize, true);
  assert.equal(read.tokenizer.vocabSize, plain.tokenizer.vocabSize);
  const run = await distillStatic(folder);
  assert.equal(run.code, 0, run.stderr);

  const utf16 = model('utf16');
  const target = path.join(utf16, 'tokenizer.json');
  writeFileSync(target, Buffer.from(`\ufeff${readFileSync(target, 'utf8')}`, 'utf16le'));
  const refused = await distillStatic(utf16);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`encoder static: ${escape(target)}: saved as UTF-16; PeerKD reads JSON files in UTF-8`));
});

test('peerkd predict (and distill with --encoder-dimensions) against an endpoint whose model was replaced behind the same name: caught by the witness before new vectors are mixed in; predict says to bring the model back, not to move the cache', async () => {
  const server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    const { folder, data, oracle } = labelledCopy('replaced');
    server.setEmbeddingsHandler(embeddingsHandler(oracle));
    const env = { ...process.env, OPENAI_API_KEY: '' };
    const endpoint = ['--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'm'];
    const distilled = await runCli(['distill', 'agnews.jsonl', '--backend', 'cpu', '--stages', '1', ...endpoint], folder, env);
    assert.equal(distilled.code, 0, distilled.stderr);
    const latest = await readLatestRun(data);
    assert.equal((latest!.metrics as { encoder: { used: string } }).encoder.used, 'words+embedding');
    const fresh = path.join(folder, 'new.jsonl');
    writeFileSync(fresh, ['Stocks fall as oil prices rise', 'Team wins the cup final'].map((text, i) => JSON.stringify({ id: `n${i}`, text })).join('\n') + '\n');

    // `ollama pull` fetched another model under the same name and size.
    server.setEmbeddingsHandler(embeddingsHandler((text) => oracle(text).reverse()));
    server.requests.length = 0;
    const predicted = await runCli(['predict', latest!.runDir, 'new.jsonl', '--backend', 'cpu'], folder, env);
    assert.equal(predicted.code, 1, predicted.stderr);
    assert.equal(predicted.stdout, '', 'nothing predicted from the other model\'s vectors');
    assert.match(predicted.stderr, /now gives other vectors than those this model was trained on \(the model behind that name was replaced: .*embedding-cache.* holds the vectors it gave before\)\. Nothing was predicted: bring back the embedding model it was trained with, or train a new model/);
    assert.doesNotMatch(predicted.stderr, /move that file away/);
    const sentTexts = server.embeddingsRequests().flatMap((call) => (JSON.parse(call.body) as { input: string[] }).input);
    assert.deepEqual(sentTexts, ['PeerKD dimension probe'], 'only the witness was sent, no row');

    // Rows that are all in the cache still predict from the vectors the model learnt, with no request.
    server.requests.length = 0;
    const cachedRows = await runCli(['predict', latest!.runDir, 'agnews.jsonl', '--backend', 'cpu'], folder, env);
    assert.equal(cachedRows.code, 0, cachedRows.stderr);
    assert.equal(server.embeddingsRequests().length, 0);

    // A run that asks for a size has no size probe either: the witness is asked for before the new rows are sent.
    const other = path.join(folder, 'more.jsonl');
    writeFileSync(other, readFileSync(data, 'utf8').split('\n').filter(Boolean).map((line, i) => (i < 20 ? line.replace('"text": "', '"text": "Updated: ') : line)).join('\n') + '\n');
    const rerun = await runCli(['distill', 'more.jsonl', '--backend', 'cpu', '--stages', '1', ...endpoint, '--encoder-dimensions', '16'], folder, env);
    assert.equal(rerun.code, 1, rerun.stderr);
    assert.match(rerun.stderr, /holds vectors of another model than .* gives now/);
  } finally {
    await server.close();
  }
});

test('peerkd distill --encoder endpoint against a server that gives every input of a list the same vector: a clear error, and none of those vectors in the cache', async () => {
  const server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    const folder = path.join(root, 'same-vector');
    mkdirSync(folder);
    copyFileSync(dataset, path.join(folder, 'agnews.jsonl'));
    // The probe (one text) gets its own vector; a list gets its first text's vector for every input.
    server.setEmbeddingsHandler((request) => embeddingsHandler((text) => hashedBagOfWords(text, 8))({ ...request, inputs: request.inputs.map(() => request.inputs[0]) }));
    const run = await runCli(['distill', 'agnews.jsonl', '--backend', 'cpu', '--stages', '1', '--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'm'], folder, { ...process.env, OPENAI_API_KEY: '' });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /encoder endpoint: http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings returned the same vector for all 32 different texts of a request: the server does not embed each input of a list \(it embeds one of them, or none\), or it cuts every text at its input limit and these differ only after it \(a long beginning they share, such as a prompt template\)\. Nothing of it is cached/);
    const file = EmbeddingCache.open(path.join(folder, '.peerkd', 'embedding-cache'), { name: 'endpoint', version: endpointVersion(server.baseUrl, 'm', 8), dims: 8 }).file;
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1, 'only the probe\'s vector (the witness) is cached');
  } finally {
    await server.close();
  }
});

test('endpoint vectors of another size than expected say why that size was expected: a --encoder-dimensions the server ignores, or a saved model whose embedding model changed', async () => {
  const server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    const { folder, data, oracle } = labelledCopy('sizes');
    const env = { ...process.env, OPENAI_API_KEY: '' };
    const endpoint = ['--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'm'];
    server.setEmbeddingsHandler(embeddingsHandler(oracle));

    // The server ignores "dimensions" (only text-embedding-3-* take it) and answers its own 16.
    const asked = await runCli(['distill', 'agnews.jsonl', '--backend', 'cpu', '--stages', '1', ...endpoint, '--encoder-dimensions', '8'], folder, env);
    assert.equal(asked.code, 1, asked.stderr);
    assert.match(asked.stderr, /returned a vector of 16 values where this encoder has 8 \(index 0\): 8 is the size asked for \(--encoder-dimensions, the request's "dimensions"\), which m at this server does not give; leave it out/);

    const distilled = await runCli(['distill', 'agnews.jsonl', '--backend', 'cpu', '--stages', '1', ...endpoint], folder, env);
    assert.equal(distilled.code, 0, distilled.stderr);
    const latest = await readLatestRun(data);
    writeFileSync(path.join(folder, 'new.jsonl'), JSON.stringify({ id: 'n', text: 'Stocks fall as oil prices rise' }) + '\n');
    // Another model under the same name, with 12-value vectors.
    server.setEmbeddingsHandler(embeddingsHandler((text) => hashedBagOfWords(text, 12)));
    const predicted = await runCli(['predict', latest!.runDir, 'new.jsonl', '--backend', 'cpu'], folder, env);
    assert.equal(predicted.code, 1, predicted.stderr);
    assert.match(predicted.stderr, /returned a vector of 12 values where this encoder has 16 \(index 0\): the model was trained with vectors of 16 values, so m at this server is not the embedding model it was trained with; bring that one back, or train a new model/);
  } finally {
    await server.close();
  }
});
