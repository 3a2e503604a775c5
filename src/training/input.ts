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
  INVISIBLE_CHARACTERS,
  getFieldAt,
  inferLabelSet,
  labelListProblem,
  lookAlikeHint,
  lookAlikeKey,
  missingLabelFieldsMessage,
  parseDatasetText,
  printable,
  readDatasetFile,
  missingTextFieldProblem,
  Utf8LineValidator,
} from '../dataset';
import type { DatasetRow, FieldMapping, ParsedDataset, Problem } from '../dataset/types';
import { humanFieldProblem } from '../review/writes';
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

function listLines(lines: readonly number[]): string {
  const shown = lines.slice(0, LINES_IN_MESSAGE).join(', ');
  return lines.length > LINES_IN_MESSAGE ? `${shown}, … (${lines.length} in all)` : shown;
}

/** `line 4` or `lines 2, 3, …`. */
function linesPhrase(lines: readonly number[]): string {
  return `line${lines.length > 1 ? 's' : ''} ${listLines(lines)}`;
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
  const fail = (error: unknown): never => {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : error instanceof Error ? error.message : String(error);
    throw new InputError(`${file}: ${reason}`, file);
  };
  const before = await fs.stat(file).catch(fail);
  // Read twice below (rows and hash): a FIFO would wait for a writer, or split its data between the readers, forever.
  if (!before.isFile()) {
    if (before.isDirectory()) throw new InputError(fileError(file, { code: 'EISDIR' }).message, file);
    throw new InputError(`${file}: not a regular file (a FIFO, socket or device), so it cannot be read as a dataset`, file);
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

/** A parsed file without a single row: the finding (see noRowsError), or undefined when it has a row. */
function noRowsFinding(parsed: Pick<ParsedDataset, 'rows' | 'problems'>): InputFinding | undefined {
  if (parsed.rows.length > 0) return undefined;
  const invalidLines = parsed.problems.filter((problem) => problem.code === 'invalid-json' || problem.code === 'not-an-object');
  if (invalidLines.length === 0) {
    return { check: 'no-rows', severity: 'error', message: 'the file has no rows (it is empty or holds only blank lines); a dataset has one JSON object per line' };
  }
  const first = invalidLines[0];
  const how = invalidLines.length === 1 ? 'the only non-blank line is invalid' : `all ${invalidLines.length.toLocaleString('en-US')} non-blank lines are invalid, the first`;
  return { check: 'no-rows', severity: 'error', line: first.line, namesLine: true, message: `no line is a valid row: ${how}: ${first.message}` };
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
  const finding = noRowsFinding(parsed);
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
  return { ...check.input, warnings, datasetSha256 };
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
  const fallback = parsed.rows[0]?.line ?? 1;
  const problems: Problem[] = [];
  for (const finding of checkTrainingInput(parsed, source, firstInvalidUtf8Line).findings) {
    if (PARSER_SAID.has(finding.check)) continue;
    const line = finding.line ?? fallback;
    const text = lineText?.(line) ?? '';
    const start = text.length - text.trimStart().length;
    const end = Math.max(start, text.trimEnd().length);
    problems.push({ code: 'run-check', severity: finding.severity, line, column: start + 1, endColumn: end + 1, message: finding.message });
  }
  return problems;
}

/**
 * Which rule of checkTrainingInput a finding comes from (tests and the Problems panel tell them apart by it). Those in
 * PARSER_SAID restate, for the run's log, problems the parser already reports line by line (parse.ts), which
 * validation shows as they are.
 */
export const INPUT_CHECKS = [
  'label-list',
  'human-field',
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
  'missing-teacher-field',
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
  input?: Omit<PreparedInput, 'warnings' | 'datasetSha256'>;
}

/**
 * Every check a run makes of its input, on a parsed dataset: the one source of the run's errors and warnings
 * (prepareParsedInput) and of the same findings in validation (inputProblems). Throws nothing: a finding that makes
 * the later checks meaningless (no row, no label set) ends the list.
 */
export function checkTrainingInput(parsed: ParsedDataset, source: Omit<InputSource, 'text'>, firstInvalidUtf8Line: number | null = null): InputCheck {
  const file = source.file;
  const findings: InputFinding[] = [];
  const warn = (check: InputCheckName, message: string, line?: number) => findings.push({ check, severity: 'warning', line, message });
  const fail = (check: InputCheckName, message: string, line?: number, namesLine = line !== undefined) => findings.push({ check, severity: 'error', line, namesLine, message });
  const listProblem = configuredLabelsProblem(source);
  if (listProblem) {
    fail('label-list', listProblem);
    return { findings };
  }
  // A human label field that is also the teacher's (or the text's, the id's, or inside one) reads every teacher label as
  // a human one: the run is refused (Run Distillation, `peerkd distill`), so validation says so too (review/writes.ts).
  const humanField = humanFieldProblem(source.fields);
  if (humanField) {
    fail('human-field', humanField);
    return { findings };
  }
  const configured = [...new Set(source.labels.filter((label) => label.length > 0))];
  const invalidLines = parsed.problems
    .filter((problem) => problem.code === 'invalid-json' || problem.code === 'not-an-object')
    .map((problem) => ({ line: problem.line, message: problem.message }));
  // No row at all: say so, rather than that the rows' fields are named otherwise (the checks below).
  const noRows = noRowsFinding(parsed);
  if (noRows) {
    findings.push(noRows);
    return { findings };
  }
  const withText = parsed.rows.filter(hasText);
  const skippedNoText = parsed.rows.length - withText.length;
  // A label over MAX_LABEL_LENGTH could be trained on but not reviewed: refused where it enters.
  const tooLong = parsed.problems.find((problem) => problem.code === 'label-too-long');
  if (tooLong) fail('label-too-long', tooLong.message, tooLong.line);

  // A dataset whose fields are named differently: say which setting maps them and which fields look right.
  const rowValues = () => parsed.rows.slice(0, FIELD_GUESS_SAMPLE_ROWS).map((row) => row.value);
  const missingText = withText.length === 0 ? missingTextFieldProblem(source.fields, parsed.rows) : undefined;
  if (missingText) {
    fail('no-text', missingText, parsed.rows[0].line, false);
    return { findings };
  }

  // The label set.
  let labels: string[];
  let labelsSource: PreparedInput['labelsSource'];
  // Labels the parser left out because they are no strings (class ids written as numbers, objects, …).
  const notStringLabels = parsed.problems.filter((problem) => problem.code === 'label-not-string');
  if (configured.length > 0) {
    labels = configured;
    labelsSource = 'configured';
    if (labels.length < 2) {
      fail('one-configured-label', `the configured label set has only one label ('${labels[0]}'); at least two are needed (setting peerkd.labels)`, parsed.rows[0].line, false);
      return { findings };
    }
    const outside = withText.filter((row) => row.human !== null && !configured.includes(row.human));
    if (outside.length > 0) {
      const first = outside[0];
      const more = outside.length > 1 ? ` (also on line${outside.length > 2 ? 's' : ''} ${listLines(outside.slice(1).map((row) => row.line))})` : '';
      // A label of the set written another way (NFD, a trailing space) reads as one of the list: said which.
      const lookAlike = outside.find((row) => lookAlikeHint(labels, row.human!) !== undefined);
      const hint = lookAlike ? `; ${lookAlikeHint(labels, lookAlike.human!, lookAlike === first ? undefined : lookAlike.line)}` : '';
      fail('human-outside-label-set', `human label '${printable(first.human ?? '')}' (field ${source.fields.human}) is not in the label set: ${labels.join(', ')}${more}${hint}`, first.line);
    }
  } else {
    labels = inferLabelSet(withText);
    labelsSource = 'inferred';
    // Class ids written as numbers (0, 1, …) are no labels: say so, rather than that the label field is missing.
    if (labels.length === 0 && notStringLabels.length > 0) {
      const first = notStringLabels[0];
      const example = describeFirstValue(first.message);
      fail(
        'no-string-label',
        `${first.message.replace(/, so it is ignored$/, '')}: no label in the dataset is a string — ${notStringLabels.length} label(s) are numbers, objects, arrays or booleans (lines ${listLines(notStringLabels.map((problem) => problem.line))}); write each label as a JSON string, e.g. "${example}" for ${example}`,
        first.line,
      );
      return { findings };
    }
    if (labels.length === 0) {
      fail('no-label-field', missingLabelFieldsMessage(source.fields, candidatesFor(source.fields, rowValues())), parsed.rows[0].line, false);
      return { findings };
    }
    if (labels.length < 2) {
      const first = withText.find((row) => row.teacher !== null || row.human !== null);
      const line = first?.line ?? 1;
      fail('one-label', `every label in the dataset is '${labels[0]}' (first on line ${line}); a label set needs at least two labels — add rows with other labels or configure peerkd.labels`, line);
      return { findings };
    }
  }

  if (notStringLabels.length > 0) checkNonStringLabels(labels, labelsSource, withText, new Set(notStringLabels.map((problem) => problem.line)), source, fail);
  checkLookAlikeLabels(labels, withText, fail, warn);
  if (labelsSource === 'configured') {
    const used = new Set<string>();
    for (const row of withText) {
      if (row.teacher !== null) used.add(row.teacher);
      if (row.human !== null) used.add(row.human);
    }
    const unused = labels.filter((label) => !used.has(label));
    if (unused.length > 0) {
      const shown = unused.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}'`);
      warn(
        'unused-configured-labels',
        `${unused.length} label(s) of the configured label set (setting peerkd.labels or --labels) are on no row: ${shown.join(', ')}${unused.length > LINES_IN_MESSAGE ? ', …' : ''}; the students never see them, so no row is ever suggested one`,
      );
    }
  }

  // Human labels but no teacher field, while another field looks like the teacher's labels (`llm_label`): the run
  // would train on the human labels alone and flag nothing. The parser's one warning for the file says which setting.
  const teacherFieldMissing = parsed.problems.find((problem) => problem.code === 'missing-teacher-field');
  if (teacherFieldMissing) warn('missing-teacher-field', `${file}: ${teacherFieldMissing.message.charAt(0).toLowerCase()}${teacherFieldMissing.message.slice(1)}`, teacherFieldMissing.line);

  // The rows. A teacher label outside a configured set is treated as an abstention, never trained on.
  const labelSet = new Set(labels);
  let teacherOutsideLabelSet = 0;
  let firstOutsideLabel: string | undefined;
  const outsideLines: number[] = [];
  const rows: TrainingRow[] = withText.map((row) => {
    let teacher = row.teacher;
    if (teacher !== null && !labelSet.has(teacher)) {
      firstOutsideLabel ??= teacher;
      teacherOutsideLabelSet++;
      outsideLines.push(row.line);
      teacher = null;
    }
    return { id: row.id, line: row.line, text: row.text, teacher, human: row.human, teacherConfidence: row.teacherConfidence };
  });
  if (teacherOutsideLabelSet > 0) {
    // A teacher label that is a label of the set written another way (NFD, a trailing newline) is named as such.
    const lookAlike = withText.find((row) => row.teacher !== null && !labelSet.has(row.teacher) && lookAlikeHint(labels, row.teacher) !== undefined);
    const hint = lookAlike ? `; ${lookAlikeHint(labels, lookAlike.teacher!, lookAlike.line)}` : '';
    warn('teacher-outside-label-set', `${teacherOutsideLabelSet} teacher label(s) outside the label set were treated as missing (lines ${listLines(outsideLines)})${hint}`, outsideLines[0]);
  }

  // The folds split the labelled rows (teacher or human label), as the method does (pipeline.ts).
  const labelledLines = rows.filter((row) => row.teacher !== null || row.human !== null).map((row) => row.line);
  if (labelledLines.length < source.folds) {
    const where = labelledLines.length ? ` (line${labelledLines.length > 1 ? 's' : ''} ${listLines(labelledLines)})` : '';
    // Teacher labels there are, but none in a configured set that does not match the file: say that first.
    const advice =
      firstOutsideLabel !== undefined
        ? `; ${teacherOutsideLabelSet} teacher label(s) are not in the configured label set (${labels.join(', ')}), e.g. '${printable(firstOutsideLabel)}' on line ${outsideLines[0]}: check the label set (setting peerkd.labels or --labels)`
        : '; label more rows or use fewer folds (setting peerkd.training.folds or --folds)';
    fail(
      'fewer-labelled-rows-than-folds',
      `only ${labelledLines.length} row(s) have a teacher label (field ${source.fields.teacher}) or a human label (field ${source.fields.human})${firstOutsideLabel !== undefined ? ' in the label set' : ''}${where}, fewer than the ${source.folds} folds${advice}`,
      labelledLines[labelledLines.length - 1] ?? rows[0]?.line,
      false,
    );
  }

  // Labels on few rows: the peers barely saw them, so the engine keeps the teacher's label on their rows (calibration.ts
  // unjudgedLabels, the same rule). A label on one row only, in a file whose labels are all that rare, is named too:
  // the peer that judges that row never saw it.
  const rowsOfLabel = new Map<string, { rows: number; line: number }>();
  for (const row of rows) {
    const label = row.human ?? row.teacher;
    if (label === null) continue;
    const seen = rowsOfLabel.get(label);
    if (seen) seen.rows++;
    else rowsOfLabel.set(label, { rows: 1, line: row.line });
  }
  const unjudged = unjudgedLabels(labels.map((label) => rowsOfLabel.get(label)?.rows ?? 0));
  // Every label rare (200 labels on 400 rows): unjudgedLabels sets none apart (none is rare *beside the others*), yet
  // the peers learn none of them and the run flagged 398 of 400 rows with an estimated teacher accuracy of 0.005.
  const median = medianLabelRows([...rowsOfLabel.values()].map((seen) => seen.rows));
  if (median !== undefined && median < MIN_JUDGED_LABEL_ROWS) {
    warn(
      'thin-label-set',
      `the ${rowsOfLabel.size} labels have a median of ${median} labelled rows each, fewer than the ${MIN_JUDGED_LABEL_ROWS} the peers need to learn a label: the peers barely see any label, so this run's flags and its estimate of the teacher's accuracy say little — label more rows of each, or use fewer labels (setting peerkd.labels or --labels)`,
    );
  }
  // Named only where a row has it as its teacher label: a label only humans use has no teacher row to keep.
  const teacherLabels = new Set(rows.map((row) => row.teacher));
  const setApart = labels.filter((label, index) => unjudged[index] && teacherLabels.has(label));
  if (setApart.length > 0) {
    const shown = setApart.slice(0, LINES_IN_MESSAGE).map((label) => {
      const seen = rowsOfLabel.get(label)!;
      return seen.rows === 1 ? `'${printable(label)}' (1 row, line ${seen.line})` : `'${printable(label)}' (${seen.rows} rows, first on line ${seen.line})`;
    });
    warn(
      'rare-labels',
      `${setApart.length} label(s) are on too few rows for the peers to learn them: ${shown.join(', ')}${setApart.length > LINES_IN_MESSAGE ? ', …' : ''}; ` +
        `a row with such a teacher label keeps it (P(teacher wrong) is the teacher's estimated error rate, moved by the human labels of rows with that teacher label; the engine never relabels it) — label at least ${MIN_JUDGED_LABEL_ROWS} rows of each for the peers to judge them`,
      rowsOfLabel.get(setApart[0])!.line,
    );
  }
  const single = labels.filter((label, index) => !unjudged[index] && rowsOfLabel.get(label)?.rows === 1);
  if (single.length > 0) {
    const shown = single.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}' (line ${rowsOfLabel.get(label)?.line})`);
    warn(
      'single-row-labels',
      `${single.length} label(s) are on one row only: ${shown.join(', ')}${single.length > LINES_IN_MESSAGE ? ', …' : ''}; the peer that judges that row never saw the label, so it cannot confirm it (whether the row is flagged rests on the teacher's estimated accuracy alone) — label more rows of it`,
      rowsOfLabel.get(single[0])!.line,
    );
  }

  if (notStringLabels.length > 0) {
    warn(
      'label-not-string',
      `${notStringLabels.length} label(s) are not strings (a number, object, array or boolean) and were treated as missing (lines ${listLines(notStringLabels.map((problem) => problem.line))})`,
      notStringLabels[0].line,
    );
  }

  const badConfidences = parsed.problems.filter((problem) => problem.code === 'invalid-confidence');
  if (badConfidences.length > 0) {
    warn(
      'invalid-confidence',
      `${badConfidences.length} teacher confidence(s) (field ${source.fields.teacherConfidence}) are not a probability between 0 and 1 and were ignored (lines ${listLines(badConfidences.map((problem) => problem.line))})`,
      badConfidences[0].line,
    );
  }

  if (skippedNoText > 0) {
    const noTextLines = parsed.rows.filter((row) => !hasText(row)).map((row) => row.line);
    warn('rows-without-text', `${skippedNoText} row(s) have no text (field ${source.fields.text}: empty, blank, absent or not a string) and were left out (${linesPhrase(noTextLines)})`, noTextLines[0]);
  }
  for (const blank of blankLabelWarnings(withText, source.fields)) warn('blank-labels', blank.message, blank.line);
  const wordless = rows.filter((row) => !hasWord(row.text)).map((row) => row.line);
  if (wordless.length > 0) {
    warn(
      'wordless-rows',
      `${wordless.length} row(s) have no word in their text (field ${source.fields.text}) that the students read — letters, digits, CJK characters or emoji (${linesPhrase(wordless)}): the students learn nothing from them, and judge their labels by how common each label is`,
      wordless[0],
    );
  }
  const conflicting = conflictingTextWarning(rows);
  if (conflicting) warn('conflicting-texts', conflicting.message, conflicting.line);

  const duplicates = parsed.problems.filter((problem) => problem.code === 'duplicate-id');
  if (duplicates.length > 0) {
    warn('duplicate-ids', `${duplicates.length} row(s) repeat an earlier row's id, so their predictions share it (lines ${listLines(duplicates.map((problem) => problem.line))})`, duplicates[0].line);
  }

  let humanLabelled = 0;
  let unlabelled = 0;
  for (const row of rows) {
    if (row.human !== null) humanLabelled++;
    else if (row.teacher === null) unlabelled++;
  }
  const counts: InputCounts = {
    lines: parsed.lineCount - parsed.skippedBlankLines,
    rows: rows.length,
    invalidLines: invalidLines.length,
    skippedNoText,
    teacherLabelled: rows.filter((row) => row.teacher !== null).length,
    humanLabelled,
    unlabelled,
    teacherOutsideLabelSet,
  };
  // Bytes that are not UTF-8 (a Latin-1 file) are read as U+FFFD: trained on, but not what the file holds. Said when
  // a text shows U+FFFD (a real one, written as valid UTF-8, is fine), naming the first line found invalid.
  if (firstInvalidUtf8Line !== null && rows.some((row) => row.text.includes('\ufffd'))) {
    warn(
      'invalid-utf8',
      `line ${firstInvalidUtf8Line} holds bytes that are not valid UTF-8 (later lines may too); they are read as U+FFFD, so the students see other text than the file holds — save the file as UTF-8`,
      firstInvalidUtf8Line,
    );
  }
  return { findings, input: { rows, labels, labelsSource, counts, invalidLines } };
}

