/**
 * When a dataset names its fields differently (`sentence`, `llm_label`), the configured field is missing on every
 * row. This finds the fields that look like the text and like a label, so the one message about the missing field
 * can name the setting and offer the likely field instead of one error per row.
 */
import { getFieldAt, isPlainObject, splitFieldPath } from './fields';
import { MAX_LABEL_LENGTH } from './labels';
import type { FieldMapping, Problem } from './types';

/** The logical fields a user maps, and the setting (and CLI flag) that maps each. */
export type MappedField = keyof FieldMapping;

export function fieldSetting(field: MappedField): string {
  return `peerkd.fields.${field}`;
}

/** Rows looked at to guess fields: enough to see a label set, cheap for any file. */
export const FIELD_GUESS_SAMPLE_ROWS = 200;
/** A label set has at most this many distinct values in the sample. */
const MAX_GUESSED_LABELS = 50;
/** Text candidates: string values this long on average (characters), with spaces in most of them. */
const MIN_TEXT_MEAN_LENGTH = 15;
const CANDIDATES_SHOWN = 3;

export interface FieldCandidates {
  /** Dotted paths of string fields holding longer free text, longest first. */
  text: string[];
  /** Dotted paths of string fields whose values form a small set of short labels, most rows first. */
  label: string[];
}

interface FieldStats {
  present: number;
  strings: number;
  totalLength: number;
  withSpace: number;
  distinct: Set<string>;
  tooLong: boolean;
}

/** Top-level fields and the members of top-level objects (one level of nesting, as `meta.label`). */
function collect(value: Record<string, unknown>, prefix: string, depth: number, stats: Map<string, FieldStats>): void {
  for (const [key, member] of Object.entries(value)) {
    if (key.includes('.') || key.length === 0) continue;
    const path = prefix + key;
    if (isPlainObject(member)) {
      if (depth === 0) collect(member, path + '.', 1, stats);
      continue;
    }
    let entry = stats.get(path);
    if (entry === undefined) {
      entry = { present: 0, strings: 0, totalLength: 0, withSpace: 0, distinct: new Set(), tooLong: false };
      stats.set(path, entry);
    }
    entry.present++;
    if (typeof member !== 'string' || member.trim().length === 0) continue;
    entry.strings++;
    entry.totalLength += member.length;
    if (/\s/.test(member.trim())) entry.withSpace++;
    if (member.length > MAX_LABEL_LENGTH) entry.tooLong = true;
    else if (entry.distinct.size <= MAX_GUESSED_LABELS) entry.distinct.add(member);
  }
}

/**
 * Candidate text and label fields of sample rows. `exclude` names fields already mapped to something else (they are
 * not offered). A text field: a string in at least half the rows, long on average, with spaces in most. A label
 * field: a string in at least half the rows, at most 50 distinct short values, and fewer distinct values than rows
 * (every value different is an id or a text, not a label).
 */
export function guessFields(rows: Iterable<Record<string, unknown>>, exclude: readonly string[] = []): FieldCandidates {
  const stats = new Map<string, FieldStats>();
  let count = 0;
  for (const row of rows) {
    if (count === FIELD_GUESS_SAMPLE_ROWS) break;
    collect(row, '', 0, stats);
    count++;
  }
  const text: { path: string; mean: number }[] = [];
  const label: { path: string; strings: number }[] = [];
  for (const [path, entry] of stats) {
    if (exclude.includes(path) || entry.strings === 0 || entry.strings * 2 < count) continue;
    const mean = entry.totalLength / entry.strings;
    if (mean >= MIN_TEXT_MEAN_LENGTH && entry.withSpace * 2 >= entry.strings) text.push({ path, mean });
    else if (
      !entry.tooLong &&
      entry.distinct.size <= MAX_GUESSED_LABELS &&
      entry.distinct.size >= 2 &&
      entry.distinct.size < entry.strings &&
      mean < MIN_TEXT_MEAN_LENGTH * 2
    ) {
      label.push({ path, strings: entry.strings });
    }
  }
  text.sort((a, b) => b.mean - a.mean || a.path.localeCompare(b.path));
  label.sort((a, b) => b.strings - a.strings || a.path.localeCompare(b.path));
  return { text: text.map((c) => c.path), label: label.map((c) => c.path) };
}

