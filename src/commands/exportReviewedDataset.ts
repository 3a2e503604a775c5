import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage } from '../editor/messages';
import { fileError, writeFileAtomic } from '../dataset/files';
import { firstInvalidUtf8LineOfFile } from '../dataset/utf8';
import type { Services } from '../editor/services';
import type { RunState } from '../editor/runState';
import { datasetTarget, openedDataset, usableDataset } from './datasetTarget';
import { readSettings } from '../editor/settings';
import { DATASET_EXTENSIONS, DATASET_SUFFIXES } from '../dataset/types';
import { adviceAt, adviceAtText, adviceOutlook, type AdviceOutlook, assertExportTarget, describeExport, exportFieldsProblem, exportRunsDirs, exportReviewedBytes, exportReviewedText, type ExportCounts, FINAL_LABEL_FIELD, parseAdviceThreshold, PROVENANCE_FIELD, reviewedFileName, type AdviceChoice } from '../review/export';
import type { LoadedRun } from '../editor/runState';

/**
 * The least probability of the advised label, asked each time (never a default: issue 10 §3.12); while typing, the
 * box says how many rows would take advice, counted as the export counts them (review/export.ts adviceOutlook: rows of
 * the document as it is, those changed since the run left out and said). Undefined when the user cancels.
 */
async function askAdviceThreshold(run: LoadedRun, outlook: AdviceOutlook): Promise<AdviceChoice | undefined> {
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
      return {
        message: adviceAtText(adviceAt(outlook, parsed), run.runId),
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
    const datasetUri = usableDataset(datasetTarget(argument), `PeerKD: open a ${DATASET_SUFFIXES} dataset (or select one in the Explorer) to export it.`, 'no export', {
      untitled: true,
      needsDatasetName: true,
    });
    if (!datasetUri) return;
    // A mapping the copy would write over: said before the user chooses labels, a threshold and a file.
    const fieldsProblem = exportFieldsProblem(readSettings(datasetUri).fields);
    if (fieldsProblem) {
      void showErrorMessage(`PeerKD: no export: ${fieldsProblem}`);
      return;
    }
    // Before any question: a file the editor cannot open (over its size limit for extensions) is said at once.
    const document = await openedDataset(datasetUri, 'no export');
    if (!document) return;
    const run = await runState.currentRun(datasetUri);
    // A latest run that cannot be read (runState.ts says it once): the copy says it is made without that run.
    const runProblem = runState.runProblem(datasetUri);
    const runNote = runProblem
      ? run
        ? ` The latest run could not be read (${runProblem.message}): the copy is made with run ${run.runId}, loaded before.`
        : ` The copy is made without the latest run, which could not be read: ${runProblem.message}. Rows without a human label keep their teacher label.`
      : '';
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
        // The rows the prompt counts are the document's as the copy will read them (a text without a row is refused here).
        let outlook: AdviceOutlook;
        try {
          outlook = adviceOutlook(document.getText(), { fields: readSettings(datasetUri).fields, predictionsByKey: run.byKey, runId: run.runId, runDigests: run }, path.posix.basename(datasetUri.path));
        } catch (error) {
          void showErrorMessage(`PeerKD: no export: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        const chosen = await askAdviceThreshold(run, outlook);
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
      filters: { 'JSON Lines': [...DATASET_EXTENSIONS] },
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
        // Every runs folder of the dataset (the one named now, those it used before: runs-folders), and the one of the
        // run exported (the setting may have changed since: runState.ts).
        const runsDirs = await exportRunsDirs(datasetUri.fsPath, { outputDir: outputDir || undefined, also: run ? [path.dirname(run.runDir)] : [] });
        for (const runsDir of runsDirs) await assertExportTarget(datasetUri.fsPath, target.fsPath, runsDir);
      } catch (error) {
        void showErrorMessage(`PeerKD: no export: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
    const exportOptions = {
      fields: readSettings(datasetUri).fields,
      predictionsByKey: run?.byKey ?? null,
      runId: run?.runId ?? null,
      advice,
      // Rows that share an id are matched to the run's only while the texts are the run's (the same core as peerkd export).
      runDigests: run ?? null,
    };
    const documentText = document.getText();
    // Bytes that are not valid UTF-8 show as U+FFFD in the editor: a saved document is exported from the file's
    // bytes, which keeps them; with unsaved edits the editor's text is all there is, and the message says so.
    const invalidLine = datasetUri.scheme === 'file' && documentText.includes('\ufffd') ? await firstInvalidUtf8LineOfFile(datasetUri.fsPath).catch(() => null) : null;
    let data: Uint8Array;
    let counts: ExportCounts;
    if (invalidLine !== null && !document.isDirty) {
      try {
        ({ data, counts } = exportReviewedBytes(await fsp.readFile(datasetUri.fsPath), exportOptions, path.posix.basename(datasetUri.path)));
      } catch (error) {
        void showErrorMessage(`PeerKD: no export: ${fileError(datasetUri.fsPath, error).message}`);
        return;
      }
    } else {
      try {
        const exported = exportReviewedText(documentText, exportOptions, path.posix.basename(datasetUri.path));
        data = Buffer.from(exported.text, 'utf8');
        counts = exported.counts;
      } catch (error) {
        // A field mapping the copy would write over (final_label, label_provenance), a threshold that is no choice, or a
        // text without a single row (empty, one pretty-printed document).
        void showErrorMessage(`PeerKD: no export: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
    if (target.scheme === 'file') {
      try {
        await writeFileAtomic(target.fsPath, data);
      } catch (error) {
        void showErrorMessage(`PeerKD: the reviewed copy was not written: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    } else {
      await vscode.workspace.fs.writeFile(target, data);
    }
    const { details, notes } = describeExport(counts, exportOptions, path.posix.basename(datasetUri.path));
    const notUtf8 =
      invalidLine !== null && document.isDirty
        ? ` Line ${invalidLine} (and maybe others) holds bytes that are not valid UTF-8: with unsaved edits the copy is made from the editor's text, which has U+FFFD in their place.`
        : '';
    services.log.info(`Exported ${datasetUri.fsPath} to ${target.fsPath}: ${counts.rows} rows (${details}).${notes}${notUtf8}${runNote}`);
    const openCopy = 'Open Copy';
    const answer = await showInformationMessage(
      `PeerKD: wrote ${counts.rows.toLocaleString('en-US')} rows to ${path.basename(target.fsPath)} with '${FINAL_LABEL_FIELD}' and '${PROVENANCE_FIELD}' (${details}).${notes}${notUtf8}${runNote}`,
      openCopy,
    );
    if (answer === openCopy) {
      await vscode.window.showTextDocument(target);
    }
  });
}
