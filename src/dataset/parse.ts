import { createReadStream } from 'node:fs';
import { compileFields, getFieldAt, idFieldValue, identityOf, isPlainObject, TEXT_IDENTITY_PREFIX, VALUE_IDENTITY_PREFIX, type CompiledFields } from './fields';
import { findJsonSyntaxError, locatePath, printable, scanJson, tooDeepOffset, TOO_DEEP_MESSAGE } from './jsonScan';
import { IdIndex } from './idIndex';
import { forEachCompleteLine, forEachLine, LineTooLongError, MAX_LINE_BYTES, lineTooLong } from './lines';
import { labelLengthProblem, lookAlikeLabel } from './labels';
import { absentTextMessage, FIELD_GUESS_SAMPLE_ROWS, foldMissingFieldProblems } from './fieldGuess';
import type { DatasetRow, FieldMapping, ParsedDataset, Problem, ValidationOptions } from './types';

/** The outcome of one line: a row (possibly with problems), a problem instead of a row, or a blank line. */
export interface LineResult {
  /** 1-based line number. */
  line: number;
  /** Empty or whitespace-only: neither a row nor a problem. */
  blank: boolean;
  row: DatasetRow | null;
  /** This line's own problems; duplicate ids need the other lines and are added by DatasetParser.next. */
  readonly problems: readonly Problem[];
  /**
   * A row that has the teacher label field at all (any value, null included), or a human label (a `human_label: null`
   * placeholder on every row is no human label: the file has none).
   */
  labelField?: boolean;
  /** A row that has the teacher label field at all (any value, null included). */
  teacherField?: boolean;
  /**
   * A row whose teacher label field holds a value other than null or a blank string (a label, or something that is
   * no label: a number, an object): the rows a teacher-label problem can be on (foldRepeatedLabelProblems).
   */
  teacherValue?: boolean;
}

/** Shared by every line without problems: most lines, so one allocation fewer per row. */
const NO_PROBLEMS: readonly Problem[] = Object.freeze([]);

const MAX_LABELS_IN_MESSAGE = 12;

/**
 * Parses and validates JSONL lines one at a time, so a whole file, a stream and an editor's changed lines all go
 * through the same rules. `parseLine` is stateless; `next` also reports a repeated row identity.
 */
export class DatasetParser {
  readonly fields: CompiledFields;
  private readonly labelSet: ReadonlySet<string> | null;
  private readonly labels: readonly string[];
  private readonly labelList: string;
  private readonly firstLineOfId = new IdIndex();

  constructor(fields: FieldMapping, options: ValidationOptions = {}) {
    this.fields = compileFields(fields);
    const labels = (options.labels ?? []).filter((label) => label.length > 0);
    this.labelSet = labels.length > 0 ? new Set(labels) : null;
    this.labels = labels;
    this.labelList =
      labels.slice(0, MAX_LABELS_IN_MESSAGE).join(', ') + (labels.length > MAX_LABELS_IN_MESSAGE ? ', …' : '');
  }