function quoteList(paths: readonly string[]): string {
  const shown = paths.slice(0, CANDIDATES_SHOWN).map((path) => `'${path}'`);
  const more = paths.length > CANDIDATES_SHOWN ? ` (and ${paths.length - CANDIDATES_SHOWN} more)` : '';
  return shown.length <= 1 ? shown.join('') + more : `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}${more}`;
}

/**
 * The sentence naming a missing field's setting and its likely replacements, e.g. "set peerkd.fields.text (or
 * --fields.text) to the field that holds it: 'sentence' looks like text".
 */
export function missingFieldAdvice(field: MappedField, candidates: readonly string[]): string {
  const setting = `set ${fieldSetting(field)} (or --fields.${field}) to the field that holds it`;
  if (candidates.length === 0) return setting;
  const kind = field === 'text' ? 'text' : 'a label';
  return `${setting}: ${quoteList(candidates)} ${candidates.length === 1 ? 'looks' : 'look'} like ${kind}`;
}

/** The message of the one problem reported when no row has the text field. */
export function missingTextFieldMessage(fields: FieldMapping, rows: number, candidates: FieldCandidates): string {
  const which = rows === 1 ? 'the only row has no' : `none of the ${rows.toLocaleString('en-US')} rows has a`;
  return `Missing text: ${which} field '${fields.text}'; ${missingFieldAdvice('text', candidates.text)}`;
}

/**
 * The missing-text message when no row has the text field at all (the field is named otherwise), else undefined: rows
 * whose text is only empty or not a string are another problem. `rows` are the dataset's parsed rows.
 */
export function missingTextFieldProblem(fields: FieldMapping, rows: readonly { value: Record<string, unknown> }[]): string | undefined {
  const textPath = splitFieldPath(fields.text);
  const withField = rows.some((row) => getFieldAt(row.value, textPath) !== undefined) ? 1 : 0;
  return missingTextFieldProblemOf(fields, rows.length, withField, () => rows.slice(0, FIELD_GUESS_SAMPLE_ROWS).map((row) => row.value));
}

/**
 * missingTextFieldProblem of a file read row by row (training/input.ts InputChecks): `rows` rows, `textFieldRows` of
 * them with the text field (any value), `sample` the first FIELD_GUESS_SAMPLE_ROWS rows' values.
 */
export function missingTextFieldProblemOf(fields: FieldMapping, rows: number, textFieldRows: number, sample: () => Iterable<Record<string, unknown>>): string | undefined {
  if (rows === 0 || textFieldRows > 0) return undefined;
  return missingTextFieldMessage(fields, rows, candidatesFor(fields, sample()));
}

/**
 * The message when no row has a teacher or a human label: `rowsWithText` for the run (rows without text do not
 * count there), else about the fields themselves (the editor's warning).
 */
export function missingLabelFieldsMessage(fields: FieldMapping, candidates: FieldCandidates, rowsWithText = true): string {
  const subject = rowsWithText ? 'no row with text has' : 'no row has';
  return `${subject} a teacher label (field '${fields.teacher}') or a human label (field '${fields.human}'); ${teacherFieldAdvice(candidates.label)}`;
}

/**
 * The message when rows have human labels but no row has the teacher label field, while another field looks like the
 * teacher's labels (`llm_label`): the run would train on the human labels alone and flag nothing.
 */
export function missingTeacherFieldMessage(fields: FieldMapping, candidates: readonly string[]): string {
  return `no row has a teacher label (field '${fields.teacher}'), only human labels (field '${fields.human}'), so a run can flag nothing; ${teacherFieldAdvice(candidates)}`;
}

