/**
 * One review session of one dataset against one run: the rows (the run's flagged predictions joined with the document
 * now), the decisions and what they write, undo, skip marks, filters, selection and scroll. Plain TypeScript over a
 * small document interface, so the Label Review panel (src/webview/labelReviewPanel.ts, glue to the webview) and the
 * quick fixes (src/commands/acceptSuggestion.ts) decide through the same code, and the unit tests drive it with a fake
 * document.
 *
 * Refreshes: the rows are rebuilt once per change of the document (documentChanged, which the document adapter calls
 * from its change event), never also after the write that caused it; a change that touches no line (a skip, undoing a
 * skip) refreshes once itself.
 */
import { TEXT_IDENTITY_PREFIX, textIdentity } from '../dataset/fields';
import { labelListText, lookAlikeLabel, MAX_LABEL_LENGTH } from '../dataset/labels';
import { printable } from '../dataset/jsonScan';
import type { FieldMapping } from '../dataset/types';
import type { Prediction } from '../training/types';
import {
  bulkAcceptRefusal,
  decisionNote,
  DEFAULT_FILTERS,
  describeDecision,
  doubtfulOf,
  filterAndSort,
  labelForDecision,
  matchesFilters,
  rowChangedSinceRunMessage,
  rowsForBulkAccept,
  type Decision,
  type DocumentRowState,
  type ReviewFilters,
  type ReviewQueue,
  type ReviewRow,
} from './model';
import { buildReviewRows, rowChangedSinceRun } from './reviewRows';
import { flaggedEmptyOffer, queueDescriptions } from './format';
import type { ReviewPlace } from './place';
import { RERANK_EVERY, rerankQueue, reviewedSinceRun, type QueueRerank } from './queueRerank';
import type { LabelProbability, RowView, ViewUpdate } from './protocol';
import { assignRowKeys, idOfKey, isSharedKey, type KeyedRows } from './rowKeys';
import { parseStoredUndo, planUndo, storedUndo, UndoStack, type StoredLimits, type StoredUndo } from './undo';
import type { ReviewLogAction, ReviewLogEntry } from './reviewLog';
import { buildViewUpdate, changedRows, labelProbabilities, toRowView } from './view';
import { humanFieldProblem, planLabelWrites, whyUnmatched, type LabelWrite } from './writes';

/** The dataset document as the session reads and writes it. */
export interface ReviewDocument {
  /** Makes sure the text is loaded (an editor closes documents that nothing shows); called before each write. */
  open(): Promise<void>;
  /** The document's rows by key now (the adapter re-parses only when the text changed). */
  rows(): Pick<KeyedRows<DocumentRowState>, 'byKey' | 'linesById'>;
  /** Text of a 1-based line, without its line break. */
  lineText(line: number): string;
  /** Why no label may be written into this document (e.g. bytes the editor cannot keep), or null. */
  writeRefusal(): Promise<string | null>;
  /** Replaces whole 1-based lines as ONE edit (one step of the editor's undo); false when it was refused. */
  replaceLines(writes: readonly { line: number; text: string }[]): Promise<boolean>;
}

type DocumentRows = ReturnType<ReviewDocument['rows']>;

/** What the session needs of a run. */
export interface ReviewRun {
  predictions: readonly Prediction[];
  /** The run's label set, in the order of the keys 1–9. */
  labels: readonly string[];
  /** The field mapping the run read the dataset with (its settings.json); absent: not known. */
  fields?: FieldMapping;
  /** The run's id, for the review log; absent: not known. */
  runId?: string;
}

/** One refresh, as the panel sends it: the rows whose drawn form changed, and the new order, counts and table. */
export interface SessionUpdate {
  rows: RowView[];
  view: ViewUpdate;
}

export type DecisionResult =
  /** Written (or nothing to write: the line already said so); `note` says what the decision counted as. */
  | { status: 'done'; note: string | null }
  /**
   * Nothing written; `message` says why, naming the row. `noTeacher`: a keep where the teacher abstained (the panel
   * says so beside the list; anything else is a warning).
   */
  | { status: 'refused'; message: string; noTeacher?: true };

export interface WriteResult {
  written: number;
  failed: { rowId: string; reason: string }[];
}

export interface UndoResult {
  /** False when there was nothing to undo. */
  undone: boolean;
  description: string;
  /** Rows left as they are because they changed since (or left the file). */
  conflicts: { rowId: string; reason: string }[];
  /** False when the editor refused the edit. */
  applied: boolean;
  /** The row to select afterwards. */
  focusRowId: string | null;
  /** Rows whose lines the undone entry had written (0 for a skip). */
  rows: number;
  /** Rows whose line already held what it held before the decision (undone in the editor, reverted): nothing written. */
  alreadyUndone?: { rowId: string; line: number }[];
  /** With nothing to undo: why, where older decisions were not kept across a window reload. */
  nothingLeft?: string;
}

