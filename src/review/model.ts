/**
 * The Label Review model: which flagged rows the user sees, in which order, with which counts, and what each decision
 * writes. Plain TypeScript (no `vscode`), shared by the review panel host, the diagnostics and the unit tests, so the
 * webview stays a thin view that renders what this module computes.
 */
import { lookAlikeLabel } from '../dataset/labels';
import type { Prediction } from '../training/types';
import { alternativeLabel, doubtfulPredictions } from '../training/doubtful';
import { probabilityOf } from '../training/labelRecord';

/**
 * The queues of the review, in the order `q` cycles through them: `flagged`, the teacher-labelled rows whose label the
 * run doubts enough to flag; `doubtful`, the teacher-labelled rows it doubts but does not flag (src/training/doubtful.ts:
 * the unflagged rows it ranks first, as many as the errors it expects among them), each suggesting the most probable
 * other label; `unlabelled`, the rows that had neither a teacher nor a human label when the run ran (the teacher
 * abstained), whose advice is the peers' tempered prediction and which no other queue shows (issue 10 §3.12).
 */
export type ReviewQueue = 'flagged' | 'doubtful' | 'unlabelled';
export const REVIEW_QUEUES: readonly ReviewQueue[] = ['flagged', 'doubtful', 'unlabelled'];

/** Each queue's name as the queue switch, the key table and the help overlay show it. */
export const QUEUE_NAMES: Readonly<Record<ReviewQueue, string>> = { flagged: 'flagged', doubtful: 'doubtful (not flagged)', unlabelled: 'no teacher label' };

/** A queue's name as a title (the queue switch's choices, the list's label): QUEUE_NAMES[queue], capitalised. */
export function queueTitle(queue: ReviewQueue): string {
  const name = QUEUE_NAMES[queue];
  return `${name[0].toUpperCase()}${name.slice(1)}`;
}

/**
 * What a screen reader hears of the list (its aria-label): the queue shown, by the name the queue switch gives it, and
 * the order of its rows. `reranked`: the flagged and doubtful queues' order uses the decisions so far (queueRerank.ts).
 */
export function queueListLabel(queue: ReviewQueue, reranked: boolean): string {
  const order =
    queue === 'unlabelled'
      ? 'highest probability of the advised label first'
      : reranked
        ? 're-ranked with your decisions so far'
        : 'highest probability of a wrong teacher label first';
  return `${queueTitle(queue)} queue: rows, ${order}`;
}

/** The queue `q` switches to from `queue`: the next of REVIEW_QUEUES, round. */
export function nextQueue(queue: ReviewQueue): ReviewQueue {
  return REVIEW_QUEUES[(REVIEW_QUEUES.indexOf(queue) + 1) % REVIEW_QUEUES.length];
}

/**
 * The filters that change when the list shows `to` instead of `from`: the teacher filter is cleared on the way into
 * the queue without teacher labels (a label has no rows there) and on the way out of it (all its rows are the ∅ row,
 * which would show none of another queue's rows with a teacher label); the other filters keep their meaning.
 */
export function filtersForQueue(from: ReviewQueue, to: ReviewQueue): Partial<ReviewFilters> {
  return to === 'unlabelled' || from === 'unlabelled' ? { queue: to, teacher: '' } : { queue: to };
}

/**
 * Why a bulk accept is refused in a queue, or null where it may run: each suggestion of the doubtful queue is less
 * likely than the teacher's label (the run did not flag the row), so accepting them all would write more errors than
 * it fixes.
 */
export function bulkAcceptRefusal(queue: ReviewQueue): string | null {
  return queue === 'doubtful'
    ? "Bulk accept does not act on the doubtful queue: the run thinks each of its suggestions less likely than the teacher's label, so accepting them all would write more errors than it fixes. Decide these rows one by one."
    : null;
}

