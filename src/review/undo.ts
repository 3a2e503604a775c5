/**
 * Undo inside the review panel. Each decision (or bulk accept) records, per row, the exact line text before and after
 * it wrote; undo puts the "before" text back only where the line still reads exactly "after", so it restores every
 * byte and never overwrites something the user typed in the meantime. Plain TypeScript: the panel host turns the
 * result into a WorkspaceEdit.
 */

export interface LineChange {
  rowId: string;
  /** Full text of the line (no line break) before the decision wrote it. */
  before: string;
  /** Full text of the line after the decision. */
  after: string;
}

export interface UndoEntry {
  /** Shown to the user: "Accept 'Sports'", "Bulk accept (12 rows)", "Skip". */
  description: string;
  changes: LineChange[];
  /** Rows the entry marked as skipped (nothing written); undo clears the mark. */
  skippedRowIds: string[];
}

export class UndoStack {
  private readonly entries: UndoEntry[] = [];

  constructor(private readonly limit = 500) {}

  /** The entries, oldest first (what storedUndo keeps across a reload). */
  all(): readonly UndoEntry[] {
    return this.entries;
  }

  push(entry: UndoEntry): void {
    if (entry.changes.length === 0 && entry.skippedRowIds.length === 0) {
      return;
    }
    this.entries.push(entry);
    if (this.entries.length > this.limit) {
      this.entries.shift();
    }
  }

  pop(): UndoEntry | undefined {
    return this.entries.pop();
  }

  /** Takes back an entry whose edit was refused. */
  remove(entry: UndoEntry): void {
    const index = this.entries.lastIndexOf(entry);
    if (index >= 0) {
      this.entries.splice(index, 1);
    }
  }