  /** One line (without its line terminator; a trailing CR is tolerated), validated on its own. */
  parseLine(lineText: string, line: number): LineResult {
    // Checked before anything walks the value: a deeper line would exhaust the stack (JSON.stringify, the scanner).
    const deep = tooDeepOffset(lineText);
    if (deep !== -1) {
      return {
        line,
        blank: false,
        row: null,
        problems: [problem('invalid-json', 'error', line, { start: deep, end: deep + 1 }, `${TOO_DEEP_MESSAGE}: the line is left out`)],
      };
    }
    let value: unknown;
    try {
      value = JSON.parse(lineText);
    } catch (error) {
      if (lineText.trim().length === 0) return { line, blank: true, row: null, problems: NO_PROBLEMS };
      return { line, blank: false, row: null, problems: [invalidJsonProblem(lineText, line, error)] };
    }
    if (!isPlainObject(value)) {
      const range = trimmedRange(lineText);
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
      return {
        line,
        blank: false,
        row: null,
        problems: [
          problem('not-an-object', 'error', line, range, `Line is ${what}, not a JSON object: each line must be one row object`),
        ],
      };
    }
    const fields = this.fields;
    const text = getFieldAt(value, fields.text);
    const teacherValue = getFieldAt(value, fields.teacher);
    const humanValue = getFieldAt(value, fields.human);
    const confidence = getFieldAt(value, fields.teacherConfidence);
    const row: DatasetRow = {
      line,
      id: identityOf(value, fields.id, fields.text, lineText),
      value,
      text: typeof text === 'string' ? text : null,
      teacher: labelValue(teacherValue),
      human: labelValue(humanValue),
      teacherConfidence: isProbability(confidence) ? confidence : null,
    };
    // The common case (a valid row) must cost nothing beyond JSON.parse and the field reads above.
    let problems: Problem[] | null = null;
    if (typeof text !== 'string') {
      const name = fields.mapping.text;
      problems = [
        text === undefined
          ? problem('missing-text', 'error', line, trimmedRange(lineText), absentTextMessage(name), name)
          : problem(
              'missing-text',
              'error',
              line,
              valueRange(lineText, fields.text),
              `Text (field ${name}) is ${describeValue(text)}, not a string`,
              name,
            ),
      ];
    } else if (text.trim().length === 0) {
      const name = fields.mapping.text;
      problems = [
        problem(
          'empty-text',
          'error',
          line,
          valueRange(lineText, fields.text),
          `Text (field ${name}) is ${text.length === 0 ? 'empty' : `blank: ${JSON.stringify(text)}`}`,
          name,
        ),
      ];
    }
    const teacherProblem = this.labelProblem('Teacher label', teacherValue, fields.teacher, fields.mapping.teacher, lineText, line);
    if (teacherProblem) (problems ??= []).push(teacherProblem);
    const humanProblem = this.labelProblem('Human label', humanValue, fields.human, fields.mapping.human, lineText, line);
    if (humanProblem) (problems ??= []).push(humanProblem);
    // An id the row cannot be known by (an object, a list, true): said, as the row is then known by its text and its
    // predictions carry a hash of that text. Looked at only where the identity did not come from the id.
    if (row.id.startsWith(TEXT_IDENTITY_PREFIX) || row.id.startsWith(VALUE_IDENTITY_PREFIX)) {
      const idValue = getFieldAt(value, fields.id);
      if ((typeof idValue === 'object' && idValue !== null) || typeof idValue === 'boolean') {
        const name = fields.mapping.id;
        (problems ??= []).push(
          problem('invalid-id', 'warning', line, valueRange(lineText, fields.id), `The id (field ${name}) is ${describeValue(idValue)}, not a string or number, so it is ignored: the row is known by its text`, name),
        );
      }
    }
    if (confidence !== undefined && confidence !== null && !isProbability(confidence)) {
      const name = fields.mapping.teacherConfidence;
      (problems ??= []).push(
        problem(
          'invalid-confidence',
          'warning',
          line,
          valueRange(lineText, fields.teacherConfidence),
          `Teacher confidence ${describeValue(confidence)} (field ${name}) is not a probability between 0 and 1, so it is ignored`,
          name,
        ),
      );
    }
    return { line, blank: false, row, problems: problems ?? NO_PROBLEMS, labelField: teacherValue !== undefined || row.human !== null, teacherField: teacherValue !== undefined, teacherValue: hasTeacherValue(teacherValue) };
  }

  /** Like parseLine, and also warns when the row's identity was already used on an earlier line. */
  next(lineText: string, line: number): LineResult {
    const result = this.parseLine(lineText, line);
    if (result.row) {
      const firstLine = this.firstLineOfId.firstLine(result.row.id, line);
      if (firstLine !== undefined) return { ...result, problems: [...result.problems, duplicateIdProblem(lineText, result.row, firstLine, this.fields)] };
    }
    return result;
  }