/**
 * What the user is told after an undo (the panel: a notice when nothing was undone, else a warning), or null when all
 * went as asked. A row changed since the decision is never written back: the message says so and why.
 */
export function undoMessage(result: UndoResult): { kind: 'notice' | 'warning'; text: string } | null {
  if (!result.undone) return { kind: 'notice', text: result.nothingLeft ?? 'Nothing to undo.' };
  const conflicts = result.conflicts;
  const already = result.alreadyUndone ?? [];
  if (conflicts.length === 0) {
    // Every line already back as it was (the editor's undo, the file reverted after a reload): the entry is used up.
    if (already.length === 0 || already.length < result.rows) return null;
    const where = `line ${already[0].line}`;
    return result.rows === 1
      ? { kind: 'notice', text: `"${result.description}" already undone: ${where} holds what it held before the decision; nothing was written.` }
      : { kind: 'notice', text: `"${result.description}" already undone: all ${result.rows} rows hold what they held before it (row '${idOfKey(already[0].rowId)}': ${where}); nothing was written.` };
  }
  const first = `row '${idOfKey(conflicts[0].rowId)}': ${conflicts[0].reason}`;
  if (conflicts.length + already.length >= result.rows) {
    const alsoUndone = already.length > 0 ? `, the other ${already.length} already undone` : '';
    return result.rows === 1
      ? {
          kind: 'warning',
          text: `could not undo "${result.description}": row '${idOfKey(conflicts[0].rowId)}' no longer holds what the decision wrote (${conflicts[0].reason}); it is left as it is.`,
        }
      : {
          kind: 'warning',
          text: `could not undo "${result.description}": ${already.length > 0 ? `${conflicts.length} of its ${result.rows}` : `all ${result.rows}`} rows changed since (${first})${alsoUndone}; they are left as they are.`,
        };
  }
  return {
    kind: 'warning',
    text: `undid "${result.description}" except on ${conflicts.length} row${conflicts.length === 1 ? '' : 's'} changed since (${first}); those were left as they are.`,
  };
}

export interface SessionOptions {
  /** The human-label field (settings can change while the session lives, so it is read at each write). */
  humanField: () => string;
  /** The whole field mapping, read at each write: a human field that is also another field is refused (humanFieldProblem). */
  fields?: () => FieldMapping;
  /**
   * Appends to the dataset's review log (src/review/reviewLog.ts) what each decision, bulk accept and undo wrote, once
   * the editor applied it: the next run counts exactly those labels as reviewed. The host reports its own failures.
   */
  reviewLog?: (entries: ReviewLogEntry[]) => Promise<void>;
  /** Receives each refresh; the panel posts it to the webview. */
  onUpdate?: (update: SessionUpdate) => void;
  filters?: ReviewFilters;
  scrollTop?: number;
  selectedRowId?: string | null;
  /** Rows skipped before this session began. */
  skipped?: Iterable<string>;
  /**
   * The state of the session this one replaces (a new run of the same dataset, carryOver): a decision is a change of
   * the document's lines, not of a run, so it stays undoable, and the skips stay skipped.
   */
  continues?: CarriedState;
  /**
   * False for a session no view shows (a quick fix's own, the panel closed or on another run): it records into the
   * shared history (`continues`) without taking over, from the session shown, the refreshes a skip change asks for.
   */
  shown?: boolean;
}

/**
 * What the sessions of one dataset against its successive runs share: the undo history, the skip marks and the queue
 * of decisions, bulk accepts and undos. Shared, not copied: an action the user asked of the session being replaced
 * lands in the same history and marks, in the order it was asked, however late it runs (still queued behind an edit
 * the editor is applying, asked while the new run loads, or after a dialog it opened), and the new session's actions
 * wait for it. A copy taken at the hand-over missed a skip still queued, and kept a skip that an undo queued in the
 * old session took back.
 */
export class CarriedState {
  readonly undo = new UndoStack();
  readonly skipped = new Set<string>();
  /**
   * Per row key, the labels this review wrote into its line and logged, oldest first (one per undo step that changed
   * the line): an undo logs the one before, so undoing a second decision leaves the first counted as reviewed.
   */
  readonly logged = new Map<string, string[]>();
  /** The decisions, bulk accepts and undos in flight, one after another (exclusive), of every session sharing this. */
  queue: Promise<unknown> = Promise.resolve();
  /** The newest session: the one shown, which a change of the skip marks refreshes (an older one refreshes nobody). */
  current: ReviewSession | undefined;
  /** Decisions older than the history read back after a reload that were not kept (over its bounds, undo.ts storedUndo). */
  droppedAtReload = 0;
  /** Called once each decision, bulk accept or undo has run: ReviewHistories keeps the history across a reload. */
  onSettled: (() => void) | undefined;

