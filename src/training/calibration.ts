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
  /** Flag threshold on pTeacherWrong, chosen to maximise the expected F1 of the flags. */
  threshold: number;
  /** The suggestion replaces the teacher label only where pTeacherWrong ≥ this (see chooseChangeThreshold). */
  changeThreshold: number;
  /** Mean of π(teacher label) over teacher-labelled rows without a human label. */
  estimatedTeacherAccuracy: number;
  /** On human rows that also carry a teacher label, with parameters fitted without the row (cross-fitted). */
  humanCheck: { rows: number; teacherAccuracy: number; advisedAccuracy: number; logLikelihood: number };
}

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
  // Human rows are exact (true, teacher) pairs. They are few; weight them as much as the rows they stand for.
  let humanPairs = 0;
  for (let i = 0; i < rows; i++) if (human[i] >= 0 && teacher[i] >= 0 && include(i)) humanPairs++;
  let teacherRows = 0;
  for (let t = 0; t < classes; t++) teacherRows += teacherCount[t];
  const humanWeight = humanPairs > 0 ? Math.max(1, teacherRows / humanPairs) * humanShare(humanPairs) : 0;
  const confidentWeight = 1 - (humanPairs > 0 ? humanShare(humanPairs) : 0);
  const counts = new Float64Array(classes * classes);
  for (let k = 0; k < counts.length; k++) counts[k] = 1 + confidentWeight * joint[k];
  for (let i = 0; i < rows; i++) {
    if (human[i] >= 0 && teacher[i] >= 0 && include(i)) counts[human[i] * classes + teacher[i]] += humanWeight;
  }
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

/** Splits the listed rows into at most k groups, deterministically (round-robin in row order). */
function crossFitGroups(rows: readonly number[], k: number): number[][] {
  const groups: number[][] = Array.from({ length: Math.min(k, rows.length) }, () => []);
  rows.forEach((row, i) => groups[i % groups.length].push(row));
  return groups;
}

export function calibrate(input: CalibrationInput, crossFitFolds = 5, priorStrength = 1, changeGuard = true): CalibrationResult {
  const { classes, teacher, human } = input;
  const rows = teacher.length;
  const humanRows: number[] = [];
  for (let i = 0; i < rows; i++) if (human[i] >= 0) humanRows.push(i);
  const humanPairs = humanRows.filter((row) => teacher[row] >= 0);

  const confusion = estimateConfusion(input);
  const parameters = fitParameters(input, confusion, humanPairs, priorStrength);

  // Cross-fitted check on the human pairs: each group's parameters (and confusion) are fitted without it.
  const scratch = new Float64Array(classes);
  let teacherRight = 0;
  let advisedRight = 0;
  let logLikelihood = 0;
  const crossFitted = new Map<number, { wrong: number; best: number }>();
  for (const group of crossFitGroups(humanPairs, crossFitFolds > 0 ? crossFitFolds : humanPairs.length)) {
    const held = new Set(group);
    const foldConfusion = estimateConfusion(input, (row) => !held.has(row));
    const foldParameters = fitParameters(input, foldConfusion, humanPairs.filter((row) => !held.has(row)), priorStrength);
    for (const row of group) {
      rowPosterior(input, foldParameters, row, scratch);
      if (teacher[row] === human[row]) teacherRight++;
      if (argmax(scratch, 0, classes) === human[row]) advisedRight++;
      logLikelihood += Math.log(Math.max(scratch[human[row]], 1e-12));
      crossFitted.set(row, { wrong: 1 - scratch[teacher[row]], best: argmax(scratch, 0, classes) });
    }
  }
  const changeThreshold = !changeGuard ? 0.5 : chooseChangeThreshold(humanPairs.map((row) => ({ ...crossFitted.get(row)!, teacher: teacher[row], truth: human[row] })));

  const posterior = new Float32Array(rows * classes);
  const suggested = new Int32Array(rows);
  const advised = new Int32Array(rows);
  const pTeacherWrong = new Float32Array(rows);
  const candidates = new Uint8Array(rows);
  let teacherRowCount = 0;
  let teacherRightExpected = 0;
  for (let i = 0; i < rows; i++) {
    if (human[i] >= 0) {
      posterior[i * classes + human[i]] = 1;
      suggested[i] = human[i];
      advised[i] = human[i];
      continue;
    }
    rowPosterior(input, parameters, i, posterior, i * classes);
    suggested[i] = argmax(posterior, i * classes, classes);
    advised[i] = suggested[i];
    if (teacher[i] >= 0) {
      pTeacherWrong[i] = 1 - posterior[i * classes + teacher[i]];
      if (pTeacherWrong[i] < changeThreshold) advised[i] = teacher[i];
      candidates[i] = suggested[i] !== teacher[i] ? 1 : 0;
      teacherRowCount++;
      teacherRightExpected += posterior[i * classes + teacher[i]];
    }
  }
  const threshold = chooseFlagThreshold(pTeacherWrong, candidates);
  const flagged = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) flagged[i] = candidates[i] && pTeacherWrong[i] >= threshold ? 1 : 0;
  return {
    parameters,
    posterior,
    suggested,
    advised,
    pTeacherWrong,
    flagged,
    threshold,
    changeThreshold,
    estimatedTeacherAccuracy: teacherRowCount > 0 ? teacherRightExpected / teacherRowCount : NaN,
    humanCheck: {
      rows: humanPairs.length,
      teacherAccuracy: humanPairs.length ? teacherRight / humanPairs.length : NaN,
      advisedAccuracy: humanPairs.length ? advisedRight / humanPairs.length : NaN,
      logLikelihood,
    },
  };
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
    threshold: NaN,
    changeThreshold: 0.5,
    estimatedTeacherAccuracy: teacherRows ? teacherRight / teacherRows : NaN,
    humanCheck: { rows: 0, teacherAccuracy: NaN, advisedAccuracy: NaN, logLikelihood: NaN },
  };
}

export function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
