/**
 * The `doubtful` rows of a run (src/training/doubtful.ts): the rows it doubts but does not flag, one definition for
 * the review panel's queue and the engine's reviewed-row rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alternativeLabel, DOUBTFUL_LIMIT, doubtfulPredictions, doubtfulRanks } from '../../src/training/doubtful';
import { labelRecord } from '../../src/training/labelRecord';

type Candidate = { teacher: string | null; human: string | null; flagged: boolean; p_teacher_wrong: number };
const unflagged = (p: number): Candidate => ({ teacher: 'A', human: null, flagged: false, p_teacher_wrong: p });

test('K is the rounded sum of p over the unflagged rows: the errors the run expects among them', () => {
  // Σp = 0.4 + 0.3 + 0.3 + 0.2 + 0.1 × 4 = 1.6 → K = 2.
  const scores = [0.1, 0.4, 0.1, 0.3, 0.2, 0.1, 0.3, 0.1];
  const ranks = doubtfulRanks(scores);
  assert.deepEqual(ranks.rows, [1, 3]);
  assert.ok(Math.abs(ranks.expectedErrors - 1.6) < 1e-12);
  assert.ok(Math.abs(ranks.expectedInQueue - 0.7) < 1e-12);
  // Σp = 1.4 → K = 1; Σp below one half → none.
  assert.deepEqual(doubtfulRanks([0.2, 0.45, 0.3, 0.45]).rows, [1]);
  assert.deepEqual(doubtfulRanks([0.2, 0.1, 0.1]).rows, []);
  assert.deepEqual(doubtfulRanks([]).rows, []);
});

test('ties at the cut go in file order, and the queue is in order of p, ties by file order', () => {
  // Σp = 0.3 × 5 + 0.4 = 1.9 → K = 2: the 0.4, then the first 0.3.
  assert.deepEqual(doubtfulRanks([0.3, 0.3, 0.3, 0.4, 0.3, 0.3]).rows, [3, 0]);
  // Σp = 3.0 → K = 3 among equal scores: the first three.
  assert.deepEqual(doubtfulRanks([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]).rows, [0, 1, 2]);
  // A score that is no finite number counts as 0.
  assert.deepEqual(doubtfulRanks([Number.NaN, 0.6, Number.POSITIVE_INFINITY, 0.45]).rows, [1]);
});

test('the queue holds at most DOUBTFUL_LIMIT rows, the highest p first', () => {
  const n = 10_000;
  const scores = Array.from({ length: n }, (_, i) => 0.3 + (i % 97) / 1000);
  const ranks = doubtfulRanks(scores);
  assert.ok(ranks.expectedErrors > DOUBTFUL_LIMIT);
  assert.equal(ranks.rows.length, DOUBTFUL_LIMIT);
  const cut = scores[ranks.rows[ranks.rows.length - 1]];
  const inQueue = new Set(ranks.rows);
  for (let i = 0; i < n; i++) if (!inQueue.has(i)) assert.ok(scores[i] <= cut, `row ${i} (p ${scores[i]}) is above the cut ${cut}`);
  for (let j = 1; j < ranks.rows.length; j++) {
    const [a, b] = [ranks.rows[j - 1], ranks.rows[j]];
    assert.ok(scores[a] > scores[b] || (scores[a] === scores[b] && a < b));
  }
});

test('only rows with a teacher label, no human label and no flag are candidates; K counts only them', () => {
  const predictions: Candidate[] = [
    { teacher: 'A', human: null, flagged: true, p_teacher_wrong: 0.9 }, // flagged: its own queue
    { teacher: null, human: null, flagged: false, p_teacher_wrong: 0.9 }, // no teacher label: the unlabelled queue
    { teacher: 'A', human: 'B', flagged: false, p_teacher_wrong: 0.9 }, // a human label at run time
    unflagged(0.45),
    unflagged(0.4),
    unflagged(0.2),
  ];
  const set = doubtfulPredictions(predictions);
  // Σp over the candidates = 1.05 → K = 1 (the rows left out would have made it 3.75).
  assert.deepEqual(set.rows, [3]);
  assert.ok(Math.abs(set.expectedErrors - 1.05) < 1e-12);
});

test('a doubtful row suggests the most probable label other than the teacher’s', () => {
  assert.equal(alternativeLabel(labelRecord([['A', 0.6], ['B', 0.1], ['C', 0.3]]), 'A'), 'C');
  assert.equal(alternativeLabel(labelRecord([['A', 0.6], ['B', 0.2], ['C', 0.2]]), 'A'), 'B', 'a tie: the first in the record');
  // Labels are user data: one named like an Object member is a label like any other.
  assert.equal(alternativeLabel(labelRecord([['constructor', 0.7], ['__proto__', 0.3]]), 'constructor'), '__proto__');
  assert.equal(alternativeLabel(labelRecord([['A', 1]]), 'A'), undefined);
});