  peek(): UndoEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  get size(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

export interface UndoPlan {
  /** Lines to write back: 1-based line number and the text to put there. */
  writes: { rowId: string; line: number; text: string }[];
  /** Rows whose line changed since the decision (or that left the file): left as they are. */
  conflicts: { rowId: string; reason: string }[];
  /** Rows whose line holds what it held before the decision again (the editor's undo, a revert from disk): nothing to write. */
  alreadyUndone: { rowId: string; line: number }[];
}

/**
 * Plans undoing `entry` against the current document. `locate` gives the current line number and text of a row, or
 * undefined when the row is no longer in the file.
 */
export function planUndo(
  entry: UndoEntry,
  locate: (rowId: string) => { line: number; text: string } | undefined,
  /** Why a row that `locate` cannot find is not in the file as the decision left it (e.g. its id is repeated now). */
  missingReason: (rowId: string) => string = () => 'the row is no longer in the file',
): UndoPlan {
  const plan: UndoPlan = { writes: [], conflicts: [], alreadyUndone: [] };
  for (const change of entry.changes) {
    const current = locate(change.rowId);
    if (!current) {
      plan.conflicts.push({ rowId: change.rowId, reason: missingReason(change.rowId) });
    } else if (current.text === change.before) {
      // Already undone (the editor's Ctrl+Z, the file reverted, the same text typed back): nothing to write; said when
      // nothing else is (undoMessage), so that `u` never consumes an entry without a word.
      plan.alreadyUndone.push({ rowId: change.rowId, line: current.line });
    } else if (current.text !== change.after) {
      plan.conflicts.push({ rowId: change.rowId, reason: `line ${current.line} was edited since` });
    } else {
      plan.writes.push({ rowId: change.rowId, line: current.line, text: change.before });
    }
  }
  return plan;
}

/**
 * The undo history as kept across a window reload (the host stores it in its workspace state, by dataset; session.ts
 * ReviewHistories). Only the entries that wrote lines: a skip writes nothing and its mark does not outlive the window.
 * Bounded: the newest STORED_UNDO_ENTRIES entries within STORED_UNDO_CHARS of line text, and always the newest ones in
 * order (an entry too big to keep ends the kept history there: undo must never skip a decision to reach an older one).
 */
export interface StoredUndo {
  version: 1;
  /** Oldest first, as UndoStack keeps them. */
  entries: { description: string; changes: LineChange[] }[];
  /** Older entries that wrote lines but were not kept (over the bounds): said when undo runs out after a reload. */
  dropped: number;
  /**
   * Per row of the kept entries, the labels the review wrote into its line, oldest first (session.ts CarriedState.logged):
   * an undo logs the label the row had from the review before, so a row decided twice stays counted as reviewed.
   */
  logged: [string, string[]][];
}

export const STORED_UNDO_ENTRIES = 100;
/** Characters of line text (before and after) kept across a reload per dataset. */
export const STORED_UNDO_CHARS = 2_000_000;

export interface StoredLimits {
  entries: number;
  chars: number;
}

/** The part of `entries` (oldest first) kept across a reload, within the bounds. */
export function storedUndo(
  entries: readonly UndoEntry[],
  logged: ReadonlyMap<string, readonly string[]> = new Map(),
  limits: StoredLimits = { entries: STORED_UNDO_ENTRIES, chars: STORED_UNDO_CHARS },
): StoredUndo {
  const writing = entries.filter((entry) => entry.changes.length > 0);
  const kept: StoredUndo['entries'] = [];
  let chars = 0;
  for (let index = writing.length - 1; index >= 0 && kept.length < limits.entries; index--) {
    const entry = writing[index];
    const size = entry.changes.reduce((sum, change) => sum + change.before.length + change.after.length, 0);
    if (chars + size > limits.chars) break;
    chars += size;
    kept.push({ description: entry.description, changes: entry.changes.map(({ rowId, before, after }) => ({ rowId, before, after })) });
  }
  const rows = new Set(kept.flatMap((entry) => entry.changes.map((change) => change.rowId)));
  const keptLogged = [...logged].filter(([rowId, labels]) => rows.has(rowId) && labels.length > 0).map(([rowId, labels]): [string, string[]] => [rowId, [...labels]]);
  return { version: 1, entries: kept.reverse(), dropped: writing.length - kept.length, logged: keptLogged };
}

const isString = (value: unknown): value is string => typeof value === 'string';
/** A kept line: one line of text, as a decision reads and writes it (a line break would make it two). */
const isLine = (value: unknown): value is string => isString(value) && !/[\r\n]/.test(value);

/**
 * The kept history read back; anything that is not one as storedUndo writes it (another version, a damaged store)
 * gives no history, never a partial or reordered one.
 */
export function parseStoredUndo(value: unknown): StoredUndo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stored = value as Partial<Record<keyof StoredUndo, unknown>>;
  if (stored.version !== 1 || !Array.isArray(stored.entries) || stored.entries.length > STORED_UNDO_ENTRIES) return undefined;
  const dropped = typeof stored.dropped === 'number' && Number.isSafeInteger(stored.dropped) && stored.dropped >= 0 ? stored.dropped : 0;
  const entries: StoredUndo['entries'] = [];
  for (const candidate of stored.entries as unknown[]) {
    if (typeof candidate !== 'object' || candidate === null) return undefined;
    const { description, changes } = candidate as { description?: unknown; changes?: unknown };
    if (!isString(description) || !Array.isArray(changes) || changes.length === 0) return undefined;
    const lineChanges: LineChange[] = [];
    for (const change of changes as unknown[]) {
      if (typeof change !== 'object' || change === null) return undefined;
      const { rowId, before, after } = change as Partial<Record<keyof LineChange, unknown>>;
      if (!isString(rowId) || !isLine(before) || !isLine(after)) return undefined;
      lineChanges.push({ rowId, before, after });
    }
    entries.push({ description, changes: lineChanges });
  }
  const logged: StoredUndo['logged'] = [];
  for (const candidate of Array.isArray(stored.logged) ? (stored.logged as unknown[]) : []) {
    if (!Array.isArray(candidate) || candidate.length !== 2 || !isString(candidate[0]) || !Array.isArray(candidate[1]) || !candidate[1].every(isString)) return undefined;
    logged.push([candidate[0], [...(candidate[1] as string[])]]);
  }
  return { version: 1, entries, dropped, logged };
}
