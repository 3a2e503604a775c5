import * as vscode from 'vscode';
import { missingTextFixes, sampleRows, type FieldFix, type ProblemCode } from '../dataset/index';
import { DIAGNOSTIC_SOURCE } from './datasetDiagnostics';
import { readSettings } from './settings';

/** Internal command of the quick fix: writes `peerkd.fields.<field>` in the workspace settings. */
export const USE_FIELD_COMMAND = 'peerkd.useField';

/**
 * Quick fixes of the one "Missing text" problem a file gets when no row has the text field: "Use 'sentence' as the
 * text field" for each field that looks like text (dataset/fieldGuess.ts finds them).
 */
export class MissingFieldCodeActions implements vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    // Only the folded problem (one per file) offers a mapping: a single row without text among others is that row's error.
    const code: ProblemCode = 'missing-text-field';
    const diagnostic = context.diagnostics.find((d) => d.source === DIAGNOSTIC_SOURCE && d.code === code);
    if (diagnostic === undefined) return [];
    const fixes = missingTextFixes(readSettings(document.uri).fields, sampleRows((index) => document.lineAt(index).text, document.lineCount));
    return fixes.map((fix, index) => {
      const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
      action.diagnostics = [diagnostic];
      action.isPreferred = index === 0;
      action.command = { command: USE_FIELD_COMMAND, title: fix.title, arguments: [document.uri, fix] };
      return action;
    });
  }
}

export function registerUseFieldCommand(): vscode.Disposable {
  return vscode.commands.registerCommand(USE_FIELD_COMMAND, async (uri: vscode.Uri, fix: FieldFix) => {
    const setting = `fields.${fix.field}`;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder === undefined && vscode.workspace.workspaceFolders === undefined) {
      // No workspace to hold the setting: say where to put it rather than writing the user's global settings.
      void vscode.window.showWarningMessage(
        `PeerKD: no folder is open, so there is no workspace setting to write. Open the dataset's folder, or set peerkd.${setting} to '${fix.path}' in your user settings.`,
      );
      return false;
    }
    await vscode.workspace.getConfiguration('peerkd', uri).update(setting, fix.path, vscode.ConfigurationTarget.Workspace);
    void vscode.window.showInformationMessage(`PeerKD: peerkd.${setting} is now '${fix.path}' in this workspace's settings.`);
    return true;
  });
}
