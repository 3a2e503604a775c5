import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EXPLANATIONS_FILE, parseExplanations, PREDICTIONS_FILE, readRun, RunWriter } from '../../src/training/artifacts';
import { runDistillation } from '../../src/training/pipeline';
import { compactBuckets, featureHashes, fitTransform, type FeaturizerConfig } from '../../src/training/featurize';
import { explainLogitDifference, mostSimilarRows, studentLogits } from '../../src/training/explain';
import { predictStudent, type StudentWeights } from '../../src/training/student';
import { SeededRandom } from '../../src/training/random';
import fc from 'fast-check';

const TEXTS = [
  'Oil prices rise as OPEC cuts output, oil traders say',
  'The striker scored twice in the cup final',
  'New GPU doubles the speed of neural network training',
  'Stocks fall as oil prices climb and traders sell',
  'Elections abroad: the vote count goes on',
];

function randomStudent(buckets: number, dim: number, denseDim: number, classes: number, seed: number, rowBuckets?: Int32Array): StudentWeights {
  const random = new SeededRandom(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => random.next() * 2 - 1);
  const rows = rowBuckets ? rowBuckets.length : buckets;
  return { buckets, dim, denseDim, classes, embedding: fill(rows * dim), kernel: fill((dim + denseDim) * classes), bias: fill(classes), ...(rowBuckets ? { rowBuckets } : {}) };
}

function rowOf(features: ReturnType<typeof fitTransform>['features'], r: number) {
  return { indices: features.indices.subarray(features.offsets[r], features.offsets[r + 1]), values: features.values.subarray(features.offsets[r], features.offsets[r + 1]) };
}

test('featureHashes with spans names the words each feature reads, hashes unchanged', () => {
  const config: FeaturizerConfig = { buckets: 1 << 10, wordNgrams: 3, charNgrams: [2, 3] };
  const spans: number[] = [];
  const hashes = featureHashes('oil prices rise', config, spans);
  assert.deepEqual(hashes, featureHashes('oil prices rise', config));
  assert.equal(spans.length, 2 * hashes.length);
  // Word 0: its unigram, its bigram (0–1), its trigram (0–2); then word 1: unigram, bigram (1–2); word 2: unigram.
  assert.deepEqual(spans.slice(0, 12), [0, 0, 0, 1, 0, 2, 1, 1, 1, 2, 2, 2]);
  // Character n-grams read their own word.
  assert.deepEqual(spans.slice(12, 14), [0, 0]);
});

test('the words\' contributions, the bias and the dense part add up to the logit difference the student computes', () => {
  // Few buckets, so features collide; bigrams and character n-grams, so features span several words or part of one.
  for (const config of [
    { buckets: 16, wordNgrams: 2, charNgrams: null },
    { buckets: 64, wordNgrams: 3, charNgrams: [2, 4] },
    { buckets: 1 << 19, wordNgrams: 2, charNgrams: null },
  ] satisfies FeaturizerConfig[]) {
    const { features } = fitTransform(TEXTS, config);
    const compact = compactBuckets(features, config.buckets);
    for (const [denseDim, compactTable] of [[0, false], [3, true], [0, true]] as const) {
      const weights = randomStudent(config.buckets, 4, denseDim, 3, 7 + denseDim, compactTable ? compact.rowBuckets : undefined);
      for (let r = 0; r < TEXTS.length; r++) {
        const dense = denseDim ? [0.5, -1.25, 2].slice(0, denseDim) : undefined;
        const row = rowOf(features, r);
        const explanation = explainLogitDifference(weights, config, TEXTS[r], row, dense, 2, 0);
        const logits = studentLogits(weights, row, dense);
        const sum = explanation.words.reduce((total, word) => total + word.contribution, 0) + explanation.bias + explanation.dense;
        assert.ok(Math.abs(sum - explanation.logitDifference) < 1e-9, `row ${r}: ${sum} vs ${explanation.logitDifference}`);
        assert.ok(Math.abs(explanation.logitDifference - (logits[2] - logits[0])) < 1e-9);
        // And the student's own prediction agrees: log p2 − log p0 is the logit difference.
        const probs = predictStudent(weights, { rows: 1, offsets: Int32Array.from([0, row.indices.length]), indices: Int32Array.from(row.indices), values: Float32Array.from(row.values) }, dense ? { dims: denseDim, values: Float32Array.from(dense) } : undefined);
        assert.ok(Math.abs(Math.log(probs[2]) - Math.log(probs[0]) - explanation.logitDifference) < 1e-4);
        assert.equal(explanation.dense === 0, denseDim === 0);
        // One entry per distinct word, largest first; no unplaced remainder.
        const words = explanation.words.map((w) => w.word);
        assert.equal(new Set(words).size, words.length);
        assert.ok(!words.includes(''));
        assert.deepEqual([...explanation.words].sort((a, b) => b.contribution - a.contribution).map((w) => w.contribution), explanation.words.map((w) => w.contribution));
      }
    }
  }
});

