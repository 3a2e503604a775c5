/**
 * Issue 13, the glove encoder's speed: the encoder finds ASCII words without making strings (visitAsciiWords, a
 * hash index of the table's ASCII words) and sums into a scratch row four dims a step. Its vectors must stay the
 * plain loop's bit for bit (a model's numbers, and the run's, depend on them): property tests on hostile tables and
 * texts against that loop, kept to a few seconds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GloveWords, gloveEncoder, type GloveTable } from '../../src/training/encoders/glove';
import { fnv1a, tokenize, visitAsciiWords } from '../../src/training/featurize';

const RUNS = { numRuns: 300, seed: 13 };

/** The table's words as readGloveTable read them first: the list, one word a line, in a Map (a repeat keeps its first line). */
function plainWords(list: Uint8Array): Map<string, number> {
  const words = new Map<string, number>();
  Buffer.from(list)
    .toString('utf8')
    .split('\n')
    .forEach((word, index) => {
      if (!words.has(word)) words.set(word, index);
    });
  return words;
}

/** The encoder as it was written first: tokenize, that Map, and out[base + d] += scale × value into the Float32Array. */
function plainGlove(list: readonly string[], table: GloveTable, texts: readonly string[]): Float32Array {
  const { dims, scales, vectors } = table;
  const words = plainWords(Buffer.from(list.join('\n')));
  const out = new Float32Array(texts.length * dims);
  for (let r = 0; r < texts.length; r++) {
    let found = 0;
    const base = r * dims;
    for (const word of tokenize(texts[r])) {
      const w = words.get(word);
      if (w === undefined) continue;
      found++;
      const scale = scales[w];
      const at = w * dims;
      for (let d = 0; d < dims; d++) out[base + d] += scale * vectors[at + d];
    }
    if (found > 1) for (let d = 0; d < dims; d++) out[base + d] /= found;
  }
  return out;
}

function tableOf(list: readonly string[], dims: number, scales: Float32Array, vectors: Int8Array): GloveTable {
  return { dims, words: GloveWords.of(list), scales, vectors, source: 'property@1' };
}

const bits = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);

/** FNV-1a (32-bit) collisions among lower-case ASCII words: the index must compare the characters, not only the hash. */
const COLLISIONS = [
  ['costarring', 'liquid'],
  ['declinate', 'macallums'],
  ['altarage', 'zinke'],
];

/** Words a table may list: ASCII ones (a few colliding), ones tokenize never gives (capitals, empty, punctuation), and non-ASCII ones. */
const TABLE_WORDS = [
  ...COLLISIONS.flat(),
  'the', 'a', 'of', 'paris', 'x9', '2024', '0', 'zz', 'aa', 'ab', 'ba',
  'Paris', 'THE', '', "don't", 'e-mail', ' ', 'a b',
  'café', 'cafe\u0301', 'naïve', '東', '京', '手机', '❤', '😀', 'ß', 'ǆ', 'straße', 'ı',
];

/** Pieces of hostile texts: table words in every case, near misses, separators, and non-ASCII that sends a row to tokenize. */
const PIECE = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TABLE_WORDS) },
  { weight: 3, arbitrary: fc.constantFrom(...TABLE_WORDS).map((word) => word.toUpperCase()) },
  { weight: 2, arbitrary: fc.constantFrom(...TABLE_WORDS).map((word) => word.replace(/^./, (first) => first.toUpperCase())) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9]{1,12}$/) },
  { weight: 3, arbitrary: fc.constantFrom(' ', '  ', '\t', '\n', '.', ',', "'", '-', '_', '@', '#39;', '\\$', '\u0000', '\u007f', '[', '`', '{', '/', ':') },
  { weight: 1, arbitrary: fc.constantFrom('\u00a0', '\u0301', '\ufe0f', '\ud800', '\udc00', 'İ', 'Σ', '2024年3月', 'iPhone手机', '❤\ufe0f', '\u200b', 'ﬁ', 'Ⅻ', '½', '٣') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
);
const TEXT = fc.array(PIECE, { maxLength: 30 }).map((pieces) => pieces.join(''));

/** A float32 scale, hostile ones included: zero, subnormal, negative, huge (sums overflow to ±Infinity, then NaN). */
const SCALE = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e-45, 1 / 127, -3.4e38, 3.4e38, 1e30),
  fc.float({ min: Math.fround(1e-4), max: Math.fround(0.1), noNaN: true }),
);

