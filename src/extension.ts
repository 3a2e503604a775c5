import * as vscode from 'vscode';
import type { Services } from './editor/services';
import { registerShowLogCommand } from './commands/showLog';
import { registerDatasetDiagnostics } from './editor/datasetDiagnostics';
import { registerValidateDatasetCommand } from './commands/validateDataset';

/**
 * Wiring only: every command and editor feature lives in its own module. Activation must stay cheap, so nothing
 * here loads TensorFlow.js or reads datasets eagerly; training runs in the child process dist/worker.js.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PeerKD', { log: true });
  const services: Services = { context, log };
  const datasetDiagnostics = registerDatasetDiagnostics(services);
  context.subscriptions.push(
    log,
    registerShowLogCommand(services),
    datasetDiagnostics,
    registerValidateDatasetCommand(services, datasetDiagnostics),
  );
  log.info(`PeerKD ${context.extension.packageJSON.version as string} activated`);
}

export function deactivate(): void {
  // Disposables registered on context.subscriptions are released by VS Code.
}
