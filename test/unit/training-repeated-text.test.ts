// One text on many rows under different labels (a "[deleted]" placeholder an LLM labelled at random): the students
// must train, not diverge to NaN (which ended every such run in "the training worker sent a malformed message"); a
// student whose loss climbs is trained again at a lower rate (student.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDistillation } from '../../src/training/pipeline';
import { SeededRandom } from '../../src/training/random';
import type { DistillOptions, TrainingRow } from '../../src/training/types';

const LABELS = ['sport', 'money', 'tech', 'world'];
const OPTIONS: DistillOptions = { folds: 2, stages: 2, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' };

/** `count` rows whose words name their label; every second row's text is "[deleted]" (under its row's label). */
function rows(count: number): TrainingRow[] {
  const random = new SeededRandom(1);
  return Array.from({ length: count }, (_, i) => {
    const label = LABELS[i % 4];
    const text = i % 2 === 0 ? '[deleted]' : Array.from({ length: 8 }, () => `${label}${random.int(20)}`).join(' ');
    return { id: `r${i}`, line: i + 1, text, teacher: label, human: null, teacherConfidence: null };
  });
}

test('half the rows one text under two labels: every probability is a number, and the rows with real text are not flagged', async () => {
  const input = rows(100);
  const out = await runDistillation({ rows: input, labels: LABELS }, OPTIONS);
  const predictions = out.predictions.toArray();
  assert.ok(predictions.every((prediction) => Number.isFinite(prediction.p_teacher_wrong) && Object.values(prediction.probs).every(Number.isFinite)));
  // A number (0.74 here): '?? 0' let a run that gave no estimate at all (null) pass as finite.
  assert.equal(typeof out.metrics.estimatedTeacherAccuracy, 'number');
  assert.ok(Number.isFinite(out.metrics.estimatedTeacherAccuracy));
  // The teacher is right on every row with a real text; the copies of "[deleted]" carry two labels, one of them flagged at most.
  assert.equal(predictions.filter((prediction, i) => input[i].text !== '[deleted]' && prediction.flagged).length, 0);
});

test('a student that still diverges (an absurd learning rate) ends in an error saying so, not a malformed result', async () => {
  await assert.rejects(
    runDistillation({ rows: rows(100), labels: LABELS }, OPTIONS, {}, { student: { dim: 8, epochs: 5, learningRate: 1e30, batchSize: 32, head: 'typed' } }),
    /a (peer|vanilla) student's training diverged: at every learning rate from 1e\+30 down to .*: 50 of 100 rows share their text with rows of another label \(line 1's text is on 50 rows, with 2 labels\)/,
  );
});

/**
 * `count` distinct rows whose words name their label, each with a word of its own; the teacher is wrong on every
 * tenth row (the next label), and every row comes `copies` times with the same text and teacher label.
 */
function repeatedRows(count: number, copies: number): { rows: TrainingRow[]; wrong: Set<string> } {
  const random = new SeededRandom(3);
  const out: TrainingRow[] = [];
  const wrong = new Set<string>();
  for (let i = 0; i < count; i++) {
    const label = LABELS[i % 4];
    const text = [...Array.from({ length: 6 }, () => `${label}${random.int(30)}`), `own${i}`].join(' ');
    const teacher = i % 10 === 3 ? LABELS[(i + 1) % 4] : label;
    for (let copy = 0; copy < copies; copy++) {
      const id = `r${i}-${copy}`;
      if (teacher !== label) wrong.add(id);
      out.push({ id, line: out.length + 1, text, teacher, human: null, teacherConfidence: null });
    }
  }
  return { rows: out, wrong };
}

test('every row twice: the copies of a text are held out together, so the peers still see the teacher\'s mistakes', async () => {
  const options: DistillOptions = { ...OPTIONS, folds: 4 };
  const once = repeatedRows(200, 1);
  const twice = repeatedRows(200, 2);
  const flaggedWrong = async ({ rows: input, wrong }: ReturnType<typeof repeatedRows>) => {
    const predictions = (await runDistillation({ rows: input, labels: LABELS }, options)).predictions.toArray();
    return predictions.filter((prediction) => prediction.flagged && wrong.has(String(prediction.id))).length / wrong.size;
  };
  const single = await flaggedWrong(once);
  const repeated = await flaggedWrong(twice);
  // A peer that trained on the copy had learnt the wrong label of that very text (its own word) and agreed with it.
  assert.ok(single >= 0.5, `rows once: ${single} of the wrong teacher labels flagged`);
  assert.ok(repeated >= single - 0.15, `rows twice: ${repeated} of the wrong teacher labels flagged, against ${single} for the rows once`);
});
