import * as vscode from 'vscode';
import type { RunState } from '../editor/runState';
import { decideRow } from './acceptSuggestion';

export function registerKeepTeacherLabelCommand(runState: RunState): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.keepTeacherLabel', (uri: unknown, rowId: unknown) =>
    decideRow(runState, uri, rowId, { kind: 'keep' }),
  );
}
