/**
 * The user's place in the review queue across a new run of the same dataset ("Retrain with My Labels", issue 10 §2).
 * Plain TypeScript. Decisions live in the file as human labels, so they survive any run by themselves (the new run
 * trains on them and flags none of those rows again); what a run change would lose is the session's own state: the
 * row the user is on and the rows they skipped. This carries both over by row key (src/review/rowKeys.ts), which
 * stays the same across runs of the same rows.
 */
import { filterAndSort, isReviewed, type ReviewFilters, type ReviewRow } from './model';

export interface ReviewPlace {
  /** The selected row's key when the retraining started. */
  selected: string | null;
  /** Keys of the rows skipped in this session. */
  skipped: readonly string[];
  /** The queue as shown then (keys, display order): where the user was heading. */
  order: readonly string[];
}

/**
 * Where the user is in the new run's queue: the same row if it is still to review, else the next row of the old
 * queue (from the selected one on) that the new run still asks about, else the new queue's first row to review.
 * Skip marks stay on the rows still to review. `rows`: the new run's review rows; `filters`: the filters kept.
 */
export function carryReviewPlace(place: ReviewPlace, rows: readonly ReviewRow[], filters: ReviewFilters): { selected: string | null; skipped: Set<string> } {
  const open = new Map<string, ReviewRow>();
  for (const row of rows) if (!isReviewed(row)) open.set(row.key, row);
  const shown = new Set(filterAndSort(rows, filters).map((row) => row.key));
  const skipped = new Set(place.skipped.filter((key) => open.has(key)));
  const candidate = (key: string): boolean => open.has(key) && shown.has(key);
  let selected: string | null = null;
  if (place.selected !== null && candidate(place.selected)) {
    selected = place.selected;
  } else {
    const from = place.selected === null ? 0 : Math.max(0, place.order.indexOf(place.selected));
    selected = place.order.slice(from).find((key) => candidate(key) && !skipped.has(key)) ?? null;
  }
  if (selected === null) {
    selected = filterAndSort(rows, filters).find((row) => !isReviewed(row) && !skipped.has(row.key))?.key ?? null;
  }
  return { selected, skipped };
}

/**
 * The place waiting for the next run of the panel's dataset. `keep` returns a `forget` for a retraining that ended
 * without a new run: it puts back the place it replaced, so that a second "Retrain with My Labels" refused while the
 * first still runs ("already running") does not take the first one's place with it.
 */
export class PendingPlace<T> {
  private current: T | undefined;

  keep(value: T): () => void {
    const previous = this.current;
    this.current = value;
    return () => {
      if (this.current === value) this.current = previous;
    };
  }

  /** The waiting place, if any, without taking it. */
  peek(): T | undefined {
    return this.current;
  }

  /** Takes the waiting place (a new run consumes it once). */
  take(): T | undefined {
    const value = this.current;
    this.current = undefined;
    return value;
  }
}

/** A place kept for the next run of a dataset: the run it was kept on, and the place. */
export interface KeptPlace {
  runId: string;
  place: ReviewPlace;
}

/**
 * The places waiting for the next run of each dataset, by dataset (its URI as a string). Kept outside any one panel:
 * closing the Label Review panel while "Retrain with My Labels" runs disposes the panel, and a place kept in it was
 * lost with it, so the panel opened on the new run started at the top.
 */
export class PendingPlaces {
  private readonly byDataset = new Map<string, PendingPlace<KeptPlace>>();

  /** Keeps the place for the dataset's next run; returns the `forget` of PendingPlace.keep. */
  keep(dataset: string, value: KeptPlace): () => void {
    let pending = this.byDataset.get(dataset);
    if (!pending) {
      pending = new PendingPlace<KeptPlace>();
      this.byDataset.set(dataset, pending);
    }
    return pending.keep(value);
  }

  peek(dataset: string): KeptPlace | undefined {
    return this.byDataset.get(dataset)?.peek();
  }

  take(dataset: string): KeptPlace | undefined {
    const pending = this.byDataset.get(dataset);
    const value = pending?.take();
    if (pending && pending.peek() === undefined) this.byDataset.delete(dataset);
    return value;
  }
}

/**
 * Where a new session of `dataset` against run `runId` opens (any panel: the one the place was kept in, or one opened
 * after it was closed), or undefined when no place waits. A newer run than the place's takes it (carryReviewPlace); the
 * run it was kept on (a panel opened again while the retraining still runs) opens at it and leaves it waiting.
 * `rows`: the run's review rows, asked for only when a place waits.
 */
export function openAtKeptPlace(
  places: PendingPlaces,
  dataset: string,
  runId: string,
  rows: () => readonly ReviewRow[] | Promise<readonly ReviewRow[]>,
  filters: ReviewFilters,
): Promise<{ selected: string | null; skipped: Set<string> } | undefined> {
  const kept = places.peek(dataset);
  if (!kept) return Promise.resolve(undefined);
  if (kept.runId !== runId) places.take(dataset);
  return Promise.resolve(rows()).then((current) => carryReviewPlace(kept.place, current, filters));
}