  private labelProblem(
    what: string,
    value: unknown,
    path: readonly string[],
    name: string,
    lineText: string,
    line: number,
  ): Problem | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      return problem(
        'label-not-string',
        'warning',
        line,
        valueRange(lineText, path),
        `${what} ${describeValue(value)} (field ${name}) is not a string, so it is ignored`,
        name,
      );
    }
    const tooLong = labelLengthProblem(value);
    if (tooLong) {
      return problem('label-too-long', 'error', line, valueRange(lineText, path), `${what} (field ${name}): ${tooLong}`, name);
    }
    if (this.labelSet === null || value.trim().length === 0 || this.labelSet.has(value)) return null;
    return problem(
      'unknown-label',
      'warning',
      line,
      valueRange(lineText, path),
      `${what} ${quote(value)} (field ${name}) is not in the label set: ${this.labelList}${hintAfter(lookAlikeHint(this.labels, value))}`,
      name,
    );
  }
}

/** A teacher field's value that is not a placeholder: neither absent, null nor a blank string. */
function hasTeacherValue(value: unknown): boolean {
  return value !== undefined && value !== null && (typeof value !== 'string' || value.trim().length > 0);
}

/** A label field's value: a non-blank string, else null (absent, null, blank or not a string). */
function labelValue(value: unknown): string | null {
  return typeof value === 'string' && value.trim().length > 0 ? value : null;
}

/**
 * The warning for a row whose identity an earlier line already has. With an id field it names the id; without
 * one the identity is the text's hash, so the two rows have the same text.
 */
export function duplicateIdProblem(lineText: string, row: DatasetRow, firstLine: number, fields: CompiledFields): Problem {
  const idName = fields.mapping.id;
  // The row's identity is its id where it has one (an id beyond 2^53 as written, not as JSON.parse rounds it).
  const written = getFieldAt(row.value, fields.id);
  const id = idFieldValue(written) === null ? null : row.id;
  if (id !== null) {
    // 7 and "7" are one id (idFieldValue): say so where the id could be written either way, or the user sees two ids.
    const numeric = typeof written === 'number' || (Number.isFinite(Number(id)) && String(Number(id)) === id) || /^-?[1-9][0-9]{15,}$/.test(id);
    return problem(
      'duplicate-id',
      'warning',
      row.line,
      valueRange(lineText, fields.id),
      `Duplicate id ${quote(id)} (field ${idName}): line ${firstLine} has the same id` +
        (numeric ? ` (a number and its text count as one id: ${id} and ${JSON.stringify(id)})` : ''),
      idName,
    );
  }
  return problem(
    'duplicate-id',
    'warning',
    row.line,
    valueRange(lineText, fields.text),
    `Duplicate row: no id (field ${idName}) and the same text (field ${fields.mapping.text}) as line ${firstLine}, so results cannot tell them apart`,
    // About the text (its range): a run's summary tells these rows from rows that repeat an id by it (training/input.ts).
    fields.mapping.text,
  );
}

function invalidJsonProblem(lineText: string, line: number, parseError: unknown): Problem {
  const found = findJsonSyntaxError(lineText);
  if (found === null) {
    // The scanner and JSON.parse disagree (should not happen): still report the line, at its start.
    const reason = parseError instanceof Error ? parseError.message : String(parseError);
    return problem('invalid-json', 'error', line, trimmedRange(lineText), `Invalid JSON: ${printable(reason)}`);
  }
  let start = found.offset;
  if (start >= lineText.length) start = Math.max(0, lineText.length - 1);
  const end = Math.min(lineText.length, start + 1);
  const hint = line === 1 ? notJsonLinesHint(lineText) : undefined;
  return problem(
    'invalid-json',
    'error',
    line,
    { start, end: Math.max(end, start) },
    // At the end of the line the range marks the last character, so the message names no column.
    (found.offset >= lineText.length ? `Invalid JSON: ${found.message}` : `Invalid JSON at column ${found.offset + 1}: ${found.message}`) +
      (hint ? ` — ${hint}` : ''),
  );
}

/**
 * What a first line that is no JSON says about the whole file, where it tells: another encoding, a compressed file,
 * or one JSON document spread over lines. Each would otherwise be an error on every line about a strange character.
 */
