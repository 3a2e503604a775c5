/**
 * "Export Reviewed Dataset": a copy of the dataset in which every row carries its final label and where that label
 * came from. The original is never written. Each exported line is the original line with two fields set through the
 * dataset core's byte-preserving edit, so key order, unknown fields and spacing survive; lines that are not rows
 * (invalid JSON, blank) are copied unchanged and counted. Plain TypeScript.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { setFieldInLine, setFieldInLineBytes } from '../dataset/edit';
import { getFieldAt, splitFieldPath } from '../dataset/fields';
import { assertNotSameFile, assertOutsidePeerkdFolder, assertReplaceable, fileError, writeFileAtomic } from '../dataset/files';
import { forEachLine, LineTooLongError, MAX_LINE_BYTES, splitLineBytes, bomLength, lineTooLong } from '../dataset/lines';
import { fieldSetting } from '../dataset/fieldGuess';
import { DatasetParser, noRowsMessage, READ_CHUNK_BYTES, type LineResult } from '../dataset/parse';
import { RowTextsDigest, rowTextsSha256 } from '../dataset/rowTextsDigest';
import { Utf8LineValidator } from '../dataset/utf8';
import { FIELD_KEYS, type FieldMapping, type Problem } from '../dataset/types';
import { readKnownRunsDirs } from '../training/artifacts';
import { listLines } from '../training/input';
import { probabilityOf } from '../training/labelRecord';
import type { Prediction } from '../training/types';
import type { KeyedRun } from './keyedRun';
import { teacherChangedSinceRun } from './model';
import { textChangedSinceRun } from './reviewRows';
import { assignRowKeys, isSharedKey, RowKeyer } from './rowKeys';

export const FINAL_LABEL_FIELD = 'final_label';
export const PROVENANCE_FIELD = 'label_provenance';

export type LabelSource = 'human' | 'teacher' | 'advised' | 'none';

export interface LabelProvenance {
  source: LabelSource;
  /** The run whose advice was consulted, when there was one. */
  run: string | null;
  /** The run's probability that the teacher label is wrong, for rows the run scored that had a teacher label. */
  p_teacher_wrong?: number;
  /** `advised` rows: the run's probability of the advised label (never advice without it, issue 10 §3.12). */
  p_advised?: number;
  /** `advised` rows: the least p_advised the user chose for taking advice. */
  advice_threshold?: number;
}

/**
 * Taking the run's advice for rows without a human label, and from which probability on. There is no default: the
 * user chooses the threshold (the editor asks for it, an API caller passes it). Advice below it leaves the teacher's
 * label, or no label where the teacher gave none.
 */
export interface AdviceChoice {
  /** Least probability of the advised label, 0–1. */
  minProbability: number;
}

export interface ExportOptions {
  fields: FieldMapping;
  /** The latest run's predictions by row key (src/review/rowKeys.ts), or null when the dataset has no run. */
  predictionsByKey: ReadonlyMap<string, Prediction> | null;
  runId: string | null;
  /** Rows without a human label take the run's advised label instead of the teacher's, when sure enough; null: never. */
  advice: AdviceChoice | null;
  /**
   * What the run recorded of the dataset it read (settings.json): its rows' ids and texts, else (older runs) its bytes.
   * Rows that share an id are matched to the run's by their order among them (rowKeys.ts), which is certain only while
   * the rows' texts are those the run read: otherwise (or when the run recorded neither, or this is absent) they keep
   * their labels, without the run's probability or advice (textsSinceRun). Where the run recorded each row's text digest
   * (`rowTextDigests`), each row is compared with its own instead (a swapped or edited text no longer matches its
   * digest), so rows that share an id are matched by their order as any other row.
   */
  runDigests?: (Pick<KeyedRun, 'rowTextsSha256' | 'datasetSha256'> & Partial<Pick<KeyedRun, 'rowTextDigests'>>) | null;
}

/**
 * Whether the dataset's rows are those the run read: 'same' (the digest of their ids and texts, else of the file's bytes,
 * is the run's), 'changed', or 'unknown' (the run recorded neither). `current`: the file's digests now (the bytes'
 * computed only when asked: the run recorded no rows' digest).
 */
export function textsSinceRun(
  run: Pick<KeyedRun, 'rowTextsSha256' | 'datasetSha256'>,
  current: { rowTextsSha256: string; sha256: () => string },
): 'same' | 'changed' | 'unknown' {
  if (run.rowTextsSha256 !== undefined) return run.rowTextsSha256 === current.rowTextsSha256 ? 'same' : 'changed';
  if (run.datasetSha256 !== undefined) return run.datasetSha256 === current.sha256() ? 'same' : 'changed';
  return 'unknown';
}