  /** The history read back after a window reload (ReviewHistories): undo.ts planUndo still guards each line. */
  static fromStored(stored: StoredUndo): CarriedState {
    const state = new CarriedState();
    for (const entry of stored.entries) state.undo.push({ ...entry, skippedRowIds: [] });
    for (const [rowId, labels] of stored.logged) state.logged.set(rowId, labels);
    state.droppedAtReload = stored.dropped;
    return state;
  }

  /** What is kept across a window reload (bounded: undo.ts storedUndo). */
  stored(limits?: StoredLimits): StoredUndo {
    const stored = storedUndo(this.undo.all(), this.logged, limits);
    return { ...stored, dropped: stored.dropped + this.droppedAtReload };
  }
}

/** Where ReviewHistories keeps each dataset's history across a window reload: the extension's workspace state. */
export interface HistoryStore {
  get(key: string): unknown;
  update(key: string, value: unknown): PromiseLike<void>;
}

/** The store key of a dataset's kept history. */
export function historyStoreKey(dataset: string): string {
  return `peerkd.reviewUndo:${dataset}`;
}

/**
 * Each dataset's CarriedState in a window, by dataset (its URI as a string): the Label Review panel's sessions and the
 * quick fixes' own sessions of a dataset record into one history, which outlives the panel. So `u` in a panel opened
 * later undoes the last decision on the dataset, the panel's or a quick fix's, in the order they were taken; a line
 * edited since is still left as it is (undo.ts planUndo). With a store (the host's workspace state), the decisions'
 * history also outlives a window reload (bounded, undo.ts storedUndo); the skips do not.
 */
export class ReviewHistories {
  private readonly byDataset = new Map<string, CarriedState>();
  private store: HistoryStore | undefined;
  private onStoreError: (error: unknown) => void = () => undefined;
  private limits: StoredLimits | undefined;

  /** Keeps the histories in `store` from now on (within `limits`: undo.ts's by default), and reads them back from there. */
  useStore(store: HistoryStore, onError: (error: unknown) => void = () => undefined, limits?: StoredLimits): void {
    this.store = store;
    this.onStoreError = onError;
    this.limits = limits;
  }

  /** The dataset's kept state; undefined when nothing reviewed it in this window nor, kept, before a reload. */
  get(dataset: string): CarriedState | undefined {
    const known = this.byDataset.get(dataset);
    if (known || !this.store) return known;
    const stored = parseStoredUndo(this.store.get(historyStoreKey(dataset)));
    if (!stored || (stored.entries.length === 0 && stored.dropped === 0)) return undefined;
    const state = CarriedState.fromStored(stored);
    this.set(dataset, state);
    return state;
  }

  /** The dataset's kept state, created (and kept from now on) when it has none yet. */
  of(dataset: string): CarriedState {
    let state = this.get(dataset);
    if (!state) this.set(dataset, (state = new CarriedState()));
    return state;
  }

  set(dataset: string, state: CarriedState): void {
    this.byDataset.set(dataset, state);
    state.onSettled = () => this.save(dataset, state);
  }

  private save(dataset: string, state: CarriedState): void {
    if (!this.store || this.byDataset.get(dataset) !== state) return;
    try {
      this.store.update(historyStoreKey(dataset), state.stored(this.limits)).then(undefined, this.onStoreError);
    } catch (error) {
      this.onStoreError(error);
    }
  }
}

export class ReviewSession {
  /** Filters, selection and scroll of the panel: the session is their one owner (the webview reports changes). */
  filters: ReviewFilters;
  scrollTop: number;
  selectedRowId: string | null;
  private rowsByKey = new Map<string, ReviewRow>();
  private readonly predictionsByKey = new Map<string, Prediction>();
  /** Undo history, skip marks and action queue, shared with the sessions of this dataset's other runs (carryOver). */
  private readonly state: CarriedState;
  private readonly onUpdate: ((update: SessionUpdate) => void) | undefined;
  private readonly keys: string[];
  /** The latest re-rank of the flagged queue (null: the run's order). */
  private reranked: QueueRerank | null = null;
  /** New human labels at the latest re-rank: the next comes RERANK_EVERY labels later. */
  private reviewedAtRerank = 0;
  /**
   * The text of each row that shares its id with other rows, as this session first saw it. Such rows are matched by
   * their order among the rows with that id, so when one's text is not the text seen before (the rows were swapped,
   * sorted, or one was edited) the key no longer names it for sure: the row is treated as not in the file.
   */
  private readonly sharedTexts = new Map<string, string | null>();
  private lastRows: { raw: DocumentRows; matched: DocumentRows } | undefined;

