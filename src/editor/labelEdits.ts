import * as vscode from 'vscode';
import { undecodableBytesReason } from '../dataset/files';
import { ReviewSession, type ReviewDocument, type SessionOptions } from '../review/session';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { appendReviewLog, reviewLogFile, type ReviewLogEntry } from '../review/reviewLog';
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

/** A review session of a dataset's document against its latest run (the panel's, or a quick fix's own). */
export async function createReviewSession(
  runState: RunState,
  datasetUri: vscode.Uri,
  run: LoadedRun,
  options: Omit<SessionOptions, 'humanField'> = {},
): Promise<ReviewSession> {
  const document = new DatasetReviewDocument(await datasetDocument(datasetUri), runState);
  // The dataset's review log beside its runs (src/review/reviewLog.ts): the next run counts these labels as reviewed.
  // Only for a run whose folder is on disk (a run deleted while its review is open logs nothing: its runs folder may
  // be gone too, and the next run starts afresh).
  const logFile = typeof run.runDir === 'string' && existsSync(run.runDir) ? reviewLogFile(path.dirname(run.runDir), datasetUri.fsPath) : undefined;
  const reviewLog = async (entries: ReviewLogEntry[]) => {
    if (logFile === undefined) return;
    try {
      await appendReviewLog(logFile, entries);
    } catch (error) {
      void showWarningMessage(
        `PeerKD: the label was written, but the review log ${logFile} could not be: ${error instanceof Error ? error.message : String(error)}. The next run counts this label as a random sample, not as reviewed.`,
      );
    }
  };
  return new ReviewSession(run, document, { ...options, reviewLog, humanField: () => readSettings(datasetUri).fields.human, fields: () => readSettings(datasetUri).fields });
}