export interface ExportCounts {
  rows: number;
  human: number;
  teacher: number;
  advised: number;
  none: number;
  /** Rows whose advice differed from their label but was below the threshold (they kept the teacher's or none). */
  adviceBelowThreshold: number;
  /** Lines that are not JSON objects: copied unchanged. */
  invalidLines: number;
  /** Their line numbers (1-based), so a message can name the first. */
  invalidLineNumbers: number[];
  /** Rows the run scored whose teacher label changed since: exported without the run's probability or advice. */
  changedSinceRun: number;
  /**
   * Lines of rows the run scored whose text changed since (its digest is not the one the run recorded, predictions.jsonl
   * `text_digest`): exported with the labels they hold, without the run's probability or advice, which are about the
   * old text. Empty for a run made before those digests.
   */
  textChangedLines: number[];
  /** Of those, the rows whose advice reached the threshold (`advice`): the advice they did not take. */
  textChangedAdvice: number;
  /**
   * Rows with text that the run (where there is one) did not score: added since, or their id changed (a row without
   * one: its text), or the number of rows sharing their id: exported without its probability or advice.
   */
  notInRun: number;
  /**
   * Lines of rows whose human field holds something that is no label (a number such as a class id, an object, a
   * string of white space; not "", a row not reviewed yet): such a row takes the teacher's label (or the advice), and
   * the message names them.
   */
  humanNotLabelLines: number[];
  /**
   * Lines of rows exported without a label (counted in `none`) whose teacher field holds something that is no label: a
   * number such as a class id, an object, a boolean, an empty or blank string. The run treats such a value as no label
   * (and says so); the export writes `final_label: null` there too, and the message names them.
   */
  teacherNotLabelLines: number[];
  /** Rows that already held final_label or label_provenance (a copy exported before, or the user's own): replaced. */
  replacedExisting: number;
  /**
   * Lines of rows that share their id with other rows and that the run scored, exported with the label they hold and
   * without the run's probability or advice, because the rows' texts are not certainly those the run read
   * (`sharedIdsWhy`): which of them is which cannot be told (their texts may have been swapped or edited).
   */
  sharedIdUncertainLines: number[];
  /** Why those rows were left: the texts changed since the run, or the run recorded nothing to compare them with. */
  sharedIdsWhy: 'changed' | 'unknown' | null;
}

const FIELD_NAMES: Record<keyof FieldMapping, string> = {
  text: 'text field',
  teacher: 'teacher label field',
  human: 'human label field',
  id: 'id field',
  teacherConfidence: 'teacher confidence field',
};

/**
 * Why the copy cannot be made with this mapping, or undefined: a mapped field is (or lies inside) one of the two fields
 * the copy writes, so it would write the final label over the user's human label, text or teacher label. Named with
 * the setting that maps it. The command asks it before any dialog; the export itself refuses such a mapping too.
 */
export function exportFieldsProblem(fields: FieldMapping, mappedBy: (key: keyof FieldMapping) => string = (key) => `setting ${fieldSetting(key)}`): string | undefined {
  for (const key of FIELD_KEYS) {
    const top = fields[key].split('.')[0];
    if (top !== FINAL_LABEL_FIELD && top !== PROVENANCE_FIELD) continue;
    const what = top === FINAL_LABEL_FIELD ? "every row's final label" : "every row's label provenance";
    return `the ${FIELD_NAMES[key]} (${mappedBy(key)}) is '${fields[key]}', the field the reviewed copy writes ${what} into: it would be written over — map the ${FIELD_NAMES[key].replace(/ field$/, '')}s to another field, or rename it in the file`;
  }
  return undefined;
}

function assertFieldsNotWritten(fields: FieldMapping): void {
  const problem = exportFieldsProblem(fields);
  if (problem) throw new Error(problem);
}

/** The probability the run gives its advised label, when the run scored the row. */
export function adviceProbability(prediction: Pick<Prediction, 'probs' | 'suggested'>): number | undefined {
  return prediction.suggested === '' ? undefined : probabilityOf(prediction.probs, prediction.suggested);
}

/**
 * What an export reads of a prediction (finalLabelOf, the run's trust sentence): the prediction without its peer and
 * vanilla probabilities and with the probability of its suggested label alone, so that `peerkd export` holds a
 * million-row run in a fraction of the memory; the copy is the same.
 */
export function exportedPrediction(prediction: Prediction): Prediction {
  const probs: Record<string, number> = Object.create(null) as Record<string, number>;
  const p = adviceProbability(prediction);
  if (p !== undefined) probs[prediction.suggested] = p;
  const { id, numericId, line, teacher, human, suggested, p_teacher_wrong, flagged, text_digest } = prediction;
  return { id, ...(numericId ? { numericId } : {}), line, teacher, human, suggested, p_teacher_wrong, flagged, probs, peer_probs: {}, vanilla_probs: {}, ...(text_digest !== undefined ? { text_digest } : {}) };
}

/** "0.9" or "90%" → 0.9; a message for anything else (no default: an empty answer is refused too). */
export function parseAdviceThreshold(text: string): number | string {
  const trimmed = text.trim();
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(%?)$/.exec(trimmed);
  // A percentage moves the decimal point in the digits written ("0.9e-2"), not by a division: 0.9 / 100 is
  // 0.009000000000000001, which the summary printed and every advised row's advice_threshold recorded.
  const value = match ? Number(match[2] ? `${match[1]}e-2` : match[1]) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    return 'Give the least probability of the advised label, between 0 and 1 (e.g. 0.9) or as a percentage (90%).';
  }
  return value;
}

