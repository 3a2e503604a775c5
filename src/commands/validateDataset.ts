import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage, showWarningMessage, withNotificationProgress } from '../editor/messages';
import { firstInvalidUtf8LineOfFile, lineTextsOfText, readLineTexts, streamDataset, streamDatasetText, type Problem } from '../dataset/index';
import { isJsonlDocument, runSource, type DatasetDiagnostics } from '../editor/datasetDiagnostics';
import { validateDatasetStream } from '../training/input';
import type { Services } from '../editor/services';
import { readSettings, warnDatasetSettingsOnce } from '../editor/settings';
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
 * else the active editor, else a file picker. An open document is validated as shown (unsaved edits included), its
 * text fed to the same streaming validator as a closed file's bytes, so neither blocks the extension host whatever
 * its size, and both show progress and can be cancelled.
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
  const settings = readSettings(uri);
  // The field and label settings the file is checked with, where they could not be used as written (each said once).
  warnDatasetSettingsOnce(services.log, settings, 'peerkd.fields.');
  const options = { labels: settings.labels };
  // One path for every file: its lines are streamed to the parser and the run's checks a chunk at a time, with the
  // event loop given back between chunks, under a progress notification that can cancel it. An open document is
  // validated as shown (unsaved edits included): its text in chunks (streamDatasetText); a closed file from disk.
  let text: string | undefined;
  if (open) text = open.getText();
  else if (uri.scheme !== 'file') text = new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(uri));
  const version = open?.version;
  return withNotificationProgress(
    { title: `Validating ${vscode.workspace.asRelativePath(uri)}`, cancellable: true },
    async (progress, token) => {
      let reported = 0;
      const batches = text === undefined ? streamDataset(uri.fsPath, settings.fields, options) : streamDatasetText(text, settings.fields, options);
      // Bytes that are not UTF-8 are a file's on disk (read only when a text shows U+FFFD): a closed file's, or an open
      // one's without unsaved edits, which shows those bytes (so both say the same of one file); not an edited text.
      const onDisk = uri.scheme === 'file' && (open === undefined || !open.isDirty);
      const found = await validateDatasetStream(batches, runSource(uri, settings), {
        ...(onDisk ? { invalidUtf8Line: () => firstInvalidUtf8LineOfFile(uri.fsPath) } : {}),
        // The run's findings mark their line's text (as an open document's own diagnostics do), open or closed: an open
        // document's lines while it is unchanged; a closed file's read again, only the lines the findings name.
        lineTexts: async (lines: readonly number[]) => {
          if (open) return new Map(lines.map((line) => [line, open.version === version && line <= open.lineCount ? open.lineAt(line - 1).text : '']));
          return text === undefined ? readLineTexts(uri.fsPath, lines) : lineTextsOfText(text, lines);
        },
        onBatch: (rows) => {
          if (rows - reported >= 50_000) {
            reported = rows;
            progress.report({ message: `${rows.toLocaleString()} rows` });
          }
          return !token.isCancellationRequested;
        },
      });
      if (found === undefined) return undefined;
      if (open && diagnostics.isTracked(uri)) diagnostics.publishValidated(open, version!, found.problems, found.teacherLabelRows);
      else diagnostics.publish(uri, found.problems, found.teacherLabelRows, settings.fields);
      return summarize(uri, found.rows, found.problems);
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
