import * as vscode from 'vscode';
import { undecodableBytesReason } from '../dataset/files';
import { ReviewSession, type ReviewDocument, type SessionOptions } from '../review/session';
import * as path from 'node:path';
import { appendReviewLog, reviewLogTarget, type ReviewLogEntry } from '../review/reviewLog';
import { recordRunsDir } from '../training/artifacts';
import { showWarningMessage } from './messages';
import { readSettings } from './settings';
import { datasetDocument, type LoadedRun, type RunState } from './runState';

/**
 * A dataset document as the review session (src/review/session.ts) reads and writes it. Writes are ONE WorkspaceEdit
 * (one step of the editor's undo) replacing exactly the lines the session planned (each rewritten by the dataset
 * core's byte-preserving field edit, so only the human label's characters change). Works on unsaved text: nothing is
 * saved here.
 */
class DatasetReviewDocument implements ReviewDocument {
  constructor(
    private document: vscode.TextDocument,
    private readonly runState: RunState,
  ) {}

  async open(): Promise<void> {
    if (this.current().isClosed) {
      this.document = await datasetDocument(this.document.uri);
    }
  }

  /**
   * The file's open document. The editor keeps a closed document readable with the text it had when it closed: once
   * the file is open again (a new document), reading the closed one showed none of the edits made since.
   */
  private current(): vscode.TextDocument {
    if (this.document.isClosed) {
      const uri = this.document.uri.toString();
      const reopened = vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri && !document.isClosed);
      if (reopened) this.document = reopened;
    }
    return this.document;
  }

  rows(): ReturnType<ReviewDocument['rows']> {
    return this.runState.indexOf(this.current());
  }

  lineText(line: number): string {
    return this.current().lineAt(line - 1).text;
  }

  writeRefusal(): Promise<string | null> {
    // The document is decoded text: where the file has invalid UTF-8, a save after an edit would lose those bytes.
    const uri = this.document.uri;
    return undecodableBytesReason(this.document.getText(), uri.scheme === 'file' ? uri.fsPath : undefined);
  }

  async replaceLines(writes: readonly { line: number; text: string }[]): Promise<boolean> {
    if (writes.length === 0) {
      return true;
    }
    const document = this.current();
    const edit = new vscode.WorkspaceEdit();
    for (const write of writes) {
      edit.replace(document.uri, document.lineAt(write.line - 1).range, write.text);
    }
    return vscode.workspace.applyEdit(edit);
  }
}

/** The review logs a warning was shown for (once each in a window: every decision would show it again). */
const warnedLogs = new Set<string>();
/** The runs folders a review logged in and recorded beside its dataset (recordRunsDir), in this window. */
const recordedRunsDirs = new Set<string>();

/** A review session of a dataset's document against its latest run (the panel's, or a quick fix's own). */
export async function createReviewSession(
  runState: RunState,
  datasetUri: vscode.Uri,
  run: LoadedRun,
  options: Omit<SessionOptions, 'humanField'> = {},
): Promise<ReviewSession> {
  const document = new DatasetReviewDocument(await datasetDocument(datasetUri), runState);
  // The dataset's review log in its runs folder (src/review/reviewLog.ts): the next run counts these labels as reviewed.
  // Where it goes is asked at each decision: the run folder may be deleted, or the setting changed, while the review is open.
  const reviewLog = async (entries: ReviewLogEntry[]) => {
    const runDir = typeof run.runDir === 'string' ? run.runDir : undefined;
    const target = reviewLogTarget(runDir, datasetUri.fsPath, readSettings(datasetUri).training.outputDir || undefined);
    try {
      if (target.problem !== undefined) throw new Error(target.problem);
      await appendReviewLog(target.file, entries);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      runState.log.warn(`Review log ${target.file}: ${entries.length} decision(s) not logged, so the next run counts their labels as a random sample, not as reviewed: ${reason}`);
      // Told once per log file in a window; the log channel has every decision it missed.
      if (warnedLogs.has(target.file)) return;
      warnedLogs.add(target.file);
      void showWarningMessage(
        `PeerKD: the label was written, but the review log ${target.file} could not be: ${reason}. The next run counts this label (and any other not logged: see the PeerKD output) as a random sample, not as reviewed.`,
      );
      return;
    }
    // The runs folder recorded beside the dataset, so that the next run reads this log whatever its runs folder then
    // (artifacts.ts knownRunsDirs): a run records its own, but the log may be in one no run wrote to (the setting
    // changed, the runs folder deleted). Once per dataset and folder in a window.
    const runsDir = path.dirname(path.dirname(target.file));
    const recorded = `${datasetUri.fsPath}\n${runsDir}`;
    if (recordedRunsDirs.has(recorded)) return;
    recordedRunsDirs.add(recorded);
    await recordRunsDir(datasetUri.fsPath, runsDir).catch((error: unknown) =>
      runState.log.warn(`Review log ${target.file}: a later run with another runs folder will not find it: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  return new ReviewSession(run, document, { ...options, reviewLog, humanField: () => readSettings(datasetUri).fields.human, fields: () => readSettings(datasetUri).fields });
}