export function notJsonLinesHint(lineText: string): string | undefined {
  if (lineText.startsWith('\u001f\uFFFD')) return 'the file is gzip-compressed; decompress it first (gunzip)';
  if (lineText.startsWith('PK\u0003\u0004')) return 'the file is a ZIP archive (.zip, .xlsx, .docx), not text; a dataset has one JSON object per line';
  // UTF-16 (or UTF-32) read as UTF-8: a NUL beside each ASCII character, after a byte order mark that is no UTF-8.
  if (lineText.slice(0, 4).includes('\u0000')) {
    return 'the file looks UTF-16 encoded (as PowerShell\'s > and Out-File write); save it as UTF-8';
  }
  const opened = lineText.trim();
  if (opened === '[' || opened === '{') {
    return `line 1 opens one JSON document spread over many lines (pretty-printed JSON); a dataset has one JSON object per line (jq -c ${opened === '[' ? "'.[]'" : '.'} data.json > data.jsonl)`;
  }
  return undefined;
}

/**
 * Why a file with no row is no dataset, in the words of every reader that refuses it (a run, `peerkd export`): no line
 * at all, or `invalidLines` lines none of which is a row, the first of them `first` (its line, and what it looks like:
 * UTF-16, gzip, pretty-printed JSON, parse.ts notJsonLinesHint).
 */
export function noRowsMessage(invalidLines: number, first: Pick<Problem, 'line' | 'message'> | undefined): { line?: number; message: string } {
  if (invalidLines === 0 || first === undefined) return { message: 'the file has no rows (it is empty or holds only blank lines); a dataset has one JSON object per line' };
  const how = invalidLines === 1 ? 'the only non-blank line is invalid' : `all ${invalidLines.toLocaleString('en-US')} non-blank lines are invalid, the first`;
  return { line: first.line, message: `no line is a valid row: ${how}: ${first.message}` };
}

interface Range {
  start: number;
  end: number;
}

function problem(
  code: Problem['code'],
  severity: Problem['severity'],
  line: number,
  range: Range,
  message: string,
  field?: string,
): Problem {
  const result: Problem = { code, severity, line, column: range.start + 1, endColumn: range.end + 1, message };
  if (field !== undefined) result.field = field;
  return result;
}

/** The line without leading and trailing whitespace (at least one character when the line has any). */
function trimmedRange(lineText: string): Range {
  const start = lineText.length - lineText.trimStart().length;
  const end = lineText.trimEnd().length;
  return end > start ? { start, end } : { start: 0, end: lineText.length };
}

/** Where a field's value is on the line; the whole row when it cannot be located. */
function valueRange(lineText: string, path: readonly string[]): Range {
  try {
    const scanned = scanJson(lineText);
    if (scanned.object) {
      const location = locatePath(scanned.object, path);
      if (location.found) return { start: location.member.valueStart, end: location.member.valueEnd };
    }
  } catch {
    // Fall through: the row is still reported, on the whole line.
  }
  return trimmedRange(lineText);
}

/**
 * Why a label outside the label set may look as if it were in it (`line`: where, when the message names another
 * line): `'Wörld' is the label 'Wörld' written with other Unicode characters or white space: write it as in the label
 * set`, or, for a label that differs only by case, `'sports' is the label 'Sports' written in other case: …` (a run
 * trains the two as two labels); undefined for none. "'Wörld' is not in the label set: …, Wörld" alone names two
 * strings that read the same. One wording for validation's rows and the run's findings (training/input.ts).
 * Kept here rather than in labels.ts, which the webview bundles: `printable` comes with the JSON scanner.
 */
export function lookAlikeHint(labels: readonly string[], label: string, line?: number): string | undefined {
  const like = lookAlikeLabel(labels, label);
  if (like === undefined) return undefined;
  const how = like.how === 'same' ? 'with other Unicode characters or white space' : 'in other case';
  return `'${printable(label)}'${line === undefined ? '' : ` (line ${line})`} is the label '${printable(like.label)}' written ${how}: write it as in the label set`;
}

