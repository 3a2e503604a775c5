/**
 * "Export Reviewed Dataset": a copy of the dataset in which every row carries its final label and where that label
 * came from. The original is never written. Each exported line is the original line with two fields set through the
 * dataset core's byte-preserving edit, so key order, unknown fields and spacing survive; lines that are not rows
 * (invalid JSON, blank) are copied unchanged and counted. Plain TypeScript.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setFieldInLine } from '../dataset/edit';
import { assertNotSameFile, assertOutsidePeerkdFolder } from '../dataset/files';
import { forEachLine } from '../dataset/lines';
import { fieldSetting } from '../dataset/fieldGuess';
import { DatasetParser } from '../dataset/parse';
import { FIELD_KEYS, type FieldMapping } from '../dataset/types';
import { probabilityOf } from '../training/labelRecord';
import type { Prediction } from '../training/types';
import { assignRowKeys } from './rowKeys';

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
  /** Rows that already held final_label or label_provenance (a copy exported before, or the user's own): replaced. */
  replacedExisting: number;
}

const FIELD_NAMES: Record<keyof FieldMapping, string> = {
  text: 'text field',
  teacher: 'teacher label field',
  human: 'human label field',
  id: 'id field',
  teacherConfidence: 'teacher confidence field',
};

/**
 * Throws when a mapped field is (or lies inside) one of the two fields the copy writes: the copy would write the final
 * label over the user's human label, text or teacher label. Named with the setting that maps it.
 */
function assertFieldsNotWritten(fields: FieldMapping): void {
  for (const key of FIELD_KEYS) {
    const top = fields[key].split('.')[0];
    if (top !== FINAL_LABEL_FIELD && top !== PROVENANCE_FIELD) continue;
    const what = top === FINAL_LABEL_FIELD ? "every row's final label" : "every row's label provenance";
    throw new Error(
      `the ${FIELD_NAMES[key]} (setting ${fieldSetting(key)}) is '${fields[key]}', the field the reviewed copy writes ${what} into: it would be written over — map the ${FIELD_NAMES[key].replace(/ field$/, '')}s to another field, or rename it in the file`,
    );
  }
}

/** The probability the run gives its advised label, when the run scored the row. */
export function adviceProbability(prediction: Pick<Prediction, 'probs' | 'suggested'>): number | undefined {
  return prediction.suggested === '' ? undefined : probabilityOf(prediction.probs, prediction.suggested);
}

/** "0.9" or "90%" → 0.9; a message for anything else (no default: an empty answer is refused too). */
export function parseAdviceThreshold(text: string): number | string {
  const trimmed = text.trim();
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(%?)$/.exec(trimmed);
  const value = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    return 'Give the least probability of the advised label, between 0 and 1 (e.g. 0.9) or as a percentage (90%).';
  }
  return value;
}

/**
 * Rows the run advised differently from their label, without a human label at run time, whose advice reaches
 * `minProbability`: what the threshold prompt tells the user while they type (the export itself reads the document).
 */
export function adviceAbove(predictions: readonly Prediction[], minProbability: number): { rows: number; withoutTeacher: number } {
  let rows = 0;
  let withoutTeacher = 0;
  for (const prediction of predictions) {
    const p = adviceProbability(prediction);
    if (prediction.human === null && p !== undefined && p >= minProbability && prediction.suggested !== prediction.teacher) {
      rows += 1;
      if (prediction.teacher === null) {
        withoutTeacher += 1;
      }
    }
  }
  return { rows, withoutTeacher };
}

export function finalLabelOf(
  row: { key: string; teacher: string | null; human: string | null },
  options: Pick<ExportOptions, 'predictionsByKey' | 'runId' | 'advice'>,
): { label: string | null; provenance: LabelProvenance; belowThreshold?: boolean } {
  const prediction = options.predictionsByKey?.get(row.key);
  const provenance = (source: LabelSource): LabelProvenance => {
    const result: LabelProvenance = { source, run: options.runId };
    // A row that had no teacher label when the run ran has no probability of a wrong teacher label (the run writes 0).
    if (prediction && prediction.teacher !== null) {
      result.p_teacher_wrong = prediction.p_teacher_wrong;
    }
    return result;
  };
  if (row.human !== null) {
    return { label: row.human, provenance: provenance('human') };
  }
  const pAdvised = prediction ? adviceProbability(prediction) : undefined;
  let belowThreshold = false;
  if (options.advice && prediction && pAdvised !== undefined && prediction.suggested !== row.teacher) {
    if (pAdvised >= options.advice.minProbability) {
      return {
        label: prediction.suggested,
        provenance: { ...provenance('advised'), p_advised: pAdvised, advice_threshold: options.advice.minProbability },
      };
    }
    belowThreshold = true;
  }
  const kept = row.teacher !== null ? { label: row.teacher, provenance: provenance('teacher') } : { label: null, provenance: provenance('none') };
  return belowThreshold ? { ...kept, belowThreshold } : kept;
}

