import * as path from 'node:path';
import * as vscode from 'vscode';
import { DATASET_FILE_NAME, type FieldMapping } from '../dataset/types';
import type { DocumentRowState } from '../review/model';
import { DocumentRowReader } from '../review/documentRows';
import { keyedRun, type KeyedRun } from '../review/keyedRun';
import { readKnownRunsDirs, readLatestRunAmong, readRun, RunArtefactError, type RunArtefacts } from '../training/artifacts';
import { showWarningMessage } from './messages';
import { readSettings } from './settings';

/** The latest complete run of one dataset, as the review UI uses it (src/review/keyedRun.ts, with its dataset). */
export interface LoadedRun extends KeyedRun {
  datasetUri: vscode.Uri;
}

/** A dataset document's rows by identity, at one document version. */
export interface DocumentIndex {
  version: number;
  /** Rows by row key (src/review/rowKeys.ts): rows that share an id stay distinct. */
  byKey: Map<string, DocumentRowState>;
  /** 1-based line → row key. */
  keyByLine: Map<number, string>;
  /** Row identity → the lines of the rows with it, for the message when a key no longer matches. */
  linesById: Map<string, number[]>;
}

/**
 * Why a dataset's latest run could not be read (a corrupt predictions.jsonl or settings.json): `message` names the file
 * (and line). Label Review's empty state and Export Reviewed Dataset say it, rather than "no completed run".
 */
export interface RunProblem {
  message: string;
  file?: string;
  line?: number;
}

function toLoadedRun(datasetUri: vscode.Uri, artefacts: RunArtefacts): LoadedRun {
  return { ...keyedRun(artefacts), datasetUri };
}

const OPEN_LOG = 'Open Log';

function fieldsKey(fields: FieldMapping): string {
  return [fields.text, fields.teacher, fields.human, fields.id, fields.teacherConfidence].join('\u0000');
}

/**
 * The latest run per dataset and, for open dataset documents, row identity → current line. Diagnostics, quick fixes,
 * hover and the review panel all read from here, so they agree on which run and which line a row is on.
 */
export class RunState implements vscode.Disposable {
  private readonly runs = new Map<string, LoadedRun>();
  /** Datasets whose latest run was looked up on disk (found or not), so it is not looked up again each keystroke. */
  private readonly lookedUp = new Map<string, vscode.Uri>();
  /** Datasets whose latest run could not be read, with why (until it is read, or none is found). */
  private readonly problems = new Map<string, RunProblem>();
  /**
   * Each dataset's look-ups and loads, counted: one answered after a later one began (a run landing while the one
   * before is still read, two pointer events, a loadRun) is dropped, so the older run read last never replaces the
   * newer one.
   */
  private readonly lookUps = new Map<string, number>();
  /**
   * By document object, not by file: a file closed and opened again is a new document whose versions start again from
   * 1, while the closed one stays readable with its old text (something may still hold it), so by file and version one
   * was answered with the other's rows. An entry lives as long as its document (a closed one that a review still holds
   * keeps its rows: re-parsed at every look-up, a rebuild of 10,000 rows would parse the file 10,000 times).
   */
  private readonly indexes = new WeakMap<vscode.TextDocument, { key: string; index: DocumentIndex; reader: DocumentRowReader }>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /**
   * Fires when a dataset's latest run changes (a run finished, or one was loaded from disk), or it turns out unreadable
   * or readable again (runProblem): Label Review's empty state says why.
   */
  readonly onDidChangeRun = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  /** The PeerKD output channel: also where a review says what it could not log (labelEdits.ts). */
  constructor(readonly log: vscode.LogOutputChannel) {}

  getRun(datasetUri: vscode.Uri): LoadedRun | undefined {
    return this.runs.get(datasetUri.toString());
  }

  /** The datasets whose latest run was looked up: those whose new runs the editor follows (runPointerWatcher.ts). */
  datasets(): vscode.Uri[] {
    return [...this.lookedUp.values()];
  }

  /** Why the dataset's latest run could not be read at the last look-up, or undefined. */
  runProblem(datasetUri: vscode.Uri): RunProblem | undefined {
    return this.problems.get(datasetUri.toString());
  }

  /**
   * Loads the dataset's latest run from disk once (or again with `force`); undefined when it has none. A latest run
   * that cannot be read is said once (a warning naming the file and line) and kept as runProblem; the run loaded before,
   * if any, stays.
   */
  /**
   * ensureRun for a command the user gives (Open Label Review, Export Reviewed Dataset): a dataset the editor knows no
   * run of is looked up on disk again. A run made or carried meanwhile (`peerkd distill` or `peerkd move` in a terminal)
   * is otherwise found only when the runs folders' watcher reports it (runPointerWatcher.ts), and that event can come
   * late or not at all: Label Review said "no completed run yet" of a dataset whose pointer named its run.
   */
  async currentRun(datasetUri: vscode.Uri): Promise<LoadedRun | undefined> {
    const key = datasetUri.toString();
    return this.ensureRun(datasetUri, this.lookedUp.has(key) && !this.runs.has(key));
  }

