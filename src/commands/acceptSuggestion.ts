import * as vscode from 'vscode';
import { writeHumanLabels } from '../editor/labelEdits';
import { datasetDocument, type RunState } from '../editor/runState';
import { readSettings } from '../editor/settings';
import type { Decision } from '../review/model';
import { labelForDecision } from '../review/model';
import { idOfKey, unmatchedReason } from '../review/rowKeys';

/**
 * Writes the human label a quick-fix decision means for one row (by identity), through a WorkspaceEdit so the editor's
 * undo takes it back. Shared by "Accept Suggested Label" and "Keep Teacher Label".
 */
export async function decideRow(runState: RunState, argument: unknown, rowId: unknown, decision: Decision): Promise<boolean> {
  if (!(argument instanceof vscode.Uri) || typeof rowId !== 'string') {
    void vscode.window.showErrorMessage('PeerKD: this command runs from a quick fix on a flagged label.');
    return false;
  }
  const run = await runState.ensureRun(argument);
  const prediction = run?.byKey.get(rowId);
  if (!prediction) {
    void vscode.window.showErrorMessage(`PeerKD: the latest run has no prediction for row '${idOfKey(rowId)}'.`);
    return false;
  }
  const document = await datasetDocument(argument);
  const index = runState.indexOf(document);
  const row = index.byKey.get(rowId);
  if (!row) {
    void vscode.window.showErrorMessage(`PeerKD: row '${idOfKey(rowId)}' not labelled: ${unmatchedReason(rowId, index.linesById)} (${argument.fsPath}).`);
    return false;
  }
  const label = labelForDecision({ teacher: row.teacher, suggested: prediction.suggested }, decision);
  if (label === null) {
    void vscode.window.showErrorMessage(`PeerKD: row '${idOfKey(rowId)}' has no teacher label to keep.`);
    return false;
  }
  const result = await writeHumanLabels(document, index, readSettings(argument).fields.human, [{ rowId, label }]);
  if (result.failed.length > 0) {
    void vscode.window.showErrorMessage(`PeerKD: could not label row '${idOfKey(rowId)}': ${result.failed[0].reason}`);
    return false;
  }
  return true;
}

export function registerAcceptSuggestionCommand(runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.acceptSuggestion', (uri: unknown, rowId: unknown) =>
    decideRow(runState, uri, rowId, { kind: 'accept' }),
  );
}
