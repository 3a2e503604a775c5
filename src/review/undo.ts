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
  const plan: UndoPlan = { writes: [], conflicts: [] };
  for (const change of entry.changes) {
    const current = locate(change.rowId);
    if (!current) {
      plan.conflicts.push({ rowId: change.rowId, reason: missingReason(change.rowId) });
    } else if (current.text === change.before) {
      // Already undone (the editor's Ctrl+Z, or the same text typed back): nothing to write, nothing to warn about.
    } else if (current.text !== change.after) {
      plan.conflicts.push({ rowId: change.rowId, reason: `line ${current.line} was edited since` });
    } else {
      plan.writes.push({ rowId: change.rowId, line: current.line, text: change.before });
    }
  }
  return plan;
}