  constructor(
    readonly run: ReviewRun,
    private readonly document: ReviewDocument,
    private readonly options: SessionOptions,
  ) {
    this.filters = options.filters ?? DEFAULT_FILTERS;
    this.scrollTop = options.scrollTop ?? 0;
    this.selectedRowId = options.selectedRowId ?? null;
    this.onUpdate = options.onUpdate;
    this.state = options.continues ?? new CarriedState();
    if (options.shown !== false) this.state.current = this;
    for (const key of options.skipped ?? []) this.state.skipped.add(key);
    this.keys = assignRowKeys(run.predictions.map((prediction) => prediction.id));
    run.predictions.forEach((prediction, index) => this.predictionsByKey.set(this.keys[index], prediction));
    this.rebuild();
  }

  get labels(): readonly string[] {
    return this.run.labels;
  }

  /** Where the user is (selected row, skips, the shown queue's order), for the next run of this dataset (review/place.ts). */
  place(): ReviewPlace {
    return { selected: this.selectedRowId, skipped: [...this.skipped], order: filterAndSort(this.rows(), this.filters, this.reranked?.scores).map((row) => row.key) };
  }

  /**
   * What a session of the same dataset against a newer run takes over from this one (its options): the undo history,
   * the skips and the queue of decisions, shared from then on (CarriedState), so that nothing asked of this session,
   * before or after the hand-over, is lost or overtaken.
   */
  carryOver(): { continues: CarriedState } {
    return { continues: this.state };
  }

  private get skipped(): Set<string> {
    return this.state.skipped;
  }

  private get undoStack(): UndoStack {
    return this.state.undo;
  }

  /** The rows of every queue (flagged, unlabelled), in review order. */
  rows(): ReviewRow[] {
    return [...this.rowsByKey.values()];
  }

  row(key: string): ReviewRow | undefined {
    return this.rowsByKey.get(key);
  }

  rowViews(): RowView[] {
    return this.rows().map(toRowView);
  }

  view(): ViewUpdate {
    return buildViewUpdate(this.rows(), this.filters, this.undoStack, this.run.labels, this.reranked);
  }

  probabilities(key: string): LabelProbability[] | undefined {
    const row = this.rowsByKey.get(key);
    return row ? labelProbabilities(row) : undefined;
  }

  /** What the header says of each queue, and the flagged queue's empty state (review/format.ts). */
  queueTexts(): { queueTexts: Record<ReviewQueue, string>; flaggedEmpty: string | null } {
    const flagged = this.run.predictions.filter((prediction) => prediction.flagged).length;
    const doubtful = doubtfulOf(this.run.predictions).summary;
    return { queueTexts: queueDescriptions(flagged, doubtful), flaggedEmpty: flaggedEmptyOffer(flagged, doubtful) };
  }

  /** A filter change: the new order (the webview then selects its first match). */
  setFilters(filters: ReviewFilters): ViewUpdate {
    this.filters = filters;
    return this.view();
  }

  /**
   * Selects a row the user asked to see ("Open in Label Review" on its warning): when the filters hide it they are
   * cleared, in the row's queue, so that the panel shows it selected instead of keeping the row selected before. False
   * when the run shows no such row.
   */
  reveal(key: string): boolean {
    const row = this.rowsByKey.get(key);
    if (!row) return false;
    if (!matchesFilters(row, this.filters)) this.filters = { ...DEFAULT_FILTERS, queue: row.queue };
    this.selectedRowId = key;
    return true;
  }

  /** The webview's selection and scroll, as it reports them. */
  setViewState(state: { scrollTop?: number; selectedRowId?: string | null }): void {
    if (state.scrollTop !== undefined) {
      this.scrollTop = state.scrollTop;
    }
    if (state.selectedRowId !== undefined) {
      this.selectedRowId = state.selectedRowId;
    }
  }

  /** Rebuilds the rows from the document without sending an update (the panel then sends them all). */
  async reload(): Promise<void> {
    await this.document.open();
    this.rebuild();
  }

  /** The document changed: rebuild the rows once and send what changed. */
  documentChanged(): void {
    this.refresh();
  }