/** Why the export refuses the run's advice for a row (finalLabelOf): the advice is about another row than the one now. */
export type AdviceRefused = 'teacher' | 'text' | 'sharedId';

/**
 * The run's advice for a row as the export weighs it (finalLabelOf `advice`): the probability of the label the run
 * advises a row without a human label (now and at the run) whose label it differs from, and why the export refuses
 * it (null: taken at any threshold up to `p`).
 */
export interface WeighedAdvice {
  p: number;
  refused: AdviceRefused | null;
}

/** Every row's advice as the export weighs it (adviceOutlook), and whether the row has no teacher label. */
export interface AdviceOutlook {
  advice: (WeighedAdvice & { withoutTeacher: boolean })[];
}

/** The advice of `scored` for `row`, before any threshold or change since the run; undefined where there is none. */
function adviceFor(row: { teacher: string | null; human: string | null }, scored: Prediction | undefined): number | undefined {
  // Advice only where the run judged the row without a human label: a label the user removed since was in the run's
  // training, and its "advice" would only repeat it.
  if (row.human !== null || scored === undefined || scored.human !== null || scored.suggested === row.teacher) return undefined;
  return adviceProbability(scored);
}

type ExportedRow = { key: string; teacher: string | null; human: string | null; text?: string | null };

/** The run's prediction for a row, and what changed in the row since the run ('teacher', 'text' or null). */
interface ScoredRow {
  scored: Prediction | undefined;
  changed: 'teacher' | 'text' | null;
}

/** scoredRow of a row the run is not asked about (no run, or rows sharing an id whose texts are uncertain). */
const NOT_SCORED: ScoredRow = { scored: undefined, changed: null };

function scoredRow(row: ExportedRow, predictionsByKey: ExportOptions['predictionsByKey']): ScoredRow {
  const scored = predictionsByKey?.get(row.key);
  if (scored === undefined) return { scored, changed: null };
  // A row whose teacher label changed since the run: the run's probability and advice are about another label
  // (teacherChangedSinceRun, the review's rule), so the row is exported as if the run had not scored it.
  if (teacherChangedSinceRun(scored, row)) return { scored, changed: 'teacher' };
  // Likewise a row whose text changed since (textChangedSinceRun, where the run recorded its text's digest): they are
  // about the old text. Said apart, by line.
  return { scored, changed: row.text !== undefined && textChangedSinceRun(scored, { text: row.text }) ? 'text' : null };
}

export function finalLabelOf(
  row: ExportedRow,
  options: Pick<ExportOptions, 'predictionsByKey' | 'runId' | 'advice'>,
  /** scoredRow(row, options.predictionsByKey), when the caller has it already (it hashes the row's text). */
  { scored, changed }: ScoredRow = scoredRow(row, options.predictionsByKey),
): { label: string | null; provenance: LabelProvenance; belowThreshold?: boolean; changedSinceRun?: boolean; textChangedSinceRun?: boolean } {
  const changedSinceRun = changed === 'teacher';
  const textChanged = changed === 'text';
  const prediction = changed !== null ? undefined : scored;
  const provenance = (source: LabelSource): LabelProvenance => {
    const result: LabelProvenance = { source, run: options.runId };
    // A row that had no teacher label when the run ran has no probability of a wrong teacher label (the run writes 0).
    if (prediction && prediction.teacher !== null) {
      result.p_teacher_wrong = prediction.p_teacher_wrong;
    }
    return result;
  };
  const withChange = <T extends object>(result: T): T & { changedSinceRun?: boolean; textChangedSinceRun?: boolean } =>
    changedSinceRun ? { ...result, changedSinceRun } : textChanged ? { ...result, textChangedSinceRun: true } : result;
  if (row.human !== null) {
    return withChange({ label: row.human, provenance: provenance('human') });
  }
  const pAdvised = prediction ? adviceFor(row, prediction) : undefined;
  let belowThreshold = false;
  if (options.advice && prediction && pAdvised !== undefined) {
    if (pAdvised >= options.advice.minProbability) {
      return {
        label: prediction.suggested,
        provenance: { ...provenance('advised'), p_advised: pAdvised, advice_threshold: options.advice.minProbability },
      };
    }
    belowThreshold = true;
  }
  const kept = row.teacher !== null ? { label: row.teacher, provenance: provenance('teacher') } : { label: null, provenance: provenance('none') };
  return withChange(belowThreshold ? { ...kept, belowThreshold } : kept);
}

/**
 * Every row's advice in a dataset's text, as the export would weigh it (finalLabelOf, rows that share an id included):
 * what the threshold prompt counts at each threshold the user types (adviceAt) without reading the text again.
 * Throws as the export does (a text without a single row, a field mapping the copy writes over).
 */
export function adviceOutlook(text: string, options: Omit<ExportOptions, 'advice'>, shown = 'the dataset'): AdviceOutlook {
  const exporter = new LineExporter({ ...options, advice: null }, true);
  exportLines(exporter, text, shown, (start, end) => text.slice(start, end), (line) => line, (line) => line);
  return { advice: exporter.outlook };
}

/**
 * Of an adviceOutlook, at the least probability `minProbability`: how many rows take the advice (and how many of them
 * have no teacher label), and how many whose advice reaches it refuse it, by why. The copy counts the same rows.
 */