test('a word the student ties to the suggested label is the top contribution', () => {
  const config: FeaturizerConfig = { buckets: 1 << 12, wordNgrams: 1, charNgrams: null };
  const { features } = fitTransform(TEXTS, config);
  const weights = randomStudent(config.buckets, 2, 0, 2, 3);
  weights.embedding.fill(0);
  weights.kernel.set([1, -1, 0, 0]); // hidden[0] pushes class 0 against class 1
  const oil = featureHashes('oil', config)[0] % config.buckets;
  weights.embedding[oil * 2] = 5;
  const explanation = explainLogitDifference(weights, config, TEXTS[0], rowOf(features, 0), undefined, 0, 1);
  assert.equal(explanation.words[0].word, 'oil');
  assert.ok(explanation.words[0].contribution > 0);
  assert.ok(explanation.words.slice(1).every((w) => w.contribution === 0));
  // The same word, seen from the other label, pulls away.
  assert.equal(explainLogitDifference(weights, config, TEXTS[0], rowOf(features, 0), undefined, 1, 0).words.at(-1)!.word, 'oil');
});

test('the most similar candidate rows by TF-IDF cosine, most similar first, never the row itself', () => {
  const { features } = fitTransform(TEXTS, { buckets: 1 << 16, wordNgrams: 2, charNgrams: null });
  // Row 3 (stocks, oil prices, traders) is nearest to row 0 (oil prices, traders); row 2 shares nothing with it.
  const [forOil, forCup] = mostSimilarRows(features, [0, 1], [1, 2, 3, 4, 0], 3);
  assert.equal(forOil[0].row, 3);
  assert.ok(forOil.every((s) => s.row !== 0 && s.similarity > 0 && s.similarity <= 1 + 1e-6));
  assert.ok(!forOil.some((s) => s.row === 2));
  assert.deepEqual(forOil.map((s) => s.similarity), [...forOil.map((s) => s.similarity)].sort((a, b) => b - a));
  // Row 1 shares only "the" and "in"-like words: with row 4 ("the vote") and row 2 ("the speed").
  assert.ok(forCup.length <= 3 && forCup.every((s) => s.row !== 1));
  // An exact cosine: a row against itself among candidates is left out, a copy of it scores 1.
  const copy = fitTransform([...TEXTS, TEXTS[0]], { buckets: 1 << 16, wordNgrams: 2, charNgrams: null }).features;
  const [withCopy] = mostSimilarRows(copy, [0], [0, 3, 5], 2);
  assert.equal(withCopy[0].row, 5);
  assert.ok(Math.abs(withCopy[0].similarity - 1) < 1e-6);
  assert.equal(withCopy[1].row, 3);
});

