import * as vscode from 'vscode';
import { showInformationMessage, showWarningMessage } from './messages';
import type { FieldFix } from '../dataset/index';
import { fieldFixesFor, USE_FIELD_COMMAND } from './fieldFixOffers';

export { USE_FIELD_COMMAND };

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
    // In a multi-root workspace (a .code-workspace file) the workspace's settings are not the folder's: a value in the
    // folder's .vscode/settings.json wins over them (the fix then changed nothing, yet said it had), and they change
    // every other folder's datasets too. The dataset's own folder is where the value belongs.
    const inFolder = folder !== undefined && vscode.workspace.workspaceFile !== undefined;
    const target = inFolder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Workspace;
    await vscode.workspace.getConfiguration('peerkd', uri).update(setting, fix.path, target);
    void showInformationMessage(`PeerKD: peerkd.${setting} is now '${fix.path}' in ${inFolder ? `the settings of folder ${folder.name}` : "this workspace's settings"}.`);
    return true;
  });
}