/** `; hint` where there is one. */
function hintAfter(hint: string | undefined): string {
  return hint === undefined ? '' : `; ${hint}`;
}

function quote(value: string): string {
  const shown = value.length > 80 ? value.slice(0, 77) + '…' : value;
  return `'${printable(shown)}'`;
}

/** A number in [0, 1]: the only teacher confidence the method can use (NaN and infinities are not). */
function isProbability(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return quote(value);
  return String(value);
}

/** Collects line results into a ParsedDataset. */
class DatasetCollector {
  readonly rows: DatasetRow[] = [];
  readonly problems: Problem[] = [];
  lineCount = 0;
  skippedBlankLines = 0;
  private labelFieldRows = 0;
  private teacherFieldRows = 0;
  private firstRowLine = 0;

  add(result: LineResult): void {
    this.lineCount = result.line;
    if (result.blank) this.skippedBlankLines++;
    if (result.row) {
      this.rows.push(result.row);
      if (this.firstRowLine === 0) this.firstRowLine = result.line;
      if (result.labelField) this.labelFieldRows++;
      if (result.teacherField) this.teacherFieldRows++;
    }
    if (result.problems.length > 0) for (const found of result.problems) this.problems.push(found);
  }

  constructor(private readonly fields: FieldMapping) {}

  result(): ParsedDataset {
    const rows = this.rows;
    const counts = { rows: rows.length, labelFieldRows: this.labelFieldRows, teacherFieldRows: this.teacherFieldRows, firstRowLine: this.firstRowLine };
    const problems = foldMissingFieldProblems(this.problems, counts, this.fields, () => rows.slice(0, FIELD_GUESS_SAMPLE_ROWS).map((row) => row.value));
    return { rows, problems, lineCount: this.lineCount, skippedBlankLines: this.skippedBlankLines };
  }
}

/** Parses and validates a whole JSONL text (BOM, CRLF, lone CR, blank lines and a missing final newline tolerated). */
/** Throws LineTooLongError ("line N: longer than … bytes") for a line longer than MAX_LINE_BYTES, as every reader does. */
export function parseDatasetText(text: string, fields: FieldMapping, options: ValidationOptions = {}): ParsedDataset {
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const parser = new DatasetParser(fields, options);
  const collector = new DatasetCollector(fields);
  let line = 0;
  forEachLine(
    text,
    (start, end) => {
      // The one line length rule of every reader (MAX_LINE_BYTES): an open document's line as a file's.
      if (lineTooLong(text, start, end, maxLineBytes)) throw new LineTooLongError(line + 1, maxLineBytes);
      collector.add(parser.next(text.slice(start, end), ++line));
    },
    text.charCodeAt(0) === 0xfeff ? 1 : 0,
  );
  return collector.result();
}

export interface SourceLine {
  /** 1-based line number (LF, CRLF and a lone CR each end a line, as in the editor). */
  line: number;
  /** The line without its terminator and, on line 1, without a BOM. */
  text: string;
}

/**
 * Bytes read at a time. 64 KiB, like Node's readline: a chunk's lines are parsed and dropped while they are still in
 * the young generation, so streaming a file costs about what a readline + JSON.parse loop does (test/bench/parse.ts);
 * 1 MiB chunks kept every batch's rows alive long enough to be promoted and raised the peak RSS 1.7-fold.
 */
export const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Where a dataset is read from: a file's path, or a stream (standard input: `peerkd predict MODEL -`), read as UTF-8.
 * A stream is what a pipe or a socket on fd 0 needs: opening /dev/stdin fails there (ENXIO).
 */
export type DatasetInput = string | NodeJS.ReadableStream;

