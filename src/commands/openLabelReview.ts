import { DATASET_SUFFIXES } from '../dataset/types';
import * as vscode from 'vscode';
import type { Services } from '../editor/services';
import type { RunState } from '../editor/runState';
import { datasetTarget, labelReviewDataset, openedDataset, usableDataset } from './datasetTarget';
import { chooseReviewColumn } from './reviewColumn';
import { LabelReviewPanel } from '../webview/labelReviewPanel';

/** The group Label Review goes to (src/commands/reviewColumn.ts): its own, else the one beside the dataset. */
function reviewColumn(datasetUri: vscode.Uri): vscode.ViewColumn {
  const groups = vscode.window.tabGroups.all;
  const panelGroup = groups.find((group) =>
    group.tabs.some((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith(LabelReviewPanel.viewType)),
  );
  return chooseReviewColumn({
    groups: groups.map((group) => ({ column: group.viewColumn, empty: group.tabs.length === 0 })),
    activeColumn: vscode.window.tabGroups.activeTabGroup?.viewColumn,
    datasetColumns: vscode.window.visibleTextEditors
      .filter((editor) => editor.document.uri.toString() === datasetUri.toString() && editor.viewColumn !== undefined)
      .map((editor) => editor.viewColumn!),
    panelColumn: LabelReviewPanel.current ? panelGroup?.viewColumn : undefined,
  });
}

/** Opens (or reveals) the Label Review panel on a dataset; an optional row id selects that row (quick fix). */
export function registerOpenLabelReviewCommand(services: Services, runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.openLabelReview', async (argument?: unknown, rowId?: unknown) => {
    const datasetUri = usableDataset(datasetTarget(argument) ?? labelReviewDataset(), `PeerKD: open a ${DATASET_SUFFIXES} dataset to review its labels.`, 'no Label Review', {
      untitled: false,
      needsDatasetName: true,
    });
    if (!datasetUri) return;
    // The panel reads the dataset's document: one the editor cannot open is said before a panel opens on it.
    if (!(await openedDataset(datasetUri, 'no Label Review'))) return;
    await LabelReviewPanel.createOrShow(services, runState, datasetUri, typeof rowId === 'string' ? rowId : undefined, reviewColumn(datasetUri));
  });
}
