import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkPlan } from '../../src/training/workPlan';

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