  /** The document's rows by key, less the rows sharing an id that no longer read as this session first saw them. */
  private documentRows(): DocumentRows {
    const raw = this.document.rows();
    if (this.lastRows?.raw === raw) return this.lastRows.matched;
    let unsure: string[] | undefined;
    for (const [key, row] of raw.byKey) {
      if (!isSharedKey(key)) continue;
      if (!this.sharedTexts.has(key)) this.sharedTexts.set(key, row.text);
      else if (this.sharedTexts.get(key) !== row.text) (unsure ??= []).push(key);
    }
    let matched = raw;
    if (unsure) {
      const byKey = new Map(raw.byKey);
      for (const key of unsure) byKey.delete(key);
      matched = { byKey, linesById: raw.linesById };
    }
    this.lastRows = { raw, matched };
    return matched;
  }

  private rebuild(): ReviewRow[] {
    const rows = buildReviewRows(this.run.predictions, this.documentRows().byKey, { minProbability: 0, skipped: this.skipped, allQueues: true, keys: this.keys });
    const changed = changedRows(this.rowsByKey, rows);
    this.rowsByKey = new Map(rows.map((row) => [row.key, row]));
    // Every RERANK_EVERY new human labels (the panel's decisions, a bulk accept, labels typed in the editor), the
    // queue is re-ranked with them before it is drawn again.
    if (reviewedSinceRun(this.run.predictions, this.keys, this.humanNow) >= this.reviewedAtRerank + RERANK_EVERY) {
      this.rerankNow();
    }
    return changed;
  }

  /** The human label of a row in the document now; undefined when the row left the file. */
  private readonly humanNow = (key: string): string | null | undefined => this.documentRows().byKey.get(key)?.human;

  /**
   * Re-ranks the flagged and doubtful queues with the human labels given so far (src/review/queueRerank.ts): only the order
   * changes, the probabilities shown stay the run's. Returns what the header says about it.
   */
  rerankNow(): { reviewed: number; ms: number } {
    this.reranked = rerankQueue(this.run.predictions, this.keys, this.run.labels, this.humanNow, this.reranked?.scores, doubtfulOf(this.run.predictions).indices);
    this.reviewedAtRerank = this.reranked.reviewed;
    return { reviewed: this.reranked.reviewed, ms: this.reranked.ms };
  }

  /** The user asked for a re-rank: re-rank and send the new order (rows are unchanged). */
  rerank(): { reviewed: number; ms: number } {
    const result = this.rerankNow();
    this.onUpdate?.({ rows: [], view: this.view() });
    return result;
  }

  private refresh(): void {
    const changed = this.rebuild();
    // A session replaced by a newer run's refreshes nobody: the view shows its successor.
    if (this.state.current === this) this.onUpdate?.({ rows: changed.map(toRowView), view: this.view() });
  }

  /** The skip marks changed: the session shown refreshes (this one, or the newer run's that took over from it). */
  private skipsChanged(): void {
    (this.state.current ?? this).refresh();
  }

  /**
   * Writes the human label a decision means for one row (by key). Works on any row the run predicted, flagged or not,
   * so the quick fixes decide through here too. A skip writes nothing and marks the row for this session.
   */
  decide(key: string, decision: Decision): Promise<DecisionResult> {
    return this.exclusive(() => this.decideNow(key, decision));
  }

  /**
   * Runs `action` after every decision, bulk accept and undo asked for before it has finished. Each plans its edit on
   * the document its predecessor left (the editor refuses an edit planned on an older version, so decisions taken in
   * quick succession were refused) and pushes its undo entry in the order the user asked.
   */
  private exclusive<T>(action: () => Promise<T>): Promise<T> {
    const state = this.state;
    const result = state.queue.then(action).finally(() => state.onSettled?.());
    state.queue = result.catch(() => undefined);
    return result;
  }