function teacherFieldAdvice(candidates: readonly string[]): string {
  const settings = `set ${fieldSetting('teacher')} (or --fields.teacher) to the field of the teacher's labels`;
  return candidates.length > 0 ? `${settings}: ${quoteList(candidates)} ${candidates.length === 1 ? 'looks' : 'look'} like labels` : settings;
}

/**
 * Fields that may hold the teacher's labels: the label-like fields (guessFields), and where the sample rows carry
 * human labels, only those sharing a value with them (the teacher labels the same classes; a `split` or `source`
 * field does not).
 */
export function teacherFieldCandidates(fields: FieldMapping, rows: Iterable<Record<string, unknown>>): string[] {
  const sample = [...rows].slice(0, FIELD_GUESS_SAMPLE_ROWS);
  const humanPath = splitFieldPath(fields.human);
  const humans = sample.map((row) => getFieldAt(row, humanPath));
  const humanValues = new Set(humans.filter((value): value is string => typeof value === 'string'));
  const labelLike = candidatesFor(fields, sample).label;
  if (humanValues.size === 0) return labelLike;
  const shared: string[] = [];
  // A field equal to the human label on every row that has one is most likely a copy of it (`gold`), not the
  // teacher's labels: offered last.
  const copies: string[] = [];
  for (const path of labelLike) {
    const at = splitFieldPath(path);
    const values = sample.map((row) => getFieldAt(row, at));
    if (!values.some((value) => typeof value === 'string' && humanValues.has(value))) continue;
    const copiesHuman = humans.every((human, index) => typeof human !== 'string' || values[index] === human);
    (copiesHuman ? copies : shared).push(path);
  }
  return [...shared, ...copies];
}

/** The row objects among the first lines, for guessFields. */
export function sampleRows(lineAt: (index: number) => string, lineCount: number, limit = FIELD_GUESS_SAMPLE_ROWS): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let index = 0; index < lineCount && rows.length < limit; index++) {
    try {
      const value: unknown = JSON.parse(lineAt(index));
      if (isPlainObject(value)) rows.push(value);
    } catch {
      // Not a row: the parser reports it.
    }
  }
  return rows;
}

/** The text field's path, excluded with the other mapped fields from the candidates. */
function mappedPaths(fields: FieldMapping): string[] {
  return [fields.text, fields.teacher, fields.human, fields.id, fields.teacherConfidence];
}

export function candidatesFor(fields: FieldMapping, rows: Iterable<Record<string, unknown>>): FieldCandidates {
  const mapped = mappedPaths(fields);
  // A mapped field that exists is not offered in place of another; a missing one cannot be (it is on no row).
  return guessFields(rows, mapped);
}

/**
 * Problems of a whole file with the "no field" errors folded: when the text field is absent on every row, the
 * per-row "Missing text" errors (1,000 of them for 1,000 rows) become one error on the first such row that names
 * the setting and the likely field. When only some rows lack it, each is a real error of that row and stays.
 * `rows` counts the lines that parsed to objects.
 */
