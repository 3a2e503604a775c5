/**
 * Issue 13, `static:<folder>`: a Model2Vec static model (tokenizer.json + model.safetensors) that the tests write
 * themselves (test/support/model2vec.ts). The vectors of a few texts are checked exactly against model2vec's
 * StaticModel.encode rules (BertNormalizer, BertPreTokenizer, WordPiece, special tokens as added tokens, unknown words
 * dropped, mean, normalize), each bad folder fails naming the file and the problem, and the CLI trains with
 * `--encoder static:<folder>` and `peerkd predict` reopens the folder, or fails clearly once it is changed or gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { resolveEncoder, type TextEncoder } from '../../src/training/encoder';
import { readStaticModel, resolveEncoderFolder, staticEncoder } from '../../src/training/encoders/static';
import { parseTokenizer } from '../../src/training/encoders/hfTokenizer';
import { float16Values } from '../../src/training/encoders/safetensors';
import { readLatestRun } from '../../src/training/artifacts';
import { startDistillation } from '../../src/training/client';
import { DEFAULT_DISTILL_OPTIONS } from '../../src/training/protocol';
import { predictModel, runDistillation } from '../../src/training/pipeline';
import { saveModel } from '../../src/training/model';
import { readDatasetFile } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import type { TrainingRow } from '../../src/training/types';
import { bundleWorker, repoRoot, runCli, tempFolder } from '../fixtures/training/build';
import { safetensorsBytes, seededValues, tensorBytes, vocabularyFrom, wordPieceTokenizerJson, writeModel2Vec } from '../support/model2vec';

let root: string;
before(async () => {
  root = await tempFolder('encoder-static');
});
after(() => rmSync(root, { recursive: true, force: true }));

// ids:          0        1        2        3        4         5      6       7       8        9     10   11   12   13    14      15
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cafe', 'play', '##ing', '##s', '!', ',', '$', '中', 'news', '##y'];
const DIMS = 4;
/** Row i of the tiny model: exact in float16 too. */
const row = (i: number) => [i, -i / 2, i % 3, i / 4];
const VECTORS = VOCAB.flatMap((_, i) => row(i));

/** model2vec's vector: the mean of the rows of `ids` (float64, then float32), zeros for none. */
function mean(ids: number[], rows: (i: number) => number[] = row): number[] {
  if (ids.length === 0) return new Array<number>(DIMS).fill(0);
  const sum = new Array<number>(DIMS).fill(0);
  for (const id of ids) rows(id).forEach((x, d) => (sum[d] += x));
  return sum.map((x) => Math.fround(x / ids.length));
}

async function encode(encoder: TextEncoder, texts: string[]): Promise<number[][]> {
  const values = await encoder.encode(texts);
  return texts.map((_, r) => Array.from(values.subarray(r * encoder.dims, (r + 1) * encoder.dims)));
}

/** Texts and the token ids model2vec gives them with the tiny vocabulary. */
const CASES: [string, number[]][] = [
  ['The Café!', [5, 6, 10]], // lowercase, accents stripped, punctuation split off
  ['PLAYING, plays', [7, 8, 11, 7, 9]], // subword continuations
  ['the playx', [5]], // a word whose rest has no piece is unknown as a whole, and dropped
  ['xyz', []], // only unknown words: zeros
  ['', []],
  ['news中the', [14, 13, 5]], // CJK characters are words of their own
  ['the\u00a0cafe\u0007$', [5, 6, 12]], // no-break space splits, a control character goes, ASCII symbols are punctuation
  ['[CLS] newsy', [2, 14, 15]], // a special token as written is a token (add_special_tokens=False adds none)
  ['[cls] the', [5]], // …only as written: [cls] is three unknown pieces
  ['!'.repeat(512) + ' cafe', Array<number>(512).fill(10)], // at most 512 tokens
  [' '.repeat(2046) + 'the cafe', []], // cut to 512 × the median token length (4) characters first: "th" is unknown
];

