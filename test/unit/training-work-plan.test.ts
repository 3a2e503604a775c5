import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkPlan } from '../../src/training/workPlan';
import { runDistillation } from '../../src/training/pipeline';
import type { DistillProgress, TrainingRow } from '../../src/training/types';
import { embeddingsHandler, startFakeOpenAi } from '../support/fakeOpenAiServer';

/** A plan on a clock the test moves by hand. */
function planOnClock() {
  let now = 0;
  const work = new WorkPlan(() => now);
  return { work, tick: (ms: number) => (now += ms) };
}

test('time left: each kind of work at its own measured rate, not the run-wide mean', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 100);
  work.plan('train', 1000);
  work.plan('settle', 100);
  // Preparing: 100 units in 10 s (100 ms a unit); nothing else measured yet, so everything costs that.
  tick(10_000);
  work.setDone('prepare', 100);
  work.enter('settle');
  assert.equal(work.remainingMs(), (1000 + 100) * 100);
  // Two students train at once, 10 ms a unit: the first report alone does not set the rate (the other student's
  // epoch is still running), the second does.
  work.studentStarted();
  work.studentStarted();
  tick(2_000);
  work.add('train', 100);
  assert.equal(work.remainingMs(), (900 + 100) * 100);
  work.add('train', 100);
  // 12 s so far: 10 s preparing at 100 ms a unit, 2 s training 200 units at 10 ms a unit.
  assert.equal(work.remainingMs(), 800 * 10 + 100 * 100);
  tick(8_000);
  work.add('train', 800);
  work.studentFinished();
  work.studentFinished();
  // Settling measured at its own rate once done (the 5 s before counted as settle as well: outside any student).
  tick(5_000);
  work.add('settle', 50);
  assert.equal(work.remainingMs(), 50 * 100);
  assert.equal(work.fraction(), 1150 / 1200);
  work.complete();
  assert.equal(work.fraction(), 1);
  assert.equal(work.remainingMs(), 0);
});

test('time left: none before 2 % of the plan is done; the fraction never goes back when the plan grows', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 10);
  work.plan('train', 990);
  tick(1_000);
  work.setDone('prepare', 10);
  assert.equal(work.remainingMs(), undefined);
  work.studentStarted();
  tick(1_000);
  work.add('train', 490);
  work.add('train', 0);
  const before = work.fraction();
  assert.equal(before, 0.5);
  work.plan('train', 1000); // e.g. a final student trained after all
  assert.equal(work.fraction(), before);
  // Wall time while a student trains is training time, whatever kind the pipeline says it is in.
  work.enter('settle');
  tick(1_000);
  work.add('train', 500);
  assert.equal(work.remainingMs(), 1000 * (2_000 / 990));
});

test('time left: wall time outside students goes to the kind the pipeline entered; removed work leaves the plan', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 100);
  work.plan('train', 400);
  work.plan('settle', 100);
  tick(1_000);
  work.setDone('prepare', 100); // 10 ms a unit
  assert.equal(work.msPerUnit('prepare'), 10);
  assert.equal(work.msPerUnit('settle'), undefined, 'no rate before any of its work');
  work.enter('settle');
  tick(4_000);
  work.add('settle', 50); // 80 ms a unit: slower than preparing
  work.plan('train', -200); // e.g. the final student is the vanilla one
  assert.equal(work.remainingMs(), 200 * 10 + 50 * 80);
  assert.equal(work.plannedAfterPrepare(), 250);
});

test('time left: work that may not be needed makes a range until the run knows; the fraction counts it', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 100);
  work.plan('train', 300);
  work.planMaybe('train', 100); // e.g. a final student that may be the vanilla one
  tick(1_000);
  work.setDone('prepare', 100); // 10 ms a unit
  assert.equal(work.fraction(), 100 / 500);
  assert.deepEqual(work.remaining(), { ms: 400 * 10, lowMs: 300 * 10 });
  assert.equal(work.remainingMs(), 4_000);
  // Known: not needed. One number again, and the fraction jumps forward, never back.
  work.planMaybe('train', -100);
  assert.deepEqual(work.remaining(), { ms: 3_000, lowMs: 3_000 });
  assert.equal(work.fraction(), 100 / 400);
  work.complete();
  assert.equal(work.fraction(), 1);
});

test('time left: the students rate is read over their last 20 s, so it follows the students training now', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 100);
  work.plan('train', 100_000);
  tick(1_000);
  work.setDone('prepare', 100);
  work.studentStarted();
  // Slower students first (e.g. the encoder trial's): 10 ms a unit for 30 s, one report a second.
  for (let second = 0; second < 30; second++) {
    tick(1_000);
    work.add('train', 100);
  }
  assert.equal(work.remainingMs(), (100_000 - 3_000) * 10);
  // Then faster ones, 5 ms a unit, for 25 s: past the window, only they count.
  for (let second = 0; second < 25; second++) {
    tick(1_000);
    work.add('train', 200);
  }
  assert.equal(work.remainingMs(), (100_000 - 8_000) * 5);
});

