/**
 * Independent students train at once in worker threads (studentPool.ts): the results are the same whatever the
 * number of threads (words alone, or with an encoder's dense features next to them), progress still reads phase after
 * phase, cancel stops the threads, and without a thread entry the students train in-process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDistillation, type EngineTuning } from '../../src/training/pipeline';
import { createStudentPool, defaultThreadEntry } from '../../src/training/studentPool';
import { fitTransform, compactBuckets } from '../../src/training/featurize';
import { DEFAULT_STUDENT, predictStudent, type DenseRows } from '../../src/training/student';
import { SeededRandom } from '../../src/training/random';
import { SYNTHETIC_LABELS, syntheticRows } from '../support/syntheticRows';
import type { DistillOptions, TrainingRow } from '../../src/training/types';

const LABELS = SYNTHETIC_LABELS;
const rows = (count: number): TrainingRow[] => syntheticRows(count, 40);

const OPTIONS: DistillOptions = { folds: 3, stages: 2, seed: 11, backend: 'cpu', finalTargets: 'soft', student: 'fasttext' };
const TINY: Partial<EngineTuning> = {
  featurizer: { buckets: 1 << 12, wordNgrams: 2, charNgrams: null },
  student: { dim: 8, epochs: 6, learningRate: 0.5, batchSize: 8, head: 'typed', minRowUpdates: 2000, maxEpochs: 40 },
};

/**
 * A small pool workload: 60 synthetic rows' word features, a job training on 40 of them (3 classes), and 3-d dense
 * features drawn from `denseSeed`.
 */
function poolFixture({ epochs, seed, denseSeed = 5 }: { epochs: number; seed: number; denseSeed?: number }) {
  const texts = rows(60).map((row) => row.text);
  const fitted = fitTransform(texts, { buckets: 1 << 10, wordNgrams: 1, charNgrams: null });
  const { features, rowBuckets } = compactBuckets(fitted.features, 1 << 10);
  const random = new SeededRandom(denseSeed);
  const dense: DenseRows = { dims: 3, values: Float32Array.from({ length: 60 * 3 }, () => random.next() * 2 - 1) };
  const job = {
    rows: Int32Array.from({ length: 40 }, (_, i) => i + 10),
    targets: new Float32Array(40 * 3).map((_, k) => (k % 3 === Math.floor(k / 3) % 3 ? 1 : 0)),
    weights: new Float32Array(40).fill(1),
    buckets: rowBuckets.length,
    classes: 3,
    options: { ...DEFAULT_STUDENT, dim: 4, epochs, minRowUpdates: 0, seed },
  };
  return { features, job, dense };
}

test('the thread entry is found next to the sources under tsx', () => {
  assert.match(defaultThreadEntry() ?? '', /studentThread\.ts$/);
});

test('the same seed gives the same predictions and models with 1, 2 or 4 threads', async () => {
  const input = { rows: rows(150), labels: LABELS };
  const runs = [];
  for (const threads of [1, 2, 4]) runs.push(await runDistillation(input, OPTIONS, {}, { ...TINY, threads }));
  assert.deepEqual(
    runs.map((run) => run.metrics.studentThreads),
    [0, 2, 4],
  );
  for (const run of runs.slice(1)) {
    assert.deepEqual(run.predictions.toArray(), runs[0].predictions.toArray());
    assert.deepEqual(run.model.weights, runs[0].model.weights);
    assert.deepEqual(run.vanillaModel.weights, runs[0].vanillaModel.weights);
  }
});

test('with an encoder, the same seed gives the same encoder choice, predictions and models with 1, 2 or 4 threads', async () => {
  const input = { rows: rows(150), labels: LABELS };
  // if-better: step 0 trains stage 1's peers with and without the shipped GloVe table at once; always: no trial.
  for (const keepEncoder of ['if-better', 'always'] as const) {
    const runs = [];
    for (const threads of [1, 2, 4]) runs.push(await runDistillation(input, { ...OPTIONS, encoder: 'glove' }, {}, { ...TINY, threads, keepEncoder }));
    assert.deepEqual(
      runs.map((run) => run.metrics.studentThreads),
      [0, 2, 4],
    );
    assert.ok(runs[0].metrics.encoder.candidate, 'glove was tried');
    if (keepEncoder === 'always') assert.equal(runs[0].model.weights.denseDim, 100);
    // The trial (if-better) compared two sets of peers: its figures are there whatever it kept.
    else assert.ok(runs[0].metrics.encoder.humanLogLikelihood);
    for (const run of runs.slice(1)) {
      assert.deepEqual(run.metrics.encoder, { ...runs[0].metrics.encoder, encodeMs: run.metrics.encoder.encodeMs });
      assert.deepEqual(run.predictions.toArray(), runs[0].predictions.toArray());
      assert.deepEqual(run.model.weights, runs[0].model.weights);
      assert.deepEqual(run.vanillaModel.weights, runs[0].vanillaModel.weights);
    }
  }
});