test('most similar rows: a candidate listed twice counts once (a cosine stays at most 1), a fractional k is its whole part', () => {
  const copy = fitTransform([...TEXTS, TEXTS[0]], { buckets: 1 << 16, wordNgrams: 2, charNgrams: null }).features;
  const once = mostSimilarRows(copy, [0, 1], [5, 3, 4, 2], 3);
  // Listed twice (or three times), each candidate is still one row with its own cosine.
  assert.deepEqual(mostSimilarRows(copy, [0, 1], [5, 3, 5, 4, 2, 3, 5], 3), once);
  assert.ok(Math.abs(once[0][0].similarity - 1) < 1e-6, 'the copy of row 0 scores 1');
  // k = 2.5 keeps two rows (as slice(0, 2.5) did), NaN none, Infinity all.
  assert.deepEqual(mostSimilarRows(copy, [0, 1], [5, 3, 4, 2], 2.5), mostSimilarRows(copy, [0, 1], [5, 3, 4, 2], 2));
  assert.deepEqual(mostSimilarRows(copy, [0], [5, 3, 4, 2], Number.NaN), [[]]);
  assert.deepEqual(mostSimilarRows(copy, [0], [5, 3, 4, 2], Number.POSITIVE_INFINITY), mostSimilarRows(copy, [0], [5, 3, 4, 2], 4));
});

test('a compact table explained through the embedding rows the caller gives is explained exactly as through its buckets', () => {
  const config: FeaturizerConfig = { buckets: 1 << 12, wordNgrams: 2, charNgrams: null };
  const { features, rowBuckets } = compactBuckets(fitTransform(TEXTS, config).features, config.buckets);
  const random = new SeededRandom(9);
  const dim = 4;
  const classes = 3;
  const weights: StudentWeights = {
    buckets: config.buckets,
    dim,
    denseDim: 0,
    classes,
    embedding: Float32Array.from({ length: rowBuckets.length * dim }, () => random.next() - 0.5),
    rowBuckets,
    kernel: Float32Array.from({ length: dim * classes }, () => random.next() - 0.5),
    bias: Float32Array.from({ length: classes }, () => random.next() - 0.5),
  };
  TEXTS.forEach((text, r) => {
    const compact = rowOf(features, r);
    const byBucket = { indices: Uint32Array.from(compact.indices, (k) => rowBuckets[k]), values: compact.values };
    const given = explainLogitDifference(weights, config, text, { ...byBucket, embeddingRows: compact.indices }, undefined, 0, 2);
    assert.deepEqual(given, explainLogitDifference(weights, config, text, byBucket, undefined, 0, 2));
    assert.ok(given.words.some((word) => word.contribution !== 0), 'the rows are read');
  });
  // Embedding rows that do not match the features fail clearly, never explain a feature as reading nothing.
  const compact = rowOf(features, 0);
  const byBucket = { indices: Uint32Array.from(compact.indices, (k) => rowBuckets[k]), values: compact.values };
  assert.throws(() => explainLogitDifference(weights, config, TEXTS[0], { ...byBucket, embeddingRows: compact.indices.subarray(1) }, undefined, 0, 2), /feature\(s\) given with .* embedding row\(s\)/);
  const outside = Uint32Array.from(compact.indices);
  outside[0] = rowBuckets.length;
  assert.throws(() => explainLogitDifference(weights, config, TEXTS[0], { ...byBucket, embeddingRows: outside }, undefined, 0, 2), /outside the student's table/);
});

test('most similar rows: the k best of the full ranking (sorted by similarity, then row), for any k, ties included', () => {
  const reference = (features: ReturnType<typeof fitTransform>['features'], query: number, candidates: number[], k: number) => {
    const norm = (row: number) => Math.sqrt(Array.from(features.values.subarray(features.offsets[row], features.offsets[row + 1])).reduce((sum, v) => sum + v * v, 0));
    const ranked: { row: number; similarity: number }[] = [];
    for (const row of new Set(candidates)) {
      if (row === query) continue;
      // The same dot product, summed in the same order as the inverted index visits it (query features, then candidates).
      let dot = 0;
      for (let j = features.offsets[query]; j < features.offsets[query + 1]; j++)
        for (const c of candidates) if (c === row) for (let i = features.offsets[row]; i < features.offsets[row + 1]; i++) if (features.indices[i] === features.indices[j]) dot += features.values[j] * features.values[i];
      if (dot > 0) ranked.push({ row, similarity: dot / (norm(query) * norm(row) || 1) });
    }
    return ranked.sort((a, b) => b.similarity - a.similarity || a.row - b.row).slice(0, k);
  };
  const words = ['oil', 'vote', 'team', 'the', 'market', 'rain'];
  fc.assert(
    fc.property(
      // Few words, so that equal rows (exact ties) are common.
      fc.array(fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 14 }),
      fc.integer({ min: 0, max: 6 }),
      (texts, k) => {
        const { features } = fitTransform(texts.map((t) => t.join(' ')), { buckets: 1 << 12, wordNgrams: 1, charNgrams: null });
        const rows = texts.map((_, i) => i);
        const candidates = rows.filter((i) => i % 3 !== 1);
        const got = mostSimilarRows(features, rows, candidates, k);
        rows.forEach((query) => assert.deepEqual(got[query], reference(features, query, candidates, k)));
      },
    ),
    { numRuns: 200, seed: 3 },
  );
});

