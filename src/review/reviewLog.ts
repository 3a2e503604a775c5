/**
 * The review log: what Label Review and the quick fixes decided, one JSON line per human label they wrote (docs/METHOD.md
 * §4c). A run reads it to tell the human labels set in review (reviewed: they train the students but stay out of every
 * estimator) from the random sample: a human label is reviewed when the log's latest entry for its row has exactly
 * that label. Plain TypeScript over node:fs; the extension (src/editor/labelEdits.ts) and the bench's simulated review
 * append to it, the worker reads it (training/reviewedRows.ts).
 *
 * Where: `<runs folder>/review-log/<dataset key>.jsonl` — the runs folder of the dataset (`.peerkd/runs/` next to it
 * by default, peerkd.outputDir otherwise) and the key its latest-run pointer uses (artifacts.ts datasetKey: the file's
 * stem and a hash of its absolute path), so one log per dataset file, beside its runs.
 *
 * Append-only, whole lines: two windows appending at once each add their own lines (one appendFile each). A line that
 * is not an entry (torn by a crash mid-write, edited by hand) is skipped with a warning naming the file and line.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { datasetKey, LATEST_BY_DATASET_DIR, LATEST_FILE, resolveRunsDir, REVIEW_LOG_DIR, SETTINGS_FILE } from '../training/artifacts';
import { keyParts } from './rowKeys';

/** What wrote an entry. `undo`: the session's undo put the row back; its label no longer counts as decided in review. */
export type ReviewLogAction = 'decide' | 'bulk-accept' | 'undo';

export interface ReviewLogEntry {
  /** The row's key (src/review/rowKeys.ts), as the panel keys it. */
  key: string;
  /** The human label written; null: none counts as reviewed any more (an undo). */
  label: string | null;
  /** The queue the row was in (flagged, doubtful, unlabelled), or null when in none (a quick fix on another row). */
  queue: string | null;
  /** The run whose review wrote it. */
  run: string | null;
  action: ReviewLogAction;
  /** ISO time. */
  time: string;
  /**
   * For a row that shares its id with other rows: the identity of its text (dataset/fields.ts textIdentity), so the
   * next run finds it by id and text even when those rows were reordered (its key holds its order alone). Absent: a
   * unique id, a row without an id, or an entry written before.
   */
  text?: string;
}

/** What a run reads of a log. */
export interface ReviewLog {
  /** The file read (several: the files, comma-separated), for messages. */
  file: string;
  /** The files read. */
  files: string[];
  /** Row key → the label of its latest entry (null: undone); entries with a text are in `byText` instead. */
  latest: Map<string, string | null>;
  /**
   * Of rows that share an id: id → text identity (ReviewLogEntry.text) → the label of its latest entry and that
   * entry's key (for when no row has that text any more: the text was edited since).
   */
  byText: Map<string, Map<string, { label: string | null; key: string }>>;
  /** Entries read (the skipped lines not counted). */
  entries: number;
  /** One per skipped line, naming the file and line. */
  warnings: string[];
}

/** The log of a dataset in a runs folder. */
export function reviewLogFile(runsDir: string, datasetPath: string): string {
  return path.join(runsDir, REVIEW_LOG_DIR, `${datasetKey(datasetPath)}.jsonl`);
}

/** The log of a dataset whose runs go to `outputDir` (as a run resolves it: artifacts.ts resolveRunsDir). */
export function reviewLogPath(datasetPath: string, outputDir?: string): string {
  return reviewLogFile(resolveRunsDir(datasetPath, outputDir), datasetPath);
}

/**
 * Where the review of the run in `runDir` logs its decisions. The log belongs to the runs folder, not to the run: the
 * run's own runs folder while it is one on disk (the run folder there, or a runs folder's pointers), even when
 * the run folder was deleted while its review is open; else the dataset's runs folder as the settings name it now
 * (`outputDir`: the one the next run writes to and reads first), created when the dataset file is on disk. Where
 * neither holds (a run folder made up, or a dataset file gone) `problem` says why nothing can be logged:
 * the log is never written into a folder that is no runs folder of this dataset (such as `/` for a run at `/r`).
 * A few stat calls, synchronous: asked at each decision, before the one write.
 */
export function reviewLogTarget(runDir: string | undefined, datasetPath: string, outputDir?: string): { file: string; problem?: string } {
  const runsDir = runDir === undefined ? undefined : path.dirname(runDir);
  if (runDir !== undefined && runsDir !== undefined) {
    // A run folder holds its settings.json, and leaves its pointers beside it (artifacts.ts), which a runs folder keeps
    // when its runs are deleted: a folder that merely exists (`/` above a run made up at `/r`) is no runs folder.
    const marks = [path.join(runDir, SETTINGS_FILE), ...[LATEST_FILE, LATEST_BY_DATASET_DIR].map((name) => path.join(runsDir, name))];
    for (const mark of marks) if (existsSync(mark)) return { file: reviewLogFile(runsDir, datasetPath) };
  }
  const now = resolveRunsDir(datasetPath, outputDir);
  if (existsSync(now) || existsSync(datasetPath)) return { file: reviewLogFile(now, datasetPath) };
  return {
    file: reviewLogFile(runsDir ?? now, datasetPath),
    problem: `${runDir === undefined ? 'the run has no folder' : `the runs folder of run ${path.basename(runDir)} (${runsDir}) is gone`} and the dataset file is not on disk`,
  };
}

