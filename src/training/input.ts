/**
 * Turns a dataset (the file, or the editor's unsaved text of it) into the engine's input: the rows with text, the
 * label set (configured, else inferred) and counts of what was left out. Lines that are not JSON objects are
 * reported and left out; the run goes on with the other rows. Input the method cannot work with is rejected with an
 * InputError naming the file and the line.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import {
  candidatesFor,
  compileFields,
  FIELD_GUESS_SAMPLE_ROWS,
  fileError,
  foldMissingFieldProblems,
  notFoundReason,
  INVISIBLE_CHARACTERS,
  getFieldAt,
  inferLabelSet,
  isPlainObject,
  labelListProblem,
  lookAlikeHint,
  lookAlikeFold,
  lookAlikeKey,
  missingLabelFieldsMessage,
  parseDatasetText,
  printable,
  readDatasetFile,
  missingTextFieldProblemOf,
  rowTextsSha256,
  NOT_A_REGULAR_DATASET,
  Utf8LineValidator,
  type CompiledFields,
  type LineResult,
} from '../dataset';
import { idIsNumber, splitFieldPath } from '../dataset/fields';
import { grownArray, TextIndex } from '../dataset/hashSlots';
import { shellWord, type DatasetRow, type FieldMapping, type ParsedDataset, type Problem } from '../dataset/types';
import { MAX_LABEL_LENGTH } from '../dataset/labels';
import { noRowsMessage } from '../dataset/parse';
import { humanFieldProblem, textFieldProblem } from '../review/writes';
import { sha256 } from './artifacts';
import { medianLabelRows, MIN_JUDGED_LABEL_ROWS, unjudgedLabels } from './calibration';
import { hasWord } from './featurize';
import type { InputCounts } from './protocol';
import type { TrainingRow } from './types';

export class InputError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export interface PreparedInput {
  rows: TrainingRow[];
  labels: string[];
  labelsSource: 'configured' | 'inferred';
  counts: InputCounts;
  /** Lines left out because they are not JSON objects, with the parser's message. */
  invalidLines: { line: number; message: string }[];
  /** Things the user should know that do not stop the run (one line each). */
  warnings: string[];
  /** sha256 of the text that was read. */
  datasetSha256: string;
  /** The rows' ids and texts as read (dataset/rowTextsDigest.ts): what export compares to tell an edited text. */
  rowTextsSha256: string;
}

export interface InputSource {
  /** The dataset's path: named in errors, and read when `text` is absent. */
  file: string;
  /** The dataset's text (e.g. the editor's, with unsaved edits). */
  text?: string;
  fields: FieldMapping;
  /** Configured label set; empty = infer. */
  labels: readonly string[];
  /**
   * Why the configured label set could not be read as written (setting peerkd.labels that is no list of strings,
   * editor/settings.ts labelsSetting): a run is refused, so validation says so instead of inferring the labels.
   */
  labelsProblem?: string;
  folds: number;
}

const LINES_IN_MESSAGE = 5;
/** Fields other than the mapped ones that a run watches for human labels under another name (the first met). */
const WATCHED_FIELDS = 32;
/** Distinct values beyond which a watched field holds no labels (an id, a text, a date). */
const WATCHED_FIELD_VALUES = 50;

/** Lines for a message: the first few, then how many in all (`count`, where `lines` are only the first of them). */
export function listLines(lines: readonly (number | string)[], count = lines.length): string {
  const shown = lines.slice(0, LINES_IN_MESSAGE).join(', ');
  return count > LINES_IN_MESSAGE ? `${shown}, … (${count} in all)` : shown;
}

/** `line 4` or `lines 2, 3, …` (`count`: how many lines there are in all, of which `lines` are the first). */
function linesPhrase(lines: readonly number[], count = lines.length): string {
  return `line${count > 1 ? 's' : ''} ${listLines(lines, count)}`;
}

function hasText(row: DatasetRow): row is DatasetRow & { text: string } {
  return row.text !== null && row.text.trim().length > 0;
}

/**
 * Reads the dataset (unless its text is given) and prepares it; see prepareTrainingInput. The file is streamed
 * (parse.ts reads it in chunks), never held as one string, so any file whose rows fit the memory limit trains:
 * a file over V8's largest string (about 512 MiB) would otherwise fail at once with "Invalid string length".
 */
export async function readTrainingInput(source: InputSource): Promise<PreparedInput> {
  if (source.text !== undefined) return prepareTrainingInput(source.text, source);
  const file = source.file;
  const fail = async (error: unknown): Promise<never> => {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    // A symbolic link to nothing said as one, as the CLI says a dataset's path (assertReadableFile).
    const reason = code === 'ENOENT' ? await notFoundReason(file) : error instanceof Error ? error.message : String(error);
    throw new InputError(`${file}: ${reason}`, file);
  };
  const before = await fs.stat(file).catch(fail);
  // Read twice below (rows and hash): a FIFO would wait for a writer, or split its data between the readers, forever.
  if (!before.isFile()) {
    if (before.isDirectory()) throw new InputError(fileError(file, { code: 'EISDIR' }).message, file);
    throw new InputError(`${file}: ${NOT_A_REGULAR_DATASET}`, file);
  }
  const [parsed, bytes] = await Promise.all([
    readDatasetFile(file, source.fields, { labels: configuredLabels(source) }),
    hashAndCheckFile(file),
  ]).catch(fail);
  const after = await fs.stat(file).catch(fail);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new InputError(`${file}: the file changed while it was being read; run again once it is saved`, file);
  }
  // Bytes that are not UTF-8 are named by the first line the hash's read found invalid: no second read, whatever the size.
  return prepareParsedInput(parsed, bytes.sha256, source, bytes.firstInvalidUtf8Line);
}

/**
 * sha256 of a file's bytes (the same digest as sha256 of its text when the file is valid UTF-8) and the first line
 * that is not valid UTF-8 (null when none), both from one streamed read.
 */
async function hashAndCheckFile(file: string): Promise<{ sha256: string; firstInvalidUtf8Line: number | null }> {
  const hash = createHash('sha256');
  const utf8 = new Utf8LineValidator();
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    utf8.update(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), firstInvalidUtf8Line: utf8.end() };
}

/** What is wrong with the configured label set (setting peerkd.labels or --labels) as a list, or undefined. */
function configuredLabelsProblem(source: Pick<InputSource, 'labels' | 'labelsProblem'>): string | undefined {
  if (source.labelsProblem) return source.labelsProblem;
  const listProblem = source.labels.length > 0 ? labelListProblem(source.labels) : undefined;
  return listProblem && `the configured label set (setting peerkd.labels or --labels): ${listProblem}`;
}

function configuredLabels(source: InputSource): string[] {
  const problem = configuredLabelsProblem(source);
  if (problem) throw new InputError(`${source.file}: ${problem}`, source.file);
  return [...new Set(source.labels.filter((label) => label.length > 0))];
}

/** A parsed file without a single row (`rows` rows, the parser's `problems`): the finding (see noRowsError), or undefined. */
function noRowsFinding(rows: number, problems: readonly Problem[]): InputFinding | undefined {
  if (rows > 0) return undefined;
  const invalidLines = problems.filter((problem) => problem.code === 'invalid-json' || problem.code === 'not-an-object');
  const found = noRowsMessage(invalidLines.length, invalidLines[0]);
  return { check: 'no-rows', severity: 'error', ...(found.line !== undefined ? { line: found.line, namesLine: true } : {}), message: found.message };
}

/** The InputError a run stops with for an error finding: `file:line: message` where the message names its line. */
function inputErrorOf(file: string, finding: InputFinding): InputError {
  return new InputError(`${file}${finding.namesLine ? `:${finding.line}` : ''}: ${finding.message}`, file, finding.line);
}

/**
 * The error for a parsed file without a single row (empty, only blank lines, or every non-blank line invalid, e.g.
 * one JSON array), naming the file and its first invalid line; undefined when it has a row. Said the same way by
 * `peerkd distill` and `peerkd predict`.
 */