/** Builds the exported text from the dataset's text (the editor's, unsaved edits included). */
export function exportReviewedText(text: string, options: ExportOptions): { text: string; counts: ExportCounts } {
  assertFieldsNotWritten(options.fields);
  const parser = new DatasetParser(options.fields);
  const counts: ExportCounts = { rows: 0, human: 0, teacher: 0, advised: 0, none: 0, adviceBelowThreshold: 0, invalidLines: 0, replacedExisting: 0 };
  // First the lines, then the row keys (a key needs how many rows share the id), then the exported lines.
  // LF, CRLF and a lone CR each end a line (as in the editor); each line keeps its own terminator.
  const lines: { lineText: string; terminator: string; result: ReturnType<DatasetParser['parseLine']> }[] = [];
  let lineNumber = 0;
  forEachLine(text, (start, end, next) => {
    const lineText = text.slice(start, end);
    lineNumber += 1;
    const parsedText = lineNumber === 1 && lineText.charCodeAt(0) === 0xfeff ? lineText.slice(1) : lineText;
    lines.push({ lineText, terminator: text.slice(end, next), result: parser.parseLine(parsedText, lineNumber) });
  });
  const keys = assignRowKeys(lines.flatMap(({ result }) => (result.row ? [result.row.id] : [])));
  let rowIndex = 0;
  const out: string[] = [];
  for (const { lineText, terminator, result } of lines) {
    let exported = lineText;
    if (result.row) {
      const { label, provenance, belowThreshold } = finalLabelOf({ ...result.row, key: keys[rowIndex++] }, options);
      exported = setFieldInLine(setFieldInLine(lineText, FINAL_LABEL_FIELD, label), PROVENANCE_FIELD, provenance);
      counts.rows += 1;
      counts[provenance.source] += 1;
      if (Object.hasOwn(result.row.value, FINAL_LABEL_FIELD) || Object.hasOwn(result.row.value, PROVENANCE_FIELD)) {
        counts.replacedExisting += 1;
      }
      if (belowThreshold) {
        counts.adviceBelowThreshold += 1;
      }
    } else if (!result.blank) {
      counts.invalidLines += 1;
    }
    out.push(exported, terminator);
  }
  return { text: out.join(''), counts };
}

/** Default file name of the copy: `data.jsonl` → `data.reviewed.jsonl`. */
export function reviewedFileName(datasetFileName: string): string {
  const match = /^(.*?)(\.jsonl|\.ndjson|\.json)?$/i.exec(datasetFileName);
  const stem = match?.[1] || datasetFileName;
  return `${stem}.reviewed${match?.[2] ?? '.jsonl'}`;
}

/**
 * Throws, naming the file, when the reviewed copy may not be written to `target`: it is the dataset itself (under
 * another name too: a link, `..`), or inside PeerKD's own `.peerkd` folder or the dataset's runs folder (`runsDir`),
 * whose run artefacts and caches the runs and the review read. An existing file elsewhere may be replaced (the save
 * dialog asks first).
 */
export async function assertExportTarget(datasetPath: string, target: string, runsDir: string): Promise<void> {
  await assertNotSameFile(datasetPath, target);
  await assertOutsidePeerkdFolder(target);
  const runs = path.resolve(runsDir);
  const folder = path.dirname(path.resolve(target));
  const folders = [folder, await fsp.realpath(folder).catch(() => folder)];
  const realRuns = await fsp.realpath(runs).catch(() => runs);
  if (folders.some((folder) => [runs, realRuns].some((dir) => folder === dir || folder.startsWith(dir + path.sep)))) {
    throw new Error(`${target}: inside the runs folder ${runs} (its run artefacts); choose an output file elsewhere`);
  }
}