test('time left after a slow encoder: the rest of the run at the featurizing rate, not at the encoder\'s (a real HTTP endpoint)', async () => {
  // An endpoint encoder that takes ENCODE_MS for the whole dataset, a dataset whose other work takes a fraction of
  // that: the first time left after encoding must not price the students and calibrations at the encoder's rate.
  const ENCODE_MS = 3_000;
  const labels = ['sport', 'money', 'tech'];
  const rows: TrainingRow[] = Array.from({ length: 640 }, (_, i) => {
    const label = labels[i % 3];
    // Every text distinct: the encoder sends a text found on several rows once, and all 640 must go over the wire.
    return { id: `r${i}`, line: i + 1, text: `the ${label}${i % 17} news ${label} today, item ${i}`, teacher: i % 11 === 0 ? labels[(i + 1) % 3] : label, human: i % 7 === 0 ? label : null, teacherConfidence: null };
  });
  const server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    // 20 requests of 32 texts, one at a time: ENCODE_MS in all.
    server.setEmbeddingsHandler((request) => ({ ...embeddingsHandler()(request), delayMs: ENCODE_MS / 20 }));
    const progress: DistillProgress[] = [];
    const started = performance.now();
    let encodedAt = 0;
    await runDistillation(
      { rows, labels },
      { folds: 2, stages: 2, seed: 1, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: 'endpoint', encoderEndpoint: { baseUrl: server.baseUrl, model: 'fake-embed', maxConcurrency: 1 } },
      {
        encoders: { apiKey: 'sk-test' },
        onProgress: (p) => {
          if (p.encoded !== undefined && p.encoded === p.toEncode) encodedAt = performance.now();
          progress.push(p);
        },
      },
      { featurizer: { buckets: 1 << 12, wordNgrams: 1, charNgrams: null }, student: { dim: 8, epochs: 4, learningRate: 0.5, batchSize: 32, head: 'typed' } },
    );
    const encodeMs = encodedAt - started;
    // While encoding, the time left is a range as after it (the final student may not be needed) or one number.
    const whileEncoding = progress.filter((p) => p.encoded !== undefined && p.remainingMs !== undefined);
    assert.ok(whileEncoding.length > 0);
    assert.ok(whileEncoding.every((p) => p.remainingMsLow === undefined || p.remainingMsLow < p.remainingMs!));
    assert.ok(encodeMs >= ENCODE_MS, `the encoder took ${encodeMs} ms`);
    const afterEncoding = progress.find((p) => p.phase !== 'featurize' && p.remainingMs !== undefined);
    assert.ok(afterEncoding, 'a time left after the encoding');
    const restMs = performance.now() - encodedAt;
    // The rest of the run (under a second here, 16,000 units at the featurizing rate of a few µs) is far shorter than
    // the encoding; at the encoder's rate the estimate said 33 s, ten times the encoding's own time. The bound is the
    // encoding's time, not the rest's, so that a loaded machine (slower rest, slower featurizing alike) cannot fail it.
    assert.ok(afterEncoding.remainingMs! < encodeMs, `time left after encoding ${Math.round(afterEncoding.remainingMs!)} ms; the encoding took ${Math.round(encodeMs)} ms, the rest ${Math.round(restMs)} ms`);
    // The progress bar follows time too: the encoding, most of this run's time, fills most of the bar (at glove's
    // weight per row it filled about a fifth).
    const encodingDone = progress.filter((p) => p.encoded !== undefined && p.encoded === p.toEncode).at(-1);
    assert.ok(encodingDone && encodingDone.fraction >= 0.5, `the bar at the end of the encoding: ${encodingDone?.fraction}`);
    assert.ok(progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1].fraction), 'the bar never goes back');
  } finally {
    await server.close();
  }
});

test('time left: an encoder\'s rate prices its own rows only; work not measured yet borrows the featurizing rate', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 100);
  work.plan('encode', 100);
  work.plan('train', 1000);
  tick(1_000);
  work.setDone('prepare', 100); // 10 ms a unit
  work.enter('encode');
  tick(50_000);
  work.setDone('encode', 50); // 1 s a unit: a slow encoder
  assert.equal(work.remainingMs(), 50 * 1_000 + 1000 * 10);
  tick(50_000);
  work.setDone('encode', 100);
  work.enter('settle');
  assert.equal(work.remainingMs(), 1000 * 10);
  assert.equal(work.plannedAfterPrepare(), 1000);
  // Beside an encoder's own estimate, the rest of the run as a range too, while the final student may not be needed.
  work.planMaybe('train', 300);
  assert.equal(work.plannedAfterPrepare(), 1300);
  assert.equal(work.plannedAfterPrepare(false), 1000);
});

test('a part of the plan estimated again replaces its own size only', () => {
  const { work, tick } = planOnClock();
  work.plan('prepare', 100);
  work.plan('settle', 100);
  const part = work.planPart('settle', 50);
  assert.equal(part.units, 50);
  tick(1_000);
  work.setDone('prepare', 100); // 10 ms a unit
  assert.equal(work.remainingMs(), 150 * 10);
  part.replan(200);
  part.replan(20);
  assert.equal(part.units, 20);
  assert.equal(work.remainingMs(), 120 * 10);
});
