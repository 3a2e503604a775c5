import * as vscode from 'vscode';
import { firstInvalidUtf8LineOfFile, foldRepeatedLabelProblems, IncrementalDatasetValidator, lineCountOf, type Problem } from '../dataset/index';
import { DATASET_FILE_NAME, type FieldMapping } from '../dataset/types';
import { InputChecks, inputProblemsOf, type InputSource } from '../training/input';
import type { Services } from './services';
import { readSettings, warnDatasetSettingsOnce, type PeerKdSettings } from './settings';

/**
 * Diagnostics of the dataset rules (invalid JSON, missing text, unknown label, duplicate id) on JSONL files, and of what
 * a run would stop on or warn about in the file as a whole (code `run-check`: training/input.ts checkTrainingInput).
 */
export const DIAGNOSTIC_SOURCE = 'PeerKD';
/** The source of what a run would say of the file as a whole (code run-check): told apart from the lines' own problems. */
export const RUN_CHECK_SOURCE = 'PeerKD (run)';
const DEBOUNCE_MS = 300;
/** About 50 ms of parsing: the most the extension host is kept busy at a stretch. */
const LINES_PER_SLICE = 10_000;
/** Lines of the walk over the parsed lines (duplicates, counts) between two yields: about 50 ms at most. */
const LINES_PER_WALK_STEP = 50_000;
/**
 * Rows up to which a run's checks of the whole file (training/input.ts InputChecks, about 25 ms per 10,000 rows) run
 * with each validation, in one go. A larger document has its rows fed to them RUN_CHECK_ROWS_PER_SLICE at a time right
 * after the validation (which itself waits DEBOUNCE_MS for a pause in typing), yielding to the event loop between
 * slices as its lines are parsed (flushInSlices); an edit or a newer validation abandons them, and the earlier
 * findings show meanwhile.
 */
const RUN_CHECKS_SYNC_ROWS = 10_000;
const RUN_CHECK_ROWS_PER_SLICE = 5_000;
/** Schemes of documents a person edits; diff views (git:) and the like would only duplicate the Problems list. */
const VALIDATED_SCHEMES = new Set(['file', 'untitled', 'vscode-remote', 'vscode-vfs']);

/**
 * A document shown as JSON Lines or named as a dataset (DATASET_FILE_NAME: `.jsonl`, `.ndjson`, any letter case),
 * whatever its scheme. The one rule of the commands that take the active editor's JSON Lines (Label with Teacher)
 * and of the diagnostics; a `.ndjson` file was a dataset to Label Review, the hover and the CLI but got no diagnostics.
 */
export function looksLikeDataset(document: Pick<vscode.TextDocument, 'languageId' | 'uri'>): boolean {
  return document.languageId === 'jsonl' || DATASET_FILE_NAME.test(document.uri.path);
}

export function isJsonlDocument(document: Pick<vscode.TextDocument, 'languageId' | 'uri'>): boolean {
  return VALIDATED_SCHEMES.has(document.uri.scheme) && looksLikeDataset(document);
}

export function toDiagnostic(problem: Problem): vscode.Diagnostic {
  const range = new vscode.Range(problem.line - 1, problem.column - 1, problem.line - 1, Math.max(problem.column, problem.endColumn) - 1);
  const severity = problem.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning;
  const diagnostic = new vscode.Diagnostic(range, problem.message, severity);
  diagnostic.source = problem.code === 'run-check' ? RUN_CHECK_SOURCE : DIAGNOSTIC_SOURCE;
  diagnostic.code = problem.code;
  return diagnostic;
}

/**
 * The diagnostics a file's problems show as, the one rule of its own diagnostics and of "PeerKD: Validate Dataset", open
 * or closed: a label problem that every row with a teacher label repeats is shown once (foldRepeatedLabelProblems; the
 * validate command's summary still counts every row's). `teacherLabelRows`, `fields`: as foldRepeatedLabelProblems.
 */
export function shownDiagnostics(problems: readonly Problem[], teacherLabelRows: number, fields: FieldMapping): vscode.Diagnostic[] {
  return foldRepeatedLabelProblems(problems, teacherLabelRows, fields).map(toDiagnostic);
}