export function formatReviewLogEntry(entry: ReviewLogEntry): string {
  const { key, label, queue, run, action, time, text } = entry;
  return JSON.stringify({ key, label, queue, run, action, time, ...(text === undefined ? {} : { text }) }) + '\n';
}

/** At most this many skipped lines are named one by one. */
const WARNINGS_NAMED = 5;

/** One entry as read: its fields, and its time for ordering the entries of several logs. */
interface ReadEntry {
  key: string;
  label: string | null;
  text?: string;
  time: string;
}

/** The entries of a log's text, in file order; lines that are not entries are skipped with a warning. */
function readEntries(text: string, file: string, warnings: string[]): ReadEntry[] {
  const entries: ReadEntry[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const entry = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    if (typeof entry.key !== 'string' || (entry.label !== null && typeof entry.label !== 'string')) {
      bad.push(index + 1);
      return;
    }
    entries.push({ key: entry.key, label: entry.label, time: typeof entry.time === 'string' ? entry.time : '', ...(typeof entry.text === 'string' ? { text: entry.text } : {}) });
  });
  for (const line of bad.slice(0, WARNINGS_NAMED)) {
    warnings.push(`${file}:${line}: not a review log entry (a line torn by a crash, or edited by hand) — skipped; the label it recorded, if any, counts as the random sample`);
  }
  if (bad.length > WARNINGS_NAMED) warnings.push(`${file}: … and ${bad.length - WARNINGS_NAMED} more lines that are not review log entries, skipped`);
  return entries;
}

/** The latest label per row from entries in the order they were written. */
function latestOf(entries: readonly ReadEntry[], log: ReviewLog): ReviewLog {
  for (const entry of entries) {
    if (entry.text !== undefined) {
      const { id } = keyParts(entry.key);
      const texts = log.byText.get(id) ?? new Map<string, { label: string | null; key: string }>();
      texts.set(entry.text, { label: entry.label, key: entry.key });
      log.byText.set(id, texts);
      // An entry by key alone before it (written before entries had texts) is this row's older decision.
      log.latest.delete(entry.key);
    } else {
      log.latest.set(entry.key, entry.label);
    }
    log.entries++;
  }
  return log;
}

/** Reads a log's text: the latest label per row key; lines that are not entries are skipped with a warning. */
export function parseReviewLog(text: string, file: string): ReviewLog {
  const log: ReviewLog = { file, files: [file], latest: new Map(), byText: new Map(), entries: 0, warnings: [] };
  return latestOf(readEntries(text, file, log.warnings), log);
}

/** The log in this file, or undefined when there is none. Other read errors are thrown, naming the file. */
export async function readReviewLog(file: string): Promise<ReviewLog | undefined> {
  return readReviewLogs([file]);
}

/**
 * The logs of a dataset in several runs folders (it changed its runs folder: artifacts.ts knownRunsDirs) read as one:
 * their entries in the order of their times, so a row's latest decision wins wherever it was logged. Undefined when
 * none of the files exists; other read errors are thrown, naming the file.
 */
export async function readReviewLogs(files: readonly string[]): Promise<ReviewLog | undefined> {
  const found: { file: string; text: string }[] = [];
  for (const file of new Set(files)) {
    try {
      found.push({ file, text: await readFile(file, 'utf8') });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`${file}: ${(error as Error).message}`);
    }
  }
  if (found.length === 0) return undefined;
  const log: ReviewLog = { file: found.map(({ file }) => file).join(', '), files: found.map(({ file }) => file), latest: new Map(), byText: new Map(), entries: 0, warnings: [] };
  const entries = found.flatMap(({ file, text }) => readEntries(text, file, log.warnings));
  // One file: its own order. Several: by time (ISO, so as text), a stable sort keeping each file's order among equals.
  if (found.length > 1) entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return latestOf(entries, log);
}

/**
 * Appends entries as whole lines, in one write. When the file ends in a torn line (no line break), a line break comes
 * first so the new entries stay readable.
 */
export async function appendReviewLog(file: string, entries: readonly ReviewLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await mkdir(path.dirname(file), { recursive: true });
  let prefix = '';
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await appendFile(file, prefix + entries.map(formatReviewLogEntry).join(''), 'utf8');
}
