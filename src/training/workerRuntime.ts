/**
 * What the training child process does (its entry is worker.ts, bundled as `dist/worker.js`; client.ts forks it).
 * Kept apart from the entry so that tests can serve the same runtime with a scripted engine.
 *
 * One run per process: receive `start`, answer `started`, prepare the input, run the method, write the artefacts
 * into `.tmp-<run-id>/`, rename that into place, send `result`, exit. On `cancel`, SIGTERM, a lost host or a failure,
 * the temp folder is removed and nothing else is touched.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import {
  readKnownRunsDirs,
  METRICS_FILE,
  newRunId,
  recordRunsDir,
  resolveRunsDir,
  RunFolderCreation,
  RunWriter,
  SETTINGS_FILE,
  type RunEncoder,
  type RunSettings,
} from './artifacts';
import { InputError, readTrainingInput, type PreparedInput } from './input';
import {
  datasetSourceDescription,
  isTimeLeftRange,
  countAt,
  numberAt,
  trustFromMetrics,
  parseHostMessage,
  type DistillationFailureKind,
  type DistillationRequest,
  type LogLevel,
  type MetricsRun,
  type RunSummary,
  type WorkerToHostMessage,
} from './protocol';
import { ENGINE_WARNING_PREFIX, type BackendPreference, type DistillOptions, type DistillProgress, type RowExplanation, type TrainingRow } from './types';
import { scoresAt, type Predictions } from './predictionTable';
import { doubtfulRanks, isDoubtCandidate } from './doubtful';
import type { EncoderEnvironment } from './encoder';
import { EMBEDDING_CACHE_DIR_NAME } from './embeddingCache';
import { identitiesToWatch, markReviewedRows, readPreviousRun, reviewedIdsOf, type PreviousRun } from './reviewedRows';
import { takeEncoderApiKey } from './encoders/endpoint';
import { proxyAwareFetch } from '../teacher/proxyFetch';
import { redactSecret } from '../teacher/redact';
import { readReviewLogs, reviewLogFile, type ReviewLog } from '../review/reviewLog';
import { orphanedHistoriesOf, orphanedHistoryMessage } from './datasetMove';
import { labelListText } from '../dataset/labels';

/** The method, as the worker uses it (pipeline.ts and model.ts); injectable so tests can run their own. */
export interface DistillationEngine {
  runDistillation(
    input: { rows: TrainingRow[]; labels: string[] },
    options: DistillOptions,
    hooks?: { onProgress?: (progress: DistillProgress) => void; onLog?: (message: string) => void; signal?: AbortSignal; encoders?: EncoderEnvironment },
  ): Promise<{
    /** One per row: the pipeline's table, or Prediction objects (a scripted engine). */
    predictions: Predictions;
    /** Why each flagged row is flagged (explanations.jsonl); an engine without them writes none. */
    explanations?: (RowExplanation | null)[];
    metrics: unknown;
    model: unknown;
    backend: { name: string; skipped: { name: string; reason: string }[] };
  }>;
  saveModel(model: never, dir: string, backend?: BackendPreference): Promise<void>;
}

