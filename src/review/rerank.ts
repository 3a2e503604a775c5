/**
 * Re-ranking as the user decides, without a new training run (issue 10 §2). A run's predictions.jsonl keeps, per
 * row, the out-of-fold peer probabilities, the teacher label and the human label the run saw; from those and the
 * human labels now in the document this module recomputes the calibrated advice, the flags, the adopted labels, the
 * trust intervals and the review order. Plain TypeScript (no `vscode`), fast: the run's calibration is fitted once
 * (`prepareRerank`), each re-rank after that is linear in the rows.
 *
 * Reviewed rows are the top of the ranking, not a random sample, so they are kept out of every estimator that
 * assumes one (docs/METHOD.md, "Re-ranking as you review"):
 *   - the calibration (confusion, α/γ/β, the Platt recalibration, the do-no-harm threshold, the flag threshold) and
 *     the PPI intervals rest on the run's own human rows only, exactly as the run fitted them; so p_teacher_wrong, the
 *     flags and the adopted labels of unreviewed rows stay the run's;
 *   - a reviewed row is a known label: its advice is one-hot on the human label, p_teacher_wrong 0, never flagged,
 *     and it leaves the population the intervals describe (rows without a human label), so adding reviewed rows
 *     never narrows an interval by posing as a random sample;
 *   - what the reviewed rows do teach is the order of the queue: a correction of P(teacher wrong) given the row's
 *     scores,
 *       logit P(wrong) = a + b · logit(p) + u[teacher, suggested],
 *     p the run's calibrated P(teacher wrong), fitted by penalised maximum likelihood on the reviewed rows with
 *     Gaussian priors around no change (a = 0, b = 1, u = 0). Which rows get reviewed depends only on their scores
 *     (and on other rows' decisions), never on their own true label: the reviewed rows are selected on the
 *     covariates, so a model of P(wrong | scores) fitted on them is not biased by the selection (missing at random
 *     given the scores). It does extrapolate below the scores it saw, so its values are used to sort the queue
 *     (`rankScore`) and never shown as probabilities: on AG News it finds more errors than the run's static order,
 *     but its probabilities for the unreviewed rows overshoot (docs/BENCHMARKS.md, review loop). A cell of
 *     (teacher, suggested) whose suggestions the reviewer keeps refusing moves down the queue; one whose
 *     suggestions are confirmed more often than predicted moves up.
 * Inverse-probability weighting is not an option: a row below the review cut had probability 0 of being reviewed,
 * so no weight can stand for it.
 */
import {
  calibrate,
  trustFigures,
  plattNewtonStep,
  type CalibrateOptions,
  type CalibrationInput,
  type CalibrationResult,
  type TrustFigures,
} from '../training/calibration';
import { labelRecord, probabilityOf } from '../training/labelRecord';
import { assignRowKeys } from './rowKeys';
import type { Prediction } from '../training/types';

/** What re-ranking needs of a run. */
export interface RerankRun {
  /** The run's label set (metrics.json `labels`). */
  labels: readonly string[];
  /** The run's predictions, in file order. */
  predictions: readonly Prediction[];
  /** Teacher's reported probability for its label per row (same order), where the dataset has one. */
  teacherConfidence?: readonly (number | null)[];
  /** Calibration options of the run (defaults: the engine's). */
  calibrateOptions?: Partial<CalibrateOptions>;
  /**
   * Keys (rowKeys.ts) of the rows whose human label the run counted as set in review, not as a random sample
   * (settings.json `reviewedIds`, training/reviewedRows.ts): refitted without them, exactly as the run fitted its calibration.
   */
  reviewedIds?: readonly string[];
}

/** Gaussian prior standard deviations of the review correction (see the module comment). */
export const REVIEW_CORRECTION_PRIOR = { intercept: 1, slope: 0.5, cell: 1 };

export interface ReviewCorrection {
  intercept: number;
  slope: number;
  /** Shift per (teacher, suggested) cell that reviewed rows fell in, keyed `teacher * classes + suggested`. */
  cells: Map<number, number>;
  /** Reviewed rows with a teacher label the correction was fitted on. */
  rows: number;
}

