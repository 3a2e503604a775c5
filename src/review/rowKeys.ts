/**
 * Which row of a run is which row of the document. A row's identity (dataset core: the id field, else a hash of the
 * text) is not unique when a file repeats an id, so the review keys rows by identity AND occurrence: the n-th row
 * with id X in the run is the n-th row with id X in the document. A key also carries how many rows share the id, so
 * when that number changed since the run (a duplicate added or deleted) the rows no longer match and decisions on
 * them are refused instead of guessed. A unique id is its own key. Plain TypeScript.
 */

/** Keys of duplicated ids start with this; a unique id that starts with it is encoded too, so keys never collide. */
const ENCODED = '\u0000';

export function rowKey(id: string, occurrence: number, total: number): string {
  return total === 1 && !id.startsWith(ENCODED) ? id : `${ENCODED}${JSON.stringify([id, occurrence, total])}`;
}

/** True for the key of one of several rows that share an id: such rows are told apart by their order alone. */
export function isSharedKey(key: string): boolean {
  return key.startsWith(ENCODED);
}

/** The row identity (id) inside a key. */
export function idOfKey(key: string): string {
  return keyParts(key).id;
}

/**
 * What a key says: the id, the row's occurrence among the rows with it and how many rows had it. A unique id's key (or
 * a plain id, as runs before keys listed them) reads as the only row with that id.
 */
export function keyParts(key: string): { id: string; occurrence: number; total: number } {
  if (key.startsWith(ENCODED)) {
    try {
      const parsed = JSON.parse(key.slice(1)) as unknown;
      if (Array.isArray(parsed) && typeof parsed[0] === 'string' && Number.isInteger(parsed[1]) && Number.isInteger(parsed[2])) {
        return { id: parsed[0], occurrence: parsed[1] as number, total: parsed[2] as number };
      }
    } catch {
      // Not a key this module wrote: the whole string is the id.
    }
  }
  return { id: key, occurrence: 1, total: 1 };
}

/** How many items have each id (the `total` of their keys). */
export function countIds(ids: Iterable<string>, totals = new Map<string, number>()): Map<string, number> {
  for (const id of ids) {
    totals.set(id, (totals.get(id) ?? 0) + 1);
  }
  return totals;
}

/**
 * Keys items one at a time, in file order, given how many items have each id (countIds over all of them first): what
 * a reader that cannot hold every row (a streamed export) keys rows with. assignRowKeys is this over an array.
 */
export class RowKeyer {
  private readonly seen = new Map<string, number>();

  constructor(private readonly totals: ReadonlyMap<string, number>) {}

  next(id: string): string {
    const total = this.totals.get(id);
    // A unique id (most rows) needs no count of its occurrences.
    if (total === 1) return rowKey(id, 1, 1);
    const occurrence = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, occurrence);
    return rowKey(id, occurrence, this.totals.get(id) ?? occurrence);
  }
}

/** The key of each item, in order (items in file order). */
export function assignRowKeys(ids: readonly string[]): string[] {
  const keyer = new RowKeyer(countIds(ids));
  return ids.map((id) => keyer.next(id));
}

/**
 * Why the row with `key` has no match in a document whose rows with each id are on `linesById`: shown when a
 * decision is refused.
 */
export function unmatchedReason(
  key: string,
  linesById: ReadonlyMap<string, readonly number[]>,
  /** Said when no row has the id: the host says more for an identity that is a hash of the text (review/writes.ts). */
  gone = 'the row is no longer in the file',
): string {
  const id = idOfKey(key);
  const lines = linesById.get(id);
  if (!lines || lines.length === 0) {
    return gone;
  }
  const runTotal = keyParts(key).total;
  if (lines.length === runTotal) {
    // As many rows as in the run, but the review saw them in another order or with other text (ReviewSession).
    return (
      `the rows with id ${JSON.stringify(id)} (lines ${lines.join(', ')}) were moved or edited since the review began, so it cannot ` +
      'tell which one this is; put them back as they were, or give each row its own id and run again'
    );
  }
  return (
    `id ${JSON.stringify(id)} is on ${lines.length === 1 ? 'line' : 'lines'} ${lines.join(', ')} now but on ${runTotal} ` +
    `row${runTotal === 1 ? '' : 's'} in the run, so it cannot tell which one this is; give each row its own id and run again`
  );
}

/** A document's rows by key, as the review reads them. */
export interface KeyedRows<Row> {
  byKey: Map<string, Row>;
  /** 1-based line → row key. */
  keyByLine: Map<number, string>;
  /** Row identity → the lines of the rows with it, for unmatchedReason. */
  linesById: Map<string, number[]>;
}

/** Keys every row of a document (duplicated ids included, each its own row), in file order. */
export function keyRows<Row extends { id: string; line: number }, Out>(rows: readonly Row[], project: (row: Row) => Out): KeyedRows<Out> {
  const keys = assignRowKeys(rows.map((row) => row.id));
  const keyed: KeyedRows<Out> = { byKey: new Map(), keyByLine: new Map(), linesById: new Map() };
  rows.forEach((row, index) => {
    keyed.byKey.set(keys[index], project(row));
    keyed.keyByLine.set(row.line, keys[index]);
    const lines = keyed.linesById.get(row.id);
    if (lines) {
      lines.push(row.line);
    } else {
      keyed.linesById.set(row.id, [row.line]);
    }
  });
  return keyed;
}
