/**
 * What lets a million-row run fit its memory and report progress from the start (issue 11): students read their rows
 * of the shared features in place instead of copies, the features are built once over SharedArrayBuffers (sized from
 * the first rows, renumbered in place), and featurizing and encoding count in the progress plan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDistillation, type EngineTuning } from '../../src/training/pipeline';
import { fitTransform, fitFeaturizer, transform, compactBuckets, selectRows } from '../../src/training/featurize';
import { trainStudent, predictStudent, selectDenseRows, effectiveEpochs, DEFAULT_STUDENT, type DenseRows } from '../../src/training/student';
import { encodeTexts, type TextEncoder } from '../../src/training/encoder';
import { SYNTHETIC_LABELS, syntheticRows } from '../support/syntheticRows';
import type { DistillOptions, DistillProgress, TrainingRow } from '../../src/training/types';

const LABELS = SYNTHETIC_LABELS;
const rows = (count: number): TrainingRow[] => syntheticRows(count, 400);

const config = { buckets: 1 << 12, wordNgrams: 2, charNgrams: null };

test('a student trained on a list of rows read in place equals one trained on a copy of those rows (words and dense)', async () => {
  const texts = rows(300).map((row) => row.text);
  const { features: all } = fitTransform(texts, config);
  const { features, rowBuckets } = compactBuckets(all, config.buckets);
  const dense: DenseRows = { dims: 3, values: Float32Array.from({ length: texts.length * 3 }, (_, i) => Math.sin(i)) };
  const subset = Int32Array.from({ length: 120 }, (_, i) => (i * 7) % 300);
  const targets = new Float32Array(subset.length * 3);
  subset.forEach((_, i) => (targets[i * 3 + (i % 3)] = 1));
  const weights = Float32Array.from(subset, (_, i) => (i % 5 === 0 ? 2 : 1));
  const options = { ...DEFAULT_STUDENT, dim: 8, epochs: 3, minRowUpdates: 0, seed: 5 };
  const inPlace = await trainStudent({ features, dense, rows: subset, targets, weights }, rowBuckets.length, 3, options);
  const copied = await trainStudent({ features: selectRows(features, subset), dense: selectDenseRows(dense, subset), targets, weights }, rowBuckets.length, 3, options);
  assert.deepEqual(inPlace.embedding, copied.embedding);
  assert.deepEqual(inPlace.kernel, copied.kernel);
  assert.deepEqual(inPlace.bias, copied.bias);
  await assert.rejects(
    trainStudent({ features, rows: Int32Array.of(0, 300), targets: new Float32Array(6), weights: new Float32Array(2) }, rowBuckets.length, 3, options),
    /training row 300 is not a row of the 300 feature rows/,
  );
});

test('fitTransform builds its features over SharedArrayBuffers, equal to fitFeaturizer then transform; compactBuckets in place renumbers them', () => {
  // More rows than the estimate is taken after, so the reserved arrays are exercised (and grown past where needed).
  const texts = rows(5000).map((row, i) => (i > 2500 ? `${row.text} ${row.text} extra${i}` : row.text));
  const both = fitTransform(texts, config);
  assert.ok(both.features.indices.buffer instanceof SharedArrayBuffer);
  assert.ok(both.features.values.buffer instanceof SharedArrayBuffer);
  const expected = transform(fitFeaturizer(texts, config), texts);
  assert.deepEqual(both.features.offsets, expected.offsets);
  assert.deepEqual(Array.from(both.features.indices), Array.from(expected.indices));
  assert.deepEqual(Array.from(both.features.values), Array.from(expected.values));
  const copy = compactBuckets(both.features, config.buckets);
  const indices = both.features.indices;
  const inPlace = compactBuckets(both.features, config.buckets, true);
  assert.equal(inPlace.features.indices, indices);
  assert.deepEqual(Array.from(inPlace.features.indices), Array.from(copy.features.indices));
  assert.deepEqual(inPlace.rowBuckets, copy.rowBuckets);
});

test('an uncached encoder encodes in blocks, with progress, giving what one call over every text gives', async () => {
  const calls: number[] = [];
  const encoder: TextEncoder = {
    name: 'fake',
    version: '1',
    dims: 2,
    cacheable: false,
    async encode(texts) {
      calls.push(texts.length);
      return Float32Array.from(texts.flatMap((text) => [text.length, text.charCodeAt(0)]));
    },
  };
  const texts = Array.from({ length: 20_000 }, (_, i) => `text ${i}`);
  const seen: number[] = [];
  const { values } = await encodeTexts(encoder, texts, undefined, undefined, (done) => seen.push(done));
  assert.deepEqual(values, await encoder.encode(texts));
  assert.ok(calls.length > 2, `encoded in ${calls.length - 1} call(s)`);
  assert.equal(seen[seen.length - 1], texts.length);
  assert.ok(seen.every((done, i) => i === 0 || done > seen[i - 1]));
});

test('progress moves during featurizing: the plan counts it, so the fraction and the time left come before any student trains', async () => {
  const progress: DistillProgress[] = [];
  const options: DistillOptions = { folds: 2, stages: 1, seed: 3, backend: 'cpu', finalTargets: 'hard', student: 'fasttext' };
  const tuning: Partial<EngineTuning> = { featurizer: config, student: { dim: 4, epochs: 1, learningRate: 0.5, batchSize: 32, head: 'typed', minRowUpdates: 0, maxEpochs: 1 }, threads: 1 };
  await runDistillation({ rows: rows(9000), labels: LABELS }, options, { onProgress: (p) => progress.push(p) }, tuning);
  const featurizing = progress.filter((p) => p.phase === 'featurize');
  assert.ok(featurizing.some((p) => p.fraction > 0), `featurize fractions: ${featurizing.map((p) => p.fraction).join(', ')}`);
  const firstTraining = progress.findIndex((p) => p.phase !== 'featurize');
  assert.ok(firstTraining > 0 && progress[firstTraining - 1].fraction > 0);
  assert.ok(progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1].fraction - 1e-12), 'the fraction never goes back');
  // A range of time left only while the final student may not be needed: its low end below the high one, and none
  // once the (only) stage's calibration has settled the plan.
  assert.ok(progress.every((p) => p.remainingMsLow === undefined || (p.remainingMs !== undefined && p.remainingMsLow < p.remainingMs)));
  const settled = progress.findIndex((p) => p.phase === 'calibrate');
  assert.ok(settled > 0 && progress.slice(settled).every((p) => p.remainingMsLow === undefined), 'no range once the plan is known');
});

test('small data: a 1,000-row run trains its peers 10 epochs and its vanilla and final students 5, tiny sets still get more', () => {
  // The 25,000-row-update floor gave the 500-row peers of a 1,000-row dataset 50 epochs (73 % of a 10,000-row run's time).
  assert.equal(effectiveEpochs(500, DEFAULT_STUDENT), 10);
  assert.equal(effectiveEpochs(1000, DEFAULT_STUDENT), 5);
  assert.equal(effectiveEpochs(5000, DEFAULT_STUDENT), 5);
  assert.equal(effectiveEpochs(100, DEFAULT_STUDENT), 50);
  assert.equal(effectiveEpochs(25, DEFAULT_STUDENT), DEFAULT_STUDENT.maxEpochs);
});

test('predictStudent on a list of rows read in place equals it on a copy of those rows (words and dense)', async () => {
  const texts = rows(200).map((row) => row.text);
  const { features: all } = fitTransform(texts, config);
  const { features, rowBuckets } = compactBuckets(all, config.buckets);
  const dense: DenseRows = { dims: 2, values: Float32Array.from({ length: texts.length * 2 }, (_, i) => Math.cos(i)) };
  const targets = new Float32Array(texts.length * 3);
  texts.forEach((_, i) => (targets[i * 3 + (i % 3)] = 1));
  const model = await trainStudent({ features, dense, targets, weights: new Float32Array(texts.length).fill(1) }, rowBuckets.length, 3, { ...DEFAULT_STUDENT, dim: 4, epochs: 2, minRowUpdates: 0, seed: 1 });
  const subset = Int32Array.from({ length: 1500 }, (_, i) => (i * 13) % 200); // repeats, and more than one chunk of 1,024
  assert.deepEqual(predictStudent(model, features, dense, subset), predictStudent(model, selectRows(features, subset), selectDenseRows(dense, subset)));
  assert.throws(() => predictStudent(model, features, dense, Int32Array.of(200)), /row 200 is not a row of the 200 feature rows/);
});
