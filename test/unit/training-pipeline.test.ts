import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runDistillation, predictTexts, finalRowWeights, trainOnTargets, type EngineTuning } from '../../src/training/pipeline';
import { saveModel, loadModel } from '../../src/training/model';
import { selectBackend } from '../../src/training/backend';
import { SeededRandom } from '../../src/training/random';
import type { DistillOptions, TrainingRow } from '../../src/training/types';

const LABELS = ['sport', 'money', 'tech'];
const VOCAB: Record<string, string[]> = {
  sport: ['goal', 'match', 'team', 'coach', 'league', 'score', 'season', 'player'],
  money: ['stock', 'bank', 'profit', 'market', 'shares', 'investor', 'rates', 'earnings'],
  tech: ['software', 'chip', 'internet', 'computer', 'phone', 'data', 'robot', 'code'],
};
const FILLER = ['the', 'a', 'today', 'new', 'report', 'says', 'after', 'week'];

/** 90 rows; the teacher is wrong on every 10th row; rows 5, 15, … 85 and 60, 70, 80 (three teacher errors) carry a human label. */
function dataset(): { rows: TrainingRow[]; truth: string[] } {
  const random = new SeededRandom(123);
  const rows: TrainingRow[] = [];
  const truth: string[] = [];
  for (let i = 0; i < 90; i++) {
    const label = LABELS[i % 3];
    const words = Array.from({ length: 8 }, (_, k) => (k % 2 === 0 ? VOCAB[label][random.int(8)] : FILLER[random.int(8)]));
    const teacher = i % 10 === 0 ? LABELS[(i + 1) % 3] : label;
    rows.push({ id: `r${i}`, line: i + 1, text: words.join(' '), teacher, human: i % 10 === 5 || (i % 10 === 0 && i >= 60) ? label : null, teacherConfidence: null });
    truth.push(label);
  }
  return { rows, truth };
}

const OPTIONS: DistillOptions = { folds: 2, stages: 2, seed: 3, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' };
const TINY: Partial<EngineTuning> = {
  featurizer: { buckets: 1 << 12, wordNgrams: 2, charNgrams: null },
  student: { dim: 8, epochs: 8, learningRate: 0.5, batchSize: 8, head: 'typed' },
};

test('distillation: one prediction per row in order, human rows trusted, wrong teacher labels found', async () => {
  const { rows, truth } = dataset();
  const phases = new Set<string>();
  const fractions: number[] = [];
  const out = await runDistillation({ rows, labels: LABELS }, OPTIONS, {
    onProgress: (p) => {
      phases.add(p.phase);
      fractions.push(p.fraction);
    },
  }, TINY);
  assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), 'progress fraction rises within [0, 1]');
  assert.equal(fractions[fractions.length - 1], 1);
  assert.equal(out.predictions.length, rows.length);
  out.predictions.toArray().forEach((prediction, i) => {
    assert.equal(prediction.id, rows[i].id);
    assert.equal(prediction.line, rows[i].line);
    assert.deepEqual(Object.keys(prediction.probs), LABELS);
    const total = Object.values(prediction.probs).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-4);
    if (rows[i].human !== null) {
      assert.equal(prediction.suggested, rows[i].human);
      assert.equal(prediction.p_teacher_wrong, 0);
      assert.equal(prediction.flagged, false);
    }
  });
  assert.equal(out.advisedLabels.length, rows.length);
  const advisedRight = out.advisedLabels.filter((label, i) => label === truth[i]).length;
  const teacherRight = rows.filter((row, i) => row.teacher === truth[i]).length;
  assert.ok(advisedRight > teacherRight, `advice ${advisedRight}/90 should beat the teacher ${teacherRight}/90`);
  // The six wrong teacher labels without a human label rank above every right one.
  const wrong = rows.map((_, i) => i).filter((i) => rows[i].teacher !== truth[i] && rows[i].human === null);
  const lowestWrong = Math.min(...wrong.map((i) => out.predictions.get(i).p_teacher_wrong));
  const right = rows.map((_, i) => i).filter((i) => rows[i].teacher === truth[i] && rows[i].human === null);
  const highestRight = Math.max(...right.map((i) => out.predictions.get(i).p_teacher_wrong));
  assert.ok(lowestWrong > highestRight, `wrong labels score ≥ ${lowestWrong}, right ones ≤ ${highestRight}`);
  for (const phase of ['featurize', 'vanilla', 'peer', 'calibrate', 'final']) assert.ok(phases.has(phase), `progress reported phase ${phase}`);
  assert.equal(out.metrics.humanRows, 12);
  assert.equal(out.metrics.finalTargets, 'hard');
  assert.equal(out.backend.name, 'cpu');
});