/**
 * `visit(text, line)` for every line of a file, read in READ_CHUNK_BYTES chunks, its results yielded in one array per
 * chunk (a per-line await costs more than parsing the line): memory stays at one chunk plus one line, whatever the
 * file's size. A line's text is a slice of its chunk, without its terminator and, on line 1, without a BOM. The chunks
 * are decoded as one stream of UTF-8, which gives each line the text `peerkd export` gets by decoding the line's own
 * bytes (a byte that is not UTF-8 becomes U+FFFD either way, and a line break is never part of a sequence), so both read
 * the same ids and texts; a line longer than MAX_LINE_BYTES bytes of UTF-8 is refused by the one rule of every reader
 * (mapChunkLines: lineTooLong; a byte that is not UTF-8 counts as the 3 bytes of its U+FFFD there, which matters only
 * for such a line within a third of the limit). Splitting the bytes and decoding each line took half as long again.
 */
async function* mapFileLines<T>(path: DatasetInput, visit: (text: string, line: number) => T, chunkBytes = READ_CHUNK_BYTES, maxLine = MAX_LINE_BYTES): AsyncGenerator<T[]> {
  const stream = typeof path === 'string' ? createReadStream(path, { encoding: 'utf8', highWaterMark: chunkBytes }) : path.setEncoding('utf8');
  try {
    yield* mapChunkLines(stream as AsyncIterable<string>, visit, maxLine);
  } catch (error) {
    // Named by the file (standard input as "-"), as every other problem of a line is.
    throw error instanceof LineTooLongError ? error.inFile(typeof path === 'string' ? path : '-') : error;
  }
}

/**
 * `visit(text, line)` for every line of a text that comes in chunks (textChunks of a text in memory: an open
 * document), its results yielded in one array per chunk. A line may span chunks (so may a CRLF or a surrogate pair):
 * only the line that straddles two chunks is joined. A line longer than MAX_LINE_BYTES bytes of UTF-8 is refused, as
 * the file readers refuse it (lineTooLong).
 */
async function* mapChunkLines<T>(chunks: AsyncIterable<string>, visit: (text: string, line: number) => T, maxLine = MAX_LINE_BYTES): AsyncGenerator<T[]> {
  /** The start of a line that continues in the next chunk (or ends in a CR whose LF may follow). */
  let pending = '';
  let line = 0;
  let first = true;
  const lineOf = (text: string, start: number, end: number) => {
    if (lineTooLong(text, start, end, maxLine)) throw new LineTooLongError(line + 1, maxLine);
    return text.slice(start, end);
  };
  for await (const read of chunks) {
    let chunk = read;
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    const batch: T[] = [];
    let from = 0;
    if (pending.length > 0) {
      // Only the line that straddles the two chunks is joined: joining whole chunks copied every byte once more.
      const lf = chunk.indexOf('\n');
      const cr = chunk.indexOf('\r');
      const cut = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (cut === -1 || (cut === cr && cut === chunk.length - 1)) {
        // No terminator yet, or a CR whose LF may come next: the whole chunk continues the line.
        pending += chunk;
        // More characters than the limit: more bytes too (the line is measured exactly once it ends).
        if (pending.length > maxLine + 1) throw new LineTooLongError(line + 1, maxLine);
        continue;
      }
      from = cut === cr && chunk.charCodeAt(cut + 1) === 0x0a ? cut + 2 : cut + 1;
      const head = pending + chunk.slice(0, from);
      forEachLine(head, (start, end) => batch.push(visit(lineOf(head, start, end), ++line)));
    }
    const text = chunk;
    const rest = forEachCompleteLine(text, (start, end) => batch.push(visit(lineOf(text, start, end), ++line)), from);
    pending = text.slice(rest);
    if (pending.length > maxLine + 1) throw new LineTooLongError(line + 1, maxLine);
    if (batch.length > 0) yield batch;
  }
  if (pending.length > 0) {
    const batch: T[] = [];
    const text = pending;
    forEachLine(text, (start, end) => batch.push(visit(lineOf(text, start, end), ++line)));
    yield batch;
  }
}

/**
 * A text in memory in pieces of `chunkChars` characters, the event loop given back (setImmediate) before each piece
 * after the first: what lets an open document be validated by the streaming validator (streamDatasetText) without
 * keeping the extension host busy for longer than one piece's lines take.
 */
