/**
 * The artefacts of a distillation run, and the reader the review UI uses.
 *
 * Layout, under the runs folder (default `<dataset folder>/.peerkd/runs`, configurable):
 *
 *   <run-id>/predictions.jsonl   one object per dataset row with text (public format, see PREDICTION_FIELDS)
 *   <run-id>/explanations.jsonl  optional: why each flagged row is flagged (types.ts RowExplanation)
 *   <run-id>/metrics.json        the method's metrics plus the input counts and backend
 *   <run-id>/model/              the final student (TF.js format plus the featurizer), see model.ts
 *   <run-id>/run.log             every log line of the run
 *   <run-id>/settings.json       options, field mapping, label set, dataset path and content hash
 *   .tmp-<run-id>/               a run being written; renamed to <run-id>/ only once complete
 *   latest                       text file: the id of the newest complete run, whatever its dataset
 *   latest-by-dataset/<key>      text file: the id of the newest complete run of ONE dataset (`moved-to <new key>
 *                                "<new path>"` once the dataset was renamed or moved and its history carried:
 *                                datasetMove.ts)
 *
 * Several datasets can share a folder (and so a runs folder), so the review UI asks for the latest run of its own
 * dataset: `readLatestRun(datasetPath)` follows `latest-by-dataset/<key>` where key = file name + hash of the
 * absolute path, and falls back to scanning the runs' settings.json when that pointer is missing.
 *
 * A run folder appears by one rename, and the pointers are replaced atomically (write temp + rename) after it, so an
 * interrupted or cancelled run never leaves a half-written run folder nor corrupts earlier runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { PEERKD_FOLDER, expandHomeFolder, processIsAlive, fileError, notFoundReason, forEachLine, linkedPeerkdFolder, isWithinFolder, linkedPeerkdFolderError, readLineBatches, writeFileAtomic, type SourceLine } from '../dataset';
import type { FieldMapping } from '../dataset/types';
import { idIdentity, idJson, JSON_NUMBER_TEXT } from '../dataset/fields';
import { ROW_TEXT_DIGEST_HEX } from '../dataset/rowTextsDigest';
import type { InputCounts } from './protocol';
import { EXPLANATION_LIMITS, type DistillOptions, type Prediction, type RowExplanation } from './types';
import { labelRecord, toLabelRecord } from './labelRecord';
import type { Predictions } from './predictionTable';

export const DEFAULT_RUNS_DIR = path.join(PEERKD_FOLDER, 'runs');
export const TEMP_PREFIX = '.tmp-';
export const LATEST_FILE = 'latest';
export const LATEST_BY_DATASET_DIR = 'latest-by-dataset';
/** The folder of the review logs (src/review/reviewLog.ts) inside a runs folder: never a run. */
export const REVIEW_LOG_DIR = 'review-log';
/**
 * What the latest pointer of a dataset renamed or moved holds instead of a run id (`moved-to <new key> "<new path>"`,
 * movedPointerText, written by datasetMove.ts once its history is carried): the look-up stops there, so that a new file
 * at the old path inherits none of the runs that record that path. A run of a dataset at that path replaces it as any
 * pointer. The new path (a JSON string) lets a dataset moved again outside the editor be named (orphanedHistories).
 */
export const MOVED_POINTER_PREFIX = 'moved-to ';

/** The text of the pointer of a dataset whose history was carried to `newPath`. */
export function movedPointerText(newPath: string): string {
  const absolute = path.resolve(newPath);
  return `${MOVED_POINTER_PREFIX}${datasetKey(absolute)} ${JSON.stringify(absolute)}\n`;
}

/**
 * Where a moved-to pointer says its history went: the new key, and the new path where the pointer records it (those
 * written before it did name the key alone); undefined for any other pointer, or one that is no file.
 */
export async function readMovedPointer(file: string): Promise<{ key: string; path?: string } | undefined> {
  // A link is no pointer PeerKD wrote; a FIFO or device is passed over as readPointer does (readPlainFileText).
  const stats = await fs.lstat(file).catch(() => undefined);
  if (stats === undefined || !stats.isFile()) return undefined;
  const text = await readPlainFileText(file, MAX_POINTER_BYTES * 8).catch(() => undefined);
  if (text === undefined || !text.startsWith(MOVED_POINTER_PREFIX)) return undefined;
  const rest = text.slice(MOVED_POINTER_PREFIX.length).trim();
  const space = rest.indexOf(' ');
  const key = space < 0 ? rest : rest.slice(0, space);
  if (key.length === 0 || key.includes('/') || key.includes('\\') || key.startsWith('.')) return undefined;
  let recorded: unknown;
  try {
    recorded = space < 0 ? undefined : JSON.parse(rest.slice(space + 1));
  } catch {
    recorded = undefined;
  }
  // Only a path whose key is the one named: a pointer edited by hand names no other file.
  const named = typeof recorded === 'string' && path.isAbsolute(recorded) && datasetKey(recorded) === key ? path.resolve(recorded) : undefined;
  return { key, ...(named === undefined ? {} : { path: named }) };
}
/** A run pointer is one short line (a run id); a larger file in its place is something else, never read whole. */
const MAX_POINTER_BYTES = 1024;

export const PREDICTIONS_FILE = 'predictions.jsonl';
export const EXPLANATIONS_FILE = 'explanations.jsonl';
export const METRICS_FILE = 'metrics.json';
export const SETTINGS_FILE = 'settings.json';
export const LOG_FILE = 'run.log';
export const MODEL_DIR = 'model';
/** Inside a temp run folder only: the writer's pid and host (see sweepAbandonedRuns). */
const OWNER_FILE = '.owner.json';

/** The fields of one predictions.jsonl line, in the order they are written. */
export const PREDICTION_FIELDS = [
  'id',
  'line',
  'teacher',
  'human',
  'suggested',
  'p_teacher_wrong',
  'flagged',
  'probs',
  'peer_probs',
  'vanilla_probs',
  // Last, and only where known (runs made before it have none): readers that cut a line before `probs`
  // (reviewedRows.ts headOfPrediction) read the same head.
  'text_digest',
] as const;

/** settings.json: everything needed to know what a run was made from. */
export interface RunSettings {
  runId: string;
  /** ISO times. */
  startedAt: string;
  completedAt: string;
  datasetPath: string;
  /** sha256 of the dataset text the run read (the editor's text when it had unsaved edits). */
  datasetSha256: string;
  /**
   * The digest of the rows' ids and texts the run read (dataset/rowTextsDigest.ts), which labels written since leave as
   * it was; absent in runs made before it.
   */
  rowTextsSha256?: string;
  /** Whether the text came from the file on disk or from the editor (unsaved edits). */
  datasetSource: 'file' | 'editor';
  fields: FieldMapping;
  labels: string[];
  labelsSource: 'configured' | 'inferred';
  /** The options used. */
  options: DistillOptions;
  counts: InputCounts;
  backend: { name: string; skipped: { name: string; reason: string }[] };
  /** The encoder the engine tried next to the words and whether it kept it (metrics.json `encoder` has the figures). */
  encoder?: RunEncoder;
  /**
   * Keys (src/review/rowKeys.ts: the id, with the row's order where rows share it) of the rows whose human label came
   * from reviewing an earlier run's queue (reviewedRows.ts); absent: older runs, whose lists hold plain ids.
   */
  reviewedIds?: string[];
  /**
   * Of reviewedIds, the keys counted as reviewed by the rule from before the review log (src/review/reviewLog.ts): a
   * human label on a row an earlier run queued, where no log existed, or carried from such a run. Present in every run
   * made since the log (empty when none): a run without it was made before, and the next run falls back to its queues
   * only then (reviewedRows.ts).
   */
  reviewedBeforeLog?: string[];
}

export interface RunEncoder {
  requested: string;
  candidate?: { name: string; version: string };
  used: 'words' | 'words+embedding';
  reason: string;
  /** Whether the peers with and without it were compared on human labels (false: none to compare on). */
  compared?: boolean;
}

