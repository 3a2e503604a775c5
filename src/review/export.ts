/**
 * "Export Reviewed Dataset": a copy of the dataset in which every row carries its final label and where that label
 * came from. The original is never written. Each exported line is the original line with two fields set through the
 * dataset core's byte-preserving edit, so key order, unknown fields and spacing survive; lines that are not rows
 * (invalid JSON, blank) are copied unchanged and counted. Plain TypeScript.
 */
import { setFieldInLine } from '../dataset/edit';
import { forEachLine } from '../dataset/lines';
import { DatasetParser } from '../dataset/parse';
import type { FieldMapping } from '../dataset/types';
import type { Prediction } from '../training/types';
import { assignRowKeys } from './rowKeys';

export const FINAL_LABEL_FIELD = 'final_label';
export const PROVENANCE_FIELD = 'label_provenance';

export type LabelSource = 'human' | 'teacher' | 'advised' | 'none';

export interface LabelProvenance {
  source: LabelSource;
  /** The run whose advice was consulted, when there was one. */
  run: string | null;
  /** The run's probability that the teacher label is wrong, for rows the run scored. */
  p_teacher_wrong?: number;
}

export interface ExportOptions {
  fields: FieldMapping;
  /** The latest run's predictions by row key (src/review/rowKeys.ts), or null when the dataset has no run. */
  predictionsByKey: ReadonlyMap<string, Prediction> | null;
  runId: string | null;
  /** Rows without a human label take the run's advised label instead of the teacher's. */
  useAdvised: boolean;
}

export interface ExportCounts {
  rows: number;
  human: number;
  teacher: number;
  advised: number;
  none: number;
  /** Lines that are not JSON objects: copied unchanged. */
  invalidLines: number;
}

export function finalLabelOf(
  row: { key: string; teacher: string | null; human: string | null },
  options: Pick<ExportOptions, 'predictionsByKey' | 'runId' | 'useAdvised'>,
): { label: string | null; provenance: LabelProvenance } {
  const prediction = options.predictionsByKey?.get(row.key);
  const provenance = (source: LabelSource): LabelProvenance => {
    const result: LabelProvenance = { source, run: options.runId };
    if (prediction) {
      result.p_teacher_wrong = prediction.p_teacher_wrong;
    }
    return result;
  };
  if (row.human !== null) {
    return { label: row.human, provenance: provenance('human') };
  }
  if (options.useAdvised && prediction && prediction.suggested !== '' && prediction.suggested !== row.teacher) {
    return { label: prediction.suggested, provenance: provenance('advised') };
  }
  if (row.teacher !== null) {
    return { label: row.teacher, provenance: provenance('teacher') };
  }
  return { label: null, provenance: provenance('none') };
}

/** Builds the exported text from the dataset's text (the editor's, unsaved edits included). */
export function exportReviewedText(text: string, options: ExportOptions): { text: string; counts: ExportCounts } {
  const parser = new DatasetParser(options.fields);
  const counts: ExportCounts = { rows: 0, human: 0, teacher: 0, advised: 0, none: 0, invalidLines: 0 };
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
      const { label, provenance } = finalLabelOf({ ...result.row, key: keys[rowIndex++] }, options);
      exported = setFieldInLine(setFieldInLine(lineText, FINAL_LABEL_FIELD, label), PROVENANCE_FIELD, provenance);
      counts.rows += 1;
      counts[provenance.source] += 1;
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
