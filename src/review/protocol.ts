/**
 * Messages between the Label Review webview (src/webview/client/, bundled into dist/review.js) and its host
 * (src/webview/labelReviewPanel.ts): the one protocol both sides import. The webview is untrusted input: every message
 * it sends goes through parseWebviewMessage before the host acts on it. Plain TypeScript without Node or DOM, so the
 * webview bundle can import it.
 *
 * Requests (RequestReplies) carry a `requestId` that the host's `reply` repeats, as microsoft/vscode-hexeditor
 * correlates its messages: the webview keeps a map of pending requests and gives up on one after REQUEST_TIMEOUT_MS.
 * Decisions are not requests: their effect comes back as the document's refresh (`rows`, `view`), and they may wait on
 * a modal dialog for as long as the user reads it.
 */
import { MAX_LABEL_LENGTH } from '../dataset/labels';
import type { RowExplanation } from '../training/types';
import { REVIEW_QUEUES, type ConfusionTable, type Decision, type DecisionOutcome, type ReviewCounts, type ReviewFilters, type ReviewQueue, type ReviewRow, type ReviewStatusFilter } from './model';

/** What the webview persists with setState (and the serializer hands back after a reload). */
export interface ReviewViewState {
  datasetUri?: string;
  filters?: ReviewFilters;
  scrollTop?: number;
  selectedRowId?: string;
}

export type WebviewMessage =
  | { type: 'ready'; state: ReviewViewState | null }
  // `rowId` in these messages is the row's key (ReviewRow.key): rows that share an id stay distinct.
  /** Request: the reply carries the view in the new order; the webview then selects its first match. */
  | { type: 'setFilters'; requestId: number; filters: ReviewFilters }
  /** The user's selection and scroll, so the host's session (their one owner) has them when the panel is shown again. */
  | { type: 'viewState'; scrollTop: number; selectedRowId: string | null }
  | { type: 'decide'; rowId: string; decision: Decision }
  | { type: 'newLabel'; rowId: string }
  | { type: 'bulkAccept'; minProbability: number }
  | { type: 'undo' }
  | { type: 'open'; rowId: string }
  /** Open a similar human-labelled row of an explanation (not in the review's rows): by id, the occurrence nearest `line`. */
  | { type: 'openSimilar'; id: string; line: number }
  /** Request: every label's probability for one row, on demand, so the list itself stays small for 10,000 rows. */
  | { type: 'probabilities'; requestId: number; rowId: string }
  /** Request: "why is this row flagged?" — the words and similar human-labelled rows, on demand like the probabilities. */
  | { type: 'explain'; requestId: number; rowId: string }
  | { type: 'rendered'; rows: number; firstRenderMs: number }
  /** Re-rank the queue now with the human labels given so far (also done after every RERANK_EVERY of them). */
  | { type: 'rerank' }
  /** The empty state's Run button: run distillation on the panel's dataset (the host knows which; none is sent). */
  | { type: 'runDistillation' };

/**
 * Most of a row's text the webview is sent (the list shows one line of it, the details a few): a dataset whose rows
 * are megabytes long would otherwise be copied whole into the panel, every row at once. The search still reads the
 * whole text (the host filters), and "Open line" shows it.
 */
export const MAX_ROW_TEXT_CHARS = 4000;

/** A row as the webview draws it: the review row without its probabilities, which are fetched on demand. */
export type RowView = Omit<ReviewRow, 'probs' | 'peerProbs' | 'vanillaProbs'> & {
  /** How the human label relates to the suggestion (model.ts outcomeOf), so the webview does not restate the rule. */
  outcome: DecisionOutcome | null;
  /** Length of the whole text; `text` holds its first MAX_ROW_TEXT_CHARS characters. */
  textLength: number;
};

/** One label's probabilities for a row: calibrated advice, out-of-fold peers, vanilla student. */
export interface LabelProbability {
  label: string;
  advised: number;
  peer: number | null;
  vanilla: number | null;
}