export interface RunArtefacts {
  runId: string;
  runDir: string;
  predictions: Prediction[];
  /** Why the flagged rows are flagged, by position in predictions (absent: an older run, or the file was unreadable). */
  explanations?: Map<number, RowExplanation>;
  /** What was wrong with explanations.jsonl when it could not be read (the run is reviewed without it). */
  explanationsProblem?: string;
  metrics: unknown;
  settings: RunSettings;
}

/** A run folder or one of its files is missing or malformed; the message names the file (and line). */
export class RunArtefactError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'RunArtefactError';
  }
}

/**
 * The runs folder for a dataset: `outputDir` (absolute, `~/…` in the home folder, or relative to the dataset's folder)
 * or the default.
 */
export function resolveRunsDir(datasetPath: string, outputDir?: string): string {
  const datasetFolder = path.dirname(path.resolve(datasetPath));
  return path.resolve(datasetFolder, outputDir && outputDir.length > 0 ? expandHomeFolder(outputDir) : DEFAULT_RUNS_DIR);
}

/**
 * Where a dataset keeps the list of the runs folders other than its default one that hold its runs or its review log
 * (`<dataset folder>/.peerkd/runs-folders/<datasetKey>`, one absolute path a line): beside the dataset, where its
 * caches are, so it is found whatever peerkd.outputDir or `--out` says now. A run reads the review log and the
 * previous run of every folder listed (knownRunsDirs), so changing the runs folder does not lose what was reviewed.
 */
export const RUNS_FOLDERS_DIR = path.join(PEERKD_FOLDER, 'runs-folders');

export function runsFoldersFile(datasetPath: string): string {
  return path.join(path.dirname(path.resolve(datasetPath)), RUNS_FOLDERS_DIR, datasetKey(datasetPath));
}

/** The most a runs-folders list is read of: one absolute path a line, so thousands of runs folders; more is no such list. */
export const MAX_RUNS_FOLDERS_BYTES = 1024 * 1024;

/**
 * The runs folders where this dataset's runs and review log may be: the one `outputDir` names now, the default one,
 * and those listed in runsFoldersFile that are folders now (one gone holds no run: skipped at one stat, where each
 * look-up in it cost several; a stale list of 34,000 folders made `peerkd export` take 7 s) — each once, the one named
 * now first, then the list's in its order (oldest listed first) — and what was passed over in the list, in words
 * naming the file (and line): a line that is no absolute path, a list that is a symbolic link (a cloned repository
 * could point it anywhere, a device among them), not a plain file, or larger than MAX_RUNS_FOLDERS_BYTES.
 */
export async function readKnownRunsDirs(datasetPath: string, outputDir?: string): Promise<{ dirs: string[]; problems: string[] }> {
  const dirs = [...new Set([resolveRunsDir(datasetPath, outputDir), resolveRunsDir(datasetPath)])];
  const listed = await readRunsFoldersList(runsFoldersFile(datasetPath), `so runs are looked for in ${dirs.join(' and ')} only`);
  const others = [...new Set(listed.dirs)].filter((dir) => !dirs.includes(dir));
  return { dirs: [...dirs, ...(await existingFolders(others))], problems: listed.problems };
}

/**
 * The folders of `dirs` that are folders now (a link to one counts), in their order. Read by parent: one readdir per
 * parent folder (a parent gone settles all its entries at once), a stat only for a link; 64 parents at a time.
 */
async function existingFolders(dirs: readonly string[]): Promise<string[]> {
  const byParent = new Map<string, string[]>();
  for (const dir of dirs) {
    const parent = path.dirname(dir);
    const names = byParent.get(parent);
    if (names) names.push(dir);
    else byParent.set(parent, [dir]);
  }
  const existing = new Set<string>();
  const parents = [...byParent];
  for (let start = 0; start < parents.length; start += 64) {
    await Promise.all(
      parents.slice(start, start + 64).map(async ([parent, children]) => {
        const entries = await fs.readdir(parent, { withFileTypes: true }).catch(() => []);
        const kinds = new Map(entries.map((entry) => [entry.name, entry]));
        // A file system that ignores case or Unicode form (Windows, macOS) lists the name as it was made: asked by stat.
        const folded = new Set(entries.map((entry) => fold(entry.name)));
        for (const child of children) {
          const name = path.basename(child);
          const entry = kinds.get(name);
          const stat = () => fs.stat(child).then((stats) => stats.isDirectory(), () => false);
          if (entry?.isDirectory() || ((entry ? entry.isSymbolicLink() : name === '' || folded.has(fold(name))) && (await stat()))) existing.add(child);
        }
      }),
    );
  }
  return dirs.filter((dir) => existing.has(dir));

  function fold(name: string): string {
    return name.normalize('NFC').toLowerCase();
  }
}

/**
 * The absolute paths listed in a runs-folders list (runsFoldersFile; none when it is absent) and what was passed over,
 * in words naming the file (and line); `instead` ends the sentence of a list not read at all (what is looked at then).
 * readKnownRunsDirs reads a dataset's own; moving a dataset's history (datasetMove.ts) reads it where a folder rename
 * took it.
 */
export async function readRunsFoldersList(file: string, instead: string): Promise<{ dirs: string[]; problems: string[] }> {
  const dirs: string[] = [];
  const problems: string[] = [];
  const stats = await fs.lstat(file).catch(() => undefined);
  if (stats !== undefined) {
    const problem = runsFoldersFileProblem(stats);
    if (problem) {
      problems.push(`${file}: ${problem}; it is not read, ${instead}`);
    } else {
      try {
        const lines = (await fs.readFile(file, 'utf8')).split('\n');
        lines.forEach((raw, index) => {
          const line = raw.trim();
          if (path.isAbsolute(line)) dirs.push(path.resolve(line));
          else if (line.length > 0) problems.push(`${file}:${index + 1}: ${JSON.stringify(line.slice(0, 200))} is no absolute path of a runs folder; the line is passed over`);
        });
      } catch (error) {
        problems.push(`${fileError(file, error).message}; ${instead}`);
      }
    }
  }
  return { dirs, problems };
}

/** Why a runs-folders list (by its lstat) is not read, or undefined. */
function runsFoldersFileProblem(stats: import('node:fs').Stats): string | undefined {
  if (stats.isSymbolicLink()) return 'a symbolic link (PeerKD reads and writes this list only as a plain file in the data\'s folder: a cloned repository could point it anywhere)';
  if (!stats.isFile()) return 'not a plain file';
  if (stats.size > MAX_RUNS_FOLDERS_BYTES) return `${stats.size} bytes, more than a list of runs folders holds (${MAX_RUNS_FOLDERS_BYTES})`;
  return undefined;
}

/** readKnownRunsDirs' folders alone (what was passed over in the list is said where it is read for a run or a review). */
export async function knownRunsDirs(datasetPath: string, outputDir?: string): Promise<string[]> {
  return (await readKnownRunsDirs(datasetPath, outputDir)).dirs;
}

/**
 * Adds `runsDir` to the dataset's list of runs folders (runsFoldersFile) unless it is the default one or listed
 * already. Throws, naming the file, when the list cannot be written (the caller says so: a later run with another
 * runs folder will not find this one's runs and log).
 */
