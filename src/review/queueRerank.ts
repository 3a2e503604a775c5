/**
 * Re-ranking the Label Review queue as the user decides (issue 10 §2), without a new training run: the review
 * correction of src/review/rerank.ts (logit P(wrong) = a + b·logit(p) + u[teacher, suggested], fitted on the rows
 * reviewed since the run) applied to the run's own calibrated P(teacher wrong) of each flagged row. Plain TypeScript.
 *
 * The doubtful queue (src/training/doubtful.ts) is re-ranked by the same correction: its rows keep their membership,
 * their cell is (teacher, the suggestion they show: the most probable other label).
 *
 * Only the ORDER changes. The probability the panel shows stays the run's calibrated one: the correction is fitted on
 * the top of the ranking (the rows the user reviewed), so its values extrapolate below the scores it saw and are used
 * to sort, never shown (docs/METHOD.md §6). The flags stay the run's too: the queue keeps its rows.
 */
import type { Prediction } from '../training/types';
import { queueSuggestion } from './model';
import { correctedScore, fitReviewCorrection, type ReviewCorrection } from './rerank';

/** The panel re-ranks after every this many new human labels (and whenever the user asks). */
export const RERANK_EVERY = 25;

export interface QueueRerank {
  /** Row key → the score the flagged and doubtful queues are sorted by (highest first). */
  scores: Map<string, number>;
  /** Rows with a human label now that the run did not have: what the correction was fitted on (its teacher-labelled ones). */
  reviewed: number;
  correction: ReviewCorrection;
  /** How long the refit and re-scoring took. */
  ms: number;
}

/**
 * Rows with a human label now that the run did not have. `humanNow(key)`: the row's human label in the document now,
 * undefined when the row left the file (then the run's counts).
 */
export function reviewedSinceRun(predictions: readonly Prediction[], keys: readonly string[], humanNow: (key: string) => string | null | undefined): number {
  let reviewed = 0;
  predictions.forEach((prediction, i) => {
    const human = humanNow(keys[i]);
    if (human !== undefined && human !== null && prediction.human === null) reviewed += 1;
  });
  return reviewed;
}

/**
 * Refits the review correction on the rows reviewed since the run and scores every flagged and doubtful row still to
 * review (`doubtful`: the indices of the run's doubtful rows, model.ts doubtfulOf).
 * A reviewed row keeps the score it had (`previous`, else the run's p), so decided rows do not jump about.
 */
export function rerankQueue(
  predictions: readonly Prediction[],
  keys: readonly string[],
  labels: readonly string[],
  humanNow: (key: string) => string | null | undefined,
  previous?: ReadonlyMap<string, number>,
  doubtful: ReadonlySet<number> = new Set(),
): QueueRerank {
  const started = performance.now();
  const classes = labels.length;
  const index = new Map(labels.map((label, i) => [label, i] as const));
  const cellOf = (prediction: Prediction, i: number): number => {
    const teacher = prediction.teacher === null ? undefined : index.get(prediction.teacher);
    const suggested = index.get(queueSuggestion(prediction, doubtful.has(i) ? 'doubtful' : 'flagged'));
    return teacher === undefined || suggested === undefined ? -1 : teacher * classes + suggested;
  };
  const fitRows: { p: number; cell: number; wrong: boolean }[] = [];
  let reviewed = 0;
  predictions.forEach((prediction, i) => {
    const human = humanNow(keys[i]);
    if (human === undefined || human === null || prediction.human !== null) return;
    reviewed += 1;
    if (prediction.teacher !== null) fitRows.push({ p: prediction.p_teacher_wrong, cell: cellOf(prediction, i), wrong: human !== prediction.teacher });
  });
  const correction = fitReviewCorrection(fitRows);
  const scores = new Map<string, number>();
  predictions.forEach((prediction, i) => {
    if (!prediction.flagged && !doubtful.has(i)) return;
    const key = keys[i];
    const human = humanNow(key) ?? prediction.human;
    scores.set(key, human === null ? correctedScore(correction, prediction.p_teacher_wrong, cellOf(prediction, i)) : (previous?.get(key) ?? prediction.p_teacher_wrong));
  });
  return { scores, reviewed, correction, ms: performance.now() - started };
}