export function adviceAt(outlook: AdviceOutlook, minProbability: number): { rows: number; withoutTeacher: number; refused: Record<AdviceRefused, number> } {
  const result = { rows: 0, withoutTeacher: 0, refused: { teacher: 0, text: 0, sharedId: 0 } };
  for (const { p, refused, withoutTeacher } of outlook.advice) {
    if (p < minProbability) continue;
    if (refused !== null) result.refused[refused] += 1;
    else {
      result.rows += 1;
      if (withoutTeacher) result.withoutTeacher += 1;
    }
  }
  return result;
}

/** What the threshold prompt says of adviceAt's counts for run `runId`. */
export function adviceAtText(counts: ReturnType<typeof adviceAt>, runId: string): string {
  const count = (value: number, what: string) => `${value.toLocaleString('en-US')} ${what}${value === 1 ? '' : 's'}`;
  const { teacher, text, sharedId } = counts.refused;
  const leftOut = [
    text > 0 ? `${count(text, 'row')} whose text changed since the run (its advice is about the old text)` : '',
    teacher > 0 ? `${count(teacher, 'row')} whose teacher label changed since the run` : '',
    sharedId > 0 ? `${count(sharedId, 'row')} sharing an id with another row (which of them is which cannot be told since the run)` : '',
  ].filter(Boolean);
  return (
    `${count(counts.rows, 'row')} without a human label would take the label run ${runId} advises (${counts.withoutTeacher.toLocaleString('en-US')} of them without a teacher label).` +
    (leftOut.length > 0 ? ` Left out, although their advice reaches it: ${leftOut.join('; ')}.` : '')
  );
}

/**
 * The per-line part of every export: parses a line as the run reads it and writes its two fields (through `setField`,
 * on text or on bytes), counting as it goes. Rows are keyed by the caller (a key needs how many rows share the id,
 * so the ids are counted before the first row is written): the whole-text export keys them from its array, the
 * streamed one from a first read of the file.
 */
class LineExporter {
  readonly counts: ExportCounts = { rows: 0, human: 0, teacher: 0, advised: 0, none: 0, adviceBelowThreshold: 0, invalidLines: 0, invalidLineNumbers: [], changedSinceRun: 0, textChangedLines: [], textChangedAdvice: 0, notInRun: 0, humanNotLabelLines: [], teacherNotLabelLines: [], replacedExisting: 0, sharedIdUncertainLines: [], sharedIdsWhy: null };
  /** Every row's advice as finalLabelOf weighs it, whatever the threshold: kept only for adviceOutlook. */
  readonly outlook: AdviceOutlook['advice'] = [];
  private readonly parser: DatasetParser;
  private readonly humanPath: string[];
  private readonly teacherPath: string[];

  constructor(
    private readonly options: ExportOptions,
    private readonly keepOutlook = false,
  ) {
    // Advice is taken only above a threshold the user chose (no default, issue 10 §3.12): a caller's NaN, 0 or 1.5 is
    // no such choice, and 0 or below would take every advice whatever its probability.
    if (options.advice !== null && !(options.advice.minProbability > 0 && options.advice.minProbability <= 1)) {
      throw new Error(`the least probability of the advised label must be above 0 and at most 1, got ${String(options.advice.minProbability)}`);
    }
    assertFieldsNotWritten(options.fields);
    this.parser = new DatasetParser(options.fields);
    this.humanPath = splitFieldPath(options.fields.human);
    this.teacherPath = splitFieldPath(options.fields.teacher);
  }

  /**
   * Compares the dataset's rows with the run's (textsSinceRun), before the first row is exported: unless they are
   * certainly the same, rows that share an id take nothing from the run.
   */
  compareTexts(current: { rowTextsSha256: string; sha256: () => string }): void {
    const { predictionsByKey, runDigests } = this.options;
    if (predictionsByKey === null) return;
    const since = runDigests ? (runDigests.rowTextDigests === true ? 'same' : textsSinceRun(runDigests, current)) : 'unknown';
    this.textsUncertain = since === 'same' ? null : since;
    this.textsCompared = true;
  }

  private textsCompared = false;
  /** Why the rows' texts are not certainly the run's (compareTexts), or null. */
  private textsUncertain: ExportCounts['sharedIdsWhy'] = null;

  /** The line (its text, without terminator) as the run reads it; line 1 without a byte order mark. */
  parse(lineText: string, lineNumber: number): LineResult {
    const parsedText = lineNumber === 1 && lineText.charCodeAt(0) === 0xfeff ? lineText.slice(1) : lineText;
    return this.parser.parseLine(parsedText, lineNumber);
  }

