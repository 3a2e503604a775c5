import * as vscode from 'vscode';
import type { Services } from '../editor/services';
import type { RunState } from '../editor/runState';
import { datasetTarget, labelReviewDataset } from './datasetTarget';
import { LabelReviewPanel } from '../webview/labelReviewPanel';

/** Opens (or reveals) the Label Review panel on a dataset; an optional row id selects that row (quick fix). */
export function registerOpenLabelReviewCommand(services: Services, runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.openLabelReview', async (argument?: unknown, rowId?: unknown) => {
    const datasetUri = datasetTarget(argument) ?? labelReviewDataset();
    if (!datasetUri) {
      void vscode.window.showErrorMessage('PeerKD: open a .jsonl dataset to review its labels.');
      return;
    }
    await LabelReviewPanel.createOrShow(services, runState, datasetUri, typeof rowId === 'string' ? rowId : undefined);
  });
}
