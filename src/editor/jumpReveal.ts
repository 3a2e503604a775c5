import * as vscode from 'vscode';
import { jumpRevealSpan, type LineSpan } from '../review/locate';
import { codeOf, FLAGGED_ROW_CODE } from './runDiagnostics';
import { isDatasetUri } from './runState';

/**
 * Keeps a row's start in view after a jump to its flagged label (Problems panel, F8): VS Code scrolls the label's own
 * range into view, on a long row hundreds of columns right. Re-reveals from the row's start to the label's end
 * (src/review/locate.ts jumpRevealSpan); the selection stays on the label, so quick fixes and the hover still apply.
 */
export function registerJumpReveal(): vscode.Disposable {
  return vscode.window.onDidChangeTextEditorSelection((event) => {
    const editor = event.textEditor;
    if (event.selections.length !== 1 || !isDatasetUri(editor.document.uri)) {
      return;
    }
    const selection = event.selections[0];
    if (selection.start.line !== selection.end.line) {
      return;
    }
    const byUser = event.kind === vscode.TextEditorSelectionChangeKind.Keyboard || event.kind === vscode.TextEditorSelectionChangeKind.Mouse;
    const labels: LineSpan[] = vscode.languages
      .getDiagnostics(editor.document.uri)
      .filter((diagnostic) => diagnostic.range.start.line === selection.start.line && codeOf(diagnostic) === FLAGGED_ROW_CODE)
      .map((diagnostic) => ({ line: diagnostic.range.start.line, start: diagnostic.range.start.character, end: diagnostic.range.end.character }));
    const span = jumpRevealSpan(
      { line: selection.start.line, start: selection.start.character, end: selection.end.character },
      labels,
      byUser,
    );
    if (span) {
      editor.revealRange(new vscode.Range(span.line, span.start, span.line, span.end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  });
}
