import * as vscode from 'vscode';
import type { Services } from '../editor/services';

export function registerShowLogCommand(services: Services): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.showLog', () => services.log.show(true));
}