export interface ViewUpdate {
  /** Row keys in display order after filtering. */
  order: string[];
  counts: ReviewCounts;
  confusion: ConfusionTable;
  /**
   * Labels that occur as teacher / suggested labels, for the filter dropdowns; the teacher's end with NO_TEACHER_FILTER
   * (model.ts) where rows have no teacher label.
   */
  teacherLabels: string[];
  /** The shown queue's rows without a teacher label: the Teacher dropdown says how many (model.ts teacherFilterText). */
  noTeacherRows: number;
  suggestedLabels: string[];
  /** Rows and unreviewed rows of every queue (`counts` and `order` are the shown queue's, filters.queue). */
  queues: Record<ReviewQueue, { rows: number; remaining: number }>;
  canUndo: boolean;
  undoDescription: string | null;
  /**
   * The flagged queue's order was re-ranked with the human labels given since the run (src/review/queueRerank.ts):
   * after how many of them, and how long it took; null while it is the run's order. Only the order changes: the
   * probabilities shown stay the run's.
   */
  reranked: { reviewed: number; ms: number } | null;
}

export type HostMessage =
  | {
      type: 'init';
      datasetName: string;
      datasetUri: string;
      runId: string;
      /** What the run says about the teacher, with its intervals (review/format.ts trustSentence). */
      summary: string;
      labels: string[];
      rows: RowView[];
      filters: ReviewFilters;
      scrollTop: number;
      selectedRowId: string | null;
      view: ViewUpdate;
      /** What each queue is (review/format.ts queueDescriptions): the header's line for the queue shown. */
      queueTexts: Record<ReviewQueue, string>;
      /** The flagged queue's empty state offering the doubtful queue (review/format.ts flaggedEmptyOffer), or null. */
      flaggedEmpty: string | null;
    }
  /** `canRun`: the panel has a dataset but no completed run, so the empty state offers a Run button. */
  | { type: 'empty'; reason: string; datasetUri: string | null; canRun: boolean }
  | { type: 'rows'; rows: RowView[] }
  | { type: 'view'; view: ViewUpdate }
  | { type: 'select'; rowId: string }
  | { type: 'notice'; text: string }
  /**
   * A modal dialog the panel opened was answered, or a label was picked in its label picker (the panel still the active editor):
   * the page takes the keys back if they did not come back to it (labelReviewPanel.ts afterModal, afterPopup).
   */
  | { type: 'takeKeys' }
  | ReplyMessage;

/** What the host answers to each request. */
export interface RequestReplies {
  setFilters: { view: ViewUpdate };
  probabilities: { rowId: string; probs: LabelProbability[] };
  /** null when the run has no explanation for the row (not flagged, or an older run). */
  explain: { rowId: string; explanation: RowExplanation | null };
}

export type RequestType = keyof RequestReplies;

/** A request as the webview writes it, before its id is added. */
export type RequestMessage<K extends RequestType> = Omit<Extract<WebviewMessage, { type: K }>, 'requestId'>;

/** The host's answer to the request with `requestId`: its result, or why there is none. */
export type ReplyMessage =
  | { [K in RequestType]: { type: 'reply'; request: K; requestId: number; result: RequestReplies[K] } }[RequestType]
  | { type: 'reply'; request: RequestType; requestId: number; error: string };

/** How long the webview waits for a reply before it gives the request up. */
export const REQUEST_TIMEOUT_MS = 10_000;

const MAX_ID_LENGTH = 4096;
const MAX_SEARCH_LENGTH = 1000;

/** The status filter's choices, as the webview's dropdown shows them. */
export const STATUS_FILTER_OPTIONS: readonly { value: ReviewStatusFilter; label: string }[] = [
  { value: 'all', label: 'All rows' },
  { value: 'unreviewed', label: 'Unreviewed' },
  { value: 'reviewed', label: 'Reviewed' },
];
const STATUS_FILTERS: readonly ReviewStatusFilter[] = STATUS_FILTER_OPTIONS.map((option) => option.value);

function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBoundedString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