test('distillation is deterministic for a seed and changes with it', async () => {
  const { rows } = dataset();
  const a = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, TINY);
  const b = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, TINY);
  const c = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, seed: 4 }, {}, TINY);
  assert.deepEqual(a.predictions.toArray(), b.predictions.toArray());
  assert.notDeepEqual(
    a.predictions.toArray().map((p) => p.peer_probs),
    c.predictions.toArray().map((p) => p.peer_probs),
  );
});

test('rows without any label are predicted, not trained on', async () => {
  const { rows } = dataset();
  const withUnlabelled = rows.map((row, i) => (i % 10 === 3 ? { ...row, teacher: null } : row));
  const out = await runDistillation({ rows: withUnlabelled, labels: LABELS }, { ...OPTIONS, stages: 1 }, {}, TINY);
  assert.equal(out.metrics.unlabelledRows, 9);
  const row = out.predictions.get(3);
  assert.equal(row.teacher, null);
  assert.equal(row.p_teacher_wrong, 0);
  assert.equal(row.flagged, false);
  assert.ok(LABELS.includes(row.suggested));
});

test('abort rejects with an AbortError', async () => {
  const { rows } = dataset();
  const controller = new AbortController();
  const pending = runDistillation({ rows, labels: LABELS }, OPTIONS, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'peer') controller.abort();
    },
  }, TINY);
  await assert.rejects(pending, (error: Error) => error.name === 'AbortError');
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(runDistillation({ rows, labels: LABELS }, OPTIONS, { signal: aborted.signal }, TINY), { name: 'AbortError' });
});

test('bad input gives clear errors naming the line', async () => {
  const { rows } = dataset();
  await assert.rejects(runDistillation({ rows, labels: ['sport'] }, OPTIONS, {}, TINY), /at least 2 labels/);
  const badHuman = rows.map((row, i) => (i === 4 ? { ...row, human: 'weather' } : row));
  await assert.rejects(runDistillation({ rows: badHuman, labels: LABELS }, OPTIONS, {}, TINY), /line 5: human label "weather" is not in the label set/);
  const badTeacher = rows.map((row, i) => (i === 6 ? { ...row, teacher: 'weather' } : row));
  await assert.rejects(runDistillation({ rows: badTeacher, labels: LABELS }, OPTIONS, {}, TINY), /line 7: teacher label "weather"/);
  const few = rows.slice(0, 3).map((row, i) => (i > 0 ? { ...row, teacher: null, human: null } : row));
  await assert.rejects(runDistillation({ rows: few, labels: LABELS }, OPTIONS, {}, TINY), /only 1 row\(s\) carry a teacher or human label, fewer than the 2 folds/);
  const badConfidence = rows.map((row, i) => (i === 2 ? { ...row, teacherConfidence: 1.5 } : row));
  await assert.rejects(runDistillation({ rows: badConfidence, labels: LABELS }, OPTIONS, {}, TINY), /line 3: teacher confidence 1.5/);
});