/**
 * Labels are JSON strings; a number or boolean is no label (the parser warns and leaves it out). Where it is the very
 * label another row (or the configured set) writes as a string — `1` beside `"1"`, a teacher's `1` beside a human's
 * `"1"` — leaving it out would silently drop part of one class (every teacher label, when only the human labels are
 * strings): refused, naming both lines, since only the user can say that they are one label. A teacher field with no
 * string label at all is refused too: the run would train on the human labels alone and flag nothing.
 */
function checkNonStringLabels(
  labels: readonly string[],
  labelsSource: PreparedInput['labelsSource'],
  rows: readonly DatasetRow[],
  notStringLines: ReadonlySet<number>,
  source: Omit<InputSource, 'text'>,
  fail: (check: InputCheckName, message: string, line?: number) => void,
): void {
  const compiled = compileFields(source.fields);
  const set = new Set(labels);
  const sides = [
    { what: 'teacher', name: source.fields.teacher, path: compiled.teacher, label: (row: DatasetRow) => row.teacher },
    { what: 'human', name: source.fields.human, path: compiled.human, label: (row: DatasetRow) => row.human },
  ] as const;
  const teacherNotString: { line: number; value: unknown }[] = [];
  for (const row of rows) {
    if (!notStringLines.has(row.line)) continue;
    for (const side of sides) {
      const value = getFieldAt(row.value, side.path);
      if (value === undefined || value === null || typeof value === 'string') continue;
      if (side.what === 'teacher') teacherNotString.push({ line: row.line, value });
      if (typeof value !== 'number' && typeof value !== 'boolean') continue;
      const asString = String(value);
      if (!set.has(asString)) continue;
      const kind = typeof value === 'number' ? 'a number' : 'a boolean';
      let where: string;
      if (labelsSource === 'configured') {
        where = `the configured label set (setting peerkd.labels or --labels) has the label '${printable(asString)}' as a string`;
      } else {
        const other = rows.find((candidate) => candidate.teacher === asString || candidate.human === asString)!;
        const field = other.teacher === asString ? source.fields.teacher : source.fields.human;
        where = `line ${other.line} writes the label '${printable(asString)}' as a string (field ${field})`;
      }
      fail(
        'number-beside-string-label',
        `${side.what} label ${asString} (field ${side.name}) is ${kind}, while ${where}: labels are JSON strings, so ${asString} would be left out as no label while '${printable(asString)}' is trained on — write every label as a JSON string (${JSON.stringify(asString)})`,
        row.line,
      );
    }
  }
  if (teacherNotString.length > 0 && !rows.some((row) => row.teacher !== null)) {
    const first = teacherNotString[0];
    const example = typeof first.value === 'number' || typeof first.value === 'boolean' ? String(first.value) : '1';
    fail(
      'no-string-teacher-label',
      `no teacher label (field ${source.fields.teacher}) is a string: ${teacherNotString.length} are numbers, objects, arrays or booleans (lines ${listLines(teacherNotString.map((found) => found.line))}), so the run would flag nothing (it would train on the human labels alone) — write each label as a JSON string, e.g. "${example}" for ${example}, or set peerkd.fields.teacher to the field that holds the teacher's labels`,
      first.line,
    );
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

/**
 * Rows with the very same text and different labels (the label each trains on: the human's, else the teacher's): the
 * students get one input for them, so they learn at most one of those labels and flag the others. Said with the lines
 * and labels of the text on most rows (a boilerplate text such as "[deleted]" that an LLM labelled at random).
 */
function conflictingTextWarning(rows: readonly TrainingRow[]): { message: string; line: number } | undefined {
  const several = textsWithSeveralLabels(rows);
  const conflicts = several.length;
  let shown: { first: number; lines: number[]; labels: Set<string> } | undefined;
  for (const text of several) if (!shown || text.lines.length > shown.lines.length) shown = text;
  if (!shown) return undefined;
  const labels = [...shown.labels];
  const labelList = labels.slice(0, LINES_IN_MESSAGE).map((label) => `'${printable(label)}'`).join(', ') + (labels.length > LINES_IN_MESSAGE ? ', …' : '');
  const message =
    `${conflicts} text(s) are on several rows with different labels: ${conflicts > 1 ? 'e.g. ' : ''}line ${rows[shown.first].line}'s text is also on ${linesPhrase(shown.lines)} (labels ${labelList}); ` +
    'the students see one input there and cannot tell those rows apart — give each row the label its text has';
  return { message, line: rows[shown.first].line };
}

/**
 * A label field holding an empty or blank string ("", "  ", an LLM's "\n") is no label, as the parser reads it; said
 * once per field with the lines, so a teacher that answered nothing on some rows is not taken for an unlabelled file.
 * An empty human label ("") is not said: it is how a spreadsheet turned into JSONL writes every row not reviewed yet,
 * so the warning named most rows of a normal file; white space there is said (a label deleted but for a space).
 */
function blankLabelWarnings(rows: readonly DatasetRow[], fields: FieldMapping): { message: string; line: number }[] {
  const compiled = compileFields(fields);
  const sides = [
    { what: 'teacher', name: fields.teacher, path: compiled.teacher, label: (row: DatasetRow) => row.teacher, lines: [] as number[] },
    { what: 'human', name: fields.human, path: compiled.human, label: (row: DatasetRow) => row.human, lines: [] as number[] },
  ];
  for (const row of rows) {
    for (const side of sides) {
      if (side.label(row) !== null) continue;
      const value = getFieldAt(row.value, side.path);
      if (typeof value === 'string' && !(side.what === 'human' && value === '')) side.lines.push(row.line);
    }
  }
  return sides
    .filter((side) => side.lines.length > 0)
    .map((side) => ({
      message: `${side.lines.length} ${side.what} label(s) (field ${side.name}) are empty or blank strings and were treated as no label (${linesPhrase(side.lines)})`,
      line: side.lines[0],
    }));
}

/** The value a parser message quotes first ("Teacher label 0 (field …)" → "0"), for the example in an error. */
function describeFirstValue(message: string): string {
  return /^\S+ label (.+?) \(field /.exec(message)?.[1] ?? '1';
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
  rows: readonly DatasetRow[],
  fail: (check: InputCheckName, message: string, line?: number) => void,
  warn: (check: InputCheckName, message: string, line?: number) => void,
): void {
  const firstLine = (label: string) => rows.find((row) => row.teacher === label || row.human === label)?.line;
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
    const folded = normal.toLocaleLowerCase('en-US');
    const sameCase = byCase.get(folded);
    if (sameCase !== undefined) {
      const [a, b] = [sameCase, label].sort((x, y) => (firstLine(x) ?? 0) - (firstLine(y) ?? 0));
      warn('case-labels', `labels '${printable(a)}'${where(a)} and '${printable(b)}'${where(b)} differ only by case; they are trained as two labels — write them the same way if they are one`, firstLine(b));
    } else {
      byCase.set(folded, label);
    }
  }
}
