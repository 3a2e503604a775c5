import type * as vscode from 'vscode';

/** What every command and editor feature receives from extension.ts; keeps activation to pure wiring. */
export interface Services {
  context: vscode.ExtensionContext;
  /** The "PeerKD" log output channel: every run, request and failure is recorded here. */
  log: vscode.LogOutputChannel;
}