export function noRowsError(file: string, parsed: Pick<ParsedDataset, 'rows' | 'problems'>): InputError | undefined {
  const finding = noRowsFinding(parsed.rows.length, parsed.problems);
  return finding && inputErrorOf(file, finding);
}

/** Parses the dataset text (the editor's, unsaved edits included) and checks that the method can run on it. */
export function prepareTrainingInput(text: string, source: InputSource): PreparedInput {
  return prepareParsedInput(parseDatasetText(text, source.fields, { labels: configuredLabels(source) }), sha256(text), source);
}

/** Checks that the method can run on a parsed dataset and builds its input. Throws InputError (file and line). */
function prepareParsedInput(parsed: ParsedDataset, datasetSha256: string, source: InputSource, firstInvalidUtf8Line: number | null = null): PreparedInput {
  configuredLabels(source);
  const check = checkTrainingInput(parsed, source, firstInvalidUtf8Line);
  const error = check.findings.find((finding) => finding.severity === 'error');
  if (error || !check.input) throw inputErrorOf(source.file, error ?? { check: 'no-rows', severity: 'error', message: 'no input' });
  const warnings = check.findings.map((finding) => finding.message);
  return { ...check.input, warnings, datasetSha256, rowTextsSha256: rowTextsSha256(parsed.rows) };
}

/**
 * The run's findings on a parsed dataset as problems of the file, for "PeerKD: Validate Dataset" and the editor's
 * diagnostics: the same errors and warnings, from the same checks (checkTrainingInput), at the line each names first
 * (a finding about the whole file: its first row). Findings that only sum up the parser's own problems (PARSER_SAID)
 * are left out: the parser's problems show them line by line. `lineText(line)`, when given, marks the line's text;
 * else the problem marks the line's start.
 */
export function inputProblems(
  parsed: ParsedDataset,
  source: Omit<InputSource, 'text'>,
  lineText?: (line: number) => string,
  firstInvalidUtf8Line: number | null = null,
): Problem[] {
  const checks = new InputChecks(source);
  for (const row of parsed.rows) checks.add(row);
  return inputProblemsOf(checks, parsed, lineText, firstInvalidUtf8Line);
}

/**
 * inputProblems of the rows `checks` was fed (InputChecks.add: validation of a streamed file, or the editor's checks fed
 * a slice of rows at a time), with the parser's problems and line counts of the whole file in `file`.
 */
export function inputProblemsOf(
  checks: InputChecks,
  file: Pick<ParsedDataset, 'problems' | 'lineCount' | 'skippedBlankLines'>,
  lineText?: (line: number) => string,
  firstInvalidUtf8Line: number | null = null,
): Problem[] {
  const fallback = checks.firstRowLine ?? 1;
  const problems: Problem[] = [];
  for (const finding of checks.result(file, firstInvalidUtf8Line).findings) {
    if (PARSER_SAID.has(finding.check)) continue;
    // No label field on any row, while a field looks like the teacher's labels: the parser's own problem on the same
    // line says so and carries the quick fix that maps the field (fieldGuess.ts foldMissingFieldProblems).
    if (finding.check === 'no-label-field' && file.problems.some((problem) => problem.code === 'missing-label-fields')) continue;
    const line = finding.line ?? fallback;
    problems.push({ code: 'run-check', severity: finding.severity, line, ...lineTextColumns(lineText?.(line) ?? ''), message: finding.message });
  }
  return problems;
}

/** Where a run's finding marks its line: the line's text without the white space around it (none: the line's start). */
function lineTextColumns(text: string): Pick<Problem, 'column' | 'endColumn'> {
  const start = text.length - text.trimStart().length;
  const end = Math.max(start, text.trimEnd().length);
  return { column: start + 1, endColumn: end + 1 };
}

/** What validation of a streamed file found: its rows (lines that parsed to objects) and every problem. */
export interface StreamValidation {
  rows: number;
  problems: Problem[];
  /** Rows whose teacher field holds a value other than null or a blank string (foldRepeatedLabelProblems needs them). */
  teacherLabelRows: number;
}

/**
 * "PeerKD: Validate Dataset" of a file, open or not (src/commands/validateDataset.ts; test/bench/parse.ts times
 * it): the lines' problems as `batches` (streamDataset) yields them, a field missing on every row folded into one
 * problem (as for an open file), then the run's findings of the file as a whole (inputProblems), bytes that are not
 * UTF-8 included (`invalidUtf8Line`, read only when a text shows U+FFFD). `onBatch(rows)` is called before each batch
 * with the rows so far; false cancels (undefined is returned). `lineTexts(lines)`: the text of the lines the run's
 * findings name (an open document's lines; a closed file's, read again, only those: dataset/parse.ts readLineTexts),
 * which each finding marks as inputProblemsOf does; without it a finding marks its line's start. An open document's
 * text goes through here too (streamDatasetText), so open and closed files are checked by one path.
 */
export async function validateDatasetStream(
  batches: AsyncIterable<readonly LineResult[]>,
  source: Omit<InputSource, 'text'>,
  options: {
    invalidUtf8Line?: () => Promise<number | null>;
    onBatch?: (rows: number) => boolean;
    lineTexts?: (lines: readonly number[]) => Promise<ReadonlyMap<number, string>>;
  } = {},
): Promise<StreamValidation | undefined> {
  let problems: Problem[] = [];
  const sample: Record<string, unknown>[] = [];
  // Each row goes into the run's checks as it passes and is not kept: memory does not grow with the rows.
  const checks = new InputChecks(source);
  let lineCount = 0;
  let blankLines = 0;
  let labelFieldRows = 0;
  let teacherFieldRows = 0;
  let teacherLabelRows = 0;
  let firstRowLine = 0;
  for await (const batch of batches) {
    if (options.onBatch && !options.onBatch(checks.rows)) return undefined;
    for (const result of batch) {
      lineCount = result.line;
      if (result.blank) blankLines++;
      if (result.row) {
        checks.add(result.row);
        if (firstRowLine === 0) firstRowLine = result.line;
        if (result.labelField) labelFieldRows++;
        if (result.teacherField) teacherFieldRows++;
        if (result.teacherValue) teacherLabelRows++;
        if (sample.length < FIELD_GUESS_SAMPLE_ROWS) sample.push(result.row.value);
      }
      for (const problem of result.problems) problems.push(problem);
    }
  }
  const rows = checks.rows;
  // A field missing on every row is one problem naming the setting, not one per row (as for an open file).
  problems = foldMissingFieldProblems(problems, { rows, labelFieldRows, teacherFieldRows, firstRowLine }, source.fields, () => sample);
  // What a run would stop on or warn about, as `peerkd distill` reads the file (bytes that are not UTF-8 included).
  const utf8Line = options.invalidUtf8Line && checks.hasReplacementCharacter ? await options.invalidUtf8Line().catch(() => null) : null;
  const file = { problems, lineCount, skippedBlankLines: blankLines };
  let runProblems = inputProblemsOf(checks, file, undefined, utf8Line);
  if (options.lineTexts && runProblems.length > 0) {
    // The lines the findings name, and only those (a streamed file is not kept): each finding marks its line's text.
    const texts = await options.lineTexts([...new Set(runProblems.map((problem) => problem.line))].sort((a, b) => a - b));
    runProblems = runProblems.map((problem) => ({ ...problem, ...lineTextColumns(texts.get(problem.line) ?? '') }));
  }
  return { rows, problems: [...problems, ...runProblems], teacherLabelRows };
}

/**
 * Which rule of checkTrainingInput a finding comes from (tests and the Problems panel tell them apart by it). Those in
 * PARSER_SAID restate, for the run's log, problems the parser already reports line by line (parse.ts), which
 * validation shows as they are.
 */