export function foldMissingFieldProblems(
  problems: Problem[],
  counts: MissingFieldCounts,
  fields: FieldMapping,
  sample: () => Iterable<Record<string, unknown>>,
): Problem[] {
  const { rows } = counts;
  if (rows === 0) return problems;
  let candidates: FieldCandidates | undefined;
  const guess = (): FieldCandidates => (candidates ??= candidatesFor(fields, sample()));
  const result = foldMissingText(problems, rows, fields, guess);
  // No row has the teacher field, yet a field looks like labels: most likely the teacher's labels under another name
  // (`llm_label`), whether or not some rows have human labels. Without such a field the file is simply not labelled
  // by the teacher yet (Label with Teacher fills it): no problem.
  const teacherCandidates = counts.teacherFieldRows === 0 ? teacherFieldCandidates(fields, sample()) : [];
  if (teacherCandidates.length > 0) {
    const line = counts.firstRowLine || 1;
    const message =
      counts.labelFieldRows === 0 ? missingLabelFieldsMessage(fields, { ...guess(), label: teacherCandidates }, false) : missingTeacherFieldMessage(fields, teacherCandidates);
    const warning: Problem = {
      code: counts.labelFieldRows === 0 ? 'missing-label-fields' : 'missing-teacher-field',
      severity: 'warning',
      line,
      column: 1,
      endColumn: 2,
      field: fields.teacher,
      message: message.charAt(0).toUpperCase() + message.slice(1),
    };
    const at = result.findIndex((problem) => problem.line > line);
    result.splice(at === -1 ? result.length : at, 0, warning);
  }
  return result;
}

/** What foldMissingFieldProblems needs to know about the whole file. */
export interface MissingFieldCounts {
  /** Lines that parsed to objects. */
  rows: number;
  /** Rows with the teacher label field or a human label (LineResult.labelField). */
  labelFieldRows: number;
  /** Rows with the teacher label field (LineResult.teacherField). */
  teacherFieldRows: number;
  /** The first row's line (1-based), where a file-level problem is shown. */
  firstRowLine: number;
}

function foldMissingText(problems: Problem[], rows: number, fields: FieldMapping, guess: () => FieldCandidates): Problem[] {
  let absent = 0;
  let first: Problem | undefined;
  for (const problem of problems) {
    if (isAbsentTextProblem(problem)) {
      absent++;
      first ??= problem;
    }
  }
  if (first === undefined || absent < rows) return [...problems];
  const folded: Problem = { ...first, code: 'missing-text-field', message: missingTextFieldMessage(fields, rows, guess()) };
  return problems.filter((problem) => problem === first || !isAbsentTextProblem(problem)).map((problem) => (problem === first ? folded : problem));
}

/** The per-row problem of a row without the text field at all (not one whose text is a number or blank). */
export function isAbsentTextProblem(problem: Problem): boolean {
  return problem.code === 'missing-text' && problem.message.startsWith(ABSENT_TEXT_PREFIX);
}

/** Start of the per-row message for a row without the text field (parse.ts). */
export const ABSENT_TEXT_PREFIX = 'Missing text: the row has no field';

/**
 * The per-row message of a row without the text field `name`; `mappedBy`: what maps the field, as the reader can change
 * it (the setting in the editor; `peerkd predict` says its flag).
 */
export function absentTextMessage(name: string, mappedBy = `setting ${fieldSetting('text')}`): string {
  return `${ABSENT_TEXT_PREFIX} ${name} (${mappedBy})`;
}

/** A quick fix for a field missing on every row: map the field to a candidate (written as the workspace setting). */
export interface FieldFix {
  field: MappedField;
  path: string;
  title: string;
}

/** The fixes for the folded "Missing text" problem: one per candidate text field, most likely first. */
export function missingTextFixes(fields: FieldMapping, rows: Iterable<Record<string, unknown>>): FieldFix[] {
  return candidatesFor(fields, rows)
    .text.slice(0, CANDIDATES_SHOWN)
    .map((path) => ({ field: 'text', path, title: `Use '${path}' as the text field (workspace setting ${fieldSetting('text')})` }));
}

/** The fixes for the "no teacher label field" warning: map the teacher's labels to each field that may hold them. */
export function missingLabelFixes(fields: FieldMapping, rows: Iterable<Record<string, unknown>>): FieldFix[] {
  return teacherFieldCandidates(fields, rows)
    .slice(0, CANDIDATES_SHOWN)
    .map((path) => ({
      field: 'teacher',
      path,
      title: `Use '${path}' as the teacher label field (workspace setting ${fieldSetting('teacher')})`,
    }));
}
