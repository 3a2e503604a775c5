/**
 * Calibrated advice: per row, the probability that each label is right, given the teacher's label and the peers'
 * out-of-fold probabilities. Maths and references: docs/METHOD.md ("Calibrated advice").
 *
 *   π_i(y) ∝ M[y][t_i] · e^{γ·[y = t_i]} · S_i(y) · p_i(y)^α
 *
 * M[y][t] = P(teacher says t | true label y): the teacher's confusion, estimated from the human labels and the rows
 * where the peers are confident (cleanlab's confident joint), Laplace-smoothed. γ adjusts trust in the teacher
 * (log-odds of the teacher's own label), α tempers the peers. S_i carries the teacher's reported confidence c_i:
 * S_i(t_i) = (c_i / c̄)^β, S_i(y ≠ t_i) = ((1 − c_i) / (1 − c̄))^β, with c̄ the mean reported confidence. α, γ, β
 * maximise the log-likelihood of the human labels (cross-fitted when the result is evaluated on those same rows).
 */

import { SeededRandom } from './random';

export interface CalibrationInput {
  classes: number;
  /** Out-of-fold peer probabilities, rows × classes. */
  peerProbs: Float32Array;
  /** Teacher label index per row, -1 where the teacher abstained. */
  teacher: Int32Array;
  /** Human label index per row, -1 where none. */
  human: Int32Array;
  /** Teacher's probability for its label per row, NaN where unknown. */
  teacherConfidence: Float32Array;
  /**
   * 1 where the human label came from reviewing an earlier run's queue (types.ts TrainingRow.reviewed): a known label
   * (its row is advised, never flagged) but not a random pair, so no estimator here uses it. Absent: none.
   */
  reviewed?: Uint8Array;
}

/** A human label that may serve as a random sample of the rows (not one chosen by review). */
export function isSampleLabel(input: Pick<CalibrationInput, 'human' | 'reviewed'>, row: number): boolean {
  return input.human[row] >= 0 && !input.reviewed?.[row];
}

export interface CalibrationParameters {
  alpha: number;
  gamma: number;
  beta: number;
  /** Mean reported teacher confidence (c̄), NaN when no row reports one. */
  meanConfidence: number;
  /** P(teacher = t | true = y), classes × classes, row y. */
  confusion: Float32Array;
}

export interface CalibrationResult {
  parameters: CalibrationParameters;
  /** Calibrated advice, rows × classes (one-hot on human rows). */
  posterior: Float32Array;
  /** Most probable label under the advice: what a reviewer is shown, and what flags are raised on. */
  suggested: Int32Array;
  /**
   * The label the engine adopts by itself: the suggestion only where pTeacherWrong ≥ changeThreshold, else the
   * teacher's ("do no harm"). Flags are not guarded this way because a person decides on them; automatic relabelling
   * (the final student's hard targets, the advised-label accuracy) is.
   */
  advised: Int32Array;
  /** 1 − π(teacher label); 0 on human rows and rows without a teacher label. */
  pTeacherWrong: Float32Array;
  flagged: Uint8Array;
  /** Flag threshold on pTeacherWrong, chosen to maximise the expected F1 of the flags; null for the naive advice (no threshold: every disagreement is flagged). */
  threshold: number | null;
  /** The suggestion replaces the teacher label only where pTeacherWrong ≥ this (see chooseChangeThreshold). */
  changeThreshold: number;
  /** Mean of π(teacher label) over teacher-labelled rows without a human label; null when there are none. */
  estimatedTeacherAccuracy: number | null;
  /**
   * On human rows that also carry a teacher label, with parameters fitted without the row (cross-fitted); the
   * figures are null when there are no such rows (`rows` 0).
   */
  humanCheck: { rows: number; teacherAccuracy: number | null; advisedAccuracy: number | null; logLikelihood: number | null };
  /** P(teacher wrong) = σ(intercept + slope · logit(raw)), fitted on the human pairs. */
  recalibration: Recalibration;
  /** The figures a user is shown, each with a 90 % interval (see trustFigures). */
  trust: TrustFigures;
  /**
   * The human pairs as trustFigures saw them (each P(teacher right) cross-fitted), so that a caller can recompute the
   * intervals on the same random sample after changing other rows (src/review/rerank.ts).
   */
  trustPairs: { row: number; pRight: number; right: boolean }[];
}

/**
 * An estimate with its 90 % interval; low and high are null where nothing can bound it (no human pairs to check
 * against). Never NaN: metrics.json holds these as they are (JSON has no NaN), and the user reads them.
 */
export interface Interval {
  estimate: number;
  low: number | null;
  high: number | null;
}

/** A share with nothing to estimate it on (no row with a teacher label and no human label): every field null. */
export interface NoEstimate {
  estimate: null;
  low: null;
  high: null;
}

export const NO_ESTIMATE: NoEstimate = { estimate: null, low: null, high: null };

export interface TrustFigures {
  /** Share of right teacher labels among teacher-labelled rows without a human label (NoEstimate: there are none). */
  teacherAccuracy: Interval | NoEstimate;
  /** Number of wrong teacher labels among those rows. */
  teacherErrors: Interval;
  /** Number of wrong teacher labels among the flagged rows. */
  flaggedWrong: Interval;
}

/** Two-sided 90 %: the 95th percentile of the standard normal. */
export const Z90 = 1.6448536269514722;

export const ALPHA_GRID = [0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3];
export const GAMMA_GRID = [-3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2];
export const BETA_GRID = [0, 0.5, 1, 2];

const FLOOR = 1e-6;

/**
 * The teacher's confusion P(t | y), from human rows (exact pairs) and confident peer rows (cleanlab's confident joint,
 * rescaled so that each teacher label keeps its observed count), plus one pseudo-count per cell.
 * @param include which rows may contribute (to leave out a cross-fitting fold).
 */
export function estimateConfusion(input: CalibrationInput, include: (row: number) => boolean = () => true): Float32Array {
  const pairs: number[] = [];
  for (let i = 0; i < input.teacher.length; i++) if (isSampleLabel(input, i) && input.teacher[i] >= 0 && include(i)) pairs.push(i);
  return confusionOf(input, confidentJoint(input, include), pairs);
}

/** The part of the confusion estimate that reads every row: the rows with a teacher label and no human label. */
interface ConfidentJoint {
  /** classes × classes (best peer label, teacher label), each teacher-label column rescaled to its row count. */
  joint: Float64Array;
  /** Rows per teacher label. */
  teacherCount: Float64Array;
}

