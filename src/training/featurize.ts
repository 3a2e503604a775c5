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

/**
 * The version of `tokenize` (which words a text has), saved in each model (model.ts) so that `peerkd predict` refuses a
 * model whose words were read otherwise: raise it with any change to the words of any text. 1: runs of letters and
 * digits; 2 (623cdf2): CJK characters and emoji are words, words in NFC; 3 (642ec7e): a CJK run that begins with ASCII
 * is cut into characters too, a variation selector is no word. ASCII text has the same words in every version.
 */
export const TOKENIZER_VERSION = 3;

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

/**
 * A word: a run of letters, digits and combining marks (so an NFD "café" is one word), or one emoji. Chinese and
 * Japanese write no spaces: there every Han, Hiragana and Katakana character is a word of its own (CHARACTER_SCRIPT),
 * else a whole sentence was one feature that no other row shares. Each word is lower-cased and, outside ASCII, put in
 * NFC, so that the NFC and NFD spellings of one word are one feature.
 */
// A variation selector (U+FE0F after ❤) is a mark but no word: it only says how to draw the emoji before it.
const WORD = /(?!\p{Variation_Selector})[\p{L}\p{N}\p{M}]+|\p{Extended_Pictographic}/gu;
/** WORD on ASCII text (tokenize's common case), as it was before any of the above: the same words, at the same speed. */
const ASCII_WORD = /[\p{L}\p{N}]+/gu;
const ANY_WORD = new RegExp(WORD.source, 'u');
const CHARACTER_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]/u;
const CHARACTER_SPLIT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]|[^\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]+/gu;
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;

function wordOf(piece: string): string {
  const lower = piece.toLowerCase();
  return NON_ASCII.test(lower) ? lower.normalize('NFC') : lower;
}

/** `visit(offset, length)` for each word of a run WORD matched at `start` (a CJK run is cut into its characters). */
function splitRun(run: string, start: number, visit: (start: number, end: number) => void): void {
  // Not only runs that begin outside ASCII: "2024年3月" and "iPhone手机" begin with an ASCII letter or digit.
  if (!CHARACTER_SCRIPT.test(run)) {
    visit(start, start + run.length);
    return;
  }
  for (const part of run.matchAll(CHARACTER_SPLIT)) visit(start + part.index, start + part.index + part[0].length);
}

export function tokenize(text: string): string[] {
  // The common case: ASCII, so no CJK and nothing to normalise (lower-casing keeps every offset).
  if (!NON_ASCII.test(text)) return text.toLowerCase().match(ASCII_WORD) ?? [];
  const runs = text.match(WORD);
  if (runs === null) return [];
  const words: string[] = [];
  for (const run of runs) splitRun(run, 0, (start, end) => words.push(wordOf(run.slice(start, end))));
  return words;
}

/**
 * tokenize's ASCII case without making a string per word, for a caller that only looks words up (the glove encoder):
 * `visit(start, end, hash)` for each word in order, where text.slice(start, end).toLowerCase() is the word tokenize
 * gives and `hash` its fnv1a. Returns false, visiting nothing, when the text is not ASCII (call tokenize then).
 */
export function visitAsciiWords(text: string, visit: (start: number, end: number, hash: number) => void): boolean {
  if (NON_ASCII.test(text)) return false;
  let start = -1;
  let hash = 0;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 65 && code <= 90) code += 32; // A-Z, lower-cased as toLowerCase does on ASCII
    // In ASCII, \p{L} and \p{N} (ASCII_WORD) are a-z, A-Z and 0-9.
    if ((code >= 97 && code <= 122) || (code >= 48 && code <= 57)) {
      if (start < 0) {
        start = i;
        hash = 0x811c9dc5;
      }
      hash = Math.imul(hash ^ code, 0x01000193);
    } else if (start >= 0) {
      visit(start, i, hash >>> 0);
      start = -1;
    }
  }
  if (start >= 0) visit(start, text.length, hash >>> 0);
  return true;
}

/** Whether tokenize(text) has a word (cheap: stops at the first one). */
export function hasWord(text: string): boolean {
  return ANY_WORD.test(text);
}

