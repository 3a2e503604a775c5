/**
 * Turns a run's answers into dataset edits: the teacher-label field (and the confidence field when known) of each row
 * that still needs a label. Edits go through the dataset core's byte-preserving writers, on disk (CLI) or as
 * one replaced line per row in a WorkspaceEdit (editor), so nothing else in the file changes.
 */
import { setFieldInLine, type RowEdit } from '../dataset/edit';
import { getField, splitFieldPath } from '../dataset/fields';
import type { DatasetRow, FieldMapping } from '../dataset/types';
import { needsTeacherLabel } from './run';
import type { TeacherAnswer } from './types';

/** What a run's messages call each field: the CLI's flags, the editor's settings. */
export type FieldNames = Readonly<Record<keyof FieldMapping, string>>;

/**
 * Why the teacher may not write with this mapping, or undefined. It writes the teacher and confidence fields; either
 * one being (or holding, or lying inside) the text, human, id or the other written field would overwrite the user's
 * data: `--confidence-field text` replaced every row's text by a number, `--teacher-field human_label --relabel` the
 * human labels by the teacher's.
 */
export function teacherFieldsProblem(fields: FieldMapping, names: FieldNames): string | undefined {
  const written: (keyof FieldMapping)[] = ['teacher', 'teacherConfidence'];
  const all: (keyof FieldMapping)[] = ['text', 'human', 'id', 'teacher', 'teacherConfidence'];
  for (const field of written) {
    for (const other of all) {
      if (other === field || (written.includes(other) && written.indexOf(other) < written.indexOf(field))) continue;
      const a = splitFieldPath(fields[field]);
      const b = splitFieldPath(fields[other]);
      const shared = a.length <= b.length ? a.every((segment, index) => segment === b[index]) : b.every((segment, index) => segment === a[index]);
      if (!shared) continue;
      const relation = a.length === b.length ? 'is the same field as' : a.length < b.length ? 'holds' : 'lies inside';
      return (
        `${names[field]} '${fields[field]}' ${relation} ${names[other]} '${fields[other]}': the teacher's writes would overwrite it. ` +
        'Give the teacher label and its confidence fields of their own.'
      );
    }
  }
  return undefined;
}

/**
 * The field edits for `rows` (parsed from the file as it is now). An abstention writes nothing: a row without a label
 * keeps none, and a relabelled row keeps its previous label rather than losing it. When a new label comes without a
 * confidence, an existing confidence is cleared to null so that it cannot be read as the new label's.
 */
export function teacherEdits(
  rows: readonly DatasetRow[],
  answers: ReadonlyMap<string, TeacherAnswer>,
  fields: FieldMapping,
  relabel: boolean,
): RowEdit[] {
  const edits: RowEdit[] = [];
  for (const row of rows) {
    if (row.text === null || !needsTeacherLabel(row, relabel)) {
      continue;
    }
    // A teacher field holding a number or an object is read as no label, but it is the user's data: only a relabel
    // (asked for) writes over it.
    const held = getField(row.value, fields.teacher);
    if (!relabel && held != null && typeof held !== 'string') {
      continue;
    }
    const answer = answers.get(row.text);
    if (answer?.kind !== 'label') {
      continue;
    }
    if (row.teacher !== answer.label) {
      edits.push({ line: row.line, id: row.id, field: fields.teacher, value: answer.label });
    }
    if (answer.confidence !== null) {
      if (row.teacherConfidence !== answer.confidence) {
        edits.push({ line: row.line, id: row.id, field: fields.teacherConfidence, value: answer.confidence });
      }
    } else if (row.teacherConfidence !== null) {
      edits.push({ line: row.line, id: row.id, field: fields.teacherConfidence, value: null });
    }
  }
  return edits;
}

/** A row whose line could not take its teacher edits: it is left as it was. */
export interface SkippedRow {
  /** 1-based line number. */
  line: number;
  reason: string;
}

/**
 * The new text of each edited line, for editors that replace whole lines (one undoable WorkspaceEdit), and the edits
 * that produce them. A line that cannot take its edits (e.g. nested deeper than the byte-preserving writer goes) is
 * left out with its reason: one bad line never stops the others from being written.
 */
export function replacedLines(
  edits: readonly RowEdit[],
  lineText: (line: number) => string,
): { lines: { line: number; text: string }[]; edits: RowEdit[]; skipped: SkippedRow[] } {
  const byLine = new Map<number, RowEdit[]>();
  for (const edit of edits) {
    const list = byLine.get(edit.line);
    if (list) list.push(edit);
    else byLine.set(edit.line, [edit]);
  }
  const lines: { line: number; text: string }[] = [];
  const kept: RowEdit[] = [];
  const skipped: SkippedRow[] = [];
  for (const [line, lineEdits] of [...byLine].sort(([a], [b]) => a - b)) {
    try {
      let text = lineText(line);
      for (const edit of lineEdits) text = setFieldInLine(text, edit.field, edit.value);
      lines.push({ line, text });
      kept.push(...lineEdits);
    } catch (error) {
      skipped.push({ line, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { lines, edits: kept, skipped };
}
