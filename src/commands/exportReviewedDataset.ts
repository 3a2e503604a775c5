import * as path from 'node:path';
import * as vscode from 'vscode';
import { assertNotSameFile, writeFileAtomic } from '../dataset/files';
import type { Services } from '../editor/services';
import { datasetDocument, type RunState } from '../editor/runState';
import { datasetTarget } from './datasetTarget';
import { readSettings } from '../editor/settings';
import { exportReviewedText, FINAL_LABEL_FIELD, PROVENANCE_FIELD, reviewedFileName } from '../review/export';

/**
 * "PeerKD: Export Reviewed Dataset": writes a copy with the final labels and their provenance; the original (and
 * its unsaved edits) stay as they are. Asks where rows without a human label take their label from.
 */
export function registerExportReviewedDatasetCommand(services: Services, runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.exportReviewedDataset', async (argument?: unknown) => {
    const datasetUri = datasetTarget(argument);
    if (!datasetUri) {
      void vscode.window.showErrorMessage('PeerKD: open a .jsonl dataset (or select one in the Explorer) to export it.');
      return;
    }
    const run = await runState.ensureRun(datasetUri);
    const teacherChoice = {
      label: "Teacher's label",
      description: 'human label where present, else the teacher label',
      useAdvised: false,
    };
    const advisedChoice = {
      label: 'Advised label',
      description: `human label where present, else the label advised by run ${run?.runId ?? ''}`,
      useAdvised: true,
    };
    let useAdvised = false;
    if (run) {
      const picked = await vscode.window.showQuickPick([teacherChoice, advisedChoice], {
        title: 'PeerKD: Export Reviewed Dataset',
        placeHolder: 'Rows without a human label get…',
      });
      if (!picked) {
        return;
      }
      useAdvised = picked.useAdvised;
    }
    const defaultUri = vscode.Uri.joinPath(datasetUri, '..', reviewedFileName(path.posix.basename(datasetUri.path)));
    const target = await vscode.window.showSaveDialog({
      title: 'PeerKD: save the reviewed copy',
      defaultUri,
      filters: { 'JSON Lines': ['jsonl'] },
    });
    if (!target) {
      return;
    }
    const sameFile = 'PeerKD: the export never overwrites the dataset itself; choose another file.';
    if (target.toString() === datasetUri.toString()) {
      void vscode.window.showErrorMessage(sameFile);
      return;
    }
    if (target.scheme === 'file' && datasetUri.scheme === 'file') {
      // The same file under another name (a symbolic link, another letter case, a hard link) is still the dataset.
      try {
        await assertNotSameFile(datasetUri.fsPath, target.fsPath);
      } catch (error) {
        void vscode.window.showErrorMessage(`${sameFile} (${error instanceof Error ? error.message : String(error)})`);
        return;
      }
    }
    const document = await datasetDocument(datasetUri);
    const { text, counts } = exportReviewedText(document.getText(), {
      fields: readSettings(datasetUri).fields,
      predictionsByKey: run?.byKey ?? null,
      runId: run?.runId ?? null,
      useAdvised,
    });
    if (target.scheme === 'file') {
      try {
        await writeFileAtomic(target.fsPath, text);
      } catch (error) {
        void vscode.window.showErrorMessage(`PeerKD: the reviewed copy was not written: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    } else {
      await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
    }
    const parts = [`${counts.human} human`, `${counts.teacher} teacher`];
    if (useAdvised) {
      parts.push(`${counts.advised} advised`);
    }
    if (counts.none > 0) {
      parts.push(`${counts.none} without a label`);
    }
    const invalid = counts.invalidLines > 0 ? ` ${counts.invalidLines} invalid line${counts.invalidLines === 1 ? ' was' : 's were'} copied unchanged.` : '';
    services.log.info(`Exported ${datasetUri.fsPath} to ${target.fsPath}: ${counts.rows} rows (${parts.join(', ')}).${invalid}`);
    const openCopy = 'Open Copy';
    const answer = await vscode.window.showInformationMessage(
      `PeerKD: wrote ${counts.rows.toLocaleString('en-US')} rows to ${path.basename(target.fsPath)} with '${FINAL_LABEL_FIELD}' and '${PROVENANCE_FIELD}' (${parts.join(', ')}).${invalid}`,
      openCopy,
    );
    if (answer === openCopy) {
      await vscode.window.showTextDocument(target);
    }
  });
}
