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

/** The 1-based number of the first line that holds bytes that are not valid UTF-8, or null when all are valid. */
export function firstInvalidUtf8Line(data: Uint8Array): number | null {
  let line = 1;
  let i = 0;
  const length = data.length;
  while (i < length) {
    const byte = data[i];
    if (byte < 0x80) {
      if (byte === 0x0a) line++;
      else if (byte === 0x0d && data[i + 1] !== 0x0a) line++;
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (byte >= 0xc2 && byte <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return line;
    }
    let code = byte & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const next = data[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return line;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return line;
    i += need + 1;
  }
  return null;
}
