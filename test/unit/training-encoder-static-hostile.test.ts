/**
 * `static:<folder>` against hostile folders: a FIFO in place of a model file must fail at once naming the file (not
 * wait forever for a writer), and a tokenizer.json whose Sequences nest thousands deep fails naming the file (not with
 * a bare stack overflow).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveEncoder } from '../../src/training/encoder';
import { readStaticModel } from '../../src/training/encoders/static';
import { parseTokenizer } from '../../src/training/encoders/hfTokenizer';
import { writeModel2Vec } from '../support/model2vec';

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