export const INPUT_CHECKS = [
  'label-list',
  'human-field',
  'text-field',
  'no-rows',
  'label-too-long',
  'no-text',
  'one-configured-label',
  'human-outside-label-set',
  'no-string-label',
  'no-label-field',
  'one-label',
  'number-beside-string-label',
  'no-string-teacher-label',
  'look-alike-labels',
  'odd-labels',
  'number-labels',
  'case-labels',
  'unused-configured-labels',
  'human-labels-not-teacher-labels',
  'human-only-labels',
  'human-field-elsewhere',
  'missing-teacher-field',
  'no-teacher-labels',
  'teacher-outside-label-set',
  'fewer-labelled-rows-than-folds',
  'thin-label-set',
  'rare-labels',
  'single-row-labels',
  'label-not-string',
  'invalid-confidence',
  'rows-without-text',
  'blank-labels',
  'wordless-rows',
  'conflicting-texts',
  'duplicate-ids',
  'invalid-ids',
  'invalid-utf8',
] as const;
export type InputCheckName = (typeof INPUT_CHECKS)[number];

/** Findings that only sum up the parser's own problems of each line: validation shows those problems instead. */
export const PARSER_SAID: ReadonlySet<InputCheckName> = new Set([
  'label-too-long',
  'no-text',
  'missing-teacher-field',
  'teacher-outside-label-set',
  'label-not-string',
  'invalid-confidence',
  'rows-without-text',
  'duplicate-ids',
  'invalid-ids',
]);

/**
 * One thing the run's input check found: an error stops a run (the first one, as an InputError), a warning is logged
 * and the run goes on. "PeerKD: Validate Dataset" and the editor's diagnostics show the same findings (inputProblems).
 */
export interface InputFinding {
  check: InputCheckName;
  severity: 'error' | 'warning';
  /** The line to look at (the first row the message names); undefined: the dataset (or the settings) as a whole. */
  line?: number;
  /** The run's message says `file:line: …` (else `file: …` for an error, the message alone for a warning). */
  namesLine?: boolean;
  message: string;
}

export interface InputCheck {
  /** Errors and warnings in the order the run meets them. */
  findings: InputFinding[];
  /** The engine's input, when the checks got that far (undefined after an error about the file as a whole). */
  input?: Omit<PreparedInput, 'warnings' | 'datasetSha256' | 'rowTextsSha256'>;
}

/**
 * Every check a run makes of its input, on a parsed dataset: the one source of the run's errors and warnings
 * (prepareParsedInput) and of the same findings in validation (inputProblems). The rows go through InputChecks, the
 * accumulator that validation of a streamed file feeds row by row (validateDatasetStream); the run keeps its rows
 * anyway and builds its input from them here. Throws nothing: a finding that makes the later checks meaningless (no
 * row, no label set) ends the list.
 */
export function checkTrainingInput(parsed: ParsedDataset, source: Omit<InputSource, 'text'>, firstInvalidUtf8Line: number | null = null): InputCheck {
  const checks = new InputChecks(source);
  for (const row of parsed.rows) checks.add(row);
  const result = checks.result(parsed, firstInvalidUtf8Line);
  if (!result.input) return { findings: result.findings };
  // The rows. A teacher label outside a configured set is treated as an abstention, never trained on (teacherInSet).
  const labelSet = new Set(result.input.labels);
  const rows: TrainingRow[] = [];
  const idPath = splitFieldPath(source.fields.id);
  for (const row of parsed.rows) {
    if (!hasText(row)) continue;
    const training: TrainingRow = { id: row.id, line: row.line, text: row.text, teacher: teacherInSet(row.teacher, labelSet), human: row.human, teacherConfidence: row.teacherConfidence };
    // An id written as a number is written back as one (predictions.jsonl).
    if (idIsNumber(row.value, idPath, row.id)) training.numericId = true;
    rows.push(training);
  }
  return { findings: result.findings, input: { ...result.input, rows } };
}

/** A row's teacher label as a run trains on it: null when it is outside the label set (an abstention). */
function teacherInSet(teacher: string | null, labelSet: ReadonlySet<string> | null): string | null {
  return teacher !== null && labelSet !== null && !labelSet.has(teacher) ? null : teacher;
}

/** Lines a finding names: how many, the first few (one more than listLines shows, for "also on …") and the last. */
class LineList {
  count = 0;
  readonly first: number[] = [];
  last: number | undefined;

  add(line: number): void {
    this.count++;
    if (this.first.length <= LINES_IN_MESSAGE) this.first.push(line);
    this.last = line;
  }

  /** `2, 3, …` as listLines says it. */
  list(): string {
    return listLines(this.first, this.count);
  }

  /** `line 4` or `lines 2, 3, …`. */
  phrase(): string {
    return linesPhrase(this.first, this.count);
  }
}

/** What the checks know of one label (a teacher or human label of a row with text). */
interface LabelSeen {
  /** The first row with text that has it as its teacher or human label, and which of the two (teacher first). */
  line: number;
  field: 'teacher' | 'human';
  /** Rows whose label it is (the human label, else the teacher label in the label set), and the first of them. */
  rows: number;
  rowLine: number;
  /** A row has it as its teacher label (in the label set). */
  teacherRow: boolean;
  /** Rows with text that have it as their human label, and the first of them (0: none). */
  humanRows: number;
  humanLine: number;
}

/** A teacher or human label that is a number or a boolean (no label: the parser leaves it out), on a row with text. */
interface NonStringLabel {
  line: number;
  side: 'teacher' | 'human';
  asString: string;
  kind: 'a number' | 'a boolean';
}

/**
 * What checkTrainingInput needs of a dataset's rows, gathered one row at a time (`add`, in line order), so that
 * validation of a file streamed past never keeps its rows: counts, the first lines each finding names, and per label
 * (not per row) where it is first and on how many rows. Its memory grows with the distinct labels, the lines of
 * problems it names and the texts of labelled rows (12 bytes each and a small group per text on several rows:
 * SameTextIndex), not with the rows' values. `result` then makes every check, in the run's order.
 */
export class InputChecks {
  private readonly settingsFinding: InputFinding | undefined;
  private readonly fields: CompiledFields | undefined;
  /** The configured label set (deduplicated); empty: inferred from the rows. */
  private readonly configured: string[];
  private readonly configuredSet: ReadonlySet<string> | null;
  /** The configured labels by what a reader sees of them, case folded (lookAlikeFold): to name a label written another way. */
  private readonly configuredByKey: ReadonlyMap<string, string>;

  /** Rows (lines that parsed to objects) and the first one's line. */
  rows = 0;
  firstRowLine: number | undefined;
  /** Rows that have the text field at all (a string or not). */
  private textFieldRows = 0;
  /** The first rows' values, for the guesses of a field named otherwise (FIELD_GUESS_SAMPLE_ROWS). */
  private readonly sample: Record<string, unknown>[] = [];
  private withText = 0;
  private firstWithTextLine: number | undefined;
  private readonly noText = new LineList();
  private readonly labels = new Map<string, LabelSeen>();
  /** The first row with text and a teacher or human label (before the label set). */
  private firstLabelledLine: number | undefined;
  /** Rows with text and a string teacher label (before the label set). */
  private teacherStringRows = 0;
  private readonly humanOutside = new LineList();
  private firstHumanOutside: string | undefined;
  private readonly nonStringLabels: NonStringLabel[] = [];
  private readonly teacherNotString = new LineList();
  private teacherNotStringExample: { asString: string } | { inside: string | undefined } | undefined;
  private readonly outside = new LineList();
  private firstOutsideLabel: string | undefined;
  private outsideLookAlike: { label: string; line: number } | undefined;
  /** The first human label outside the configured set that is one of it written another way (lookAlikeHint). */
  private humanOutsideLookAlike: { label: string; line: number } | undefined;
  private readonly labelled = new LineList();
  private readonly blank = { teacher: new LineList(), human: new LineList() };
  private readonly wordless = new LineList();
  private readonly sameTexts = new SameTextIndex();
  private teacherLabelled = 0;
  private humanLabelled = 0;
  private unlabelled = 0;
  /** A text or label shows U+FFFD (bytes that were not UTF-8, or a real one). */
  private replacementCharacter = false;
  /**
   * Top-level fields other than the mapped ones, with the string values they hold on rows with text (null: too many or
   * too long to be labels): where no row has a human label, one holding labels of the set is named (`gold_label`).
   */
  private readonly otherFields = new Map<string, { rows: number; firstLine: number; values: Set<string> | null }>();
  private readonly mappedTopLevel: ReadonlySet<string>;