/** A row of one of the review queues, joined with what the dataset document says about that row right now. */
export interface ReviewRow {
  /**
   * The row's key in the review (src/review/rowKeys.ts): its identity, plus its occurrence when the file repeats the
   * id. Messages between panel and host name rows by this key.
   */
  key: string;
  /** Row identity (dataset core): stable across line moves. Shown to the user; not unique when ids repeat. */
  id: string;
  /** Current 1-based line of the row in the document; null when the row is no longer in the file. */
  line: number | null;
  text: string;
  /** Teacher label as in the document now (falls back to the run's when the row is gone). */
  teacher: string | null;
  suggested: string;
  queue: ReviewQueue;
  /**
   * The ranking score, highest first. `flagged`, `doubtful`: the probability that the teacher label is wrong. `unlabelled`: the
   * probability of the suggested label (there is no teacher label to doubt), so "Accept all ≥ p" labels the surest.
   */
  p: number;
  probs: Record<string, number>;
  peerProbs: Record<string, number>;
  vanillaProbs: Record<string, number>;
  /** Human label as in the document now: the decision already taken, if any. */
  human: string | null;
  /** Skipped in this review session (nothing is written for a skip). */
  skipped: boolean;
  /**
   * The teacher label in the file is not the one the run judged (edited by hand, or the file replaced by one with the
   * same ids and other labels): the run's suggestion and probability are about `runTeacher`, a label no longer there.
   * Such a row is shown as changed since the run, with no probability, and its suggestion is never accepted (one
   * decision or in bulk); keep or set a label, or run again. The diagnostics drop it by the same rule (changedSinceRun).
   */
  changedSinceRun: boolean;
  /**
   * Of those, a row whose text is not the one the run read (its digest, predictions.jsonl `text_digest`, is another;
   * textChangedSinceRun): the suggestion is about the old text. Shown and refused like a changed teacher label.
   */
  textChangedSinceRun: boolean;
  /** The teacher label the run judged. */
  runTeacher: string | null;
}

export type ReviewStatusFilter = 'all' | 'unreviewed' | 'reviewed';

export interface ReviewFilters {
  /** The queue shown; the other filters apply within it. */
  queue: ReviewQueue;
  /** Only rows whose teacher label is this; '' for any; NO_TEACHER_FILTER for the rows without a teacher label. */
  teacher: string;
  /** Only rows whose suggested label is this; '' for any. */
  suggested: string;
  /** Only rows with p >= minProbability (0–1). */
  minProbability: number;
  status: ReviewStatusFilter;
  /** Case-insensitive substring of the text (or the id, or `#line`); '' for any. */
  search: string;
}

export const DEFAULT_FILTERS: ReviewFilters = {
  queue: 'flagged',
  teacher: '',
  suggested: '',
  minProbability: 0,
  status: 'all',
  search: '',
};

export function isReviewed(row: ReviewRow): boolean {
  return row.human !== null;
}

/**
 * Highest probability of teacher error first; ties by line (rows gone from the file last), then id. `scores`: a
 * re-ranked order (src/review/queueRerank.ts) by row key, used instead of `p` where it has the row. Rows changed since
 * the run come after every other row, by line: the run's probability is about a label no longer there (they show
 * none), so it must not put them at the top of the queue.
 */
export function compareForReview(a: ReviewRow, b: ReviewRow, scores?: ReadonlyMap<string, number>): number {
  if (a.changedSinceRun !== b.changedSinceRun) return a.changedSinceRun ? 1 : -1;
  if (a.changedSinceRun) return compareByLine(a, b);
  const scoreA = scores?.get(a.key) ?? a.p;
  const scoreB = scores?.get(b.key) ?? b.p;
  if (scoreB !== scoreA) {
    return scoreB - scoreA;
  }
  return compareByLine(a, b);
}