/** The words of a text where they stand (UTF-16 offsets), each as tokenize reads it: to mark them in the text. */
export function wordSpans(text: string): { start: number; end: number; word: string }[] {
  const spans: { start: number; end: number; word: string }[] = [];
  for (const match of text.matchAll(WORD)) {
    splitRun(match[0], match.index, (start, end) => spans.push({ start, end, word: wordOf(text.slice(start, end)) }));
  }
  return spans;
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

/**
 * Hashes of every feature of one text (with repeats: the caller counts them). With `spans`, also which words each
 * feature reads: for the k-th hash, spans[2k] and spans[2k + 1] are its first and last word (indices into
 * tokenize(text)); the explanation of a prediction (explain.ts) shares a feature's weight among those words.
 */
export function featureHashes(text: string, config: FeaturizerConfig, spans?: number[]): number[] {
  const words = tokenize(text);
  const wordHashes = words.map(fnv1a);
  const hashes: number[] = [];
  for (let i = 0; i < wordHashes.length; i++) {
    hashes.push(wordHashes[i]);
    spans?.push(i, i);
    let combined = wordHashes[i];
    for (let n = 2; n <= config.wordNgrams && i + n - 1 < wordHashes.length; n++) {
      // fastText's n-gram hash: h = h * 116049371 + next, in 32-bit arithmetic.
      combined = (Math.imul(combined, 116049371) + wordHashes[i + n - 1]) >>> 0;
      hashes.push((combined ^ n) >>> 0);
      spans?.push(i, i + n - 1);
    }
  }
  if (config.charNgrams) {
    const [min, max] = config.charNgrams;
    for (let w = 0; w < words.length; w++) {
      const padded = `<${words[w]}>`;
      for (let n = min; n <= max; n++) {
        for (let start = 0; start + n <= padded.length; start++) {
          if (n === padded.length) continue; // the whole word is already a unigram feature
          hashes.push((fnv1a(padded.slice(start, start + n)) ^ 0x5bd1e995) >>> 0);
          spans?.push(w, w);
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

/**
 * A typed array that grows (by doubling, or to a reserved estimate), without a `number[]` copy. `done()` returns the
 * values in an exact-size array over a SharedArrayBuffer, so the student threads can read it where it is
 * (studentPool.ts shared: no second copy of a million rows' features).
 */
class Growing<T extends Int32Array | Float32Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (buffer: ArrayBufferLike, length: number) => T,
  ) {}
  /** Makes room for `capacity` values in all (one allocation instead of several doublings). */
  reserve(capacity: number): void {
    if (capacity <= this.data.length) return;
    const bigger = this.make(new ArrayBuffer(capacity * 4), capacity);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
  push(value: number): void {
    if (this.length === this.data.length) this.reserve(this.data.length * 2);
    this.data[this.length++] = value;
  }
  done(): T {
    const out = this.make(new SharedArrayBuffer(this.length * 4), this.length);
    out.set(this.data.subarray(0, this.length));
    return out;
  }
}

const int32s = (buffer: ArrayBufferLike, length: number) => new Int32Array(buffer, 0, length);
const float32s = (buffer: ArrayBufferLike, length: number) => new Float32Array(buffer, 0, length);

/** Rows read before the features of all rows are estimated from theirs (the arrays are then sized once). */
const ESTIMATE_AFTER_ROWS = 2000;

/** Distinct buckets and raw counts of every text (CSR, first-seen order per text): the one tokenising pass. */
interface BucketCounts {
  offsets: Int32Array;
  buckets: Int32Array;
  /** Raw counts, as floats: weigh() turns them into the feature values in place. */
  counts: Float32Array;
}

/** Rows between two calls of a featurizing progress callback. */
const PROGRESS_ROWS = 4096;

function countAll(texts: readonly string[], config: FeaturizerConfig, onRows?: (rows: number) => void): BucketCounts {
  const offsets = new Int32Array(texts.length + 1);
  const buckets = new Growing(new Int32Array(1024), int32s);
  const counts = new Growing(new Float32Array(1024), float32s);
  for (let r = 0; r < texts.length; r++) {
    if (r === ESTIMATE_AFTER_ROWS) {
      // Doubling would hold up to 3 × the final size at once; an estimate from the first rows (+5 %) rarely grows.
      const estimate = Math.ceil((buckets.length / r) * texts.length * 1.05);
      buckets.reserve(estimate);
      counts.reserve(estimate);
    }
    for (const [bucket, count] of countBuckets(texts[r], config)) {
      buckets.push(bucket);
      counts.push(count);
    }
    offsets[r + 1] = buckets.length;
    if (onRows && (r + 1) % PROGRESS_ROWS === 0) onRows(r + 1);
  }
  return { offsets, buckets: buckets.done(), counts: counts.done() };
}

function idfOf(counted: BucketCounts, rows: number, config: FeaturizerConfig): Float32Array {
  const documentFrequency = new Uint32Array(config.buckets);
  for (let k = 0; k < counted.buckets.length; k++) documentFrequency[counted.buckets[k]]++;
  const idf = new Float32Array(config.buckets);
  for (let b = 0; b < config.buckets; b++) idf[b] = Math.log((1 + rows) / (1 + documentFrequency[b])) + 1;
  return idf;
}

/** Sublinear TF × IDF, L2-normalised per row (computed in doubles, stored as float32), in place of the counts. */
function weigh(counted: BucketCounts, idf: Float32Array): SparseRows {
  const rows = counted.offsets.length - 1;
  const values = counted.counts;
  let scratch = new Float64Array(64);
  for (let r = 0; r < rows; r++) {
    const start = counted.offsets[r];
    const end = counted.offsets[r + 1];
    if (end - start > scratch.length) scratch = new Float64Array(end - start);
    let norm = 0;
    for (let k = start; k < end; k++) {
      const value = (1 + Math.log(values[k])) * idf[counted.buckets[k]];
      scratch[k - start] = value;
      norm += value * value;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = start; k < end; k++) values[k] = scratch[k - start] * scale;
  }
  return { rows, offsets: counted.offsets, indices: counted.buckets, values };
}

/** Fits IDF on a corpus (unsupervised: labels are not used, so every row may take part). */
export function fitFeaturizer(texts: readonly string[], config: FeaturizerConfig = DEFAULT_FEATURIZER): FittedFeaturizer {
  validateConfig(config);
  return { config: { ...config }, idf: idfOf(countAll(texts, config), texts.length, config) };
}

export function transform(featurizer: FittedFeaturizer, texts: readonly string[]): SparseRows {
  return weigh(countAll(texts, featurizer.config), featurizer.idf);
}

/** fitFeaturizer then transform on the same texts, tokenising each text once. */
export function fitTransform(
  texts: readonly string[],
  config: FeaturizerConfig = DEFAULT_FEATURIZER,
  /** Called every few thousand rows with the rows tokenised so far. */
  onRows?: (rows: number) => void,
): { featurizer: FittedFeaturizer; features: SparseRows } {
  validateConfig(config);
  const counted = countAll(texts, config, onRows);
  const featurizer = { config: { ...config }, idf: idfOf(counted, texts.length, config) };
  return { featurizer, features: weigh(counted, featurizer.idf) };
}

/**
 * The buckets the rows use, numbered densely in increasing bucket order: features whose indices are rows of a
 * (used buckets × dim) embedding table instead of (buckets × dim), and `rowBuckets`, the bucket of each row. A
 * student trained on the compact features computes exactly what it would on the full table (unused rows stay zero).
 * `inPlace`: renumber `features.indices` itself instead of a copy.
 */
export function compactBuckets(features: SparseRows, buckets: number, inPlace = false): { features: SparseRows; rowBuckets: Int32Array } {
  const rowOf = new Int32Array(buckets);
  for (let k = 0; k < features.indices.length; k++) rowOf[features.indices[k]] = 1;
  let used = 0;
  for (let b = 0; b < buckets; b++) if (rowOf[b]) used++;
  const rowBuckets = new Int32Array(used);
  used = 0;
  for (let b = 0; b < buckets; b++) {
    if (rowOf[b]) {
      rowBuckets[used] = b;
      rowOf[b] = used++;
    }
  }
  // In place where the caller keeps no bucket-numbered copy (a million rows' indices are 300 MB).
  const indices = inPlace ? features.indices : new Int32Array(features.indices.length);
  for (let k = 0; k < indices.length; k++) indices[k] = rowOf[features.indices[k]];
  return { features: { ...features, indices }, rowBuckets };
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
