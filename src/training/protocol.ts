/**
 * The one message protocol between the host (editor or CLI, see client.ts) and the training child process
 * (worker.ts). Both directions are discriminated unions on `type`; every incoming message is validated by the
 * receiver with the functions below, because the other side is a separate process that may be a different build,
 * may be mid-crash, or may write garbage.
 *
 * Sequence: host forks the worker and sends `start`; the worker answers `started` (the handshake, with the run id
 * and the temporary run folder), then any number of `progress` and `log`, and finally exactly one of `result`,
 * `error` or `cancelled`, after which it exits. The host may send `cancel` at any time after `start`.
 */
import type { FieldMapping } from '../dataset/types';
import type { Interval } from './calibration';
import type { DistillMetrics } from './pipeline';
import type { StudentOptions } from './student';
import type { FeaturizerConfig } from './featurize';
import { BACKEND_PREFERENCES, FINAL_TARGETS, MAX_STAGES, MIN_FOLDS, parseEncoderChoice, type DistillOptions, type DistillPhase, type DistillProgress } from './types';
import { MAX_EMBEDDING_DIMS } from './encoders/endpoint';
import { MAX_RETRIES } from '../teacher/settings';

/** What the host asks the worker to do. */
export interface DistillationRequest {
  /** Absolute path of the dataset file; artefacts go next to it unless `outputDir` is set. */
  datasetPath: string;
  /** The editor's current text of the dataset, unsaved edits included; absent = read the file from disk. */
  datasetText?: string;
  fields: FieldMapping;
  /** Configured label set; empty = inferred from the dataset. */
  labels: string[];
  options: DistillOptions;
  /** Folder that holds the runs; default `<dataset folder>/.peerkd/runs`. Relative paths resolve against the dataset folder. */
  outputDir?: string;
  /**
   * What the host changed in the run's settings and the user must know (a `peerkd.training.encoder` it could not
   * parse and ran as `auto`): the worker writes each as a warning at the head of the run's log (run.log).
   */
  warnings?: string[];
}

/**
 * Where a run's dataset text comes from, in the words both the extension's log and the worker's run log use, so one
 * run is never called "saved text" in one line and "unsaved edits included" in the next. `unsavedEdits` is known
 * only to the editor (the worker gets the text, not the document's state).
 */
export function datasetSourceDescription(request: Pick<DistillationRequest, 'datasetText'>, unsavedEdits?: boolean): string {
  if (request.datasetText === undefined) return 'the file on disk';
  if (unsavedEdits === undefined) return "the editor's text";
  return unsavedEdits ? "the editor's text, with unsaved edits" : "the editor's text, the same as the saved file";
}

export type HostToWorkerMessage =
  | { type: 'start'; request: DistillationRequest }
  | { type: 'cancel'; reason?: string };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  level: LogLevel;
  message: string;
  /** ISO time stamp, set by whoever produced the line. */
  time: string;
  /** `worker` for lines the worker logged, `stdout`/`stderr` for raw output of the child process. */
  source?: 'worker' | 'stdout' | 'stderr' | 'host';
}

/** Counts of what the input preparation did with the dataset's lines. */
export interface InputCounts {
  /** Non-blank lines in the file. */
  lines: number;
  /** Rows handed to the engine (they have text). */
  rows: number;
  /** Lines that were not valid JSON (or not a JSON object): reported and left out. */
  invalidLines: number;
  /** Rows without text (or empty text): skipped. */
  skippedNoText: number;
  teacherLabelled: number;
  humanLabelled: number;
  /** Rows with neither a teacher nor a human label (they still get predictions). */
  unlabelled: number;
  /** Teacher labels outside a configured label set, treated as missing (the teacher abstained). */
  teacherOutsideLabelSet: number;
}

/** An estimate and its 90 % interval; the bounds are null where nothing bounds it (no human pairs to check against). */
export type IntervalSummary = Interval;

/** What the user is told about the teacher, each figure with its interval (metrics.json `trust`, calibration.ts). */
export interface TrustSummary {
  /** Share of right teacher labels among the teacher-labelled rows without a human label. */
  teacherAccuracy: IntervalSummary | null;
  /** How many of the flagged rows probably carry a wrong teacher label. */
  flaggedWrong: IntervalSummary | null;
}

/** The finite number at a path of own keys in parsed JSON, else null. */
export function numberAt(value: unknown, ...keys: string[]): number | null {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null || !Object.prototype.hasOwnProperty.call(current, key)) return null;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'number' && Number.isFinite(current) ? current : null;
}

