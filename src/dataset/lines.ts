/**
 * Line splitting shared by every reader and writer of JSONL, on text and on bytes. Lines are counted as VS Code
 * counts them: LF, CRLF and a lone CR each end one line, so a line number in a CLI message, a diagnostic and an
 * edit all name the same line. A final terminator does not start another line.
 */

/**
 * Calls `visit(start, end, next)` for each line of `data` from `from` on: [start, end) is the line without its
 * terminator and `next` where the following line starts. Works on a string (UTF-16 offsets) or on bytes.
 * Returns the number of lines visited.
 */
export function forEachLine(
  data: string | Uint8Array,
  visit: (start: number, end: number, next: number) => void,
  from = 0,
): number {
  return scanLines(data, from, false, visit).lines;
}

/**
 * Like forEachLine, but stops before a last line that has no terminator yet, or whose terminator is a CR at the
 * very end (the LF of a CRLF may follow in the next chunk). Starts at `from` (the start of a line); returns where that
 * unfinished rest starts.
 */
export function forEachCompleteLine(
  data: string | Uint8Array,
  visit: (start: number, end: number, next: number) => void,
  from = 0,
): number {
  return scanLines(data, from, true, visit).rest;
}

function scanLines(
  data: string | Uint8Array,
  from: number,
  completeOnly: boolean,
  visit: (start: number, end: number, next: number) => void,
): { lines: number; rest: number } {
  const isText = typeof data === 'string';
  const find = isText
    ? (code: number, at: number) => data.indexOf(code === 0x0a ? '\n' : '\r', at)
    : (code: number, at: number) => (data as Uint8Array).indexOf(code, at);
  const codeAt = isText ? (at: number) => data.charCodeAt(at) : (at: number) => (data as Uint8Array)[at];
  const length = data.length;
  // The next LF and CR at or after `start`, searched again only once passed, so text without CRs costs one scan.
  let lf = find(0x0a, from);
  let cr = find(0x0d, from);
  let start = from;
  let lines = 0;
  while (start < length) {
    if (lf !== -1 && lf < start) lf = find(0x0a, start);
    if (cr !== -1 && cr < start) cr = find(0x0d, start);
    let end: number;
    let next: number;
    if (lf === -1 && cr === -1) {
      if (completeOnly) break;
      end = length;
      next = length;
    } else if (cr === -1 || (lf !== -1 && lf < cr)) {
      end = lf;
      next = lf + 1;
    } else {
      if (cr + 1 >= length && completeOnly) break;
      end = cr;
      next = codeAt(cr + 1) === 0x0a ? cr + 2 : cr + 1;
    }
    visit(start, end, next);
    lines++;
    start = next;
  }
  return { lines, rest: start };
}
