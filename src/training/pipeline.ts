/**
 * The distillation method, end to end (docs/METHOD.md):
 *   1. vanilla KD: one student on every teacher label plus the human labels;
 *   2. peer advice: K stratified folds of the labelled rows; each fold is predicted by a peer trained on the others;
 *      repeated for S stages, each stage's peers learning from the previous stage's calibrated advice;
 *   3. calibrated advice: peers' out-of-fold probabilities (averaged over stages) × the teacher's estimated confusion;
 *   4. final student on the advice (soft or hard targets) plus the human labels.
 * Plain TypeScript, no `vscode`; runs in the worker process and in the CLI.
 */
import { calibrate, isSampleLabel, naiveAdvice, argmax, type CalibrationInput, type CalibrationResult, type TrustFigures, type Interval, type CalibrateOptions, DEFAULT_CALIBRATE, NO_ESTIMATE } from './calibration';
import { WorkPlan } from './workPlan';
import { fitFeaturizer, fitTransform, compactBuckets, transform, DEFAULT_FEATURIZER, type FeaturizerConfig, type SparseRows, tokenize } from './featurize';
import { selectBackend, type TensorFlow } from './backend';
import { firstRowOfText, keepTextsTogether, stratifiedFolds } from './splits';
import { createStudentPool, shared, type StudentJob, type TrainedStudent } from './studentPool';
import { trainStudent, predictStudent, effectiveEpochs, DEFAULT_STUDENT, STUDENT_DIVERGED, type DenseRows, type StudentOptions, type StudentWeights } from './student';
import { EarlyEncoding, startEarlyEncoding } from './earlyEncoding';
import { encodeTexts, fitStandardiser, resolveEncoder, standardise, type DenseStandardiser, type EncoderChoice, type EncoderEnvironment, type TextEncoder } from './encoder';
import { EmbeddingCache } from './embeddingCache';
import type { TrainedModel } from './model';
import { ENGINE_WARNING_PREFIX, EXPLANATION_LIMITS, type DistillOptions, type DistillPhase, type DistillProgress, type RowExplanation, type TrainingRow } from './types';
import { PredictionTable } from './predictionTable';
import { textsWithSeveralLabels } from './input';
import { explainLogitDifference, mostSimilarRows, type DenseWordVectors } from './explain';

export type { TrainedModel } from './model';

/** Engine knobs beyond DistillOptions (benchmarks and tests set them; users normally keep the defaults). */
export interface EngineTuning {
  featurizer: FeaturizerConfig;
  /** Student for vanilla, peers and final. */
  student: Omit<StudentOptions, 'seed'>;
  /**
   * Label smoothing of the peers, in place of `student.labelSmoothing`: their out-of-fold probabilities are the
   * evidence the calibration and the ranking read, and smoothing them moved the ranking both ways (AG News P@500
   * +0.056, the LLM-like teacher's −0.015, the 94 % teacher's AUROC −0.009; docs/METHOD.md §1).
   */
  peerLabelSmoothing: number;
  /** Peer probabilities fed to the calibration: the last stage's, or the mean over all stages. */
  stageEnsemble: 'last' | 'mean';
  /** Training weight of a human-labelled row relative to a teacher-labelled one. */
  humanWeight: number;
  /**
   * The final student's weight of a row without a human label is π(adopted label)^k, the calibrated probability
   * that the label it learns is right, to this power k (docs/METHOD.md §5); 0: every such row weighs 1.
   */
  finalWeighting: number;
  /** `calibrated` (PeerKD) or `naive` (the paper's hard peer relabelling; a benchmark baseline). */
  advice: 'calibrated' | 'naive';
  /** Strength of the prior that keeps α, γ, β near neutral (1, 0, 0) against few human labels. */
  calibrationPrior: number;
  /** Groups of human pairs for cross-fitting; 0 = leave one out. */
  crossFitFolds: number;
  /** Threads that train independent students at once (studentPool.ts); 0 = one per core, 1 = none (in-process). */
  threads: number;
  /** Which labels the engine adopts by itself (calibration.ts CalibrateOptions.changeGuard). */
  changeGuard: CalibrateOptions['changeGuard'];
  /** Recalibration of P(teacher wrong) on the human pairs (calibration.ts fitRecalibration). */
  recalibration: CalibrateOptions['recalibration'];
  /** Whether an encoder's embedding is kept only where it beats the words alone on the human rows (step 0), or always. */
  keepEncoder: 'if-better' | 'always';
}

export const DEFAULT_TUNING: EngineTuning = {
  featurizer: DEFAULT_FEATURIZER,
  student: (({ seed: _seed, ...rest }) => rest)(DEFAULT_STUDENT),
  peerLabelSmoothing: 0,
  stageEnsemble: 'mean',
  humanWeight: 1,
  // k = 1, the probability that the row's label is right (docs/BENCHMARKS.md, "Weighting the final student"): higher
  // powers gained more on AG News and the LLM-like teachers (k = 4: +0.8 points against +0.15 on AG News) but put a
  // final student below the vanilla one on a teacher whose mistakes sit on the hardest rows (hardest:0.85 seed 3,
  // −0.0049 at k = 4, −0.0001 at k = 2); k = 1 was never below it on six teachers × five seeds.
  finalWeighting: 1,
  advice: 'calibrated',
  calibrationPrior: 1,
  crossFitFolds: 0,
  // One thread per core: on an idle 2-core machine 10,000 rows take 4.3 s instead of 6.3–6.6 s (docs/BENCHMARKS.md,
  // "Scale"); on a machine whose cores are busy with other work they cost a little instead.
  threads: 0,
  changeGuard: DEFAULT_CALIBRATE.changeGuard,
  recalibration: DEFAULT_CALIBRATE.recalibration,
  keepEncoder: 'if-better',
};

/**
 * What a row costs outside the students, in the progress plan's unit (one student's epoch over one row, two students
 * training at a time), so that the fraction and the time left are right from the start of a run instead of after the
 * features. Measured on the 2-core machine with the wasm SIMD student kernel (issue 11), 200,000 and 1,000,000 AG
 * News rows: a student row-epoch 3.5–5 µs of wall time (two students at a time), tokenising and hashing a row
 * 14–15 µs, encoding it with glove about 18 µs, one stage's out-of-fold predictions and calibration 3–5 µs. These set
 * the first time left; each kind of work then has a rate of its own (WorkPlan), and the end of the run is priced per
 * row and per flagged row (EXPLAIN_WORK_PER_FLAGGED_ROW).
 */
const FEATURIZE_WORK_PER_ROW = 3;
const ENCODE_WORK_PER_ROW = 4;
const CALIBRATE_WORK_PER_ROW = 1;
const FINISH_WORK_PER_ROW = 0.5;
/**
 * Explaining one flagged row at the end (its words through the peer that held it out, its most similar human rows),
 * in calibration units (WorkPlan measures the calibrations' rate and prices the end with it): measured at a million
 * noisy rows, 98,795 flagged, about 130 µs a row against about 4 µs per row of one calibration.
 */
const EXPLAIN_WORK_PER_FLAGGED_ROW = 30;
/** The flagged share planned before the first calibration counts them (a teacher about 90 % right). */
const EXPECTED_FLAGGED_SHARE = 0.1;

/** The time left is shown as a range while its two ends differ by more than this share of the longer (WorkPlan). */
const RANGE_SHOWN_ABOVE = 0.15;

/** Which final targets `auto` resolves to (measured in docs/BENCHMARKS.md). */
export const AUTO_FINAL_TARGETS: 'soft' | 'hard' = 'hard';