  constructor(private readonly source: Omit<InputSource, 'text'>) {
    const listProblem = configuredLabelsProblem(source);
    // A human label field that is also the teacher's (or the text's, the id's, or inside one) reads every teacher label
    // as a human one: the run is refused (Run Distillation, `peerkd distill`), so validation says so too (review/writes.ts).
    const humanField = listProblem ? undefined : humanFieldProblem(source.fields);
    // A text field that is a label field: the students would read the labels (review/writes.ts textFieldProblem).
    const textField = listProblem || humanField ? undefined : textFieldProblem(source.fields);
    if (listProblem) this.settingsFinding = { check: 'label-list', severity: 'error', line: undefined, namesLine: false, message: listProblem };
    else if (humanField) this.settingsFinding = { check: 'human-field', severity: 'error', line: undefined, namesLine: false, message: humanField };
    else if (textField) this.settingsFinding = { check: 'text-field', severity: 'error', line: undefined, namesLine: false, message: textField };
    else this.fields = compileFields(source.fields);
    this.configured = [...new Set(source.labels.filter((label) => label.length > 0))];
    this.configuredSet = this.configured.length > 0 ? new Set(this.configured) : null;
    this.configuredByKey = new Map(this.configured.map((label) => [lookAlikeFold(label), label]));
    const f = source.fields;
    this.mappedTopLevel = new Set([f.text, f.teacher, f.human, f.id, f.teacherConfidence].map((path) => path.split('.')[0]));
  }

  /** A text or label shows U+FFFD: where the file's bytes may not be UTF-8 (see `result`'s firstInvalidUtf8Line). */
  get hasReplacementCharacter(): boolean {
    return this.replacementCharacter;
  }

  /** The next row of the dataset (rows in line order). */
  add(row: DatasetRow): void {
    this.rows++;
    this.firstRowLine ??= row.line;
    const fields = this.fields;
    if (fields === undefined) return;
    if (this.sample.length < FIELD_GUESS_SAMPLE_ROWS) this.sample.push(row.value);
    if (!hasText(row)) {
      if (row.text !== null || getFieldAt(row.value, fields.text) !== undefined) this.textFieldRows++;
      this.noText.add(row.line);
      return;
    }
    const line = row.line;
    this.textFieldRows++;
    this.withText++;
    this.firstWithTextLine ??= line;
    const { teacher, human } = row;
    if (teacher !== null) {
      this.see(teacher, line, 'teacher');
      this.teacherStringRows++;
    } else {
      this.noLabel('teacher', row, fields.teacher);
    }
    if (human !== null) {
      this.see(human, line, 'human');
      const seen = this.labels.get(human)!;
      if (seen.humanRows++ === 0) seen.humanLine = line;
    } else {
      this.noLabel('human', row, fields.human);
    }
    if (teacher !== null || human !== null) this.firstLabelledLine ??= line;
    if (human !== null && this.configuredSet !== null && !this.configuredSet.has(human)) {
      this.firstHumanOutside ??= human;
      this.humanOutside.add(line);
      if (this.humanOutsideLookAlike === undefined && this.configuredByKey.has(lookAlikeFold(human))) this.humanOutsideLookAlike = { label: human, line };
    }
    const trained = teacherInSet(teacher, this.configuredSet);
    if (teacher !== null && trained === null) {
      this.firstOutsideLabel ??= teacher;
      this.outside.add(line);
      if (this.outsideLookAlike === undefined && this.configuredByKey.has(lookAlikeFold(teacher))) this.outsideLookAlike = { label: teacher, line };
    }
    if (trained !== null) {
      this.teacherLabelled++;
      this.labels.get(trained)!.teacherRow = true;
    }
    if (human !== null) this.humanLabelled++;
    else if (trained === null) this.unlabelled++;
    const label = human ?? trained;
    if (label !== null) {
      this.labelled.add(line);
      const seen = this.labels.get(label)!;
      if (seen.rows++ === 0) seen.rowLine = line;
      this.sameTexts.add(row.text, line, label);
    }
    if (!hasWord(row.text)) this.wordless.add(line);
    if (this.humanLabelled === 0) this.watchOtherFields(row.value, line);
    // A label too: a Latin-1 byte in 'Sports' made a label 'Sp\ufffdrts' of its own, named by no warning.
    if (!this.replacementCharacter && (row.text.includes('\ufffd') || teacher?.includes('\ufffd') || human?.includes('\ufffd'))) this.replacementCharacter = true;
  }

  private see(label: string, line: number, field: LabelSeen['field']): void {
    if (!this.labels.has(label)) this.labels.set(label, { line, field, rows: 0, rowLine: 0, teacherRow: false, humanRows: 0, humanLine: 0 });
  }

  /**
   * Human labels written another way than the teacher's ('positive' beside 'pos', 'POS' beside 'pos'): every paired
   * row then reads as a teacher error, and a run said "Teacher ≈ 0% right", flagged and relabelled nearly every row.
   * Where the human labels take two labels or more and none is a teacher label, the run stops; a label only humans
   * use, beside human labels the teacher uses too, is warned about (it may be a new label, or a spelling).
   */
  private checkHumanLabelsAgainstTeacher(
    labels: readonly string[],
    fail: (check: InputCheckName, message: string, line?: number) => void,
    warn: (check: InputCheckName, message: string, line?: number) => void,
  ): void {
    const seen = (label: string) => this.labels.get(label);
    const human = labels.filter((label) => (seen(label)?.humanRows ?? 0) > 0).sort((a, b) => seen(a)!.humanLine - seen(b)!.humanLine);
    const teacher = labels.filter((label) => seen(label)?.teacherRow === true);
    if (human.length === 0 || teacher.length === 0) return;
    const humanOnly = human.filter((label) => !seen(label)!.teacherRow);
    if (humanOnly.length === 0) return;
    const fields = this.source.fields;
    const shown = (list: readonly string[], describe: (label: string) => string) =>
      list.slice(0, LINES_IN_MESSAGE).map(describe).join(', ') + (list.length > LINES_IN_MESSAGE ? ', …' : '');
    const onHumans = (label: string) => {
      const { humanRows, humanLine } = seen(label)!;
      return `'${printable(label)}' (${humanRows === 1 ? `1 row, line ${humanLine}` : `${humanRows} rows, first on line ${humanLine}`})`;
    };
    const teacherList = shown(teacher, (label) => `'${printable(label)}'`);
    // The teacher label each one may stand for: the same letters in another case, or one the start of the other.
    const likely = humanOnly.flatMap((label) => {
      const lower = label.toLowerCase();
      const match = teacher.find((other) => other.toLowerCase() === lower) ?? teacher.find((other) => other.length >= 2 && (lower.startsWith(other.toLowerCase()) || other.toLowerCase().startsWith(lower)));
      return match === undefined ? [] : [`'${printable(label)}' for '${printable(match)}'?`];
    });
    const hint = likely.length ? ` (${likely.slice(0, LINES_IN_MESSAGE).join(', ')})` : '';
    if (humanOnly.length === human.length && human.length >= 2) {
      fail(
        'human-labels-not-teacher-labels',
        `no human label (field ${fields.human}) is a label the teacher uses (field ${fields.teacher}): the human labels are ${shown(human, onHumans)}, the teacher's ${teacherList}${hint}; ` +
          `a run would count every teacher label on those rows as wrong — write each label the same way in both fields`,
        seen(human[0])!.humanLine,
      );
      return;
    }
    warn(
      'human-only-labels',
      `${humanOnly.length} human label(s) (field ${fields.human}) are on no teacher label (field ${fields.teacher}): ${shown(humanOnly, onHumans)}${hint}; ` +
        `a row with such a human label and a teacher label counts as a teacher error — if one is a teacher label written another way, write it as the teacher does (the teacher's labels: ${teacherList})`,
      seen(humanOnly[0])!.humanLine,
    );
  }