/** By line (rows gone from the file last), then id. */
function compareByLine(a: ReviewRow, b: ReviewRow): number {
  const lineA = a.line ?? Number.MAX_SAFE_INTEGER;
  const lineB = b.line ?? Number.MAX_SAFE_INTEGER;
  if (lineA !== lineB) {
    return lineA - lineB;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function matchesFilters(row: ReviewRow, filters: ReviewFilters): boolean {
  if (row.queue !== filters.queue) {
    return false;
  }
  if (filters.teacher === NO_TEACHER_FILTER ? row.teacher !== null : filters.teacher !== '' && row.teacher !== filters.teacher) {
    return false;
  }
  if (filters.suggested !== '' && row.suggested !== filters.suggested) {
    return false;
  }
  if (row.p < filters.minProbability) {
    return false;
  }
  if (filters.status === 'reviewed' && !isReviewed(row)) {
    return false;
  }
  if (filters.status === 'unreviewed' && isReviewed(row)) {
    return false;
  }
  const search = filters.search.trim().toLowerCase();
  if (search !== '') {
    if (search.startsWith('#') && /^#\d+$/.test(search)) {
      return row.line === Number(search.slice(1));
    }
    return row.text.toLowerCase().includes(search) || row.id.toLowerCase().includes(search);
  }
  return true;
}

/** The rows to show, in review order (re-ranked by `scores` where given). Does not mutate `rows`. */
export function filterAndSort(rows: readonly ReviewRow[], filters: ReviewFilters, scores?: ReadonlyMap<string, number>): ReviewRow[] {
  return rows.filter((row) => matchesFilters(row, filters)).sort((a, b) => compareForReview(a, b, scores));
}

export interface ReviewCounts {
  flagged: number;
  reviewed: number;
  remaining: number;
  skipped: number;
  /** How the reviewed rows were decided. */
  accepted: number;
  kept: number;
  relabelled: number;
  /**
   * Reviewed rows whose teacher label the run judged (a teacher label, unchanged since the run): how many of them the
   * human label says the teacher got wrong, and how many the run expected (the sum of their p). Rows without a teacher
   * label (the `unlabelled` queue) and rows changed since the run count in neither.
   */
  judged: number;
  teacherWrong: number;
  expectedWrong: number;
}

export type DecisionOutcome = 'accepted' | 'kept' | 'relabelled';

/** What the human label says about the suggestion: derived from the document, so labels typed by hand count too. */
export function outcomeOf(row: Pick<ReviewRow, 'human' | 'teacher' | 'suggested'>): DecisionOutcome | null {
  if (row.human === null) {
    return null;
  }
  if (row.human === row.suggested) {
    return 'accepted';
  }
  if (row.human === row.teacher) {
    return 'kept';
  }
  return 'relabelled';
}

export function countRows(rows: readonly ReviewRow[]): ReviewCounts {
  const counts: ReviewCounts = { flagged: rows.length, reviewed: 0, remaining: 0, skipped: 0, accepted: 0, kept: 0, relabelled: 0, judged: 0, teacherWrong: 0, expectedWrong: 0 };
  for (const row of rows) {
    const outcome = outcomeOf(row);
    if (outcome === null) {
      counts.remaining += 1;
      if (row.skipped) {
        counts.skipped += 1;
      }
      continue;
    }
    counts.reviewed += 1;
    counts[outcome] += 1;
    if (row.queue !== 'unlabelled' && row.teacher !== null && !row.changedSinceRun) {
      counts.judged += 1;
      counts.expectedWrong += row.p;
      if (row.human !== row.teacher) counts.teacherWrong += 1;
    }
  }
  return counts;
}

/**
 * What the user's own decisions in a queue say so far, against what the run expected of those rows: a measured check of
 * the run's probabilities that needs no trust in them ("You found the teacher wrong on 22 of the 40 rows you decided
 * here; the run expected about 12."). Empty before the first decision on a row the run judged.
 */
export function reviewedVerdict(counts: Pick<ReviewCounts, 'judged' | 'teacherWrong' | 'expectedWrong'>): string {
  if (counts.judged === 0) return '';
  if (counts.judged === 1) {
    return `You found the teacher ${counts.teacherWrong === 1 ? 'wrong' : 'right'} on the row you decided here; the run gave it p = ${counts.expectedWrong.toFixed(2)} of being wrong.`;
  }
  const expected = Math.round(counts.expectedWrong);
  return `You found the teacher wrong on ${counts.teacherWrong.toLocaleString('en-US')} of the ${counts.judged.toLocaleString('en-US')} rows you decided here; the run expected about ${expected.toLocaleString('en-US')}.`;
}

export interface ConfusionTable {
  /**
   * Row labels (teacher) and column labels (suggested), in the run's label order (the order of the keys 1–9), then
   * labels outside the label set alphabetically; null, last, is the row of the rows without a teacher label (drawn as
   * NO_TEACHER_TEXT, in words and a style of its own: a label written `∅` is a row of its own).
   */
  teacherLabels: (string | null)[];
  suggestedLabels: string[];
  /** The key (1–9) that sets each label, or null: shown in the table headers beside the label. */
  teacherDigits: (number | null)[];
  suggestedDigits: (number | null)[];
  /** counts[i][j]: flagged rows with teacher teacherLabels[i] and suggestion suggestedLabels[j]. */
  counts: number[][];
}

/**
 * How the panel names a missing teacher label (the list's teacher column, the confusion table's null row, the Teacher
 * dropdown: teacherFilterText), in words, and in a style of its own (class `no-label`) with its tooltip
 * (NO_TEACHER_TITLE): a sign such as `∅` read as a missing choice, and a label written `∅` stays a label of its own.
 */
export const NO_TEACHER_TEXT = 'No teacher label';

/** The tooltip of a missing teacher label (the list's rows, the confusion table's null row). */
export const NO_TEACHER_TITLE = 'No teacher label: the teacher left these rows without one';

/**
 * The teacher filter's value for the rows without a teacher label (the confusion table's null row, the Teacher
 * dropdown's last choice): blank, so that no teacher label is it (a label is a non-blank string, dataset/parse.ts
 * labelValue), and a label written `∅` stays a label to filter on.
 */
export const NO_TEACHER_FILTER = ' ';

/** The teacher filter that shows the rows of a confusion-table row: its label, or NO_TEACHER_FILTER for the null row. */
export function teacherFilterOf(tableTeacher: string | null): string {
  return tableTeacher === null ? NO_TEACHER_FILTER : tableTeacher;
}

/**
 * Whether a cell of the confusion table (its row's teacher label, null for the rows without one; its column's
 * suggestion) is what the list is filtered on: the one rule for the cell drawn as filtered, its name for a screen
 * reader, and a click (or Enter) on it clearing the filter.
 */
export function isFilteredCell(filters: Pick<ReviewFilters, 'teacher' | 'suggested'>, tableTeacher: string | null, suggested: string): boolean {
  return filters.teacher === teacherFilterOf(tableTeacher) && filters.suggested === suggested;
}

/**
 * What the Teacher dropdown shows for a filter value: the label, or for NO_TEACHER_FILTER what it stands for and how
 * many rows it shows (`noTeacherRows`: the shown queue's rows without a teacher label, ViewUpdate.noTeacherRows).
 */
export function teacherFilterText(value: string, noTeacherRows: number): string {
  if (value !== NO_TEACHER_FILTER) return value;
  return `${NO_TEACHER_TEXT} (${noTeacherRows.toLocaleString('en-US')} row${noTeacherRows === 1 ? '' : 's'})`;
}

/**
 * What a screen reader says for a cell of the confusion table (the Label Review panel's grid): "Teacher Business,
 * suggested Sports: 12 rows", and that the list is filtered on it when it is. `teacher`: null for the rows without
 * a teacher label ("No teacher label, …"; a label written `∅` is "Teacher ∅, …").
 */
export function confusionCellName(teacher: string | null, suggested: string, count: number, filtered: boolean): string {
  const teacherText = teacher === null ? 'No teacher label' : `Teacher ${teacher}`;
  const rows = `${count.toLocaleString('en-US')} row${count === 1 ? '' : 's'}`;
  return `${teacherText}, suggested ${suggested}: ${rows}${filtered ? ' (the list shows these; Enter shows all rows)' : ''}`;
}

/** The tooltip of a cell of the confusion table (`teacher`: as confusionCellName). */
export function confusionCellTitle(teacher: string | null, suggested: string, filtered: boolean): string {
  if (filtered) return 'Click (or Enter) to clear this filter';
  return `Show rows ${teacher === null ? 'without a teacher label' : `with teacher '${teacher}'`} and suggestion '${suggested}' (click, or Enter)`;
}

/**
 * Sorts labels the way the panel shows them everywhere (buttons, table, dropdowns): the run's label set first, in its
 * order, then labels outside it alphabetically (a label written `∅` too: the rows without a teacher label are no label
 * here, each list puts them last itself).
 */
export function sortByLabelOrder(labels: Iterable<string>, labelSet: readonly string[]): string[] {
  const position = new Map(labelSet.map((label, index) => [label, index] as const));
  const rank = (label: string): number => (position.has(label) ? 0 : 1);
  return [...new Set(labels)].sort((a, b) => {
    const byRank = rank(a) - rank(b);
    if (byRank !== 0) {
      return byRank;
    }
    if (rank(a) === 0) {
      return position.get(a)! - position.get(b)!;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

export function confusionTable(rows: readonly ReviewRow[], labelSet: readonly string[]): ConfusionTable {
  // Keyed by the teacher label, null for the rows without one: never the key of a label, whatever it is written as.
  const cells = new Map<string | null, Map<string, number>>();
  const suggestedSet = new Set<string>();
  for (const row of rows) {
    let byTeacher = cells.get(row.teacher);
    if (!byTeacher) {
      byTeacher = new Map();
      cells.set(row.teacher, byTeacher);
    }
    byTeacher.set(row.suggested, (byTeacher.get(row.suggested) ?? 0) + 1);
    suggestedSet.add(row.suggested);
  }
  const labelled = [...cells.keys()].filter((teacher): teacher is string => teacher !== null);
  const teacherLabels = [...sortByLabelOrder(labelled, labelSet), ...(cells.has(null) ? [null] : [])];
  const suggestedLabels = sortByLabelOrder(suggestedSet, labelSet);
  const counts = teacherLabels.map((teacher) => suggestedLabels.map((suggested) => cells.get(teacher)?.get(suggested) ?? 0));
  const digits = (labels: readonly (string | null)[]): (number | null)[] => labels.map((label) => (label === null ? null : (digitForLabel(labelSet, label) ?? null)));
  return { teacherLabels, suggestedLabels, teacherDigits: digits(teacherLabels), suggestedDigits: digits(suggestedLabels), counts };
}

export type Decision =
  | { kind: 'accept' }
  | { kind: 'keep' }
  | { kind: 'set'; label: string }
  | { kind: 'skip' };

/**
 * The human label a decision writes, or null for a decision that writes nothing (skip, or keep where the teacher
 * abstained: there is no teacher label to keep).
 */
export function labelForDecision(row: Pick<ReviewRow, 'teacher' | 'suggested'>, decision: Decision): string | null {
  switch (decision.kind) {
    case 'accept':
      return row.suggested;
    case 'keep':
      return row.teacher;
    case 'set':
      return decision.label;
    case 'skip':
      return null;
  }
}

/**
 * The label each key 1–9 sets (index 0 for key 1), undefined where none. A label written as one digit 1–9 (class ids
 * "0"/"1", ratings "1"–"10") is set by the key of its own digit, as a user reads it: by position, key 2 would set "10"
 * in the sorted set ["1", "10", "2", …] and key 1 would set "0" of ["0", "1"]. The labels that are no number take the
 * keys left, in the set's order (all of them in a set without digit labels: the n-th label); other numbers ("0",
 * "10") have no key. So a stray "0" among ["negative", "positive"] leaves both their keys (and buttons).
 */
function keyedLabels(labelSet: readonly string[]): (string | undefined)[] {
  const keys: (string | undefined)[] = new Array<string | undefined>(9).fill(undefined);
  for (const label of labelSet) if (/^[1-9]$/.test(label)) keys[Number(label) - 1] = label;
  let next = 0;
  for (const label of labelSet) {
    if (/^[0-9]+$/.test(label)) continue;
    while (next < 9 && keys[next] !== undefined) next++;
    if (next === 9) break;
    keys[next] = label;
  }
  return keys;
}

/** Label for the keys 1–9 (keyedLabels), or undefined when the key sets none. */
export function labelForDigit(labelSet: readonly string[], digit: number): string | undefined {
  if (!Number.isInteger(digit) || digit < 1 || digit > 9) {
    return undefined;
  }
  return keyedLabels(labelSet)[digit - 1];
}

/** The key (1–9) that sets `label`: the inverse of labelForDigit, or undefined when no key sets it. */
export function digitForLabel(labelSet: readonly string[], label: string): number | undefined {
  const index = keyedLabels(labelSet).indexOf(label);
  return index >= 0 ? index + 1 : undefined;
}

/** One entry of the label picker ("Other label…", key n): a label of the set, or the typed text as a new label. */
export interface LabelChoice {
  label: string;
  /** Its key, and whether it is the row's suggestion or teacher label. */
  description: string;
  /** The typed text, not in the label set: written only after the user confirms it. */
  isNew: boolean;
}

/**
 * The label picker's entries: every label of the set, in its order (a set of 30 labels has no key past the ninth, so
 * this is where the rest are picked), then the typed text as a new label when it names none of them.
 */
export function labelChoices(labelSet: readonly string[], row: Pick<ReviewRow, 'teacher' | 'suggested'>, typed: string): LabelChoice[] {
  const choices: LabelChoice[] = labelSet.map((label) => {
    const digit = digitForLabel(labelSet, label);
    const notes = [digit === undefined ? '' : `key ${digit}`, label === row.suggested ? 'suggested' : '', label === row.teacher ? 'teacher' : ''];
    return { label, description: notes.filter(Boolean).join(' · '), isNew: false };
  });
  const label = typed.trim();
  if (label !== '' && !labelSet.includes(label)) {
    const like = lookAlikeLabel(labelSet, label);
    const description =
      like === undefined
        ? 'new label, not in the label set (asks first)'
        : like.how === 'case'
          ? `new label: differs from '${like.label}' of the label set only by case (asks first)`
          : `not usable: '${like.label}' of the label set written another way`;
    choices.push({ label, description, isNew: true });
  }
  return choices;
}

/**
 * What a decision that wrote `label` is called in the undo entry and the row's status, by the same rule as outcomeOf
 * (what the label is, not which key wrote it): pressing the digit of the suggested label is an accept, and says so
 * everywhere, as the counts already do.
 */
export function describeDecision(row: Pick<ReviewRow, 'teacher' | 'suggested'>, label: string): string {
  const outcome = outcomeOf({ human: label, teacher: row.teacher, suggested: row.suggested });
  return outcome === 'accepted' ? `Accept '${label}'` : outcome === 'kept' ? `Keep '${label}'` : `Set '${label}'`;
}

/**
 * What to tell the user when a `set` (a digit key, a label button) wrote the suggested or the teacher's label: the
 * row then counts as accepted or kept, and the row's status says so; null when the label is a third one.
 */
export function decisionNote(row: Pick<ReviewRow, 'teacher' | 'suggested'>, decision: Decision): string | null {
  if (decision.kind !== 'set') {
    return null;
  }
  const outcome = outcomeOf({ human: decision.label, teacher: row.teacher, suggested: row.suggested });
  if (outcome === 'accepted') {
    return `'${decision.label}' is the suggested label: counted as accepted.`;
  }
  if (outcome === 'kept') {
    return `'${decision.label}' is the teacher's label: counted as kept.`;
  }
  return null;
}

/**
 * Whether a row's teacher label in the file now is not the one the run judged, so that the run's suggestion and
 * probability are about another label. One rule for the panel (ReviewRow.changedSinceRun, the decisions) and the
 * editor's diagnostics. `now`: the row in the file now; undefined when it left the file (nothing to compare).
 */
export function teacherChangedSinceRun(prediction: Pick<Prediction, 'teacher'>, now: Pick<DocumentRowState, 'teacher'> | undefined): boolean {
  return now !== undefined && now.teacher !== prediction.teacher;
}

/** Why a suggestion is not accepted on a row whose teacher label changed since the run (teacherChangedSinceRun). */
export function changedSinceRunMessage(id: string, runTeacher: string | null, teacherNow: string | null): string {
  const shown = (label: string | null): string => (label === null ? 'none' : `'${label}'`);
  return `row '${id}': its teacher label changed since the run (${shown(runTeacher)} then, ${shown(teacherNow)} now), so the run's suggestion is about another label; keep or set a label, or run again`;
}

/** Why a suggestion is not accepted on a row whose text changed since the run (textChangedSinceRun). */
export function textChangedSinceRunMessage(id: string): string {
  return `row '${id}': its text changed since the run, so the run's suggestion is about its old text; keep or set a label, or run again`;
}

/** The message for a row that changed since the run (rowChangedSinceRun), by what changed. */
export function rowChangedSinceRunMessage(id: string, changed: 'teacher' | 'text', runTeacher: string | null, teacherNow: string | null): string {
  return changed === 'text' ? textChangedSinceRunMessage(id) : changedSinceRunMessage(id, runTeacher, teacherNow);
}

/** Unreviewed rows of one queue that a bulk accept above `minProbability` would change, in review order (none where bulkAcceptRefusal refuses). */
export function rowsForBulkAccept(rows: readonly ReviewRow[], minProbability: number, queue: ReviewQueue = 'flagged'): ReviewRow[] {
  if (bulkAcceptRefusal(queue) !== null) return [];
  return rows
    .filter((row) => row.queue === queue && !isReviewed(row) && !row.changedSinceRun && row.line !== null && row.p >= minProbability && row.suggested !== '')
    .sort((a, b) => compareForReview(a, b));
}

/** Joins the run's flagged predictions with the document's current state of each row (by row key). */
export interface DocumentRowState {
  line: number;
  text: string | null;
  teacher: string | null;
  human: string | null;
}

/**
 * The queue a prediction belongs to, or null when the review shows it nowhere (unflagged and not doubtful, or
 * human-labelled at run time). `doubtful`: whether the prediction is one of the run's doubtful rows (doubtfulKeys).
 */
export function queueOf(prediction: Pick<Prediction, 'flagged' | 'teacher' | 'human' | 'suggested'>, doubtful = false): ReviewQueue | null {
  if (prediction.flagged) {
    return 'flagged';
  }
  if (doubtful) return 'doubtful';
  return prediction.teacher === null && prediction.human === null && prediction.suggested !== '' ? 'unlabelled' : null;
}

/** The ranking score of a prediction in its queue (ReviewRow.p). */
export function queueScore(prediction: Pick<Prediction, 'p_teacher_wrong' | 'probs' | 'suggested'>, queue: ReviewQueue): number {
  return queue === 'unlabelled' ? (probabilityOf(prediction.probs, prediction.suggested) ?? 0) : prediction.p_teacher_wrong;
}

/**
 * The suggestion a row shows in its queue: the run's (the arg-max of its advice), but on a doubtful row, whose arg-max
 * is the teacher's own label, the most probable other label.
 */
export function queueSuggestion(prediction: Pick<Prediction, 'suggested' | 'probs' | 'teacher'>, queue: ReviewQueue | null): string {
  return queue === 'doubtful' ? (alternativeLabel(prediction.probs, prediction.teacher) ?? prediction.suggested) : prediction.suggested;
}

/** What the header says of the doubtful queue: how many rows, and the errors the run expects in it and overall. */
export interface DoubtfulSummary {
  rows: number;
  /** Σ p_teacher_wrong over the queue's rows. */
  expectedInQueue: number;
  /** Σ p_teacher_wrong over every unflagged teacher-labelled row without a human label at run time. */
  expectedErrors: number;
  /** The highest p_teacher_wrong in the queue (0 when it is empty). */
  maxP: number;
}

/** The doubtful rows of a run's predictions, computed once per predictions array (a session rebuilds its rows at every edit). */
const doubtfulCache = new WeakMap<readonly Prediction[], { indices: ReadonlySet<number>; summary: DoubtfulSummary }>();

/** The indices of the run's doubtful rows (src/training/doubtful.ts), and what the header says of them. */
export function doubtfulOf(predictions: readonly Prediction[]): { indices: ReadonlySet<number>; summary: DoubtfulSummary } {
  let found = doubtfulCache.get(predictions);
  if (!found) {
    const set = doubtfulPredictions(predictions);
    const maxP = set.rows.length === 0 ? 0 : predictions[set.rows[0]].p_teacher_wrong;
    found = { indices: new Set(set.rows), summary: { rows: set.rows.length, expectedInQueue: set.expectedInQueue, expectedErrors: set.expectedErrors, maxP } };
    doubtfulCache.set(predictions, found);
  }
  return found;
}

/** The run's doubtful predictions as a set of the prediction objects, computed once per predictions array. */
const doubtfulSetCache = new WeakMap<readonly Prediction[], ReadonlySet<Prediction>>();

/** Whether `prediction`, one of the run's `predictions`, is one of its doubtful rows (doubtfulOf): what the hover asks of one row. */
export function isDoubtfulPrediction(predictions: readonly Prediction[], prediction: Prediction): boolean {
  let set = doubtfulSetCache.get(predictions);
  if (!set) {
    set = new Set([...doubtfulOf(predictions).indices].map((index) => predictions[index]));
    doubtfulSetCache.set(predictions, set);
  }
  return set.has(prediction);
}

/** Formats a probability the same way everywhere (panel, diagnostics, hover): two decimals. */
export function formatProbability(p: number): string {
  return p.toFixed(2);
}

export function diagnosticMessage(teacher: string | null, suggested: string, p: number): string {
  const teacherText = teacher === null ? 'Missing teacher label' : `Teacher label '${teacher}'`;
  return `${teacherText} may be wrong: peers suggest '${suggested}' (p = ${formatProbability(p)})`;
}