const TABLE = fc
  .record({
    dims: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constant(100)),
    list: fc.array(fc.oneof(fc.constantFrom(...TABLE_WORDS), fc.stringMatching(/^[a-z0-9]{1,6}$/)), { minLength: 1, maxLength: 40 }),
  })
  .chain(({ dims, list }) =>
    fc
      .record({
        scales: fc.array(SCALE, { minLength: list.length, maxLength: list.length }),
        vectors: fc.array(fc.integer({ min: -128, max: 127 }), { minLength: list.length * dims, maxLength: list.length * dims }),
      })
      .map(({ scales, vectors }) => ({ list, table: tableOf(list, dims, Float32Array.from(scales), Int8Array.from(vectors)) })),
  );

test('glove encoder: the same Float32 bits as the plain loop, on hostile tables and texts', async () => {
  await fc.assert(
    fc.asyncProperty(TABLE, fc.array(TEXT, { maxLength: 12 }), async ({ list, table }, texts) => {
      const encoder = gloveEncoder(table);
      const expected = bits(plainGlove(list, table, texts));
      assert.deepEqual(bits(await encoder.encode(texts)), expected);
      // Again on the same encoder (its scratch row is reused), and each text alone (as the run's word explanations call it).
      assert.deepEqual(bits(await encoder.encode(texts)), expected);
      for (const text of texts) assert.deepEqual(bits(await encoder.encode([text])), bits(plainGlove(list, table, [text])));
    }),
    RUNS,
  );
});

test('glove encoder: the 100-d rows of long texts of table words, in every case, stay the plain loop bit for bit', async () => {
  const WORDS = fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 50, maxLength: 400 });
  await fc.assert(
    fc.asyncProperty(WORDS, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), async (list, seed, picks) => {
      const dims = 100;
      let state = seed;
      const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
      const scales = Float32Array.from(list, () => Math.fround(((next() % 2000) + 1) / 127000));
      const vectors = Int8Array.from({ length: list.length * dims }, () => (next() % 256) - 128);
      const table = tableOf(list, dims, scales, vectors);
      const texts = picks.map((pick) =>
        Array.from({ length: 20 + (pick % 200) }, (_, i) => {
          const word = list[(pick + i * 7919) % list.length];
          return `${i % 5 === 0 ? word.toUpperCase() : word}${i % 3 ? ' ' : ', '}`;
        }).join(''),
      );
      assert.deepEqual(bits(await gloveEncoder(table).encode(texts)), bits(plainGlove(list, table, texts)));
    }),
    { numRuns: 60, seed: 13 },
  );
});

test('glove encoder: a word whose FNV-1a collides with a table word gets no vector of it', async () => {
  const dims = 3;
  const list = COLLISIONS.map(([listed]) => listed);
  const table = tableOf(list, dims, Float32Array.from(list, () => 1), Int8Array.from({ length: list.length * dims }, (_, i) => i + 1));
  for (const [listed, other] of COLLISIONS) assert.equal(fnv1a(listed), fnv1a(other));
  const encoder = gloveEncoder(table);
  const values = await encoder.encode(['liquid', 'macallums ZINKE', 'Costarring liquid', 'DECLINATE']);
  assert.deepEqual([...values], [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
});

test('GloveWords: the index of each word and the count of distinct words, as a Map of the decoded list gives them, on hostile lists', () => {
  const LINE = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...TABLE_WORDS).map((word) => Buffer.from(word)) },
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{1,4}$/).map((word) => Buffer.from(word)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 5 }).map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 0x0a))) },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xc3]), Buffer.from([0xe6, 0x9d]), Buffer.from([0xff, 0x61]), Buffer.from([0x61, 0xc3])) },
  );
  fc.assert(
    fc.property(fc.array(LINE, { minLength: 1, maxLength: 30 }), fc.array(fc.oneof(fc.constantFrom(...TABLE_WORDS), fc.string({ maxLength: 4 })), { maxLength: 10 }), (lines, probes) => {
      const list = Buffer.concat(lines.flatMap((line, i) => (i ? [Buffer.from('\n'), line] : [line])));
      const expected = plainWords(list);
      const words = new GloveWords(list);
      assert.equal(words.lines, lines.length);
      assert.equal(words.size, expected.size);
      for (const word of [...expected.keys(), ...probes]) assert.equal(words.get(word), expected.get(word), JSON.stringify(word));
    }),
    { numRuns: 500, seed: 13 },
  );
});

test('visitAsciiWords: on ASCII text, the words tokenize gives, in order, with their fnv1a; other text is left to tokenize', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((code) => String.fromCharCode(code)) }), TEXT), (text) => {
      const visited: string[] = [];
      const ascii = visitAsciiWords(text, (start, end, hash) => {
        const word = text.slice(start, end).toLowerCase();
        assert.equal(hash, fnv1a(word));
        visited.push(word);
      });
      assert.equal(ascii, [...text].every((char) => char.charCodeAt(0) <= 0x7f));
      assert.deepEqual(visited, ascii ? tokenize(text) : []);
    }),
    { numRuns: 500, seed: 13 },
  );
});