export async function recordRunsDir(datasetPath: string, runsDir: string): Promise<void> {
  const absolute = path.resolve(runsDir);
  if (absolute === resolveRunsDir(datasetPath)) return;
  const file = runsFoldersFile(datasetPath);
  // One path a line, read back trimmed: a path that would not read back as itself would list another folder (a line
  // break splits it into two paths, the first perhaps a real folder) and lose this one.
  if (/[\r\n]/.test(absolute) || absolute.trim() !== absolute) {
    throw new Error(`${file}: the runs folder ${JSON.stringify(absolute)} cannot be listed there (a line break, or a space at an end of its path); rename that folder`);
  }
  // Never appended to through a link (into whatever file it names), nor to what is no list.
  const stats = await fs.lstat(file).catch(() => undefined);
  const problem = stats === undefined ? undefined : runsFoldersFileProblem(stats);
  if (problem) throw new Error(`${file}: ${problem}; remove it (it is PeerKD's, remade by the next run)`);
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(error as Error).message}`);
  }
  if (text.split('\n').some((line) => line.trim() === absolute)) return;
  const link = linkedPeerkdFolder(file);
  if (link) throw linkedPeerkdFolderError(link);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.appendFile(file, `${text.length > 0 && !text.endsWith('\n') ? '\n' : ''}${absolute}\n`, 'utf8');
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

/**
 * The folders of runs being written now (`.tmp-<run-id>`, their writer alive on this machine) in `runsDirs` whose run
 * id names a dataset of `datasetPath`'s name (newRunId: the id holds the file name, not its folder) and whose writer
 * records that dataset (RunWriter.create; one that records none is taken by its name): the run a `peerkd export`
 * started meanwhile would want, not there yet. `datasetPath` undefined: the runs of any dataset (a runs folder that
 * `peerkd move` would take away from under them).
 */
export async function runsInProgress(datasetPath: string | undefined, runsDirs: readonly string[]): Promise<string[]> {
  const stem = datasetPath === undefined ? '.*' : safeStem(datasetPath);
  const pattern = new RegExp(`^${TEMP_PREFIX.replace('.', '\\.')}\\d{8}-\\d{6}-${stem}-[0-9a-f]{6}$`);
  const found: string[] = [];
  for (const runsDir of runsDirs) {
    const names = await fs.readdir(runsDir).catch(() => [] as string[]);
    for (const name of names.filter((entry) => pattern.test(entry))) {
      try {
        const owner = JSON.parse((await readPlainFileText(path.join(runsDir, name, OWNER_FILE), MAX_RUN_JSON_BYTES)) ?? '') as { pid?: unknown; host?: unknown; dataset?: unknown };
        // A dataset of the same name in another folder sharing this runs folder (--out) is another dataset.
        if (datasetPath !== undefined && typeof owner.dataset === 'string' && owner.dataset !== path.resolve(datasetPath)) continue;
        if (owner.host === hostname() && typeof owner.pid === 'number' && processIsAlive(owner.pid)) found.push(path.join(runsDir, name));
      } catch {
        // No readable owner: a run being set up or abandoned elsewhere; not said.
      }
    }
  }
  return found;
}

/** Run ids sort chronologically by name: `YYYYMMDD-HHMMSS-<dataset stem>-<random>`. */
export function newRunId(datasetPath: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${safeStem(datasetPath)}-${randomBytes(3).toString('hex')}`;
}

/** The file name of the per-dataset latest pointer: readable stem plus a hash of the absolute path. */
export function datasetKey(datasetPath: string): string {
  const absolute = path.resolve(datasetPath);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  return `${safeStem(absolute)}-${hash}`;
}