export interface DistillMetrics {
  rows: number;
  teacherRows: number;
  /** Rows with a human label that may serve as a random sample (every human label except the reviewed ones). */
  humanRows: number;
  /** Rows whose human label was set in review of an earlier run's queue (TrainingRow.reviewed). */
  reviewedRows: number;
  /** Rows with neither a teacher nor a human label: predicted, not trained on. */
  unlabelledRows: number;
  labels: string[];
  folds: number;
  stages: number;
  seed: number;
  finalTargets: 'soft' | 'hard';
  /**
   * The power k of the final student's row weights π(adopted label)^k (finalRowWeights); 0 where its rows were not
   * weighted (no label adopted, so it is the vanilla student, or soft targets). Absent in runs written before it.
   */
  finalWeighting?: number;
  student: Omit<StudentOptions, 'seed'>;
  featurizer: FeaturizerConfig;
  /**
   * Estimated share of right teacher labels among teacher-labelled rows without a human label: the calibrated
   * posterior's mean, corrected on the human pairs (trust.teacherAccuracy, which also holds its 90 % interval);
   * null when there is no such row (every teacher-labelled row has a human label).
   */
  estimatedTeacherAccuracy: number | null;
  /** P(teacher wrong) = σ(intercept + slope · logit(raw posterior)), fitted on the human pairs (calibration.ts). */
  recalibration: { intercept: number; slope: number };
  flaggedCount: number;
  /** Rows whose advised label (the one the engine adopts by itself, after the do-no-harm guard) differs from the teacher's. */
  changedCount: number;
  /** `flag` is null for the naive advice (the benchmark's baseline: every disagreement is flagged, no threshold). */
  thresholds: { flag: number | null; change: number; alpha: number; gamma: number; beta: number };
  /** Estimated P(teacher = column | true = row), labels × labels. */
  teacherConfusion: number[][];
  /** Checks against the human labels, each cross-fitted (no row judged by a model or parameter fitted on it). */
  humanCheck: {
    rows: number;
    /** Human rows that also carry a teacher label. */
    pairedRows: number;
    teacherAccuracy: number | null;
    advisedAccuracy: number | null;
    /** Out-of-fold accuracy of the last stage's peers: the final student's recipe on (K−1)/K of the data. */
    studentAccuracy: number | null;
  };
  /**
   * What the user is told, each figure with its 90 % interval (calibration.ts trustFigures): the bounds are null
   * without human pairs to check against, and teacherAccuracy is all null without a teacher-labelled row left to
   * estimate (every one has a human label).
   */
  trust: TrustFigures;
  timingsMs: Partial<Record<DistillPhase, number>> & { total: number };
  /** Student training throughput: row-epochs per second over all students. */
  rowsPerSecond: number;
  /** Threads that trained students at once (0: one after the other in the run's own thread). */
  studentThreads: number;
  backend: string;
  /** The encoder next to the words: what was asked, what the engine kept, and why (runCanonical, step 0). */
  encoder: EncoderReport;
}

/** metrics.json `encoder`. */
export interface EncoderReport {
  requested: EncoderChoice;
  /** The encoder tried next to the words (null: none was tried). */
  candidate: { name: string; version: string; dims: number } | null;
  /** What the peers and the final student use. */
  used: 'words' | 'words+embedding';
  reason: string;
  /** Cross-fitted accuracy of the stage-1 peers on the human rows, with and without the embedding (null: not compared). */
  humanAccuracy: { words: number; withEmbedding: number } | null;
  /** Mean log-probability of the human label (what decides, keepEmbedding), same peers. */
  humanLogLikelihood: { words: number; withEmbedding: number } | null;
  /** Time to encode the rows, and how many came from the disk cache. */
  encodeMs: number;
  cachedRows: number;
}

export interface DistillOutput {
  /** One per input row, same order (typed arrays; `get(i)` gives one Prediction). */
  predictions: PredictionTable;
  /**
   * One per input row, same order: the label the engine adopts by itself (see CalibrationResult.advised). It differs
   * from `predictions[i].suggested`, the reviewer's suggestion, where the guard keeps the teacher's label.
   */
  advisedLabels: string[];
  /** One per input row, same order: why the row is flagged (null for rows not flagged); `row` is the input position. */
  explanations: (RowExplanation | null)[];
  metrics: DistillMetrics;
  model: TrainedModel;
  /** The vanilla KD student of phase 1 (teacher and human labels), for comparison with the final student. */
  vanillaModel: TrainedModel;
  backend: { name: string; skipped: { name: string; reason: string }[] };
}

export interface DistillHooks {
  onProgress?(progress: DistillProgress): void;
  onLog?(line: string): void;
  signal?: AbortSignal;
  /** Where the encoders find their table and cache (default: the shipped table, no cache). */
  encoders?: EncoderEnvironment;
}

export interface DistillInput {
  rows: TrainingRow[];
  labels: string[];
}

export function abortError(): Error {
  const error = new Error('distillation cancelled');
  error.name = 'AbortError';
  return error;
}

/** Checks the input; errors name the row's line so that the caller can add the file. */
export function validateInput(input: DistillInput, options: Pick<DistillOptions, 'folds' | 'stages'>): void {
  const labels = input.labels;
  if (new Set(labels).size !== labels.length) throw new Error(`the label set has duplicates: ${JSON.stringify(labels)}`);
  if (labels.length < 2) throw new Error(`the label set needs at least 2 labels, got ${labels.length}${labels.length ? ` (${JSON.stringify(labels[0])})` : ''}`);
  if (!Number.isInteger(options.folds) || options.folds < 2) throw new Error(`folds must be an integer >= 2, got ${options.folds}`);
  if (!Number.isInteger(options.stages) || options.stages < 1) throw new Error(`stages must be an integer >= 1, got ${options.stages}`);
  const known = new Set(labels);
  let labelled = 0;
  for (const row of input.rows) {
    if (row.human !== null && !known.has(row.human)) {
      throw new Error(`line ${row.line}: human label ${JSON.stringify(row.human)} is not in the label set ${JSON.stringify(labels)}`);
    }
    if (row.teacher !== null && !known.has(row.teacher)) {
      throw new Error(`line ${row.line}: teacher label ${JSON.stringify(row.teacher)} is not in the label set ${JSON.stringify(labels)}`);
    }
    if (row.teacherConfidence !== null && !(row.teacherConfidence >= 0 && row.teacherConfidence <= 1)) {
      throw new Error(`line ${row.line}: teacher confidence ${row.teacherConfidence} is not a probability between 0 and 1`);
    }
    if (row.teacher !== null || row.human !== null) labelled++;
  }
  if (labelled < options.folds) {
    throw new Error(`only ${labelled} row(s) carry a teacher or human label, fewer than the ${options.folds} folds: label more rows or lower the folds`);
  }
}

function oneHot(index: number, classes: number, out: Float32Array, row: number): void {
  out.fill(0, row * classes, row * classes + classes);
  out[row * classes + index] = 1;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** A figure that may be missing, rounded; null stays null (never NaN: metrics.json would hold null under a `number`). */
function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value);
}

/** Code-unit order: locale-independent, so every machine canonicalises the same way. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareRows(a: TrainingRow, b: TrainingRow): number {
  return (
    compareStrings(a.id, b.id) ||
    compareStrings(a.text, b.text) ||
    compareStrings(a.teacher ?? '', b.teacher ?? '') ||
    compareStrings(a.human ?? '', b.human ?? '') ||
    (a.teacherConfidence ?? -1) - (b.teacherConfidence ?? -1) ||
    Number(a.reviewed ?? false) - Number(b.reviewed ?? false) ||
    a.line - b.line
  );
}

/**
 * The engine's results do not depend on the order of the label set or of the rows (issue 12): the method runs on a
 * canonical order — labels sorted, rows sorted by id (then text) — and the results are mapped back to the caller's
 * order. Label order then only changes display, and a shuffled file gives the same folds, students and advice.
 */
export async function runDistillation(input: DistillInput, options: DistillOptions, hooks: DistillHooks = {}, tuningOverride: Partial<EngineTuning> = {}): Promise<DistillOutput> {
  validateInput(input, options);
  const labels = [...input.labels].sort(compareStrings);
  const order = input.rows.map((_, i) => i).sort((a, b) => compareRows(input.rows[a], input.rows[b]));
  const out = await runCanonical({ rows: order.map((i) => input.rows[i]), labels }, options, hooks, tuningOverride);
  const advisedLabels = new Array<string>(order.length);
  const explanations = new Array<RowExplanation | null>(order.length);
  const from = new Int32Array(order.length); // the caller's row i is the canonical row from[i]
  order.forEach((original, k) => {
    from[original] = k;
    advisedLabels[original] = out.advisedLabels[k];
    const explanation = out.explanations[k];
    explanations[original] = explanation ? { ...explanation, row: original } : null;
  });
  // The same arrays, read in the caller's row and label order (no copy, no object per row).
  const predictions = out.predictions.reordered(input.rows, from, input.labels);
  const position = input.labels.map((label) => labels.indexOf(label));
  const metrics: DistillMetrics = {
    ...out.metrics,
    labels: [...input.labels],
    teacherConfusion: position.map((y) => position.map((t) => out.metrics.teacherConfusion[y][t])),
  };
  return { ...out, predictions, advisedLabels, explanations, metrics, model: withLabelOrder(out.model, input.labels), vanillaModel: withLabelOrder(out.vanillaModel, input.labels) };
}