export interface RerankResult {
  /** The predictions, same order: reviewed rows carry their human label, one-hot advice, p_teacher_wrong 0, no flag. */
  predictions: Prediction[];
  /**
   * The review queue: rows with a teacher label and no human label, by rankScore, highest first (ties: file order).
   */
  order: number[];
  /**
   * P(teacher wrong) after the review correction, per row (0 on rows with a human label): what the queue is sorted by.
   * It is not what the user is told: p_teacher_wrong stays the run's calibrated value (see the module comment).
   */
  rankScore: Float32Array;
  /** The label the engine adopts per row: the human label where there is one, else the run's (calibrate's `advised`). */
  adopted: (string | null)[];
  /** Rows with a human label now that the run did not have (the reviewed rows). */
  reviewed: number;
  correction: ReviewCorrection;
  /** What the user is told (rows with a teacher label and no human label), intervals on the run's human pairs. */
  trust: TrustFigures;
}

export interface Reranker {
  /** The run's calibration, refitted from predictions.jsonl on the run's own human labels. */
  readonly base: CalibrationResult;
  /** @param humanNow the human label of each prediction's row as the document has it now (null where none). */
  rerank(humanNow: readonly (string | null)[]): RerankResult;
}

const LOGIT_LIMIT = 1e-4;
const logit = (p: number) => {
  const q = Math.min(1 - LOGIT_LIMIT, Math.max(LOGIT_LIMIT, p));
  return Math.log(q / (1 - q));
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Fits the run's calibration once; each `rerank` then costs one pass over the rows. */
export function prepareRerank(run: RerankRun): Reranker {
  const { labels, predictions } = run;
  const classes = labels.length;
  const rows = predictions.length;
  const labelIndex = new Map(labels.map((label, index) => [label, index]));
  const indexOf = (label: string | null) => (label === null ? -1 : (labelIndex.get(label) ?? -1));
  const peerProbs = new Float32Array(rows * classes);
  predictions.forEach((prediction, i) => {
    labels.forEach((label, c) => (peerProbs[i * classes + c] = probabilityOf(prediction.peer_probs, label) ?? 0));
  });
  const teacher = Int32Array.from(predictions, (prediction) => indexOf(prediction.teacher));
  const runHuman = Int32Array.from(predictions, (prediction) => indexOf(prediction.human));
  const teacherConfidence = Float32Array.from(predictions, (_, i) => run.teacherConfidence?.[i] ?? NaN);
  // Listed by key (the id, with the row's order where rows share it), as the run listed them.
  const reviewedIds = new Set(run.reviewedIds ?? []);
  const keys = reviewedIds.size > 0 ? assignRowKeys(predictions.map((prediction) => prediction.id)) : [];
  const reviewed = Uint8Array.from(predictions, (prediction, i) => (prediction.human !== null && reviewedIds.has(keys[i]) ? 1 : 0));
  const input: CalibrationInput = { classes, peerProbs, teacher, human: runHuman, teacherConfidence, reviewed };
  const base = calibrate(input, run.calibrateOptions);
  const baseProbs = predictions.map((_, i) => labelRecord(labels.map((label, c) => [label, base.posterior[i * classes + c]] as const)));

  function rerank(humanNow: readonly (string | null)[]): RerankResult {
    if (humanNow.length !== rows) throw new Error(`rerank: ${humanNow.length} human labels for ${rows} predictions`);
    // Rows whose human label is new (or changed) since the run: known labels, never part of a random-sample fit.
    const reviewedRows: number[] = [];
    for (let i = 0; i < rows; i++) if (humanNow[i] !== null && humanNow[i] !== predictions[i].human) reviewedRows.push(i);
    const correction = fitReviewCorrection(
      reviewedRows
        .filter((i) => teacher[i] >= 0 && runHuman[i] < 0)
        .map((i) => ({ p: base.pTeacherWrong[i], cell: teacher[i] * classes + base.suggested[i], wrong: humanNow[i] !== predictions[i].teacher })),
    );
    const pTeacherWrong = new Float32Array(rows);
    const rankScore = new Float32Array(rows);
    const flagged = new Uint8Array(rows);
    // For the intervals only membership matters: a row with a human label now (an out-of-set one too) is left out.
    const known = Int32Array.from(humanNow, (h) => (h === null ? -1 : 0));
    const order: number[] = [];
    for (let i = 0; i < rows; i++) {
      if (humanNow[i] !== null || teacher[i] < 0) continue;
      pTeacherWrong[i] = base.pTeacherWrong[i];
      flagged[i] = base.flagged[i];
      rankScore[i] = correctedScore(correction, pTeacherWrong[i], teacher[i] * classes + base.suggested[i]);
      order.push(i);
    }
    order.sort((x, y) => rankScore[y] - rankScore[x] || x - y);
    const trust = trustFigures({ ...input, human: known }, pTeacherWrong, flagged, base.trustPairs);
    const adopted = predictions.map((_, i): string | null => humanNow[i] ?? labels[base.advised[i]]);
    const updated = predictions.map((prediction, i): Prediction => {
      const h = humanNow[i];
      const index = indexOf(h);
      return {
        ...prediction,
        human: h,
        suggested: h ?? labels[base.suggested[i]],
        p_teacher_wrong: pTeacherWrong[i],
        flagged: flagged[i] === 1,
        probs: h === null ? baseProbs[i] : index >= 0 ? labelRecord(labels.map((label, c) => [label, c === index ? 1 : 0] as const)) : prediction.probs,
      };
    });
    return { predictions: updated, order, rankScore, adopted, reviewed: reviewedRows.length, correction, trust };
  }

  return { base, rerank };
}

/**
 * The rank score of an unreviewed row after the review correction: sigmoid(a + b·logit(p) + u[cell]), p the run's
 * calibrated P(teacher wrong), cell `teacher * classes + suggested`; p itself while no reviewed row corrects it.
 */
export function correctedScore(correction: ReviewCorrection, p: number, cell: number): number {
  return correction.rows > 0 ? sigmoid(correction.intercept + correction.slope * logit(p) + (correction.cells.get(cell) ?? 0)) : p;
}

/** One-shot re-rank: `prepareRerank(run).rerank(humanNow)`. Keep the Reranker to re-rank again after more decisions. */
export function rerank(run: RerankRun, humanNow: readonly (string | null)[]): RerankResult {
  return prepareRerank(run).rerank(humanNow);
}

/**
 * The review correction logit P(wrong) = a + b·logit(p) + u[cell] by penalised maximum likelihood (Gaussian priors
 * REVIEW_CORRECTION_PRIOR around a = 0, b = 1, u = 0): block Newton steps, (a, b) jointly then each cell's u, until
 * the steps vanish. The objective is concave, so this converges to its one maximum; b is kept ≥ MIN_SLOPE so the
 * correction never reverses the ranking within a cell.
 */
export function fitReviewCorrection(rows: readonly { p: number; cell: number; wrong: boolean }[], prior = REVIEW_CORRECTION_PRIOR): ReviewCorrection {
  const cells = new Map<number, number>();
  for (const row of rows) cells.set(row.cell, 0);
  let a = 0;
  let b = 1;
  if (rows.length === 0) return { intercept: a, slope: b, cells, rows: 0 };
  const x = rows.map((row) => logit(row.p));
  const y = rows.map((row) => Number(row.wrong));
  const iu = 1 / prior.cell ** 2;
  const members = new Map<number, number[]>();
  rows.forEach((row, k) => members.set(row.cell, [...(members.get(row.cell) ?? []), k]));
  for (let sweep = 0; sweep < 100; sweep++) {
    let change = 0;
    // (a, b) with the cell shifts as offsets.
    const step = plattNewtonStep(x, y, (k) => cells.get(rows[k].cell)!, a, b, { intercept: prior.intercept, slope: prior.slope, slopeMean: 1 });
    if (step) {
      a = step.intercept;
      b = step.slope;
      change += step.change;
    }
    for (const [cell, list] of members) {
      const u = cells.get(cell)!;
      let g = -u * iu;
      let h = -iu;
      for (const k of list) {
        const p = sigmoid(a + b * x[k] + u);
        g += Number(rows[k].wrong) - p;
        h -= p * (1 - p);
      }
      const step = g / h;
      cells.set(cell, u - step);
      change += Math.abs(step);
    }
    if (change < 1e-9) break;
  }
  return { intercept: a, slope: b, cells, rows: rows.length };
}