test('model save/load round trip predicts the same probabilities', async () => {
  const { rows } = dataset();
  const out = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, stages: 1 }, {}, TINY);
  const dir = await mkdtemp(path.join(tmpdir(), 'peerkd-model-'));
  try {
    await saveModel(out.model, dir, 'cpu');
    assert.deepEqual((await readdir(dir)).sort(), ['embedding.bin', 'idf.bin', 'model.json', 'weights.bin']);
    const loaded = await loadModel(dir, 'cpu');
    assert.deepEqual(loaded.labels, LABELS);
    const texts = ['goal team coach', 'bank profit shares', 'chip software data', 'nothing known here'];
    const expected = predictTexts(out.model, texts);
    const got = await loaded.predict(texts);
    got.forEach((prediction, i) => {
      LABELS.forEach((label, c) => assert.ok(Math.abs(prediction.probs[label] - expected[i * 3 + c]) < 1e-6));
    });
    assert.equal(got[0].predicted, 'sport');
    // The dense part is a standard TF.js layers model.
    const { tf } = await selectBackend('cpu');
    const modelJson = JSON.parse(await (await import('node:fs/promises')).readFile(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(modelJson.format, 'layers-model');
    assert.ok(tf.version_layers.length > 0);
    await assert.rejects(loadModel(path.join(dir, 'missing'), 'cpu'), /cannot read model/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Everything label-keyed compared by label, so only the display order of the records may differ. */
function byLabel(predictions: readonly { probs: Record<string, number>; peer_probs: Record<string, number>; vanilla_probs: Record<string, number> }[]) {
  const sorted = (record: Record<string, number>) => Object.fromEntries(Object.keys(record).sort().map((label) => [label, record[label]]));
  return predictions.map((p) => ({ ...p, probs: sorted(p.probs), peer_probs: sorted(p.peer_probs), vanilla_probs: sorted(p.vanilla_probs) }));
}

test('results do not depend on the order of the label set: every permutation gives the same predictions exactly', async () => {
  const { rows } = dataset();
  const reference = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, TINY);
  for (const labels of permutations(LABELS).slice(1)) {
    const out = await runDistillation({ rows, labels }, OPTIONS, {}, TINY);
    assert.deepEqual(byLabel(out.predictions.toArray()), byLabel(reference.predictions.toArray()), `labels ${labels.join(',')}`);
    assert.deepEqual(out.advisedLabels, reference.advisedLabels);
    out.predictions.toArray().forEach((p) => assert.deepEqual(Object.keys(p.probs), labels, 'records follow the caller’s label order'));
    assert.deepEqual(out.metrics.labels, labels);
    const at = (m: number[][], names: string[], y: string, t: string) => m[names.indexOf(y)][names.indexOf(t)];
    for (const y of LABELS) for (const t of LABELS) assert.equal(at(out.metrics.teacherConfusion, labels, y, t), at(reference.metrics.teacherConfusion, LABELS, y, t));
    assert.equal(out.metrics.flaggedCount, reference.metrics.flaggedCount);
    assert.equal(out.metrics.estimatedTeacherAccuracy, reference.metrics.estimatedTeacherAccuracy);
    const texts = rows.map((row) => row.text);
    assert.deepEqual(out.model.labels, labels, 'the saved model lists the caller’s label order');
    const column = (probs: Float32Array, names: string[], row: number, label: string) => probs[row * names.length + names.indexOf(label)];
    const mine = predictTexts(out.model, texts);
    const theirs = predictTexts(reference.model, texts);
    for (let row = 0; row < texts.length; row++) {
      for (const label of LABELS) assert.equal(column(mine, labels, row, label), column(theirs, LABELS, row, label), 'the final student is the same model');
    }
  }
});

test('results do not depend on the order of the rows: shuffled rows (same ids) give the same prediction per row', async () => {
  const { rows } = dataset();
  const reference = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, TINY);
  const byId = new Map(reference.predictions.toArray().map((p, i) => [p.id, { ...p, advised: reference.advisedLabels[i] }]));
  for (const seed of [1, 2, 3]) {
    const order = new SeededRandom(seed).shuffle(rows.map((_, i) => i));
    const shuffled = order.map((i) => rows[i]);
    const out = await runDistillation({ rows: shuffled, labels: LABELS }, OPTIONS, {}, TINY);
    out.predictions.toArray().forEach((p, k) => {
      assert.equal(p.id, shuffled[k].id, 'predictions stay in the caller’s row order');
      assert.deepEqual({ ...p, advised: out.advisedLabels[k] }, byId.get(p.id));
    });
    assert.deepEqual(out.metrics.thresholds, reference.metrics.thresholds);
  }
});

test('the final student is the vanilla student when the advice adopts no label, and differs only by its targets otherwise', async () => {
  const { rows, truth } = dataset();
  const clean = rows.map((row, i) => ({ ...row, teacher: truth[i] }));
  const out = await runDistillation({ rows: clean, labels: LABELS }, OPTIONS, {}, TINY);
  assert.deepEqual(out.advisedLabels, truth, 'a right teacher is never overruled');
  assert.equal(out.metrics.finalTargets, 'hard');
  const texts = rows.map((row) => row.text);
  assert.deepEqual(predictTexts(out.model, texts), predictTexts(out.vanillaModel, texts));
  // 12 human pairs cannot bound the gain on 90 rows, so the default guard keeps every teacher label here; without it
  // the arg-max of the advice is adopted and the final student learns from those labels.
  const noisy = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, { ...TINY, changeGuard: 'off' });
  assert.ok(noisy.advisedLabels.some((label, i) => label !== rows[i].teacher && rows[i].human === null), 'the noisy teacher is corrected');
  assert.notDeepEqual(predictTexts(noisy.model, texts), predictTexts(noisy.vanillaModel, texts));
});

test('the peers train without label smoothing (their probabilities are the calibration evidence), the vanilla and final students with it', async () => {
  const { rows } = dataset();
  const smoothed = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, TINY);
  const plain = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, { ...TINY, student: { ...TINY.student!, labelSmoothing: 0 } });
  const peers = (out: typeof plain) => out.predictions.toArray().map((prediction) => prediction.peer_probs);
  const vanilla = (out: typeof plain) => out.predictions.toArray().map((prediction) => prediction.vanilla_probs);
  assert.deepEqual(peers(smoothed), peers(plain), 'the students’ smoothing leaves the peers as they were');
  assert.notDeepEqual(vanilla(smoothed), vanilla(plain));
  // Smoothing bounds how sure the vanilla student gets on the rows it trained on.
  const surest = (out: typeof plain) => Math.max(...vanilla(out).flatMap((probs) => Object.values(probs)));
  assert.ok(surest(smoothed) < surest(plain), `${surest(smoothed)} vs ${surest(plain)}`);
  const smoothedPeers = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, { ...TINY, peerLabelSmoothing: 0.2 });
  assert.notDeepEqual(peers(smoothedPeers), peers(plain), 'peerLabelSmoothing reaches the peers');
});