  /** The exported line: a row's `line` with the two fields set (its key given), any other line as it is. */
  export<T>(line: T, result: LineResult, lineNumber: number, key: string | undefined, setField: (line: T, field: string, value: unknown) => T): T {
    const { counts, options } = this;
    if (options.predictionsByKey !== null && !this.textsCompared) throw new Error('the rows are exported before their texts were compared with the run (compareTexts)');
    if (!result.row) {
      if (!result.blank) {
        counts.invalidLines += 1;
        counts.invalidLineNumbers.push(lineNumber);
      }
      return line;
    }
    const row = result.row;
    // A row that shares its id, once the texts are not certainly the run's: the run's row at its place among them may
    // have held another text (the rows' texts swapped), so it takes neither that row's probability nor its advice.
    const uncertain = this.textsUncertain !== null && key !== undefined && isSharedKey(key) && options.predictionsByKey?.has(key) === true;
    if (uncertain) {
      counts.sharedIdUncertainLines.push(row.line);
      counts.sharedIdsWhy = this.textsUncertain;
    }
    const keyed = { ...row, key: key ?? row.id };
    // The run's prediction and what changed since, judged once per row (a changed text is found by hashing it).
    const judged = scoredRow(keyed, options.predictionsByKey);
    const { label, provenance, belowThreshold, changedSinceRun, textChangedSinceRun: textChanged } = uncertain
      ? finalLabelOf(keyed, { ...options, predictionsByKey: null }, NOT_SCORED)
      : finalLabelOf(keyed, options, judged);
    // The row's advice, whatever the threshold, and why it is refused: its text or teacher label changed since the run,
    // or (rows sharing an id) which of them is which cannot be told.
    const p = this.keepOutlook || options.advice ? adviceFor(keyed, judged.scored) : undefined;
    if (p !== undefined) {
      const refused: AdviceRefused | null = uncertain ? judged.changed ?? 'sharedId' : judged.changed;
      if (this.keepOutlook) this.outlook.push({ p, refused, withoutTeacher: row.teacher === null });
      if (refused === 'text' && options.advice && p >= options.advice.minProbability) counts.textChangedAdvice += 1;
    }
    const exported = setField(setField(line, FINAL_LABEL_FIELD, label), PROVENANCE_FIELD, provenance);
    counts.rows += 1;
    counts[provenance.source] += 1;
    if (Object.hasOwn(row.value, FINAL_LABEL_FIELD) || Object.hasOwn(row.value, PROVENANCE_FIELD)) {
      counts.replacedExisting += 1;
    }
    if (belowThreshold) {
      counts.adviceBelowThreshold += 1;
    }
    if (changedSinceRun) {
      counts.changedSinceRun += 1;
    }
    if (textChanged) {
      counts.textChangedLines.push(row.line);
    }
    if (options.predictionsByKey && key !== undefined && row.text !== null && row.text.trim().length > 0 && !options.predictionsByKey.has(key)) {
      counts.notInRun += 1;
    }
    const humanValue = row.human === null ? getFieldAt(row.value, this.humanPath) : undefined;
    // "" is a row not reviewed yet (a spreadsheet's empty cell), as the run reads it; white space, a number, an object is not.
    if (humanValue !== undefined && humanValue !== null && humanValue !== '') {
      counts.humanNotLabelLines.push(row.line);
    }
    // No final label although the teacher field holds a value: a number (1 for "1"), an object, white space.
    if (provenance.source === 'none' && row.teacher === null) {
      const teacherValue = getFieldAt(row.value, this.teacherPath);
      if (teacherValue !== undefined && teacherValue !== null) counts.teacherNotLabelLines.push(row.line);
    }
    return exported;
  }
}

/**
 * A file without a single row (empty, UTF-16, gzip, one pretty-printed document) is no dataset: refused as a run refuses
 * it (parse.ts noRowsMessage), naming `shown` and its first invalid line, instead of a copy of "0 rows".
 */
function noRowsError(shown: string, invalidLines: number, first: Problem | undefined): Error {
  const { line, message } = noRowsMessage(invalidLines, first);
  return new Error(`${shown}${line !== undefined ? `:${line}` : ''}: ${message}; no copy was written`);
}

/**
 * The export of `data`'s lines (a string, or the file's bytes): each row line gets the two fields through `setField`,
 * every other line and every terminator is kept as it is.
 */
function exportLines<T extends string | Uint8Array>(
  exporter: LineExporter,
  data: T,
  shown: string,
  slice: (start: number, end: number) => T,
  decode: (line: T) => string,
  setField: (line: T, field: string, value: unknown) => T,
  maxLineBytes = MAX_LINE_BYTES,
): { parts: T[]; counts: ExportCounts } {
  // First the lines, then the row keys (a key needs how many rows share the id), then the exported lines.
  // LF, CRLF and a lone CR each end a line (as in the editor); each line keeps its own terminator.
  const lines: { line: T; terminator: T; result: LineResult }[] = [];
  forEachLine(data, (start, end, next) => {
    // The one line length rule of every reader (dataset/lines.ts MAX_LINE_BYTES), as the streamed export applies it.
    if (lineTooLong(data, start + (lines.length === 0 ? bomLength(data, start) : 0), end, maxLineBytes)) {
      throw new LineTooLongError(lines.length + 1, maxLineBytes);
    }
    const line = slice(start, end);
    lines.push({ line, terminator: slice(end, next), result: exporter.parse(decode(line), lines.length + 1) });
  });
  const rows = lines.flatMap(({ result }) => (result.row ? [result.row] : []));
  if (rows.length === 0) {
    const invalid = lines.filter(({ result }) => !result.blank);
    throw noRowsError(shown, invalid.length, invalid[0]?.result.problems[0]);
  }
  const keys = assignRowKeys(rows.map((row) => row.id));
  exporter.compareTexts({ rowTextsSha256: rowTextsSha256(rows), sha256: () => createHash('sha256').update(data).digest('hex') });
  let rowIndex = 0;
  const parts: T[] = [];
  for (const [index, { line, terminator, result }] of lines.entries()) {
    parts.push(exporter.export(line, result, index + 1, result.row ? keys[rowIndex++] : undefined, setField), terminator);
  }
  return { parts, counts: exporter.counts };
}