test('static: the vectors of model2vec (WordPiece, BertNormalizer, unknown words dropped, mean), from F32 and F16 tables', async () => {
  for (const dtype of ['F32', 'F16']) {
    const folder = writeModel2Vec(path.join(root, `tiny-${dtype}`), { vocab: VOCAB, vectors: VECTORS, dims: DIMS, dtype });
    const { encoder, reason } = await resolveEncoder(`static:${folder}`);
    assert.ok(encoder);
    assert.equal(encoder.name, `static:${folder}`);
    assert.equal(encoder.dims, DIMS);
    assert.equal(encoder.cacheable, false);
    assert.match(encoder.version, new RegExp(`^model2vec/sha256:[0-9a-f]{16}/16t/4d/${dtype}$`));
    assert.equal(reason, `static:${folder} (${encoder.version})`);
    const got = await encode(encoder, CASES.map(([text]) => text));
    CASES.forEach(([text, ids], r) => assert.deepEqual(got[r], mean(ids), `${dtype} ${JSON.stringify(text.slice(0, 30))}`));
  }
});

test('static: float16 bit patterns decode to the IEEE values (normal, subnormal, infinite)', () => {
  const table = float16Values();
  assert.equal(table[0x3c00], 1);
  assert.equal(table[0xc000], -2);
  assert.equal(table[0x3555], 0.333251953125);
  assert.equal(table[0x7bff], 65504);
  assert.equal(table[0x0001], 2 ** -24);
  assert.equal(table[0x03ff], 1023 * 2 ** -24);
  assert.equal(table[0x7c00], Infinity);
  assert.ok(Number.isNaN(table[0x7e00]));
  assert.ok(Object.is(table[0x8000], -0));
});

test('static: config.json normalize: true gives unit vectors; weights and a token mapping (newer model2vec) apply per token', async () => {
  const folder = writeModel2Vec(path.join(root, 'normalized'), { vocab: VOCAB, vectors: VECTORS, dims: DIMS, config: { normalize: true } });
  const encoder = (await resolveEncoder(`static:${folder}`)).encoder!;
  assert.match(encoder.version, /\/normalize$/);
  const [cafe, none] = await encode(encoder, ['The Café!', 'xyz']);
  const raw = [5, 6, 10].map((i) => row(i)).reduce((a, b) => a.map((x, d) => x + b[d])).map((x) => x / 3);
  const norm = Math.hypot(...raw);
  cafe.forEach((x, d) => assert.ok(Math.abs(x - raw[d] / norm) < 1e-6, `${cafe} vs ${raw.map((y) => y / norm)}`));
  assert.deepEqual(none, [0, 0, 0, 0]);

  // Vocabulary quantization: 3 rows shared through `mapping`, each token scaled by its weight.
  const clusters = [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 4, 8]];
  const mapping = VOCAB.map((_, i) => i % 3);
  const weights = VOCAB.map((_, i) => i / 8);
  const quantized = writeModel2Vec(path.join(root, 'quantized'), {
    vocab: VOCAB,
    vectors: clusters.flat(),
    dims: DIMS,
    extra: { weights: { dtype: 'F32', shape: [VOCAB.length], data: tensorBytes(weights, 'F32') }, mapping: { dtype: 'I64', shape: [VOCAB.length], data: tensorBytes(mapping, 'I64') } },
  });
  const [theCafe] = await encode((await resolveEncoder(`static:${quantized}`)).encoder!, ['the cafe']);
  assert.deepEqual(theCafe, mean([5, 6], (i) => clusters[mapping[i]].map((x) => x * weights[i])));
});