test('with threads, progress reads each peer fold of each stage, then the vanilla student (trained beside the final one), then final, and the fraction rises to 1', async () => {
  const seen: string[] = [];
  const fractions: number[] = [];
  await runDistillation({ rows: rows(150), labels: LABELS }, OPTIONS, {
    onProgress: (p) => {
      const key = `${p.phase}${p.stage ? ` s${p.stage}` : ''}${p.fold ? ` f${p.fold}` : ''}`;
      if (seen[seen.length - 1] !== key) seen.push(key);
      fractions.push(p.fraction);
    },
  }, { ...TINY, threads: 3 });
  assert.deepEqual(seen, ['featurize', 'peer s1 f1', 'peer s1 f2', 'peer s1 f3', 'calibrate s1', 'peer s2 f1', 'peer s2 f2', 'peer s2 f3', 'calibrate s2', 'vanilla', 'final']);
  assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]));
  assert.equal(fractions[fractions.length - 1], 1);
});

test('cancel while students train in threads rejects with an AbortError and stops the threads', async () => {
  const controller = new AbortController();
  const before = process.getActiveResourcesInfo().length;
  let aborted = 0;
  const pending = runDistillation({ rows: rows(150), labels: LABELS }, OPTIONS, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'vanilla' && p.epoch === 2 && !aborted) {
        aborted = performance.now();
        controller.abort();
      }
    },
  }, { ...TINY, threads: 2 });
  await assert.rejects(pending, { name: 'AbortError' });
  assert.ok(aborted > 0);
  assert.ok(performance.now() - aborted < 2000, 'stopped promptly');
  assert.ok(process.getActiveResourcesInfo().length <= before, `no thread left: ${process.getActiveResourcesInfo().join(', ')}`);
});

test('without a thread entry the pool trains in-process, with the same weights as the threads', async () => {
  const { features, job } = poolFixture({ epochs: 3, seed: 2 });
  const inProcess = createStudentPool(features, { threads: 2, maxConcurrent: 2, entry: null });
  const threaded = createStudentPool(features, { threads: 2, maxConcurrent: 2 });
  try {
    assert.equal(inProcess.threads, 0);
    assert.equal(threaded.threads, 2);
    const epochs: number[] = [];
    const [a, b] = await Promise.all([inProcess.train(job, (epoch) => epochs.push(epoch)), threaded.train(job)]);
    assert.deepEqual(epochs, [1, 2, 3]);
    assert.deepEqual(b, a);
  } finally {
    await Promise.all([inProcess.close(), threaded.close()]);
  }
});

test('the pool carries the dense features to its threads: the same weights as in-process, with and without them', async () => {
  const { features, job, dense } = poolFixture({ epochs: 3, seed: 2, denseSeed: 5 });
  const inProcess = createStudentPool(features, { dense, threads: 2, maxConcurrent: 2, entry: null });
  const threaded = createStudentPool(features, { dense, threads: 2, maxConcurrent: 2 });
  try {
    assert.equal(threaded.threads, 2);
    const [a, b, words, wordsThreaded] = await Promise.all([
      inProcess.train({ ...job, dense: true }),
      threaded.train({ ...job, dense: true }),
      inProcess.train(job),
      threaded.train(job),
    ]);
    assert.equal(a.denseDim, 3);
    assert.equal(a.kernel.length, (4 + 3) * 3);
    assert.deepEqual(b, a);
    assert.equal(words.denseDim, 0);
    assert.deepEqual(wordsThreaded, words);
  } finally {
    await Promise.all([inProcess.close(), threaded.close()]);
  }
});

test('a student predicts the rows its job asks for in the thread that trained it: what predictStudent gives here', async () => {
  const { features, job, dense } = poolFixture({ epochs: 3, seed: 4, denseSeed: 9 });
  const heldOut = Int32Array.from([0, 59, 3, 8, 1]);
  const inProcess = createStudentPool(features, { dense, threads: 2, maxConcurrent: 2, entry: null });
  const threaded = createStudentPool(features, { dense, threads: 2, maxConcurrent: 2 });
  try {
    assert.equal(threaded.threads, 2);
    for (const [predict, withDense] of [[heldOut, false], ['all', true], [heldOut, true]] as const) {
      const [here, there] = await Promise.all([inProcess.trainAndPredict({ ...job, dense: withDense, predict }), threaded.trainAndPredict({ ...job, dense: withDense, predict })]);
      const expected = predictStudent(here.weights, features, withDense ? dense : undefined, predict === 'all' ? undefined : predict);
      assert.equal(expected.length, (predict === 'all' ? 60 : heldOut.length) * 3);
      assert.deepEqual(here.probabilities, expected);
      assert.deepEqual(there.probabilities, expected);
      assert.deepEqual(there.weights, here.weights);
    }
    // Without `predict`, no probabilities.
    assert.equal((await threaded.trainAndPredict(job)).probabilities, undefined);
  } finally {
    await Promise.all([inProcess.close(), threaded.close()]);
  }
});