/** The same model with its output columns in another label order (a permutation of the dense head: same predictions). */
function withLabelOrder(model: TrainedModel, labels: readonly string[]): TrainedModel {
  const { weights } = model;
  const source = labels.map((label) => model.labels.indexOf(label));
  const kernel = new Float32Array(weights.kernel.length);
  for (let d = 0; d < weights.dim + weights.denseDim; d++) source.forEach((from, to) => (kernel[d * weights.classes + to] = weights.kernel[d * weights.classes + from]));
  const bias = Float32Array.from(source, (from) => weights.bias[from]);
  return { ...model, labels: [...labels], weights: { ...weights, kernel, bias } };
}

/**
 * What in the data may make the students diverge, for the error that says they did: the rows that share their text
 * with rows of another label, and the largest such text ('' when no text is on rows of two labels).
 */
function divergenceCause(rows: readonly TrainingRow[]): string {
  const shared = sharedTexts(rows);
  return shared
    ? `: ${shared}, more repeated inputs with contradicting labels than the students' training steps can take — give the rows of one text one label, or keep one row of each text`
    : '';
}

/** "N of M rows share their text with rows of another label (line L's text is on R rows, with K labels)", or ''. */
function sharedTexts(rows: readonly TrainingRow[]): string {
  const several = textsWithSeveralLabels(rows);
  const sharing = several.reduce((sum, text) => sum + text.lines.length + 1, 0);
  let most: { line: number; rows: number; labels: Set<string> } | undefined;
  for (const text of several) if (!most || text.lines.length + 1 > most.rows) most = { line: rows[text.first].line, rows: text.lines.length + 1, labels: text.labels };
  return most
    ? `${sharing.toLocaleString('en-US')} of ${rows.length.toLocaleString('en-US')} rows share their text with rows of another label (line ${most.line}'s text is on ${most.rows.toLocaleString('en-US')} rows, with ${most.labels.size} labels)`
    : '';
}

/**
 * The restart warning's possible cause: texts on rows of several labels can make a student's loss climb. Said as a
 * possibility, and only where the rows have such texts (said always, it sent users of a file without one repeated
 * text looking for them).
 */
function restartCause(rows: readonly TrainingRow[]): string {
  const shared = sharedTexts(rows);
  return shared ? `; the same text on many rows under different labels can do this, and ${shared}` : '';
}

/**
 * Refuses students whose probabilities are not finite (their training diverged): the calibration would read NaN as
 * evidence and the run end in a malformed result. A student whose loss climbs is trained again at a lower rate
 * (student.ts); this is the net for whatever gets past that.
 */
function assertFiniteProbabilities(probs: Float32Array, rows: readonly TrainingRow[], which: 'peer' | 'vanilla'): void {
  if (probs.every(Number.isFinite)) return;
  throw new Error(`the ${which} students' training diverged (their probabilities are not numbers), so no label can be judged${divergenceCause(rows)}`);
}