function confidentJoint(input: CalibrationInput, include: (row: number) => boolean = () => true): ConfidentJoint {
  const { classes, peerProbs, teacher, human } = input;
  const rows = teacher.length;
  // Per-class confidence thresholds: mean peer probability of class j over rows the teacher labelled j.
  const thresholdSum = new Float64Array(classes);
  const thresholdCount = new Float64Array(classes);
  for (let i = 0; i < rows; i++) {
    const t = teacher[i];
    if (t < 0 || human[i] >= 0 || !include(i)) continue;
    thresholdSum[t] += peerProbs[i * classes + t];
    thresholdCount[t]++;
  }
  const joint = new Float64Array(classes * classes);
  const teacherCount = new Float64Array(classes);
  for (let i = 0; i < rows; i++) {
    const t = teacher[i];
    if (t < 0 || human[i] >= 0 || !include(i)) continue;
    teacherCount[t]++;
    let best = -1;
    for (let y = 0; y < classes; y++) {
      const p = peerProbs[i * classes + y];
      const threshold = thresholdCount[y] > 0 ? thresholdSum[y] / thresholdCount[y] : 1;
      if (p >= threshold && (best < 0 || p > peerProbs[i * classes + best])) best = y;
    }
    if (best >= 0) joint[best * classes + t]++;
  }
  // Rescale each teacher-label column to the number of rows the teacher gave that label.
  for (let t = 0; t < classes; t++) {
    let column = 0;
    for (let y = 0; y < classes; y++) column += joint[y * classes + t];
    if (column > 0) for (let y = 0; y < classes; y++) joint[y * classes + t] *= teacherCount[t] / column;
  }
  return { joint, teacherCount };
}

/** The confusion from the confident joint and the human pairs (rows with a random-sample human label and a teacher label, ascending). */
function confusionOf(input: CalibrationInput, { joint, teacherCount }: ConfidentJoint, pairs: readonly number[]): Float32Array {
  const { classes, teacher, human } = input;
  // Human rows are exact (true, teacher) pairs. They are few; weight them as much as the rows they stand for.
  const humanPairs = pairs.length;
  let teacherRows = 0;
  for (let t = 0; t < classes; t++) teacherRows += teacherCount[t];
  const humanWeight = humanPairs > 0 ? Math.max(1, teacherRows / humanPairs) * humanShare(humanPairs) : 0;
  const confidentWeight = 1 - (humanPairs > 0 ? humanShare(humanPairs) : 0);
  const counts = new Float64Array(classes * classes);
  for (let k = 0; k < counts.length; k++) counts[k] = 1 + confidentWeight * joint[k];
  for (const i of pairs) counts[human[i] * classes + teacher[i]] += humanWeight;
  const confusion = new Float32Array(classes * classes);
  for (let y = 0; y < classes; y++) {
    let total = 0;
    for (let t = 0; t < classes; t++) total += counts[y * classes + t];
    for (let t = 0; t < classes; t++) confusion[y * classes + t] = counts[y * classes + t] / total;
  }
  return confusion;
}

/**
 * How much of the confusion estimate rests on the human pairs: they are unbiased but few, the confident joint is
 * plentiful but biased where the peers are confidently wrong. n/(n+50): half-and-half at 50 human pairs.
 */
function humanShare(humanPairs: number): number {
  return humanPairs / (humanPairs + 50);
}

/** π for one row (writes classes values into out). */
export function rowPosterior(
  input: CalibrationInput,
  parameters: CalibrationParameters,
  row: number,
  out: Float64Array | Float32Array,
  offset = 0,
): void {
  const { classes, peerProbs, teacher, teacherConfidence } = input;
  const { alpha, gamma, beta, meanConfidence, confusion } = parameters;
  const t = teacher[row];
  const c = teacherConfidence[row];
  const useConfidence = beta !== 0 && t >= 0 && Number.isFinite(c) && Number.isFinite(meanConfidence);
  const cc = useConfidence ? Math.min(Math.max(c, FLOOR), 1 - FLOOR) : 0;
  let max = -Infinity;
  for (let y = 0; y < classes; y++) {
    let log = alpha * Math.log(Math.max(peerProbs[row * classes + y], FLOOR));
    if (t >= 0) {
      log += Math.log(confusion[y * classes + t]);
      if (y === t) log += gamma;
      if (useConfidence) log += beta * (y === t ? Math.log(cc / meanConfidence) : Math.log((1 - cc) / (1 - meanConfidence)));
    }
    out[offset + y] = log;
    if (log > max) max = log;
  }
  let sum = 0;
  for (let y = 0; y < classes; y++) {
    out[offset + y] = Math.exp(out[offset + y] - max);
    sum += out[offset + y];
  }
  for (let y = 0; y < classes; y++) out[offset + y] /= sum;
}

/** Sum of log π(human label) over the human rows listed (those with a teacher label carry information about M). */
function humanLogLikelihood(input: CalibrationInput, parameters: CalibrationParameters, rows: readonly number[]): number {
  const scratch = new Float64Array(input.classes);
  let total = 0;
  for (const row of rows) {
    rowPosterior(input, parameters, row, scratch);
    total += Math.log(Math.max(scratch[input.human[row]], 1e-12));
  }
  return total;
}

function meanReportedConfidence(input: CalibrationInput): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < input.teacher.length; i++) {
    const c = input.teacherConfidence[i];
    if (input.teacher[i] >= 0 && Number.isFinite(c)) {
      sum += Math.min(Math.max(c, FLOOR), 1 - FLOOR);
      count++;
    }
  }
  return count > 0 ? sum / count : NaN;
}

/**
 * α, γ, β by maximum likelihood of the human labels listed, on a small grid. Ties (and the no-data case) go to the
 * neutral point α = 1, γ = 0, β = 0; a weak Gaussian prior around it keeps a handful of rows from over-fitting.
 */
/** Temperatures tried for the advice on rows without a teacher label. */
export const TEMPERATURE_GRID = [0.25, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4];

/**
 * The peers' temperature for rows without a teacher label (the teacher abstained): p(y)^τ renormalised, τ maximising
 * the likelihood of every human label under its row's out-of-fold peer probabilities (temperature scaling, Guo et
 * al., 2017). One parameter on all human rows, so 50 labels pin it down well; without human rows, τ = 1.
 */
export function fitPeerTemperature(input: CalibrationInput, humanRows: readonly number[]): number {
  const { classes, peerProbs, human } = input;
  let best = 1;
  let bestScore = -Infinity;
  for (const tau of TEMPERATURE_GRID) {
    let score = 0;
    for (const row of humanRows) {
      let max = -Infinity;
      for (let y = 0; y < classes; y++) max = Math.max(max, tau * Math.log(Math.max(peerProbs[row * classes + y], FLOOR)));
      let sum = 0;
      for (let y = 0; y < classes; y++) sum += Math.exp(tau * Math.log(Math.max(peerProbs[row * classes + y], FLOOR)) - max);
      score += tau * Math.log(Math.max(peerProbs[row * classes + human[row]], FLOOR)) - max - Math.log(sum);
    }
    if (score > bestScore + 1e-9 || (Math.abs(score - bestScore) <= 1e-9 && Math.abs(tau - 1) < Math.abs(best - 1))) {
      bestScore = score;
      best = tau;
    }
  }
  return humanRows.length > 0 ? best : 1;
}