test('rows without any label (predicted by every peer in its thread): the same predictions with 1 or 2 threads', async () => {
  const input = { rows: rows(150).map((row, i) => (i % 10 === 7 ? { ...row, teacher: null, human: null } : row)), labels: LABELS };
  const [one, two] = [await runDistillation(input, OPTIONS, {}, { ...TINY, threads: 1 }), await runDistillation(input, OPTIONS, {}, { ...TINY, threads: 2 })];
  assert.deepEqual([one.metrics.studentThreads, two.metrics.studentThreads, one.metrics.unlabelledRows], [0, 2, 15]);
  assert.deepEqual(two.predictions.toArray(), one.predictions.toArray());
  assert.deepEqual(two.model.weights, one.model.weights);
});

test('a job that asks for dense features from a pool without them fails clearly, in a thread as in-process', async () => {
  const fitted = fitTransform(rows(20).map((row) => row.text), { buckets: 1 << 8, wordNgrams: 1, charNgrams: null });
  const job = {
    rows: Int32Array.from([0, 1, 2]),
    targets: new Float32Array(9).fill(1 / 3),
    weights: new Float32Array(3).fill(1),
    dense: true,
    buckets: 1 << 8,
    classes: 3,
    options: { ...DEFAULT_STUDENT, dim: 4, epochs: 1, minRowUpdates: 0, seed: 1 },
  };
  for (const entry of [null, undefined]) {
    const pool = createStudentPool(fitted.features, { threads: 2, maxConcurrent: 2, entry });
    try {
      await assert.rejects(pool.train(job), /the student reads dense features, but the pool has none/);
    } finally {
      await pool.close();
    }
  }
});

test('where the advice adopts no label the vanilla student trains beside the last stage\'s peers, and the schedule never changes the results', async () => {
  // A right teacher everywhere and hard final targets: stage 1 adopts nothing, so the final student will likely be
  // the vanilla student and nothing would train beside it at the end.
  const rightTeacher = rows(150).map((row, i) => ({ ...row, teacher: LABELS[i % 3] }));
  const seen: string[] = [];
  const fractions: number[] = [];
  const hard = { ...OPTIONS, finalTargets: 'hard' as const };
  const run = await runDistillation({ rows: rightTeacher, labels: LABELS }, hard, {
    onProgress: (p) => {
      const key = `${p.phase}${p.stage ? ` s${p.stage}` : ''}${p.fold ? ` f${p.fold}` : ''}`;
      if (seen[seen.length - 1] !== key) seen.push(key);
      fractions.push(p.fraction);
    },
  }, { ...TINY, threads: 2 });
  assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]));
  assert.equal(fractions[fractions.length - 1], 1);
  assert.deepEqual(run.advisedLabels, rightTeacher.map((row) => row.teacher), 'no label adopted');
  assert.ok(seen.indexOf('vanilla') > seen.indexOf('calibrate s1') && seen.indexOf('vanilla') < seen.indexOf('calibrate s2'), seen.join(', '));
  // Same weights as in one thread, where the students train one after the other in the order they are submitted.
  // In one thread the students train in the order they are submitted, so vanilla (submitted before stage 2's peers) is
  // done by the last calibration. The plan has dropped the final student there (it will be the vanilla student): only
  // the run's own predictions are left, not a final student's epochs that never come (0.86 with them in the plan).
  let atLastCalibration = 0;
  const inProcess = await runDistillation({ rows: rightTeacher, labels: LABELS }, hard, {
    onProgress: (p) => {
      if (p.phase === 'calibrate' && p.stage === 2) atLastCalibration = p.fraction;
    },
  }, { ...TINY, threads: 1 });
  assert.ok(atLastCalibration > 0.95, `fraction at the last calibration ${atLastCalibration}`);
  assert.deepEqual(run.vanillaModel.weights, inProcess.vanillaModel.weights);
  assert.deepEqual(run.predictions, inProcess.predictions);
});

test('dropDense: after the run keeps the words alone, no pool (threads or in-process) holds the dense features any more', async () => {
  const { features, job, dense } = poolFixture({ epochs: 2, seed: 3, denseSeed: 7 });
  const pools = [createStudentPool(features, { dense, threads: 2, maxConcurrent: 2, entry: null }), createStudentPool(features, { dense, threads: 2, maxConcurrent: 2 })];
  try {
    for (const pool of pools) {
      assert.equal((await pool.train({ ...job, dense: true })).denseDim, 3, 'dense features read before');
      pool.dropDense();
      assert.equal((await pool.train(job)).denseDim, 0, 'words-alone students still train');
      // A job that still asks for them is an error (it fails the thread pool: a bug, not a state to go on from).
      await assert.rejects(pool.train({ ...job, dense: true }), /reads dense features, but the pool has none/);
    }
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
});
