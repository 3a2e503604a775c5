/** Turns the review model into what the webview draws (pure, so the panel host stays glue). */
import { confusionTable, countRows, filterAndSort, isReviewed, NO_TEACHER_FILTER, outcomeOf, REVIEW_QUEUES, sortByLabelOrder, type ReviewFilters, type ReviewQueue, type ReviewRow } from './model';
import { MAX_ROW_TEXT_CHARS, type LabelProbability, type RowView, type ViewUpdate } from './protocol';
import { cutText } from './prettyRow';
import type { UndoStack } from './undo';
import { probabilityOf } from '../training/labelRecord';

/**
 * Every label once, most probable (calibrated) first, with the peers' and the vanilla student's where known. Shared
 * by the panel and the hover. Lookups are by own key only, so labels such as `constructor` never read
 * Object.prototype.
 */
export function labelProbabilities(row: Pick<ReviewRow, 'probs' | 'peerProbs' | 'vanillaProbs'>): LabelProbability[] {
  const labels = new Set([...Object.keys(row.probs), ...Object.keys(row.peerProbs), ...Object.keys(row.vanillaProbs)]);
  return [...labels]
    .map((label) => ({
      label,
      advised: probabilityOf(row.probs, label) ?? 0,
      peer: probabilityOf(row.peerProbs, label) ?? null,
      vanilla: probabilityOf(row.vanillaProbs, label) ?? null,
    }))
    .sort((a, b) => b.advised - a.advised || (a.label < b.label ? -1 : 1));
}

export function toRowView(row: ReviewRow): RowView {
  return {
    key: row.key,
    id: row.id,
    line: row.line,
    text: cutText(row.text, MAX_ROW_TEXT_CHARS),
    textLength: row.text.length,
    teacher: row.teacher,
    suggested: row.suggested,
    queue: row.queue,
    p: row.p,
    human: row.human,
    skipped: row.skipped,
    changedSinceRun: row.changedSinceRun,
    textChangedSinceRun: row.textChangedSinceRun,
    runTeacher: row.runTeacher,
    outcome: outcomeOf(row),
  };
}

/** Rows and unreviewed rows of each queue, for the queue switch. */
export function queueSizes(rows: readonly ReviewRow[]): Record<ReviewQueue, { rows: number; remaining: number }> {
  const sizes = Object.fromEntries(REVIEW_QUEUES.map((queue) => [queue, { rows: 0, remaining: 0 }])) as Record<ReviewQueue, { rows: number; remaining: number }>;
  for (const row of rows) {
    sizes[row.queue].rows += 1;
    if (!isReviewed(row)) {
      sizes[row.queue].remaining += 1;
    }
  }
  return sizes;
}

/**
 * `labelSet`: the run's labels in the order the keys 1–9 use; the table and the dropdowns follow it too. The counts,
 * the table and the dropdowns describe the queue shown (filters.queue); `queues` sizes every queue.
 */
export function buildViewUpdate(
  allRows: readonly ReviewRow[],
  filters: ReviewFilters,
  undo: UndoStack,
  labelSet: readonly string[],
  rerank?: { scores: ReadonlyMap<string, number>; reviewed: number; ms: number } | null,
): ViewUpdate {
  const rows = allRows.filter((row) => row.queue === filters.queue);
  const teacherLabels = new Set<string>();
  const suggestedLabels = new Set<string>();
  let noTeacherRows = 0;
  for (const row of rows) {
    if (row.teacher !== null) {
      teacherLabels.add(row.teacher);
    } else {
      noTeacherRows += 1;
    }
    suggestedLabels.add(row.suggested);
  }
  return {
    order: filterAndSort(rows, filters, rerank?.scores).map((row) => row.key),
    counts: countRows(rows),
    confusion: confusionTable(rows, labelSet),
    // The rows without a teacher label last, as the confusion table's last row (a filter its cells set, model.ts).
    teacherLabels: [...sortByLabelOrder(teacherLabels, labelSet), ...(noTeacherRows > 0 ? [NO_TEACHER_FILTER] : [])],
    noTeacherRows,
    suggestedLabels: sortByLabelOrder(suggestedLabels, labelSet),
    queues: queueSizes(allRows),
    canUndo: undo.size > 0,
    undoDescription: undo.peek()?.description ?? null,
    reranked: rerank ? { reviewed: rerank.reviewed, ms: rerank.ms } : null,
  };
}

/** Rows whose drawn form changed between two snapshots (so the host sends only those). */
export function changedRows(before: ReadonlyMap<string, ReviewRow>, after: readonly ReviewRow[]): ReviewRow[] {
  return after.filter((row) => {
    const old = before.get(row.key);
    return (
      !old ||
      old.line !== row.line ||
      old.human !== row.human ||
      old.teacher !== row.teacher ||
      old.text !== row.text ||
      old.skipped !== row.skipped ||
      old.changedSinceRun !== row.changedSinceRun ||
      old.textChangedSinceRun !== row.textChangedSinceRun
    );
  });
}