test('the final student weighs a row by π(adopted label)^k where the advice adopted labels; the vanilla student and the peers are untouched', async () => {
  const { rows } = dataset();
  const texts = rows.map((row) => row.text);
  const adopting: Partial<EngineTuning> = { ...TINY, changeGuard: 'off' }; // 12 pairs cannot pass the guard on 90 rows
  const plain = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, { ...adopting, finalWeighting: 0 });
  const weighted = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, { ...adopting, finalWeighting: 4 });
  const peers = (out: typeof plain) => out.predictions.toArray().map((prediction) => prediction.peer_probs);
  assert.deepEqual(peers(weighted), peers(plain));
  assert.deepEqual(predictTexts(weighted.vanillaModel, texts), predictTexts(plain.vanillaModel, texts));
  assert.deepEqual(weighted.advisedLabels, plain.advisedLabels);
  assert.notDeepEqual(predictTexts(weighted.model, texts), predictTexts(plain.model, texts), 'the weights reach the final student');
  assert.equal(weighted.metrics.finalWeighting, 4, 'metrics.json says the rows were weighted');
  assert.equal(plain.metrics.finalWeighting, 0);
  // Soft targets carry the advice's doubt in themselves: they are not weighted again.
  const soft = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, finalTargets: 'soft' }, {}, { ...adopting, finalWeighting: 4 });
  const softPlain = await runDistillation({ rows, labels: LABELS }, { ...OPTIONS, finalTargets: 'soft' }, {}, { ...adopting, finalWeighting: 0 });
  assert.equal(soft.metrics.finalWeighting, 0);
  assert.deepEqual(predictTexts(soft.model, texts), predictTexts(softPlain.model, texts));
  // Where the guard adopts nothing, the final student is the vanilla one, weighting or not.
  const guarded = await runDistillation({ rows, labels: LABELS }, OPTIONS, {}, { ...TINY, finalWeighting: 4 });
  assert.deepEqual(guarded.advisedLabels, rows.map((row) => row.human ?? row.teacher));
  assert.deepEqual(predictTexts(guarded.model, texts), predictTexts(guarded.vanillaModel, texts));
  assert.equal(guarded.metrics.finalWeighting, 0, 'no label adopted: the vanilla student, unweighted');
});

