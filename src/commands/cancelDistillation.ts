import * as path from 'node:path';
import * as vscode from 'vscode';
import { showInformationMessage } from '../editor/messages';
import { datasetName, type DistillationManager } from './runDistillation';

/** Cancels the run of the given (or active) dataset; with several runs and no dataset given, asks which. */
export function registerCancelDistillationCommand(manager: DistillationManager): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.cancelDistillation', async (argument?: unknown) => {
    const runs = manager.activeRuns();
    if (runs.length === 0) {
      void showInformationMessage('PeerKD: no distillation is running.');
      return;
    }
    const wanted = argument instanceof vscode.Uri ? argument : undefined;
    let target = wanted ? runs.find((active) => active.datasetUri.toString() === wanted.toString()) : undefined;
    // A dataset given is the one to stop: never another dataset's run in its place.
    if (wanted && !target) {
      void showInformationMessage(`PeerKD: no distillation of ${datasetName(wanted)} is running.`);
      return;
    }
    if (!target && runs.length === 1) {
      target = runs[0];
    }
    if (!target) {
      const picked = await vscode.window.showQuickPick(
        runs.map((active) => ({ label: path.basename(active.datasetUri.fsPath), description: active.datasetUri.fsPath, active })),
        { placeHolder: 'Which distillation should stop?' },
      );
      target = picked?.active;
    }
    if (target) {
      await target.run.cancel();
    }
  });
}