test('a run explains each flagged row with the peer that held it out, and names the most similar human-labelled rows', async () => {
  const labels = ['sport', 'money', 'tech'];
  const vocab: Record<string, string[]> = {
    sport: ['goal', 'match', 'team', 'coach', 'league', 'score'],
    money: ['stock', 'bank', 'profit', 'market', 'shares', 'rates'],
    tech: ['software', 'chip', 'internet', 'computer', 'phone', 'code'],
  };
  const random = new SeededRandom(5);
  const rows = Array.from({ length: 90 }, (_, i) => {
    const label = labels[i % 3];
    const text = Array.from({ length: 8 }, (__, k) => (k % 2 ? ['the', 'a', 'new', 'week'][random.int(4)] : vocab[label][random.int(6)])).join(' ');
    // Every 10th teacher label is wrong; rows 5, 15, … carry a human label.
    return { id: `r${i}`, line: i + 1, text, teacher: i % 10 === 0 ? labels[(i + 1) % 3] : label, human: i % 10 === 5 ? label : null, teacherConfidence: null };
  });
  const out = await runDistillation(
    { rows, labels },
    { folds: 2, stages: 1, seed: 1, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' },
    {},
    { featurizer: { buckets: 1 << 12, wordNgrams: 2, charNgrams: null }, student: { dim: 8, epochs: 8, learningRate: 0.5, batchSize: 8, head: 'typed' } },
  );
  const flagged = out.predictions.toArray().filter((p) => p.flagged);
  assert.ok(flagged.length > 0, 'the run flags rows');
  let compared = 0;
  let againstSeen = 0;
  out.predictions.toArray().forEach((prediction, i) => {
    const explanation = out.explanations[i];
    if (!prediction.flagged) {
      assert.equal(explanation, null);
      return;
    }
    assert.ok(explanation, `flagged row ${prediction.id} is explained`);
    assert.deepEqual([explanation.row, explanation.id, explanation.towards, explanation.away], [i, prediction.id, prediction.suggested, prediction.teacher]);
    // The parts add up (each stored to 6 decimals).
    const sum = explanation.words.reduce((total, [, c]) => total + c, 0) + explanation.other_words + explanation.bias + explanation.dense;
    assert.ok(Math.abs(sum - explanation.logit_difference) < 1e-4, `${sum} vs ${explanation.logit_difference}`);
    // It is the peer that scored the row: its probabilities (peer_probs, one stage) have that log-ratio (where both are
    // far above the 6 decimals predictions.jsonl keeps).
    const [pTowards, pAway] = [prediction.peer_probs[explanation.towards], prediction.peer_probs[explanation.away]];
    if (Math.min(pTowards, pAway) > 1e-3) {
      const ratio = Math.log(pTowards) - Math.log(pAway);
      assert.ok(Math.abs(ratio - explanation.logit_difference) < 1e-3, `row ${prediction.id}: log-ratio ${ratio} vs ${explanation.logit_difference}`);
      compared += 1;
    }
    // The words are the row's own, pushing towards the suggestion, largest first.
    const words = new Set(rows[i].text.split(' '));
    assert.ok(explanation.words.length > 0 && explanation.words.every(([word, c]) => words.has(word) && c > 0));
    assert.deepEqual(explanation.words.map(([, c]) => c), [...explanation.words.map(([, c]) => c)].sort((a, b) => b - a));
    // And the words that push back to the teacher's label, most negative first: the panel marks them in a second colour.
    assert.ok(explanation.against, 'the run writes the words against the suggestion');
    assert.ok(explanation.against.length <= 8 && explanation.against.every(([word, c]) => words.has(word) && c < 0));
    assert.deepEqual(explanation.against.map(([, c]) => c), [...explanation.against.map(([, c]) => c)].sort((a, b) => a - b));
    if (explanation.against.length > 0) againstSeen += 1;
    // Three human-labelled rows, with their human labels, most similar first.
    assert.equal(explanation.similar.length, 3);
    for (const similar of explanation.similar) {
      const source = rows.find((row) => row.id === similar.id)!;
      assert.equal(similar.label, source.human);
      assert.equal(similar.line, source.line);
    }
    assert.deepEqual(explanation.similar.map((s) => s.similarity), [...explanation.similar.map((s) => s.similarity)].sort((a, b) => b - a));
  });
  assert.ok(compared > 0, 'at least one row checked against the peer\'s own probabilities');
  assert.ok(againstSeen > 0, 'some flagged row has words that push back to the teacher');
});

test('explanations.jsonl: written beside predictions.jsonl, read back by position, a bad line named but not fatal', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'peerkd-explain-'));
  const datasetPath = path.join(dir, 'data.jsonl');
  await writeFile(datasetPath, '');
  const prediction = (id: string, flagged: boolean) => ({ id, line: 1, teacher: 'a', human: null, suggested: flagged ? 'b' : 'a', p_teacher_wrong: flagged ? 0.9 : 0.1, flagged, probs: { a: 0.1, b: 0.9 }, peer_probs: { a: 0.1, b: 0.9 }, vanilla_probs: { a: 0.5, b: 0.5 } });
  const explanation = { row: 1, id: 'x', towards: 'b', away: 'a', logit_difference: 2.5, bias: 0.1, dense: 0, words: [['oil', 2]] as [string, number][], other_words: 0.4, similar: [{ id: 'h', line: 9, label: 'b', similarity: 0.8 }] };
  const writer = await RunWriter.create(path.join(dir, 'runs'), 'run-1');
  await writer.writePredictions([prediction('x', false), prediction('x', true)]);
  await writer.writeExplanations([null, explanation]);
  await writer.writeJson('metrics.json', {});
  await writer.writeJson('settings.json', { runId: 'run-1', datasetPath, datasetSha256: '', labels: ['a', 'b'], fields: {}, options: {} });
  await writer.commit(datasetPath);
  const runDir = path.join(dir, 'runs', 'run-1');
  const run = await readRun(runDir);
  assert.deepEqual([...run.explanations!], [[1, explanation]]);
  // predictions.jsonl keeps exactly its public fields.
  assert.deepEqual(Object.keys(JSON.parse((await readFile(path.join(runDir, PREDICTIONS_FILE), 'utf8')).split('\n')[1]) as object), ['id', 'line', 'teacher', 'human', 'suggested', 'p_teacher_wrong', 'flagged', 'probs', 'peer_probs', 'vanilla_probs']);
  // A damaged sidecar: the run is still read, and the problem names the file and line.
  await writeFile(path.join(runDir, EXPLANATIONS_FILE), `${JSON.stringify(explanation)}\n{"row": 7}\n`);
  const damaged = await readRun(runDir);
  assert.equal(damaged.explanations, undefined);
  assert.match(damaged.explanationsProblem!, /explanations\.jsonl:2: 'row' must be a row of predictions\.jsonl \(0–1\)/);
  assert.throws(() => parseExplanations('{"row": 0, "id": "x"', 'e.jsonl', 1), /e\.jsonl:1: invalid JSON/);
  // 'against' is optional (older runs lack it), and checked when present.
  assert.deepEqual(parseExplanations(JSON.stringify({ ...explanation, against: [['rain', -0.5]] }), 'e.jsonl', 2).get(1)?.against, [['rain', -0.5]]);
  assert.throws(() => parseExplanations(JSON.stringify({ ...explanation, against: [['rain', 'x']] }), 'e.jsonl', 2), /e\.jsonl:1: 'against' must be a list of \[word, contribution\]/);
});

