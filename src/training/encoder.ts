/**
 * Pretrained text representations next to the words (issue 13): one interface, texts in, Float32Array rows out
 * (rows × dims). The student's features become [bag of words ⊕ standardised embedding] (student.ts: the words part
 * sparse as before, the embedding part a dense block of the head's input). Encoders:
 *   none   the words alone (as before);
 *   glove  mean of the 100-d GloVe vectors of the row's words, from the table shipped in media/glove (no network);
 *   static:<folder>  a Model2Vec static model the user downloaded (encoders/static.ts: tokenizer.json + model.safetensors);
 *   endpoint  the `/embeddings` of an OpenAI-compatible endpoint (encoders/endpoint.ts; asked for by name only);
 *   auto   the first of encoders/index.ts AUTO_ORDER that opens, else none; the run says which.
 * Each encoder is a module in encoders/ with one factory in encoders/index.ts ENCODER_FACTORIES.
 * Whether the embedding is kept is decided per dataset by the engine (pipeline.ts chooseEncoder), never worse than the
 * words alone on the cross-fitted human rows.
 */
import type { EmbeddingCache } from './embeddingCache';
import type { BackoffOptions } from '../teacher/types';
import type { EndpointEncoderSettings } from './types';

export interface TextEncoder {
  /**
   * The choice that opens this encoder again, as in `--encoder` (`glove`, `static:/abs/folder`): it keys the cache
   * with `version`, and a saved model stores it so that `peerkd predict` reopens the same encoder.
   */
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
  /**
   * Optional, for a slow or billed encoder: a line for the log before these texts (the ones not in the cache) are
   * encoded — how long it will take on which backend (use-lite times a first sample), or what it will cost (an
   * endpoint's token estimate). encodeTexts calls it once.
   */
  estimate?(texts: readonly string[]): Promise<string>;
  /** What it did so far (requests, retries, tokens the server counted), for the log after encoding; undefined if nothing. */
  describeUsage?(): string | undefined;
  /** Texts per encode call of encodeTexts (between checkpoints, progress and cache appends) for a cacheable encoder; default 256. */
  readonly batchRows?: number;
  /**
   * A model that pads each call to its longest text (use-lite) says true: encodeTexts then hands it the texts shortest
   * first, so that a batch holds texts of similar length. Otherwise they go in their order.
   */
  readonly padsToLongest?: boolean;
  /** Ends what an encoding started beyond the encoder itself (use-lite's threads); encodeTexts calls it when done, failed or cancelled. */
  release?(): Promise<void>;
  /**
   * A text the encoder encoded while opening (the endpoint's size probe) and the vector it got. A server can replace
   * the model behind the same name (`ollama pull`), which the version cannot see: encodeTexts compares this vector
   * with the one the cache holds for the text, and refuses a cache of another model instead of mixing its vectors
   * with new ones (checkWitness).
   */
  readonly witness?: { text: string; vector: Float32Array };
  /**
   * For an encoder that opened without encoding anything (a saved model reopening its endpoint, or a size asked for:
   * the size is known, so there is no probe): encodes the witness text now. encodeTexts calls it once there are texts
   * to encode, so that a model replaced since the cache was filled is caught there too, before its vectors are mixed
   * with the cached ones; a prediction whose rows are all cached sends nothing.
   */
  probeWitness?(): Promise<{ text: string; vector: Float32Array }>;
}

import { parseEncoderChoice, type EncoderChoice } from './types';
import { AUTO_ORDER, ENCODER_FACTORIES } from './encoders';
export type { EncoderChoice } from './types';

export interface EncoderEnvironment {
  /** The GloVe table; default the shipped one (encoders/glove.ts defaultGloveTablePath). */
  gloveTable?: string;
  /** Folder of the disk cache (`.peerkd/embedding-cache` next to the dataset); none = no cache. */
  cacheDir?: string;
  /**
   * What a relative folder in an encoder's argument (`static:<folder>`) resolves against: the dataset's folder in the
   * training worker (as `peerkd.training.outputDir`); default the current folder (the CLI makes it absolute before).
   */
  baseDir?: string;
  /** The `endpoint` encoder's server (DistillOptions.encoderEndpoint, or the CLI's flags); absent = its defaults. */
  endpoint?: EndpointEncoderSettings;
  /** The `endpoint` encoder's API key: held in memory only, redacted from every message, never in a file. */
  apiKey?: string;
  /**
   * The fetch of the `endpoint` encoder's requests: the CLI's and the training worker's follow the proxy variables
   * (teacher/proxyFetch.ts); absent, Node's (in the editor VS Code's, which follows its http.proxy setting).
   */
  fetch?: typeof fetch;
  /** Aborts an encoder's requests in flight (the run's cancel). */
  signal?: AbortSignal;
  /**
   * Threads an encoder that computes on the CPU may use (use-lite on wasm): the run's EngineTuning.threads, 0 or
   * absent = one per core, 1 = none; each encoder caps it (threads.ts threadCount).
   */
  threads?: number;
  /** Retry pacing of the `endpoint` encoder (tests shorten it). */
  backoff?: BackoffOptions;
  /**
   * Set when a saved model reopens its encoder (model.ts): the version and dims it was trained with, so that an
   * encoder configured by the host (the endpoint's URL and model) reopens the same one when the host names none.
   */
  reopen?: { version: string; dims: number };
}