async function runCanonical(input: DistillInput, options: DistillOptions, hooks: DistillHooks, tuningOverride: Partial<EngineTuning>): Promise<DistillOutput> {
  const started = performance.now();
  const tuning: EngineTuning = { ...DEFAULT_TUNING, ...tuningOverride, student: { ...DEFAULT_TUNING.student, ...tuningOverride.student } };
  const log = (line: string) => hooks.onLog?.(line);
  const checkpoint = () => {
    if (hooks.signal?.aborted) throw abortError();
  };
  checkpoint();

  const { rows, labels } = input;
  const classes = labels.length;
  const n = rows.length;
  const labelIndex = new Map(labels.map((label, index) => [label, index]));
  const teacher = Int32Array.from(rows, (row) => (row.teacher === null ? -1 : labelIndex.get(row.teacher)!));
  const human = Int32Array.from(rows, (row) => (row.human === null ? -1 : labelIndex.get(row.human)!));
  const teacherConfidence = Float32Array.from(rows, (row) => (row.teacherConfidence === null ? NaN : row.teacherConfidence));
  // Human labels set in review of an earlier run's queue: labels to train on, never a random sample (TrainingRow.reviewed).
  const reviewed = Uint8Array.from(rows, (row) => (row.human !== null && row.reviewed ? 1 : 0));
  const sampleLabel = (i: number) => isSampleLabel({ human, reviewed }, i);
  const labelled: number[] = [];
  const unlabelled: number[] = [];
  for (let i = 0; i < n; i++) (teacher[i] >= 0 || human[i] >= 0 ? labelled : unlabelled).push(i);
  const trusted = Int32Array.from(rows, (_, i) => (human[i] >= 0 ? human[i] : teacher[i]));

  const backend = await selectBackend(options.backend);
  const tf: TensorFlow = backend.tf;
  log(`backend: ${backend.name} (${backend.source})${backend.skipped.map((s) => `; skipped ${s.name}: ${s.reason}`).join('')}`);

  const timings: Partial<Record<DistillPhase, number>> = {};
  let phaseStarted = performance.now();
  const endPhase = (phase: DistillPhase) => {
    const now = performance.now();
    timings[phase] = (timings[phase] ?? 0) + (now - phaseStarted);
    phaseStarted = now;
  };

  // Work plan, in row-epochs, for the progress fraction and the time estimate.
  const epochsFor = (rowCount: number) => effectiveEpochs(rowCount, tuning.student);
  const peerRows = Math.round((labelled.length * (options.folds - 1)) / options.folds);
  const encoderAsked = (options.encoder ?? 'none') !== 'none';
  /**
   * The vanilla student's part of the plan, and the final student's (which leaves the plan where it will likely be the
   * vanilla student itself, see adoptsLabels).
   */
  const finalWork = labelled.length * epochsFor(labelled.length);
  const stageWork = options.folds * peerRows * epochsFor(peerRows);
  // The encoder trial (step 0 below) trains stage 1's peers twice; planned from the start where it is likely to run
  // (an encoder asked for, human rows to judge it), and taken out if the encoder gives no vectors.
  const trialPlanned = encoderAsked && tuning.keepEncoder !== 'always' && labelled.some(sampleLabel);
  const work = new WorkPlan();
  work.plan('prepare', n * FEATURIZE_WORK_PER_ROW);
  // The encoder's units: glove's weight until the encoder's own rate is known (the encoding callback below).
  const encodeWork = work.planPart('encode', encoderAsked ? n * ENCODE_WORK_PER_ROW : 0);
  work.plan('train', finalWork + options.stages * stageWork + (trialPlanned ? stageWork : 0)); // the vanilla student and the peers
  work.planMaybe('train', finalWork); // the final student, unless it is the vanilla one (planFinal)
  work.plan('settle', options.stages * n * CALIBRATE_WORK_PER_ROW + n * FINISH_WORK_PER_ROW);
  // Explaining the flagged rows at the end: planned for a share of the teacher's rows until a calibration says how many.
  const explainWork = work.planPart('settle', Math.round(EXPECTED_FLAGGED_SHARE * labelled.length) * EXPLAIN_WORK_PER_FLAGGED_ROW);
  let finalPlanned: boolean | undefined; // undefined: not known yet (WorkPlan's maybe)
  const planFinal = (planned: boolean) => {
    if (planned === finalPlanned) return;
    if (finalPlanned === undefined) work.planMaybe('train', -finalWork); // known now: no longer a maybe
    work.plan('train', (planned ? finalWork : 0) - (finalPlanned ? finalWork : 0));
    finalPlanned = planned;
  };
  let trainedRowEpochs = 0;
  let trainingMs = 0;
  const report = ({ leftOverride, ...progress }: Omit<DistillProgress, 'elapsedMs' | 'fraction' | 'remainingMs'> & { leftOverride?: { ms: number; lowMs: number } }) => {
    const elapsedMs = performance.now() - started;
    const left = leftOverride ?? work.remaining();
    // A range only where it says something: its ends more than RANGE_SHOWN_ABOVE apart.
    const range = left && left.lowMs < left.ms * (1 - RANGE_SHOWN_ABOVE) ? { remainingMsLow: left.lowMs } : {};
    hooks.onProgress?.({ ...progress, elapsedMs, fraction: work.fraction(), remainingMs: left?.ms, ...range });
  };

  report({ phase: 'featurize' });
  const texts = rows.map((row) => row.text);
  const firstOfText = firstRowOfText(texts);
  // The run's cancel also aborts an encoder's requests in flight; the endpoint comes with the options (key-free).
  // use-lite on wasm encodes on the students' threads setting (EngineTuning.threads).
  const encoderEnvironment: EncoderEnvironment = { signal: hooks.signal, endpoint: options.encoderEndpoint, threads: tuning.threads, ...hooks.encoders };
  // A local encoder (glove, static) encodes the rows in a thread while the words are featurized here (earlyEncoding.ts).
  const early = encoderAsked ? startEarlyEncoding(options.encoder ?? 'none', encoderEnvironment, texts, tuning.threads) : undefined;
  let featurized: ReturnType<typeof sharedFeatures>;
  try {
    featurized = sharedFeatures(texts, tuning.featurizer, (rowsDone) => {
      work.setDone('prepare', rowsDone * FEATURIZE_WORK_PER_ROW);
      report({ phase: 'featurize' });
    });
  } catch (error) {
    early?.stop();
    throw error;
  }
  const { featurizer, features, rowBuckets } = featurized;
  work.setDone('prepare', n * FEATURIZE_WORK_PER_ROW);
  work.enter('encode'); // an encoder's own rate, loading it included: the rest of the run is not priced at it
  // The wall time of one unit of the plan, as featurizing measured it: the rest of the run after an encoder.
  const msPerUnit = work.msPerUnit('prepare') ?? 0;
  // The encoder's own progress line, with a time estimate from its own rate (a model or an endpoint takes minutes),
  // plus the rest of the run at the featurizing rate.
  const encoding = await encodeRows(texts, (r) => rows[r].line, options.encoder ?? 'none', encoderEnvironment, checkpoint, log, (encoder, encoded, total, encodeMs) => {
    if (encoded > 0 && total > 0) {
      // Its share of the progress bar follows its time, counted at the featurizing rate: use-lite can take most of a
      // run, and at glove's weight it filled a tenth of the bar while it took nine tenths of the time.
      const units = (encodeMs * total) / encoded / Math.max(msPerUnit, 1e-9);
      encodeWork.replan(units);
    }
    work.setDone('encode', total > 0 ? (encoded / total) * encodeWork.units : 0);
    // A range as after the encoding, while the final student may not be needed.
    const encodingLeft = encoded > 0 ? (encodeMs * (total - encoded)) / encoded : undefined;
    const leftOverride = encodingLeft === undefined ? undefined : { ms: encodingLeft + work.plannedAfterPrepare() * msPerUnit, lowMs: encodingLeft + work.plannedAfterPrepare(false) * msPerUnit };
    report({ phase: 'featurize', encoder, encoded, toEncode: total, leftOverride });
  }, early);
  if (encoderAsked && !encoding.encoder) encodeWork.replan(0); // `auto` found no encoder
  work.setDone('encode', encodeWork.units);
  work.enter('settle'); // from here, the wall time outside the students is the calibrations' and the run's end
  const withBuckets = (weights: StudentWeights): StudentWeights => ({ ...weights, buckets: featurizer.config.buckets, rowBuckets });
  if (encoding.cacheProblems.length) encoding.cacheProblems.slice(0, 10).forEach((line) => log(`${ENGINE_WARNING_PREFIX}${line}`));
  endPhase('featurize');
  checkpoint();
  // Whether the peers and the final student read the embedding: decided by the stage-1 trial below.
  let dense: DenseRows | undefined;

  // 0. Never worse than the words alone: where an encoder is asked for and there are human rows to judge it, stage 1's
  // peers are trained with and without the embedding (with the seeds the pipeline gives them anyway), and the
  // embedding is kept only where its peers predict the human rows better, cross-fitted (keepEmbedding). The kept
  // variant's peers are stage 1's, so the choice costs one stage of peers.
  const humanRowsForChoice = labelled.filter(sampleLabel);
  const encoderTrial = encoding.dense !== undefined && tuning.keepEncoder !== 'always' && humanRowsForChoice.length > 0;
  if (trialPlanned && !encoderTrial) work.plan('train', -stageWork);

  // Independent students train at once in worker threads (studentPool.ts), the dense features shared with them like
  // the words; the same weights whatever the count.
  const pool = createStudentPool(features, {
    dense: encoding.dense,
    threads: tuning.threads,
    // The encoder trial trains stage 1's K peers twice at once; otherwise the vanilla student beside K peers.
    maxConcurrent: encoderTrial ? 2 * options.folds : options.folds + 1,
    signal: hooks.signal,
    checkpoint,
    tf,
    onLog: log,
  });
  log(pool.threads ? `students train on ${pool.threads} threads` : 'students train one after the other in this thread');
  try {
    return await runStudents();
  } finally {
    await pool.close();
  }

  async function runStudents(): Promise<DistillOutput> {
    let studentCounter = 0;
    /** Restarts said as a warning so far (one per run; the others go to run.log), and what in the rows may cause them. */
    let restartWarnings = 0;
    let restartCauseText: string | undefined;
    const vanillaSeed = options.seed * 7919 + 1;
    /**
     * Students trained at once report progress as one: the phase, fold and epoch of the first that has not finished
     * (so the phases still read vanilla, then peer fold 1, 2, …), the fraction from the epochs of all of them.
     */
    type Shown = { phase: DistillPhase; extra: Partial<DistillProgress>; epochs: number; epoch?: number; loss?: number; rowsPerSecond?: number; finished: boolean };
    let group: Shown[] = [];
    let cursor = 0;
    const reportStudent = (shown: Shown) =>
      report({ phase: shown.phase, ...shown.extra, epoch: shown.epoch, epochs: shown.epochs, loss: shown.loss, rowsPerSecond: shown.rowsPerSecond });
    const showGroup = () => {
      // Every student gets its turn in order, even one that finished while an earlier one was shown.
      while (cursor < group.length - 1 && group[cursor].finished) reportStudent(group[++cursor]);
      reportStudent(group[cursor]);
    };
    /**
     * Starts one student (seeds are drawn in call order, whatever order the students finish in); it reads the
     * embedding next to the words where `withDense` (default: where step 0 kept it).
     */
    const train = (
      rowIndices: number[],
      targets: Float32Array,
      phase: DistillPhase,
      extra: Partial<DistillProgress>,
      seed = options.seed * 7919 + ++studentCounter,
      withDense = dense !== undefined,
      predict?: StudentJob['predict'],
      rowWeight: (row: number) => number = (row) => (human[row] >= 0 ? tuning.humanWeight : 1),
    ): Promise<TrainedStudent> => {
      const subsetTargets = new Float32Array(rowIndices.length * classes);
      const weights = new Float32Array(rowIndices.length);
      rowIndices.forEach((row, i) => {
        subsetTargets.set(targets.subarray(row * classes, row * classes + classes), i * classes);
        weights[i] = rowWeight(row);
      });
      const epochs = epochsFor(rowIndices.length);
      const shown: Shown = { phase, extra, epochs, finished: false };
      group.push(shown);
      const trainStarted = performance.now();
      work.studentStarted();
      const job: StudentJob = { rows: Int32Array.from(rowIndices), targets: subsetTargets, weights, dense: withDense, buckets: rowBuckets.length, classes, options: { ...tuning.student, ...(phase === 'peer' ? { labelSmoothing: tuning.peerLabelSmoothing } : {}), seed }, ...(predict ? { predict } : {}) };
      return pool
        .trainAndPredict(job, (epoch, loss, rowsPerSecond) => {
          work.add('train', rowIndices.length);
          Object.assign(shown, { epoch, loss, rowsPerSecond });
          showGroup();
        })
        .finally(() => work.studentFinished())
        .catch((error: unknown) => {
          // The thread's error comes wrapped ("a student thread failed: Error: …" and its stack): its first line says it.
          const message = error instanceof Error ? error.message : String(error);
          const at = message.indexOf(STUDENT_DIVERGED);
          if (at < 0) throw error;
          const what = message.slice(at + STUDENT_DIVERGED.length).split('\n')[0].trim();
          throw new Error(`a ${phase} student's training diverged: ${what}${divergenceCause(rows)}`);
        })
        .then((trained) => {
          const restarted = trained.weights.restarted;
          if (restarted) {
            // A warning where there is something to do or to know: the data holds texts on rows of several labels
            // (the cause the user can remove), or the student kept learnt nothing (its last epoch's loss above the
            // uniform guess's, ln(classes)). Once per run (the same cause makes most of the run's students diverge:
            // one warning per student was 5 to 17 identical lines); run.log has each student's. A restart that
            // trained a student that learnt, in data without such texts, is run.log's alone.
            restartCauseText ??= restartCause(rows);
            const stillBad = !(restarted.lastLoss <= Math.log(classes));
            const warn = (stillBad || restartCauseText !== '') && restartWarnings++ === 0;
            const what =
              `a ${phase} student's training diverged (epoch mean loss ${restarted.divergedLosses.map((loss) => loss.toPrecision(3)).join(', then ')}) ` +
              `and was trained again at learning rate ${restarted.learningRate} instead of ${tuning.student.learningRate}`;
            const after = stillBad
              ? `, and its last epoch's mean loss was ${restarted.lastLoss.toPrecision(3)}, above the ${Math.log(classes).toPrecision(3)} of a uniform guess: that student learnt nothing`
              : `; that training finished normally (last epoch's mean loss ${restarted.lastLoss.toPrecision(3)})${restartCauseText === '' ? ', nothing needs doing' : ''}`;
            log(warn ? `${ENGINE_WARNING_PREFIX}${what}${stillBad ? after : ''}${restartCauseText} (said once; run.log names each student trained again)` : `${what}${after}`);
          }
          shown.finished = true;
          trainingMs += performance.now() - trainStarted;
          trainedRowEpochs += rowIndices.length * epochs;
          showGroup(); // the next unfinished student's place, even if it has no epoch left to report

          return trained;
        });
    };
    /**
     * Starts one stage's K peers (seeds given, or drawn in call order), each with the rows it holds out; each predicts
     * its held-out rows, then the rows without labels, in the thread that trained it (read in place in the shared features).
     */
    const startStagePeers = (stage: number, stageTargets: Float32Array, seeds?: number[], withDense?: boolean) => {
      // The copies of a text held out together: a peer never relabels a row whose text it trained on (splits.ts).
      const folds = keepTextsTogether(stratifiedFolds(trusted, options.folds, options.seed * 104729 + stage), firstOfText);
      const heldOuts: number[][] = [];
      const peers: Promise<TrainedStudent>[] = [];
      for (let fold = 0; fold < options.folds; fold++) {
        const trainRows = labelled.filter((row) => folds[row] !== fold);
        const heldOut = labelled.filter((row) => folds[row] === fold);
        heldOuts.push(heldOut);
        const predict = Int32Array.from([...heldOut, ...unlabelled]);
        peers.push(train(trainRows, stageTargets, 'peer', { fold: fold + 1, folds: options.folds, stage, stages: options.stages }, seeds?.[fold], withDense, predict));
      }
      return { heldOuts, peers };
    };
    /** The out-of-fold probabilities of one stage's K peers (rows without labels: the mean of the K peers). */
    const outOfFold = (trained: TrainedStudent[], heldOuts: number[][]): Float32Array<ArrayBuffer> => {
      const stagePeers = new Float32Array(n * classes);
      for (let fold = 0; fold < options.folds; fold++) {
        const heldOut = heldOuts[fold];
        const probabilities = trained[fold].probabilities!; // held-out rows, then the rows without labels
        heldOut.forEach((row, i) => stagePeers.set(probabilities.subarray(i * classes, (i + 1) * classes), row * classes));
        // Rows without any label are out-of-sample for every peer: average the K peers.
        unlabelled.forEach((row, u) => {
          const i = heldOut.length + u;
          for (let c = 0; c < classes; c++) stagePeers[row * classes + c] += probabilities[i * classes + c] / options.folds;
        });
      }
      return stagePeers;
    };

    const trustedTargets = new Float32Array(n * classes);
    for (const row of labelled) oneHot(trusted[row], classes, trustedTargets, row);

    // 0. The encoder choice (see encoderTrial above).
    let firstStagePeers: Float32Array<ArrayBuffer> | undefined;
    let firstStageTrained: { trained: TrainedStudent[]; heldOuts: number[][] } | undefined;
    const encoderReport: EncoderReport = {
      requested: encoding.requested,
      candidate: encoding.encoder ? { name: encoding.encoder.name, version: encoding.encoder.version, dims: encoding.encoder.dims } : null,
      used: 'words',
      reason: encoding.reason,
      humanAccuracy: null,
      humanLogLikelihood: null,
      encodeMs: encoding.encodeMs,
      cachedRows: encoding.cachedRows,
    };
    if (encoding.dense) {
      if (tuning.keepEncoder === 'always') {
        dense = encoding.dense;
        encoderReport.used = 'words+embedding';
        encoderReport.reason = `${encoding.reason}; kept without comparison (keepEncoder always)`;
      } else if (!encoderTrial) {
        encoderReport.reason = `${encoding.reason}; no human labels to check it against, so words alone`;
      } else {
        // Stage 1's seeds (vanilla draws the first; stage 1's peers the next K), so the kept peers are stage 1's.
        const seeds = Array.from({ length: options.folds }, (_, fold) => options.seed * 7919 + 2 + fold);
        const wordsStarted = startStagePeers(1, trustedTargets, seeds, false);
        const denseStarted = startStagePeers(1, trustedTargets, seeds, true);
        const [wordsTrained, denseTrained] = await Promise.all([Promise.all(wordsStarted.peers), Promise.all(denseStarted.peers)]);
        group = [];
        cursor = 0;
        checkpoint();
        const wordsPeers = outOfFold(wordsTrained, wordsStarted.heldOuts);
        const densePeers = outOfFold(denseTrained, denseStarted.heldOuts);
        const score = (probs: Float32Array) => {
          let right = 0;
          let logLikelihood = 0;
          for (const row of humanRowsForChoice) {
            if (argmax(probs, row * classes, classes) === human[row]) right++;
            logLikelihood += Math.log(Math.max(probs[row * classes + human[row]], 1e-12));
          }
          return { accuracy: right / humanRowsForChoice.length, logLikelihood: logLikelihood / humanRowsForChoice.length };
        };
        const words = score(wordsPeers);
        const withEmbedding = score(densePeers);
        const keep = keepEmbedding(words, withEmbedding);
        encoderReport.humanAccuracy = { words: round(words.accuracy), withEmbedding: round(withEmbedding.accuracy) };
        encoderReport.humanLogLikelihood = { words: round(words.logLikelihood), withEmbedding: round(withEmbedding.logLikelihood) };
        encoderReport.used = keep ? 'words+embedding' : 'words';
        encoderReport.reason =
          `${encoding.reason}; cross-fitted on ${humanRowsForChoice.length} human rows, mean log-probability of the human label ${withEmbedding.logLikelihood.toFixed(4)} with it ` +
          `vs ${words.logLikelihood.toFixed(4)} words alone (accuracy ${withEmbedding.accuracy.toFixed(4)} vs ${words.accuracy.toFixed(4)}): ${keep ? 'kept' : 'words alone'}`;
        if (keep) dense = encoding.dense;
        firstStagePeers = keep ? densePeers : wordsPeers;
        firstStageTrained = keep ? { trained: denseTrained, heldOuts: denseStarted.heldOuts } : { trained: wordsTrained, heldOuts: wordsStarted.heldOuts };
      }
      endPhase('peer');
      // Words alone: nothing reads the vectors any more, so their memory goes (400 MB for a million rows of glove).
      if (!dense) {
        pool.dropDense();
        encoding.dense = undefined;
      }
    }
    log(`encoder: ${encoderReport.reason}`);

    // 1. Vanilla KD. Nothing before the end needs it, so it is scheduled where it fills a core (the stage loop below):
    // - beside the final student, started once the last stage's peers are trained, where the advice so far adopted
    //   labels (the final student is then trained, and would otherwise train alone on one core while the other idles);
    // - beside the last stage's peers, submitted before them, where the advice so far adopted none (the final student
    //   is then likely the vanilla student itself, see sameAsVanilla, so nothing would train beside it).
    // Its seed is the first the pipeline draws, as it always was, so the schedule never changes the results.
    studentCounter++;
    const finalTargets = options.finalTargets === 'auto' ? AUTO_FINAL_TARGETS : options.finalTargets;
    const adoptsLabels = (advice: CalibrationResult) => finalTargets !== 'hard' || labelled.some((row) => advice.advised[row] !== trusted[row]);
    let vanillaTraining: Promise<{ trained: TrainedStudent; ms: number }> | undefined;
    const startVanilla = () => {
      const vanillaStarted = performance.now();
      // It predicts every row in its thread once trained (the vanilla_probs of predictions.jsonl).
      vanillaTraining = train(labelled, trustedTargets, 'vanilla', {}, vanillaSeed, undefined, 'all').then((trained) => ({ trained, ms: performance.now() - vanillaStarted }));
      vanillaTraining.catch(() => undefined); // awaited below; a failure of the final student must not leave it unhandled
    };
    const awaitVanilla = async () => {
      if (vanillaModel) return;
      const vanilla = await vanillaTraining!;
      vanillaModel = vanilla.trained.weights;
      vanillaProbs = vanilla.trained.probabilities!;
      // The vanilla phase's time is its own training and prediction, which overlaps the final student's.
      timings.vanilla = vanilla.ms;
      log(`vanilla student trained on ${labelled.length} rows`);
    };

    // 2–3. Peer advice over stages, calibrated after each stage.
    const calibrationInputBase = { classes, teacher, human, teacherConfidence, reviewed };
    let stageTargets = trustedTargets;
    const peerSum = new Float32Array(n * classes);
    let lastStagePeers = new Float32Array(n * classes);
    let calibration: CalibrationResult | undefined;
    let peerProbs = new Float32Array(n * classes);
    let vanillaModel: StudentWeights | undefined;
    let vanillaProbs: Float32Array = new Float32Array(0);
    /** The last stage's peers and the rows each held out: the students that explain a flag. */
    let lastStage: { trained: StudentWeights[]; heldOuts: number[][] } | undefined;
    for (let stage = 1; stage <= options.stages; stage++) {
      let trainedStage: { trained: TrainedStudent[]; heldOuts: number[][] } | undefined;
      if (stage === 1 && firstStagePeers) {
        studentCounter += options.folds; // stage 1's peers were trained by the encoder choice, with these seeds
      } else {
        if (stage === options.stages && calibration && !adoptsLabels(calibration)) {
          startVanilla();
          planFinal(false);
        }
        const started = startStagePeers(stage, stageTargets);
        trainedStage = { trained: await Promise.all(started.peers), heldOuts: started.heldOuts };
      }
      if (stage === options.stages && !vanillaTraining) startVanilla();
      group = group.filter((shown) => !shown.finished); // a deferred vanilla student goes on being shown
      cursor = 0;
      checkpoint();
      const stagePeers = trainedStage ? outOfFold(trainedStage.trained, trainedStage.heldOuts) : firstStagePeers!;
      assertFiniteProbabilities(stagePeers, rows, 'peer');
      const { trained: lastTrained, heldOuts: lastHeldOuts } = trainedStage ?? firstStageTrained!;
      lastStage = { trained: lastTrained.map((peer) => peer.weights), heldOuts: lastHeldOuts }; // their probabilities are in stagePeers
      for (let k = 0; k < peerSum.length; k++) peerSum[k] += stagePeers[k];
      lastStagePeers = stagePeers;
      peerProbs = tuning.stageEnsemble === 'mean' ? peerSum.map((value) => value / stage) : stagePeers;
      endPhase('peer');

      const calibrationInput: CalibrationInput = { ...calibrationInputBase, peerProbs };
      calibration = tuning.advice === 'naive' ? naiveAdvice(calibrationInput) : calibrate(calibrationInput, { crossFitFolds: tuning.crossFitFolds, priorStrength: tuning.calibrationPrior, changeGuard: tuning.changeGuard, recalibration: tuning.recalibration });
      work.add('settle', n * CALIBRATE_WORK_PER_ROW);
      explainWork.replan(calibration.flagged.reduce((a, b) => a + b, 0) * EXPLAIN_WORK_PER_FLAGGED_ROW);
      if (stage === options.stages) planFinal(adoptsLabels(calibration)); // the advice is final: so is the plan
      endPhase('calibrate');
      report({ phase: 'calibrate', stage, stages: options.stages });
      log(
        `stage ${stage}/${options.stages}: estimated teacher accuracy ${calibration.estimatedTeacherAccuracy === null ? '— (no teacher-labelled row without a human label)' : calibration.estimatedTeacherAccuracy.toFixed(4)}, ` +
          `${calibration.flagged.reduce((a, b) => a + b, 0)} flagged, α=${calibration.parameters.alpha} γ=${calibration.parameters.gamma} β=${calibration.parameters.beta}`,
      );
      // The next stage learns from the advice (human rows stay one-hot; rows without labels are not trained on).
      stageTargets = new Float32Array(n * classes);
      for (const row of labelled) stageTargets.set(calibration.posterior.subarray(row * classes, (row + 1) * classes), row * classes);
    }
    const advice = calibration!;

    // 4. Final student.
    const targets = new Float32Array(n * classes);
    for (const row of labelled) {
      if (finalTargets === 'hard') oneHot(advice.advised[row], classes, targets, row);
      else targets.set(advice.posterior.subarray(row * classes, (row + 1) * classes), row * classes);
    }
    // The final student starts from the vanilla student's seed, so that it differs from vanilla KD only by its targets
    // and their weights; where the advice adopted no label (hard targets equal to vanilla's), it *is* the vanilla
    // student. Hard targets are weighted by how sure the advice is of each (soft targets carry that in themselves).
    const sameAsVanilla = !adoptsLabels(advice); // the plan knew it at the last calibration (planFinal)
    const finalWeighting = sameAsVanilla || finalTargets !== 'hard' ? 0 : tuning.finalWeighting;
    const finalWeights = finalRowWeights(advice, human, { humanWeight: tuning.humanWeight, finalWeighting });
    const finalTraining = sameAsVanilla ? undefined : train(labelled, targets, 'final', {}, vanillaSeed, undefined, undefined, (row) => finalWeights[row]);
    finalTraining?.catch(() => undefined); // awaited below, after the vanilla student
    await awaitVanilla();
    assertFiniteProbabilities(vanillaProbs, rows, 'vanilla');
    const finalModel = finalTraining ? (await finalTraining).weights : vanillaModel!;
    if (sameAsVanilla) log('final student: the advice adopted no label, so it is the vanilla student');
    endPhase('final');
    checkpoint();

    // Rows without any label (the teacher abstained): the advice is the peers' out-of-sample prediction, tempered on
    // the human labels (calibration.ts fitPeerTemperature), so its stated probability can be trusted like the others.
    const predictions = new PredictionTable({
      rows,
      labels,
      suggested: advice.suggested,
      pTeacherWrong: advice.pTeacherWrong,
      flagged: advice.flagged,
      probs: advice.posterior,
      peerProbs,
      vanillaProbs,
    });

    const explanations = explainFlags({
      rows, labels, flagged: advice.flagged, suggested: advice.suggested, teacher, human, peers: lastStage!, features, rowBuckets, featurizer: featurizer.config, dense, withBuckets,
      denseWords: dense ? await denseWordVectors(encoding, rows.filter((_, i) => advice.flagged[i]).map((row) => row.text)) : undefined,
    });
    // The checks against human labels use the random ones only: reviewed rows were chosen because the run doubted them.
    const humanRows = rows.map((_, i) => i).filter(sampleLabel);
    const reviewedRows = rows.filter((_, i) => reviewed[i] === 1).length;
    const studentRight = humanRows.filter((i) => argmax(lastStagePeers, i * classes, classes) === human[i]).length;
    const confusion = advice.parameters.confusion;
    const metrics: DistillMetrics = {
      rows: n,
      teacherRows: rows.filter((row) => row.teacher !== null).length,
      humanRows: humanRows.length,
      reviewedRows,
      unlabelledRows: unlabelled.length,
      labels: [...labels],
      folds: options.folds,
      stages: options.stages,
      seed: options.seed,
      finalTargets,
      finalWeighting,
      student: tuning.student,
      featurizer: featurizer.config,
      estimatedTeacherAccuracy: roundOrNull(advice.trust.teacherAccuracy.estimate),
      recalibration: { intercept: round(advice.recalibration.intercept), slope: round(advice.recalibration.slope) },
      flaggedCount: advice.flagged.reduce((a, b) => a + b, 0),
      changedCount: rows.filter((_, i) => teacher[i] >= 0 && human[i] < 0 && advice.advised[i] !== teacher[i]).length,
      thresholds: { flag: roundOrNull(advice.threshold), change: advice.changeThreshold, alpha: advice.parameters.alpha, gamma: advice.parameters.gamma, beta: advice.parameters.beta },
      teacherConfusion: labels.map((_, y) => labels.map((__, t) => round(confusion[y * classes + t]))),
      humanCheck: {
        rows: humanRows.length,
        pairedRows: advice.humanCheck.rows,
        teacherAccuracy: roundOrNull(advice.humanCheck.teacherAccuracy),
        advisedAccuracy: roundOrNull(advice.humanCheck.advisedAccuracy),
        studentAccuracy: humanRows.length ? round(studentRight / humanRows.length) : null,
      },
      trust: roundTrust(advice.trust),
      timingsMs: { ...roundTimings(timings), total: Math.round(performance.now() - started) },
      rowsPerSecond: Math.round(trainedRowEpochs / Math.max(trainingMs / 1000, 1e-9)),
      studentThreads: pool.threads,
      backend: backend.name,
      encoder: encoderReport,
    };
    work.complete();
    report({ phase: 'final' });
    const advisedLabels = Array.from(advice.advised, (label) => labels[label]);
    return {
      predictions,
      advisedLabels,
      explanations,
      metrics,
      model: { labels: [...labels], featurizer, weights: withBuckets(finalModel), ...(finalModel.denseDim ? { dense: encoding.standardiser } : {}) },
      vanillaModel: { labels: [...labels], featurizer, weights: withBuckets(vanillaModel!), ...(vanillaModel!.denseDim ? { dense: encoding.standardiser } : {}) },
      backend: { name: backend.name, skipped: backend.skipped },
    };
  }
}

