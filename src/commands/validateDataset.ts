import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage, showWarningMessage, withNotificationProgress } from '../editor/messages';
import { FIELD_GUESS_SAMPLE_ROWS, firstInvalidUtf8LineOfFile, foldMissingFieldProblems, parseDatasetText, streamDataset, type DatasetRow, type Problem } from '../dataset/index';
import { isJsonlDocument, runSource, type DatasetDiagnostics } from '../editor/datasetDiagnostics';
import { inputProblems } from '../training/input';
import type { Services } from '../editor/services';
import { ignoredSettings, readSettings, warnIgnoredSettingsOnce } from '../editor/settings';
import { datasetTarget } from './datasetTarget';
import { DATASET_EXTENSIONS } from '../dataset/types';

/** What "PeerKD: Validate Dataset" found; returned by the command so tests and other commands can use it. */
export interface ValidationSummary {
  uri: string;
  /** Rows: lines that parsed to objects. */
  rows: number;
  errors: number;
  warnings: number;
}

/**
 * "PeerKD: Validate Dataset": validates a JSONL file whether or not it is open. Target: the explorer's selection,
 * else the active editor, else a file picker. An open document is validated as shown (unsaved edits included);
 * a closed file is streamed from disk, so its size does not matter.
 */
export function registerValidateDatasetCommand(services: Services, diagnostics: DatasetDiagnostics): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.validateDataset', async (target?: unknown) => {
    const uri = await chooseTarget(target);
    if (uri === undefined) return undefined;
    const name = vscode.workspace.asRelativePath(uri);
    try {
      const summary = await validate(uri, diagnostics, services);
      if (summary === undefined) {
        services.log.info(`Validation of ${name} cancelled`);
        return undefined;
      }
      services.log.info(`Validated ${name}: ${summary.rows} rows, ${summary.errors} errors, ${summary.warnings} warnings`);
      void showSummary(name, summary);
      return summary;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      services.log.error(`Could not validate ${name}: ${reason}`);
      void showErrorMessage(`PeerKD could not validate ${name}: ${reason}`);
      return undefined;
    }
  });
}

async function chooseTarget(target: unknown): Promise<vscode.Uri | undefined> {
  const chosen = datasetTarget(target instanceof vscode.Uri ? target : undefined, isJsonlDocument);
  if (chosen) return chosen;
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Validate',
    title: 'PeerKD: Validate Dataset',
    filters: { 'JSON Lines': [...DATASET_EXTENSIONS], 'All files': ['*'] },
  });
  return picked?.[0];
}

async function validate(uri: vscode.Uri, diagnostics: DatasetDiagnostics, services: Services): Promise<ValidationSummary | undefined> {
  const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri.toString());
  if (open && diagnostics.isTracked(uri)) {
    const result = diagnostics.validateNow(open);
    if (result) return summarize(uri, result.rows, result.problems);
  }
  const settings = readSettings(uri);
  // A file that is not open: the field and label settings it is checked with, where they could not be used as written.
  const ignored = ignoredSettings(settings, 'peerkd.fields.');
  warnIgnoredSettingsOnce(services.log, settings.labelsProblem ? [...ignored, settings.labelsProblem] : ignored);
  const options = { labels: settings.labels };
  if (uri.scheme !== 'file') {
    const text = new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(uri));
    const parsed = parseDatasetText(text, settings.fields, options);
    const problems = [...parsed.problems, ...inputProblems(parsed, runSource(uri, settings))];
    diagnostics.publish(uri, problems);
    return summarize(uri, parsed.rows.length, problems);
  }
  return withNotificationProgress(
    { title: `Validating ${vscode.workspace.asRelativePath(uri)}`, cancellable: true },
    async (progress, token) => {
      let problems: Problem[] = [];
      const sample: Record<string, unknown>[] = [];
      // Kept for the run's checks of the file as a whole (a run holds them too).
      const rowList: DatasetRow[] = [];
      let lineCount = 0;
      let blankLines = 0;
      let rows = 0;
      let labelFieldRows = 0;
      let teacherFieldRows = 0;
      let firstRowLine = 0;
      let reported = 0;
      for await (const batch of streamDataset(uri.fsPath, settings.fields, options)) {
        if (token.isCancellationRequested) return undefined;
        for (const result of batch) {
          lineCount = result.line;
          if (result.blank) blankLines++;
          if (result.row) {
            rowList.push(result.row);
            rows++;
            if (firstRowLine === 0) firstRowLine = result.line;
            if (result.labelField) labelFieldRows++;
            if (result.teacherField) teacherFieldRows++;
            if (sample.length < FIELD_GUESS_SAMPLE_ROWS) sample.push(result.row.value);
          }
          for (const problem of result.problems) problems.push(problem);
        }
        if (rows - reported >= 50_000) {
          reported = rows;
          progress.report({ message: `${rows.toLocaleString()} rows` });
        }
      }
      // A field missing on every row is one problem naming the setting, not one per row (as for an open file).
      problems = foldMissingFieldProblems(problems, { rows, labelFieldRows, teacherFieldRows, firstRowLine }, settings.fields, () => sample);
      // What a run would stop on or warn about, as `peerkd distill` reads the file (bytes that are not UTF-8 included).
      const utf8Line = rowList.some((row) => row.text?.includes('\ufffd')) ? await firstInvalidUtf8LineOfFile(uri.fsPath).catch(() => null) : null;
      const parsed = { rows: rowList, problems, lineCount, skippedBlankLines: blankLines };
      problems = [...problems, ...inputProblems(parsed, runSource(uri, settings), undefined, utf8Line)];
      diagnostics.publish(uri, problems);
      return summarize(uri, rows, problems);
    },
  );
}

function summarize(uri: vscode.Uri, rows: number, problems: readonly Problem[]): ValidationSummary {
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  return { uri: uri.toString(), rows, errors, warnings: problems.length - errors };
}

function plural(count: number, word: string): string {
  return `${count.toLocaleString()} ${word}${count === 1 ? '' : 's'}`;
}

async function showSummary(name: string, summary: ValidationSummary): Promise<void> {
  const text = `${name}: ${plural(summary.rows, 'row')}, ${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}.`;
  if (summary.errors + summary.warnings === 0) {
    await showInformationMessage(`PeerKD: ${text} No problems found.`);
    return;
  }
  const show = summary.errors > 0 ? showErrorMessage : showWarningMessage;
  const choice = await show(`PeerKD: ${text}`, 'Open Problems');
  if (choice === 'Open Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
}
