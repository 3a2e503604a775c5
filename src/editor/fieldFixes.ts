import * as vscode from 'vscode';
import { showInformationMessage, showWarningMessage } from './messages';
import { missingLabelFixes, missingTextFixes, sampleRows, type FieldFix, type ProblemCode } from '../dataset/index';
import { DIAGNOSTIC_SOURCE } from './datasetDiagnostics';
import { readSettings } from './settings';

/** Internal command of the quick fix: writes `peerkd.fields.<field>` in the workspace settings. */
export const USE_FIELD_COMMAND = 'peerkd.useField';

/**
 * Quick fixes of the one "Missing text" problem a file gets when no row has the text field ("Use 'sentence' as the
 * text field" for each field that looks like text) and of the one warning when no row has a label field but another
 * field looks like labels ("Use 'llm_label' as the teacher label field"). dataset/fieldGuess.ts finds the fields.
 */
export class MissingFieldCodeActions implements vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    return context.diagnostics.flatMap((diagnostic) => this.actions(document, diagnostic, fieldFixesFor(document, diagnostic)));
  }

  private actions(document: vscode.TextDocument, diagnostic: vscode.Diagnostic, fixes: FieldFix[]): vscode.CodeAction[] {
    return fixes.map((fix, index) => {
      const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
      action.diagnostics = [diagnostic];
      action.isPreferred = index === 0;
      action.command = { command: USE_FIELD_COMMAND, title: fix.title, arguments: [document.uri, fix] };
      return action;
    });
  }
}

/**
 * The field mappings a diagnostic of the dataset offers: only the folded problem (one per file) offers one, as a
 * single row without text among others is that row's error. None for any other diagnostic.
 */
export function fieldFixesFor(document: vscode.TextDocument, diagnostic: vscode.Diagnostic): FieldFix[] {
  const codes: ProblemCode[] = ['missing-text-field', 'missing-label-fields'];
  if (diagnostic.source !== DIAGNOSTIC_SOURCE || !codes.includes(diagnostic.code as ProblemCode)) return [];
  const fields = readSettings(document.uri).fields;
  const rows = sampleRows((index) => document.lineAt(index).text, document.lineCount);
  return diagnostic.code === 'missing-text-field' ? missingTextFixes(fields, rows) : missingLabelFixes(fields, rows);
}

/**
 * Before a run of an open dataset: each missing-field problem it has (no text field, no label field; the run would
 * stop on it) is shown with its fixes as buttons, so a new user whose fields are `sentence` and `llm_label` maps them
 * with a click instead of reading a failed run's error. False when the user closes it without a fix: no run.
 */
export async function offerFieldFixesBeforeRun(document: vscode.TextDocument, name: string): Promise<boolean> {
  for (const diagnostic of vscode.languages.getDiagnostics(document.uri)) {
    const fixes = fieldFixesFor(document, diagnostic);
    if (fixes.length === 0) continue;
    const buttons = fixes.map((fix) => `Use '${fix.path}'`);
    const choice = await showWarningMessage(`PeerKD: ${name} cannot be distilled yet: ${diagnostic.message}`, ...buttons);
    const fix = fixes[buttons.indexOf(choice ?? '')];
    if (fix === undefined) return false;
    if ((await vscode.commands.executeCommand(USE_FIELD_COMMAND, document.uri, fix)) !== true) return false;
  }
  return true;
}

export function registerUseFieldCommand(): vscode.Disposable {
  return vscode.commands.registerCommand(USE_FIELD_COMMAND, async (uri: vscode.Uri, fix: FieldFix) => {
    const setting = `fields.${fix.field}`;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder === undefined && vscode.workspace.workspaceFolders === undefined) {
      // No workspace to hold the setting: say where to put it rather than writing the user's global settings.
      void showWarningMessage(
        `PeerKD: no folder is open, so there is no workspace setting to write. Open the dataset's folder, or set peerkd.${setting} to '${fix.path}' in your user settings.`,
      );
      return false;
    }
    await vscode.workspace.getConfiguration('peerkd', uri).update(setting, fix.path, vscode.ConfigurationTarget.Workspace);
    void showInformationMessage(`PeerKD: peerkd.${setting} is now '${fix.path}' in this workspace's settings.`);
    return true;
  });
}