/**
 * The final student's weight of each row (rows × 1): a human-labelled row weighs `humanWeight`; any other row
 * π(adopted label)^k, the calibrated probability that the label it learns is right, to the power k =
 * `finalWeighting` (1 for k = 0). Used only for hard targets where the advice adopted labels (the do-no-harm test
 * passed), so that a run whose human pairs cannot support the advice trains the vanilla student; docs/METHOD.md §5
 * says why.
 * `advice.posterior` is rows × classes, each row summing to 1; rows without any label get a weight but are not trained on.
 */
export function finalRowWeights(advice: Pick<CalibrationResult, 'posterior' | 'advised'>, human: Int32Array, tuning: Pick<EngineTuning, 'humanWeight' | 'finalWeighting'>): Float32Array {
  const rows = human.length;
  const classes = advice.posterior.length / rows;
  const weights = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    weights[row] = human[row] >= 0 ? tuning.humanWeight : tuning.finalWeighting === 0 ? 1 : Math.pow(advice.posterior[row * classes + advice.advised[row]], tuning.finalWeighting);
  }
  return weights;
}

/**
 * The word vectors behind a dense block that is a mean of them (the GloVe encoder), for the words of `texts`: each
 * word encoded alone is its own vector (zeros: no vector). Undefined for other encoders (not linear in the words).
 */