  /** The string values of the row's top-level fields that are not mapped (only while no row had a human label). */
  private watchOtherFields(value: Record<string, unknown>, line: number): void {
    for (const key of Object.keys(value)) {
      // A key holding a dot cannot be named by a field path (`gold.label` reads the member `label` of `gold`): advising
      // --fields.human gold.label led to a run that read no human label and gave the same advice again.
      if (this.mappedTopLevel.has(key) || key.includes('.')) continue;
      const member = value[key];
      if (typeof member !== 'string' || member.trim().length === 0) continue;
      let seen = this.otherFields.get(key);
      if (seen === undefined) {
        if (this.otherFields.size >= WATCHED_FIELDS) continue;
        seen = { rows: 0, firstLine: line, values: new Set() };
        this.otherFields.set(key, seen);
      }
      if (seen.values === null) continue;
      seen.rows++;
      seen.values.add(member);
      if (member.length > MAX_LABEL_LENGTH || seen.values.size > WATCHED_FIELD_VALUES) seen.values = null;
    }
  }

  /**
   * No row has a human label while another field holds labels of the set (`gold_label`, `label`): most likely the
   * human labels under another name. The run said only "no human labels to check this against".
   */
  private humanFieldElsewhere(labels: readonly string[], warn: (check: InputCheckName, message: string, line?: number) => void): void {
    if (this.humanLabelled > 0 || this.teacherLabelled === 0) return;
    const set = new Set(labels);
    const candidates = [...this.otherFields.entries()]
      .filter(([, seen]) => seen.values !== null && seen.values.size > 0 && [...seen.values].every((value) => set.has(value)))
      .sort((a, b) => b[1].rows - a[1].rows || a[1].firstLine - b[1].firstLine);
    if (candidates.length === 0) return;
    const [name, seen] = candidates[0];
    const others = candidates.slice(1, LINES_IN_MESSAGE).map(([other]) => `'${printable(other)}'`);
    warn(
      'human-field-elsewhere',
      `no row has a human label (field ${this.source.fields.human}), while field '${printable(name)}' holds labels of the label set on ${seen.rows} row(s) (first on line ${seen.firstLine})${others.length ? `, and so do ${others.join(', ')}` : ''}: ` +
        `if those are your human labels, set peerkd.fields.human (--fields.human ${shellWord(printable(name))}); without human labels the run cannot check its estimates of the teacher`,
      seen.firstLine,
    );
  }

  /** A row with text whose teacher or human label is null: a blank string, a number, … (the parser's labelValue). */
  private noLabel(side: 'teacher' | 'human', row: DatasetRow, path: readonly string[]): void {
    const value = getFieldAt(row.value, path);
    if (value === undefined || value === null) return;
    if (typeof value === 'string') {
      // An empty human label is how a spreadsheet writes a row not reviewed yet (blankLabelWarnings).
      if (!(side === 'human' && value === '')) this.blank[side].add(row.line);
      return;
    }
    if (side === 'teacher') {
      this.teacherNotString.add(row.line);
      // A number or boolean is the example of the fix ("3" for 3); an object holding a string names the field inside it.
      this.teacherNotStringExample ??=
        typeof value === 'number' || typeof value === 'boolean'
          ? { asString: String(value) }
          : { inside: isPlainObject(value) ? Object.keys(value).find((key) => typeof value[key] === 'string' && /^[^.\s]+$/.test(key)) : undefined };
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      this.nonStringLabels.push({ line: row.line, side, asString: String(value), kind: typeof value === 'number' ? 'a number' : 'a boolean' });
    }
  }

  /**
   * Every check, in the order the run makes them, once every row was added: `file` gives the parser's problems of the
   * whole file (in line order, a field missing on every row folded) and its line counts.
   */
  result(file: Pick<ParsedDataset, 'problems' | 'lineCount' | 'skippedBlankLines'>, firstInvalidUtf8Line: number | null = null): InputCheck {
    const source = this.source;
    const findings: InputFinding[] = [];
    const warn = (check: InputCheckName, message: string, line?: number) => findings.push({ check, severity: 'warning', line, message });
    const fail = (check: InputCheckName, message: string, line?: number, namesLine = line !== undefined) => findings.push({ check, severity: 'error', line, namesLine, message });
    if (this.settingsFinding) {
      findings.push(this.settingsFinding);
      return { findings };
    }
    const configured = this.configured;
    const problems = file.problems;
    const invalidLines = problems.filter((problem) => problem.code === 'invalid-json' || problem.code === 'not-an-object').map((problem) => ({ line: problem.line, message: problem.message }));
    // No row at all: say so, rather than that the rows' fields are named otherwise (the checks below).
    const noRows = noRowsFinding(this.rows, problems);
    if (noRows) {
      findings.push(noRows);
      return { findings };
    }
    const firstRowLine = this.firstRowLine!;
    const skippedNoText = this.rows - this.withText;
    // A label over MAX_LABEL_LENGTH could be trained on but not reviewed: refused where it enters.
    const tooLong = problems.find((problem) => problem.code === 'label-too-long');
    if (tooLong) fail('label-too-long', tooLong.message, tooLong.line);

    // A dataset whose fields are named differently: say which setting maps them and which fields look right.
    const missingText = this.withText === 0 ? missingTextFieldProblemOf(source.fields, this.rows, this.textFieldRows, () => this.sample) : undefined;
    if (missingText) {
      fail('no-text', missingText, firstRowLine, false);
      return { findings };
    }

    // The label set.
    let labels: string[];
    let labelsSource: PreparedInput['labelsSource'];
    // Labels the parser left out because they are no strings (class ids written as numbers, objects, …).
    const notStringLabels = problems.filter((problem) => problem.code === 'label-not-string');
    if (configured.length > 0) {
      labels = configured;
      labelsSource = 'configured';
      if (labels.length < 2) {
        fail('one-configured-label', `the configured label set has only one label ('${labels[0]}'); at least two are needed (setting peerkd.labels or --labels)`, firstRowLine, false);
        return { findings };
      }
      const outside = this.humanOutside;
      if (outside.count > 0) {
        const more = outside.count > 1 ? ` (also on line${outside.count > 2 ? 's' : ''} ${listLines(outside.first.slice(1), outside.count - 1)})` : '';
        // A label of the set written another way (NFD, a trailing space) reads as one of the list: said which.
        const lookAlike = this.humanOutsideLookAlike;
        const hint = lookAlike ? `; ${lookAlikeHint(labels, lookAlike.label, lookAlike.line === outside.first[0] ? undefined : lookAlike.line) ?? ''}` : '';
        fail('human-outside-label-set', `human label '${printable(this.firstHumanOutside ?? '')}' (field ${source.fields.human}) is not in the label set: ${labels.join(', ')}${more}${hint}`, outside.first[0]);
      }
      // Rows of one label under a set of two or more: the peers cannot learn to tell labels apart from them, and
      // without --labels (below) such a file is refused; with a set it ran to 'Teacher ≈ 100% right'. A label is on a
      // row as the unused-labels warning below counts it: as a teacher or a human label.
      const onRows = labels.filter((label) => this.labels.has(label));
      if (outside.count === 0 && onRows.length === 1) {
        const only = onRows[0];
        const line = this.labels.get(only)!.line;
        const unset = this.firstOutsideLabel === undefined ? '' : ` (teacher labels outside the set, e.g. '${printable(this.firstOutsideLabel)}' on line ${this.outside.first[0]}, count as none)`;
        fail(
          'one-label',
          `every label on the rows is '${printable(only)}' (first on line ${line})${unset}, though the label set (setting peerkd.labels or --labels) names ${labels.length}: the peers cannot learn to tell labels apart from rows of one label — add rows with the other labels of the set`,
          line,
        );
        return { findings };
      }
    } else {
      labels = inferLabelSet([...this.labels.keys()].map((label) => ({ teacher: label, human: null })));
      labelsSource = 'inferred';
      // Class ids written as numbers (0, 1, …) are no labels: say so, rather than that the label field is missing.
      if (labels.length === 0 && notStringLabels.length > 0) {
        const first = notStringLabels[0];
        const example = describeFirstValue(first.message);
        fail(
          'no-string-label',
          `${first.message.replace(/, so it is ignored$/, '')}: no label in the dataset is a string — ${notStringLabels.length} label(s) are numbers, objects, arrays or booleans (lines ${listLines(distinctLines(notStringLabels))}); write each label as a JSON string${example === undefined ? '' : `, e.g. "${example}" for ${example}`}`,
          first.line,
        );
        return { findings };
      }
      if (labels.length === 0) {
        fail('no-label-field', missingLabelFieldsMessage(source.fields, candidatesFor(source.fields, this.sample)), firstRowLine, false);
        return { findings };
      }
      if (labels.length < 2) {
        const line = this.firstLabelledLine ?? 1;
        fail('one-label', `every label in the dataset is '${labels[0]}' (first on line ${line}); a label set needs at least two labels — add rows with other labels or configure the label set (setting peerkd.labels or --labels)`, line);
        return { findings };
      }
    }

    if (notStringLabels.length > 0) this.checkNonStringLabels(labels, labelsSource, fail);
    checkLookAlikeLabels(labels, (label) => this.labels.get(label)?.line, fail, warn);
    if (labelsSource === 'configured') {
      const unused = labels.filter((label) => !this.labels.has(label));
      if (unused.length > 0) {
        const shown = unused.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}'`);
        warn(
          'unused-configured-labels',
          `${unused.length} label(s) of the configured label set (setting peerkd.labels or --labels) are on no row: ${shown.join(', ')}${unused.length > LINES_IN_MESSAGE ? ', …' : ''}; the students never see them, so no row is ever suggested one`,
        );
      }
    }