export function fitParameters(input: CalibrationInput, confusion: Float32Array, humanRows: readonly number[], priorStrength = 1): CalibrationParameters {
  const meanConfidence = meanReportedConfidence(input);
  const anyConfidence = humanRows.some((row) => Number.isFinite(input.teacherConfidence[row]));
  const betas = anyConfidence && Number.isFinite(meanConfidence) ? BETA_GRID : [0];
  let best: CalibrationParameters = { alpha: 1, gamma: 0, beta: 0, meanConfidence, confusion };
  if (humanRows.length === 0) return best;
  let bestScore = -Infinity;
  for (const alpha of ALPHA_GRID) {
    for (const gamma of GAMMA_GRID) {
      for (const beta of betas) {
        const candidate = { alpha, gamma, beta, meanConfidence, confusion };
        const prior = -0.5 * priorStrength * (Math.log(alpha) ** 2 / 0.25 + gamma * gamma + beta * beta);
        const score = humanLogLikelihood(input, candidate, humanRows) + prior;
        if (score > bestScore + 1e-9) {
          bestScore = score;
          best = candidate;
        }
      }
    }
  }
  return best;
}

/**
 * The flag threshold maximising the expected F1 of "flag = teacher wrong" under the calibrated posterior: with flags
 * F = {p ≥ τ}, E[TP] = Σ_F p and E[errors] = Σ_all p, so E[F1] ≈ 2·Σ_F p / (|F| + Σ_all p).
 * Only rows whose suggestion differs from the teacher label can be flagged.
 */
export function chooseFlagThreshold(pTeacherWrong: Float32Array, candidates: Uint8Array): number {
  let expectedErrors = 0;
  const scores: number[] = [];
  for (let i = 0; i < pTeacherWrong.length; i++) {
    expectedErrors += pTeacherWrong[i];
    if (candidates[i]) scores.push(pTeacherWrong[i]);
  }
  if (scores.length === 0 || expectedErrors <= 0) return 1;
  scores.sort((a, b) => b - a);
  let truePositives = 0;
  let bestF1 = -1;
  let threshold = 1;
  for (let k = 0; k < scores.length; k++) {
    truePositives += scores[k];
    const f1 = (2 * truePositives) / (k + 1 + expectedErrors);
    if (f1 > bestF1) {
      bestF1 = f1;
      threshold = scores[k];
    }
  }
  return threshold;
}

/** Candidate values of the change threshold κ; above 1 means "never change the teacher label". */
export const CHANGE_GRID = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01];

/**
 * "Do no harm": the suggestion replaces the teacher label only where P(teacher wrong) ≥ κ. Judged on the human
 * pairs with cross-fitted posteriors: unless some κ gets strictly more pairs right than keeping every teacher label,
 * κ = never (above 1) — the human labels have not shown that changing helps. Otherwise the smallest κ among those
 * with the most pairs right (κ = 0.5 is the plain arg-max, the Bayes decision under π).
 */
export function chooseChangeThreshold(pairs: { wrong: number; best: number; teacher: number; truth: number }[]): number {
  if (pairs.length === 0) return 0.5;
  const never = CHANGE_GRID[CHANGE_GRID.length - 1];
  const rightAt = (kappa: number) => pairs.filter((pair) => (pair.wrong >= kappa ? pair.best : pair.teacher) === pair.truth).length;
  let bestKappa = never;
  let bestRight = rightAt(never);
  for (const kappa of CHANGE_GRID) {
    const right = rightAt(kappa);
    if (right > bestRight) {
      bestRight = right;
      bestKappa = kappa;
    }
  }
  return bestKappa;
}

/**
 * Leave-one-out cross-fitting refits the calibration once per human pair: fine for the usual 50, quadratic for a file
 * with thousands of random human labels. Above this many pairs, `crossFitFolds: 0` means this many groups instead.
 */
export const MAX_CROSS_FIT_GROUPS = 100;

/** Splits the listed rows into at most k groups, deterministically (round-robin in row order). */
function crossFitGroups(rows: readonly number[], k: number): number[][] {
  const groups: number[][] = Array.from({ length: Math.min(k, rows.length) }, () => []);
  rows.forEach((row, i) => groups[i % groups.length].push(row));
  return groups;
}

/** How the raw posterior is turned into the probabilities the user sees and the labels the engine adopts. */
export interface CalibrateOptions {
  /** Groups of human pairs for cross-fitting; 0 = leave one out (up to MAX_CROSS_FIT_GROUPS groups). */
  crossFitFolds: number;
  /** Strength of the prior that keeps α, γ, β near neutral. */
  priorStrength: number;
  /**
   * Which labels the engine adopts by itself: `bound` = where the do-no-harm test on the gain allows it
   * (chooseChangeByGainBound); `kappa` = the older threshold κ chosen on the human pairs alone; `off` = the arg-max.
   */
  changeGuard: 'bound' | 'kappa' | 'off';
  /** One-sided level of the do-no-harm test of `bound`. */
  harmLevel: number;
  /** `platt`: P(teacher wrong) recalibrated on the human pairs (see fitRecalibration); `none`: the raw posterior. */
  recalibration: 'platt' | 'none';
  /** Prior standard deviations of the recalibration's intercept and slope around the identity (0, 1). */
  recalibrationPrior: { intercept: number; slope: number; slopeMean?: number };
}

export const DEFAULT_CALIBRATE: CalibrateOptions = {
  crossFitFolds: 0,
  priorStrength: 1,
  changeGuard: 'bound',
  harmLevel: 0.05,
  recalibration: 'platt',
  recalibrationPrior: { intercept: 2, slope: 1 },
};

const LOGIT_LIMIT = 1e-4;

