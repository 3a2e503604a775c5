/**
 * `static:<folder>` against hostile folders: a FIFO in place of a model file must fail at once naming the file (not
 * wait forever for a writer), and a tokenizer.json whose Sequences nest thousands deep fails naming the file (not with
 * a bare stack overflow).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeTexts, resolveEncoder, type TextEncoder } from '../../src/training/encoder';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { readStaticModel } from '../../src/training/encoders/static';
import { parseTokenizer } from '../../src/training/encoders/hfTokenizer';
import { safetensorsBytes, tensorBytes, wordPieceTokenizerJson, writeModel2Vec } from '../support/model2vec';

let root: string;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'peerkd-static-hostile-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'news'];

/** Resolves with the promise's error message, or 'still waiting' after `ms` (then unblocks a reader of `fifo`). */
async function settleWithin(promise: Promise<unknown>, ms: number, fifo: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    promise.then(
      () => 'opened',
      (error: Error) => error.message,
    ),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms))),
  ]);
  clearTimeout(timer);
  if (outcome === 'still waiting') {
    // A blocked open of the FIFO would hold a thread of the pool forever: a writer that closes at once ends it.
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader
    }
    await promise.catch(() => undefined);
  }
  return outcome;
}

for (const name of ['tokenizer.json', 'model.safetensors', 'config.json']) {
  test(`static: a FIFO in place of ${name} fails at once naming the file, instead of waiting forever`, { skip: process.platform === 'win32' }, async () => {
    const folder = writeModel2Vec(path.join(root, `fifo-${name}`), { vocab: VOCAB, vectors: VOCAB.flatMap((_, i) => [i, 1]), dims: 2 });
    const fifo = path.join(folder, name);
    rmSync(fifo, { force: true });
    execFileSync('mkfifo', [fifo]);
    const outcome = await settleWithin(readStaticModel(folder), 2000, fifo);
    assert.match(outcome, new RegExp(`^${fifo.replace(/[.\\/]/g, '\\$&')}: (is not a regular file|is not a file)`));
  });
}

test('static: a tokenizer.json whose Sequences nest thousands deep fails naming the file', () => {
  for (const [key, list, leaf] of [
    ['normalizer', 'normalizers', '{"type":"Lowercase"}'],
    ['pre_tokenizer', 'pretokenizers', '{"type":"WhitespaceSplit"}'],
  ]) {
    const depth = 20_000;
    const json =
      `{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1}},"${key}":` +
      `{"type":"Sequence","${list}":[`.repeat(depth) +
      leaf +
      ']}'.repeat(depth) +
      '}';
    assert.throws(() => parseTokenizer('/models/x/tokenizer.json', json), new RegExp(`^TokenizerFileError: /models/x/tokenizer\\.json: ${key}: Sequences nest more than 16 deep`));
  }
});

test('static: a folder of only spaces or a line break is refused as a missing argument, not searched for', async () => {
  for (const choice of ['static:   ', 'static:\n', 'static:\t']) {
    await assert.rejects(resolveEncoder(choice as never), /^Error: encoder static needs an argument after the colon: static:<folder>$/);
  }
});

test('static: a tokenizer.json with a 1,000-character token does not make each word cost a million slices', () => {
  const vocab = { '[UNK]': 0, b: 1, '##b': 2, ['a'.repeat(1000)]: 3, ['##' + 'b'.repeat(999) + 'c']: 4 };
  const json = JSON.stringify({ model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 1_000_000, vocab } });
  const tokenizer = parseTokenizer('/models/x/tokenizer.json', json);
  const started = performance.now();
  const ids = tokenizer.encode('b'.repeat(4000));
  const ms = performance.now() - started;
  assert.equal(ids.length, 4000);
  assert.ok(ids.every((id, i) => id === (i === 0 ? 1 : 2)));
  // Greedy longest match is kept: the long continuation is taken where the word has it.
  assert.deepEqual(parseTokenizer('t', json).encode(`b${'b'.repeat(999)}c`), [1, 4]);
  assert.ok(ms < 1000, `${Math.round(ms)} ms`);
});

