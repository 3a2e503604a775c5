import * as path from 'node:path';
import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage } from '../editor/messages';
import { writeFileAtomic } from '../dataset/files';
import { resolveRunsDir } from '../training/artifacts';
import type { Services } from '../editor/services';
import { datasetDocument, type RunState } from '../editor/runState';
import { datasetTarget } from './datasetTarget';
import { readSettings } from '../editor/settings';
import { adviceAbove, assertExportTarget, exportReviewedText, FINAL_LABEL_FIELD, parseAdviceThreshold, PROVENANCE_FIELD, reviewedFileName, type AdviceChoice } from '../review/export';
import type { LoadedRun } from '../editor/runState';

/**
 * The least probability of the advised label, asked each time (never a default: issue 10 §3.12); while typing, the
 * box says how many rows would take advice. Undefined when the user cancels.
 */
async function askAdviceThreshold(run: LoadedRun): Promise<AdviceChoice | undefined> {
  const answer = await vscode.window.showInputBox({
    title: 'PeerKD: Export Reviewed Dataset — advised labels',
    prompt: 'Least probability of the advised label for a row to take it (0–1, or a percentage); rows below keep the teacher label, or none. Each advised row records its probability and this threshold.',
    placeHolder: 'e.g. 0.9',
    ignoreFocusOut: true,
    validateInput: (value) => {
      const parsed = parseAdviceThreshold(value);
      if (typeof parsed === 'string') {
        return parsed;
      }
      const { rows, withoutTeacher } = adviceAbove(run.predictions, parsed);
      return {
        message: `${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'} without a human label at run ${run.runId} would take the advised label (${withoutTeacher.toLocaleString('en-US')} of them without a teacher label).`,
        severity: vscode.InputBoxValidationSeverity.Info,
      };
    },
  });
  if (answer === undefined) {
    return undefined;
  }
  const parsed = parseAdviceThreshold(answer);
  if (typeof parsed === 'string') {
    void showErrorMessage(`PeerKD: no export: ${parsed}`);
    return undefined;
  }
  return { minProbability: parsed };
}

/**
 * "PeerKD: Export Reviewed Dataset": writes a copy with the final labels and their provenance; the original (and
 * its unsaved edits) stay as they are. Asks where rows without a human label take their label from.
 */
export function registerExportReviewedDatasetCommand(services: Services, runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.exportReviewedDataset', async (argument?: unknown) => {
    const datasetUri = datasetTarget(argument);
    if (!datasetUri) {
      void showErrorMessage('PeerKD: open a .jsonl dataset (or select one in the Explorer) to export it.');
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
      description: `human label where present, else the label advised by run ${run?.runId ?? ''} when its probability reaches a threshold you choose`,
      useAdvised: true,
    };
    let advice: AdviceChoice | null = null;
    if (run) {
      const picked = await vscode.window.showQuickPick([teacherChoice, advisedChoice], {
        title: 'PeerKD: Export Reviewed Dataset',
        placeHolder: 'Rows without a human label get…',
      });
      if (!picked) {
        return;
      }
      if (picked.useAdvised) {
        const chosen = await askAdviceThreshold(run);
        if (!chosen) {
          return;
        }
        advice = chosen;
      }
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
    if (target.toString() === datasetUri.toString()) {
      void showErrorMessage('PeerKD: the export never overwrites the dataset itself; choose another file.');
      return;
    }
    if (target.scheme === 'file' && datasetUri.scheme === 'file') {
      // The same file under another name (a symbolic link, another letter case, a hard link) is still the dataset;
      // PeerKD's own folder and the runs folder hold what the runs and the review read.
      try {
        const outputDir = readSettings(datasetUri).training.outputDir;
        await assertExportTarget(datasetUri.fsPath, target.fsPath, resolveRunsDir(datasetUri.fsPath, outputDir || undefined));
      } catch (error) {
        void showErrorMessage(`PeerKD: no export: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
    const document = await datasetDocument(datasetUri);
    let exported: ReturnType<typeof exportReviewedText>;
    try {
      exported = exportReviewedText(document.getText(), {
        fields: readSettings(datasetUri).fields,
        predictionsByKey: run?.byKey ?? null,
        runId: run?.runId ?? null,
        advice,
      });
    } catch (error) {
      void showErrorMessage(`PeerKD: no export: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const { text, counts } = exported;
    if (target.scheme === 'file') {
      try {
        await writeFileAtomic(target.fsPath, text);
      } catch (error) {
        void showErrorMessage(`PeerKD: the reviewed copy was not written: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    } else {
      await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
    }
    const parts = [`${counts.human} human`, `${counts.teacher} teacher`];
    if (advice) {
      parts.push(`${counts.advised} advised with p ≥ ${advice.minProbability}`);
      if (counts.adviceBelowThreshold > 0) {
        parts.push(`${counts.adviceBelowThreshold} advice${counts.adviceBelowThreshold === 1 ? '' : 's'} below it not taken`);
      }
    }
    if (counts.none > 0) {
      parts.push(`${counts.none} without a label`);
    }
    const invalid = counts.invalidLines > 0 ? ` ${counts.invalidLines} invalid line${counts.invalidLines === 1 ? ' was' : 's were'} copied unchanged.` : '';
    const replaced =
      counts.replacedExisting > 0
        ? ` ${counts.replacedExisting} row${counts.replacedExisting === 1 ? '' : 's'} already had '${FINAL_LABEL_FIELD}' or '${PROVENANCE_FIELD}': replaced in the copy (the dataset keeps them).`
        : '';
    services.log.info(`Exported ${datasetUri.fsPath} to ${target.fsPath}: ${counts.rows} rows (${parts.join(', ')}).${invalid}${replaced}`);
    const openCopy = 'Open Copy';
    const answer = await showInformationMessage(
      `PeerKD: wrote ${counts.rows.toLocaleString('en-US')} rows to ${path.basename(target.fsPath)} with '${FINAL_LABEL_FIELD}' and '${PROVENANCE_FIELD}' (${parts.join(', ')}).${invalid}${replaced}`,
      openCopy,
    );
    if (answer === openCopy) {
      await vscode.window.showTextDocument(target);
    }
  });
}
