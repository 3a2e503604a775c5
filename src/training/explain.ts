/**
 * "Why is this row flagged?" (issue 10 §2), computed from the student itself. Plain TypeScript.
 *
 * The student is linear up to its softmax: logit_c = bias_c + Σ_d hidden_d · kernel[d][c], with hidden the
 * TF-IDF-weighted sum of the embedding rows of the row's hashed features (the bag, dim values) followed by the row's
 * dense features (a pretrained embedding, denseDim values). So the difference of two logits splits exactly into
 *   bias_s − bias_t  +  Σ_buckets value_b · (embedding_b · w)  +  dense · w_dense,   w = kernel[·][s] − kernel[·][t],
 * and each bucket's share goes to the words of the features that hashed into it (an n-gram's share is divided equally
 * among its words, a bucket's among the features of the row that fell into it). The words' contributions, the bias
 * part and the dense part then add up to the logit difference, to rounding.
 *
 * Similar rows: cosine similarity of the rows' TF-IDF vectors (the same features the students read; featurize.ts
 * normalises each row to length 1, so the cosine is a dot product), through an inverted index over the candidates.
 */
import { featureHashes, tokenize, type FeaturizerConfig, type SparseRows } from './featurize';
import type { StudentWeights } from './student';

export interface WordContribution {
  /** The word as the featurizer reads it (lower-cased). */
  word: string;
  /** Its share of logit(towards) − logit(away), summed over its occurrences; positive pushes towards. */
  contribution: number;
}

export interface LogitExplanation {
  /** Every distinct word of the row, largest contribution first. */
  words: WordContribution[];
  /** bias[towards] − bias[away]. */
  bias: number;
  /**
   * The dense block's part that is not placed on words (0 for words alone): its constant offset where the block is a
   * mean of word vectors (denseWords), else all of it.
   */
  dense: number;
  /** logit(towards) − logit(away) as the student computes it. */
  logitDifference: number;
}