test('finalRowWeights: a human row weighs humanWeight, any other π(adopted)^k, and k = 0 weighs every row alike', () => {
  // 3 rows × 2 classes; row 1 carries a human label.
  const advice = { posterior: Float32Array.from([0.9, 0.1, 0.3, 0.7, 0.4, 0.6]), advised: Int32Array.from([0, 1, 0]) };
  const human = Int32Array.from([-1, 0, -1]);
  const close = (actual: Float32Array, expected: number[]) => expected.forEach((value, i) => assert.ok(Math.abs(actual[i] - value) < 1e-6, `${i}: ${actual[i]} vs ${value}`));
  close(finalRowWeights(advice, human, { humanWeight: 2, finalWeighting: 4 }), [0.9 ** 4, 2, 0.4 ** 4]);
  close(finalRowWeights(advice, human, { humanWeight: 1, finalWeighting: 1 }), [0.9, 1, 0.4]);
  close(finalRowWeights(advice, human, { humanWeight: 1, finalWeighting: 0 }), [1, 1, 1]);
});

test('trainOnTargets: row weights reach the student (weights of 1 are the default; a row weighing 0 teaches nothing)', async () => {
  const { rows } = dataset();
  const texts = rows.map((row) => row.text);
  const targets = new Float32Array(texts.length * LABELS.length);
  rows.forEach((row, i) => (targets[i * LABELS.length + LABELS.indexOf(row.teacher!)] = 1));
  const plain = await trainOnTargets(texts, targets, LABELS.length, 7, TINY);
  const ones = await trainOnTargets(texts, targets, LABELS.length, 7, TINY, texts, new Float32Array(texts.length).fill(1));
  assert.deepEqual(predictTexts(ones, texts), predictTexts(plain, texts));
  // Row 0's teacher label is wrong; with weight 0 the student learns as if its target were anything else.
  const flipped = Float32Array.from(targets);
  flipped.fill(0, 0, LABELS.length);
  flipped[(LABELS.indexOf(rows[0].teacher!) + 1) % LABELS.length] = 1;
  const weights = new Float32Array(texts.length).fill(1);
  weights[0] = 0;
  const silenced = await trainOnTargets(texts, targets, LABELS.length, 7, TINY, texts, weights);
  const silencedFlipped = await trainOnTargets(texts, flipped, LABELS.length, 7, TINY, texts, weights);
  assert.deepEqual(predictTexts(silenced, texts), predictTexts(silencedFlipped, texts));
  assert.notDeepEqual(predictTexts(silenced, texts), predictTexts(plain, texts));
});
