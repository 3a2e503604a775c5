/**
 * Where a field's value sits in one JSONL line, so a diagnostic or a hover covers exactly the label's characters.
 * Uses the dataset core's position-keeping scanner; plain TypeScript.
 */
import { splitFieldPath } from '../dataset/fields';
import { locatePath, scanJson } from '../dataset/jsonScan';

/** 0-based [start, end) character offsets of the value of `dottedPath` in `lineText`, or undefined when absent/invalid. */
export function fieldValueRange(lineText: string, dottedPath: string): { start: number; end: number } | undefined {
  const offset = lineText.charCodeAt(0) === 0xfeff ? 1 : 0;
  try {
    const root = scanJson(offset === 0 ? lineText : lineText.slice(offset)).object;
    if (!root) {
      return undefined;
    }
    const location = locatePath(root, splitFieldPath(dottedPath));
    if (!location.found) {
      return undefined;
    }
    return { start: location.member.valueStart + offset, end: location.member.valueEnd + offset };
  } catch {
    return undefined;
  }
}

/** A span of one line, 0-based line and [start, end) characters. */
export interface LineSpan {
  line: number;
  start: number;
  end: number;
}

/**
 * After a jump that put the selection on a flagged label (Problems panel, F8, Go to Next Problem), the span to reveal
 * instead: from the row's first character to the label's end. The editor scrolls so that the label's own range is in
 * view, which on a long row moved it hundreds of columns right and left every other line blank (issue 10 §3.7);
 * revealing this span shows the row's start, and the label too when both fit (a span wider than the editor is
 * revealed from its start). Undefined for the user's own moves (keyboard, mouse) and selections off a flagged label.
 */
export function jumpRevealSpan(selection: LineSpan, flaggedLabels: readonly LineSpan[], byUser: boolean): LineSpan | undefined {
  if (byUser || selection.start === 0) {
    return undefined;
  }
  const label = flaggedLabels.find((span) => span.line === selection.line && selection.start >= span.start && selection.start <= span.end);
  return label ? { line: label.line, start: 0, end: Math.max(label.end, selection.end) } : undefined;
}