    this.checkHumanLabelsAgainstTeacher(labels, fail, warn);
    this.humanFieldElsewhere(labels, warn);

    // Human labels but no teacher field, while another field looks like the teacher's labels (`llm_label`): the run
    // would train on the human labels alone and flag nothing. The parser's one warning for the file says which setting.
    const teacherFieldMissing = problems.find((problem) => problem.code === 'missing-teacher-field');
    if (teacherFieldMissing) warn('missing-teacher-field', `${source.file}: ${teacherFieldMissing.message.charAt(0).toLowerCase()}${teacherFieldMissing.message.slice(1)}`, teacherFieldMissing.line);
    // Human labels and no teacher label at all, and no field that looks like the teacher's: the run judges nothing and
    // its summary said only "0 rows flagged", as if the teacher had been checked and found right.
    else if (this.teacherStringRows === 0 && this.teacherNotString.count === 0 && this.humanLabelled > 0) {
      warn(
        'no-teacher-labels',
        `no row has a teacher label (field ${source.fields.teacher}), so the run has no teacher label to judge and flags nothing: it trains a student on the ${this.humanLabelled} human label(s) alone — label the rows with peerkd label (or Label with Teacher) first, or set peerkd.fields.teacher (--fields.teacher) to the field that holds the teacher's labels`,
        firstRowLine,
      );
    }

    // A teacher label outside a configured set is treated as an abstention, never trained on (teacherInSet).
    const outside = this.outside;
    if (outside.count > 0) {
      // A teacher label that is a label of the set written another way (NFD, a trailing newline) is named as such.
      const lookAlike = this.outsideLookAlike;
      const hint = lookAlike ? `; ${lookAlikeHint(labels, lookAlike.label, lookAlike.line) ?? ''}` : '';
      warn('teacher-outside-label-set', `${outside.count} teacher label(s) outside the label set were treated as missing (lines ${outside.list()})${hint}`, outside.first[0]);
    }

    // The folds split the labelled rows (teacher or human label), as the method does (pipeline.ts).
    const labelled = this.labelled;
    if (labelled.count < source.folds) {
      const where = labelled.count ? ` (${labelled.phrase()})` : '';
      // Teacher labels there are, but none in a configured set that does not match the file: say that first.
      const advice =
        this.firstOutsideLabel !== undefined
          ? `; ${outside.count} teacher label(s) are not in the configured label set (${labels.join(', ')}), e.g. '${printable(this.firstOutsideLabel)}' on line ${outside.first[0]}: check the label set (setting peerkd.labels or --labels)`
          : '; label more rows or use fewer folds (setting peerkd.training.folds or --folds)';
      fail(
        'fewer-labelled-rows-than-folds',
        `only ${labelled.count} row(s) have a teacher label (field ${source.fields.teacher}) or a human label (field ${source.fields.human})${this.firstOutsideLabel !== undefined ? ' in the label set' : ''}${where}, fewer than the ${source.folds} folds${advice}`,
        labelled.last ?? this.firstWithTextLine,
        false,
      );
    }

