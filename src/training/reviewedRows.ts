/**
 * Which human labels came from reviewing a run's queue rather than from a random sample (issue 10 §2, "Retrain with
 * My Labels"). Plain TypeScript.
 *
 * A reviewed row was chosen because the run doubted its teacher label, so a set of reviewed rows is the top of a
 * ranking, not a sample: its teacher accuracy is far below the file's (AG News: about 20 % among the first 1,000
 * reviewed, against 80 % overall). Used as calibration pairs they would tell the engine that the teacher is mostly
 * wrong. So the engine trains on them like any human label but leaves them out of every estimator that assumes a
 * random sample (calibration.ts isSampleLabel): the teacher's confusion, the recalibration, the do-no-harm test, the
 * 90 % intervals, the encoder choice and the human-label checks of the summary.
 *
 * Rule: a row's human label counts as reviewed when the previous run of the dataset flagged that row while it had no
 * human label (the user labelled it after seeing the run's doubt: in Label Review, through a quick fix, or by hand),
 * or when the previous run already counted it as reviewed (settings.json `reviewedIds`), so a chain of retrainings
 * keeps the distinction. Human labels on rows the run did not flag count as the sample, as before.
 */
import type { Prediction, TrainingRow } from './types';

export interface PreviousRun {
  runId: string;
  predictions: readonly Pick<Prediction, 'id' | 'human' | 'flagged'>[];
  /** settings.json `reviewedIds` of that run (absent: a run that predates it, or none were reviewed). */
  reviewedIds?: readonly string[];
}

/**
 * Marks `reviewed` on the rows whose human label came from review (see above); returns how many. Rows without a human
 * label are left unmarked. Matched by row id (ids shared by several rows: all of them).
 */
export function markReviewedRows(rows: TrainingRow[], previous: PreviousRun | undefined): number {
  if (!previous) return 0;
  const fromReview = new Set(previous.reviewedIds ?? []);
  for (const prediction of previous.predictions) if (prediction.flagged && prediction.human === null) fromReview.add(prediction.id);
  let marked = 0;
  for (const row of rows) {
    if (row.human !== null && fromReview.has(row.id)) {
      row.reviewed = true;
      marked++;
    }
  }
  return marked;
}

/** The ids to record in settings.json `reviewedIds`. */
export function reviewedIdsOf(rows: readonly TrainingRow[]): string[] {
  return [...new Set(rows.filter((row) => row.reviewed).map((row) => row.id))];
}