/** A count (a whole number ≥ 0) at a path of own keys in parsed JSON, else null. */
export function countAt(value: unknown, ...keys: string[]): number | null {
  const count = numberAt(value, ...keys);
  return count !== null && Number.isInteger(count) && count >= 0 ? count : null;
}

/**
 * The trust figures of a run's metrics.json (any shape: older runs have none, and then every figure is null; a
 * teacher estimate of null, as in a run where every teacher-labelled row has a human label, is a null figure too).
 */
export function trustFromMetrics(metrics: unknown): TrustSummary {
  const interval = (key: string): IntervalSummary | null => {
    const estimate = numberAt(metrics, 'trust', key, 'estimate');
    if (estimate === null) return null;
    const low = numberAt(metrics, 'trust', key, 'low');
    const high = numberAt(metrics, 'trust', key, 'high');
    return low !== null && high !== null && low <= estimate && estimate <= high ? { estimate, low, high } : { estimate, low: null, high: null };
  };
  return { teacherAccuracy: interval('teacherAccuracy'), flaggedWrong: interval('flaggedWrong') };
}

/** The `run` part of metrics.json: what the worker adds to the method's figures (workerRuntime.ts). */
export interface MetricsRun {
  runId: string;
  counts: InputCounts;
  labels: string[];
  labelsSource: 'configured' | 'inferred';
  backend: { name: string; skipped: { name: string; reason: string }[] };
  elapsedMs: number;
}

/**
 * metrics.json as a run writes it: the one description of its shape (pipeline.ts DistillMetrics, the method's
 * figures, plus the worker's `run`). A figure that can be missing is typed `number | null` there and written as null,
 * never as NaN (JSON.stringify turns NaN into null, which a `number` would hide); metricsFileProblem checks a file
 * against it. The file of an older run may lack any part, so a reader of a file on disk does not cast to this type:
 * it reads each figure with numberAt or trustFromMetrics, which give null for whatever is missing or malformed.
 */
export type MetricsFile = DistillMetrics & { run: MetricsRun };

/** What the host shows at the end of a run; the full figures are in `metrics.json`. */
export interface RunSummary {
  runId: string;
  runDir: string;
  datasetPath: string;
  labels: string[];
  counts: InputCounts;
  /** Rows flagged as probable teacher errors. */
  flagged: number;
  /**
   * Label Review's doubtful queue (doubtful.ts): `rows`, the unflagged rows the run ranks first, and `expectedErrors`,
   * the teacher errors it expects among all its unflagged rows (Σ p). Absent from workers that predate it.
   */
  doubtful?: { rows: number; expectedErrors: number };
  /**
   * Human labels set in review of the previous run's queues (metrics.json reviewedRows, reviewedRows.ts): trained on,
   * left out of every estimate. Absent from workers that predate it.
   */
  reviewedRows?: number;
  /** Mean of 1 − p_teacher_wrong over rows with a teacher label and no human label; null when there are none. */
  estimatedTeacherAccuracy: number | null;
  /** Share of human-labelled rows whose teacher label agrees with the human one; null without such rows. */
  teacherAgreementWithHumans: number | null;
  /** Final student's accuracy on the human labels when the method reports it, else null. */
  finalStudentHumanAccuracy: number | null;
  /** Rows the teacher agreement is read on: those with a teacher and a human label (absent from older workers). */
  teacherAgreementRows?: number;
  /**
   * Human labels the student accuracy is read on: the random sample's, labels set in review left out (metrics.json
   * humanCheck.rows; absent from older workers).
   */
  finalStudentHumanRows?: number;
  /** The estimates above with their 90 % intervals (absent from workers that predate them). */
  trust?: TrustSummary;
  backend: string;
  backendSkipped: { name: string; reason: string }[];
  elapsedMs: number;
  /** Peak resident memory of the worker process over the run, in MB (absent from workers that predate it). */
  peakRssMb?: number;
  /** What the students read next to the words, e.g. `words + glove; asked auto` (absent from workers that predate it). */
  encoder?: string;
  /**
   * What the engine did by itself (absent from workers that predate it): `labels`, the teacher labels it replaced by
   * its advice (the do-no-harm test passed; metrics.json changedCount), which the final student learned; `weighting`,
   * the power of that student's row weights π(label)^k (metrics.json finalWeighting; 0: none, e.g. the vanilla student).
   */
  adopted?: { labels: number; weighting: number };
}