  private async decideNow(key: string, decision: Decision): Promise<DecisionResult> {
    const prediction = this.predictionsByKey.get(key);
    if (!prediction) {
      return { status: 'refused', message: `the latest run has no prediction for row '${idOfKey(key)}'` };
    }
    if (decision.kind === 'skip') {
      if (!this.rowsByKey.has(key)) {
        return { status: 'refused', message: `row '${idOfKey(key)}' is not flagged by the latest run` };
      }
      this.skipped.add(key);
      this.undoStack.push({ description: 'Skip', changes: [], skippedRowIds: [key] });
      this.skipsChanged();
      return { status: 'done', note: null };
    }
    const refusal = await this.prepareWrite();
    // The document's reason first (bytes that are not valid UTF-8, a human field that is another field): while it
    // stands no row can be written, so it is the one to fix, whatever the row's own state (not found, no teacher label).
    if (refusal !== null) {
      return { status: 'refused', message: `could not label row '${idOfKey(key)}': ${refusal}` };
    }
    // Nothing awaits from here to the edit: the row read is the row written, as the document is now.
    const documentRow = this.documentRows().byKey.get(key);
    if (!documentRow) {
      const why = this.fieldRemapped(['id', 'text']) ?? whyUnmatched(key, this.documentRows().linesById);
      return { status: 'refused', message: `row '${idOfKey(key)}' not labelled: ${why}` };
    }
    // The suggestion was judged against the run's teacher label: on a row whose label changed since, accepting it would
    // write a label judged against one no longer there. Keep and set are the user's own judgement of the row as it is.
    // Likewise on a row whose text changed since (the run recorded its digest): the suggestion is about the old text.
    const changed = decision.kind === 'accept' ? rowChangedSinceRun(prediction, documentRow) : null;
    if (changed !== null) {
      const why = this.fieldRemapped([changed]) ?? rowChangedSinceRunMessage(idOfKey(key), changed, prediction.teacher, documentRow.teacher);
      return { status: 'refused', message: `Not accepted: ${why}` };
    }
    // The suggestion the row shows in its queue (a doubtful row's is the most probable label other than the teacher's).
    const row = { teacher: documentRow.teacher, suggested: this.rowsByKey.get(key)?.suggested ?? prediction.suggested };
    const label = labelForDecision(row, decision);
    if (label === null) {
      return { status: 'refused', message: `row '${idOfKey(key)}' has no teacher label to keep`, noTeacher: true };
    }
    const result = await this.applyWrites([{ rowId: key, label }], describeDecision(row, label), 'decide');
    if (result.failed.length > 0) {
      return { status: 'refused', message: `could not label row '${idOfKey(key)}': ${result.failed[0].reason}` };
    }
    return { status: 'done', note: decisionNote(row, decision) };
  }

  /**
   * Which of these fields the settings map elsewhere than the run read them, said as the reason a row is not found (the
   * id or text field: rows are known by another identity, so every row reads as gone) or a suggestion not accepted (the
   * teacher field: every teacher label reads as changed since the run); null when the mapping is the run's or unknown.
   */
  private fieldRemapped(names: readonly ('id' | 'text' | 'teacher')[]): string | null {
    const then = this.run.fields;
    const now = this.options.fields?.();
    if (!then || !now) return null;
    const name = names.find((field) => typeof then[field] === 'string' && then[field] !== now[field]);
    if (name === undefined) return null;
    return `peerkd.fields.${name} is '${printable(now[name])}' now, but the run read the ${name} field '${printable(then[name])}', so the rows no longer read as the run saw them; set it back to review this run, or run again`;
  }

  /** Why a bulk accept may not run in the queue shown (the doubtful queue), or null (model.ts bulkAcceptRefusal). */
  bulkAcceptRefusal(): string | null {
    return bulkAcceptRefusal(this.filters.queue);
  }

  /** Unreviewed rows a bulk accept at `minProbability` would change, in review order. */
  bulkAcceptRows(minProbability: number): ReviewRow[] {
    return rowsForBulkAccept(this.rows(), minProbability, this.filters.queue);
  }

  /**
   * Accepts the suggestion on these rows as one edit and one undo step. The rows were chosen before the user confirmed
   * (bulkAcceptRows, then a modal dialog): one that has a human label by now (typed in the editor, written by another
   * program) keeps it and is reported as failed, never overwritten.
   */
  bulkAccept(rows: readonly ReviewRow[]): Promise<WriteResult> {
    return this.exclusive(() => this.bulkAcceptNow(rows));
  }

  private async bulkAcceptNow(rows: readonly ReviewRow[]): Promise<WriteResult> {
    const refusal = await this.prepareWrite();
    if (refusal !== null) {
      return { written: 0, failed: rows.map((row) => ({ rowId: row.key, reason: refusal })) };
    }
    // Nothing awaits from here to the edit: the labels checked are the labels as the edit finds them.
    const now = this.documentRows().byKey;
    const labelledSince: WriteResult['failed'] = [];
    const writes: LabelWrite[] = [];
    for (const row of rows) {
      const current = now.get(row.key);
      const human = current?.human ?? null;
      const prediction = this.predictionsByKey.get(row.key);
      if (human !== null) {
        labelledSince.push({ rowId: row.key, reason: `it has the human label '${human}' now, which is left as it is` });
      } else if (prediction && rowChangedSinceRun(prediction, current) !== null) {
        // Chosen before the dialog, its teacher label (or text) changed since: the suggestion is about a label (a text)
        // no longer there.
        const changed = rowChangedSinceRun(prediction, current)!;
        labelledSince.push({ rowId: row.key, reason: rowChangedSinceRunMessage(idOfKey(row.key), changed, prediction.teacher, current?.teacher ?? null) });
      } else {
        writes.push({ rowId: row.key, label: row.suggested });
      }
    }
    const result = await this.applyWrites(writes, `Bulk accept (${writes.length} rows)`, 'bulk-accept');
    return { written: result.written, failed: [...labelledSince, ...result.failed] };
  }

