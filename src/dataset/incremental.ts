import { DatasetParser, duplicateIdProblem } from './parse';
import { foldMissingFieldProblems, sampleRows } from './fieldGuess';
import type { DatasetRow, FieldMapping, ParsedDataset, Problem, ValidationOptions } from './types';

/** One edit of a document, in lines: lines startLine..endLine (0-based, inclusive) became insertedLineCount lines. */
export interface LineChange {
  startLine: number;
  endLine: number;
  insertedLineCount: number;
}

/** The number of lines a piece of inserted text spans (an editor counts CRLF, LF and a lone CR as one break each). */
export function lineCountOf(text: string): number {
  let count = 1;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0a) count++;
    else if (code === 0x0d) {
      count++;
      if (text.charCodeAt(i + 1) === 0x0a) i++;
    }
  }
  return count;
}

interface LineEntry {
  /** The row identity, or null when the line is blank or not a row. */
  id: string | null;
  /** The row (its `line` kept current as lines move), or null when the line is blank or not a row. */
  row: DatasetRow | null;
  /** Empty or whitespace-only. */
  blank: boolean;
  /** The line's own problems (duplicates are computed across lines at validation time). */
  problems: readonly Problem[];
  /** The row has the teacher or the human label field. */
  labelField: boolean;
  /** The row has the teacher label field. */
  teacherField: boolean;
  /** The row's teacher field holds a value other than null or a blank string (LineResult.teacherValue). */
  teacherValue: boolean;
}

/**
 * Validation of a document that is being edited: a per-line cache of results, so each validation re-parses only
 * the lines that changed since the last one. Duplicate ids are recomputed from the cached identities, which needs
 * no parsing. Lines are numbered as the editor numbers them (0-based in changes, 1-based in problems).
 */
export class IncrementalDatasetValidator {
  private parser: DatasetParser;
  /** undefined = changed since the last validation. */
  private entries: (LineEntry | undefined)[] = [];
  /** Lines parsed for the last validate call, by it or by parseChanged before it (observable so tests and logs can check that edits stay cheap). */
  lastParsedLineCount = 0;
  private parsedBeforeValidate = 0;
  /** Rows (lines that parsed to objects) seen by the last validate call. */
  lastRowCount = 0;
  /**
   * Rows whose teacher field holds a value other than null or a blank string, seen by the last validate call: the rows
   * a teacher-label problem can be on (foldRepeatedLabelProblems). Rows not labelled yet (null) do not count.
   */
  lastTeacherLabelRows = 0;
  /**
   * The document as the last validate call saw it, as the dataset core's parse of a whole text returns it (rows in line
   * order, problems as validate returned them): what the run's input checks read (training/input.ts inputProblems).
   */
  lastParsed: ParsedDataset = { rows: [], problems: [], lineCount: 0, skippedBlankLines: 0 };

  constructor(fields: FieldMapping, options: ValidationOptions = {}) {
    this.parser = new DatasetParser(fields, options);
  }

  /** The field mapping the lines are validated with. */
  get fields(): FieldMapping {
    return this.parser.fields.mapping;
  }

  /** New field mapping or label set: every line must be parsed again. */
  reconfigure(fields: FieldMapping, options: ValidationOptions = {}): void {
    this.parser = new DatasetParser(fields, options);
    this.invalidateAll();
  }

  invalidateAll(): void {
    this.entries = [];
    this.parsedBeforeValidate = 0;
  }

  applyChange(change: LineChange): void {
    const { startLine, endLine, insertedLineCount } = change;
    if (startLine < 0 || endLine < startLine || insertedLineCount < 1 || endLine >= this.entries.length) {
      // The cache does not match the document (e.g. it was never filled): parse everything next time.
      this.invalidateAll();
      return;
    }
    const removed = endLine - startLine + 1;
    if (insertedLineCount <= 10_000) {
      this.entries.splice(startLine, removed, ...new Array<undefined>(insertedLineCount));
    } else {
      // Spreading a very large paste into splice's arguments would overflow the call stack.
      this.entries = this.entries.slice(0, startLine).concat(new Array<undefined>(insertedLineCount), this.entries.slice(endLine + 1));
    }
  }

  /**
   * Parses at most `maxLines` of the lines changed since they were last parsed, so a large document can be
   * validated in slices between which the editor stays responsive. True when no changed line is left.
   */
  parseChanged(lineCount: number, lineAt: (index: number) => string, maxLines: number): boolean {
    if (this.entries.length !== lineCount) this.entries = new Array<undefined>(lineCount);
    let parsed = 0;
    for (let index = 0; index < lineCount; index++) {
      if (this.entries[index] !== undefined) continue;
      if (parsed === maxLines) {
        this.parsedBeforeValidate += parsed;
        return false;
      }
      this.entries[index] = this.parseEntry(lineAt(index), index);
      parsed++;
    }
    this.parsedBeforeValidate += parsed;
    return true;
  }