export interface DistillationRunResult {
  runId: string;
  runDir: string;
  summary: RunSummary;
  /**
   * The method's metrics, as written to metrics.json (plain JSON): MetricsFile from this build's engine, any shape
   * from another (a scripted engine, an older worker); read figures with numberAt / trustFromMetrics.
   */
  metrics: unknown;
}

/** Why a run ended without a result. */
export type DistillationFailureKind =
  /** The input was rejected (bad label set, too few labelled rows...). */
  | 'input'
  /** The method or the artefact writing threw. */
  | 'failed'
  /** The worker exited or was killed unexpectedly. */
  | 'crashed'
  /** The worker ran out of memory. */
  | 'out-of-memory'
  /** The worker did not answer in time. */
  | 'timeout'
  /** A malformed message crossed the channel. */
  | 'protocol'
  | 'cancelled';

export type WorkerToHostMessage =
  | { type: 'started'; runId: string; tempDir: string; runsDir: string }
  | { type: 'progress'; progress: DistillProgress }
  | { type: 'log'; line: LogLine }
  | { type: 'result'; result: DistillationRunResult }
  | { type: 'error'; kind: DistillationFailureKind; message: string; logTail: string[] }
  | { type: 'cancelled' };

// ---------------------------------------------------------------------------------------------------------------
// Validation. Hand-written (no schema library in the bundle); each returns an error text or undefined.

const PHASES: readonly DistillPhase[] = ['featurize', 'vanilla', 'peer', 'calibrate', 'final', 'write'];
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const FAILURE_KINDS: readonly DistillationFailureKind[] = [
  'input',
  'failed',
  'crashed',
  'out-of-memory',
  'timeout',
  'protocol',
  'cancelled',
];

type Check = (value: unknown, where: string) => string | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString: Check = (value, where) => (typeof value === 'string' ? undefined : `${where} must be a string`);
const isNonEmptyString: Check = (value, where) =>
  typeof value === 'string' && value.length > 0 ? undefined : `${where} must be a non-empty string`;
const isFiniteNumber: Check = (value, where) =>
  typeof value === 'number' && Number.isFinite(value) ? undefined : `${where} must be a finite number`;
const isPositiveInteger: Check = (value, where) =>
  Number.isInteger(value) && (value as number) >= 1 ? undefined : `${where} must be an integer ≥ 1`;

function nullable(check: Check): Check {
  return (value, where) => (value === null ? undefined : check(value, where));
}

function optional(check: Check): Check {
  return (value, where) => (value === undefined ? undefined : check(value, where));
}

function oneOf<T>(allowed: readonly T[]): Check {
  return (value, where) =>
    allowed.includes(value as T) ? undefined : `${where} must be one of ${allowed.map((a) => String(a)).join(', ')}`;
}