test('static: the version follows the files contents (tokenizer, vectors, config), not the folder', async () => {
  const a = writeModel2Vec(path.join(root, 'version-a'), { vocab: VOCAB, vectors: VECTORS, dims: DIMS });
  const b = writeModel2Vec(path.join(root, 'version-b'), { vocab: VOCAB, vectors: VECTORS, dims: DIMS });
  const version = async (folder: string) => (await resolveEncoder(`static:${folder}`)).encoder!.version;
  const original = await version(a);
  assert.equal(await version(b), original);
  writeModel2Vec(b, { vocab: VOCAB, vectors: VECTORS.map((x, i) => (i === 7 ? x + 1 : x)), dims: DIMS });
  assert.notEqual(await version(b), original, 'one changed value');
  const tokenizer = wordPieceTokenizerJson(VOCAB);
  (tokenizer.model as { max_input_chars_per_word: number }).max_input_chars_per_word = 50;
  writeModel2Vec(b, { vocab: VOCAB, vectors: VECTORS, dims: DIMS, tokenizer });
  assert.notEqual(await version(b), original, 'another tokenizer.json');
  writeModel2Vec(b, { vocab: VOCAB, vectors: VECTORS, dims: DIMS, config: { normalize: false } });
  assert.notEqual(await version(b), original, 'a config.json');
});

test('static: relative folders resolve against the base folder (the dataset folder in the worker), ~/ against home', async () => {
  writeModel2Vec(path.join(root, 'relative', 'models', 'tiny'), { vocab: VOCAB, vectors: VECTORS, dims: DIMS });
  const { encoder } = await resolveEncoder('static:models/tiny', { baseDir: path.join(root, 'relative') });
  assert.equal(encoder?.name, `static:${path.join(root, 'relative', 'models', 'tiny')}`);
  assert.equal(resolveEncoderFolder('~/models/potion', '/elsewhere'), path.join(homedir(), 'models', 'potion'));
  assert.equal(resolveEncoderFolder('/abs/potion', '/elsewhere'), path.resolve('/abs/potion'));
  assert.equal(resolveEncoderFolder('potion'), path.resolve(process.cwd(), 'potion'));
});

