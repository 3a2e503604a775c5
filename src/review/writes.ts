/**
 * What a set of review decisions writes: for each row (by key), its line before and after the human label is set.
 * Plain TypeScript; src/editor/labelEdits.ts turns the plan into one WorkspaceEdit.
 */
import { setFieldInLine } from '../dataset/edit';
import { splitFieldPath, TEXT_IDENTITY_PREFIX } from '../dataset/fields';
import { FIELD_KEYS, type FieldMapping } from '../dataset/types';
import { fieldValueRange } from './locate';
import { idOfKey, unmatchedReason, type KeyedRows } from './rowKeys';

export interface LabelWrite {
  /** The row's key (src/review/rowKeys.ts). */
  rowId: string;
  label: string;
}

export interface PlannedLineWrite {
  rowId: string;
  /** 1-based line. */
  line: number;
  before: string;
  after: string;
}

export interface LabelWritePlan {
  writes: PlannedLineWrite[];
  failed: { rowId: string; reason: string }[];
}

/**
 * Why the row with `key` matches no row of the document now (unmatchedReason), saying so plainly for a row without
 * an id, whose identity is a hash of its text: after its text was edited it is another row.
 */
export function whyUnmatched(key: string, linesById: ReadonlyMap<string, readonly number[]>): string {
  return unmatchedReason(
    key,
    linesById,
    idOfKey(key).startsWith(TEXT_IDENTITY_PREFIX)
      ? 'no row has its text any more (a row without an id field is known by its text, so a row whose text was edited counts as a new row; give rows ids to edit their text)'
      : undefined,
  );
}

const OTHER_FIELDS = FIELD_KEYS.filter((name) => name !== 'human');

/**
 * Why human labels may not be written into `fields.human`: it is the text, teacher, id or teacher-confidence field
 * too, or inside or around one of them (a decision would overwrite what the row says there, or change its identity);
 * null when it is a field of its own. `settingOf` names where a field is mapped: the setting (the editor), or the flag
 * (`peerkd distill --fields.human`).
 */
export function humanFieldProblem(fields: FieldMapping, settingOf: (key: keyof FieldMapping) => string = (key) => `peerkd.fields.${key}`): string | null {
  let human: string[];
  try {
    human = splitFieldPath(fields.human);
  } catch (error) {
    return `${settingOf('human')}: ${error instanceof Error ? error.message : String(error)}`;
  }
  for (const name of OTHER_FIELDS) {
    let other: string[];
    try {
      other = splitFieldPath(fields[name]);
    } catch {
      continue; // Not a path the parser can read either: it names no field a label could overwrite.
    }
    const shared = Math.min(human.length, other.length);
    if (human.slice(0, shared).every((segment, i) => segment === other[i])) {
      const relation =
        human.length === other.length ? `is also the ${name} field` : human.length > other.length ? `is inside the ${name} field` : `holds the ${name} field '${fields[name]}'`;
      return `the human label field '${fields.human}' ${relation} (${settingOf(name)}), so a label written there would overwrite it; set ${settingOf('human')} to a field of its own`;
    }
  }
  return null;
}

/**
 * Why `fields.text` cannot be the text a run reads: it is the teacher label field (or inside it, or holds it; the
 * human label field is humanFieldProblem's). The students would read the very labels they are to judge and agree with the teacher everywhere: a run
 * that flags nothing and looks fine. Null when it is a field of its own.
 */
export function textFieldProblem(fields: FieldMapping, settingOf: (key: keyof FieldMapping) => string = (key) => `peerkd.fields.${key}`): string | null {
  let text: string[];
  try {
    text = splitFieldPath(fields.text);
  } catch {
    return null; // Said where the path is read.
  }
  // The human label field against the text is humanFieldProblem's.
  let teacher: string[];
  try {
    teacher = splitFieldPath(fields.teacher);
  } catch {
    return null;
  }
  const shared = Math.min(text.length, teacher.length);
  if (!text.slice(0, shared).every((segment, i) => segment === teacher[i])) return null;
  const relation = text.length === teacher.length ? 'is also the teacher label field' : text.length > teacher.length ? 'is inside the teacher label field' : `holds the teacher label field '${fields.teacher}'`;
  return `the text field '${fields.text}' ${relation} (${settingOf('teacher')}), so the students would read the labels they are to judge and agree with the teacher everywhere; set ${settingOf('text')} to the field that holds the text`;
}

const SHOWN_VALUE_LENGTH = 80;

/**
 * The value the human field of `lineText` holds when it is not a label (a number, a boolean, an array or an object:
 * the dataset core ignores it and reports it), as written, clipped; undefined when the field is absent, null or a
 * string. A decision never writes over such a value: the user put it there, and the panel never showed it.
 */
function notALabel(lineText: string, humanField: string): string | undefined {
  const range = fieldValueRange(lineText, humanField);
  if (!range) return undefined;
  const raw = lineText.slice(range.start, range.end);
  if (raw === 'null' || raw.startsWith('"')) return undefined;
  return raw.length > SHOWN_VALUE_LENGTH ? `${raw.slice(0, SHOWN_VALUE_LENGTH)}…` : raw;
}

/**
 * Plans writing each label into the human field of its row's line. A key that matches no row of the document now
 * (the row is gone, or the rows sharing its id changed) is refused with the reason: never written to another row.
 */
export function planLabelWrites(
  rows: Pick<KeyedRows<{ line: number }>, 'byKey' | 'linesById'>,
  lineText: (line: number) => string,
  humanField: string,
  writes: readonly LabelWrite[],
): LabelWritePlan {
  const plan: LabelWritePlan = { writes: [], failed: [] };
  const seenLines = new Set<number>();
  for (const write of writes) {
    const row = rows.byKey.get(write.rowId);
    if (!row) {
      plan.failed.push({ rowId: write.rowId, reason: whyUnmatched(write.rowId, rows.linesById) });
      continue;
    }
    if (seenLines.has(row.line)) {
      continue;
    }
    const before = lineText(row.line);
    const held = notALabel(before, humanField);
    if (held !== undefined) {
      plan.failed.push({
        rowId: write.rowId,
        reason: `line ${row.line}: the human label field '${humanField}' holds ${held}, which is not a label (a string); a decision does not write over it, edit the line by hand`,
      });
      continue;
    }
    let after: string;
    try {
      after = setFieldInLine(before, humanField, write.label);
    } catch (error) {
      plan.failed.push({ rowId: write.rowId, reason: `line ${row.line}: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    if (after === before) {
      continue;
    }
    seenLines.add(row.line);
    plan.writes.push({ rowId: write.rowId, line: row.line, before, after });
  }
  return plan;
}
