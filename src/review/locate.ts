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