async function denseWordVectors(
  encoding: { encoder: Pick<TextEncoder, 'name' | 'dims' | 'encode'> | null; standardiser?: DenseStandardiser },
  texts: readonly string[],
): Promise<DenseWordVectors | undefined> {
  const { encoder, standardiser } = encoding;
  if (!encoder || !standardiser || encoder.name !== 'glove') return undefined;
  const words = [...new Set(texts.flatMap((text) => tokenize(text)))];
  const values = await encoder.encode(words);
  const vectors = new Map<string, Float32Array>();
  words.forEach((word, i) => {
    const vector = values.subarray(i * encoder.dims, (i + 1) * encoder.dims);
    if (vector.some((value) => value !== 0)) vectors.set(word, vector);
  });
  return { vectorOf: (word) => vectors.get(word), mean: standardiser.mean, scale: standardiser.scale };
}

/** Words kept per explanation, and similar human-labelled rows. */
const EXPLAINED_WORDS = EXPLANATION_LIMITS.words;
const SIMILAR_ROWS = EXPLANATION_LIMITS.similar;

/**
 * Why each flagged row is flagged: the words of the row that push the peer that held it out (last stage) towards the
 * suggested label and away from the teacher's, and the human-labelled rows most like it (src/training/explain.ts).
 */
function explainFlags(context: {
  rows: readonly TrainingRow[];
  labels: readonly string[];
  flagged: Uint8Array;
  suggested: Int32Array;
  teacher: Int32Array;
  human: Int32Array;
  peers: { trained: StudentWeights[]; heldOuts: number[][] };
  /** Features on the compact table (compactBuckets: index k is bucket rowBuckets[k]). */
  features: SparseRows;
  rowBuckets: Int32Array;
  featurizer: FeaturizerConfig;
  dense: DenseRows | undefined;
  withBuckets: (weights: StudentWeights) => StudentWeights;
  denseWords: DenseWordVectors | undefined;
}): (RowExplanation | null)[] {
  const { rows, labels, flagged, suggested, teacher, human, peers, features } = context;
  const foldOf = new Int32Array(rows.length).fill(-1);
  peers.heldOuts.forEach((heldOut, fold) => heldOut.forEach((row) => (foldOf[row] = fold)));
  const models = peers.trained.map(context.withBuckets);
  const queries = rows.map((_, i) => i).filter((i) => flagged[i] && teacher[i] >= 0 && foldOf[i] >= 0);
  const humanRows = rows.map((_, i) => i).filter((i) => human[i] >= 0);
  const similar = mostSimilarRows(features, queries, humanRows, SIMILAR_ROWS);
  const explanations = new Array<RowExplanation | null>(rows.length).fill(null);
  queries.forEach((i, q) => {
    const model = models[foldOf[i]];
    // explainLogitDifference reads bucket numbers (it hashes the row's words to find which features each reads).
    const compactSpan = features.indices.subarray(features.offsets[i], features.offsets[i + 1]);
    const span = {
      indices: Uint32Array.from(compactSpan, (k) => context.rowBuckets[k]),
      values: features.values.subarray(features.offsets[i], features.offsets[i + 1]),
      embeddingRows: compactSpan, // the model's embedding is the compact table (withBuckets)
    };
    const denseRow = model.denseDim && context.dense ? context.dense.values.subarray(i * model.denseDim, (i + 1) * model.denseDim) : undefined;
    const explained = explainLogitDifference(model, context.featurizer, rows[i].text, span, denseRow, suggested[i], teacher[i], denseRow ? context.denseWords : undefined);
    const top = explained.words.filter((word) => word.contribution > 0 && word.word !== '').slice(0, EXPLAINED_WORDS);
    const topSum = top.reduce((sum, word) => sum + word.contribution, 0);
    const wordsSum = explained.words.reduce((sum, word) => sum + word.contribution, 0);
    explanations[i] = {
      row: i,
      id: rows[i].id,
      ...(rows[i].numericId ? { numericId: true as const } : {}),
      towards: labels[suggested[i]],
      away: labels[teacher[i]],
      logit_difference: round(explained.logitDifference),
      bias: round(explained.bias),
      dense: round(explained.dense),
      words: top.map((word) => [word.word, round(word.contribution)]),
      other_words: round(wordsSum - topSum),
      against: explained.words
        .filter((word) => word.contribution < 0 && word.word !== '')
        .slice(-EXPLAINED_WORDS)
        .reverse()
        .map((word) => [word.word, round(word.contribution)]),
      similar: similar[q].map(({ row, similarity }) => ({
        id: rows[row].id,
        ...(rows[row].numericId ? { numericId: true as const } : {}),
        line: rows[row].line,
        label: labels[human[row]],
        similarity: round(similarity),
      })),
    };
  });
  return explanations;
}