function isProbability(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

export function parseFilters(value: unknown): ReviewFilters | undefined {
  if (!isRecord(value)) {
    return undefined;
  }
  const { teacher, suggested, minProbability, status, search } = value;
  // A client that knows no queues sends none: it is showing the flagged rows.
  const queue = value.queue === undefined ? 'flagged' : value.queue;
  if (
    !REVIEW_QUEUES.includes(queue as ReviewQueue) ||
    !isBoundedString(teacher, MAX_LABEL_LENGTH) ||
    !isBoundedString(suggested, MAX_LABEL_LENGTH) ||
    !isProbability(minProbability) ||
    !STATUS_FILTERS.includes(status as ReviewStatusFilter) ||
    !isBoundedString(search, MAX_SEARCH_LENGTH)
  ) {
    return undefined;
  }
  return { queue: queue as ReviewQueue, teacher, suggested, minProbability, status: status as ReviewStatusFilter, search };
}

function parseDecision(value: unknown): Decision | undefined {
  if (!isRecord(value)) {
    return undefined;
  }
  switch (value.kind) {
    case 'accept':
    case 'keep':
    case 'skip':
      return { kind: value.kind };
    case 'set':
      return isBoundedString(value.label, MAX_LABEL_LENGTH) && value.label.trim() !== ''
        ? { kind: 'set', label: value.label }
        : undefined;
    default:
      return undefined;
  }
}

export function parseViewState(value: unknown): ReviewViewState | undefined {
  if (!isRecord(value)) {
    return undefined;
  }
  const state: ReviewViewState = {};
  if (isBoundedString(value.datasetUri, MAX_ID_LENGTH)) {
    state.datasetUri = value.datasetUri;
  }
  const filters = parseFilters(value.filters);
  if (filters) {
    state.filters = filters;
  }
  if (typeof value.scrollTop === 'number' && Number.isFinite(value.scrollTop) && value.scrollTop >= 0) {
    state.scrollTop = value.scrollTop;
  }
  if (isBoundedString(value.selectedRowId, MAX_ID_LENGTH)) {
    state.selectedRowId = value.selectedRowId;
  }
  return state;
}

/** Returns the message when it is well formed, else undefined (the host ignores it and logs it). */
export function parseWebviewMessage(raw: unknown): WebviewMessage | undefined {
  if (!isRecord(raw) || typeof raw.type !== 'string') {
    return undefined;
  }
  switch (raw.type) {
    case 'ready':
      return { type: 'ready', state: raw.state == null ? null : (parseViewState(raw.state) ?? null) };
    case 'setFilters': {
      const filters = parseFilters(raw.filters);
      return filters && isRequestId(raw.requestId) ? { type: 'setFilters', requestId: raw.requestId, filters } : undefined;
    }
    case 'viewState':
      return typeof raw.scrollTop === 'number' &&
        Number.isFinite(raw.scrollTop) &&
        raw.scrollTop >= 0 &&
        (raw.selectedRowId === null || isBoundedString(raw.selectedRowId, MAX_ID_LENGTH))
        ? { type: 'viewState', scrollTop: raw.scrollTop, selectedRowId: raw.selectedRowId }
        : undefined;
    case 'decide': {
      const decision = parseDecision(raw.decision);
      return decision && isBoundedString(raw.rowId, MAX_ID_LENGTH) ? { type: 'decide', rowId: raw.rowId, decision } : undefined;
    }
    case 'newLabel':
      return isBoundedString(raw.rowId, MAX_ID_LENGTH) ? { type: 'newLabel', rowId: raw.rowId } : undefined;
    case 'open':
      return isBoundedString(raw.rowId, MAX_ID_LENGTH) ? { type: 'open', rowId: raw.rowId } : undefined;
    case 'openSimilar':
      return isBoundedString(raw.id, MAX_ID_LENGTH) && typeof raw.line === 'number' && Number.isSafeInteger(raw.line) && raw.line >= 1
        ? { type: 'openSimilar', id: raw.id, line: raw.line }
        : undefined;
    case 'probabilities':
      return isBoundedString(raw.rowId, MAX_ID_LENGTH) && isRequestId(raw.requestId)
        ? { type: 'probabilities', requestId: raw.requestId, rowId: raw.rowId }
        : undefined;
    case 'explain':
      return isBoundedString(raw.rowId, MAX_ID_LENGTH) && isRequestId(raw.requestId)
        ? { type: 'explain', requestId: raw.requestId, rowId: raw.rowId }
        : undefined;
    case 'bulkAccept':
      return isProbability(raw.minProbability) ? { type: 'bulkAccept', minProbability: raw.minProbability } : undefined;
    case 'undo':
      return { type: 'undo' };
    case 'runDistillation':
      return { type: 'runDistillation' };
    case 'rerank':
      return { type: 'rerank' };
    case 'rendered':
      return typeof raw.rows === 'number' &&
        Number.isInteger(raw.rows) &&
        raw.rows >= 0 &&
        typeof raw.firstRenderMs === 'number' &&
        Number.isFinite(raw.firstRenderMs) &&
        raw.firstRenderMs >= 0
        ? { type: 'rendered', rows: raw.rows, firstRenderMs: raw.firstRenderMs }
        : undefined;
    default:
      return undefined;
  }
}