  async ensureRun(datasetUri: vscode.Uri, force = false): Promise<LoadedRun | undefined> {
    const key = datasetUri.toString();
    if (!force && this.lookedUp.has(key)) {
      return this.runs.get(key);
    }
    this.lookedUp.set(key, datasetUri);
    if (datasetUri.scheme !== 'file') {
      return undefined;
    }
    const lookUp = this.nextLookUp(key);
    try {
      const outputDir = readSettings(datasetUri).training.outputDir;
      // In every runs folder the dataset used (the setting may have changed since its last run), as a run and
      // `peerkd export` find it.
      const known = await readKnownRunsDirs(datasetUri.fsPath, outputDir || undefined);
      for (const problem of known.problems) this.log.warn(problem);
      const artefacts = await readLatestRunAmong(datasetUri.fsPath, known.dirs);
      if (this.lookUps.get(key) !== lookUp) return this.runs.get(key);
      const hadProblem = this.problems.delete(key);
      if (!artefacts) {
        if (hadProblem) this.changed.fire(datasetUri);
        return this.runs.get(key);
      }
      return this.setRun(datasetUri, artefacts);
    } catch (error) {
      if (this.lookUps.get(key) === lookUp) this.unreadable(datasetUri, error);
      return this.runs.get(key);
    }
  }

  /** Counts a look-up (or load) of the dataset's run: the latest begun is the one whose answer is kept. */
  private nextLookUp(key: string): number {
    const lookUp = (this.lookUps.get(key) ?? 0) + 1;
    this.lookUps.set(key, lookUp);
    return lookUp;
  }

  /** Logs why the latest run could not be read and, the first time this problem is met, says so with Open Log. */
  private unreadable(datasetUri: vscode.Uri, error: unknown): void {
    const key = datasetUri.toString();
    const message = error instanceof Error ? error.message : String(error);
    const problem: RunProblem = error instanceof RunArtefactError ? { message, file: error.file, ...(error.line === undefined ? {} : { line: error.line }) } : { message };
    const before = this.problems.get(key);
    this.problems.set(key, problem);
    this.log.warn(`Could not read the latest run of ${datasetUri.fsPath}: ${message}`);
    if (before?.message === message) return;
    this.changed.fire(datasetUri);
    const previous = this.runs.get(key);
    const shown = previous ? `the results of run ${previous.runId} are still shown` : 'Label Review, hovers and diagnostics show no run until it is fixed or a new run finishes';
    void showWarningMessage(`PeerKD: the latest run of ${datasetName(datasetUri)} could not be read: ${message}. ${shown[0].toUpperCase()}${shown.slice(1)}.`, OPEN_LOG).then((answer) => {
      if (answer === OPEN_LOG) this.log.show(true);
    });
  }

  /** Loads a finished run by its folder and makes it the dataset's latest. */
  async loadRun(datasetUri: vscode.Uri, runDir: string): Promise<LoadedRun> {
    this.lookedUp.set(datasetUri.toString(), datasetUri);
    // Begun after any look-up under way: the run it loads (the one just finished) wins over what they read.
    this.nextLookUp(datasetUri.toString());
    const run = this.setRun(datasetUri, await readRun(runDir));
    this.problems.delete(datasetUri.toString());
    return run;
  }

  private setRun(datasetUri: vscode.Uri, artefacts: RunArtefacts): LoadedRun {
    const key = datasetUri.toString();
    const previous = this.runs.get(key);
    const run = toLoadedRun(datasetUri, artefacts);
    this.runs.set(key, run);
    if (artefacts.explanationsProblem && previous?.runId !== run.runId) {
      this.log.warn(`Run ${run.runId}: no "why flagged" explanations: ${artefacts.explanationsProblem}`);
    }
    if (previous?.runId !== run.runId) {
      this.log.info(`Latest run of ${datasetUri.fsPath}: ${run.runId} (${run.predictions.filter((p) => p.flagged).length} rows flagged)`);
      this.changed.fire(datasetUri);
    }
    return run;
  }

  /** Rows of a document by identity, re-parsed only when the document or the field mapping changed. */
  indexOf(document: vscode.TextDocument): DocumentIndex {
    const fields = readSettings(document.uri).fields;
    const key = fieldsKey(fields);
    const cached = this.indexes.get(document);
    if (cached && cached.key === key && cached.index.version === document.version) {
      return cached.index;
    }
    // The reader of the same mapping parses only the lines changed since its last read.
    const reader = cached?.key === key ? cached.reader : new DocumentRowReader(fields);
    const index: DocumentIndex = { version: document.version, ...reader.read(document.getText()) };
    this.indexes.set(document, { key, index, reader });
    return index;
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

/** The open document of a dataset, or opens it (without showing it) so edits go through the editor's undo. */
export async function datasetDocument(uri: vscode.Uri): Promise<vscode.TextDocument> {
  const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri.toString());
  return open ?? vscode.workspace.openTextDocument(uri);
}

export function isDatasetUri(uri: vscode.Uri): boolean {
  return DATASET_FILE_NAME.test(uri.path);
}

/**
 * A dataset as a run's messages name it: its file name, and with several workspace folders the folder's name and the
 * path in it (as Validate Dataset and Label with Teacher name it), and Label Review's title and header, so that two folders' data.jsonl are told apart.
 */
export function datasetName(uri: vscode.Uri): string {
  return (vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? vscode.workspace.asRelativePath(uri, true) : path.basename(uri.fsPath);
}
