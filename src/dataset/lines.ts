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

/**
 * The longest line that any reader of a dataset reads, in bytes of UTF-8 (without its terminator, and on line 1
 * without a byte order mark): the one rule of `peerkd distill`, `predict`, `label`, `export`, Validate Dataset and a run
 * from the editor, so a line one of them refuses is refused by all. A longer one could not become a string (V8 caps a
 * string at 0x1fffffe8 characters, "Cannot create a string longer than…", naming no file or line), so it is refused,
 * by its file and line, as too long to read (LineTooLongError). A file is measured in its own bytes; a text in memory
 * (an open document) in the bytes of its UTF-8, the same bytes for a file that is valid UTF-8.
 */
export const MAX_LINE_BYTES = 500 * 1024 * 1024;

/**
 * The byte order mark at `start` of line 1, which MAX_LINE_BYTES does not count: its length there (1 UTF-16 unit in a
 * text, EF BB BF in bytes), else 0.
 */
export function bomLength(data: string | Uint8Array, start: number): number {
  if (typeof data === 'string') return data.charCodeAt(start) === 0xfeff ? 1 : 0;
  return data[start] === 0xef && data[start + 1] === 0xbb && data[start + 2] === 0xbf ? 3 : 0;
}

/**
 * Whether the line [start, end) of `data` (without terminator or BOM) is longer than `maxBytes` bytes of UTF-8
 * (MAX_LINE_BYTES): bytes are counted; a text is decided from its length where that settles it (a UTF-16 unit is 1 to
 * 3 bytes), and measured only for a line within 3× of the limit.
 */
export function lineTooLong(data: string | Uint8Array, start: number, end: number, maxBytes = MAX_LINE_BYTES): boolean {
  const units = end - start;
  if (typeof data !== 'string' || units > maxBytes) return units > maxBytes;
  if (units * 3 <= maxBytes) return false;
  return Buffer.byteLength(data.slice(start, end), 'utf8') > maxBytes;
}

/** A line longer than MAX_LINE_BYTES (or a reader's lower limit); `inFile` gives the message that names the file. */
export class LineTooLongError extends Error {
  constructor(
    readonly line: number,
    readonly limit: number,
  ) {
    super(`line ${line}: longer than ${limit.toLocaleString('en-US')} bytes, too long to read`);
    this.name = 'LineTooLongError';
  }

  /** The error as "FILE:LINE: longer than … bytes, too long to read". */
  inFile(file: string): Error {
    return new Error(`${file}:${this.line}: longer than ${this.limit.toLocaleString('en-US')} bytes, too long to read`);
  }
}

/** One line of a file's bytes, without and with what ends it (LF, CRLF, a lone CR, or nothing at the end). */
export interface LineBytes {
  line: Buffer;
  terminator: Buffer;
}

/**
 * The lines of a stream of byte chunks, one array per chunk that completes any, split exactly as forEachLine splits the
 * whole (LF, CRLF, lone CR; a CR that ends a chunk waits for the next, which may hold its LF): the lines and their
 * terminators put back together are the bytes read, whatever the chunk sizes. Only the line that straddles chunks is
 * copied (its pieces are joined once, when its end arrives: no quadratic join for a long line). Bytes are never
 * decoded here, so a character split between chunks, or bytes that are not UTF-8, reach the caller as they were.
 */
export async function* splitLineBytes(chunks: AsyncIterable<Uint8Array>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<LineBytes[]> {
  /** The pieces of a line that continues in the next chunk (or ends in a CR whose LF may follow), and their length. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Lines handed out so far: the number of a line refused as too long. */
  let lines = 0;
  const push = (batch: LineBytes[], data: Buffer) => (start: number, end: number, next: number) => {
    lines++;
    // Line 1's byte order mark is not counted (MAX_LINE_BYTES).
    if (lineTooLong(data, start + (lines === 1 ? bomLength(data, start) : 0), end, maxLineBytes)) throw new LineTooLongError(lines, maxLineBytes);
    batch.push({ line: data.subarray(start, end), terminator: data.subarray(end, next) });
  };
  const keep = (piece: Buffer) => {
    pending.push(piece);
    pendingBytes += piece.length;
    // An early refusal only: a CR kept at the end may yet be a terminator and line 1 may start with a byte order mark,
    // so four bytes more than the limit are kept; the line is measured exactly once it ends (push).
    if (pendingBytes > maxLineBytes + 4) throw new LineTooLongError(lines + 1, maxLineBytes);
  };
  for await (const read of chunks) {
    const chunk = Buffer.from(read.buffer, read.byteOffset, read.byteLength);
    if (chunk.length === 0) continue;
    const batch: LineBytes[] = [];
    let from = 0;
    if (pending.length > 0) {
      const lf = chunk.indexOf(0x0a);
      const cr = chunk.indexOf(0x0d);
      const cut = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (cut === -1 || (cut === cr && cut === chunk.length - 1)) {
        keep(chunk);
        continue;
      }
      from = cut === cr && chunk[cut + 1] === 0x0a ? cut + 2 : cut + 1;
      const head = Buffer.concat([...pending, chunk.subarray(0, from)]);
      pending = [];
      pendingBytes = 0;
      forEachLine(head, push(batch, head));
    }
    const rest = forEachCompleteLine(chunk, push(batch, chunk), from);
    if (rest < chunk.length) keep(chunk.subarray(rest));
    if (batch.length > 0) yield batch;
  }
  if (pending.length > 0) {
    const batch: LineBytes[] = [];
    const rest = Buffer.concat(pending);
    forEachLine(rest, push(batch, rest));
    yield batch;
  }
}