/** The transport: `process` in the child; a fake in no test (tests fork a real process). */
export interface WorkerPort {
  send?: (message: WorkerToHostMessage, callback?: (error: Error | null) => void) => boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

const LOG_TAIL_LINES = 30;
/** At most this many progress messages per second reach the host (a new phase, fold, stage or epoch always does). */
const PROGRESS_INTERVAL_MS = 100;

class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** metrics.json `encoder` (pipeline.ts EncoderReport), when the method reported one in the expected shape. */
function encoderOf(metrics: unknown): RunEncoder | undefined {
  const value = typeof metrics === 'object' && metrics !== null ? (metrics as { encoder?: unknown }).encoder : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const { requested, candidate, used, reason, humanLogLikelihood } = value as Record<string, unknown>;
  if (typeof requested !== 'string' || (used !== 'words' && used !== 'words+embedding') || typeof reason !== 'string') return undefined;
  const tried = typeof candidate === 'object' && candidate !== null ? (candidate as { name?: unknown; version?: unknown }) : undefined;
  return {
    requested,
    used,
    reason,
    compared: typeof humanLogLikelihood === 'object' && humanLogLikelihood !== null,
    ...(tried && typeof tried.name === 'string' && typeof tried.version === 'string' ? { candidate: { name: tried.name, version: tried.version } } : {}),
  };
}

/** One line for the summary table: what the students read, and what was asked. */
function encoderSummary(encoder: RunEncoder): string {
  const used = encoder.used === 'words+embedding' && encoder.candidate ? `words + ${encoder.candidate.name}` : 'words alone';
  const tried =
    encoder.candidate && encoder.used === 'words'
      ? encoder.compared
        ? ` (${encoder.candidate.name} did not help this dataset)`
        : ` (${encoder.candidate.name} not tried: no human labels to check it against)`
      : '';
  return `${used}${tried}; asked ${encoder.requested}`;
}

export function summarize(
  predictions: Predictions,
  input: PreparedInput,
  base: { runId: string; runDir: string; datasetPath: string; backend: { name: string; skipped: { name: string; reason: string }[] }; metrics: unknown; elapsedMs: number },
): RunSummary {
  let flagged = 0;
  let teacherOnly = 0;
  let teacherRightMass = 0;
  let bothLabelled = 0;
  let agreeing = 0;
  // The doubtful queue's candidates' scores, in file order (doubtful.ts, the rule Label Review lists them by).
  const doubtScores: number[] = [];
  for (let index = 0; index < predictions.length; index++) {
    const prediction = scoresAt(predictions, index); // not get(): a million rows' probability records are not needed
    if (prediction.flagged) flagged++;
    if (isDoubtCandidate(prediction)) doubtScores.push(prediction.p_teacher_wrong);
    if (prediction.teacher !== null && prediction.human === null) {
      teacherOnly++;
      teacherRightMass += 1 - prediction.p_teacher_wrong;
    }
    if (prediction.teacher !== null && prediction.human !== null) {
      bothLabelled++;
      if (prediction.teacher === prediction.human) agreeing++;
    }
  }
  return {
    runId: base.runId,
    runDir: base.runDir,
    datasetPath: base.datasetPath,
    labels: input.labels,
    counts: input.counts,
    flagged,
    doubtful: doubtfulOfScores(doubtScores),
    ...(numberAt(base.metrics, 'reviewedRows') !== null ? { reviewedRows: numberAt(base.metrics, 'reviewedRows')! } : {}),
    estimatedTeacherAccuracy: numberAt(base.metrics, 'estimatedTeacherAccuracy') ?? (teacherOnly ? teacherRightMass / teacherOnly : null),
    // On the random human labels only, as the student's figure beside it: labels set in review are the rows the run
    // doubted, mostly teacher errors, and would drag the teacher's share down (pipeline.ts humanCheck). Every human
    // label where the metrics predate the figure.
    ...teacherAgreementOf(base.metrics, bothLabelled ? { share: agreeing / bothLabelled, rows: bothLabelled } : null),
    // Cross-fitted: the final student's recipe, judged on human rows it did not train on (pipeline.ts humanCheck).
    finalStudentHumanAccuracy: numberAt(base.metrics, 'humanCheck', 'studentAccuracy'),
    ...studentRowsOf(base.metrics),
    trust: trustFromMetrics(base.metrics),
    ...(encoderOf(base.metrics) ? { encoder: encoderSummary(encoderOf(base.metrics)!) } : {}),
    ...adoptedOf(base.metrics),
    backend: base.backend.name,
    backendSkipped: base.backend.skipped,
    elapsedMs: base.elapsedMs,
    // maxRSS is in kilobytes.
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** RunSummary.doubtful of the doubt candidates' scores (doubtful.ts doubtfulRanks). */
function doubtfulOfScores(scores: readonly number[]): NonNullable<RunSummary['doubtful']> {
  const ranks = doubtfulRanks(scores);
  return { rows: ranks.rows.length, expectedErrors: ranks.expectedErrors };
}

/** The teacher's agreement with the random human labels and their count (pipeline.ts humanCheck), else `fallback`. */
function teacherAgreementOf(metrics: unknown, fallback: { share: number; rows: number } | null): Pick<RunSummary, 'teacherAgreementWithHumans' | 'teacherAgreementRows'> {
  const share = numberAt(metrics, 'humanCheck', 'teacherAccuracy');
  const rows = countAt(metrics, 'humanCheck', 'pairedRows');
  if (rows !== null) return { teacherAgreementWithHumans: rows > 0 ? share : null, teacherAgreementRows: rows };
  return fallback ? { teacherAgreementWithHumans: fallback.share, teacherAgreementRows: fallback.rows } : { teacherAgreementWithHumans: null, teacherAgreementRows: 0 };
}

/** The human labels the student accuracy was read on (nothing where the metrics predate the figure). */
function studentRowsOf(metrics: unknown): Pick<RunSummary, 'finalStudentHumanRows'> {
  const rows = countAt(metrics, 'humanCheck', 'rows');
  return rows !== null ? { finalStudentHumanRows: rows } : {};
}

/** What the engine adopted by itself, from a run's metrics (nothing where they predate the figures). */
function adoptedOf(metrics: unknown): Pick<RunSummary, 'adopted'> {
  const labels = countAt(metrics, 'changedCount');
  if (labels === null) return {};
  return { adopted: { labels, weighting: numberAt(metrics, 'finalWeighting') ?? 0 } };
}

/**
 * The method's progress made safe for the protocol: a diverged loss (NaN) or a fraction a rounding error past 1
 * must not fail the run as a malformed message.
 */
export function sanitizeProgress(progress: DistillProgress): DistillProgress {
  const clean: DistillProgress = {
    phase: progress.phase,
    elapsedMs: Number.isFinite(progress.elapsedMs) ? progress.elapsedMs : 0,
    fraction: Number.isFinite(progress.fraction) ? Math.min(1, Math.max(0, progress.fraction)) : 0,
  };
  for (const key of ['fold', 'folds', 'stage', 'stages', 'epoch', 'epochs', 'loss', 'rowsPerSecond', 'encoded', 'toEncode', 'remainingMs', 'remainingMsLow'] as const) {
    const value = progress[key];
    if (typeof value === 'number' && Number.isFinite(value)) clean[key] = value;
  }
  if (progress.encoder) clean.encoder = progress.encoder; // the editor's "Encoding rows with use-lite · 2,560/10,000"
  // A range only where both ends make one (the protocol refuses a lower end above the time left, or without it).
  if (clean.remainingMsLow !== undefined && !isTimeLeftRange(clean.remainingMsLow, clean.remainingMs)) delete clean.remainingMsLow;
  return clean;
}

/** Serves one run over `port` (the IPC channel of the forked process). */
export function serveWorker(loadEngine: () => Promise<DistillationEngine>, port: WorkerPort = process as WorkerPort): void {
  const abort = new AbortController();
  // The endpoint encoder's key, handed over in the environment by the host (client.ts): kept in memory, out of every line.
  const encoderApiKey = takeEncoderApiKey();
  const logTail: string[] = [];
  let logStream: WriteStream | undefined;
  let writer: RunWriter | undefined;
  /** The run folder's creation while it is awaited (RunFolderCreation), for discardNow. */
  let creation: RunFolderCreation | undefined;
  let started = false;
  let finished = false;

  function send(message: WorkerToHostMessage): Promise<void> {
    return new Promise((resolve) => {
      if (!port.send) return resolve();
      try {
        port.send(message, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  function log(level: LogLevel, raw: string): void {
    const message = redactSecret(raw, encoderApiKey);
    const time = new Date().toISOString();
    logTail.push(`[${level}] ${message}`);
    if (logTail.length > LOG_TAIL_LINES) logTail.shift();
    logStream?.write(`${time} ${level.toUpperCase().padEnd(5)} ${message}\n`);
    void send({ type: 'log', line: { level, message, time, source: 'worker' } });
  }

  async function closeLog(): Promise<void> {
    const stream = logStream;
    logStream = undefined;
    if (stream) {
      stream.end();
      await once(stream, 'close').catch(() => undefined);
    }
  }

  /** Synchronous, for signal handlers: the process is about to go. */
  function discardNow(): void {
    if (finished) return;
    try {
      // While the run folder is being created (a cancel in the run's first milliseconds), what it made so far.
      if (writer) writer.discardSync();
      else creation?.discardSync();
    } catch {
      // The host removes it after the exit.
    }
  }

  async function finish(message: WorkerToHostMessage, exitCode: number): Promise<void> {
    finished = true;
    await send(message);
    process.exit(exitCode);
  }

  async function fail(kind: DistillationFailureKind, raw: string): Promise<void> {
    if (finished) return;
    const message = redactSecret(raw, encoderApiKey);
    if (kind !== 'cancelled') log('error', message);
    await closeLog();
    await writer?.discard().catch(() => undefined);
    if (kind === 'cancelled') await finish({ type: 'cancelled' }, 0);
    else await finish({ type: 'error', kind, message, logTail: [...logTail] }, 1);
  }

  function throwIfCancelled(): void {
    if (abort.signal.aborted) throw new CancelledError();
  }

  async function run(request: DistillationRequest): Promise<void> {
    const startedAt = new Date();
    const startTime = Date.now();
    const datasetPath = path.resolve(request.datasetPath);
    const runsDir = resolveRunsDir(datasetPath, request.outputDir);
    const runId = newRunId(datasetPath, startedAt);
    try {
      creation = new RunFolderCreation(runsDir);
      writer = await RunWriter.create(runsDir, runId, datasetPath, creation);
    } catch (error) {
      throw new Error(`cannot create the run folder in ${runsDir}: ${errorText(error)} (choose another output folder: setting peerkd.training.outputDir, or --out on the command line)`);
    }
    logStream = createWriteStream(writer.logPath, { flags: 'a' });
    await send({ type: 'started', runId, tempDir: writer.tempDir, runsDir });
    log('info', `run ${runId}: dataset ${datasetPath} (${datasetSourceDescription(request)})`);
    log('info', `options: ${JSON.stringify(request.options)}`);
    // What the host ran otherwise than the user wrote (a setting it could not parse), next to the options it ran with.
    for (const warning of request.warnings ?? []) log('warn', warning);

    const progressStart = Date.now();
    void send({ type: 'progress', progress: { phase: 'featurize', elapsedMs: 0, fraction: 0 } });
    const input = await readTrainingInput({
      file: datasetPath,
      text: request.datasetText,
      fields: request.fields,
      labels: request.labels,
      folds: request.options.folds,
    });
    const counts = input.counts;
    log(
      'info',
      `input: ${counts.rows} rows (${counts.teacherLabelled} teacher-labelled, ${counts.humanLabelled} human-labelled, ${counts.unlabelled} unlabelled); ` +
        `${counts.skippedNoText} without text skipped; ${counts.invalidLines} invalid line(s); labels (${input.labelsSource}): ${labelListText(input.labels)}`,
    );
    for (const invalid of input.invalidLines.slice(0, 50)) log('warn', `${datasetPath}:${invalid.line}: ${invalid.message} — line left out`);
    if (input.invalidLines.length > 50) log('warn', `… and ${input.invalidLines.length - 50} more invalid lines`);
    for (const warning of input.warnings) log('warn', warning);
    throwIfCancelled();

    // Human labels set in review train the students but are no random sample (reviewedRows.ts; the review log decides).
    let reviewedBeforeLog: string[] = [];
    let reviewLog: ReviewLog | undefined;
    // The dataset's log in every runs folder it used (the runs folder may have changed since the review: peerkd.outputDir,
    // --out): artifacts.ts knownRunsDirs; this run's own is recorded once it is complete.
    const known = await readKnownRunsDirs(datasetPath, request.outputDir);
    for (const problem of known.problems) log('warn', problem);
    const knownLogs = known.dirs.map((dir) => reviewLogFile(dir, datasetPath));
    let reviewLogName = knownLogs[0];
    try {
      reviewLog = await readReviewLogs(knownLogs);
      for (const warning of reviewLog?.warnings ?? []) log('warn', warning);
      if (reviewLog) reviewLogName = reviewLog.file;
      const elsewhere = reviewLog?.files.filter((file) => file !== knownLogs[0]) ?? [];
      if (elsewhere.length > 0) log('info', `review log read from an earlier runs folder as well: ${elsewhere.join(', ')}`);
    } catch (error) {
      log('warn', `the review log could not be read, so no human label counts as decided in review by it: ${errorText(error)}`);
    }
    let previous: PreviousRun | undefined;
    try {
      // In the runs folders read above for the review logs (the list is read once per run).
      previous = await readPreviousRun(datasetPath, { runsDirs: known.dirs }, identitiesToWatch(input.rows));
    } catch (error) {
      log('warn', `the previous run could not be read, so only the review log says which human labels were set in review (the others count as the random sample): ${errorText(error)}`);
    }
    {
      const { marked, unsure, warnings, rule, beforeLog } = markReviewedRows(input.rows, previous, reviewLog);
      reviewedBeforeLog = beforeLog;
      if (rule === 'queues' && previous) {
        log(
          'info',
          `no review log for this dataset (${reviewLogName}) and run ${previous.runId} was made before there was one: as then, human labels on rows it flagged or doubted count as reviewed, ` +
            'random or not; from now on Label Review and the quick fixes log their decisions, and only those count as reviewed',
        );
      }
      if (marked > 0) {
        const how = rule === 'queues' ? `were set on rows that run ${previous?.runId} flagged or doubted (review)` : `were decided in review (review log ${reviewLogName}${beforeLog.length > 0 ? `, ${beforeLog.length} of them by a run before it` : ''})`;
        log(
          'info',
          `${marked - unsure} human label(s) ${how}${unsure > 0 ? ` and ${unsure} may have been (warned below)` : ''}: the students train on them, ` +
            `but the calibration, the teacher estimate and the checks rest on the other ${counts.humanLabelled - marked} human label(s), the random sample`,
        );
      }
      for (const warning of warnings) log('warn', warning);
    }
    // No history at all: where a runs folder it reads holds the history of a dataset that is gone (renamed or moved
    // without it: mv, a file manager), said rather than starting from nothing in silence.
    if (previous === undefined && reviewLog === undefined) {
      const orphaned = orphanedHistoryMessage(datasetPath, await orphanedHistoriesOf(datasetPath, known.dirs).catch(() => []));
      if (orphaned) log('warn', `${orphaned} (this run goes on without that history; peerkd move after it still carries the review log to the next run)`);
    }
    throwIfCancelled();

    const engine = await loadEngine();
    throwIfCancelled();
    let lastSent = 0;
    let lastKey = '';
    const result = await engine.runDistillation({ rows: input.rows, labels: input.labels }, request.options, {
      signal: abort.signal,
      // The embedding cache lies next to the dataset, like the teacher cache; a relative model folder in the encoder
      // choice (`static:models/potion`, from the setting) resolves against the dataset's folder, as outputDir does.
      encoders: { cacheDir: path.join(path.dirname(datasetPath), EMBEDDING_CACHE_DIR_NAME), baseDir: path.dirname(datasetPath), endpoint: request.options.encoderEndpoint, apiKey: encoderApiKey, fetch: proxyAwareFetch(process.env) },
      onLog: (message) => (message.startsWith(ENGINE_WARNING_PREFIX) ? log('warn', message.slice(ENGINE_WARNING_PREFIX.length)) : log('info', message)),
      onProgress: (progress) => {
        const now = Date.now();
        const key = `${progress.phase}/${progress.stage}/${progress.fold}/${progress.epoch}`;
        if (key === lastKey && now - lastSent < PROGRESS_INTERVAL_MS && progress.fraction < 1) return;
        lastKey = key;
        lastSent = now;
        void send({ type: 'progress', progress: sanitizeProgress(progress) });
      },
    });
    throwIfCancelled();

    void send({ type: 'progress', progress: { phase: 'write', elapsedMs: Date.now() - progressStart, fraction: 1 } });
    if (result.predictions.length !== input.rows.length) {
      throw new Error(`the method returned ${result.predictions.length} predictions for ${input.rows.length} rows`);
    }
    const elapsedMs = Date.now() - startTime;
    const metrics = {
      ...(typeof result.metrics === 'object' && result.metrics !== null && !Array.isArray(result.metrics)
        ? (result.metrics as Record<string, unknown>)
        : { method: result.metrics }),
      run: { runId, counts, labels: input.labels, labelsSource: input.labelsSource, backend: result.backend, elapsedMs } satisfies MetricsRun,
    };
    await writer.writePredictions(result.predictions);
    if (result.explanations) {
      await writer.writeExplanations(result.explanations);
    }
    await writer.writeJson(METRICS_FILE, metrics);
    await engine.saveModel(result.model as never, writer.modelDir, request.options.backend);
    const settings: RunSettings = {
      runId,
      startedAt: startedAt.toISOString(),
      completedAt: new Date().toISOString(),
      datasetPath,
      datasetSha256: input.datasetSha256,
      rowTextsSha256: input.rowTextsSha256,
      datasetSource: request.datasetText !== undefined ? 'editor' : 'file',
      fields: request.fields,
      labels: input.labels,
      labelsSource: input.labelsSource,
      options: request.options,
      counts,
      backend: result.backend,
      ...(encoderOf(result.metrics) ? { encoder: encoderOf(result.metrics) } : {}),
      reviewedIds: reviewedIdsOf(input.rows),
      reviewedBeforeLog,
    };
    await writer.writeJson(SETTINGS_FILE, settings);
    const summary = summarize(result.predictions, input, {
      runId,
      runDir: writer.runDir,
      datasetPath,
      backend: result.backend,
      metrics,
      elapsedMs,
    });
    log('info', `backend ${result.backend.name}; ${summary.flagged} rows flagged; ${(elapsedMs / 1000).toFixed(1)} s`);
    throwIfCancelled();
    await closeLog();
    const runDir = await writer.commit(datasetPath);
    // This runs folder recorded beside the dataset for the runs after, whatever their runs folder (knownRunsDirs); only
    // for a complete run, as a failed one leaves nothing behind. Said to the host (the run log is closed).
    try {
      await recordRunsDir(datasetPath, runsDir);
    } catch (error) {
      log('warn', `this runs folder could not be recorded beside the dataset, so a later run with another runs folder will not find this run nor the review log here: ${errorText(error)}`);
    }
    await finish({ type: 'result', result: { runId, runDir, summary, metrics } }, 0);
  }

  port.on('message', (raw: unknown) => {
    const parsed = parseHostMessage(raw);
    if (!parsed.ok) {
      void fail('protocol', `The training worker received a malformed message (${parsed.error}).`);
      return;
    }
    const message = parsed.message;
    if (message.type === 'cancel') {
      if (!started) void fail('cancelled', 'cancelled');
      else abort.abort();
      return;
    }
    if (started) {
      log('warn', 'ignored a second start message: one worker serves one run');
      return;
    }
    started = true;
    run(message.request).catch((error: unknown) => {
      if (abort.signal.aborted) return fail('cancelled', 'cancelled');
      if (error instanceof InputError) return fail('input', error.message);
      if (error instanceof RangeError && /allocation failed/i.test(error.message)) {
        return fail('out-of-memory', `The training worker ran out of memory: ${error.message}`);
      }
      const stack = error instanceof Error && error.stack ? error.stack.split('\n').slice(1, 6).join('\n') : '';
      if (stack) log('error', stack);
      return fail('failed', `Distillation failed: ${errorText(error)}`);
    });
  });

  // TF.js and other libraries talk through console: route it into the run's log (and run.log) instead of stdout.
  console.log = console.info = (...args: unknown[]) => log('info', args.map(String).join(' '));
  console.warn = (...args: unknown[]) => log('warn', args.map(String).join(' '));
  console.error = (...args: unknown[]) => log('error', args.map(String).join(' '));
  console.debug = (...args: unknown[]) => log('debug', args.map(String).join(' '));

  // Cancel, SIGTERM and a lost host all end in the same place: the temp folder removed, nothing else touched.
  abort.signal.addEventListener('abort', () => log('info', 'cancel requested'));
  port.on('disconnect', () => {
    if (finished) return;
    discardNow();
    process.exit(1);
  });
  process.on('SIGTERM', () => {
    discardNow();
    process.exit(143);
  });
  // Ctrl-C in a terminal reaches the whole process group; the host turns it into a clean cancel, so the worker
  // waits for that instead of dying first (a lost host is caught by 'disconnect').
  process.on('SIGINT', () => log('info', 'interrupt received; waiting for the host to cancel'));
  process.on('uncaughtException', (error) => void fail('failed', `The training worker crashed: ${errorText(error)}`));
  process.on('unhandledRejection', (error) => void fail('failed', `The training worker crashed: ${errorText(error)}`));
}