interface TrackedDocument {
  document: vscode.TextDocument;
  validator: IncrementalDatasetValidator;
  /** What a run of this document would be checked against: its fields, label set and folds (the settings). */
  source: Omit<InputSource, 'text'>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The last findings of a run's checks of the whole file (code run-check). */
  runProblems: Problem[];
  /** Counts validations and reconfigurations: run checks fed in slices stop when a newer one came. */
  validations: number;
  /**
   * The file's first line of bytes that are not UTF-8 (null: none), read from disk for the document at `version`
   * (invalidUtf8LineOf); `reading`: the version a read is under way for.
   */
  utf8?: { version: number; line: number | null };
  utf8Reading?: number;
}

/**
 * Keeps the dataset diagnostics of every open JSONL document current. Edits are folded into a per-line cache as
 * they happen; validation runs DEBOUNCE_MS after the last keystroke and re-parses only the changed lines.
 * "PeerKD: Validate Dataset" publishes through `publish` for files that are not open.
 */
export class DatasetDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('peerkd-dataset');
  private readonly tracked = new Map<string, TrackedDocument>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly services: Services) {
    this.subscriptions.push(
      this.collection,
      vscode.workspace.onDidOpenTextDocument((document) => this.open(document)),
      vscode.workspace.onDidCloseTextDocument((document) => this.close(document.uri)),
      vscode.workspace.onDidChangeTextDocument((event) => this.change(event)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('peerkd.fields') || event.affectsConfiguration('peerkd.labels') || event.affectsConfiguration('peerkd.training.folds')) this.reconfigureAll();
        // The run diagnostics' settings (src/editor/runDiagnostics.ts reads them): a value it cannot use is said here.
        else if (event.affectsConfiguration('peerkd.diagnostics')) for (const entry of this.tracked.values()) this.sayIgnoredSettings(readSettings(entry.document.uri));
      }),
    );
    for (const document of vscode.workspace.textDocuments) this.open(document);
  }

  /**
   * Publishes what "PeerKD: Validate Dataset" found in an open document's text at `version`, as the document's own
   * diagnostics show it (shownDiagnostics). Nothing when the document changed since: the validation that follows the
   * edit shows the text as it is now.
   */
  publishValidated(document: vscode.TextDocument, version: number, problems: readonly Problem[], teacherLabelRows: number): void {
    const entry = this.tracked.get(document.uri.toString());
    if (entry === undefined || document.version !== version) return;
    this.collection.set(document.uri, shownDiagnostics(problems, teacherLabelRows, entry.validator.fields));
  }

  isTracked(uri: vscode.Uri): boolean {
    return this.tracked.has(uri.toString());
  }

  /**
   * Publishes what "PeerKD: Validate Dataset" found in a file outside an open editor (a streamed file), as an open
   * document's are shown (shownDiagnostics): one file gets the same findings open or closed.
   */
  publish(uri: vscode.Uri, problems: readonly Problem[], teacherLabelRows: number, fields: FieldMapping): void {
    this.collection.set(uri, shownDiagnostics(problems, teacherLabelRows, fields));
  }

  dispose(): void {
    for (const entry of this.tracked.values()) clearTimeout(entry.timer);
    this.tracked.clear();
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private open(document: vscode.TextDocument): TrackedDocument | undefined {
    if (!isJsonlDocument(document)) return undefined;
    const key = document.uri.toString();
    const existing = this.tracked.get(key);
    if (existing) return existing;
    const settings = readSettings(document.uri);
    this.sayIgnoredSettings(settings);
    let validator: IncrementalDatasetValidator;
    try {
      validator = new IncrementalDatasetValidator(settings.fields, { labels: settings.labels });
    } catch (error) {
      this.services.log.error(`Invalid peerkd.fields setting: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
    const entry: TrackedDocument = { document, validator, source: runSource(document.uri, settings), timer: undefined, runProblems: [], validations: 0 };
    this.tracked.set(key, entry);
    this.schedule(entry, 0);
    return entry;
  }

  /** The settings the validator and the run diagnostics read that could not be used as written (each said once). */
  private sayIgnoredSettings(settings: PeerKdSettings): void {
    warnDatasetSettingsOnce(this.services.log, settings, 'peerkd.fields.', 'peerkd.diagnostics.');
  }

  private close(uri: vscode.Uri): void {
    const key = uri.toString();
    const entry = this.tracked.get(key);
    if (entry) clearTimeout(entry.timer);
    this.tracked.delete(key);
    this.collection.delete(uri);
  }

  private change(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    const entry = this.tracked.get(event.document.uri.toString());
    if (entry === undefined) return;
    // Changes of one event apply in order, each to the text the previous one produced.
    for (const change of event.contentChanges) {
      entry.validator.applyChange({
        startLine: change.range.start.line,
        endLine: change.range.end.line,
        insertedLineCount: lineCountOf(change.text),
      });
    }
    entry.document = event.document;
    this.schedule(entry, DEBOUNCE_MS);
  }

  private reconfigureAll(): void {
    for (const entry of this.tracked.values()) {
      const settings = readSettings(entry.document.uri);
      this.sayIgnoredSettings(settings);
      try {
        entry.validator.reconfigure(settings.fields, { labels: settings.labels });
        entry.source = runSource(entry.document.uri, settings);
        entry.validations++;
      } catch (error) {
        this.services.log.error(`Invalid peerkd.fields setting: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      this.schedule(entry, 0);
    }
  }

  private schedule(entry: TrackedDocument, delay: number): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.tracked.get(entry.document.uri.toString()) === entry) void this.flushInSlices(entry);
    }, delay);
  }

  /**
   * Parses the changed lines a slice at a time, then walks the document's cached lines (duplicates, counts) a step at a
   * time, yielding to the event loop between slices and steps, so neither opening a 100,000-line file nor an edit of
   * a 200,000-line one freezes the extension host (the walk alone took 150–380 ms in one go). A newer edit or a
   * settings change abandons the run: its own debounced run continues from the lines already parsed.
   */
  private async flushInSlices(entry: TrackedDocument): Promise<void> {
    const document = entry.document;
    const version = document.version;
    const validations = entry.validations;
    const current = () => this.tracked.get(document.uri.toString()) === entry && document.version === version && entry.validations === validations;
    const lineAt = (index: number): string => document.lineAt(index).text;
    let lineProblems: Problem[];
    const started = performance.now();
    try {
      while (!entry.validator.parseChanged(document.lineCount, lineAt, LINES_PER_SLICE)) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!current()) return;
      }
      const steps = entry.validator.validateInSteps(document.lineCount, lineAt, LINES_PER_WALK_STEP);
      let step = steps.next();
      while (!step.done) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!current()) return;
        step = steps.next();
      }
      lineProblems = step.value;
    } catch (error) {
      this.services.log.error(`Could not validate ${document.uri.toString(true)}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.flush(entry, lineProblems, started);
  }

  /** A run's checks of the document as last validated; none when they fail (logged): the line problems still show. */
  private runChecks(entry: TrackedDocument): Problem[] {
    try {
      const parsed = entry.validator.lastParsed;
      const checks = new InputChecks(entry.source);
      for (const row of parsed.rows) checks.add(row);
      return inputProblemsOf(checks, parsed, (line) => lineTextOf(entry.document, line), this.invalidUtf8LineOf(entry, checks));
    } catch (error) {
      this.services.log.error(`Could not check ${entry.document.uri.toString(true)} as a run would: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
  }

  /**
   * A run's checks of the document as last validated, its rows fed RUN_CHECK_ROWS_PER_SLICE at a time with the event
   * loop given back between slices; then published with `lineProblems`. Abandoned when the document changed or was
   * validated again meanwhile (that validation has checks of its own); none when they fail (logged), as runChecks.
   */
  private async runChecksInSlices(entry: TrackedDocument, lineProblems: Problem[]): Promise<void> {
    const document = entry.document;
    const version = document.version;
    const validation = entry.validations;
    const parsed = entry.validator.lastParsed;
    const current = () => this.tracked.get(document.uri.toString()) === entry && entry.validations === validation && entry.document.version === version;
    let problems: Problem[];
    try {
      const checks = new InputChecks(entry.source);
      for (let start = 0; start < parsed.rows.length; start += RUN_CHECK_ROWS_PER_SLICE) {
        const end = Math.min(parsed.rows.length, start + RUN_CHECK_ROWS_PER_SLICE);
        for (let index = start; index < end; index++) checks.add(parsed.rows[index]);
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!current()) return;
      }
      problems = inputProblemsOf(checks, parsed, (line) => lineTextOf(document, line), this.invalidUtf8LineOf(entry, checks));
    } catch (error) {
      this.services.log.error(`Could not check ${document.uri.toString(true)} as a run would: ${error instanceof Error ? error.message : String(error)}`);
      problems = [];
    }
    entry.runProblems = problems;
    this.publishEntry(entry, lineProblems);
  }

  /**
   * Where the document's file holds bytes that are not UTF-8, for the run's warning (invalid-utf8) that "PeerKD: Validate
   * Dataset" and a run give: only for a saved file (no unsaved edits, so the text shows those bytes, as U+FFFD) whose text
   * shows U+FFFD. Read from disk once per version of the document, after which it is validated again; null until then.
   */
  private invalidUtf8LineOf(entry: TrackedDocument, checks: InputChecks): number | null {
    const document = entry.document;
    if (!checks.hasReplacementCharacter || document.uri.scheme !== 'file' || document.isDirty) return null;
    const version = document.version;
    if (entry.utf8?.version === version) return entry.utf8.line;
    if (entry.utf8Reading !== version) {
      entry.utf8Reading = version;
      void firstInvalidUtf8LineOfFile(document.uri.fsPath)
        .catch(() => null)
        .then((line) => {
          entry.utf8 = { version, line };
          if (line !== null && this.tracked.get(document.uri.toString()) === entry && entry.document.version === version) this.schedule(entry, 0);
        });
    }
    return null;
  }

  /** Publishes the lines' problems and the run's last findings; returns them all. */
  private publishEntry(entry: TrackedDocument, lineProblems: Problem[]): Problem[] {
    const problems = [...lineProblems, ...entry.runProblems];
    this.collection.set(entry.document.uri, shownDiagnostics(problems, entry.validator.lastTeacherLabelRows, entry.validator.fields));
    return problems;
  }

  /** Publishes the lines' problems of a validation (flushInSlices) with a run's checks of the whole file. */
  private flush(entry: TrackedDocument, lineProblems: Problem[], started: number): Problem[] | undefined {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const document = entry.document;
    try {
      // What a run would say of the file as a whole, from the run's own checks, after the problems of each line.
      entry.validations++;
      const inSlices = entry.validator.lastRowCount > RUN_CHECKS_SYNC_ROWS;
      if (!inSlices) entry.runProblems = this.runChecks(entry);
      const problems = this.publishEntry(entry, lineProblems);
      if (inSlices) void this.runChecksInSlices(entry, lineProblems);
      const parsed = entry.validator.lastParsedLineCount;
      if (parsed > 1000) {
        this.services.log.debug(
          `Validated ${vscode.workspace.asRelativePath(document.uri)}: parsed ${parsed} of ${document.lineCount} lines, ` +
            `${problems.length} problems, ${Math.round(performance.now() - started)} ms`,
        );
      }
      return problems;
    } catch (error) {
      this.services.log.error(
        `Could not validate ${document.uri.toString(true)}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }
}

/**
 * The text of a document's 1-based line, '' past its end: a line named by the file on disk (bytes that are not UTF-8)
 * may be past the end of a document the editor has not reloaded yet, and must not cost the run's other findings.
 */
function lineTextOf(document: vscode.TextDocument, line: number): string {
  return line >= 1 && line <= document.lineCount ? document.lineAt(line - 1).text : '';
}

/** The run's input source for a dataset's settings (the file is named in no problem: the Problems panel names it). */
export function runSource(uri: vscode.Uri, settings: ReturnType<typeof readSettings>): Omit<InputSource, 'text'> {
  return {
    file: uri.fsPath,
    fields: settings.fields,
    labels: settings.labels,
    folds: settings.training.folds,
    // A label list the run refuses (Run Distillation): an error here too, not a file checked with inferred labels.
    ...(settings.labelsProblem ? { labelsProblem: settings.labelsProblem } : {}),
  };
}

export function registerDatasetDiagnostics(services: Services): DatasetDiagnostics {
  return new DatasetDiagnostics(services);
}
