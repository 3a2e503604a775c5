import * as vscode from 'vscode';
import { showWarningMessage } from './messages';
import { MANAGE_WORKSPACE_TRUST, MANAGE_WORKSPACE_TRUST_COMMAND } from './contextKeys';

/**
 * In Restricted Mode a command that needs trust says why and offers "Manage Workspace Trust" (it stays in the
 * palette and the editor title, so it does not vanish without a word). True when the workspace is trusted.
 */
export function requireTrust(reason: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void showWarningMessage(`PeerKD: ${reason}`, MANAGE_WORKSPACE_TRUST).then((answer) => {
    if (answer === MANAGE_WORKSPACE_TRUST) void vscode.commands.executeCommand(MANAGE_WORKSPACE_TRUST_COMMAND);
  });
  return false;
}
