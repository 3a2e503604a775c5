/**
 * The dataset contract shared by the editor glue, the CLI, the training worker and the teacher client.
 * Plain TypeScript: no `vscode` import anywhere under src/dataset/.
 */

/** Where each logical field lives in a row object. Dotted paths (`meta.label`) reach nested objects. */
export interface FieldMapping {
  text: string;
  teacher: string;
  human: string;
  id: string;
  teacherConfidence: string;
}

/**
 * The file name extensions of a dataset (JSON Lines), in any letter case. The one list: package.json's language
 * association, activation events and menu `when` clauses name the same (test/unit/package-manifest.test.ts checks).
 */
export const DATASET_EXTENSIONS = ['jsonl', 'ndjson'] as const;

/** The file names a dataset has: JSON Lines (`.jsonl`, `.ndjson`), any letter case. */
export const DATASET_FILE_NAME = new RegExp(`\\.(${DATASET_EXTENSIONS.join('|')})$`, 'i');

/** The dataset file name endings as messages say them: ".jsonl or .ndjson" ("open a .jsonl or .ndjson dataset"). */
export const DATASET_SUFFIXES = DATASET_EXTENSIONS.map((extension) => `.${extension}`).join(' or ');

/** What a dataset file is, for messages about a file that is none: "not a JSON Lines dataset (.jsonl or .ndjson)". */
export const DATASET_KIND = `JSON Lines dataset (${DATASET_SUFFIXES})`;

/**
 * A path as a word of a command we suggest (`peerkd move …`): as it is where a shell takes it whole, else quoted
 * (`"my rows.txt"`, as the other suggested commands quote their paths).
 */
export function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : shellQuoted(text);
}

/**
 * A path quoted as a word of a command we suggest, always: in double quotes (`"my rows.txt"`) where a shell takes
 * what is between them as written; else in single quotes (`'price$1.jsonl'`, `'it'\''s.jsonl'`): inside double
 * quotes a shell expands `$` and a backquote (`"a$b.jsonl"` named `a.jsonl`, another file) and `!`, and reads `\`.
 */
export function shellQuoted(text: string): string {
  // eslint-disable-next-line no-control-regex -- a control character (a line break) is read as written only in single quotes
  return /[$`\\!"\u0000-\u001f\u007f]/.test(text) ? `'${text.replace(/'/g, "'\\''")}'` : `"${text}"`;
}

/**
 * Why a file cannot be a run's dataset by its name, or undefined: the one rule of the commands that make or read a
 * dataset's runs (the editor's Run Distillation, Label Review and Export; `peerkd distill` and `peerkd export`). The
 * editor treats only DATASET_FILE_NAME files as datasets, so a run of `data.txt` made in a terminal could be neither
 * reviewed nor exported there. Labelling, validating and predicting read rows from a file of any name.
 * `taken`: whether a path (as suggested, relative to the current folder) is there already; the name suggested is then
 * another (`rows-2.jsonl`): `peerkd move` refuses a NEW that exists ("both exist"), so the advice led to a refusal.
 */
export function datasetNameProblem(file: string, taken: (path: string) => boolean = () => false): string | undefined {
  if (DATASET_FILE_NAME.test(file)) return undefined;
  // `file` as the user gave it (`sub/rows.txt`): the command suggested is run from the same folder, so it keeps the
  // path's folder (a bare `rows.txt` there named a file that is not in the current folder), quoted where a shell
  // would split or expand it (`my rows.txt`).
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  const folder = file.slice(0, slash + 1);
  const name = file.slice(slash + 1);
  const stem = name.replace(/\.[^.]*$/, '') || name;
  // A path that starts with '-' would be read as a flag: after `--`, as the CLI takes it.
  const ends = file.startsWith('-') ? '-- ' : '';
  const what = `not a ${DATASET_KIND}, the files the editor reviews runs of`;
  const move = (to: string) => `peerkd move ${ends}${shellWord(file)} ${shellWord(to)}, which carries any runs made of it`;
  const named = (suffix: string) => `${folder}${stem}${suffix}.${DATASET_EXTENSIONS[0]}`;
  if (!taken(named(''))) return `${what}: rename it (${move(named(''))})`;
  const free = Array.from({ length: FREE_NAME_TRIES }, (_, index) => named(`-${index + 2}`)).find((candidate) => !taken(candidate));
  const there = `${named('')} is there already`;
  return free === undefined
    ? `${what}: rename it to a ${DATASET_SUFFIXES} name that is free (${there}): peerkd move ${ends}${shellWord(file)} NEW, which carries any runs made of it`
    : `${what}: rename it (${there}, so to another name: ${move(free)})`;
}

