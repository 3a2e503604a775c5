import * as vscode from 'vscode';
import { setFieldInLine } from '../dataset/edit';
import { undecodableBytesReason } from '../dataset/files';
import type { LineChange } from '../review/undo';
import type { DocumentIndex } from './runState';

export interface LabelWrite {
  rowId: string;
  label: string;
}

export interface LabelWriteResult {
  /** Exact line texts before and after, for the panel's undo. */
  changes: LineChange[];
  failed: { rowId: string; reason: string }[];
}

/**
 * Writes human labels into a dataset document with ONE WorkspaceEdit (one step of the editor's undo), replacing
 * exactly the lines of the rows it labels; each line is rewritten by the dataset core's byte-preserving field edit,
 * so only the human label's characters change. Works on unsaved text: nothing is saved here.
 */
export async function writeHumanLabels(
  document: vscode.TextDocument,
  index: DocumentIndex,
  humanField: string,
  writes: readonly LabelWrite[],
): Promise<LabelWriteResult> {
  const result: LabelWriteResult = { changes: [], failed: [] };
  // The document is decoded text: where the file has invalid UTF-8, a save after this edit would lose those bytes.
  const refusal = await undecodableBytesReason(document.getText(), document.uri.scheme === 'file' ? document.uri.fsPath : undefined);
  if (refusal !== null) {
    return { changes: [], failed: writes.map((write) => ({ rowId: write.rowId, reason: refusal })) };
  }
  const edit = new vscode.WorkspaceEdit();
  const seenLines = new Set<number>();
  for (const write of writes) {
    const row = index.byId.get(write.rowId);
    if (!row) {
      result.failed.push({ rowId: write.rowId, reason: 'the row is no longer in the file' });
      continue;
    }
    if (seenLines.has(row.line)) {
      continue;
    }
    const line = document.lineAt(row.line - 1);
    let after: string;
    try {
      after = setFieldInLine(line.text, humanField, write.label);
    } catch (error) {
      result.failed.push({ rowId: write.rowId, reason: `line ${row.line}: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    if (after === line.text) {
      continue;
    }
    seenLines.add(row.line);
    edit.replace(document.uri, line.range, after);
    result.changes.push({ rowId: write.rowId, before: line.text, after });
  }
  if (result.changes.length > 0 && !(await vscode.workspace.applyEdit(edit))) {
    return { changes: [], failed: writes.map((write) => ({ rowId: write.rowId, reason: 'the editor refused the edit' })) };
  }
  return result;
}

/** Puts whole lines back (panel undo), again as one WorkspaceEdit. Returns whether the editor applied it. */
export async function replaceLines(
  document: vscode.TextDocument,
  writes: readonly { line: number; text: string }[],
): Promise<boolean> {
  if (writes.length === 0) {
    return true;
  }
  const edit = new vscode.WorkspaceEdit();
  for (const write of writes) {
    edit.replace(document.uri, document.lineAt(write.line - 1).range, write.text);
  }
  return vscode.workspace.applyEdit(edit);
}