/** A copy of the tiny F32 model in `name`, then `change` applied to it. */
function brokenModel(name: string, change: (folder: string) => void): string {
  const folder = writeModel2Vec(path.join(root, 'broken', name), { vocab: VOCAB, vectors: VECTORS, dims: DIMS });
  change(folder);
  return folder;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('static: every bad folder fails naming the file and what is wrong', async () => {
  const fails = async (folder: string, message: RegExp) => assert.rejects(resolveEncoder(`static:${folder}`), (error: Error) => {
    assert.match(error.message, message);
    return true;
  });
  const tokenizerFile = (folder: string) => path.join(folder, 'tokenizer.json');
  const modelFile = (folder: string) => path.join(folder, 'model.safetensors');
  const writeTokenizer = (folder: string, edit: (json: Record<string, unknown> & { model: Record<string, unknown> }) => void) => {
    const json = wordPieceTokenizerJson(VOCAB) as Record<string, unknown> & { model: Record<string, unknown> };
    edit(json);
    writeFileSync(tokenizerFile(folder), JSON.stringify(json));
  };
  const embeddings = { dtype: 'F32', shape: [VOCAB.length, DIMS], data: tensorBytes(VECTORS, 'F32') };

  const missing = path.join(root, 'broken', 'not-there');
  await fails(missing, new RegExp(`^encoder static: folder ${escape(missing)} not found \\(download a Model2Vec model, e\\.g\\. tokenizer\\.json and model\\.safetensors of https://huggingface\\.co/minishlab/potion-base-8M\\)$`));
  const file = brokenModel('a-file', () => undefined);
  await fails(modelFile(file), /model\.safetensors is not a folder \(give the folder that holds tokenizer\.json and model\.safetensors\)/);

  let folder = brokenModel('no-tokenizer', (f) => rmSync(tokenizerFile(f)));
  await fails(folder, new RegExp(`^encoder static: ${escape(tokenizerFile(folder))} not found: the folder .* is not a Model2Vec model \\(download`));
  folder = brokenModel('no-model', (f) => rmSync(modelFile(f)));
  await fails(folder, new RegExp(`^encoder static: ${escape(modelFile(folder))} not found`));

  folder = brokenModel('tokenizer-a-folder', (f) => {
    rmSync(tokenizerFile(f));
    mkdirSync(tokenizerFile(f));
  });
  await fails(folder, new RegExp(`^encoder static: ${escape(tokenizerFile(folder))}: cannot be read \\(EISDIR\\)$`));
  folder = brokenModel('model-a-folder', (f) => {
    rmSync(modelFile(f));
    mkdirSync(modelFile(f));
  });
  await fails(folder, new RegExp(`^encoder static: ${escape(modelFile(folder))}: is not a file$`));
  folder = brokenModel('tokenizer-not-json', (f) => writeFileSync(tokenizerFile(f), '{"model": '));
  await fails(folder, new RegExp(`${escape(tokenizerFile(folder))}: not valid JSON`));
  folder = brokenModel('unigram', (f) => writeTokenizer(f, (json) => (json.model = { type: 'Unigram', unk_id: 0, vocab: [['[UNK]', 0]] })));
  await fails(folder, new RegExp(`${escape(tokenizerFile(folder))}: model type "Unigram" is not supported: PeerKD's static encoder reads WordPiece tokenizers`));
  folder = brokenModel('metaspace', (f) => writeTokenizer(f, (json) => (json.pre_tokenizer = { type: 'Metaspace', replacement: '▁' })));
  await fails(folder, new RegExp(`${escape(tokenizerFile(folder))}: pre_tokenizer type "Metaspace" is not supported \\(PeerKD reads BertPreTokenizer`));
  folder = brokenModel('precompiled', (f) => writeTokenizer(f, (json) => (json.normalizer = { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: 'AAAA' }] })));
  await fails(folder, new RegExp(`${escape(tokenizerFile(folder))}: normalizer\\.normalizers\\[0\\] type "Precompiled" is not supported`));
  folder = brokenModel('no-unk', (f) => writeTokenizer(f, (json) => (json.model.unk_token = '<unk>')));
  await fails(folder, new RegExp(`${escape(tokenizerFile(folder))}: model\\.unk_token "<unk>" is not in model\\.vocab`));
  folder = brokenModel('padding', (f) => writeTokenizer(f, (json) => (json.padding = { strategy: 'BatchLongest', pad_id: 0 })));
  await fails(folder, new RegExp(`${escape(tokenizerFile(folder))}: padding is set`));

  folder = brokenModel('short', (f) => writeFileSync(modelFile(f), Buffer.from([1, 2, 3])));
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: not a safetensors file \\(3 bytes, shorter than the 8-byte header length\\)`));
  folder = brokenModel('header-too-long', (f) => {
    const bytes = safetensorsBytes({ embeddings });
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
    writeFileSync(modelFile(f), bytes);
  });
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: not a safetensors file \\(its first 8 bytes give a header of \\d+ bytes, the file has \\d+\\)`));
  folder = brokenModel('header-not-json', (f) => {
    const bytes = safetensorsBytes({ embeddings });
    bytes.write('!', 8);
    writeFileSync(modelFile(f), bytes);
  });
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: not a safetensors file \\(its header is not valid JSON\\)`));
  folder = brokenModel('truncated', (f) => {
    const bytes = safetensorsBytes({ embeddings });
    writeFileSync(modelFile(f), bytes.subarray(0, bytes.length - 4));
  });
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: tensor "embeddings" ends at byte 256 of the data, but the file has 252 bytes of data \\(truncated\\?\\)`));
  folder = brokenModel('no-embeddings', (f) => writeFileSync(modelFile(f), safetensorsBytes({ 'embedding.weight': embeddings })));
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: no tensor named "embeddings" \\(it has "embedding\\.weight"\\); a Model2Vec model stores its vectors as "embeddings"`));
  folder = brokenModel('int32', (f) => writeFileSync(modelFile(f), safetensorsBytes({ embeddings: { ...embeddings, dtype: 'I32' } })));
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: tensor "embeddings" has dtype I32; PeerKD reads embeddings of dtype F32, F16, BF16, F64, I8`));
  folder = brokenModel('wrong-size', (f) => writeFileSync(modelFile(f), safetensorsBytes({ embeddings: { ...embeddings, shape: [VOCAB.length, DIMS + 1] } })));
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: tensor "embeddings" has 256 bytes, but F32 of shape \\[16, 5\\] needs 320`));
  folder = brokenModel('one-dimensional', (f) => writeFileSync(modelFile(f), safetensorsBytes({ embeddings: { ...embeddings, shape: [VOCAB.length * DIMS] } })));
  await fails(folder, /tensor "embeddings" must be 2-dimensional \(tokens × dims\), its shape is \[64\]/);
  folder = brokenModel('vocab-mismatch', (f) =>
    writeFileSync(modelFile(f), safetensorsBytes({ embeddings: { dtype: 'F32', shape: [VOCAB.length - 1, DIMS], data: tensorBytes(VECTORS.slice(DIMS), 'F32') } })),
  );
  await fails(folder, new RegExp(`${escape(modelFile(folder))}: tensor "embeddings" has 15 rows but the tokenizer has 16 tokens in ${escape(tokenizerFile(folder))}: the two files are not from the same model`));
  folder = brokenModel('not-finite', (f) => writeFileSync(modelFile(f), safetensorsBytes({ embeddings: { ...embeddings, data: tensorBytes(VECTORS.map((x, i) => (i === 9 ? NaN : x)), 'F32') } })));
  await fails(folder, /tensor "embeddings" has a value that is not a finite number \(row 2, column 1\)/);
  folder = brokenModel('bad-mapping', (f) =>
    writeFileSync(modelFile(f), safetensorsBytes({ embeddings, mapping: { dtype: 'I32', shape: [VOCAB.length], data: tensorBytes(VOCAB.map((_, i) => i * 2), 'I32') } })),
  );
  await fails(folder, /tensor "mapping" sends token 8 to row 16, outside the 16 rows of "embeddings"/);
  folder = brokenModel('bad-config', (f) => writeFileSync(path.join(f, 'config.json'), '{"normalize": "yes"}'));
  await fails(folder, new RegExp(`${escape(path.join(folder, 'config.json'))}: "normalize" must be true or false, got "yes"`));

  await assert.rejects(resolveEncoder('static' as never), /^Error: encoder static needs an argument: static:<folder>$/);
  await assert.rejects(resolveEncoder('static:' as never), /^Error: encoder static needs an argument after the colon: static:<folder>$/);
});

test('static: the tokenizer gives the ids of HuggingFace tokenizers itself (golden ids of the Rust crate, test/fixtures/static)', () => {
  const fixtures = path.join(repoRoot, 'test/fixtures/static');
  const tokenizer = parseTokenizer('tokenizer.json', readFileSync(path.join(fixtures, 'tokenizer.json'), 'utf8'));
  const golden = JSON.parse(readFileSync(path.join(fixtures, 'golden-ids.json'), 'utf8')) as { tricky: number[][]; agnews200: number[][] };
  const tricky = JSON.parse(readFileSync(path.join(fixtures, 'tricky-texts.json'), 'utf8')) as string[];
  const rows = readFileSync(path.join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
  assert.equal(golden.tricky.length, tricky.length);
  assert.equal(golden.agnews200.length, rows.length);
  tricky.forEach((text, i) => assert.deepEqual(tokenizer.encode(text), golden.tricky[i], JSON.stringify(text)));
  rows.forEach((text, i) => assert.deepEqual(tokenizer.encode(text), golden.agnews200[i], `agnews-200 row ${i + 1}`));
});

test('static: the tokenizer reads added tokens with their options, WordLevel models and Sequence normalizers', () => {
  const tokenizer = parseTokenizer('t.json', JSON.stringify({
    added_tokens: [
      { id: 3, content: 'New York', single_word: true, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: 4, content: '<x>', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'WhitespaceSplit' },
    model: { type: 'WordLevel', unk_token: '[UNK]', vocab: { '[UNK]': 0, in: 1, york: 2 } },
  }));
  assert.equal(tokenizer.vocabSize, 5);
  assert.equal(tokenizer.unkId, 0);
  assert.deepEqual(tokenizer.encode('In NEW YORK'), [1, 3]); // matched after normalization, as one word
  assert.deepEqual(tokenizer.encode('newyork New Yorker'), [0, 0, 0]); // not inside words (single_word)
  assert.deepEqual(tokenizer.encode('in<x>York <X>'), [1, 4, 2, 0]); // a non-normalized token splits words, as written only
  assert.deepEqual(tokenizer.encode('Ínñ'), [0]);
  assert.deepEqual(tokenizer.encode('ÍN'), [1]);
  assert.match(tokenizer.describe, /^WordLevel\/NFD\/StripAccents\/Lowercase\/WhitespaceSplit$/);
});

test('static: a model of AG News words encodes a few thousand real rows, each the mean of its known tokens\' vectors', async () => {
  // Speed is a benchmark's business (test/bench/staticEncoder.ts prints texts per CPU-second), not a timed assertion.
  const texts = (await readFile(path.join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { text: string }).text);
  const vocab = vocabularyFrom(texts, 3000);
  const random = seededValues(1);
  const dims = 64;
  const folder = writeModel2Vec(path.join(root, 'bench'), { vocab, vectors: Array.from({ length: vocab.length * dims }, random), dims });
  const model = await readStaticModel(folder);
  assert.equal(model.rows, vocab.length);
  const encoder = staticEncoder(model);
  const many = Array.from({ length: 10 }, () => texts).flat();
  const values = await encoder.encode(many);
  assert.equal(values.length, many.length * dims);
  assert.ok(values.every(Number.isFinite));
  // The same text gives the same vector wherever it sits in the batch.
  assert.deepEqual(values.subarray(0, dims), values.subarray(texts.length * dims, (texts.length + 1) * dims));
});

// ---------------------------------------------------------------------------------------------------------------
// Through the CLI and the worker: the choice reaches the encoder, the model names the folder, predict reopens it.

let dataset: string;
let agnews: string;

function agnewsModel(folder: string): string {
  const texts = readFileSync(agnews, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
  const vocab = vocabularyFrom(texts, 1500);
  const random = seededValues(7);
  return writeModel2Vec(folder, { vocab, vectors: Array.from({ length: vocab.length * 16 }, random), dims: 16 });
}

test('peerkd distill --encoder static:<relative folder> resolves it against the current folder and records it', async () => {
  agnews = path.join(repoRoot, 'test/fixtures/training/agnews-200.jsonl');
  const cli = path.join(root, 'cli');
  mkdirSync(cli);
  dataset = path.join(cli, 'agnews-200.jsonl');
  copyFileSync(agnews, dataset);
  agnewsModel(path.join(cli, 'potion'));
  const { code, stderr } = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--encoder', 'static:potion', '--stages', '1'], cli);
  assert.equal(code, 0, stderr);
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  assert.equal(latest.settings.options.encoder, `static:${path.join(cli, 'potion')}`);
  const metrics = latest.metrics as { encoder: { requested: string; candidate: { name: string; version: string } } };
  assert.equal(metrics.encoder.candidate.name, `static:${path.join(cli, 'potion')}`);
  assert.match(metrics.encoder.candidate.version, /^model2vec\/sha256:[0-9a-f]{16}\/\d+t\/16d\/F32$/);

  // A folder without its model is a usage error naming the folder and what is missing, before any run starts (the
  // worker said it once the run had started: "Distillation failed: encoder static: …", exit 1).
  const hint = '(download a Model2Vec model, e.g. tokenizer.json and model.safetensors of https://huggingface.co/minishlab/potion-base-8M)';
  mkdirSync(path.join(cli, 'no-tokenizer'));
  writeFileSync(path.join(cli, 'no-tokenizer', 'model.safetensors'), '');
  const cases: [string, string][] = [
    ['nowhere', `folder ${path.join(cli, 'nowhere')} not found ${hint}`],
    ['agnews-200.jsonl', `${dataset} is not a folder (give the folder that holds tokenizer.json and model.safetensors)`],
    ['no-tokenizer', `${path.join(cli, 'no-tokenizer', 'tokenizer.json')} not found: the folder ${path.join(cli, 'no-tokenizer')} is not a Model2Vec model ${hint}`],
  ];
  for (const [folder, says] of cases) {
    const refused = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--encoder', `static:${folder}`], cli);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.split('\n')[0], `peerkd distill: --encoder static:${path.join(cli, folder)}: ${says}`);
    assert.doesNotMatch(refused.stderr, /^Run /m, 'no run started');
  }
  assert.equal((await readLatestRun(dataset))?.runId, latest.runId, 'no run was made');
});

test('the worker resolves a relative static folder (as the setting gives it) against the dataset folder', async () => {
  const data = path.join(root, 'worker', 'data');
  mkdirSync(data, { recursive: true });
  const file = path.join(data, 'agnews.jsonl');
  copyFileSync(agnews, file);
  agnewsModel(path.join(data, 'models', 'potion'));
  const workerPath = await bundleWorker('src/training/worker.ts', path.join(root, 'worker'), 'worker');
  const result = await startDistillation(
    { datasetPath: file, fields: DEFAULT_FIELDS, labels: [], options: { ...DEFAULT_DISTILL_OPTIONS, backend: 'cpu', stages: 1, encoder: 'static:models/potion' } },
    {},
    { workerPath },
  ).done;
  const metrics = JSON.parse(await readFile(path.join(result.runDir, 'metrics.json'), 'utf8')) as { encoder: { candidate: { name: string } } };
  assert.equal(metrics.encoder.candidate.name, `static:${path.join(data, 'models', 'potion')}`);
});

test('peerkd predict reopens the static folder a model names, and fails naming model.json when it changed or is gone', async () => {
  const folder = agnewsModel(path.join(root, 'predict', 'potion'));
  const parsed = await readDatasetFile(dataset, DEFAULT_FIELDS);
  const rows: TrainingRow[] = parsed.rows.map((r) => ({ id: r.id, line: r.line, text: r.text!, teacher: r.teacher, human: r.human, teacherConfidence: null }));
  const labels = [...new Set(rows.map((r) => r.teacher!))].sort();
  const out = await runDistillation({ rows, labels }, { folds: 2, stages: 1, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: `static:${folder}` }, {}, { keepEncoder: 'always' });
  assert.equal(out.model.weights.denseDim, 16);
  const modelDir = path.join(root, 'predict', 'model');
  await saveModel(out.model, modelDir, 'cpu');
  const input = path.join(root, 'predict', 'new.jsonl');
  const texts = ['Stocks fall as oil prices rise', 'Team wins the cup final after extra time', 'New chip doubles battery life of phones'];
  await writeFile(input, texts.map((text, i) => JSON.stringify({ id: `n${i}`, text })).join('\n') + '\n');
  const predicted = await runCli(['predict', modelDir, input, '--backend', 'cpu'], root);
  assert.equal(predicted.code, 0, predicted.stderr);
  const lines = predicted.stdout.trim().split('\n').map((line) => JSON.parse(line) as { probs: Record<string, number> });
  const expected = await predictModel(out.model, texts);
  lines.forEach((line, i) => labels.forEach((label, c) => assert.ok(Math.abs(line.probs[label] - expected[i * labels.length + c]) < 1e-5, `${i} ${label}`)));

  const modelJson = path.join(modelDir, 'model.json');
  const version = out.model.dense!.encoder.version;
  // Another model in the same folder: the version (the files' hash) no longer matches.
  agnewsModel(folder);
  const vectors = path.join(folder, 'model.safetensors');
  const bytes = readFileSync(vectors);
  bytes[bytes.length - 1] ^= 0x01;
  writeFileSync(vectors, bytes);
  const changed = await runCli(['predict', modelDir, input, '--backend', 'cpu'], root);
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, new RegExp(`^peerkd predict: ${escape(modelJson)}: the model was trained with encoder static:${escape(folder)} ${escape(version)} \\(16 dims\\), but this installation has model2vec/sha256:`));

  rmSync(folder, { recursive: true });
  const gone = await runCli(['predict', modelDir, input, '--backend', 'cpu'], root);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`^peerkd predict: ${escape(modelJson)}: the model was trained with encoder static:${escape(folder)} \\(${escape(version)}\\), which is not available here: encoder static: folder ${escape(folder)} not found`));
});