/** How many numbered names (`rows-2.jsonl` … `rows-10.jsonl`) datasetNameProblem tries before it asks for one. */
const FREE_NAME_TRIES = 9;

/** A glob of the dataset files, for document selectors and file watchers: `**\/*.{jsonl,ndjson}`. */
export const DATASET_GLOB = `**/*.{${DATASET_EXTENSIONS.join(',')}}`;

export const DEFAULT_FIELDS: FieldMapping = {
  text: 'text',
  teacher: 'teacher_label',
  human: 'human_label',
  id: 'id',
  teacherConfidence: 'teacher_confidence',
};

/** Every field of a mapping, in DEFAULT_FIELDS's order (the CLI's --fields.* flags, the human field's overlap check). */
export const FIELD_KEYS = Object.keys(DEFAULT_FIELDS) as readonly (keyof FieldMapping)[];

/** One JSONL line that parsed to an object. */
export interface DatasetRow {
  /** 1-based line number in the file. */
  line: number;
  /** Stable row identity: the id field when present, else a hash of the text (see rowIdentity). */
  id: string;
  /** The parsed object, exactly as in the file. Never rewritten by the core. */
  value: Record<string, unknown>;
  /** The mapped fields; null when absent (or not a string where a string is needed). */
  text: string | null;
  teacher: string | null;
  human: string | null;
  teacherConfidence: number | null;
}

export type ProblemSeverity = 'error' | 'warning';

/** Stable codes, shared by diagnostics and their code actions. */
export type ProblemCode =
  | 'invalid-json'
  | 'not-an-object'
  | 'missing-text'
  /** The text field is absent on every row: one problem for the file (on its first row), naming the setting. */
  | 'missing-text-field'
  /** No row has the teacher or the human label field, and another field looks like labels: once per file. */
  | 'missing-label-fields'
  /**
   * Rows have human labels but no row has the teacher label field, and another field looks like the teacher's labels:
   * once per file. A run goes on (on the human labels alone, flagging nothing), unlike after the two above.
   */
  | 'missing-teacher-field'
  | 'empty-text'
  | 'unknown-label'
  /** A teacher or human label that is a number, object, array or boolean: ignored, as if absent. */
  | 'label-not-string'
  | 'label-too-long'
  /** A teacher confidence that is not a number in [0, 1] (e.g. 87 for 87 %, -1, "0.5"): ignored, as if absent. */
  | 'invalid-confidence'
  | 'duplicate-id'
  /** An id that is an object, array or boolean: ignored, the row known by its text as if it had no id. */
  | 'invalid-id'
  /**
   * What a run of the method would stop on (error) or warn about (warning) in the dataset as a whole: a label set of
   * one label, `1` beside `"1"`, look-alike labels, rows without a word, … (training/input.ts checkTrainingInput).
   */
  | 'run-check';

export interface Problem {
  code: ProblemCode;
  severity: ProblemSeverity;
  /** 1-based line. */
  line: number;
  /** 1-based column where the problem starts, and (exclusive) where it ends, on that line. */
  column: number;
  endColumn: number;
  /** The field the problem is about, when there is one (e.g. `teacher_label`). */
  field?: string;
  message: string;
}

/** What the dataset core returns for a whole file or text. */
export interface ParsedDataset {
  /** Lines that parsed to objects, in file order. */
  rows: DatasetRow[];
  /** Parse and validation problems, in line order. */
  problems: Problem[];
  /** Lines in the file (a final newline does not start another line). */
  lineCount: number;
  /** Empty or whitespace-only lines: tolerated, not rows, not problems. */
  skippedBlankLines: number;
}

/** Validation settings (the `peerkd.labels` setting); parsing always validates, so these go to the parser. */
export interface ValidationOptions {
  /** The configured label set. Empty or absent: no label check (see inferLabelSet for the inferred set). */
  labels?: readonly string[];
  /** The longest line read (dataset/lines.ts MAX_LINE_BYTES, the default; tests lower it). */
  maxLineBytes?: number;
}
