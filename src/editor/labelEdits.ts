import * as vscode from 'vscode';
import { undecodableBytesReason } from '../dataset/files';
import type { LineChange } from '../review/undo';
import { planLabelWrites, type LabelWrite } from '../review/writes';
import type { DocumentIndex } from './runState';

export type { LabelWrite } from '../review/writes';

export interface LabelWriteResult {
  /** Exact line texts before and after, for the panel's undo. */
  changes: LineChange[];
  failed: { rowId: string; reason: string }[];
}

/**
 * Writes human labels into a dataset document with ONE WorkspaceEdit (one step of the editor's undo), replacing
 * exactly the lines of the rows it labels (matched by row key: never another row that shares the id); each line is
 * rewritten by the dataset core's byte-preserving field edit, so only the human label's characters change. Works on
 * unsaved text: nothing is saved here.
 */
export async function writeHumanLabels(
  document: vscode.TextDocument,
  index: DocumentIndex,
  humanField: string,
  writes: readonly LabelWrite[],
): Promise<LabelWriteResult> {
  // The document is decoded text: where the file has invalid UTF-8, a save after this edit would lose those bytes.
  const refusal = await undecodableBytesReason(document.getText(), document.uri.scheme === 'file' ? document.uri.fsPath : undefined);
  if (refusal !== null) {
    return { changes: [], failed: writes.map((write) => ({ rowId: write.rowId, reason: refusal })) };
  }
  const plan = planLabelWrites(index, (line) => document.lineAt(line - 1).text, humanField, writes);
  const result: LabelWriteResult = {
    changes: plan.writes.map(({ rowId, before, after }) => ({ rowId, before, after })),
    failed: plan.failed,
  };
  if (plan.writes.length > 0) {
    const edit = new vscode.WorkspaceEdit();
    for (const write of plan.writes) {
      edit.replace(document.uri, document.lineAt(write.line - 1).range, write.after);
    }
    if (!(await vscode.workspace.applyEdit(edit))) {
      return { changes: [], failed: writes.map((write) => ({ rowId: write.rowId, reason: 'the editor refused the edit' })) };
    }
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