test('a dense block that is a mean of word vectors is placed on the words too, its offset left as the dense part', () => {
  const config: FeaturizerConfig = { buckets: 1 << 10, wordNgrams: 2, charNgrams: null };
  const { features } = fitTransform(TEXTS, config);
  const dims = 3;
  const table = new Map<string, number[]>([
    ['oil', [1, 0.5, -2]],
    ['prices', [0.25, 1, 0]],
    ['opec', [-1, 2, 1]],
  ]);
  const mean = [0.1, -0.2, 0.3];
  const scale = [0.5, 0.25, 1];
  const text = TEXTS[0]; // "oil" twice, "prices", "opec", and words without a vector
  const tokens = text.toLowerCase().match(/[\p{L}\p{N}]+/gu)!;
  const withVector = tokens.filter((token) => table.has(token));
  const raw = [0, 1, 2].map((d) => withVector.reduce((sum, token) => sum + table.get(token)![d], 0) / withVector.length);
  const dense = raw.map((value, d) => (value - mean[d]) * scale[d]);
  const weights = randomStudent(config.buckets, 4, dims, 3, 11);
  const denseWords = { vectorOf: (word: string) => table.get(word), mean, scale };
  const explained = explainLogitDifference(weights, config, text, rowOf(features, 0), dense, 1, 2, denseWords);
  const plain = explainLogitDifference(weights, config, text, rowOf(features, 0), dense, 1, 2);
  assert.ok(Math.abs(explained.logitDifference - plain.logitDifference) < 1e-12);
  const sum = explained.words.reduce((total, word) => total + word.contribution, 0) + explained.bias + explained.dense;
  assert.ok(Math.abs(sum - explained.logitDifference) < 1e-9);
  // What stays in `dense` is the offset: −Σ mean · scale · w.
  const w = (d: number) => weights.kernel[(4 + d) * 3 + 1] - weights.kernel[(4 + d) * 3 + 2];
  const offset = -[0, 1, 2].reduce((total, d) => total + mean[d] * scale[d] * w(d), 0);
  assert.ok(Math.abs(explained.dense - offset) < 1e-9, `${explained.dense} vs ${offset}`);
  // Each word's share moved from the dense part: "oil" (twice) gets 2/4 of the mean's weight of its vector.
  const byWord = (e: typeof explained, word: string) => e.words.find((entry) => entry.word === word)!.contribution;
  const oilShare = (2 / withVector.length) * [0, 1, 2].reduce((total, d) => total + table.get('oil')![d] * scale[d] * w(d), 0);
  assert.ok(Math.abs(byWord(explained, 'oil') - byWord(plain, 'oil') - oilShare) < 1e-9);
  // A word without a vector gets nothing from the dense block.
  assert.ok(Math.abs(byWord(explained, 'traders') - byWord(plain, 'traders')) < 1e-12);
  assert.equal(withVector.length, 4);
  assert.equal(dims, dense.length);
});
