/**
 * Text → sparse hashed n-gram features (the input of the student's embedding bag).
 *
 * Words are lower-cased runs of letters/digits; features are word unigrams and word n-grams up to `wordNgrams`, plus
 * optional character n-grams of each word (fastText's subword trick, useful for rare words and typos). Each feature is
 * hashed (FNV-1a) into one of `buckets` rows of the embedding table; n-gram hashes combine word hashes as fastText
 * does. Values are sublinear TF × IDF, L2-normalised per row, so long texts do not dominate.
 */

export interface FeaturizerConfig {
  /** Embedding-table rows that features hash into. */
  buckets: number;
  /** Longest word n-gram (1 = unigrams only, 2 = uni+bigrams). */
  wordNgrams: number;
  /** Character n-gram lengths of each word (inclusive), or null for none. */
  charNgrams: [number, number] | null;
}

export const DEFAULT_FEATURIZER: FeaturizerConfig = { buckets: 1 << 19, wordNgrams: 2, charNgrams: null };

/** Compressed sparse rows: the features of row r are indices/values[offsets[r] .. offsets[r+1]). */
export interface SparseRows {
  rows: number;
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** A featurizer fitted on a corpus: its config plus the inverse document frequency of every bucket. */
export interface FittedFeaturizer {
  config: FeaturizerConfig;
  /** IDF per bucket; buckets never seen in the fitting corpus get the largest IDF. */
  idf: Float32Array;
}

const WORD = /[\p{L}\p{N}]+/gu;

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** FNV-1a over the UTF-16 code units of a string. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Hashes of every feature of one text (with repeats: the caller counts them). */
export function featureHashes(text: string, config: FeaturizerConfig): number[] {
  const words = tokenize(text);
  const wordHashes = words.map(fnv1a);
  const hashes: number[] = [];
  for (let i = 0; i < wordHashes.length; i++) {
    hashes.push(wordHashes[i]);
    let combined = wordHashes[i];
    for (let n = 2; n <= config.wordNgrams && i + n - 1 < wordHashes.length; n++) {
      // fastText's n-gram hash: h = h * 116049371 + next, in 32-bit arithmetic.
      combined = (Math.imul(combined, 116049371) + wordHashes[i + n - 1]) >>> 0;
      hashes.push((combined ^ n) >>> 0);
    }
  }
  if (config.charNgrams) {
    const [min, max] = config.charNgrams;
    for (const word of words) {
      const padded = `<${word}>`;
      for (let n = min; n <= max; n++) {
        for (let start = 0; start + n <= padded.length; start++) {
          if (n === padded.length) continue; // the whole word is already a unigram feature
          hashes.push((fnv1a(padded.slice(start, start + n)) ^ 0x5bd1e995) >>> 0);
        }
      }
    }
  }
  return hashes;
}

/** Bucket → raw count for one text, in first-seen order. */
function countBuckets(text: string, config: FeaturizerConfig): Map<number, number> {
  const counts = new Map<number, number>();
  for (const hash of featureHashes(text, config)) {
    const bucket = hash % config.buckets;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  return counts;
}

/** Fits IDF on a corpus (unsupervised: labels are not used, so every row may take part). */
export function fitFeaturizer(texts: readonly string[], config: FeaturizerConfig = DEFAULT_FEATURIZER): FittedFeaturizer {
  validateConfig(config);
  const documentFrequency = new Uint32Array(config.buckets);
  for (const text of texts) {
    for (const bucket of countBuckets(text, config).keys()) documentFrequency[bucket]++;
  }
  const idf = new Float32Array(config.buckets);
  const n = texts.length;
  for (let b = 0; b < config.buckets; b++) idf[b] = Math.log((1 + n) / (1 + documentFrequency[b])) + 1;
  return { config: { ...config }, idf };
}

export function transform(featurizer: FittedFeaturizer, texts: readonly string[]): SparseRows {
  const offsets = new Int32Array(texts.length + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < texts.length; r++) {
    const counts = countBuckets(texts[r], featurizer.config);
    const start = indices.length;
    let norm = 0;
    for (const [bucket, count] of counts) {
      const value = (1 + Math.log(count)) * featurizer.idf[bucket];
      indices.push(bucket);
      values.push(value);
      norm += value * value;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = start; i < values.length; i++) values[i] *= scale;
    offsets[r + 1] = indices.length;
  }
  return { rows: texts.length, offsets, indices: Int32Array.from(indices), values: Float32Array.from(values) };
}

/** The rows listed, as their own SparseRows (for training on a subset). */
export function selectRows(features: SparseRows, rows: readonly number[] | Int32Array): SparseRows {
  let total = 0;
  for (const r of rows) total += features.offsets[r + 1] - features.offsets[r];
  const offsets = new Int32Array(rows.length + 1);
  const indices = new Int32Array(total);
  const values = new Float32Array(total);
  let at = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const start = features.offsets[r];
    const end = features.offsets[r + 1];
    indices.set(features.indices.subarray(start, end), at);
    values.set(features.values.subarray(start, end), at);
    at += end - start;
    offsets[i + 1] = at;
  }
  return { rows: rows.length, offsets, indices, values };
}

function validateConfig(config: FeaturizerConfig): void {
  if (!Number.isInteger(config.buckets) || config.buckets < 1) throw new Error(`buckets must be a positive integer, got ${config.buckets}`);
  if (!Number.isInteger(config.wordNgrams) || config.wordNgrams < 1) {
    throw new Error(`wordNgrams must be a positive integer, got ${config.wordNgrams}`);
  }
  if (config.charNgrams && !(config.charNgrams[0] >= 1 && config.charNgrams[1] >= config.charNgrams[0])) {
    throw new Error(`charNgrams must be [min, max] with 1 <= min <= max, got [${config.charNgrams.join(', ')}]`);
  }
}