test('static: the trie search (a vocabulary with a token over 64 characters) gives the ids of the slice search', () => {
  const fixtures = path.join(__dirname, '..', 'fixtures');
  const json = JSON.parse(readFileSync(path.join(fixtures, 'static', 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  const plain = parseTokenizer('tokenizer.json', JSON.stringify(json));
  const ids = Object.values(json.model.vocab);
  json.model.vocab['z'.repeat(100)] = Math.max(...ids) + 1;
  const withLongToken = parseTokenizer('tokenizer.json', JSON.stringify(json));
  const texts = readFileSync(path.join(fixtures, 'training', 'agnews-200.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  texts.push('naïve café ﬁne 中文 \ud83d\ude00 emoji \ud800 lone', 'Ünïcödé ##x [UNK] playing');
  for (const text of texts) assert.deepEqual(withLongToken.encode(text), plain.encode(text), text);
});

test('static: an added token that tokenizer.json gives another id than its vocabulary does is refused, instead of reading past the vectors (NaN rows)', async () => {
  const tokenizer = wordPieceTokenizerJson(VOCAB) as { added_tokens: { id: number; content: string }[] };
  const cls = tokenizer.added_tokens.findIndex((token) => token.content === '[CLS]');
  tokenizer.added_tokens[cls].id = 5000;
  const folder = writeModel2Vec(path.join(root, 'added-id'), { vocab: VOCAB, vectors: VOCAB.flatMap((_, i) => [i, 1]), dims: 2, tokenizer });
  const file = path.join(folder, 'tokenizer.json').replace(/[.\\/]/g, '\\$&');
  await assert.rejects(
    resolveEncoder(`static:${folder}`),
    new RegExp(`^Error: encoder static: ${file}: added_tokens\\[${cls}\\] gives "\\[CLS\\]" the id 5000, but model\\.vocab gives it 2`),
  );
});

test('static: token weights that overflow float32 with the vectors are refused when the model is read; no encoder hands on a value that is not finite', async () => {
  const vectors = VOCAB.flatMap(() => [3e38, 1]);
  const weights = { dtype: 'F32', shape: [VOCAB.length], data: tensorBytes(VOCAB.map(() => 3e38), 'F32') };
  const folder = writeModel2Vec(path.join(root, 'overflow'), { vocab: VOCAB, vectors, dims: 2, extra: { weights } });
  const file = path.join(folder, 'model.safetensors').replace(/[.\\/]/g, '\\$&');
  await assert.rejects(resolveEncoder(`static:${folder}`), new RegExp(`^Error: encoder static: ${file}: tensor "weights" times tensor "embeddings" goes beyond the float32 range`));

  // Any encoder: a value that is not finite stops the encoding, naming the encoder and the row, before it reaches a cache or a student.
  const broken: TextEncoder = { name: 'glove', version: 'test', dims: 2, cacheable: false, encode: async (texts) => Float32Array.from(texts.flatMap((text) => (text === 'bad' ? [1, NaN] : [1, 2]))) };
  await assert.rejects(encodeTexts(broken, ['fine', 'fine too', 'bad']), /^Error: encoder glove gave a value that is not a finite number for row 3 \(value 2 of 2, text "bad"\); its batch is not cached: choose another encoder/);
  const dir = path.join(root, 'never-cached');
  const cacheable: TextEncoder = { ...broken, name: 'endpoint', cacheable: true };
  await assert.rejects(encodeTexts(cacheable, ['fine', 'bad'], EmbeddingCache.open(dir, cacheable)), /^Error: encoder endpoint gave a value that is not a finite number for row 2/);
  assert.equal(EmbeddingCache.open(dir, cacheable).size, 0, 'nothing of the failed batch was cached');
});

test('static: a tokenizer.json of 600 MB, or a vector table declaring 16 GiB, is refused naming the file before it is read into memory', { skip: process.platform === 'win32' }, async () => {
  let folder = writeModel2Vec(path.join(root, 'huge-tokenizer'), { vocab: VOCAB, vectors: VOCAB.flatMap((_, i) => [i, 1]), dims: 2 });
  const tokenizerFile = path.join(folder, 'tokenizer.json');
  truncateSync(tokenizerFile, 600 * 1024 * 1024); // sparse: no disk space used
  await assert.rejects(readStaticModel(folder), new RegExp(`^Error: ${tokenizerFile.replace(/[.\\/]/g, '\\$&')}: 629,145,600 bytes; PeerKD reads a tokenizer\\.json of at most`));

  folder = writeModel2Vec(path.join(root, 'huge-table'), { vocab: VOCAB, vectors: VOCAB.flatMap((_, i) => [i, 1]), dims: 2 });
  const modelFile = path.join(folder, 'model.safetensors');
  const rows = 2 ** 22;
  const dims = 2 ** 10;
  writeFileSync(modelFile, safetensorsBytes({ embeddings: { dtype: 'F32', shape: [rows, dims], data: new Uint8Array(0) } }));
  // The header says 0 bytes of data: give the tensor its declared end, and the file the 16 GiB it then needs (sparse).
  const header = readFileSync(modelFile);
  const json = header.subarray(8).toString('utf8').replace('"data_offsets":[0,0]', `"data_offsets":[0,${rows * dims * 4}]`);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(modelFile, Buffer.concat([length, Buffer.from(json)]));
  truncateSync(modelFile, 8 + Buffer.byteLength(json) + rows * dims * 4);
  await assert.rejects(
    readStaticModel(folder),
    new RegExp(`^Error: ${modelFile.replace(/[.\\/]/g, '\\$&')}: tensor "embeddings" holds 4,294,967,296 values \\(shape \\[4194304, 1024\\]\\); PeerKD reads at most 268,435,456`),
  );
});

test('static: a WordLevel tokenizer without unk_token is refused when the model is read, not at the first unknown word of a run', async () => {
  const vocab = ['the', 'news', 'cafe'];
  const tokenizer = { model: { type: 'WordLevel', vocab: Object.fromEntries(vocab.map((token, id) => [token, id])) }, pre_tokenizer: { type: 'WhitespaceSplit' } };
  const folder = writeModel2Vec(path.join(root, 'wordlevel-no-unk'), { vocab, vectors: vocab.flatMap((_, i) => [i, 1]), dims: 2, tokenizer });
  const file = path.join(folder, 'tokenizer.json').replace(/[.\\/]/g, '\\$&');
  await assert.rejects(
    resolveEncoder(`static:${folder}`),
    new RegExp(`^Error: encoder static: ${file}: model\\.unk_token is missing: a WordLevel model needs one to read a word outside its vocabulary`),
  );
});