function arrayOf(check: Check): Check {
  return (value, where) => {
    if (!Array.isArray(value)) return `${where} must be an array`;
    for (let index = 0; index < value.length; index++) {
      const problem = check(value[index], `${where}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

function object(shape: Record<string, Check>): Check {
  return (value, where) => {
    if (!isRecord(value)) return `${where} must be an object`;
    for (const [key, check] of Object.entries(shape)) {
      const problem = check(value[key], `${where}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  };
}

const isFields = object({
  text: isNonEmptyString,
  teacher: isNonEmptyString,
  human: isNonEmptyString,
  id: isNonEmptyString,
  teacherConfidence: isNonEmptyString,
});

const ENDPOINT_SETTINGS_KEYS = ['baseUrl', 'model', 'dimensions', 'maxConcurrency', 'requestTimeoutMs', 'maxRetries'];
const isEndpointSettings: Check = (value, where) => {
  // Only these keys: the request is written to settings.json and run.log, so nothing else (an API key) may ride along.
  const extra = isRecord(value) ? Object.keys(value).find((key) => !ENDPOINT_SETTINGS_KEYS.includes(key)) : undefined;
  if (extra !== undefined) return `${where} has an unknown field ${JSON.stringify(extra)} (the API key goes through the worker's environment)`;
  return object({
    baseUrl: isNonEmptyString,
    model: isNonEmptyString,
    dimensions: optional((dims, at) => (Number.isInteger(dims) && (dims as number) >= 1 && (dims as number) <= MAX_EMBEDDING_DIMS ? undefined : `${at} must be an integer from 1 to ${MAX_EMBEDDING_DIMS}`)),
    maxConcurrency: optional(isPositiveInteger),
    requestTimeoutMs: optional(isPositiveInteger),
    maxRetries: optional((retries, at) => (Number.isInteger(retries) && (retries as number) >= 0 && (retries as number) <= MAX_RETRIES ? undefined : `${at} must be an integer from 0 to ${MAX_RETRIES}`)),
  })(value, where);
};

const isOptions = object({
  folds: (value, where) =>
    Number.isInteger(value) && (value as number) >= MIN_FOLDS ? undefined : `${where} must be an integer ≥ ${MIN_FOLDS}`,
  stages: (value, where) =>
    Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_STAGES ? undefined : `${where} must be an integer from 1 to ${MAX_STAGES}`,
  seed: (value, where) => (Number.isInteger(value) ? undefined : `${where} must be an integer`),
  backend: oneOf(BACKEND_PREFERENCES),
  finalTargets: oneOf(FINAL_TARGETS),
  student: oneOf(['fasttext'] as const),
  encoder: optional((value, where) => {
    const parsed = parseEncoderChoice(value);
    return 'error' in parsed ? `${where} ${parsed.error}` : undefined;
  }),
  encoderEndpoint: optional(isEndpointSettings),
});

const isRequest = object({
  datasetPath: isNonEmptyString,
  datasetText: optional(isString),
  fields: isFields,
  labels: arrayOf(isNonEmptyString),
  options: isOptions,
  outputDir: optional(isString),
  warnings: optional(arrayOf(isNonEmptyString)),
});

const isProgressFields = object({
  phase: oneOf(PHASES),
  encoder: optional(isNonEmptyString),
  encoded: optional(isFiniteNumber),
  toEncode: optional(isFiniteNumber),
  fold: optional(isFiniteNumber),
  folds: optional(isFiniteNumber),
  stage: optional(isFiniteNumber),
  stages: optional(isFiniteNumber),
  epoch: optional(isFiniteNumber),
  epochs: optional(isFiniteNumber),
  loss: optional(isFiniteNumber),
  rowsPerSecond: optional(isFiniteNumber),
  elapsedMs: isFiniteNumber,
  remainingMs: optional(isFiniteNumber),
  remainingMsLow: optional(isFiniteNumber),
  fraction: (value, where) =>
    typeof value === 'number' && value >= 0 && value <= 1 ? undefined : `${where} must be a number in [0, 1]`,
});

/** Whether a time left's lower end makes a range with it: 0 ≤ low ≤ ms (the worker drops, the host refuses, others). */
export function isTimeLeftRange(low: number, ms: unknown): boolean {
  return typeof ms === 'number' && low >= 0 && low <= ms;
}

/** Progress, with its time left a range only where both ends make one (isTimeLeftRange). */
const isProgress: Check = (value, where) => {
  const problem = isProgressFields(value, where);
  if (problem || !isRecord(value) || value.remainingMsLow === undefined) return problem;
  return isTimeLeftRange(value.remainingMsLow as number, value.remainingMs) ? undefined : `${where}.remainingMsLow must be in [0, ${where}.remainingMs]`;
};

const isLogLine = object({
  level: oneOf(LOG_LEVELS),
  message: isString,
  time: isString,
  source: optional(oneOf(['worker', 'stdout', 'stderr', 'host'] as const)),
});

const isNullableRate: Check = (value, where) => (value === null || isFiniteNumber(value, where) === undefined ? undefined : `${where} must be a finite number or null`);

const isCounts = object({
  lines: isFiniteNumber,
  rows: isFiniteNumber,
  invalidLines: isFiniteNumber,
  skippedNoText: isFiniteNumber,
  teacherLabelled: isFiniteNumber,
  humanLabelled: isFiniteNumber,
  unlabelled: isFiniteNumber,
  teacherOutsideLabelSet: isFiniteNumber,
} satisfies Record<keyof InputCounts, Check>);

const isCount: Check = (value, where) => (Number.isInteger(value) && (value as number) >= 0 ? undefined : `${where} must be an integer ≥ 0`);

const isSummary = object({
  runId: isNonEmptyString,
  runDir: isNonEmptyString,
  datasetPath: isNonEmptyString,
  labels: arrayOf(isString),
  counts: isCounts,
  flagged: isFiniteNumber,
  estimatedTeacherAccuracy: isNullableRate,
  teacherAgreementWithHumans: isNullableRate,
  finalStudentHumanAccuracy: isNullableRate,
  teacherAgreementRows: optional(isCount),
  finalStudentHumanRows: optional(isCount),
  trust: optional(
    object({
      teacherAccuracy: nullable(object({ estimate: isFiniteNumber, low: nullable(isFiniteNumber), high: nullable(isFiniteNumber) })),
      flaggedWrong: nullable(object({ estimate: isFiniteNumber, low: nullable(isFiniteNumber), high: nullable(isFiniteNumber) })),
    }),
  ),
  backend: isString,
  backendSkipped: arrayOf(object({ name: isString, reason: isString })),
  elapsedMs: isFiniteNumber,
  peakRssMb: optional(isFiniteNumber),
  encoder: optional(isString),
  adopted: optional(object({ labels: isCount, weighting: isFiniteNumber })),
});

/** An estimate with its interval: both bounds or neither, low ≤ estimate ≤ high (calibration.ts Interval). */
const isInterval: Check = (value, where) => {
  const problem = object({ estimate: isFiniteNumber, low: isNullableRate, high: isNullableRate } satisfies Record<keyof Interval, Check>)(value, where);
  if (problem || !isRecord(value)) return problem;
  const { estimate, low, high } = value as unknown as Interval;
  if ((low === null) !== (high === null)) return `${where} must have both bounds or neither`;
  return low === null || high === null || (low <= estimate && estimate <= high) ? undefined : `${where} must have low ≤ estimate ≤ high`;
};

/** An interval, or every field null (calibration.ts NoEstimate: no row to estimate on). */
const isIntervalOrNone: Check = (value, where) =>
  isRecord(value) && value.estimate === null ? object({ low: (v, at) => (v === null ? undefined : `${at} must be null`), high: (v, at) => (v === null ? undefined : `${at} must be null`) })(value, where) : isInterval(value, where);

const isBothNumbers: Check = object({ words: isFiniteNumber, withEmbedding: isFiniteNumber });

type MetricsShape<T> = { [K in keyof T]-?: Check };

const isMetricsFile: Check = object({
  rows: isCount,
  teacherRows: isCount,
  humanRows: isCount,
  reviewedRows: isCount,
  unlabelledRows: isCount,
  labels: arrayOf(isString),
  folds: isPositiveInteger,
  stages: isPositiveInteger,
  seed: (value, where) => (Number.isInteger(value) ? undefined : `${where} must be an integer`),
  finalTargets: oneOf(['soft', 'hard'] as const),
  finalWeighting: optional(isFiniteNumber),
  student: object({
    dim: isPositiveInteger,
    epochs: isPositiveInteger,
    learningRate: isFiniteNumber,
    batchSize: isPositiveInteger,
    head: oneOf(['typed', 'tfjs'] as const),
    minRowUpdates: optional(isFiniteNumber),
    maxEpochs: optional(isFiniteNumber),
    labelSmoothing: optional(isFiniteNumber),
  } satisfies MetricsShape<Omit<StudentOptions, 'seed'>>),
  featurizer: object({
    buckets: isPositiveInteger,
    wordNgrams: isPositiveInteger,
    charNgrams: nullable((value, where) => (Array.isArray(value) && value.length === 2 ? arrayOf(isPositiveInteger)(value, where) : `${where} must be [min, max] or null`)),
  } satisfies MetricsShape<FeaturizerConfig>),
  estimatedTeacherAccuracy: isNullableRate,
  recalibration: object({ intercept: isFiniteNumber, slope: isFiniteNumber } satisfies MetricsShape<DistillMetrics['recalibration']>),
  flaggedCount: isCount,
  changedCount: isCount,
  thresholds: object({ flag: isNullableRate, change: isFiniteNumber, alpha: isFiniteNumber, gamma: isFiniteNumber, beta: isFiniteNumber } satisfies MetricsShape<DistillMetrics['thresholds']>),
  teacherConfusion: arrayOf(arrayOf(isFiniteNumber)),
  humanCheck: object({
    rows: isCount,
    pairedRows: isCount,
    teacherAccuracy: isNullableRate,
    advisedAccuracy: isNullableRate,
    studentAccuracy: isNullableRate,
  } satisfies MetricsShape<DistillMetrics['humanCheck']>),
  trust: object({ teacherAccuracy: isIntervalOrNone, teacherErrors: isInterval, flaggedWrong: isInterval } satisfies MetricsShape<DistillMetrics['trust']>),
  timingsMs: (value, where) => {
    if (!isRecord(value)) return `${where} must be an object`;
    const problem = isFiniteNumber(value.total, `${where}.total`);
    if (problem) return problem;
    for (const [phase, ms] of Object.entries(value)) {
      if (phase !== 'total' && !PHASES.includes(phase as DistillPhase)) return `${where} has an unknown phase ${JSON.stringify(phase)}`;
      const msProblem = isFiniteNumber(ms, `${where}.${phase}`);
      if (msProblem) return msProblem;
    }
    return undefined;
  },
  rowsPerSecond: isFiniteNumber,
  studentThreads: isCount,
  backend: isString,
  encoder: object({
    requested: isString,
    candidate: nullable(object({ name: isString, version: isString, dims: isPositiveInteger })),
    used: oneOf(['words', 'words+embedding'] as const),
    reason: isString,
    humanAccuracy: nullable(isBothNumbers),
    humanLogLikelihood: nullable(isBothNumbers),
    encodeMs: isFiniteNumber,
    cachedRows: isCount,
  } satisfies MetricsShape<DistillMetrics['encoder']>),
  run: object({
    runId: isNonEmptyString,
    counts: isCounts,
    labels: arrayOf(isString),
    labelsSource: oneOf(['configured', 'inferred'] as const),
    backend: object({ name: isString, skipped: arrayOf(object({ name: isString, reason: isString })) }),
    elapsedMs: isFiniteNumber,
  } satisfies MetricsShape<MetricsRun>),
} satisfies MetricsShape<MetricsFile>);

/**
 * What is wrong with a run's metrics.json against MetricsFile (each figure a finite number, or null exactly where the
 * type allows one), or undefined. For files a run of this build wrote: an older run's file may lack parts of it.
 */
export function metricsFileProblem(value: unknown): string | undefined {
  return isMetricsFile(value, 'metrics');
}

const hostToWorkerChecks: Record<HostToWorkerMessage['type'], Check> = {
  start: object({ request: isRequest }),
  cancel: object({ reason: optional(isString) }),
};

const workerToHostChecks: Record<WorkerToHostMessage['type'], Check> = {
  started: object({ runId: isNonEmptyString, tempDir: isNonEmptyString, runsDir: isNonEmptyString }),
  progress: object({ progress: isProgress }),
  log: object({ line: isLogLine }),
  result: object({
    result: object({ runId: isNonEmptyString, runDir: isNonEmptyString, summary: isSummary }),
  }),
  error: object({ kind: oneOf(FAILURE_KINDS), message: isString, logTail: arrayOf(isString) }),
  cancelled: object({}),
};

export type Validated<T> = { ok: true; message: T } | { ok: false; error: string };

function validate<T>(value: unknown, checks: Record<string, Check>, direction: string): Validated<T> {
  if (!isRecord(value) || typeof value.type !== 'string') {
    return { ok: false, error: `${direction} message must be an object with a string 'type'` };
  }
  const check = Object.prototype.hasOwnProperty.call(checks, value.type) ? checks[value.type] : undefined;
  if (!check) return { ok: false, error: `unknown ${direction} message type '${value.type}'` };
  const problem = check(value, value.type);
  return problem ? { ok: false, error: `invalid ${direction} message: ${problem}` } : { ok: true, message: value as T };
}

/** Validates a message the worker received. */
export function parseHostMessage(value: unknown): Validated<HostToWorkerMessage> {
  return validate<HostToWorkerMessage>(value, hostToWorkerChecks, 'host→worker');
}

/** Validates a message the host received. */
export function parseWorkerMessage(value: unknown): Validated<WorkerToHostMessage> {
  return validate<WorkerToHostMessage>(value, workerToHostChecks, 'worker→host');
}

/** Validates a request before it is sent, so that the caller gets the error instead of a worker round-trip. */
export function validateRequest(request: unknown): string | undefined {
  return isRequest(request, 'request');
}

/** The defaults that the CLI and the editor share; the method may refine them (see docs/METHOD.md). */
export const DEFAULT_DISTILL_OPTIONS: DistillOptions = {
  folds: 2,
  stages: 2,
  seed: 0,
  backend: 'auto',
  finalTargets: 'auto',
  student: 'fasttext',
  encoder: 'auto',
};
