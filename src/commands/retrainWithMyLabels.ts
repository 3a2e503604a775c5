import { DATASET_SUFFIXES } from '../dataset/types';
import * as vscode from 'vscode';
import { showInformationMessage } from '../editor/messages';
import type { Services } from '../editor/services';
import type { RunState } from '../editor/runState';
import { datasetTarget, labelReviewDataset, openedDataset, usableDataset } from './datasetTarget';
import { datasetName, type DistillationManager } from './runDistillation';
import { LabelReviewPanel } from '../webview/labelReviewPanel';

/**
 * "PeerKD: Retrain with My Labels" (issue 10 §2): a new distillation run of the dataset, on the editor's text, so every
 * human label in it (the review's decisions included, saved or not) trains the students and is never flagged again;
 * the Label Review panel then opens the new run where the user was (src/review/place.ts): the same row or the next one
 * still to review, with the skips kept. Decided rows stay decided: their labels are in the file.
 */
export function registerRetrainWithMyLabelsCommand(services: Services, runState: RunState, manager: DistillationManager): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.retrainWithMyLabels', async (argument?: unknown) => {
    const datasetUri = usableDataset(
      datasetTarget(argument) ?? labelReviewDataset(),
      `PeerKD: open a ${DATASET_SUFFIXES} dataset (or its Label Review) to retrain with its human labels.`,
      'no retraining',
      { untitled: false, needsDatasetName: true },
    );
    if (!datasetUri) return;
    const document = await openedDataset(datasetUri, 'no retraining');
    if (!document) return;
    const humanLabels = [...runState.indexOf(document).byKey.values()].filter((row) => row.human !== null).length;
    const name = datasetName(datasetUri);
    if (humanLabels === 0) {
      void showInformationMessage(
        `PeerKD: ${name} has no human label yet. Decide some rows in Label Review (or type labels in the human-label field), then retrain.`,
      );
      return;
    }
    const before = runState.getRun(datasetUri)?.runId;
    const forget = LabelReviewPanel.current?.keepPlaceForNextRun(datasetUri) ?? (() => undefined);
    services.log.info(`Retrain with my labels: ${name}, ${humanLabels.toLocaleString('en-US')} human label${humanLabels === 1 ? '' : 's'}${before ? `, after run ${before}` : ''}`);
    try {
      await manager.run(datasetUri);
    } finally {
      // A run that did not finish (cancelled, failed, refused) leaves no place waiting for some later run.
      if (runState.getRun(datasetUri)?.runId === before) forget();
    }
  });
}
