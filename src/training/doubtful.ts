/**
 * The `doubtful` rows of a run: the rows it doubts but does not flag. Plain TypeScript, one definition for the review
 * panel (src/review/model.ts, the `doubtful` queue) and the engine's reviewed-row rule (reviewedRows.ts), so that a
 * label set on a row the panel showed as doubtful is known as a reviewed label, never as part of the random sample.
 *
 * A row is flagged only when its suggestion (the arg-max of the calibrated posterior) differs from the teacher's
 * label and p_teacher_wrong ≥ τ. With two labels and a strong teacher the honest recalibration can keep every p below
 * 0.5, so a run flags nothing although the rows it ranks first hold most of the teacher's errors. Those rows are this
 * queue:
 *   - the candidates: rows with a teacher label and no human label when the run ran, not flagged;
 *   - K = round(Σ p_teacher_wrong over the candidates), the number of teacher errors the run expects among them,
 *     capped at DOUBTFUL_LIMIT;
 *   - the queue: the K candidates with the highest p_teacher_wrong, ties in file order (the run's line order, as the
 *     review's order rule breaks ties by line).
 * Each such row's suggestion is the most probable label other than the teacher's (alternativeLabel), its score p the
 * run's p_teacher_wrong.
 */
import { probabilityOf } from './labelRecord';
import type { Prediction } from './types';

/** At most this many rows in the doubtful queue, however many errors the run expects among its unflagged rows. */
export const DOUBTFUL_LIMIT = 2000;

/** A row that may be doubtful: a teacher label and no human label at run time, and not flagged. */
export function isDoubtCandidate(prediction: Pick<Prediction, 'teacher' | 'human' | 'flagged'>): boolean {
  return prediction.teacher !== null && prediction.human === null && !prediction.flagged;
}

export interface DoubtfulRanks {
  /** Positions in the candidates' scores of the doubtful rows, highest p first, ties by position (file order). */
  rows: number[];
  /** Σ p over every candidate: the teacher errors the run expects among its unflagged rows (K before rounding). */
  expectedErrors: number;
  /** Σ p over the doubtful rows: the errors the run expects among them. */
  expectedInQueue: number;
}

/**
 * The doubtful rows among the candidates, given their p_teacher_wrong in file order (a score that is not a finite
 * number counts as 0). Linear plus one sort of a typed copy of the scores, so a million-row run costs well under a
 * second and no object per row.
 */
export function doubtfulRanks(scores: ArrayLike<number>): DoubtfulRanks {
  const n = scores.length;
  const p = new Float64Array(n);
  let expectedErrors = 0;
  for (let i = 0; i < n; i++) {
    const value = scores[i];
    p[i] = Number.isFinite(value) && value > 0 ? value : 0;
    expectedErrors += p[i];
  }
  const k = Math.min(Math.round(expectedErrors), DOUBTFUL_LIMIT, n);
  if (k <= 0) return { rows: [], expectedErrors, expectedInQueue: 0 };
  // The k-th highest score: every row above it is in, then rows equal to it in file order until k.
  const sorted = Float64Array.from(p).sort();
  const threshold = sorted[n - k];
  const above: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    if (p[i] > threshold) above.push(i);
    else if (p[i] === threshold && at.length < k) at.push(i);
  }
  const rows = [...above, ...at.slice(0, k - above.length)].sort((a, b) => p[b] - p[a] || a - b);
  let expectedInQueue = 0;
  for (const row of rows) expectedInQueue += p[row];
  return { rows, expectedErrors, expectedInQueue };
}

export interface DoubtfulSet {
  /** Indices into the predictions of the doubtful rows, in queue order. */
  rows: number[];
  expectedErrors: number;
  expectedInQueue: number;
}

/** The doubtful rows of a run's predictions (file order): doubtfulRanks over its candidates. */
export function doubtfulPredictions(predictions: readonly Pick<Prediction, 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'>[]): DoubtfulSet {
  const candidates: number[] = [];
  const scores: number[] = [];
  predictions.forEach((prediction, index) => {
    if (!isDoubtCandidate(prediction)) return;
    candidates.push(index);
    scores.push(prediction.p_teacher_wrong);
  });
  const ranks = doubtfulRanks(scores);
  return { ...ranks, rows: ranks.rows.map((position) => candidates[position]) };
}

/**
 * The most probable label other than the teacher's (the first in the record's order on a tie), or undefined when the
 * record holds no other label: the suggestion a doubtful row shows, whose own arg-max is the teacher's label.
 */
export function alternativeLabel(probs: Readonly<Record<string, number>>, teacher: string | null): string | undefined {
  let best: string | undefined;
  for (const label of Object.keys(probs)) {
    if (label === teacher) continue;
    if (best === undefined || (probabilityOf(probs, label) ?? 0) > (probabilityOf(probs, best) ?? 0)) best = label;
  }
  return best;
}