function roundTrust(trust: TrustFigures): TrustFigures {
  const interval = (value: Interval) => ({ estimate: round(value.estimate), low: roundOrNull(value.low), high: roundOrNull(value.high) });
  const { teacherAccuracy } = trust;
  return {
    teacherAccuracy: teacherAccuracy.estimate === null ? { ...NO_ESTIMATE } : interval(teacherAccuracy),
    teacherErrors: interval(trust.teacherErrors),
    flaggedWrong: interval(trust.flaggedWrong),
  };
}

function roundTimings(timings: Partial<Record<DistillPhase, number>>): Partial<Record<DistillPhase, number>> {
  return Object.fromEntries(Object.entries(timings).map(([phase, ms]) => [phase, Math.round(ms)]));
}

/**
 * One student on given targets (rows × classes), featurizer fitted on the same texts: the supervised baselines of the
 * benchmark (SFT on human labels, on gold labels) use exactly the student and features of the method.
 */
export async function trainOnTargets(
  texts: string[],
  targets: Float32Array,
  classes: number,
  seed: number,
  tuningOverride: Partial<EngineTuning> = {},
  /** Texts the (unsupervised) IDF is fitted on; defaults to the training texts. */
  corpus: string[] = texts,
  /** Each text's training weight (1 each by default). */
  rowWeights: Float32Array = new Float32Array(texts.length).fill(1),
): Promise<Omit<TrainedModel, 'labels'>> {
  const tuning: EngineTuning = { ...DEFAULT_TUNING, ...tuningOverride, student: { ...DEFAULT_TUNING.student, ...tuningOverride.student } };
  const featurizer = fitFeaturizer(corpus, tuning.featurizer);
  const { features, rowBuckets } = compactBuckets(transform(featurizer, texts), featurizer.config.buckets);
  const weights = await trainStudent({ features, targets, weights: rowWeights }, rowBuckets.length, classes, { ...tuning.student, seed });
  return { featurizer, weights: { ...weights, buckets: featurizer.config.buckets, rowBuckets } };
}