  /**
   * Opens the document and asks whether it may be written: the reason when not (a file deleted or renamed while its
   * document was closed cannot be opened again), else null.
   */
  private async prepareWrite(): Promise<string | null> {
    try {
      await this.document.open();
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    const fields = this.options.fields?.();
    const fieldProblem = fields ? humanFieldProblem({ ...fields, human: this.options.humanField() }) : null;
    return fieldProblem ?? this.document.writeRefusal();
  }

  /**
   * Plans and applies the writes against the document as it is now, as one edit and one undo step. Called with no
   * await between reading the rows and this call, so that the plan is made on the text the caller checked.
   */
  private async applyWrites(writes: readonly LabelWrite[], description: string, action: ReviewLogAction): Promise<WriteResult> {
    const plan = planLabelWrites(this.documentRows(), (line) => this.document.lineText(line), this.options.humanField(), writes);
    if (plan.writes.length > 0) {
      // On the stack before the edit: the edit's change event may refresh the panel before applying resolves.
      const entry = { description, changes: plan.writes.map(({ rowId, before, after }) => ({ rowId, before, after })), skippedRowIds: [] };
      this.undoStack.push(entry);
      let applied: boolean;
      try {
        applied = await this.document.replaceLines(plan.writes.map(({ line, after }) => ({ line, text: after })));
      } catch (error) {
        // Nothing was written: an entry left behind would make the next undo report a conflict instead of the decision before.
        this.undoStack.remove(entry);
        throw error;
      }
      if (!applied) {
        this.undoStack.remove(entry);
        return { written: 0, failed: writes.map((write) => ({ rowId: write.rowId, reason: 'the editor refused the edit' })) };
      }
    }
    // Logged once applied: every row decided, the ones whose line already said so included (the user decided them).
    const failed = new Set(plan.failed.map((failure) => failure.rowId));
    const labels = new Map(writes.map((write) => [write.rowId, write.label]));
    for (const { rowId } of plan.writes) this.state.logged.set(rowId, [...(this.state.logged.get(rowId) ?? []), labels.get(rowId)!]);
    await this.logDecisions(writes.filter((write) => !failed.has(write.rowId)).map((write) => ({ key: write.rowId, label: write.label })), action);
    // No refresh here: the edit changes the document, and its change event refreshes (once).
    return { written: plan.writes.length, failed: plan.failed };
  }

  /** Appends these decisions to the review log (SessionOptions.reviewLog), with the row's queue and the run. */
  private async logDecisions(decisions: readonly { key: string; label: string | null }[], action: ReviewLogAction): Promise<void> {
    if (!this.options.reviewLog || decisions.length === 0) return;
    const time = new Date().toISOString();
    const run = this.run.runId ?? null;
    await this.options.reviewLog(decisions.map(({ key, label }) => ({ key, label, queue: this.rowsByKey.get(key)?.queue ?? null, run, action, time, ...this.loggedText(key) })));
  }

  /**
   * ReviewLogEntry.text of a row that shares its id (with an id field): the identity of the text this session saw on it
   * (the only text it decides on), so the next run finds the row by id and text, not by its order among its twins.
   */
  private loggedText(key: string): { text?: string } {
    const text = isSharedKey(key) && !idOfKey(key).startsWith(TEXT_IDENTITY_PREFIX) ? this.sharedTexts.get(key) : undefined;
    return typeof text === 'string' ? { text: textIdentity(text) } : {};
  }

  /** Undoes the session's last decision: puts back each line that still reads as the decision left it. */
  undo(): Promise<UndoResult> {
    return this.exclusive(() => this.undoNow());
  }

  private async undoNow(): Promise<UndoResult> {
    if (this.undoStack.size === 0) {
      const dropped = this.state.droppedAtReload;
      const nothingLeft =
        dropped > 0
          ? `Nothing more to undo: ${dropped.toLocaleString('en-US')} older decision${dropped === 1 ? ' was' : 's were'} not kept across the window reload (only the newest are).`
          : undefined;
      return { undone: false, description: '', conflicts: [], applied: true, focusRowId: null, rows: 0, nothingLeft };
    }
    // Opened first: when it cannot be (deleted, renamed), the error is the answer and the entry stays.
    await this.document.open();
    const entry = this.undoStack.pop();
    if (!entry) {
      return { undone: false, description: '', conflicts: [], applied: true, focusRowId: null, rows: 0 };
    }
    for (const rowId of entry.skippedRowIds) {
      this.skipped.delete(rowId);
    }
    const rows = this.documentRows();
    const plan = planUndo(entry, (rowId) => {
      const row = rows.byKey.get(rowId);
      return row ? { line: row.line, text: this.document.lineText(row.line) } : undefined;
    }, (rowId) => this.fieldRemapped(['id', 'text']) ?? whyUnmatched(rowId, rows.linesById));
    // An undo whose edit is refused or fails put nothing back: its entry (and its skip marks) stay, to be undone again.
    const restore = () => {
      this.undoStack.push(entry);
      for (const rowId of entry.skippedRowIds) this.skipped.add(rowId);
    };
    let applied: boolean;
    try {
      applied = plan.writes.length === 0 || (await this.document.replaceLines(plan.writes));
    } catch (error) {
      restore();
      throw error;
    }
    if (!applied) restore();
    else {
      // Put back by the undo: the row's decision is the one this review made before (if any), else none — whatever label
      // the line holds now (one typed by hand before the decision is no review label).
      const conflicts = new Set(plan.conflicts.map((conflict) => conflict.rowId));
      const restored: { key: string; label: string | null }[] = [];
      for (const change of entry.changes) {
        const stack = this.state.logged.get(change.rowId);
        stack?.pop();
        if (!conflicts.has(change.rowId)) restored.push({ key: change.rowId, label: stack?.at(-1) ?? null });
      }
      await this.logDecisions(restored, 'undo');
    }
    if (plan.writes.length === 0) {
      // Nothing in the document changed (a skip): no change event will come, so refresh here.
      this.skipsChanged();
    }
    return {
      undone: true,
      description: entry.description,
      conflicts: plan.conflicts,
      applied,
      focusRowId: entry.changes[0]?.rowId ?? entry.skippedRowIds[0] ?? null,
      rows: entry.changes.length,
      alreadyUndone: plan.alreadyUndone,
    };
  }

  /**
   * The current line of the row with this id (any occurrence: the one nearest `nearLine`, the line the run saw it on),
   * for rows outside the review such as an explanation's similar rows; undefined when no row has the id.
   */
  lineOfId(id: string, nearLine: number): number | undefined {
    let best: number | undefined;
    for (const [key, row] of this.document.rows().byKey) {
      if (idOfKey(key) === id && (best === undefined || Math.abs(row.line - nearLine) < Math.abs(best - nearLine))) best = row.line;
    }
    return best;
  }

  /** The current 1-based line of a row in the document, or undefined when it left the file. */
  lineOf(key: string): number | undefined {
    return this.documentRows().byKey.get(key)?.line;
  }
}

/**
 * A label typed for "New label…": why it cannot be used, or undefined. One that is a label of the run's set written
 * with other Unicode characters or white space would make the next run refuse the file (two labels a reader cannot
 * tell apart): the user is told which label of the set to pick.
 */
export function newLabelProblem(value: string, labelSet: readonly string[] = []): string | undefined {
  const label = value.trim();
  if (label.length === 0) return 'A label cannot be empty';
  if (label.length > MAX_LABEL_LENGTH) return `At most ${MAX_LABEL_LENGTH} characters`;
  const like = lookAlikeLabel(labelSet, label);
  if (like?.how === 'same') {
    return `'${printable(label)}' is the label '${printable(like.label)}' of the run's label set written with other Unicode characters or white space: pick that label (a run refuses a file that holds both)`;
  }
  return undefined;
}

/**
 * The question Label Review asks before it writes `label`, a label not in the run's label set (`labels`), as a row's
 * human label: its message and detail (the panel adds the button). The set is listed as the CLI lists it
 * (labelListText: a label holding a comma is quoted), and a label that differs from one of the set only by case is
 * said to be one, since a run trains the two as two labels.
 */
export function newLabelConfirmation(labels: readonly string[], label: string): { message: string; detail: string } {
  const like = lookAlikeLabel(labels, label);
  const caseNote = like?.how === 'case' ? ` It differs from '${like.label}' only by case: a run trains them as two labels.` : '';
  return {
    message: `'${label}' is not in the label set.`,
    detail: `The run's labels are: ${labelListText(labels)}.${caseNote} Write '${label}' as this row's human label anyway?`,
  };
}
