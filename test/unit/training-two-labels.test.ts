// Two labels and an easy task (a strong teacher): the first steps at the full rate overshoot (an epoch mean of 1 to 2
// where the uniform guess is ln 2 = 0.69) and then the loss falls to 0.01 — the same overshoot four labels show,
// but above 2 ln 2, the divergence threshold. Every such run warned "a peer student's training diverged … and was
// trained again at learning rate 0.075", and its peers trained at a quarter of the rate. A loss that climbs is
// still a divergence (student.ts SETTLING_ROW_UPDATES).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitFeaturizer, transform } from '../../src/training/featurize';
import { runDistillation } from '../../src/training/pipeline';
import { SeededRandom } from '../../src/training/random';
import { trainStudent, DEFAULT_STUDENT } from '../../src/training/student';
import type { DistillOptions, TrainingRow } from '../../src/training/types';
import { repoRoot } from '../fixtures/training/build';

/** The World and Sports rows of the AG News fixture (112 rows), their teacher label. */
function worldSports(): { text: string; label: string; human: string | null }[] {
  return readFileSync(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { text: string; teacher_label: string; human_label?: string })
    .filter((row) => row.teacher_label === 'World' || row.teacher_label === 'Sports')
    .map((row, i) => ({ text: row.text, label: row.teacher_label, human: i % 10 === 0 && (row.human_label === 'World' || row.human_label === 'Sports') ? row.human_label : null }));
}

const OPTIONS: DistillOptions = { folds: 2, stages: 2, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: 'none' };

test('two labels: a student whose first steps overshoot and whose loss then falls is trained once, at the default rate', async () => {
  const rows = worldSports();
  const texts = rows.map((row) => row.text);
  const featurizer = fitFeaturizer(texts);
  const features = transform(featurizer, texts);
  const targets = new Float32Array(rows.length * 2);
  rows.forEach((row, i) => (targets[i * 2 + (row.label === 'World' ? 1 : 0)] = 1));
  const set = { features, targets, weights: new Float32Array(rows.length).fill(1) };
  let overshoots = 0;
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    const losses: number[] = [];
    const weights = await trainStudent(set, featurizer.config.buckets, 2, { ...DEFAULT_STUDENT, labelSmoothing: 0, seed }, { onEpoch: (_, loss) => losses.push(loss) });
    assert.equal(weights.restarted, undefined, `seed ${seed}: trained again although its loss fell (${losses.slice(0, 5).map((loss) => loss.toFixed(3))})`);
    if (Math.max(losses[0], losses[1]) > 2 * Math.log(2)) overshoots++;
    assert.ok(losses.at(-1)! < 0.05, `seed ${seed}: learnt (${losses.at(-1)})`);
  }
  // What the test is about: the first epochs' mean is above 2 ln 2 on some seeds (3 of 6).
  assert.ok(overshoots >= 2, `${overshoots} seeds overshoot`);
});

test('two labels: a student whose loss climbs is still trained again at a lower rate', async () => {
  // 750 rows of 8 words from 20 of each label's and 20 shared words: every word is in many rows of a batch.
  const random = new SeededRandom(1);
  const labels = Array.from({ length: 750 }, (_, i) => i % 2);
  const texts = labels.map((y) => Array.from({ length: 8 }, () => (random.next() < 0.5 ? `w${y}_${random.int(20)}` : `c${random.int(20)}`)).join(' '));
  const featurizer = fitFeaturizer(texts);
  const features = transform(featurizer, texts);
  const targets = new Float32Array(750 * 2);
  labels.forEach((y, i) => (targets[i * 2 + (random.next() < 0.05 ? 1 - y : y)] = 1));
  const losses: number[] = [];
  const weights = await trainStudent({ features, targets, weights: new Float32Array(750).fill(1) }, featurizer.config.buckets, 2, { ...DEFAULT_STUDENT, labelSmoothing: 0, seed: 0 }, { onEpoch: (_, loss) => losses.push(loss) });
  assert.ok(weights.restarted, `not trained again: ${losses.map((loss) => loss.toFixed(3))}`);
  assert.equal(weights.restarted.learningRate, 0.075);
  assert.ok(losses[1] > losses[0] && losses[1] > 2 * Math.log(2), `the loss climbed: ${losses.slice(0, 3)}`);
});

test('distill, two labels and a strong teacher: no student is said to have diverged', async () => {
  const input: TrainingRow[] = worldSports().map((row, i) => ({ id: `r${i}`, line: i + 1, text: row.text, teacher: row.label, human: row.human, teacherConfidence: null }));
  for (const seed of [0, 1, 2]) {
    const lines: string[] = [];
    await runDistillation({ rows: input, labels: ['Sports', 'World'] }, { ...OPTIONS, seed }, { onLog: (line) => lines.push(line) });
    assert.deepEqual(
      lines.filter((line) => line.includes('diverged')),
      [],
      `seed ${seed}`,
    );
  }
});

test('distill, two labels: one text on half the rows under both labels still says its students were trained again', async () => {
  const random = new SeededRandom(2);
  const input: TrainingRow[] = Array.from({ length: 100 }, (_, i) => {
    const label = i % 4 < 2 ? 'a' : 'b';
    const text = i % 2 === 0 ? '[deleted]' : Array.from({ length: 8 }, () => `${label}${random.int(20)}`).join(' ');
    return { id: `r${i}`, line: i + 1, text, teacher: label, human: null, teacherConfidence: null };
  });
  const lines: string[] = [];
  await runDistillation({ rows: input, labels: ['a', 'b'] }, OPTIONS, { onLog: (line) => lines.push(line) });
  assert.ok(
    lines.some((line) => /^warning: a \w+ student's training diverged \(epoch mean loss [\d.]+\) and was trained again at learning rate 0\.075 instead of 0\.3; the same text on many rows/.test(line)),
    lines.join('\n'),
  );
});
