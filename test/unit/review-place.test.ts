import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FILTERS, type ReviewRow } from '../../src/review/model';
import { carryReviewPlace, PendingPlace } from '../../src/review/place';

function row(key: string, p: number, human: string | null = null): ReviewRow {
  return { key, id: key, line: 1, text: key, teacher: 'World', suggested: 'Sports', queue: 'flagged', p, probs: {}, peerProbs: {}, vanillaProbs: {}, human, skipped: false, changedSinceRun: false, textChangedSinceRun: false, runTeacher: 'World' };
}

// The old queue, in display order; the user decided a and b (human labels in the file), skipped c, and is on d.
const place = { selected: 'd', skipped: ['c'], order: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] };

test('after a retrain the user stays on the row they were on, with their skips (issue 10 §2)', () => {
  // The new run still flags c, d, f, g (a and b carry human labels now and are not flagged again), and a new row z.
  const next = [row('z', 0.99), row('g', 0.9), row('d', 0.8), row('c', 0.7), row('f', 0.6)];
  const carried = carryReviewPlace(place, next, DEFAULT_FILTERS);
  assert.equal(carried.selected, 'd');
  assert.deepEqual([...carried.skipped], ['c']);
});

test('when that row is no longer asked about, the next row of the old queue that still is', () => {
  // d and e are no longer flagged: f is where the user was heading (not z, new at the top, nor g, further on).
  const next = [row('z', 0.99), row('g', 0.9), row('c', 0.7), row('f', 0.6)];
  assert.equal(carryReviewPlace(place, next, DEFAULT_FILTERS).selected, 'f');
  // A row decided meanwhile (a human label typed in the editor) is passed over, as is a skipped one.
  const decided = [row('z', 0.99), row('g', 0.9), row('f', 0.6, 'Sports'), row('c', 0.5)];
  assert.equal(carryReviewPlace(place, decided, DEFAULT_FILTERS).selected, 'g');
  // Rows hidden by the filters the user kept are passed over too.
  assert.equal(carryReviewPlace(place, next, { ...DEFAULT_FILTERS, minProbability: 0.65 }).selected, 'g');
});

test('nothing left of the old queue: the first row to review in the new one; a skip on a decided row is dropped', () => {
  const next = [row('y', 0.5), row('z', 0.99), row('c', 0.4, 'World')];
  const carried = carryReviewPlace(place, next, DEFAULT_FILTERS);
  assert.equal(carried.selected, 'z');
  assert.deepEqual([...carried.skipped], []);
  assert.deepEqual(carryReviewPlace(place, [], DEFAULT_FILTERS), { selected: null, skipped: new Set() });
  assert.equal(carryReviewPlace({ selected: null, skipped: [], order: [] }, next, DEFAULT_FILTERS).selected, 'z');
});

test('a second "Retrain with My Labels" refused while the first runs does not take the first one\'s place with it', () => {
  const pending = new PendingPlace<{ runId: string; selected: string }>();
  const first = { runId: 'r1', selected: 'row-40' };
  const forgetFirst = pending.keep(first);
  // The second retrain keeps its own place, then the manager refuses it ("already running") and it forgets it.
  const forgetSecond = pending.keep({ runId: 'r1', selected: 'row-41' });
  forgetSecond();
  assert.equal(pending.peek(), first, 'the first retrain, still running, finds its place when its run arrives');
  assert.equal(pending.take(), first);
  assert.equal(pending.peek(), undefined, 'a run consumes the place once');
  // A retrain that ends without a run forgets its place; a later forget of an older one changes nothing.
  forgetFirst();
  const forgetThird = pending.keep({ runId: 'r2', selected: 'row-7' });
  forgetThird();
  assert.equal(pending.peek(), undefined);
});