/** Peers' cross-fitted figures on the human rows: share right, and mean log-probability of the human label. */
export interface HumanRowScore {
  accuracy: number;
  logLikelihood: number;
}

/**
 * The choice rule (never worse than the words alone, as far as the human rows can tell): the embedding is kept only
 * where the peers with it give the human labels a higher mean log-probability, cross-fitted (a lower log loss); a tie
 * keeps the words. The log-probability, not the accuracy, decides: on the 50 human rows of a typical run, accuracy
 * moves in steps of 2 points and a 3-row swing dropped glove on a seed where it improved P@500, AUROC and the final
 * student (AG News seed 2: accuracy 0.82 vs 0.88, log-probability −0.51 vs −0.59; kept, test accuracy 0.837 vs
 * 0.801). The proper scoring rule uses every row's probability, so it ranks the two peers with far less noise.
 */
export function keepEmbedding(words: HumanRowScore, withEmbedding: HumanRowScore): boolean {
  return withEmbedding.logLikelihood > words.logLikelihood;
}

/** Class probabilities (rows × classes) of a trained model on new texts (words alone: see predictModel). */
export function predictTexts(model: Pick<TrainedModel, 'featurizer' | 'weights'>, texts: string[]): Float32Array {
  return predictStudent(model.weights, transform(model.featurizer, texts));
}

/** Class probabilities of a trained model on new texts, its encoder (if any) applied to them as in training. */
export async function predictModel(model: Pick<TrainedModel, 'featurizer' | 'weights' | 'dense'>, texts: string[], environment: EncoderEnvironment = {}): Promise<Float32Array> {
  if (!model.dense) return predictTexts(model, texts);
  const { encoder } = await resolveEncoder(model.dense.encoder.name as EncoderChoice, { ...environment, reopen: { version: model.dense.encoder.version, dims: model.dense.encoder.dims } });
  if (!encoder || encoder.version !== model.dense.encoder.version) throw new Error(`the model needs encoder ${model.dense.encoder.name} ${model.dense.encoder.version}`);
  // Through the cache where the encoder is worth caching (an endpoint: the bench's test rows are embedded once).
  const cache = environment.cacheDir && encoder.cacheable ? EmbeddingCache.open(environment.cacheDir, encoder) : undefined;
  const values = standardise(model.dense, (await encodeTexts(encoder, texts, cache)).values);
  return predictStudent(model.weights, transform(model.featurizer, texts), { dims: encoder.dims, values });
}

/**
 * The rows' features, on a table of the used buckets only (same maths, a smaller and denser hot table), over
 * SharedArrayBuffers: this thread and the student threads read the one copy. Nothing else keeps the intermediate
 * arrays (a million rows' indices and values are 300 MB each).
 */
function sharedFeatures(texts: string[], config: FeaturizerConfig, onRows: (rows: number) => void) {
  const fitted = fitTransform(texts, config, onRows);
  const compact = compactBuckets(fitted.features, fitted.featurizer.config.buckets, true);
  return { featurizer: fitted.featurizer, features: shared(compact.features, undefined).features, rowBuckets: compact.rowBuckets };
}

/** Every row's embedding (through the disk cache where it pays), standardised on the corpus into a SharedArrayBuffer (see sharedFeatures). */
async function encodeRows(
  texts: string[],
  /** The dataset line of texts[r], for an encoder's error about that text ("line 12", as the input's errors say). */
  lineOf: (row: number) => number,
  choice: EncoderChoice,
  environment: EncoderEnvironment,
  checkpoint: () => void,
  log: (line: string) => void,
  onProgress: (encoder: string, encoded: number, total: number, elapsedMs: number) => void,
  /** The encoding a thread began while the words were featurized (earlyEncoding.ts): its blocks, where it opened this encoder. */
  early?: EarlyEncoding,
) {
  const started = performance.now();
  let resolved: Awaited<ReturnType<typeof resolveEncoder>>;
  let encoded: Awaited<ReturnType<typeof encodeTexts>>;
  let cache: EmbeddingCache | undefined;
  try {
    resolved = await resolveEncoder(choice, environment);
    if (!resolved.encoder) return { ...resolved, dense: undefined, standardiser: undefined, encodeMs: 0, cachedRows: 0, cacheProblems: [] as string[] };
    cache = environment.cacheDir && resolved.encoder.cacheable ? EmbeddingCache.open(environment.cacheDir, resolved.encoder) : undefined;
    const name = resolved.encoder.name;
    const source = early ? await early.serve(resolved.encoder) : resolved.encoder;
    // A slow or billed encoder says first what the texts not yet in the cache will take or cost (its estimate).
    encoded = await encodeTexts(source, texts, cache, checkpoint, (done, total) => onProgress(name, done, total, performance.now() - started), log, (r) => `line ${lineOf(r)}`);
  } finally {
    early?.stop();
  }
  if (early?.rowsTaken) log(`encoder ${resolved.encoder.name}: ${early.rowsTaken} of ${texts.length} rows encoded in a thread while the words were featurized`);
  const { values, cached } = encoded;
  const usage = resolved.encoder.describeUsage?.();
  if (usage) log(usage);
  const standardiser: DenseStandardiser = fitStandardiser(resolved.encoder, values);
  const dense: DenseRows = { dims: resolved.encoder.dims, values: standardise(standardiser, values, new Float32Array(new SharedArrayBuffer(values.byteLength))) };
  // `dense` may be let go later (the run keeps the words alone), hence its type.
  return { ...resolved, dense: dense as DenseRows | undefined, standardiser, encodeMs: Math.round(performance.now() - started), cachedRows: cached, cacheProblems: cache?.describeProblems() ?? [] };
}
