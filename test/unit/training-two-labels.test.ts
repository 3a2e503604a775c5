// Two labels and an easy task (a strong teacher): the first steps at the full rate overshoot (an epoch mean of 1 to 2
// where the uniform guess is ln 2 = 0.69) and then the loss falls to 0.01 — the same overshoot four labels show,
// but above 2 ln 2, the divergence threshold (student.ts DIVERGED_LOSS_FACTOR). Such a student is trained again at a
// quarter of the rate and learns; every such run warned "a peer student's training diverged … and was trained again
// at learning rate 0.075", which the user could do nothing about. Now run.log says it; a warning stays where the
// rows hold a text under several labels, or where the student kept learnt nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitFeaturizer, transform } from '../../src/training/featurize';
import { runDistillation } from '../../src/training/pipeline';
import { SeededRandom } from '../../src/training/random';
import { trainStudent, DEFAULT_STUDENT } from '../../src/training/student';
import { ENGINE_WARNING_PREFIX, type DistillOptions, type TrainingRow } from '../../src/training/types';
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

test('two labels: a student whose loss climbs is trained again at a lower rate, and says the loss it ended at', async () => {
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
  assert.ok(weights.restarted.divergedLosses[0] > 2 * Math.log(2), `given up above 2 ln 2: ${losses.slice(0, 3)}`);
  assert.ok(weights.restarted.lastLoss < Math.log(2), `the try kept learnt: ${weights.restarted.lastLoss}`);
});

test('distill, two labels and a strong teacher: a student trained again is said in run.log, not as a warning', async () => {
  const input: TrainingRow[] = worldSports().map((row, i) => ({ id: `r${i}`, line: i + 1, text: row.text, teacher: row.label, human: row.human, teacherConfidence: null }));
  let restarts = 0;
  for (const seed of [0, 1, 2]) {
    const lines: string[] = [];
    await runDistillation({ rows: input, labels: ['Sports', 'World'] }, { ...OPTIONS, seed }, { onLog: (line) => lines.push(line) });
    assert.deepEqual(lines.filter((line) => line.startsWith(ENGINE_WARNING_PREFIX)), [], `seed ${seed}`);
    const said = lines.filter((line) => line.includes('diverged'));
    for (const line of said) {
      assert.match(line, /^a \w+ student's training diverged \(epoch mean loss [\d.]+\) and was trained again at learning rate 0\.075 instead of 0\.3; that training finished normally \(last epoch's mean loss 0\.\d+\), nothing needs doing$/);
    }
    restarts += said.length;
  }
  // What the test is about: these runs do train students again.
  assert.ok(restarts > 0);
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
  // The students after the first go to run.log, which does not tell the user that nothing needs doing here.
  assert.ok(!lines.some((line) => line.includes('nothing needs doing')), lines.join('\n'));
});