function safeStem(datasetPath: string): string {
  const stem = path.basename(datasetPath).replace(/\.[^.]*$/, '');
  return stem.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'dataset';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Rounds probabilities to 6 decimals: enough for ranking and review, and a third of the file size. */
export function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** What JSON.stringify writes for a number. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** `{"id":`, `,"line":` …: each field's key, in PREDICTION_FIELDS order. */
const FIELD_PREFIXES = PREDICTION_FIELDS.map((field, index) => `${index ? ',' : '{'}${JSON.stringify(field)}:`);

/**
 * A label → probability record's keys in the order JSON.stringify writes them (integer-like labels first, ascending,
 * then the others in the order given), each as its JSON key text (`"World":`), with `column[k]` the position in
 * `labels` of the k-th written key: a record's text is written straight from a row of rows × labels values.
 */
export interface RecordLayout {
  keys: string[];
  column: Int32Array;
}

export function recordLayout(labels: readonly string[]): RecordLayout {
  const position = new Map(labels.map((label, index) => [label, index]));
  const order = Object.keys(labelRecord(labels.map((label) => [label, 0] as const)));
  return { keys: order.map((label) => `${JSON.stringify(label)}:`), column: Int32Array.from(order, (label) => position.get(label)!) };
}

/** A record's text from `values[offset + column]` (rounded to 6 decimals), keys in `layout`'s order. */
export function recordText(layout: RecordLayout, values: ArrayLike<number>, offset: number): string {
  let text = '{';
  for (let k = 0; k < layout.keys.length; k++) text += (k ? ',' : '') + layout.keys[k] + jsonNumber(round6(values[offset + layout.column[k]]));
  return text + '}';
}

/** The fields of a line whose records are already JSON text (recordText). */
export interface PredictionLineFields extends Omit<Prediction, 'probs' | 'peer_probs' | 'vanilla_probs'> {
  probs: string;
  peer_probs: string;
  vanilla_probs: string;
}

/**
 * The one writer of a predictions.jsonl line: exactly the public fields in their fixed order, probabilities rounded
 * to 6 decimals, the bytes JSON.stringify would write for the object. formatPrediction (one Prediction object) and
 * PredictionTable (a run's rows, from its typed arrays, without an object per row) both come here.
 */
export function predictionLine(fields: PredictionLineFields): string {
  const texts = [
    // An id the dataset writes as a number is written as that number (its digits, beyond 2^53 too), else as a string.
    idJson(fields.id, fields.numericId),
    jsonNumber(fields.line),
    fields.teacher === null ? 'null' : JSON.stringify(fields.teacher),
    fields.human === null ? 'null' : JSON.stringify(fields.human),
    JSON.stringify(fields.suggested),
    jsonNumber(round6(fields.p_teacher_wrong)),
    fields.flagged ? 'true' : 'false',
    fields.probs,
    fields.peer_probs,
    fields.vanilla_probs,
  ];
  if (fields.text_digest !== undefined) texts.push(JSON.stringify(fields.text_digest));
  let line = '';
  for (let index = 0; index < texts.length; index++) line += FIELD_PREFIXES[index] + texts[index];
  return line + '}';
}

/** A label-keyed record's text (its own keys, in their order). */
function objectRecordText(record: Readonly<Record<string, number>>): string {
  const labels = Object.keys(record);
  return recordText(recordLayout(labels), labels.map((label) => record[label]), 0);
}

/** One predictions.jsonl line, with exactly the public fields in their fixed order. */
export function formatPrediction(prediction: Prediction): string {
  return predictionLine({
    ...prediction,
    probs: objectRecordText(prediction.probs),
    peer_probs: objectRecordText(prediction.peer_probs),
    vanilla_probs: objectRecordText(prediction.vanilla_probs),
  });
}

/**
 * One explanations.jsonl line: the explanation's fields in their order, each id (the row's, its similar rows') as
 * predictions.jsonl writes it (idJson: a number where the dataset writes one, its digits beyond 2^53 too).
 */
export function formatExplanation(explanation: RowExplanation): string {
  const { row, id, numericId, similar, ...rest } = explanation;
  const similarText = similar.map(({ id: similarId, numericId: similarNumeric, ...entry }) => `{"id":${idJson(similarId, similarNumeric)},${JSON.stringify(entry).slice(1)}`);
  return `{"row":${JSON.stringify(row)},"id":${idJson(id, numericId)},${JSON.stringify(rest).slice(1, -1)},"similar":[${similarText.join(',')}]}`;
}

/** The bytes of a run file encoded before each write (writeLinesDurable): one buffer, reused. */
const LINE_BUFFER_BYTES = 1 << 20;

/** The first `length` bytes of `buffer` at the file's position, however many calls the system takes. */
async function writeAll(handle: fs.FileHandle, buffer: Buffer, length: number): Promise<void> {
  for (let written = 0; written < length; ) written += (await handle.write(buffer, written, length - written)).bytesWritten;
}

/**
 * `count` lines (`lineAt(i)` each, then a line feed) encoded into one reused buffer of LINE_BUFFER_BYTES that is
 * written whenever the next line would not fit, then flushed to disk. No string larger than a line is ever built: a
 * million lines as one string (then its UTF-8 copy) cost 600 MB at the end of a run, and blocks of 8,192 lines (3 MB
 * strings, each in V8's large-object space until a full collection) still grew the worker by 1 GB while it wrote.
 */
async function writeLinesDurable(file: string, count: number, lineAt: (index: number) => string): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const buffer = Buffer.allocUnsafe(LINE_BUFFER_BYTES);
    let used = 0;
    for (let index = 0; index < count; index++) {
      const line = lineAt(index) + '\n';
      const bytes = Buffer.byteLength(line, 'utf8');
      if (used + bytes > buffer.length) {
        await writeAll(handle, buffer, used);
        used = 0;
      }
      if (bytes > buffer.length) {
        const large = Buffer.from(line, 'utf8'); // one line larger than the buffer
        await writeAll(handle, large, large.length);
      }
      else used += buffer.write(line, used, 'utf8');
    }
    if (used > 0) await writeAll(handle, buffer, used);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * What a `RunWriter.create` still under way has made so far: the folders it created for the runs folder and its temp
 * folder. A signal handler (the worker's SIGTERM while the creation is awaited) undoes them with `discardSync()`;
 * without it a run cancelled in its first milliseconds left a `.tmp-<run-id>/` (or an empty `.peerkd/runs/`) behind.
 * Each folder is made by a synchronous call and recorded at once, so no handler can run between the two.
 */
export class RunFolderCreation {
  /** The outermost folder created for the runs folder (e.g. `.peerkd`), once made; undefined when none was needed. */
  createdFrom: string | undefined;
  /** The run's temp folder, once made. */
  tempDir: string | undefined;

  constructor(readonly runsDir: string) {}

  discardSync(): void {
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
    removeCreatedFolders(this.runsDir, this.createdFrom);
  }
}

/**
 * Writes one run into `.tmp-<run-id>/` and moves it into place with `commit()`; `discard()` removes it.
 * Nothing outside the temp folder changes until `commit()`.
 */
export class RunWriter {
  private committed = false;

  private constructor(
    readonly runsDir: string,
    readonly runId: string,
    readonly tempDir: string,
    /** What the creation made: the outermost folder it created for the runs folder (e.g. `.peerkd`), and tempDir. */
    private readonly creation: RunFolderCreation,
  ) {}

  /**
   * `datasetPath`: the dataset the run is of, recorded with its writer for runsInProgress. `creation`: where a caller
   * that may be interrupted while this is awaited finds what to undo (RunFolderCreation).
   */
  static async create(runsDir: string, runId: string, datasetPath?: string, creation = new RunFolderCreation(runsDir)): Promise<RunWriter> {
    const tempDir = path.join(runsDir, `${TEMP_PREFIX}${runId}`);
    const link = linkedPeerkdFolder(tempDir);
    if (link) throw linkedPeerkdFolderError(link);
    // Before any folder is made there: a runs folder inside a run would be deleted with that run (its review log too);
    // nor .peerkd itself (peerkd.training.outputDir ".peerkd"), where the runs would lie among its caches.
    const inRun = await runsFolderInRunProblem(runsDir);
    if (inRun) throw new Error(inRun);
    const peerkd = peerkdFolderAsRunsProblem(runsDir);
    if (peerkd) throw new Error(`${runsDir}: ${peerkd}`);
    const createdFrom = mkdirSync(runsDir, { recursive: true });
    creation.createdFrom = createdFrom;
    try {
      // The runs folder may be any folder (--out): its `latest` and `latest-by-dataset` may be the user's own.
      await assertPointersReplaceable(runsDir);
      await sweepAbandonedRuns(runsDir);
      // Synchronous, the folder and its owner file together: a temp folder without an owner is never swept (not ours
      // to judge), so none may be left by a signal that arrives between the two.
      mkdirSync(tempDir);
      creation.tempDir = tempDir;
      // Who writes this folder, so that a later run can tell an abandoned one (its process gone) from a live one,
      // and which folders the run created, so that a failed run removes them again (see removeTempRun).
      const dataset = datasetPath === undefined ? {} : { dataset: path.resolve(datasetPath) };
      writeFileSync(path.join(tempDir, OWNER_FILE), JSON.stringify({ pid: process.pid, host: hostname(), createdFrom, ...dataset }) + '\n');
    } catch (error) {
      // What this creation made, and only that (a temp folder of the same name it could not make is not its own).
      try {
        creation.discardSync();
      } catch {
        // Left for the next run's sweep; the creation's own error is the one to report.
      }
      throw error;
    }
    return new RunWriter(runsDir, runId, tempDir, creation);
  }

  get runDir(): string {
    return path.join(this.runsDir, this.runId);
  }

  /** Where the final student is saved (by model.ts) before the commit. */
  get modelDir(): string {
    return path.join(this.tempDir, MODEL_DIR);
  }

  get logPath(): string {
    return path.join(this.tempDir, LOG_FILE);
  }

  /** One line per prediction, written in blocks (writeLinesDurable). */
  async writePredictions(predictions: Predictions): Promise<void> {
    // A run's table formats each line from its typed arrays (no Prediction object per row); an array, each object.
    const line = 'line' in predictions ? (index: number) => predictions.line(index) : (index: number) => formatPrediction(predictions[index]);
    await writeLinesDurable(path.join(this.tempDir, PREDICTIONS_FILE), predictions.length, line);
  }

  /** explanations.jsonl: one line per explained row, in row order, written in blocks (writeLinesDurable). */
  async writeExplanations(explanations: readonly (RowExplanation | null)[]): Promise<void> {
    const explained = explanations.filter((explanation): explanation is RowExplanation => explanation !== null);
    await writeLinesDurable(path.join(this.tempDir, EXPLANATIONS_FILE), explained.length, (index) => formatExplanation(explained[index]));
  }

  async writeJson(name: typeof METRICS_FILE | typeof SETTINGS_FILE, value: unknown): Promise<void> {
    await writeLinesDurable(path.join(this.tempDir, name), 1, () => JSON.stringify(value, null, 2)); // one line feed after it
  }

  /** Moves the run into place, then points `latest` and the dataset's own pointer at it. */
  async commit(datasetPath: string): Promise<string> {
    await fs.rm(path.join(this.tempDir, OWNER_FILE), { force: true });
    await fs.rename(this.tempDir, this.runDir);
    this.committed = true;
    await writeFileAtomic(path.join(this.runsDir, LATEST_FILE), this.runId + '\n');
    await fs.mkdir(path.join(this.runsDir, LATEST_BY_DATASET_DIR), { recursive: true });
    await writeFileAtomic(path.join(this.runsDir, LATEST_BY_DATASET_DIR, datasetKey(datasetPath)), this.runId + '\n');
    return this.runDir;
  }

  /**
   * Removes the temp folder of a run that did not complete, and the runs folder (and `.peerkd`) when this run
   * created them and they are left empty: a failed or cancelled run leaves nothing new behind. Safe to call more
   * than once.
   */
  async discard(): Promise<void> {
    if (this.committed) return;
    await fs.rm(this.tempDir, { recursive: true, force: true });
    removeCreatedFolders(this.runsDir, this.creation.createdFrom);
  }

  /** discard() for a signal handler, when the process is about to go. */
  discardSync(): void {
    if (this.committed) return;
    this.creation.discardSync();
  }
}

/**
 * The run folder (`<run-id>/` holding its settings.json, or a `.tmp-<run-id>/` being written) that `folder` is or lies
 * in, by its path or its real path (`--out .peerkd/runs/<run-id>/model`, or a link to it); undefined when none.
 */
export async function enclosingRunFolder(folder: string): Promise<string | undefined> {
  const given = path.resolve(folder);
  // The real path of the deepest folder that exists, with the rest of the path after it.
  let existing = given;
  let rest = '';
  for (;;) {
    const real = await fs.realpath(existing).catch(() => undefined);
    if (real !== undefined) {
      existing = real;
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest = path.join(path.basename(existing), rest);
    existing = parent;
  }
  for (const start of new Set([given, path.join(existing, rest)])) {
    for (let current = start; ; current = path.dirname(current)) {
      const name = path.basename(current);
      const marker = RUN_ID_SHAPE.test(name) ? SETTINGS_FILE : name.startsWith(TEMP_PREFIX) && RUN_ID_SHAPE.test(name.slice(TEMP_PREFIX.length)) ? OWNER_FILE : undefined;
      if (marker !== undefined && (await fs.stat(path.join(current, marker)).catch(() => undefined))?.isFile()) return current;
      if (path.dirname(current) === current) break;
    }
  }
  return undefined;
}

/**
 * Why `runsDir` cannot be a runs folder because it is PeerKD's own `.peerkd` folder (its caches, its lists of runs
 * folders; the default runs folder is `runs` inside it): undefined when it is not. `shown`: the folder as the user gave
 * it, for the runs folder to name instead.
 */
export function peerkdFolderAsRunsProblem(runsDir: string, shown = runsDir): string | undefined {
  if (path.basename(path.resolve(runsDir)) !== PEERKD_FOLDER) return undefined;
  return `PeerKD's own ${PEERKD_FOLDER} folder (its caches), not a runs folder: the runs go into ${path.join(shown, path.basename(DEFAULT_RUNS_DIR))} inside it`;
}

/** Why `runsDir` cannot be a runs folder because it is, or lies in, a run's folder (enclosingRunFolder); undefined when it is not. */
export async function runsFolderInRunProblem(runsDir: string): Promise<string | undefined> {
  const enclosing = await enclosingRunFolder(runsDir);
  if (enclosing === undefined) return undefined;
  const where = enclosing === path.resolve(runsDir) ? "it is a run's own folder" : `it is inside the run folder ${enclosing}`;
  return `${where}, which holds only what that run wrote: runs written there would be deleted with it`;
}

/** A run id as newRunId makes it (a pointer to a run folder that is gone still has this shape); tested against it. */
export const RUN_ID_SHAPE = /^\d{8}-\d{6}-[A-Za-z0-9_-]*-[0-9a-f]{6}$/;

/**
 * Throws when the commit would replace something that is not PeerKD's: a `latest` that is not a run pointer (one
 * line naming a run folder there, or shaped as a run id), or a `latest-by-dataset` that is not a folder. Checked
 * before the run starts, so that `--out` naming a folder of the user's own costs no training and loses no file.
 */
async function assertPointersReplaceable(runsDir: string): Promise<void> {
  const latest = path.join(runsDir, LATEST_FILE);
  let text: string | undefined;
  try {
    const stats = await fs.lstat(latest);
    text = stats.isFile() && stats.size <= MAX_POINTER_BYTES ? await fs.readFile(latest, 'utf8') : '';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    const id = pointerId(text);
    const pointer = id !== undefined && !/\s/.test(id) && (RUN_ID_SHAPE.test(id) || (await isDirectory(path.join(runsDir, id))));
    if (!pointer) throw new Error(`${latest} exists and is not a PeerKD run pointer, so it is not replaced`);
  }
  const byDataset = path.join(runsDir, LATEST_BY_DATASET_DIR);
  const stats = await fs.lstat(byDataset).catch(() => undefined);
  if (stats && !stats.isDirectory()) throw new Error(`${byDataset} exists and is not PeerKD's folder of run pointers, so it is not replaced`);
}

/**
 * Removes `folder` and its parents up to `createdFrom` (a folder the run created), each only while it is empty:
 * another run's files, or a folder that existed before the run, are never touched.
 */
export function removeCreatedFolders(folder: string, createdFrom: string | undefined): void {
  if (createdFrom === undefined) return;
  const top = path.resolve(createdFrom);
  let current = path.resolve(folder);
  if (current !== top && !current.startsWith(top + path.sep)) return;
  for (;;) {
    try {
      rmdirSync(current);
    } catch {
      return; // Not empty (another run, a user's file) or already gone.
    }
    if (current === top) return;
    current = path.dirname(current);
  }
}

/** Whether a process with this id exists on this machine (one source, in dataset/files, where atomic writes need it). */
export { processIsAlive };

/**
 * Removes the temp folders of runs whose writer died without cleaning up (host and worker both killed). Only
 * folders written on this machine by a process that no longer exists are touched; a live run is never swept.
 */
export async function sweepAbandonedRuns(runsDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(runsDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((entry) => entry.startsWith(TEMP_PREFIX))) {
    const folder = path.join(runsDir, name);
    try {
      const owner = JSON.parse(await fs.readFile(path.join(folder, OWNER_FILE), 'utf8')) as { pid?: unknown; host?: unknown };
      if (owner.host !== hostname() || typeof owner.pid !== 'number' || processIsAlive(owner.pid)) continue;
    } catch {
      continue; // No readable owner: not ours to judge.
    }
    await fs.rm(folder, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** removeTempRun for a process 'exit' handler (the host is going; nothing asynchronous runs any more). */
export function removeTempRunSync(tempDir: string): void {
  if (!path.basename(tempDir).startsWith(TEMP_PREFIX)) return;
  let ownerText: string | undefined;
  try {
    ownerText = readFileSync(path.join(tempDir, OWNER_FILE), 'utf8');
  } catch {
    // No owner file: leave the runs folder as it is.
  }
  // Retried: the host removes it right after SIGKILL to its worker (client.ts onHostExit), which may still be dying.
  rmSync(tempDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
  removeCreatedFolders(path.dirname(tempDir), createdFromOf(ownerText));
}

/** The runs folder a temp run's owner file says the run created (removed with it while empty), if it says one. */
function createdFromOf(ownerText: string | undefined): string | undefined {
  if (ownerText === undefined) return undefined;
  try {
    const owner = JSON.parse(ownerText) as { createdFrom?: unknown };
    return typeof owner.createdFrom === 'string' ? owner.createdFrom : undefined;
  } catch {
    return undefined; // a damaged owner file: leave the runs folder as it is
  }
}

/** Removes a run's temp folder; used by the host when the worker died before it could clean up. */
export async function removeTempRun(tempDir: string): Promise<void> {
  if (!path.basename(tempDir).startsWith(TEMP_PREFIX)) {
    throw new Error(`refusing to remove '${tempDir}': not a temporary run folder`);
  }
  const ownerText = await fs.readFile(path.join(tempDir, OWNER_FILE), 'utf8').catch(() => undefined); // none: leave the runs folder
  await fs.rm(tempDir, { recursive: true, force: true });
  removeCreatedFolders(path.dirname(tempDir), createdFromOf(ownerText));
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function probabilityProblem(value: unknown, field: string): string | undefined {
  if (!isRecord(value)) return `'${field}' must be an object label → probability`;
  for (const [label, probability] of Object.entries(value)) {
    if (typeof probability !== 'number' || !Number.isFinite(probability) || probability < 0 || probability > 1) {
      return `'${field}.${label}' must be a number between 0 and 1`;
    }
  }
  return undefined;
}

/** An id as a run file writes it: a non-empty string, or a number (idJson). */
function isIdValue(value: unknown): value is string | number {
  return (typeof value === 'string' && value.length > 0) || (typeof value === 'number' && Number.isFinite(value));
}

const TEXT_DIGEST_TEXT = new RegExp(`^[0-9a-f]{${ROW_TEXT_DIGEST_HEX}}$`);

function predictionProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not a JSON object';
  if (!isIdValue(value.id)) return "'id' must be a non-empty string or a number";
  if (!Number.isInteger(value.line) || (value.line as number) < 1) return "'line' must be an integer ≥ 1";
  if (value.teacher !== null && typeof value.teacher !== 'string') return "'teacher' must be a string or null";
  if (value.human !== null && typeof value.human !== 'string') return "'human' must be a string or null";
  if (typeof value.suggested !== 'string') return "'suggested' must be a string";
  const p = value.p_teacher_wrong;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) return "'p_teacher_wrong' must be a number between 0 and 1";
  if (typeof value.flagged !== 'boolean') return "'flagged' must be true or false";
  if (value.text_digest !== undefined && !(typeof value.text_digest === 'string' && TEXT_DIGEST_TEXT.test(value.text_digest))) {
    return `'text_digest' must be ${ROW_TEXT_DIGEST_HEX} hex digits (the digest of the row's text the run read)`;
  }
  return (
    probabilityProblem(value.probs, 'probs') ??
    probabilityProblem(value.peer_probs, 'peer_probs') ??
    probabilityProblem(value.vanilla_probs, 'vanilla_probs')
  );
}

/**
 * One line (1-based `line`) of a run's JSONL file: undefined for a blank line, else the value once `problem` accepts
 * it; throws RunArtefactError naming file:line.
 */
function parseRunLine(text: string, file: string, line: number, problem: (value: unknown) => string | undefined): unknown {
  if (text.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunArtefactError(`${file}:${line}: invalid JSON (${error instanceof Error ? error.message : String(error)})`, file, line);
  }
  const why = problem(value);
  if (why) throw new RunArtefactError(`${file}:${line}: ${why}`, file, line);
  return value;
}

/** One predictions.jsonl line (1-based `line`), or undefined for a blank one; throws RunArtefactError naming file:line. */
function parsePredictionLine(text: string, file: string, line: number): Prediction | undefined {
  const prediction = parseRunLine(text, file, line, predictionProblem) as Prediction | undefined;
  if (!prediction) return undefined;
  // An id written as a number: its identity is the dataset's (7 is "7", one beyond 2^53 its digits, not JSON.parse's
  // rounding), and it is written back as a number.
  if (typeof (prediction.id as unknown) === 'number') {
    prediction.id = idIdentity(prediction as unknown as Record<string, unknown>, ['id'], text) as string;
    prediction.numericId = true;
  }
  // JSON.parse keeps a `__proto__` key as an own property, but lookups of absent labels such as `constructor`
  // would still reach Object.prototype: the records are rebuilt without a prototype.
  prediction.probs = toLabelRecord(prediction.probs);
  prediction.peer_probs = toLabelRecord(prediction.peer_probs);
  prediction.vanilla_probs = toLabelRecord(prediction.vanilla_probs);
  return prediction;
}

/** Parses predictions.jsonl text; throws RunArtefactError naming the file and the 1-based line. */
export function parsePredictions(text: string, file: string): Prediction[] {
  const predictions: Prediction[] = [];
  let line = 0;
  forEachLine(text, (start, end) => {
    const prediction = parsePredictionLine(text.slice(start, end), file, ++line);
    if (prediction) predictions.push(prediction);
  });
  return predictions;
}

/**
 * What a reader keeps of each prediction it reads (readRun): the whole of it, or the part it needs (`peerkd export`
 * keeps no peer or vanilla probabilities: a million-row run's predictions took about 1.2 GB whole).
 */
export type KeepPrediction = (prediction: Prediction) => Prediction;

/**
 * Reads predictions.jsonl in chunks (a million-row run's file is about 1 GB, more than one string can hold); errors
 * name the file and line, a missing file says so. Each prediction is checked whole, then `keep` says what stays.
 */
export async function readPredictions(file: string, keep?: KeepPrediction): Promise<Prediction[]> {
  const predictions: Prediction[] = [];
  for await (const batch of readFileLines(file)) {
    for (const { text, line } of batch) {
      const prediction = parsePredictionLine(text, file, line);
      if (prediction) predictions.push(keep ? keep(prediction) : prediction);
    }
  }
  return predictions;
}

/** The lines of a run file in chunks (dataset/parse.ts readLineBatches), its read errors as RunArtefactError. */
async function* readFileLines(file: string): AsyncGenerator<SourceLine[]> {
  try {
    yield* readLineBatches(file);
  } catch (error) {
    if (error instanceof RunArtefactError) throw error;
    throw new RunArtefactError(`${file}: ${await readProblem(file, error)}`, file);
  }
}

/** Why `file` could not be read, in words: a missing one as notFoundReason says it (a symbolic link to nothing said as one). */
async function readProblem(file: string, error: unknown): Promise<string> {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? await notFoundReason(file) : error instanceof Error ? error.message : String(error);
}

function explanationProblem(value: unknown, rows: number): string | undefined {
  if (!isRecord(value)) return 'must be a JSON object';
  if (typeof value.row !== 'number' || !Number.isInteger(value.row) || value.row < 0 || value.row >= rows) return `'row' must be a row of predictions.jsonl (0–${rows - 1})`;
  if (!isIdValue(value.id)) return "'id' must be a non-empty string or a number";
  for (const key of ['towards', 'away'] as const) if (typeof value[key] !== 'string') return `'${key}' must be a string`;
  for (const key of ['logit_difference', 'bias', 'dense', 'other_words'] as const) {
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) return `'${key}' must be a number`;
  }
  if (Array.isArray(value.words) && value.words.length > EXPLANATION_LIMITS.words) return `'words' must hold at most ${EXPLANATION_LIMITS.words} entries`;
  if (Array.isArray(value.against) && value.against.length > EXPLANATION_LIMITS.words) return `'against' must hold at most ${EXPLANATION_LIMITS.words} entries`;
  if (Array.isArray(value.similar) && value.similar.length > EXPLANATION_LIMITS.similar) return `'similar' must hold at most ${EXPLANATION_LIMITS.similar} entries`;
  if (!Array.isArray(value.words) || !value.words.every((word) => Array.isArray(word) && word.length === 2 && typeof word[0] === 'string' && typeof word[1] === 'number' && Number.isFinite(word[1]))) {
    return "'words' must be a list of [word, contribution]";
  }
  if (value.against !== undefined && !(Array.isArray(value.against) && value.against.every((word) => Array.isArray(word) && word.length === 2 && typeof word[0] === 'string' && typeof word[1] === 'number' && Number.isFinite(word[1])))) {
    return "'against' must be a list of [word, contribution]";
  }
  const similarOk = (entry: unknown) =>
    isRecord(entry) && isIdValue(entry.id) && typeof entry.line === 'number' && typeof entry.label === 'string' && typeof entry.similarity === 'number';
  if (!Array.isArray(value.similar) || !value.similar.every(similarOk)) return "'similar' must be a list of {id, line, label, similarity}";
  return undefined;
}

/** One explanations.jsonl line into `into` (blank lines skipped); throws RunArtefactError naming file:line. */
function addExplanationLine(text: string, file: string, line: number, rows: number, into: Map<number, RowExplanation>): void {
  const explanation = parseRunLine(text, file, line, (value) => explanationProblem(value, rows)) as RowExplanation | undefined;
  if (!explanation) return;
  // Ids written as numbers: read back to the dataset core's identity (predictions.jsonl's rule, parsePredictionLine).
  if (typeof (explanation.id as unknown) === 'number') {
    explanation.id = idIdentity(explanation as unknown as Record<string, unknown>, ['id'], text) as string;
    explanation.numericId = true;
  }
  if (explanation.similar.some((entry) => typeof (entry.id as unknown) === 'number')) {
    // Each similar row's id as formatExplanation writes it, in order: the digits of one beyond 2^53 (JSON.parse rounds them).
    const section = text.slice(text.lastIndexOf('"similar":['));
    const written = [...section.matchAll(/\{"id":("(?:[^"\\]|\\.)*"|[^,"]+),/g)].map((match) => match[1]);
    explanation.similar.forEach((entry, index) => {
      if (typeof (entry.id as unknown) !== 'number') return;
      const value = entry.id as unknown as number;
      const digits = written.length === explanation.similar.length ? written[index] : undefined;
      const big = Number.isInteger(value) && !Number.isSafeInteger(value);
      entry.id = big && digits !== undefined && JSON_NUMBER_TEXT.test(digits) && Number(digits) === value ? digits : String(value);
      entry.numericId = true;
    });
  }
  into.set(explanation.row, explanation);
}

/** Parses explanations.jsonl text against a run of `rows` predictions; throws RunArtefactError naming file:line. */
export function parseExplanations(text: string, file: string, rows: number): Map<number, RowExplanation> {
  const explanations = new Map<number, RowExplanation>();
  let line = 0;
  forEachLine(text, (start, end) => addExplanationLine(text.slice(start, end), file, ++line, rows, explanations));
  return explanations;
}

/** explanations.jsonl of a run folder, streamed: absent (older runs) is no explanations; a bad file is named, not fatal. */
async function readExplanations(runDir: string, rows: number): Promise<Pick<RunArtefacts, 'explanations' | 'explanationsProblem'>> {
  const file = path.join(runDir, EXPLANATIONS_FILE);
  try {
    await fs.stat(file);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? {} : { explanationsProblem: `${file}: ${await readProblem(file, error)}` };
  }
  const explanations = new Map<number, RowExplanation>();
  try {
    for await (const batch of readFileLines(file)) for (const { text, line } of batch) addExplanationLine(text, file, line, rows, explanations);
  } catch (error) {
    return { explanationsProblem: error instanceof Error ? error.message : String(error) };
  }
  return { explanations };
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new RunArtefactError(`${file}: ${await readProblem(file, error)}`, file);
  }
}

async function readJsonFile(file: string): Promise<unknown> {
  const text = await readText(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RunArtefactError(`${file}: invalid JSON (${error instanceof Error ? error.message : String(error)})`, file);
  }
}

function settingsProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'must be a JSON object';
  for (const key of ['runId', 'datasetPath', 'datasetSha256'] as const) {
    if (typeof value[key] !== 'string') return `'${key}' must be a string`;
  }
  if (!Array.isArray(value.labels) || !value.labels.every((label) => typeof label === 'string')) {
    return "'labels' must be an array of strings";
  }
  if (!isRecord(value.fields)) return "'fields' must be an object";
  if (!isRecord(value.options)) return "'options' must be an object";
  return undefined;
}

/** Reads a complete run folder (predictions, metrics, settings). */
export async function readRun(runDir: string, keep?: KeepPrediction): Promise<RunArtefacts> {
  const settingsFile = path.join(runDir, SETTINGS_FILE);
  const settings = await readJsonFile(settingsFile);
  const problem = settingsProblem(settings);
  if (problem) throw new RunArtefactError(`${settingsFile}: ${problem}`, settingsFile);
  const metrics = await readJsonFile(path.join(runDir, METRICS_FILE));
  const predictionsFile = path.join(runDir, PREDICTIONS_FILE);
  const predictions = await readPredictions(predictionsFile, keep);
  return { runId: path.basename(runDir), runDir, predictions, ...(await readExplanations(runDir, predictions.length)), metrics, settings: settings as unknown as RunSettings };
}

/** The run id a pointer file names (pointerId), or undefined: absent, unreadable, not a regular file, a moved-to pointer, no run id. */
export async function readPointer(file: string): Promise<string | undefined> {
  const text = await readPlainFileText(file, MAX_POINTER_BYTES).catch(() => undefined);
  return text === undefined ? undefined : pointerId(text);
}

/**
 * The text of a small file PeerKD wrote (a pointer, a run's settings.json, a run's owner), or undefined where a
 * regular file of at most `maxBytes` is not what is there: a FIFO in its place blocked the read for good (a thread of
 * the editor's extension host, or `peerkd export`, hung on every look-up of the latest run), and a link to a device
 * such as /dev/zero read without end. O_NONBLOCK lets the open of a FIFO return; the check refuses it. Read errors throw.
 */
async function readPlainFileText(file: string, maxBytes: number): Promise<string | undefined> {
  const handle = await fs.open(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > maxBytes) return undefined;
    return await handle.readFile('utf8');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The most a run's settings.json (its labels, fields and options) or owner file is read of. */
const MAX_RUN_JSON_BYTES = 16 * 1024 * 1024;

/**
 * The run a run pointer names: `target` is a runs folder's `latest` file, a `latest-by-dataset/<key>` file, or a
 * runs folder (its `latest` is followed). Undefined where `target` is none of these; `runDir` undefined where the
 * pointer names a run folder that is not there (deleted), so the caller can say so rather than "no model here".
 * What `peerkd distill` prints ("latest: …/.peerkd/runs/latest") can so be handed to `peerkd predict`.
 */
export async function followRunPointer(target: string): Promise<{ pointer: string; id: string; runsDir: string; runDir?: string } | undefined> {
  const stats = await fs.stat(target).catch(() => undefined);
  if (stats === undefined) return undefined;
  if (stats.isDirectory()) {
    const latest = path.join(target, LATEST_FILE);
    return (await fs.stat(latest).catch(() => undefined))?.isFile() ? followRunPointer(latest) : undefined;
  }
  // `latest` lies in the runs folder, `latest-by-dataset/<key>` one level below it; any other file is no pointer.
  const parent = path.dirname(target);
  const runsDir = path.basename(target) === LATEST_FILE ? parent : path.basename(parent) === LATEST_BY_DATASET_DIR ? path.dirname(parent) : undefined;
  // A pointer is one short line; anything larger is some other file, not read whole.
  if (runsDir === undefined || !stats.isFile() || stats.size > MAX_POINTER_BYTES) return undefined;
  const id = await readPointer(target);
  if (id === undefined) return undefined;
  const runDir = path.join(runsDir, id);
  return { pointer: target, id, runsDir, ...((await isDirectory(runDir)) ? { runDir } : {}) };
}

/** The run id a pointer file's text names: a folder inside the runs folder, never a path elsewhere; else undefined. */
function pointerId(text: string): string | undefined {
  if (text.startsWith(MOVED_POINTER_PREFIX)) return undefined;
  const id = text.trim();
  return id.length > 0 && !id.includes('/') && !id.includes('\\') && !id.startsWith('.') ? id : undefined;
}

async function isDirectory(candidate: string): Promise<boolean> {
  try {
    return (await fs.stat(candidate)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The dataset a folder of the runs folder is a run of, by its settings.json: `dataset`; undefined when the folder has
 * none (no run: a stray folder or file); `problem` when it has one that cannot be read, is no JSON object or names no
 * dataset (corrupt: whose run it is cannot be told), naming the file.
 */
async function readRunDataset(runDir: string): Promise<{ dataset: string } | { problem: RunArtefactError } | undefined> {
  const file = path.join(runDir, SETTINGS_FILE);
  let text: string;
  try {
    // Not a regular file (a FIFO blocked the read for good) or over the limit: passed over, as a folder without one.
    const read = await readPlainFileText(file, MAX_RUN_JSON_BYTES);
    if (read === undefined) return undefined;
    text = read;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return { problem: new RunArtefactError(`${file}: ${await readProblem(file, error)}`, file) };
  }
  let settings: unknown;
  try {
    settings = JSON.parse(text) as unknown;
  } catch (error) {
    return { problem: new RunArtefactError(`${file}: invalid JSON (${error instanceof Error ? error.message : String(error)})`, file) };
  }
  if (!isRecord(settings)) return { problem: new RunArtefactError(`${file}: must be a JSON object`, file) };
  if (typeof settings.datasetPath !== 'string') return { problem: new RunArtefactError(`${file}: 'datasetPath' must be a string`, file) };
  return { dataset: settings.datasetPath };
}

/** The dataset path a run folder's settings.json records, as written; undefined where it cannot be read. */
export async function runDataset(runDir: string): Promise<string | undefined> {
  const found = await readRunDataset(runDir);
  return found !== undefined && 'dataset' in found ? found.dataset : undefined;
}

/**
 * The newest complete run of this dataset in one runs folder (`runId`, undefined when none), and the newest run folder
 * newer than it whose settings.json is corrupt (`unreadable`): found only where no pointer names the dataset's run and
 * the folders are scanned, it may be the dataset's latest run, which cannot be told.
 */
async function scanLatestRun(datasetPath: string, runsDir: string, outputDir?: string): Promise<{ runId?: string; unreadable?: { runId: string; error: RunArtefactError } }> {
  const absolute = path.resolve(datasetPath);
  const pointer = await readPlainFileText(latestPointerPath(absolute, outputDir), MAX_POINTER_BYTES).catch(() => undefined);
  // Moved away (datasetMove.ts): its runs are the new path's now, also those found by the path they record.
  if (pointer?.startsWith(MOVED_POINTER_PREFIX)) return {};
  const pointed = pointer === undefined ? undefined : pointerId(pointer);
  if (pointed && (await isDirectory(path.join(runsDir, pointed)))) return { runId: pointed };
  let entries: string[];
  try {
    entries = await fs.readdir(runsDir);
  } catch {
    return {};
  }
  const candidates = entries.filter((name) => !name.startsWith('.') && name !== LATEST_FILE && name !== LATEST_BY_DATASET_DIR && name !== REVIEW_LOG_DIR);
  candidates.sort().reverse();
  let unreadable: { runId: string; error: RunArtefactError } | undefined;
  for (const name of candidates) {
    const found = await readRunDataset(path.join(runsDir, name));
    if (found === undefined) continue;
    if ('problem' in found) {
      unreadable ??= { runId: name, error: found.problem };
      continue;
    }
    if (path.resolve(found.dataset) === absolute) return { runId: name, ...(unreadable ? { unreadable } : {}) };
  }
  return unreadable ? { unreadable } : {};
}

/**
 * The error that says a corrupt run folder may hide the dataset's latest run (scanLatestRun's `unreadable`): its
 * settings.json named, as any unreadable latest run is said (the editor's RunState.runProblem, `peerkd export`).
 */
function unreadableRunError(datasetPath: string, unreadable: { runId: string; error: RunArtefactError }): RunArtefactError {
  const { error } = unreadable;
  return new RunArtefactError(
    `${error.message}; no latest pointer names a run of ${path.resolve(datasetPath)} there, so run ${unreadable.runId} may be its latest run: repair the file or remove the run folder ${path.dirname(error.file)}`,
    error.file,
  );
}

/** The file naming the newest complete run of this dataset: watch it to learn that a new run landed. */
export function latestPointerPath(datasetPath: string, outputDir?: string): string {
  return path.join(resolveRunsDir(datasetPath, outputDir), LATEST_BY_DATASET_DIR, datasetKey(datasetPath));
}

/**
 * The datasets among `datasets` (absolute paths) whose latest run `file` may have changed: `file` is a dataset's
 * latest pointer (`latest-by-dataset/<datasetKey>`) in any runs folder, or its runs-folders list beside it
 * (runsFoldersFile: written after a run into a runs folder not used before). What the editor matches the file events
 * of its watchers with (src/editor/runPointerWatcher.ts); a pointer's temporary file, the runs folder's `latest` and
 * another dataset's pointer match none.
 */
export function datasetsOfRunFile(file: string, datasets: readonly string[]): string[] {
  const absolute = path.resolve(file);
  const name = path.basename(absolute);
  const isPointer = path.basename(path.dirname(absolute)) === LATEST_BY_DATASET_DIR;
  return datasets.filter((dataset) => (isPointer ? datasetKey(dataset) === name : runsFoldersFile(dataset) === absolute));
}

/**
 * The folders among `folders` inside none of `roots` (the workspace folders): there a watcher of the workspace sees
 * no file event, so each needs a watcher of its own.
 */
export function foldersOutside(folders: readonly string[], roots: readonly string[]): string[] {
  return [...new Set(folders.map((folder) => path.resolve(folder)))].filter((folder) => !roots.some((root) => isWithinFolder(folder, root)));
}

/** The most folders outside the workspace the editor watches (each its own file-system watcher): watchedFoldersOutside. */
export const MAX_WATCHED_FOLDERS_OUTSIDE = 32;

/**
 * The folders of `folders` (most wanted first) outside `roots` that get a watcher of their own: the first `limit`
 * (foldersOutside), and how many more were left unwatched. A runs-folders list of thousands of folders (stale, or
 * written to harm) started a watcher for each. What the editor passes: the dataset's runs-folders list folder and its
 * current runs folders first, then the listed ones newest used first (runPointerWatcher.ts).
 */
export function watchedFoldersOutside(
  folders: readonly string[],
  roots: readonly string[],
  limit = MAX_WATCHED_FOLDERS_OUTSIDE,
): { watched: string[]; notWatched: string[] } {
  const outside = foldersOutside(folders, roots);
  return { watched: outside.slice(0, limit), notWatched: outside.slice(limit) };
}

/**
 * The id of the newest complete run of this dataset, or undefined when it has none. Follows the dataset's own
 * pointer; without one (older runs, a deleted pointer) scans the run folders, newest first. Throws RunArtefactError,
 * naming the file, when a newer run folder's settings.json is corrupt (it may be the latest run: scanLatestRun).
 */
export async function latestRunId(datasetPath: string, outputDir?: string): Promise<string | undefined> {
  const scanned = await scanLatestRun(datasetPath, resolveRunsDir(datasetPath, outputDir), outputDir);
  if (scanned.unreadable) throw unreadableRunError(datasetPath, scanned.unreadable);
  return scanned.runId;
}

/**
 * The newest complete run of this dataset in any runs folder it used (knownRunsDirs: the one `outputDir` names now,
 * the default one, those recorded beside the dataset), newest by run id (ids sort by time); undefined when it has
 * none. The one look-up of "the dataset's latest run" that the editor (src/editor/runState.ts), `peerkd export`
 * without --runs and a run's previous run (reviewedRows.ts readPreviousRun) share: after peerkd.training.outputDir or
 * `--out` changed, the run made before is still found.
 */
export async function latestKnownRun(datasetPath: string, outputDir?: string): Promise<{ runId: string; runsDir: string; runDir: string } | undefined> {
  return latestRunAmong(datasetPath, await knownRunsDirs(datasetPath, outputDir));
}

/**
 * latestKnownRun over runs folders the caller has already listed (readKnownRunsDirs, whose problems it says; or the
 * one folder a `--runs` names): the newest complete run of this dataset among them, the first folder winning a tie.
 * Throws RunArtefactError, naming the file, when a run folder newer than that run (or than none) has a corrupt
 * settings.json and no pointer names the dataset's run in its runs folder: it may be the latest run.
 */
export async function latestRunAmong(datasetPath: string, runsDirs: readonly string[]): Promise<{ runId: string; runsDir: string; runDir: string } | undefined> {
  let found: { runId: string; runsDir: string; runDir: string } | undefined;
  let unreadable: { runId: string; error: RunArtefactError } | undefined;
  for (const runsDir of runsDirs) {
    const scanned = await scanLatestRun(datasetPath, runsDir, runsDir);
    const runId = scanned.runId;
    // On a tie the folder named now (listed first) wins.
    if (runId !== undefined && (found === undefined || runId > found.runId)) found = { runId, runsDir, runDir: path.join(runsDir, runId) };
    if (scanned.unreadable && (unreadable === undefined || scanned.unreadable.runId > unreadable.runId)) unreadable = scanned.unreadable;
  }
  // A corrupt run folder newer than every run found may be the latest run: said, not passed over for an older one.
  if (unreadable && (found === undefined || unreadable.runId > found.runId)) throw unreadableRunError(datasetPath, unreadable);
  return found;
}

/** latestRunAmong, read (readRun); undefined when there is none. Throws RunArtefactError if corrupt. */
export async function readLatestRunAmong(datasetPath: string, runsDirs: readonly string[], keep?: KeepPrediction): Promise<RunArtefacts | undefined> {
  const found = await latestRunAmong(datasetPath, runsDirs);
  return found === undefined ? undefined : readRun(found.runDir, keep);
}

/** The newest complete run of this dataset in the one runs folder `outputDir` names, or undefined when there is none. Throws RunArtefactError if corrupt. */
export async function readLatestRun(datasetPath: string, outputDir?: string): Promise<RunArtefacts | undefined> {
  const runId = await latestRunId(datasetPath, outputDir);
  return runId === undefined ? undefined : readRun(path.join(resolveRunsDir(datasetPath, outputDir), runId));
}