/** The embedding row of a bucket (−1: a zero row): the bucket itself, or its place in compact weights' rowBuckets. */
function embeddingRow(weights: StudentWeights, bucket: number): number {
  const rowBuckets = weights.rowBuckets;
  if (!rowBuckets) return bucket;
  let low = 0;
  let high = rowBuckets.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (rowBuckets[middle] === bucket) return middle;
    if (rowBuckets[middle] < bucket) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/**
 * A dense block that is the standardised mean of the vectors of the row's words (the GloVe encoder): linear in the
 * words, so its part of the logit difference splits among them too, with a constant left over.
 * dense[d] = (mean over the words with a vector of vector[d] − mean[d]) · scale[d] (encoder.ts standardise).
 */
export interface DenseWordVectors {
  /** The word's vector, or undefined for a word without one (it does not count in the mean). */
  vectorOf(word: string): ArrayLike<number> | undefined;
  mean: ArrayLike<number>;
  scale: ArrayLike<number>;
}

/**
 * Splits logit(towards) − logit(away) of one row into its words, the bias and the dense block.
 * `row`: the row's features in bucket numbers (indices: buckets, values: TF-IDF), as featurize.ts transform gives
 * them, and optionally `embeddingRows[k]`, the embedding row of `indices[k]` where the caller knows it (a run's compact
 * table: then no bucket is looked up in `rowBuckets`, a binary search whose cache misses were half of the cost of
 * explaining 99,000 flagged rows of a million); `dense`: the row's dense features when the student reads them;
 * `denseWords`: how they come from the words, when they do (then each word's contribution includes its share of the
 * dense block).
 */
export function explainLogitDifference(
  weights: StudentWeights,
  config: FeaturizerConfig,
  text: string,
  row: { indices: ArrayLike<number>; values: ArrayLike<number>; embeddingRows?: ArrayLike<number> },
  dense: ArrayLike<number> | undefined,
  towards: number,
  away: number,
  denseWords?: DenseWordVectors,
): LogitExplanation {
  const { dim, denseDim, classes, kernel, embedding } = weights;
  if ((dense?.length ?? 0) !== denseDim) throw new Error(`the student reads ${denseDim} dense feature(s), got ${dense?.length ?? 0}`);
  // One embedding row per feature, each inside the table: else a feature would read nothing (undefined) or NaN, silently.
  const tableRows = embedding.length / Math.max(1, dim);
  if (row.embeddingRows) {
    if (row.embeddingRows.length !== row.indices.length) throw new Error(`${row.indices.length} feature(s) given with ${row.embeddingRows.length} embedding row(s)`);
    for (let k = 0; k < row.embeddingRows.length; k++) {
      const e = row.embeddingRows[k];
      if (!(Number.isInteger(e) && e < tableRows)) throw new Error(`embedding row ${e} of feature ${k} is outside the student's table of ${tableRows} rows`);
    }
  }
  const w = new Float64Array(dim + denseDim);
  for (let d = 0; d < dim + denseDim; d++) w[d] = kernel[d * classes + towards] - kernel[d * classes + away];
  const bias = weights.bias[towards] - weights.bias[away];
  let densePart = 0;
  for (let d = 0; d < denseDim; d++) densePart += dense![d] * w[dim + d];

  // Each bucket's part of the bag's share.
  const bucketPart = new Map<number, number>();
  let bagPart = 0;
  for (let k = 0; k < row.indices.length; k++) {
    const bucket = row.indices[k];
    const e = row.embeddingRows ? row.embeddingRows[k] : embeddingRow(weights, bucket);
    let dot = 0;
    if (e >= 0) for (let d = 0; d < dim; d++) dot += embedding[e * dim + d] * w[d];
    const part = row.values[k] * dot;
    bucketPart.set(bucket, (bucketPart.get(bucket) ?? 0) + part);
    bagPart += part;
  }

  // The features of the text, which words each reads, and how many features share each bucket.
  const words = tokenize(text);
  const spans: number[] = [];
  const buckets = featureHashes(text, config, spans).map((hash) => hash % config.buckets);
  const featuresInBucket = new Map<number, number>();
  for (const bucket of buckets) featuresInBucket.set(bucket, (featuresInBucket.get(bucket) ?? 0) + 1);
  const perWord = new Float64Array(words.length);
  let attributed = 0;
  buckets.forEach((bucket, f) => {
    const part = bucketPart.get(bucket);
    if (part === undefined) return;
    const first = spans[2 * f];
    const last = spans[2 * f + 1];
    const share = part / featuresInBucket.get(bucket)! / (last - first + 1);
    for (let i = first; i <= last; i++) perWord[i] += share;
    attributed += part / featuresInBucket.get(bucket)!;
  });
  let denseOnWords = 0;
  if (dense && denseWords) {
    const vectors = words.map((word) => denseWords.vectorOf(word));
    const found = vectors.filter((vector) => vector !== undefined).length;
    vectors.forEach((vector, i) => {
      if (!vector) return;
      let share = 0;
      for (let d = 0; d < denseDim; d++) share += vector[d] * denseWords.scale[d] * w[dim + d];
      share /= found;
      perWord[i] += share;
      denseOnWords += share;
    });
  }
  const byWord = new Map<string, number>();
  words.forEach((word, i) => byWord.set(word, (byWord.get(word) ?? 0) + perWord[i]));
  // Features given without their text (none in a run: the same featurizer made both) cannot be placed on a word.
  if (Math.abs(bagPart - attributed) > 1e-9 * Math.max(1, Math.abs(bagPart))) byWord.set('', (byWord.get('') ?? 0) + bagPart - attributed);
  const contributions = [...byWord].map(([word, contribution]) => ({ word, contribution }));
  contributions.sort((a, b) => b.contribution - a.contribution || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0));
  // What the words do not explain of the dense block: its offset (−mean · scale · w), and float rounding.
  return { words: contributions, bias, dense: densePart - denseOnWords, logitDifference: bias + densePart + bagPart };
}