  private parseEntry(text: string, index: number): LineEntry {
    const result = this.parser.parseLine(text, index + 1);
    return { id: result.row?.id ?? null, row: result.row, blank: result.blank, problems: result.problems, labelField: result.labelField === true, teacherField: result.teacherField === true, teacherValue: result.teacherValue === true };
  }

  /**
   * All problems of the document, in line order. `lineAt(index)` returns the text of 0-based line `index`.
   * When the cache does not have `lineCount` lines, the whole document is parsed again.
   */
  validate(lineCount: number, lineAt: (index: number) => string): Problem[] {
    const steps = this.validateInSteps(lineCount, lineAt, Infinity);
    let step = steps.next();
    while (!step.done) step = steps.next();
    return step.value;
  }

  /**
   * validate, a step of at most `linesPerStep` lines at a time: each `next()` walks that many lines, and the last one
   * returns the problems. The walk over the cached lines of a 200,000-line document took 150–380 ms in one go after each
   * edit; a caller that gives the event loop back between steps (src/editor/datasetDiagnostics.ts) drops the steps
   * when the document changes meanwhile, so nothing of a half walk is published (what it set is set again next time).
   */
  *validateInSteps(lineCount: number, lineAt: (index: number) => string, linesPerStep: number): Generator<void, Problem[]> {
    if (this.entries.length !== lineCount) this.entries = new Array<undefined>(lineCount);
    let parsed = 0;
    let rows = 0;
    let labelFieldRows = 0;
    let teacherFieldRows = 0;
    let teacherLabelRows = 0;
    let firstRowLine = 0;
    const firstLineOfId = new Map<string, number>();
    const problems: Problem[] = [];
    const rowList: DatasetRow[] = [];
    let blankLines = 0;
    for (let index = 0; index < lineCount; index++) {
      if (index > 0 && index % linesPerStep === 0) yield;
      let entry = this.entries[index];
      if (entry === undefined) {
        entry = this.parseEntry(lineAt(index), index);
        this.entries[index] = entry;
        parsed++;
      }
      const line = index + 1;
      // Cached problems carry the line number they were parsed at; lines may have moved since.
      for (const problem of entry.problems) problems.push(problem.line === line ? problem : { ...problem, line });
      if (entry.blank) blankLines++;
      if (entry.id === null || entry.row === null) continue;
      // The cached row is this validator's own: moved with its line in place, so a later validate copies nothing.
      if (entry.row.line !== line) entry.row.line = line;
      rowList.push(entry.row);
      rows++;
      if (firstRowLine === 0) firstRowLine = line;
      if (entry.labelField) labelFieldRows++;
      if (entry.teacherField) teacherFieldRows++;
      if (entry.teacherValue) teacherLabelRows++;
      const firstLine = firstLineOfId.get(entry.id);
      if (firstLine === undefined) {
        firstLineOfId.set(entry.id, line);
        continue;
      }
      // Rare: only repeated rows are parsed again, to find where the repeated value sits.
      const text = lineAt(index);
      const row = this.parser.parseLine(text, line).row;
      if (row) problems.push(duplicateIdProblem(text, row, firstLine, this.parser.fields));
    }
    this.lastParsedLineCount = this.parsedBeforeValidate + parsed;
    this.parsedBeforeValidate = 0;
    this.lastRowCount = rows;
    this.lastTeacherLabelRows = teacherLabelRows;
    const folded = foldMissingFieldProblems(problems, { rows, labelFieldRows, teacherFieldRows, firstRowLine }, this.parser.fields.mapping, () => sampleRows(lineAt, lineCount));
    this.lastParsed = { rows: rowList, problems: folded, lineCount, skippedBlankLines: blankLines };
    return folded;
  }
}

/**
 * What the Problems panel shows of a file's problems: a teacher-label problem that every row with a teacher value
 * repeats — each label a number (`label-not-string`), or none in the configured set (`unknown-label`) — becomes one
 * warning on the first such row, saying how many rows share it and what to change; 10,000 identical warnings hid
 * every other problem. On some rows only, each stays on its row. `teacherLabelRows`: rows whose teacher field holds a value
 * other than null or a blank string (rows not labelled yet have no such problem, and do not keep the fold off).
 */
export function foldRepeatedLabelProblems(problems: readonly Problem[], teacherLabelRows: number, fields: FieldMapping): Problem[] {
  const advice = {
    'label-not-string': 'write each label as a JSON string',
    'unknown-label': 'check the label set (setting peerkd.labels) against the file',
  } as const;
  for (const code of ['label-not-string', 'unknown-label'] as const) {
    const repeated = problems.filter((problem) => problem.code === code && problem.field === fields.teacher);
    if (repeated.length < 2 || repeated.length !== teacherLabelRows) continue;
    const first = repeated[0];
    const folded: Problem = {
      ...first,
      message: `${first.message} — and so is every teacher label of the file (${repeated.length.toLocaleString('en-US')} rows; shown once): ${advice[code]}`,
    };
    return problems.filter((problem) => problem === first || problem.code !== code || problem.field !== fields.teacher).map((problem) => (problem === first ? folded : problem));
  }
  return [...problems];
}