    // Labels on few rows: the peers barely saw them, so the engine keeps the teacher's label on their rows (calibration.ts
    // unjudgedLabels, the same rule). A label on one row only, in a file whose labels are all that rare, is named too:
    // the peer that judges that row never saw it.
    const rowsOf = (label: string) => this.labels.get(label)?.rows ?? 0;
    const unjudged = unjudgedLabels(labels.map(rowsOf));
    const labelRows = [...this.labels.values()].filter((seen) => seen.rows > 0);
    // Every label rare (200 labels on 400 rows): unjudgedLabels sets none apart (none is rare *beside the others*), yet
    // the peers learn none of them and the run flagged 398 of 400 rows with an estimated teacher accuracy of 0.005.
    const median = medianLabelRows(labelRows.map((seen) => seen.rows));
    if (median !== undefined && median < MIN_JUDGED_LABEL_ROWS) {
      warn(
        'thin-label-set',
        `the ${labelRows.length} labels have a median of ${median} labelled rows each, fewer than the ${MIN_JUDGED_LABEL_ROWS} the peers need to learn a label: the peers barely see any label, so this run's flags and its estimate of the teacher's accuracy say little — label more rows of each, or use fewer labels (setting peerkd.labels or --labels)`,
      );
    }
    // Named only where a row has it as its teacher label: a label only humans use has no teacher row to keep.
    const setApart = labels.filter((label, index) => unjudged[index] && this.labels.get(label)?.teacherRow === true);
    if (setApart.length > 0) {
      const shown = setApart.slice(0, LINES_IN_MESSAGE).map((label) => {
        const seen = this.labels.get(label)!;
        return seen.rows === 1 ? `'${printable(label)}' (1 row, line ${seen.rowLine})` : `'${printable(label)}' (${seen.rows} rows, first on line ${seen.rowLine})`;
      });
      warn(
        'rare-labels',
        `${setApart.length} label(s) are on too few rows for the peers to learn them: ${shown.join(', ')}${setApart.length > LINES_IN_MESSAGE ? ', …' : ''}; ` +
          `a row with such a teacher label keeps it (P(teacher wrong) is the teacher's estimated error rate, moved by the human labels of rows with that teacher label; the engine never relabels it) — label at least ${MIN_JUDGED_LABEL_ROWS} rows of each for the peers to judge them`,
        this.labels.get(setApart[0])!.rowLine,
      );
    }
    const single = labels.filter((label, index) => !unjudged[index] && rowsOf(label) === 1);
    if (single.length > 0) {
      const shown = single.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}' (line ${this.labels.get(label)!.rowLine})`);
      warn(
        'single-row-labels',
        `${single.length} label(s) are on one row only: ${shown.join(', ')}${single.length > LINES_IN_MESSAGE ? ', …' : ''}; the peer that judges that row never saw the label, so it cannot confirm it (whether the row is flagged rests on the teacher's estimated accuracy alone) — label more rows of it`,
        this.labels.get(single[0])!.rowLine,
      );
    }

    if (notStringLabels.length > 0) {
      warn(
        'label-not-string',
        `${notStringLabels.length} label(s) are not strings (a number, object, array or boolean) and were treated as missing (lines ${listLines(distinctLines(notStringLabels))})`,
        notStringLabels[0].line,
      );
    }

    const badConfidences = problems.filter((problem) => problem.code === 'invalid-confidence');
    if (badConfidences.length > 0) {
      warn(
        'invalid-confidence',
        `${badConfidences.length} teacher confidence(s) (field ${source.fields.teacherConfidence}) are not a probability between 0 and 1 and were ignored (lines ${listLines(badConfidences.map((problem) => problem.line))})`,
        badConfidences[0].line,
      );
    }

    if (skippedNoText > 0) {
      warn('rows-without-text', `${skippedNoText} row(s) have no text (field ${source.fields.text}: empty, blank, absent or not a string) and were left out (${this.noText.phrase()})`, this.noText.first[0]);
    }
    // A label field holding an empty or blank string ("", "  ", an LLM's "\n") is no label, as the parser reads it; said
    // once per field with the lines, so a teacher that answered nothing on some rows is not taken for an unlabelled file.
    // An empty human label ("") is not said: it is how a spreadsheet turned into JSONL writes every row not reviewed yet,
    // so the warning named most rows of a normal file; white space there is said (a label deleted but for a space).
    for (const side of ['teacher', 'human'] as const) {
      const lines = this.blank[side];
      if (lines.count > 0) {
        warn('blank-labels', `${lines.count} ${side} label(s) (field ${source.fields[side]}) are empty or blank strings and were treated as no label (${lines.phrase()})`, lines.first[0]);
      }
    }
    const wordless = this.wordless;
    if (wordless.count > 0) {
      warn(
        'wordless-rows',
        `${wordless.count} row(s) have no word in their text (field ${source.fields.text}) that the students read — letters, digits, CJK characters or emoji (${wordless.phrase()}): the students learn nothing from them, and judge their labels by how common each label is`,
        wordless.first[0],
      );
    }
    const conflicting = this.sameTexts.conflictingTextWarning();
    if (conflicting) warn('conflicting-texts', conflicting.message, conflicting.line);

    // A row without an id is known by its text (parse.ts duplicateIdProblem, whose problem is then about the text field):
    // "repeat an earlier row's id" sent the user looking for ids in a file that has none.
    const duplicates = problems.filter((problem) => problem.code === 'duplicate-id');
    const sameText = (problem: Problem) => problem.field === source.fields.text && source.fields.text !== source.fields.id;
    const repeatedIds = duplicates.filter((problem) => !sameText(problem));
    const repeatedTexts = duplicates.filter(sameText);
    if (repeatedIds.length > 0) {
      warn('duplicate-ids', `${repeatedIds.length} row(s) repeat an earlier row's id, so their predictions share it (lines ${listLines(repeatedIds.map((problem) => problem.line))})`, repeatedIds[0].line);
    }
    if (repeatedTexts.length > 0) {
      warn(
        'duplicate-ids',
        `${repeatedTexts.length} row(s) have no id (field ${source.fields.id}) and the text of an earlier row without one, so their predictions share its id, made from the text (lines ${listLines(repeatedTexts.map((problem) => problem.line))}); give each row an id to tell them apart`,
        repeatedTexts[0].line,
      );
    }
    const badIds = problems.filter((problem) => problem.code === 'invalid-id');
    if (badIds.length > 0) {
      warn(
        'invalid-ids',
        `${badIds.length} row(s) have an id (field ${source.fields.id}) that is not a string or number (an object, array or boolean): it is ignored, so these rows are known by their text and their predictions carry an id made from it (lines ${listLines(badIds.map((problem) => problem.line))}); write each id as a string`,
        badIds[0].line,
      );
    }

    const counts: InputCounts = {
      lines: file.lineCount - file.skippedBlankLines,
      rows: this.withText,
      invalidLines: invalidLines.length,
      skippedNoText,
      teacherLabelled: this.teacherLabelled,
      humanLabelled: this.humanLabelled,
      unlabelled: this.unlabelled,
      teacherOutsideLabelSet: outside.count,
    };
    // Bytes that are not UTF-8 (a Latin-1 file) are read as U+FFFD: trained on, but not what the file holds. Said when
    // a text shows U+FFFD (a real one, written as valid UTF-8, is fine), naming the first line found invalid.
    if (firstInvalidUtf8Line !== null && this.replacementCharacter) {
      warn(
        'invalid-utf8',
        `line ${firstInvalidUtf8Line} holds bytes that are not valid UTF-8 (later lines may too); they are read as U+FFFD, so the students see other text than the file holds — save the file as UTF-8`,
        firstInvalidUtf8Line,
      );
    }
    return { findings, input: { rows: [], labels, labelsSource, counts, invalidLines } };
  }

  /**
   * Labels are JSON strings; a number or boolean is no label (the parser warns and leaves it out). Where it is the very
   * label another row (or the configured set) writes as a string — `1` beside `"1"`, a teacher's `1` beside a human's
   * `"1"` — leaving it out would silently drop part of one class (every teacher label, when only the human labels are
   * strings): refused, naming both lines, since only the user can say that they are one label. A teacher field with no
   * string label at all is refused too: the run would train on the human labels alone and flag nothing.
   */
  private checkNonStringLabels(labels: readonly string[], labelsSource: PreparedInput['labelsSource'], fail: (check: InputCheckName, message: string, line?: number) => void): void {
    const source = this.source;
    const set = new Set(labels);
    for (const found of this.nonStringLabels) {
      const { asString } = found;
      if (!set.has(asString)) continue;
      let where: string;
      if (labelsSource === 'configured') {
        where = `the configured label set (setting peerkd.labels or --labels) has the label '${printable(asString)}' as a string`;
      } else {
        const other = this.labels.get(asString)!;
        where = `line ${other.line} writes the label '${printable(asString)}' as a string (field ${source.fields[other.field]})`;
      }
      fail(
        'number-beside-string-label',
        `${found.side} label ${asString} (field ${source.fields[found.side]}) is ${found.kind}, while ${where}: labels are JSON strings, so ${asString} would be left out as no label while '${printable(asString)}' is trained on — write every label as a JSON string (${JSON.stringify(asString)})`,
        found.line,
      );
    }
    const notString = this.teacherNotString;
    if (notString.count > 0 && this.teacherStringRows === 0) {
      const example = this.teacherNotStringExample!;
      const inside = 'inside' in example ? example.inside : undefined;
      const write = 'asString' in example ? `write each label as a JSON string, e.g. "${example.asString}" for ${example.asString}` : 'write each label as a JSON string';
      const field = inside !== undefined
        ? `or, if the label is the '${inside}' inside it, set peerkd.fields.teacher (--fields.teacher) to ${source.fields.teacher}.${inside}`
        : `or set peerkd.fields.teacher (--fields.teacher) to the field that holds the teacher's labels`;
      fail(
        'no-string-teacher-label',
        `no teacher label (field ${source.fields.teacher}) is a string: ${notString.count} are numbers, objects, arrays or booleans (lines ${notString.list()}), so the run would flag nothing (it would train on the human labels alone) — ${write}, ${field}`,
        notString.first[0],
      );
    }
  }
}

/**
 * The texts of labelled rows, to find those on several rows with different labels (a row's label: its human label,
 * else its teacher label in the set), without keeping them: the texts' numbers (TextIndex, two 64-bit-hashed texts of
 * one length taken for one), each distinct text's first line and first label, and a group for each text met again
 * (the run's divergence check, pipeline.ts textsWithSeveralLabels, compares texts).
 */
class SameTextIndex {
  private readonly texts = new TextIndex();
  private lines = new Int32Array(1 << 9);
  private readonly firstLabels: string[] = [];
  /** The texts met again, by entry, in the order they were met again: their later lines and their labels. */
  private readonly groups = new Map<number, { lines: LineList; labels: string[] }>();