/** The logits of one row as the student computes them (bagKernel.ts jsBagForward, in float64 here, and the head): for checks and tests. */
export function studentLogits(weights: StudentWeights, row: { indices: ArrayLike<number>; values: ArrayLike<number> }, dense?: ArrayLike<number>): Float64Array {
  const { dim, denseDim, classes } = weights;
  const hidden = new Float64Array(dim + denseDim);
  for (let k = 0; k < row.indices.length; k++) {
    const e = embeddingRow(weights, row.indices[k]);
    if (e < 0) continue;
    for (let d = 0; d < dim; d++) hidden[d] += row.values[k] * weights.embedding[e * dim + d];
  }
  for (let d = 0; d < denseDim; d++) hidden[dim + d] = dense![d];
  const logits = Float64Array.from(weights.bias);
  for (let d = 0; d < dim + denseDim; d++) for (let c = 0; c < classes; c++) logits[c] += hidden[d] * weights.kernel[d * classes + c];
  return logits;
}

export interface SimilarRow {
  row: number;
  similarity: number;
}

/**
 * For each query row, the `k` candidate rows most similar to it (cosine of the TF-IDF vectors, most similar first,
 * ties by row number; the query itself and rows sharing no feature are left out).
 */
export function mostSimilarRows(features: SparseRows, queries: readonly number[], listed: readonly number[], k: number): SimilarRow[][] {
  // Whole rows only (the top-k below fills until it holds exactly `limit`); NaN or ≤ 0: none.
  const limit = Math.floor(k);
  if (!(limit > 0)) return queries.map(() => []);
  // Each candidate once: listed twice, its postings would count its dot product twice (a cosine above 1).
  const candidates = new Set(listed);
  // Inverted index over the candidates: bucket → (candidate, value) pairs.
  const postings = new Map<number, number[]>();
  for (const candidate of candidates) {
    for (let j = features.offsets[candidate]; j < features.offsets[candidate + 1]; j++) {
      let posting = postings.get(features.indices[j]);
      if (!posting) postings.set(features.indices[j], (posting = []));
      posting.push(candidate, features.values[j]);
    }
  }
  const norm = (row: number): number => {
    let sum = 0;
    for (let j = features.offsets[row]; j < features.offsets[row + 1]; j++) sum += features.values[j] * features.values[j];
    return Math.sqrt(sum);
  };
  const candidateNorm = new Float64Array(features.rows);
  for (const row of candidates) candidateNorm[row] = norm(row);
  const scores = new Float64Array(features.rows);
  const touched: number[] = [];
  return queries.map((query) => {
    touched.length = 0;
    for (let j = features.offsets[query]; j < features.offsets[query + 1]; j++) {
      const posting = postings.get(features.indices[j]);
      if (!posting) continue;
      const value = features.values[j];
      for (let p = 0; p < posting.length; p += 2) {
        const row = posting[p];
        if (scores[row] === 0) touched.push(row);
        scores[row] += value * posting[p + 1];
      }
    }
    const queryNorm = norm(query);
    // The k best so far, in order (most similar first, ties by row): one insertion per candidate that enters, no
    // object for the others (a flagged row touches most human rows through its common words).
    const ranked: SimilarRow[] = [];
    for (const row of touched) {
      const dot = scores[row];
      scores[row] = 0;
      if (row === query || dot <= 0) continue;
      const similarity = dot / (queryNorm * candidateNorm[row] || 1);
      if (ranked.length === limit && !ranksBefore(similarity, row, ranked[limit - 1])) continue;
      let at = ranked.length === limit ? limit - 1 : ranked.length;
      while (at > 0 && ranksBefore(similarity, row, ranked[at - 1])) {
        ranked[at] = ranked[at - 1];
        at--;
      }
      ranked[at] = { row, similarity };
    }
    return ranked;
  });
}

/** Whether (similarity, row) comes before `other` in mostSimilarRows' order: more similar, then the lower row. */
function ranksBefore(similarity: number, row: number, other: SimilarRow): boolean {
  return similarity > other.similarity || (similarity === other.similarity && row < other.row);
}