/** Builds the exported text from the dataset's text (the editor's, unsaved edits included). */
export function exportReviewedText(text: string, options: ExportOptions, shown = 'the dataset'): { text: string; counts: ExportCounts } {
  const { parts, counts } = exportLines(new LineExporter(options), text, shown, (start, end) => text.slice(start, end), (line) => line, setFieldInLine);
  return { text: parts.join(''), counts };
}

/**
 * Builds the exported bytes from the dataset file's bytes: every byte outside the two fields is copied, bytes that
 * are not valid UTF-8 included (the editor's text shows them as U+FFFD, and exporting that text would write
 * EF BF BD in their place).
 */
export function exportReviewedBytes(data: Uint8Array, options: ExportOptions, shown = 'the dataset'): { data: Buffer; counts: ExportCounts } {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const { parts, counts } = exportLines(new LineExporter(options), bytes, shown, (start, end) => bytes.subarray(start, end), (line) => line.toString('utf8'), setFieldInLineBytes);
  return { data: Buffer.concat(parts), counts };
}

/** A streamed export stopped by its caller (Ctrl-C): nothing was written under the copy's name. */
export class ExportInterrupted extends Error {
  constructor() {
    super('interrupted: the copy was not written');
    this.name = 'ExportInterrupted';
  }
}

/** A file's bytes from its start, `chunkBytes` at a time, through one open handle. */
async function* fileChunks(handle: FileHandle, chunkBytes: number, signal: AbortSignal | undefined, seen?: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for (let position = 0; ; ) {
    if (signal?.aborted) throw new ExportInterrupted();
    // A new buffer each time: the lines of a chunk (and a line continued into the next) are views of it.
    const buffer = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    const chunk = buffer.subarray(0, bytesRead);
    seen?.(chunk);
    yield chunk;
  }
}

/**
 * The reviewed copy of the dataset file `dataPath`, written to `outPath` (writeFileAtomic: whole, or not at all), made
 * from the file's bytes as exportReviewedBytes makes it (the same bytes, whatever the file holds) but streamed: memory
 * stays at a chunk, the rows' ids and the counts, whatever the file's size (the whole file in memory needed about nine
 * times its size, and a file over 2 GiB could not be read at all). The file is read twice through one open handle:
 * first for how many rows share each id (a row's key needs it, src/review/rowKeys.ts) and for its first line that is
 * not valid UTF-8, then for the copy. A file rewritten between the two reads, so that its rows' ids differ, fails the
 * export; nothing is written. `signal` stops it between chunks (ExportInterrupted; the temporary file is removed).
 */