export async function* textChunks(text: string, chunkChars = READ_CHUNK_BYTES): AsyncGenerator<string> {
  for (let start = 0; start < text.length; start += chunkChars) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    yield text.slice(start, start + chunkChars);
  }
}

/** The lines of a file, one array per read chunk (see mapFileLines; tests read in smaller chunks). */
export function readLineBatches(path: string, chunkBytes = READ_CHUNK_BYTES, maxLine = MAX_LINE_BYTES): AsyncGenerator<SourceLine[]> {
  return mapFileLines(path, (text, line): SourceLine => ({ line, text }), chunkBytes, maxLine);
}

/**
 * The text of the lines `lines` (1-based) of a file, as readLineBatches reads them (line 1 without a BOM, as the editor
 * shows it): the file is streamed up to the last of them and only those are kept; a line past the file's end is
 * missing from the map.
 */
export async function readLineTexts(path: string, lines: Iterable<number>): Promise<Map<number, string>> {
  const wanted = new Set(lines);
  const found = new Map<number, string>();
  const last = Math.max(0, ...wanted);
  if (last === 0) return found;
  for await (const batch of readLineBatches(path)) {
    for (const { line, text } of batch) if (wanted.has(line)) found.set(line, text);
    if (batch[batch.length - 1].line >= last) break;
  }
  return found;
}

/** lineTexts of a text in memory (a file that is not on disk): split as forEachLine splits it, line 1 without a BOM. */
export function lineTextsOfText(text: string, lines: Iterable<number>): Map<number, string> {
  const wanted = new Set(lines);
  const found = new Map<number, string>();
  let line = 0;
  forEachLine(text, (start, end) => {
    if (wanted.has(++line)) found.set(line, text.slice(start, end));
  }, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  return found;
}

/** The lines of a file one at a time (see readLineBatches). */
export async function* readLines(path: string): AsyncGenerator<SourceLine> {
  for await (const batch of readLineBatches(path)) yield* batch;
}

/**
 * Parses and validates a file line by line without keeping it: each result is yielded and forgotten, so a
 * million-row file holds only its row identities (for duplicate detection) in memory.
 */
export function streamDataset(path: DatasetInput, fields: FieldMapping, options: ValidationOptions = {}): AsyncGenerator<LineResult[]> {
  const parser = new DatasetParser(fields, options);
  return mapFileLines(path, (text, line) => parser.next(text, line), READ_CHUNK_BYTES, options.maxLineBytes);
}

/**
 * streamDataset of a text in memory (an open document, as the editor shows it): the same lines and results as
 * parseDatasetText, fed to the parser `chunkChars` characters at a time with the event loop given back between chunks
 * (textChunks), so a validation of a large document can show progress and be cancelled between them.
 */
export function streamDatasetText(text: string, fields: FieldMapping, options: ValidationOptions = {}, chunkChars = READ_CHUNK_BYTES): AsyncGenerator<LineResult[]> {
  const parser = new DatasetParser(fields, options);
  return mapChunkLines(textChunks(text, chunkChars), (line, number) => parser.next(line, number), options.maxLineBytes);
}

/** Reads, parses and validates a whole file, streaming it from disk. */
export async function readDatasetFile(path: DatasetInput, fields: FieldMapping, options: ValidationOptions = {}): Promise<ParsedDataset> {
  const collector = new DatasetCollector(fields);
  for await (const batch of streamDataset(path, fields, options)) {
    for (const result of batch) collector.add(result);
  }
  return collector.result();
}

/**
 * The label set when none is configured: every teacher and human label present, in code-unit order so the
 * order (and any class index built on it) does not depend on row order or locale.
 */
export function inferLabelSet(rows: Iterable<Pick<DatasetRow, 'teacher' | 'human'>>): string[] {
  const labels = new Set<string>();
  for (const row of rows) {
    if (row.teacher !== null) labels.add(row.teacher);
    if (row.human !== null) labels.add(row.human);
  }
  return [...labels].sort();
}
