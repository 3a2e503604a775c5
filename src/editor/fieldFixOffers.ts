import * as vscode from 'vscode';
import { missingLabelFixes, missingTextFixes, sampleRows, type FieldFix, type ProblemCode } from '../dataset/index';
import { DIAGNOSTIC_SOURCE } from './datasetDiagnostics';
import { showWarningMessage } from './messages';
import { readSettings } from './settings';

/** Internal command of the quick fix: writes `peerkd.fields.<field>` in the workspace settings. */
export const USE_FIELD_COMMAND = 'peerkd.useField';

/**
 * The field mappings a diagnostic of the dataset offers: only the folded problem (one per file) offers one, as a
 * single row without text among others is that row's error. None for any other diagnostic.
 */
export function fieldFixesFor(document: vscode.TextDocument, diagnostic: vscode.Diagnostic): FieldFix[] {
  const codes: ProblemCode[] = ['missing-text-field', 'missing-label-fields', 'missing-teacher-field'];
  if (diagnostic.source !== DIAGNOSTIC_SOURCE || !codes.includes(diagnostic.code as ProblemCode)) return [];
  const fields = readSettings(document.uri).fields;
  const rows = sampleRows((index) => document.lineAt(index).text, document.lineCount);
  return diagnostic.code === 'missing-text-field' ? missingTextFixes(fields, rows) : missingLabelFixes(fields, rows);
}

/** The button that runs a dataset with human labels but no teacher field as it is (the run does not stop on that). */
export const RUN_ANYWAY = 'Run Anyway';

/**
 * Before a run of an open dataset: each missing-field problem it has (no text field, no label field; the run would
 * stop on it) is shown with its fixes as buttons, so a new user whose fields are `sentence` and `llm_label` maps them
 * with a click instead of reading a failed run's error. False when the user closes it without a fix: no run. Human
 * labels without a teacher field do not stop a run (it trains on them and flags nothing): that offer also has
 * RUN_ANYWAY, as the CLI goes on with a warning.
 */
export async function offerFieldFixesBeforeRun(document: vscode.TextDocument, name: string): Promise<boolean> {
  for (const diagnostic of vscode.languages.getDiagnostics(document.uri)) {
    const fixes = fieldFixesFor(document, diagnostic);
    if (fixes.length === 0) continue;
    const buttons = fixes.map((fix) => `Use '${fix.path}'`);
    const runs = diagnostic.code === 'missing-teacher-field';
    const choice = runs
      ? await showWarningMessage(`PeerKD: ${name} has no teacher labels: ${diagnostic.message}`, ...buttons, RUN_ANYWAY)
      : await showWarningMessage(`PeerKD: ${name} cannot be distilled yet: ${diagnostic.message}`, ...buttons);
    if (runs && choice === RUN_ANYWAY) continue;
    const fix = fixes[buttons.indexOf(choice ?? '')];
    if (fix === undefined) return false;
    if ((await vscode.commands.executeCommand(USE_FIELD_COMMAND, document.uri, fix)) !== true) return false;
  }
  return true;
}