export interface ResolvedEncoder {
  /** null for `none` (the words alone). */
  encoder: TextEncoder | null;
  /** What was asked and what it became, for the log and metrics.json. */
  requested: EncoderChoice;
  reason: string;
}

/**
 * The encoder a choice names. A named encoder that cannot open fails clearly (`encoder <name>: <what is missing>`);
 * `auto` tries AUTO_ORDER and falls back to `none`, saying why.
 */
export async function resolveEncoder(choice: EncoderChoice, environment: EncoderEnvironment = {}): Promise<ResolvedEncoder> {
  const parsed = parseEncoderChoice(choice);
  if ('error' in parsed) throw new Error(`encoder ${parsed.error}`);
  if (parsed.name === 'none') return { encoder: null, requested: choice, reason: 'words alone (encoder none)' };
  if (parsed.name === 'auto') {
    const problems: string[] = [];
    for (const name of AUTO_ORDER) {
      try {
        const encoder = await ENCODER_FACTORIES[name].open(undefined, environment);
        return { encoder, requested: choice, reason: `auto picked ${name} (${encoder.version})` };
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    return { encoder: null, requested: choice, reason: `auto: ${problems.join('; ')}, so words alone` };
  }
  try {
    const encoder = await ENCODER_FACTORIES[parsed.name].open(parsed.argument, environment);
    return { encoder, requested: choice, reason: `${encoder.name} (${encoder.version})` };
  } catch (error) {
    throw new Error(`encoder ${parsed.name}: ${(error as Error).message}`);
  }
}

/** How a message names the text at an index of encodeTexts' texts when the caller says nothing: 1-based among them. */
const rowAmongTexts = (row: number): string => `row ${row + 1}`;

/**
 * Refuses an encoder's answer holding a value that is not a finite number (NaN or ±Infinity would make the corpus
 * standardisation, and so every row's features, NaN), naming the row as rowName does (the dataset's line in a run)
 * and the start of its text.
 */
function assertFinite(encoder: TextEncoder, values: Float32Array, texts: readonly string[], rowOf: (i: number) => number, rowName: (row: number) => string): void {
  const { dims } = encoder;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) continue;
    const row = rowOf(Math.floor(i / dims));
    const text = texts[row];
    throw new Error(
      `encoder ${encoder.name} gave a value that is not a finite number for ${rowName(row)} (value ${(i % dims) + 1} of ${dims}, ` +
        `text ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}); its batch is not cached: choose another encoder (--encoder, peerkd.training.encoder)`,
    );
  }
}

/**
 * Cosine similarity below which the witness's cached vector is another model's: a server that is not bit-for-bit
 * deterministic (batching on a GPU) stays above 0.999; another model, or another quantisation of it, falls well below.
 */
const WITNESS_MIN_COSINE = 0.99;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 && bb === 0 ? 1 : dot / Math.sqrt(aa * bb);
}

/** checkWitness's refusal: the cache holds vectors of another model than the encoder gives now (a saved model's caller rewords it). */
export class ReplacedModelError extends Error {
  constructor(
    message: string,
    /** The cache file that holds the other model's vectors. */
    readonly file: string,
  ) {
    super(message);
    this.name = 'ReplacedModelError';
  }
}