function logit(p: number): number {
  const q = Math.min(1 - LOGIT_LIMIT, Math.max(LOGIT_LIMIT, p));
  return Math.log(q / (1 - q));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export interface Recalibration {
  intercept: number;
  slope: number;
  /** Laplace approximation of the posterior covariance of (intercept, slope): [var a, cov ab, var b]. */
  covariance: [number, number, number];
}

export const IDENTITY_RECALIBRATION: Recalibration = { intercept: 0, slope: 1, covariance: [0, 0, 0] };

/** The slope is kept positive: the recalibration may flatten the ranking, never reverse it. */
export const MIN_SLOPE = 0.05;

/**
 * P(teacher wrong) recalibrated as σ(a + b·logit p) (Platt scaling, Platt 1999), fitted by penalised maximum
 * likelihood on the human pairs' cross-fitted p, with a Gaussian prior around the identity (a = 0, b = 1). The prior
 * is what "shrink towards what the human rows support" means with 50 labels: where the pairs show the raw posterior
 * discriminating (the teacher's errors among them scored high), b stays near 1; where they do not, b falls towards 0
 * and every row's probability moves towards the error rate the pairs support, instead of staying confidently wrong.
 * Newton's method on a concave objective: converges in a few steps.
 */
export function fitRecalibration(pairs: readonly { wrongProbability: number; wrong: boolean }[], prior: CalibrateOptions['recalibrationPrior']): Recalibration {
  if (pairs.length === 0) return IDENTITY_RECALIBRATION;
  const x = pairs.map((pair) => logit(pair.wrongProbability));
  const y = pairs.map((pair) => (pair.wrong ? 1 : 0));
  const slopeMean = prior.slopeMean ?? 1;
  let fit = { intercept: 0, slope: slopeMean, covariance: [prior.intercept ** 2, 0, prior.slope ** 2] as Recalibration['covariance'], change: 0 };
  for (let iteration = 0; iteration < 50; iteration++) {
    const step = plattNewtonStep(x, y, null, fit.intercept, fit.slope, { ...prior, slopeMean });
    if (!step) break;
    fit = step;
    if (step.change < 1e-10) break;
  }
  return { intercept: fit.intercept, slope: fit.slope, covariance: fit.covariance };
}

/**
 * One Newton step of the penalised logistic fit P(y = 1) = σ(a + b·x_k + offset_k) in (a, b), with Gaussian priors
 * a ~ N(0, intercept²), b ~ N(slopeMean, slope²), b kept ≥ MIN_SLOPE. Returns the new (a, b), the Laplace covariance
 * [var a, cov ab, var b] at the old point, and the size of the step; null where the Hessian is singular. Shared by the
 * recalibration here and the review correction (review/rerank.ts), which adds per-cell offsets.
 */
export function plattNewtonStep(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  offsets: ((k: number) => number) | null,
  a: number,
  b: number,
  prior: { intercept: number; slope: number; slopeMean: number },
): { intercept: number; slope: number; covariance: Recalibration['covariance']; change: number } | null {
  const ia = 1 / (prior.intercept * prior.intercept);
  const ib = 1 / (prior.slope * prior.slope);
  let ga = -a * ia;
  let gb = -(b - prior.slopeMean) * ib;
  let haa = -ia;
  let hab = 0;
  let hbb = -ib;
  for (let k = 0; k < x.length; k++) {
    const p = sigmoid(a + b * x[k] + (offsets ? offsets(k) : 0));
    const r = y[k] - p;
    const w = p * (1 - p);
    ga += r;
    gb += r * x[k];
    haa -= w;
    hab -= w * x[k];
    hbb -= w * x[k] * x[k];
  }
  const det = haa * hbb - hab * hab;
  if (!(Math.abs(det) > 1e-12)) return null;
  const da = (hbb * ga - hab * gb) / det;
  const db = (haa * gb - hab * ga) / det;
  return {
    intercept: a - da,
    slope: Math.max(MIN_SLOPE, b - db),
    covariance: [-hbb / det, hab / det, -haa / det],
    change: Math.abs(da) + Math.abs(db),
  };
}

/**
 * Which rows the engine relabels by itself: the threshold κ on the recalibrated P(teacher wrong) whose relabelling
 * gains the most right labels *in the worst 5 % of plausible recalibrations*. The gain of relabelling row i from
 * its teacher label t to the suggestion s is π_i(s) − π_i(t), a function of the recalibration (a, b); (a, b) is drawn
 * from its Laplace posterior (seeded), so a recalibration that the human pairs pin down gives a tight bound and one
 * they cannot pin down (few teacher errors among them, as with a strong teacher) a loose one. Relabelling happens only
 * where even that 5th percentile is a gain of at least `minGain` right labels (default minChangeGain: 0.1 % of the
 * candidates, at least one label): a one-sided test at 5 % that relabelling does not lower the accuracy of the
 * labels, with a smallest effect worth acting on (docs/METHOD.md, "Do no harm"). Returns κ, or above 1 for "never".
 */
export function chooseChangeByGainBound(
  candidates: readonly { rawWrong: number; rawSuggested: number }[],
  recalibration: Recalibration,
  quantile = 0.05,
  samples: readonly Recalibration[] = recalibrationDraws(recalibration),
  minGain = minChangeGain(candidates.length),
): { kappa: number; lowerBound: number } {
  const never = { kappa: CHANGE_GRID[CHANGE_GRID.length - 1], lowerBound: 0 };
  const grid = CHANGE_GRID.slice(0, -1);
  // The rows each κ would relabel are nested (those with a gain at the point estimate and a recalibrated P(wrong) ≥ κ):
  // a row is kept once with the number of grid values it passes, so that one pass per draw sums the gain of every κ
  // at once (in the rows' order, as a sum per κ would: the same bits), instead of one pass per κ and draw.
  const kept: number[] = [];
  const levels: number[] = [];
  const counts = new Array<number>(grid.length).fill(0);
  candidates.forEach((candidate, k) => {
    const pointWrong = applyRecalibration(recalibration, candidate.rawWrong);
    let level = 0;
    while (level < grid.length && pointWrong >= grid[level]) level++;
    if (level === 0 || !(gainOf(recalibration, candidate) > 0)) return;
    kept.push(k);
    levels.push(level);
    for (let j = 0; j < level; j++) counts[j]++;
  });
  if (kept.length === 0) return never;
  const rawWrong = Float64Array.from(kept, (k) => candidates[k].rawWrong);
  const rawSuggested = Float64Array.from(kept, (k) => candidates[k].rawSuggested);
  const logits = rawWrong.map(logit);
  const level = Int32Array.from(levels);
  const gains = grid.map(() => new Float64Array(samples.length));
  const sums = new Float64Array(grid.length);
  const variances = new Float64Array(grid.length);
  const luck = outcomeDraws(samples.length);
  samples.forEach((sample, s) => {
    sums.fill(0);
    variances.fill(0);
    for (let i = 0; i < kept.length; i++) {
      const { gain, variance } = gainAndVariance(sample, rawWrong[i], rawSuggested[i], logits[i]);
      for (let j = 0; j < level[i]; j++) {
        sums[j] += gain;
        variances[j] += variance;
      }
    }
    for (let j = 0; j < grid.length; j++) gains[j][s] = sums[j] + luck[s] * Math.sqrt(variances[j]);
  });
  let best = never;
  grid.forEach((kappa, j) => {
    if (counts[j] === 0) return;
    const sorted = gains[j].sort();
    const lowerBound = sorted[Math.floor(quantile * sorted.length)];
    if (lowerBound > best.lowerBound) best = { kappa, lowerBound };
  });
  return best.lowerBound >= minGain ? best : never;
}

/**
 * The smallest pessimistic gain, in right labels, for which the engine relabels at all: 0.1 % of the candidate rows
 * (10 of 10,000), and at least one whole label. Below it a change is lost in the final student's training noise (2
 * relabelled rows of 10,000 left a final student 0.08 points below the vanilla one), and the 5th percentile of a
 * Laplace posterior is least trustworthy (a use-lite peer on the 94 % teacher passed with 7.5 labels and lost 18).
 * Measured in docs/BENCHMARKS.md ("Encoders"); the reasoning is in docs/METHOD.md.
 */
export function minChangeGain(candidates: number): number {
  return Math.max(MIN_CHANGE_GAIN_LABELS, MIN_CHANGE_GAIN_SHARE * candidates);
}

const MIN_CHANGE_GAIN_LABELS = 1;
const MIN_CHANGE_GAIN_SHARE = 0.001;

/** Seeded draws of (a, b) from the recalibration's Laplace posterior; the first is the point estimate itself. */
export function recalibrationDraws(recalibration: Recalibration, draws = 256): Recalibration[] {
  const [va, cab, vb] = recalibration.covariance;
  // Cholesky factor of the 2 × 2 covariance.
  const l11 = Math.sqrt(Math.max(va, 0));
  const l21 = l11 > 0 ? cab / l11 : 0;
  const l22 = Math.sqrt(Math.max(vb - l21 * l21, 0));
  const random = new SeededRandom(0x5eed);
  const samples: Recalibration[] = [recalibration];
  for (let k = 1; k < draws; k++) {
    const z1 = random.normal();
    const z2 = random.normal();
    samples.push({ intercept: recalibration.intercept + l11 * z1, slope: Math.max(MIN_SLOPE, recalibration.slope + l21 * z1 + l22 * z2), covariance: recalibration.covariance });
  }
  return samples;
}

/**
 * One standard normal per posterior draw (seeded, fixed): the luck of the relabelled rows' outcomes under that draw.
 * Under a draw the realised gain of relabelling is a sum of independent outcomes (+1 where the suggestion is right,
 * −1 where the teacher was, 0 where both are wrong); its normal approximation, drawn once per draw, makes the 5th
 * percentile one of the realised gain (predictive), not only of its expectation.
 */
export function outcomeDraws(count: number): Float64Array {
  const random = new SeededRandom(0x10cc);
  return Float64Array.from({ length: count }, () => random.normal());
}

/**
 * The expected gain π(s) − π(t) of relabelling one row under a recalibration, and the variance of its outcome
 * (+1 with probability π(s), −1 with π(t), else 0: π(s) + π(t) − (π(s) − π(t))²).
 */
function gainAndVariance(recalibration: Recalibration, rawWrong: number, rawSuggested: number, logitWrong: number): { gain: number; variance: number } {
  const wrong = recalibratedFromLogit(recalibration, rawWrong, logitWrong);
  const suggested = rawWrong > 1e-12 ? (rawSuggested * wrong) / rawWrong : 0;
  const gain = suggested - (1 - wrong);
  return { gain, variance: Math.max(0, suggested + (1 - wrong) - gain * gain) };
}

/** π(s) − π(t) after recalibration: the expected change in right labels if row's teacher label t is replaced by s. */
function gainOf(recalibration: Recalibration, candidate: { rawWrong: number; rawSuggested: number }): number {
  return gainFromLogit(recalibration, candidate.rawWrong, candidate.rawSuggested, logit(candidate.rawWrong));
}

/** gainOf with logit(rawWrong) computed once by the caller (it is the same for every draw). */
function gainFromLogit(recalibration: Recalibration, rawWrong: number, rawSuggested: number, logitWrong: number): number {
  const wrong = recalibratedFromLogit(recalibration, rawWrong, logitWrong);
  const suggested = rawWrong > 1e-12 ? (rawSuggested * wrong) / rawWrong : 0;
  return suggested - (1 - wrong);
}

export function applyRecalibration(recalibration: Recalibration, wrongProbability: number): number {
  return recalibratedFromLogit(recalibration, wrongProbability, recalibration === IDENTITY_RECALIBRATION ? 0 : logit(wrongProbability));
}

/** applyRecalibration with `logitWrong` = logit(wrongProbability) given (unused by the identity). */
function recalibratedFromLogit(recalibration: Recalibration, wrongProbability: number, logitWrong: number): number {
  if (recalibration === IDENTITY_RECALIBRATION) return wrongProbability;
  return sigmoid(recalibration.intercept + recalibration.slope * logitWrong);
}

/**
 * A posterior row (classes values at offset) rescaled so that the teacher's label gets 1 − wrong and the other labels
 * share `wrong` in their old proportions: the suggestion among the other labels is unchanged.
 */
function rescaleRow(values: Float32Array | Float64Array, offset: number, classes: number, t: number, wrong: number): void {
  const oldWrong = 1 - values[offset + t];
  for (let y = 0; y < classes; y++) {
    if (y === t) values[offset + y] = 1 - wrong;
    else values[offset + y] = oldWrong > 1e-12 ? (values[offset + y] * wrong) / oldWrong : wrong / (classes - 1);
  }
}

/**
 * A label held by fewer labelled rows than this (and by fewer than half as many as the median label) is one the peers
 * cannot judge: each peer trains on about (K − 1)/K of its rows, and a bag of words learns nothing from a handful. On
 * AG News with a label added on 1, 3 or 10 rows (the teacher right on each), the peers gave it 0.4–14 % and every such
 * row was flagged with P(teacher wrong) 0.85–1.0 and most were relabelled away; on 30 rows 3 were flagged and none
 * relabelled (docs/METHOD.md, "Labels on few rows").
 */
export const MIN_JUDGED_LABEL_ROWS = 30;
const MIN_JUDGED_SHARE_OF_MEDIAN = 0.5;
/** The weight, in human pairs, of the base error rate in the error rate of a label the peers cannot judge. */
const UNJUDGED_PRIOR_PAIRS = 2;

/**
 * Which labels the peers cannot judge, from each label's count of labelled rows (the human label where there is
 * one, else the teacher's: the students' targets). A label with no row at all is never a teacher label, so it is
 * left out of the median and marked false. The median rule keeps a small file whose labels all have a few dozen rows
 * judged as before: only a label far rarer than the others is set apart.
 */
export function unjudgedLabels(counts: readonly number[]): boolean[] {
  const median = medianLabelRows(counts);
  if (median === undefined) return counts.map(() => false);
  return counts.map((count) => count > 0 && count < MIN_JUDGED_LABEL_ROWS && count < MIN_JUDGED_SHARE_OF_MEDIAN * median);
}

/** The median of the labels' counts of labelled rows, labels with no row left out; undefined when no label has one. */
export function medianLabelRows(counts: readonly number[]): number | undefined {
  const present = counts.filter((count) => count > 0).sort((a, b) => a - b);
  if (present.length === 0) return undefined;
  const middle = present.length >> 1;
  return present.length % 2 ? present[middle] : (present[middle - 1] + present[middle]) / 2;
}

/** Each label's count of labelled rows: the human label where there is one, else the teacher's. */
export function labelledRowCounts(input: Pick<CalibrationInput, 'classes' | 'teacher' | 'human'>): number[] {
  const counts = new Array<number>(input.classes).fill(0);
  for (let i = 0; i < input.teacher.length; i++) {
    const label = input.human[i] >= 0 ? input.human[i] : input.teacher[i];
    if (label >= 0) counts[label]++;
  }
  return counts;
}

export function calibrate(input: CalibrationInput, options: Partial<CalibrateOptions> = {}): CalibrationResult {
  const settings: CalibrateOptions = { ...DEFAULT_CALIBRATE, ...options };
  const { crossFitFolds, priorStrength } = settings;
  const { classes, teacher, human } = input;
  const rows = teacher.length;
  const humanRows: number[] = [];
  for (let i = 0; i < rows; i++) if (isSampleLabel(input, i)) humanRows.push(i);
  // Rows whose teacher label the peers cannot judge keep it (below); the do-no-harm test leaves them out. So do the
  // calibration's fits: on a human pair of such a label the peers' verdict says nothing about how far to trust them
  // (a right label they barely saw reads as certainly wrong), and one such pair among ten random ones vetoed every
  // relabelling. Those pairs are judged as their label's unlabelled rows are, at the base error rate (below).
  const unjudged = unjudgedLabels(labelledRowCounts(input));
  const allPairs = humanRows.filter((row) => teacher[row] >= 0);
  const humanPairs = allPairs.filter((row) => !unjudged[teacher[row]]);
  const unjudgedPairs = allPairs.filter((row) => unjudged[teacher[row]]);

  // The confident joint reads only rows without a human label, which no cross-fitting group holds out: it is the
  // same for every group, so it is counted once (a pass over every row per group cost 15 s a stage at a million rows).
  const joint = confidentJoint(input);
  const confusion = confusionOf(input, joint, humanPairs);
  const parameters = fitParameters(input, confusion, humanPairs, priorStrength);

  // Cross-fitted posteriors of the human pairs: each group's parameters (and confusion) are fitted without it.
  const crossFitted = new Map<number, Float64Array>();
  for (const group of crossFitGroups(humanPairs, crossFitFolds > 0 ? crossFitFolds : Math.min(humanPairs.length, MAX_CROSS_FIT_GROUPS))) {
    const held = new Set(group);
    const foldConfusion = confusionOf(input, joint, humanPairs.filter((row) => !held.has(row)));
    const foldParameters = fitParameters(input, foldConfusion, humanPairs.filter((row) => !held.has(row)), priorStrength);
    for (const row of group) {
      const scratch = new Float64Array(classes);
      rowPosterior(input, foldParameters, row, scratch);
      crossFitted.set(row, scratch);
    }
  }
  // Recalibration of P(teacher wrong) on the pairs; each pair's own value recalibrated without it (leave one out).
  const pairScores = humanPairs.map((row) => ({ wrongProbability: 1 - crossFitted.get(row)![teacher[row]], wrong: teacher[row] !== human[row] }));
  const fit = (list: typeof pairScores) => (settings.recalibration === 'platt' ? fitRecalibration(list, settings.recalibrationPrior) : IDENTITY_RECALIBRATION);
  const recalibration = fit(pairScores);
  humanPairs.forEach((row, k) => {
    const without = fit(pairScores.filter((_, j) => j !== k));
    const values = crossFitted.get(row)!;
    rescaleRow(values, 0, classes, teacher[row], applyRecalibration(without, pairScores[k].wrongProbability));
  });

  let teacherRight = 0;
  let advisedRight = 0;
  let logLikelihood = 0;
  for (const row of humanPairs) {
    const values = crossFitted.get(row)!;
    const best = argmax(values, 0, classes);
    if (teacher[row] === human[row]) teacherRight++;
    if (best === human[row]) advisedRight++;
    logLikelihood += Math.log(Math.max(values[human[row]], 1e-12));
  }
  // The raw posterior of every teacher-labelled row without a human label: P(teacher wrong) and the best other label.
  const rawWrong = new Float32Array(rows);
  const rawBestOther = new Float32Array(rows);
  {
    const scratch = new Float64Array(classes);
    for (let i = 0; i < rows; i++) {
      if (human[i] >= 0 || teacher[i] < 0) continue;
      rowPosterior(input, parameters, i, scratch);
      rawWrong[i] = 1 - scratch[teacher[i]];
      let best = 0;
      for (let y = 0; y < classes; y++) if (y !== teacher[i] && scratch[y] > best) best = scratch[y];
      rawBestOther[i] = best;
    }
  }
  const draws = recalibrationDraws(recalibration);
  let changeThreshold: number;
  if (settings.changeGuard === 'kappa') {
    changeThreshold = chooseChangeThreshold(
      humanPairs.map((row) => {
        const values = crossFitted.get(row)!;
        return { wrong: 1 - values[teacher[row]], best: argmax(values, 0, classes), teacher: teacher[row], truth: human[row] };
      }),
    );
  } else if (settings.changeGuard === 'bound') {
    const candidates: { rawWrong: number; rawSuggested: number }[] = [];
    for (let i = 0; i < rows; i++) if (human[i] < 0 && teacher[i] >= 0 && !unjudged[teacher[i]]) candidates.push({ rawWrong: rawWrong[i], rawSuggested: rawBestOther[i] });
    changeThreshold = chooseChangeByGainBound(candidates, recalibration, settings.harmLevel, draws).kappa;
  } else {
    changeThreshold = 0;
  }

  // Rows without a teacher label: the peers alone, tempered on every human label.
  const abstainedParameters: CalibrationParameters = { ...parameters, alpha: fitPeerTemperature(input, humanRows) };
  const posterior = new Float32Array(rows * classes);
  const suggested = new Int32Array(rows);
  const advised = new Int32Array(rows);
  const pTeacherWrong = new Float32Array(rows);
  const candidates = new Uint8Array(rows);
  let teacherRowCount = 0;
  let teacherRightExpected = 0;
  const setApart: number[] = [];
  let judgedWrong = 0;
  let judgedRows = 0;
  for (let i = 0; i < rows; i++) {
    if (human[i] >= 0) {
      posterior[i * classes + human[i]] = 1;
      suggested[i] = human[i];
      advised[i] = human[i];
      continue;
    }
    rowPosterior(input, teacher[i] >= 0 ? parameters : abstainedParameters, i, posterior, i * classes);
    if (teacher[i] >= 0) rescaleRow(posterior, i * classes, classes, teacher[i], applyRecalibration(recalibration, 1 - posterior[i * classes + teacher[i]]));
    if (teacher[i] >= 0 && unjudged[teacher[i]]) {
      setApart.push(i);
      continue;
    }
    suggested[i] = argmax(posterior, i * classes, classes);
    advised[i] = suggested[i];
    if (teacher[i] >= 0) {
      pTeacherWrong[i] = 1 - posterior[i * classes + teacher[i]];
      if (pTeacherWrong[i] < changeThreshold) advised[i] = teacher[i];
      candidates[i] = suggested[i] !== teacher[i] ? 1 : 0;
      teacherRowCount++;
      teacherRightExpected += posterior[i * classes + teacher[i]];
      judgedRows++;
      judgedWrong += pTeacherWrong[i];
    }
  }
  // A teacher label the peers cannot judge: its row keeps it, with P(teacher wrong) the teacher's estimated error
  // rate on the rows they can judge (the other labels keep their calibrated proportions), rather than the peers' near-zero
  // probability for a label they barely saw, which read as "certainly wrong".
  // No such row (every other teacher label is on human-labelled rows): the teacher's error rate on the human pairs,
  // smoothed (one right, one wrong); 0.5 read a teacher right on 100 of 100 pairs as 50 % right and flagged the rows.
  let pairsWrong = 0;
  for (const row of allPairs) if (teacher[row] !== human[row]) pairsWrong++;
  const baseWrong = judgedRows > 0 ? judgedWrong / judgedRows : (pairsWrong + 1) / (allPairs.length + 2);
  // Where humans labelled rows of such a label, their verdict moves its rate: the base rate as a prior worth
  // UNJUDGED_PRIOR_PAIRS pairs. A label the teacher made up on a few rows, which every human label refutes, so reads
  // as probably wrong and is flagged (still never relabelled: the peers cannot tell which label is right); one the
  // humans confirm reads as right. Without such pairs, the base rate.
  const labelPairs = new Map<number, { pairs: number; wrong: number }>();
  for (const row of unjudgedPairs) {
    const seen = labelPairs.get(teacher[row]) ?? { pairs: 0, wrong: 0 };
    seen.pairs++;
    if (teacher[row] !== human[row]) seen.wrong++;
    labelPairs.set(teacher[row], seen);
  }
  const labelWrong = (label: number, leaveOut?: number): number => {
    const seen = labelPairs.get(label);
    if (!seen) return baseWrong;
    const pairs = seen.pairs - (leaveOut === undefined ? 0 : 1);
    const wrong = seen.wrong - (leaveOut === undefined ? 0 : Number(teacher[leaveOut] !== human[leaveOut]));
    return (wrong + UNJUDGED_PRIOR_PAIRS * baseWrong) / (pairs + UNJUDGED_PRIOR_PAIRS);
  };
  for (const i of setApart) {
    const wrong = labelWrong(teacher[i]);
    rescaleRow(posterior, i * classes, classes, teacher[i], wrong);
    rawWrong[i] = wrong;
    suggested[i] = argmax(posterior, i * classes, classes);
    // A tie (P(wrong) 0.5 over two labels) keeps the teacher's label: the row is never relabelled.
    if (posterior[i * classes + teacher[i]] >= posterior[i * classes + suggested[i]]) suggested[i] = teacher[i];
    advised[i] = teacher[i];
    pTeacherWrong[i] = wrong;
    candidates[i] = suggested[i] !== teacher[i] ? 1 : 0;
    teacherRowCount++;
    teacherRightExpected += 1 - wrong;
  }
  // The human pairs of such a label: the posterior its unlabelled rows get, each without its own verdict (cross-fitted,
  // as every pair is), in the checks and the intervals.
  for (const row of unjudgedPairs) {
    const values = new Float64Array(classes);
    rowPosterior(input, parameters, row, values);
    rescaleRow(values, 0, classes, teacher[row], labelWrong(teacher[row], row));
    crossFitted.set(row, values);
    if (teacher[row] === human[row]) {
      teacherRight++;
      advisedRight++; // the engine keeps the teacher's label there
    }
    logLikelihood += Math.log(Math.max(values[human[row]], 1e-12));
  }
  const threshold = chooseFlagThreshold(pTeacherWrong, candidates);
  const flagged = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) flagged[i] = candidates[i] && pTeacherWrong[i] >= threshold ? 1 : 0;
  const trustPairs = allPairs.map((row) => ({ row, pRight: crossFitted.get(row)![teacher[row]], right: teacher[row] === human[row] }));
  const trust = trustFigures(input, pTeacherWrong, flagged, trustPairs);
  const { low: flaggedLow, high: flaggedHigh } = trust.flaggedWrong;
  if (settings.recalibration === 'platt' && humanPairs.length > 0 && flaggedLow !== null && flaggedHigh !== null) {
    // The flagged rows' expected number of errors under every plausible recalibration, plus their own spread.
    const flaggedRaw: number[] = [];
    for (let i = 0; i < rows; i++) if (flagged[i]) flaggedRaw.push(rawWrong[i]);
    const flaggedLogits = flaggedRaw.map(logit);
    const totals = draws
      .map((draw) => {
        let sum = 0;
        for (let k = 0; k < flaggedRaw.length; k++) sum += recalibratedFromLogit(draw, flaggedRaw[k], flaggedLogits[k]);
        return sum;
      })
      .sort((x, y) => x - y);
    let variance = 0;
    for (let i = 0; i < rows; i++) if (flagged[i]) variance += pTeacherWrong[i] * (1 - pTeacherWrong[i]);
    const own = Z90 * Math.sqrt(variance);
    // The union with the interval from the error count (trustFigures): each covers a different way of being wrong.
    trust.flaggedWrong = {
      estimate: trust.flaggedWrong.estimate,
      low: Math.max(0, Math.min(flaggedLow, Math.min(trust.flaggedWrong.estimate, totals[Math.floor(0.05 * totals.length)]) - own)),
      high: Math.min(flaggedRaw.length, Math.max(flaggedHigh, Math.max(trust.flaggedWrong.estimate, totals[Math.ceil(0.95 * (totals.length - 1))]) + own)),
    };
  }
  return {
    trust,
    trustPairs,
    parameters,
    recalibration,
    posterior,
    suggested,
    advised,
    pTeacherWrong,
    flagged,
    threshold,
    changeThreshold,
    estimatedTeacherAccuracy: teacherRowCount > 0 ? teacherRightExpected / teacherRowCount : null,
    humanCheck: {
      rows: allPairs.length,
      teacherAccuracy: allPairs.length ? teacherRight / allPairs.length : null,
      advisedAccuracy: allPairs.length ? advisedRight / allPairs.length : null,
      logLikelihood: allPairs.length ? logLikelihood : null,
    },
  };
}

