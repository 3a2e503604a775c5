/**
 * The webview's view state. The host's review session owns the rows, filters, selection and scroll; this is the copy
 * the webview draws from, and what it saves with setState for a window reload (when the host starts afresh).
 */
import { DEFAULT_FILTERS, type ReviewFilters, type ReviewQueue } from '../../review/model';
import { parseViewState, type LabelProbability, type ReviewViewState, type RowView, type ViewUpdate } from '../../review/protocol';
import type { RowExplanation } from '../../training/types';
import { RowCache } from './rowCache';

/** What setState keeps: the host's view state, and the confusion table's fold (the webview's own). */
export interface SavedState extends ReviewViewState {
  confusionOpen?: boolean;
}

export function parseSavedState(value: unknown): SavedState {
  const state: SavedState = parseViewState(value) ?? {};
  const fold = typeof value === 'object' && value !== null ? (value as { confusionOpen?: unknown }).confusionOpen : undefined;
  if (typeof fold === 'boolean') {
    state.confusionOpen = fold;
  }
  return state;
}

export interface ClientState {
  datasetUri: string | null;
  datasetName: string;
  summary: string;
  /** What each queue is (the host's review/format.ts queueDescriptions): the line under the toolbar. */
  queueTexts: Record<ReviewQueue, string> | null;
  /** The flagged queue's empty state offering the doubtful queue, or null (review/format.ts flaggedEmptyOffer). */
  flaggedEmpty: string | null;
  runId: string;
  labels: string[];
  rows: Map<string, RowView>;
  order: string[];
  view: ViewUpdate | null;
  filters: ReviewFilters;
  scrollTop: number;
  selectedId: string | null;
  selectedIndex: number;
  /**
   * The confusion table's fold as the user set it; null until they do, and then it follows the panel's height:
   * folded in a short panel (the list needs the height), open otherwise.
   */
  confusionOpen: boolean | null;
  expanded: boolean;
  showProbs: boolean;
  /** Row key → every label's probabilities, fetched from the host when first shown. */
  probabilities: Map<string, LabelProbability[]>;
  /** Row key → why it is flagged (null: the run has no explanation for it), fetched when the row is first selected. */
  explanations: RowCache<RowExplanation | null>;
  firstRenderReported: boolean;
}

export function initialState(saved: SavedState): ClientState {
  return {
    datasetUri: saved.datasetUri ?? null,
    datasetName: '',
    summary: '',
    queueTexts: null,
    flaggedEmpty: null,
    runId: '',
    labels: [],
    rows: new Map(),
    order: [],
    view: null,
    filters: saved.filters ?? DEFAULT_FILTERS,
    scrollTop: saved.scrollTop ?? 0,
    selectedId: saved.selectedRowId ?? null,
    selectedIndex: 0,
    confusionOpen: saved.confusionOpen ?? null,
    expanded: false,
    showProbs: false,
    probabilities: new Map(),
    explanations: new RowCache<RowExplanation | null>(null),
    firstRenderReported: false,
  };
}