  add(text: string, line: number, label: string): void {
    const entry = this.texts.numberOf(text);
    if (entry === this.firstLabels.length) {
      if (entry === this.lines.length) this.lines = grownArray(this.lines, this.lines.length * 2);
      this.lines[entry] = line;
      this.firstLabels.push(label);
      return;
    }
    let group = this.groups.get(entry);
    if (!group) {
      group = { lines: new LineList(), labels: [this.firstLabels[entry]] };
      this.groups.set(entry, group);
    }
    group.lines.add(line);
    if (!group.labels.includes(label)) group.labels.push(label);
  }

  /**
   * Rows with the very same text and different labels (the label each trains on: the human's, else the teacher's): the
   * students get one input for them, so they learn at most one of those labels and flag the others. Said with the lines
   * and labels of the text on most rows (a boilerplate text such as "[deleted]" that an LLM labelled at random).
   */
  conflictingTextWarning(): { message: string; line: number } | undefined {
    let conflicts = 0;
    let shown: { entry: number; lines: LineList; labels: string[] } | undefined;
    for (const [entry, group] of this.groups) {
      if (group.labels.length < 2) continue;
      conflicts++;
      if (!shown || group.lines.count > shown.lines.count) shown = { entry, ...group };
    }
    if (!shown) return undefined;
    const labels = shown.labels;
    const line = this.lines[shown.entry];
    const labelList = labels.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}'`).join(', ') + (labels.length > LINES_IN_MESSAGE ? ', …' : '');
    const message =
      `${conflicts} text(s) are on several rows with different labels: ${conflicts > 1 ? 'e.g. ' : ''}line ${line}'s text is also on ${shown.lines.phrase()} (labels ${labelList}); ` +
      'the students see one input there and cannot tell those rows apart — give each row the label its text has';
    return { message, line };
  }
}


/**
 * The texts that are on rows of two or more labels (a row's label: its human label, else its teacher label; rows with
 * neither are left out), each with its first row's index in `rows`, the lines of its other rows and its labels. The
 * run's warning names them; the error of students that diverged (pipeline.ts) counts them.
 */
export function textsWithSeveralLabels(rows: readonly TrainingRow[]): { first: number; lines: number[]; labels: Set<string> }[] {
  const firstOfText = new Map<string, number>();
  const groups = new Map<number, { lines: number[]; labels: Set<string> }>();
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index];
    const label = row.human ?? row.teacher;
    if (label === null) continue;
    const first = firstOfText.get(row.text);
    if (first === undefined) {
      firstOfText.set(row.text, index);
      continue;
    }
    let group = groups.get(first);
    if (!group) {
      const firstLabel = rows[first].human ?? rows[first].teacher;
      group = { lines: [], labels: new Set(firstLabel === null ? [] : [firstLabel]) };
      groups.set(first, group);
    }
    group.lines.push(row.line);
    group.labels.add(label);
  }
  return [...groups].filter(([, group]) => group.labels.size >= 2).map(([first, group]) => ({ first, ...group }));
}

/** The value a parser message quotes first ("Teacher label 0 (field …)" → "0"), for the example in an error. */
function describeFirstValue(message: string): string | undefined {
  const value = /^\S+ label (.+?) \(field /.exec(message)?.[1];
  // "an object", "an array": no value to write as a string in the example.
  return value === undefined || /^an? /.test(value) ? undefined : value;
}

/** The lines of `problems`, each once (a row whose teacher and human labels are both numbers is one line). */
function distinctLines(problems: readonly Problem[]): number[] {
  return [...new Set(problems.map((problem) => problem.line))];
}

/** A label that reads as a decimal number (digits, an optional sign and fraction). */
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;

/**
 * Labels that a reader cannot tell apart. Two that are the same text in different Unicode normalisation (é as one
 * code point, NFC, or as e + a combining accent, NFD), or with other white space around or inside them ('Sports' and
 * an LLM's 'Sports\n'), would be trained as two classes shown with one name: refused, naming both lines, since only
 * the user can say which spelling is meant. Labels that differ only by case may be
 * meant (rarely), so they are kept apart with a warning.
 */
function checkLookAlikeLabels(
  labels: readonly string[],
  firstLine: (label: string) => number | undefined,
  fail: (check: InputCheckName, message: string, line?: number) => void,
  warn: (check: InputCheckName, message: string, line?: number) => void,
): void {
  const form = (label: string) => (label === label.normalize('NFC') ? 'NFC' : label === label.normalize('NFD') ? 'NFD' : 'mixed');
  const where = (label: string, withForm = false) => {
    const line = firstLine(label);
    const parts = [line === undefined ? '' : `line ${line}`, withForm ? form(label) : ''].filter((part) => part.length > 0);
    return parts.length ? ` (${parts.join(', ')})` : '';
  };
  const byNormalForm = new Map<string, string>();
  const byCase = new Map<string, string>();
  const byNumber = new Map<number, string>();
  // A label such as ' World' or an LLM's 'Sports\n' with no plain twin in the file is trained as written; said, since a
  // teacher or a label list that writes it plainly names another label.
  // eslint-disable-next-line no-control-regex
  const odd = labels.filter((label) => label !== label.trim() || /[\u0000-\u001f\u007f-\u009f]/.test(label) || label.replace(INVISIBLE_CHARACTERS, '') !== label);
  if (odd.length > 0) {
    const shown = odd.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}'${where(label)}`);
    warn(
      'odd-labels',
      `${odd.length} label(s) have white space around them, control characters or invisible characters: ${shown.join(', ')}${odd.length > LINES_IN_MESSAGE ? ', …' : ''}; they are kept as written, so a label written without them (by the teacher, in peerkd.labels) is another label`,
      firstLine(odd[0]),
    );
  }
  for (const label of labels) {
    const normal = lookAlikeKey(label);
    const seen = byNormalForm.get(normal);
    if (seen !== undefined) {
      const [a, b] = [seen, label].sort((x, y) => (firstLine(x) ?? 0) - (firstLine(y) ?? 0));
      const line = firstLine(b);
      const unicode = a.normalize('NFC') === b.normalize('NFC');
      const visible = (text: string) => text.normalize('NFC').replace(INVISIBLE_CHARACTERS, '');
      const how = unicode
        ? `labels '${printable(a)}'${where(a, true)} and '${printable(b)}'${where(b, true)} look the same but are written with different Unicode characters; write them the same way (e.g. save the file as NFC)`
        : visible(a) !== visible(b)
          ? `labels '${printable(a)}'${where(a)} and '${printable(b)}'${where(b)} differ only in white space; write them the same way (e.g. without spaces or line breaks around the label)`
          : `labels '${printable(a)}'${where(a)} and '${printable(b)}'${where(b)} differ only in invisible characters (zero-width spaces, soft hyphens, format marks); write them the same way`;
      fail('look-alike-labels', `${how} or they are trained as two labels`, line);
      continue;
    }
    byNormalForm.set(normal, label);
    // '01' and '1', '2' and '2.0': one class id written two ways (a spreadsheet dropped a zero), or two labels.
    if (DECIMAL.test(label)) {
      const value = Number(label);
      const sameNumber = byNumber.get(value);
      if (sameNumber !== undefined) {
        const [a, b] = [sameNumber, label].sort((x, y) => (firstLine(x) ?? 0) - (firstLine(y) ?? 0));
        warn('number-labels', `labels '${a}'${where(a)} and '${b}'${where(b)} are the same number written differently; they are trained as two labels — write them the same way if they are one`, firstLine(b));
      } else {
        byNumber.set(value, label);
      }
    }
    const folded = lookAlikeFold(label);
    const sameCase = byCase.get(folded);
    if (sameCase !== undefined) {
      const [a, b] = [sameCase, label].sort((x, y) => (firstLine(x) ?? 0) - (firstLine(y) ?? 0));
      warn('case-labels', `labels '${printable(a)}'${where(a)} and '${printable(b)}'${where(b)} differ only by case; they are trained as two labels — write them the same way if they are one`, firstLine(b));
    } else {
      byCase.set(folded, label);
    }
  }
}