/**
 * What the user is told, with 90 % intervals that rest on the human pairs (prediction-powered inference,
 * Angelopoulos et al., Science 2023): the model's mean P(teacher right) over all N rows, corrected by the mean
 * error of the model on the n human pairs (each judged cross-fitted, so the correction is unbiased),
 *
 *   θ̂ = mean_N π(t) + mean_n (1[t = h] − π_cf(t)),   Var θ̂ = Var_N π(t) / N + Var_n(rectifier) / n.
 *
 * Two pseudo-pairs (one right, one wrong, each at the model's mean) keep the interval from collapsing when every
 * pair agrees. The count of wrong labels among the flagged rows is the model's Σ p over them, rescaled by how far the
 * interval of the error count lets the model's total be off, plus its own Poisson-binomial spread.
 */
export function trustFigures(
  input: CalibrationInput,
  pTeacherWrong: Float32Array,
  flagged: Uint8Array,
  pairs: readonly { pRight: number; right: boolean }[],
): TrustFigures {
  const { teacher, human } = input;
  let n = 0;
  let sum = 0;
  let sumSquares = 0;
  let flaggedExpected = 0;
  let flaggedVariance = 0;
  let flaggedCount = 0;
  for (let i = 0; i < teacher.length; i++) {
    if (teacher[i] < 0 || human[i] >= 0) continue;
    const right = 1 - pTeacherWrong[i];
    n++;
    sum += right;
    sumSquares += right * right;
    if (flagged[i]) {
      flaggedCount++;
      flaggedExpected += pTeacherWrong[i];
      flaggedVariance += pTeacherWrong[i] * (1 - pTeacherWrong[i]);
    }
  }
  // No such row: no share to estimate, and no error among them, for certain (none can be flagged either).
  if (n === 0) return { teacherAccuracy: { ...NO_ESTIMATE }, teacherErrors: { estimate: 0, low: 0, high: 0 }, flaggedWrong: { estimate: 0, low: 0, high: 0 } };
  const modelMean = sum / n;
  const modelVariance = n > 1 ? Math.max(0, (sumSquares - n * modelMean * modelMean) / (n - 1)) : 0;
  if (pairs.length === 0) {
    return {
      teacherAccuracy: { estimate: modelMean, low: null, high: null },
      teacherErrors: { estimate: n * (1 - modelMean), low: null, high: null },
      flaggedWrong: { estimate: flaggedExpected, low: null, high: null },
    };
  }
  const rectifiers = pairs.map((pair) => Number(pair.right) - pair.pRight);
  const correction = rectifiers.reduce((a, b) => a + b, 0) / rectifiers.length;
  const padded = [...rectifiers, 1 - modelMean, -modelMean];
  const paddedMean = padded.reduce((a, b) => a + b, 0) / padded.length;
  const rectifierVariance = padded.reduce((a, b) => a + (b - paddedMean) ** 2, 0) / (padded.length - 1);
  const estimate = clamp01(modelMean + correction);
  const spread = Z90 * Math.sqrt(modelVariance / n + rectifierVariance / rectifiers.length);
  const teacherAccuracy = { estimate, low: clamp01(estimate - spread), high: clamp01(estimate + spread) };
  const modelErrors = n * (1 - modelMean);
  const teacherErrors = { estimate: n * (1 - estimate), low: n * (1 - teacherAccuracy.high), high: n * (1 - teacherAccuracy.low) };
  const scaleLow = modelErrors > 0 ? teacherErrors.low / modelErrors : 1;
  const scaleHigh = modelErrors > 0 ? teacherErrors.high / modelErrors : 1;
  const own = Z90 * Math.sqrt(flaggedVariance);
  const flaggedWrong = {
    estimate: flaggedExpected,
    low: Math.max(0, flaggedExpected * Math.min(1, scaleLow) - own),
    high: Math.min(flaggedCount, flaggedExpected * Math.max(1, scaleHigh) + own),
  };
  return { teacherAccuracy, teacherErrors, flaggedWrong };
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/**
 * The paper's recipe without calibration ("naive" peer advice): the peer's arg-max replaces the teacher label,
 * flags wherever they differ, ranking by 1 − p_peer(teacher label). Kept as the baseline the benchmark compares with.
 */
export function naiveAdvice(input: CalibrationInput): CalibrationResult {
  const { classes, teacher, human, peerProbs } = input;
  const rows = teacher.length;
  const posterior = new Float32Array(rows * classes);
  const suggested = new Int32Array(rows);
  const pTeacherWrong = new Float32Array(rows);
  const flagged = new Uint8Array(rows);
  let teacherRows = 0;
  let teacherRight = 0;
  for (let i = 0; i < rows; i++) {
    suggested[i] = human[i] >= 0 ? human[i] : argmax(peerProbs, i * classes, classes);
    posterior[i * classes + suggested[i]] = 1;
    if (human[i] < 0 && teacher[i] >= 0) {
      pTeacherWrong[i] = 1 - peerProbs[i * classes + teacher[i]];
      flagged[i] = suggested[i] !== teacher[i] ? 1 : 0;
      teacherRows++;
      teacherRight += peerProbs[i * classes + teacher[i]];
    }
  }
  return {
    parameters: { alpha: 1, gamma: 0, beta: 0, meanConfidence: NaN, confusion: new Float32Array(classes * classes) },
    posterior,
    suggested,
    advised: suggested,
    pTeacherWrong,
    flagged,
    threshold: null,
    changeThreshold: 0.5,
    estimatedTeacherAccuracy: teacherRows ? teacherRight / teacherRows : null,
    humanCheck: { rows: 0, teacherAccuracy: null, advisedAccuracy: null, logLikelihood: null },
    recalibration: IDENTITY_RECALIBRATION,
    trust: trustFigures(input, pTeacherWrong, flagged, []),
    trustPairs: [],
  };
}

export function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
