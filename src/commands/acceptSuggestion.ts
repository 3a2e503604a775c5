import * as vscode from 'vscode';
import { showErrorMessage } from '../editor/messages';
import { createReviewSession } from '../editor/labelEdits';
import type { RunState } from '../editor/runState';
import type { Decision } from '../review/model';
import { idOfKey } from '../review/rowKeys';
import { LabelReviewPanel } from '../webview/labelReviewPanel';

/**
 * Writes the human label a quick-fix decision means for one row (by key), through the review session the panel uses
 * (the open panel's own when it reviews this dataset, so its undo and counts include the decision), as one
 * WorkspaceEdit so the editor's undo takes it back. Shared by "Accept Suggested Label" and "Keep Teacher Label".
 * Without such a panel the decision goes into the dataset's kept history all the same (LabelReviewPanel.historyOf):
 * it had a history of its own, dropped at once, so `u` in a panel opened later undid an earlier decision instead.
 */
export async function decideRow(runState: RunState, argument: unknown, rowId: unknown, decision: Decision): Promise<boolean> {
  if (!(argument instanceof vscode.Uri) || typeof rowId !== 'string') {
    void showErrorMessage('PeerKD: this command runs from a quick fix on a flagged label.');
    return false;
  }
  const run = await runState.ensureRun(argument);
  if (!run) {
    void showErrorMessage(`PeerKD: the latest run has no prediction for row '${idOfKey(rowId)}'.`);
    return false;
  }
  const session = LabelReviewPanel.current?.sessionFor(argument, run.runId) ??
    (await createReviewSession(runState, argument, run, { continues: LabelReviewPanel.historyOf(argument), shown: false }));
  const result = await session.decide(rowId, decision);
  if (result.status === 'refused') {
    void showErrorMessage(`PeerKD: ${result.message} (${argument.fsPath}).`);
    return false;
  }
  return true;
}

export function registerAcceptSuggestionCommand(runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.acceptSuggestion', (uri: unknown, rowId: unknown) =>
    decideRow(runState, uri, rowId, { kind: 'accept' }),
  );
}