/** The encoder's witness against the cache: appended when the cache has none, refused when the cache has another vector. */
function checkWitness(encoder: TextEncoder, cache: EmbeddingCache, witness: { text: string; vector: Float32Array }): void {
  const { text, vector } = witness;
  const cached = cache.get(text);
  if (!cached) {
    cache.put(text, vector);
    return;
  }
  const similarity = cosine(cached, vector);
  if (similarity >= WITNESS_MIN_COSINE) return;
  throw new ReplacedModelError(
    `encoder ${encoder.name}: ${cache.file} holds vectors of another model than ${encoder.version} gives now ` +
      `(the text ${JSON.stringify(text)} gets a vector at cosine similarity ${Number.isFinite(similarity) ? similarity.toFixed(3) : 'undefined'} to the cached one: ` +
      'the model behind that name was replaced). Nothing was encoded and the file is left as it is: move that file away (or delete it) to embed the texts again, ' +
      'or bring back the model it was made with',
    cache.file,
  );
}

/** Rows a fast (uncached) encoder encodes at once: a million rows still report progress and can be cancelled. */
export const ENCODE_BLOCK_ROWS = 8192;

/**
 * Encodes through the cache where the encoder is worth caching: only texts not yet cached are computed (and appended).
 * A cacheable (slow) encoder runs in batches with the checkpoint and progress between them, cache or not, and says
 * first how long it will take (its `estimate`, to onLog); a fast one runs in blocks of ENCODE_BLOCK_ROWS.
 * `rowName` names texts[i] in an error as the user knows it (a run: `line 12` of the dataset); default `row i+1`.
 */
export async function encodeTexts(
  encoder: TextEncoder,
  texts: readonly string[],
  cache?: EmbeddingCache,
  checkpoint?: () => void,
  onProgress?: (encoded: number, total: number) => void,
  onLog?: (line: string) => void,
  rowName: (row: number) => string = rowAmongTexts,
): Promise<{ values: Float32Array; cached: number }> {
  const { dims } = encoder;
  if (!encoder.cacheable) {
    const out = new Float32Array(texts.length * dims);
    for (let from = 0; from < texts.length; from += ENCODE_BLOCK_ROWS) {
      checkpoint?.();
      const block = texts.slice(from, from + ENCODE_BLOCK_ROWS);
      const values = await encoder.encode(block);
      if (values.length !== block.length * dims) throw new Error(`encoder ${encoder.name} returned ${values.length} values for ${block.length} texts × ${dims} dims`);
      assertFinite(encoder, values, texts, (i) => from + i, rowName);
      out.set(values, from * dims);
      onProgress?.(from + block.length, texts.length);
    }
    return { values: out, cached: 0 };
  }
  if (cache && encoder.witness) checkWitness(encoder, cache, encoder.witness);
  const out = new Float32Array(texts.length * dims);
  // The first row of each distinct text not in the cache: a text on several rows (duplicates are common in labelled
  // data) is encoded, sent and billed once, and its other rows get a copy.
  const missing: number[] = [];
  const firstRow = new Map<string, number>();
  const copies: { row: number; from: number }[] = [];
  let cached = 0;
  texts.forEach((text, r) => {
    const hit = cache?.get(text);
    if (hit) {
      out.set(hit, r * dims);
      cached++;
      return;
    }
    const first = firstRow.get(text);
    if (first !== undefined) copies.push({ row: r, from: first });
    else {
      firstRow.set(text, r);
      missing.push(r);
    }
  });
  try {
    if (cache && missing.length && !encoder.witness && encoder.probeWitness) checkWitness(encoder, cache, await encoder.probeWitness());
    if (missing.length && encoder.estimate && onLog) onLog(await encoder.estimate(missing.map((r) => texts[r])));
    // Texts of similar length in one batch (after the estimate, which samples them in their order), so it pads less.
    if (encoder.padsToLongest) missing.sort((a, b) => texts[a].length - texts[b].length || a - b);
    const batch = encoder.batchRows ?? 256;
    for (let from = 0; from < missing.length; from += batch) {
      checkpoint?.();
      onProgress?.(from, missing.length);
      const rows = missing.slice(from, from + batch);
      const values = await encoder.encode(rows.map((r) => texts[r]));
      if (values.length !== rows.length * dims) throw new Error(`encoder ${encoder.name} returned ${values.length} values for ${rows.length} texts × ${dims} dims`);
      assertFinite(encoder, values, texts, (i) => rows[i], rowName);
      rows.forEach((r, i) => {
        const vector = values.subarray(i * dims, (i + 1) * dims);
        out.set(vector, r * dims);
        cache?.put(texts[r], vector);
      });
    }
  } finally {
    await encoder.release?.();
  }
  for (const { row, from } of copies) out.copyWithin(row * dims, from * dims, (from + 1) * dims);
  if (missing.length) onProgress?.(missing.length, missing.length);
  return { values: out, cached };
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