export async function exportReviewedFile(
  dataPath: string,
  outPath: string,
  options: ExportOptions,
  {
    shown = dataPath,
    chunkBytes = READ_CHUNK_BYTES,
    signal,
    afterFirstRead,
    maxLineBytes = MAX_LINE_BYTES,
    exclusive = false,
  }: {
    shown?: string;
    chunkBytes?: number;
    signal?: AbortSignal;
    /** Called between the two reads (tests change the file there). */
    afterFirstRead?: () => Promise<void>;
    /** The longest line read (tests lower it); a longer one fails the export, naming its file and line. */
    maxLineBytes?: number;
    /** The copy must not exist, nor appear while it is written (writeFileAtomic's `exclusive`: no --force). */
    exclusive?: boolean;
  } = {},
): Promise<{ counts: ExportCounts; invalidUtf8Line: number | null; sha256: string; rowTextsSha256: string }> {
  const exporter = new LineExporter(options);
  let handle: FileHandle;
  try {
    handle = await fsp.open(dataPath, 'r');
  } catch (error) {
    throw fileError(shown, error);
  }
  try {
    const lines = (seen?: (chunk: Buffer) => void) => splitLineBytes(fileChunks(handle, chunkBytes, signal, seen), maxLineBytes);
    /** The rows' ids in order, as a digest: the second read must see the same ones. */
    const idsDigest = () => {
      const hash = createHash('sha1');
      return { add: (id: string) => hash.update(`${id.length}:${id}`), digest: () => hash.digest('hex') };
    };
    const totals = new Map<string, number>();
    const firstIds = idsDigest();
    const utf8 = new Utf8LineValidator();
    // The bytes' digest, as a run records the dataset it read (settings.json datasetSha256), and its rows' ids and texts
    // (rowTextsSha256), which the labels written since leave as they were.
    const bytesDigest = createHash('sha256');
    const rowTexts = new RowTextsDigest();
    let lineNumber = 0;
    // A file without a single row (empty, UTF-16, gzip, one pretty-printed document) is no dataset: refused as a run
    // refuses it, with its first invalid line, not copied as "Wrote 0 rows" with exit 0.
    let rowsRead = 0;
    let invalidLines = 0;
    let firstInvalid: Problem | undefined;
    try {
      for await (const batch of lines((chunk) => (utf8.update(chunk), bytesDigest.update(chunk)))) {
        for (const { line } of batch) {
          const result = exporter.parse(line.toString('utf8'), ++lineNumber);
          const row = result.row;
          if (row) rowsRead++;
          else if (!result.blank) {
            invalidLines++;
            firstInvalid ??= result.problems[0];
          }
          const id = row?.id;
          if (id === undefined) continue;
          rowTexts.add(row!);
          totals.set(id, (totals.get(id) ?? 0) + 1);
          firstIds.add(id);
        }
      }
    } catch (error) {
      throw error instanceof ExportInterrupted ? error : error instanceof LineTooLongError ? error.inFile(shown) : fileError(shown, error);
    }
    const invalidUtf8Line = utf8.end();
    if (rowsRead === 0) throw noRowsError(shown, invalidLines, firstInvalid);
    const sha256 = bytesDigest.digest('hex');
    const rowsDigest = rowTexts.digest();
    exporter.compareTexts({ rowTextsSha256: rowsDigest, sha256: () => sha256 });
    await afterFirstRead?.();
    const keyer = new RowKeyer(totals);
    const secondIds = idsDigest();
    // The texts too: the first read told whether they are the run's, which rows that share an id rely on.
    const secondTexts = new RowTextsDigest();
    await writeFileAtomic(outPath, async (write) => {
      lineNumber = 0;
      let reading = true;
      try {
        for await (const batch of lines()) {
          reading = false;
          const parts: Buffer[] = [];
          for (const { line, terminator } of batch) {
            const result = exporter.parse(line.toString('utf8'), ++lineNumber);
            const id = result.row?.id;
            if (id !== undefined) {
              secondIds.add(id);
              secondTexts.add(result.row!);
            }
            parts.push(exporter.export(line, result, lineNumber, id === undefined ? undefined : keyer.next(id), setFieldInLineBytes), terminator);
          }
          await write(Buffer.concat(parts));
          reading = true;
        }
      } catch (error) {
        throw !reading || error instanceof ExportInterrupted ? error : fileError(shown, error);
      }
      if (secondIds.digest() !== firstIds.digest()) {
        throw new Error(`${shown}: the file changed while it was being exported (its rows' ids are not those read first), so no copy was written; export again once it is saved`);
      }
      if (secondTexts.digest() !== rowsDigest) {
        throw new Error(`${shown}: the file changed while it was being exported (its rows' texts are not those read first), so no copy was written; export again once it is saved`);
      }
    }, { exclusive });
    return { counts: exporter.counts, invalidUtf8Line, sha256, rowTextsSha256: rowsDigest };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** `data.jsonl:3, data.jsonl:7` for a message (listLines: the first few), or `lines 3, 7` without a file. */
function fileLines(file: string | undefined, lines: readonly number[]): string {
  if (file === undefined) return `line${lines.length === 1 ? '' : 's'} ${listLines(lines)}`;
  return listLines(lines.map((line) => `${file}:${line}`));
}

/**
 * What an export did, in words, as the editor's message and `peerkd export` say it: `details` (the counts by source,
 * e.g. "3 human, 40 teacher, 2 advised with p ≥ 0.9") and `notes` (sentences about lines copied unchanged and
 * fields replaced, each with a leading space; '' when there is nothing to say). `file`: the dataset as the message
 * names it, before the line numbers it gives as file:line.
 */
export function describeExport(
  counts: ExportCounts,
  options: Pick<ExportOptions, 'fields' | 'runId' | 'advice'>,
  file?: string,
): { details: string; notes: string } {
  // Counts as the total beside them is written ("Wrote 2,000 rows … (50 human, 1,946 teacher …)").
  const count = (value: number) => value.toLocaleString('en-US');
  const parts = [`${count(counts.human)} human`, `${count(counts.teacher)} teacher`];
  if (options.advice) {
    parts.push(`${count(counts.advised)} advised with p ≥ ${options.advice.minProbability}`);
    if (counts.adviceBelowThreshold > 0) {
      // Those rows are among the teacher's (or without a label): said as rows, not as "198 advices".
      parts.push(`${count(counts.adviceBelowThreshold)} with advice below it, not taken`);
    }
  }
  if (counts.none > 0) {
    // A teacher label that is no label (a number such as 1 for "1", an object, white space) is named, never dropped silently.
    const notLabel = counts.teacherNotLabelLines;
    parts.push(
      notLabel.length === 0
        ? `${count(counts.none)} without a label`
        : `${counts.none} without a label, ${notLabel.length === counts.none ? 'all' : notLabel.length} of them because '${options.fields.teacher}' holds no label (a number, an object or white space; line ${notLabel[0]} first): write the label as text there`,
    );
  }
  if (counts.humanNotLabelLines.length > 0) {
    parts.push(
      `${counts.humanNotLabelLines.length} whose '${options.fields.human}' holds no label (a number, an object or white space; line ${counts.humanNotLabelLines[0]} first) exported without it: write the label as text there`,
    );
  }
  if (counts.changedSinceRun > 0) {
    parts.push(`${counts.changedSinceRun} whose teacher label changed since run ${options.runId ?? ''} exported without its probability or advice`);
  }
  const textChanged = counts.textChangedLines;
  if (textChanged.length > 0) {
    parts.push(
      `${textChanged.length} row${textChanged.length === 1 ? '' : 's'} whose text changed since run ${options.runId ?? ''} kept ${textChanged.length === 1 ? 'its labels' : 'their labels'}, without the run's probability or advice (about the old text${options.advice && counts.textChangedAdvice > 0 ? `; ${count(counts.textChangedAdvice)} of them advised with p ≥ ${options.advice.minProbability}, not taken` : ''}): ${fileLines(file, textChanged)}`,
    );
  }
  const uncertain = counts.sharedIdUncertainLines;
  if (uncertain.length > 0) {
    const why = counts.sharedIdsWhy === 'changed' ? `the file's texts changed since run ${options.runId ?? ''}` : `run ${options.runId ?? ''} recorded no digest of the texts it read`;
    parts.push(
      `${uncertain.length} row${uncertain.length === 1 ? '' : 's'} sharing an id with another row (${fileLines(file, uncertain)}) exported with the label ${uncertain.length === 1 ? 'it holds' : 'they hold'}, without the run's probability or advice: ${why}, so which of them is which cannot be told; run peerkd distill again, or give each row its own id`,
    );
  }
  if (counts.notInRun > 0) {
    parts.push(`${counts.notInRun} not in run ${options.runId ?? ''} (added since, or their id changed, or how many rows share it) exported without its probability or advice`);
  }
  const invalid = counts.invalidLines;
  const first = counts.invalidLineNumbers[0];
  const where = first === undefined ? '' : ` (line ${first}${invalid === 1 ? '' : ' first'})`;
  const notes = [
    invalid > 0 ? ` ${invalid} invalid line${invalid === 1 ? '' : 's'}${where} ${invalid === 1 ? 'was' : 'were'} copied unchanged.` : '',
    counts.replacedExisting > 0
      ? ` ${counts.replacedExisting} row${counts.replacedExisting === 1 ? '' : 's'} already had '${FINAL_LABEL_FIELD}' or '${PROVENANCE_FIELD}': replaced in the copy (the dataset keeps them).`
      : '',
  ];
  return { details: parts.join(', '), notes: notes.join('') };
}

/** Default file name of the copy: `data.jsonl` → `data.reviewed.jsonl`. */
export function reviewedFileName(datasetFileName: string): string {
  const match = /^(.*?)(\.jsonl|\.ndjson|\.json)?$/is.exec(datasetFileName);
  const stem = match?.[1] || datasetFileName;
  return `${stem}.reviewed${match?.[2] ?? '.jsonl'}`;
}

/**
 * Throws, naming the file, when the reviewed copy may not be written to `target`: it is the dataset itself (under
 * another name too: a link, `..`), or inside PeerKD's own `.peerkd` folder or the dataset's runs folder (`runsDir`),
 * whose run artefacts and caches the runs and the review read. An existing file elsewhere may be replaced (the save
 * dialog asks first).
 */
/**
 * The runs folders a reviewed copy of the dataset may not be written into (assertExportTarget, each): every runs folder
 * the dataset used (readKnownRunsDirs: the one `outputDir` names now, the default one and those listed in
 * .peerkd/runs-folders, whose runs and review logs a later run still reads), and `also` (a `--runs` folder, the
 * exported run's). `known`: the dataset's known runs folders where the caller has read them already.
 */
export async function exportRunsDirs(datasetPath: string, options: { outputDir?: string; known?: readonly string[]; also?: readonly string[] } = {}): Promise<string[]> {
  const known = options.known ?? (await readKnownRunsDirs(datasetPath, options.outputDir)).dirs;
  return [...new Set([...known, ...(options.also ?? [])].map((dir) => path.resolve(dir)))];
}

export async function assertExportTarget(datasetPath: string, target: string, runsDir: string, shown?: { input?: string; output?: string }): Promise<void> {
  await assertNotSameFile(datasetPath, target, shown);
  await assertOutsidePeerkdFolder(target);
  const runs = path.resolve(runsDir);
  const folder = path.dirname(path.resolve(target));
  // Where the write lands: a symbolic link at the target is written through (writeFileAtomic).
  const landing = await assertReplaceable(target).then(({ target: file }) => path.dirname(file), () => folder);
  const folders = [folder, landing];
  for (const dir of [folder, landing]) folders.push(await fsp.realpath(dir).catch(() => dir));
  const realRuns = await fsp.realpath(runs).catch(() => runs);
  if (folders.some((folder) => [runs, realRuns].some((dir) => folder === dir || folder.startsWith(dir + path.sep)))) {
    throw new Error(`${target}: inside the runs folder ${runs} (its run artefacts); choose an output file elsewhere`);
  }
}
