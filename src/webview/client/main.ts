/**
 * Label Review webview client (bundled by esbuild.mjs into dist/review.js). A thin view: the host's review session
 * (src/review/session.ts) owns the rows, the filtering, the counts, every write, and the filters, selection and scroll;
 * this script draws what it is sent, reports the user's view changes and posts the user's intents
 * (src/review/protocol.ts, the protocol the host parses).
 */
import { filtersForQueue, labelForDigit, nextQueue, type Decision, type ReviewFilters, type ReviewQueue } from '../../review/model';
import type { HostMessage, ViewUpdate } from '../../review/protocol';
import { dispatchKey, type KeyHandlers } from './keys';
import { HostConnection } from './messaging';
import { Renderer, ROW_HEIGHT, type Actions } from './render';
import { initialState, parseSavedState, type SavedState } from './state';
import * as ui from './ui';
import { vscode } from './vscodeApi';

const app = document.getElementById('app') as HTMLElement;
const saved = parseSavedState(vscode.getState());
const state = initialState(saved);
const host = new HostConnection(vscode);

let searchTimer: ReturnType<typeof setTimeout> | undefined;
let saveTimer: ReturnType<typeof setTimeout> | undefined;
/** The latest filter request: only its reply moves the selection (an older one is superseded). */
let latestFiltersRequest = 0;
/** Rows whose probabilities were asked for and not answered yet. */
const probabilitiesAsked = new Set<string>();


/** Saves the view state (for a window reload) and reports selection and scroll to the host's session. */
function saveState(): void {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    const scrollTop = renderer.dom ? renderer.dom.list.scrollTop : state.scrollTop;
    const toSave: SavedState = {
      datasetUri: state.datasetUri ?? undefined,
      filters: state.filters,
      scrollTop,
      selectedRowId: state.selectedId ?? undefined,
      confusionOpen: state.confusionOpen ?? undefined,
    };
    vscode.setState(toSave);
    if (renderer.dom) {
      host.post({ type: 'viewState', scrollTop, selectedRowId: state.selectedId });
    }
  }, 100);
}

function sendFilters(): void {
  clearTimeout(searchTimer);
  searchTimer = undefined;
  // Until the host answers, the selected row may not match the filters: decisions wait for the answer.
  const { requestId, reply } = host.request<'setFilters'>({ type: 'setFilters', filters: state.filters });
  latestFiltersRequest = requestId;
  reply.then(
    ({ view }) => {
      if (requestId !== latestFiltersRequest || !renderer.dom) {
        return;
      }
      // The answer to a filter change: the first match, never a row the user did not look at.
      state.selectedId = null;
      state.selectedIndex = 0;
      renderer.dom.list.scrollTop = 0;
      applyView(view);
      renderer.renderAll();
      saveState();
    },
    (error: unknown) => renderer.showNotice(`Filters not applied: ${error instanceof Error ? error.message : String(error)}.`),
  );
}

function setFilters(patch: Partial<ReviewFilters>, immediate: boolean): void {
  state.filters = { ...state.filters, ...patch };
  saveState();
  clearTimeout(searchTimer);
  if (immediate) {
    sendFilters();
  } else {
    searchTimer = setTimeout(sendFilters, 120);
  }
}

function select(index: number): void {
  if (state.order.length === 0) {
    state.selectedIndex = 0;
    state.selectedId = null;
  } else {
    state.selectedIndex = Math.max(0, Math.min(state.order.length - 1, index));
    state.selectedId = state.order[state.selectedIndex];
  }
  state.expanded = false;
  if (renderer.dom) {
    renderer.scrollIntoView(state.selectedIndex);
    renderer.renderList();
    renderer.renderDetails();
  }
  saveState();
}

function decide(decision: Decision): void {
  const row = renderer.selectedRow();
  if (!row || host.pendingCount('setFilters') > 0 || searchTimer !== undefined) {
    return;
  }
  // The host refuses it too (review/session.ts); said here so that the selection stays on the row.
  if (decision.kind === 'accept' && row.changedSinceRun) {
    renderer.showNotice(
      row.textChangedSinceRun
        ? "This row's text changed since the run: its suggestion is about the old text. Keep or set a label, or run again."
        : "This row's teacher label changed since the run: its suggestion is about another label. Keep or set a label, or run again.",
    );
    return;
  }
  host.post({ type: 'decide', rowId: row.key, decision });
  // Move on at once; when the host's update arrives the selection follows this row key.
  const next = state.order[state.selectedIndex + 1];
  if (next !== undefined) {
    state.selectedIndex += 1;
    state.selectedId = next;
    renderer.scrollIntoView(state.selectedIndex);
    renderer.renderList();
    renderer.renderDetails();
    saveState();
  }
}

function toggleHelp(force?: boolean): void {
  if (renderer.dom) {
    renderer.dom.help.hidden = force === undefined ? !renderer.dom.help.hidden : !force;
  }
}

function needProbabilities(rowKey: string): void {
  if (probabilitiesAsked.has(rowKey)) {
    return;
  }
  probabilitiesAsked.add(rowKey);
  host.request<'probabilities'>({ type: 'probabilities', rowId: rowKey }).reply.then(
    ({ rowId, probs }) => {
      probabilitiesAsked.delete(rowKey);
      state.probabilities.set(rowId, probs);
      if (renderer.dom && state.showProbs && state.order[state.selectedIndex] === rowId) {
        renderer.renderDetails();
      }
    },
    (error: unknown) => {
      probabilitiesAsked.delete(rowKey);
      renderer.showNotice(`No probabilities: ${error instanceof Error ? error.message : String(error)}.`);
    },
  );
}

/**
 * The selected row's "why flagged", asked for once per row (cached), on demand: only the selected row, so 10,000 rows
 * cost nothing. A reply for an older run (an `init` came since) is dropped; one for a row no longer selected is cached
 * and not drawn.
 */
function needExplanation(rowKey: string): void {
  state.explanations.need(
    rowKey,
    () => host.request<'explain'>({ type: 'explain', rowId: rowKey }).reply.then(({ rowId, explanation }) => ({ key: rowId, value: explanation })),
    (key) => {
      if (renderer.dom && state.order[state.selectedIndex] === key) {
        renderer.renderDetails();
      }
    },
  );
}

/** Shows a queue; the other filters keep their meaning within it. */
function showQueue(queue: ReviewQueue): void {
  if (queue === state.filters.queue) return;
  setFilters(filtersForQueue(state.filters.queue, queue), true);
}

/** Shows the next queue (flagged → doubtful → no teacher label → flagged, model.ts nextQueue). */
function switchQueue(): void {
  showQueue(nextQueue(state.filters.queue));
}

const actions: Actions = {
  setFilters,
  decide,
  newLabel: (rowKey) => host.post({ type: 'newLabel', rowId: rowKey }),
  open: (rowKey) => host.post({ type: 'open', rowId: rowKey }),
  undo: () => host.post({ type: 'undo' }),
  bulkAccept: (minProbability) => host.post({ type: 'bulkAccept', minProbability }),
  runDistillation: () => host.post({ type: 'runDistillation' }),
  select,
  toggleHelp,
  toggleExpanded: () => {
    state.expanded = !state.expanded;
    renderer.renderDetails();
  },
  toggleProbs: () => {
    state.showProbs = !state.showProbs;
    renderer.renderDetails();
  },
  needProbabilities,
  needExplanation,
  openSimilar: (id, line) => host.post({ type: 'openSimilar', id, line }),
  setQueue: showQueue,
  rerank: () => host.post({ type: 'rerank' }),
  save: saveState,
};

const renderer = new Renderer(app, state, actions);

function onSelectedRow(action: (rowKey: string) => void): void {
  const row = renderer.selectedRow();
  if (row) {
    action(row.key);
  }
}

/** What each action of the key map (keymap.ts) does. */
const keyHandlers: KeyHandlers = {
  next: () => select(state.selectedIndex + 1),
  previous: () => select(state.selectedIndex - 1),
  pageDown: () => select(state.selectedIndex + page()),
  pageUp: () => select(state.selectedIndex - page()),
  first: () => select(0),
  last: () => select(state.order.length - 1),
  accept: () => decide({ kind: 'accept' }),
  keep: () => decide({ kind: 'keep' }),
  setDigit: (key) => {
    const label = labelForDigit(state.labels, Number(key));
    if (label === undefined) {
      renderer.showNotice(`The label set has no label ${key}.`);
    } else {
      decide({ kind: 'set', label });
    }
  },
  newLabel: () => onSelectedRow(actions.newLabel),
  skip: () => decide({ kind: 'skip' }),
  open: () => onSelectedRow(actions.open),
  undo: () => actions.undo(),
  expand: () => actions.toggleExpanded(),
  probabilities: () => actions.toggleProbs(),
  queue: () => switchQueue(),
  rerank: () => actions.rerank(),
  search: () => {
    if (renderer.dom) {
      ui.focus(renderer.dom.search);
    }
  },
  back: () => toggleHelp(false),
  cellMove: (key) => renderer.moveCell(key),
  cellFilter: () => renderer.filterCell(),
  help: () => toggleHelp(),
  toList: () => {
    // Enter in a filter field only moves to the list (never decides); a search still waiting to be sent goes now,
    // and its answer selects the first match.
    if (searchTimer !== undefined) {
      sendFilters();
    }
    // Esc from the confusion table also closes the help overlay opened there (? works in the table).
    toggleHelp(false);
    renderer.dom?.list.focus();
  },
};

function page(): number {
  return Math.max(1, Math.floor((renderer.dom?.list.clientHeight ?? 0) / ROW_HEIGHT) - 1);
}

function applyView(view: ViewUpdate): void {
  state.view = view;
  state.order = view.order;
  const index = state.selectedId === null ? -1 : view.order.indexOf(state.selectedId);
  if (index >= 0) {
    state.selectedIndex = index;
  } else {
    state.selectedIndex = Math.max(0, Math.min(view.order.length - 1, state.selectedIndex));
    state.selectedId = view.order[state.selectedIndex] ?? null;
  }
}

function onInit(message: Extract<HostMessage, { type: 'init' }>): void {
  const received = performance.now();
  state.datasetUri = message.datasetUri;
  state.datasetName = message.datasetName;
  state.runId = message.runId;
  state.summary = message.summary;
  state.queueTexts = message.queueTexts;
  state.flaggedEmpty = message.flaggedEmpty;
  state.labels = message.labels;
  state.filters = message.filters;
  state.rows = new Map(message.rows.map((row) => [row.key, row]));
  state.probabilities.clear();
  probabilitiesAsked.clear();
  state.explanations.reset();
  host.clear();
  if (message.selectedRowId) {
    state.selectedId = message.selectedRowId;
  }
  applyView(message.view);
  const dom = renderer.build();
  dom.list.scrollTop = message.scrollTop;
  renderer.renderAll();
  renderer.scrollIntoView(state.selectedIndex);
  renderer.renderList();
  dom.list.focus();
  saveState();
  document.body.dataset.initScriptMs = (performance.now() - received).toFixed(1);
  if (!state.firstRenderReported) {
    state.firstRenderReported = true;
    // Measured once the browser has painted the first frame with the rows.
    requestAnimationFrame(() =>
      setTimeout(() => {
        const firstRenderMs = performance.now() - received;
        document.body.dataset.firstRenderMs = firstRenderMs.toFixed(1);
        document.body.dataset.renderedRows = String(dom.list.querySelectorAll('.row:not([hidden])').length);
        host.post({ type: 'rendered', rows: message.rows.length, firstRenderMs });
      }, 0),
    );
  }
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case 'init':
      onInit(message);
      break;
    case 'empty':
      state.datasetUri = message.datasetUri;
      saveState();
      renderer.empty(message);
      break;
    case 'rows':
      for (const row of message.rows) {
        state.rows.set(row.key, row);
      }
      if (renderer.dom) {
        renderer.queueRender();
      }
      break;
    case 'view':
      if (renderer.dom) {
        const before = state.selectedIndex;
        applyView(message.view);
        if (state.selectedIndex !== before) {
          // The selected row moved (a re-rank, or rows before it left the filters): keep it in view.
          renderer.scrollIntoView(state.selectedIndex);
        }
        renderer.renderAll();
      }
      break;
    case 'select': {
      const index = state.order.indexOf(message.rowId);
      if (renderer.dom && index >= 0) {
        select(index);
      } else {
        state.selectedId = message.rowId;
      }
      break;
    }
    case 'notice':
      renderer.showNotice(message.text);
      break;
    case 'takeKeys': {
      // After a modal dialog or the label picker VS Code may give the focus to the webview's frame and not to this page
      // inside it: the keys went nowhere until a click. The element that had them takes them again (the list, if none).
      // The host sends this only after a dialog or a pick, while the panel is the active editor: a picker dismissed by a
      // click elsewhere leaves this page without the focus too, and the keys belong where the user clicked.
      if (!document.hasFocus()) {
        const active = document.activeElement;
        (active instanceof HTMLElement && active !== document.body ? active : renderer.dom?.list)?.focus();
      }
      break;
    }
    case 'reply':
      host.settle(message);
      break;
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = event.data;
  if (typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string') {
    onMessage(message as HostMessage);
  }
});

window.addEventListener('keydown', (event) => {
  if (renderer.dom && dispatchKey(event, keyHandlers)) {
    event.preventDefault();
  }
});

// The panel gets the keys back (the label picker, a dialog or another editor closed) with nothing focused in it, as when
// the element that had the focus was drawn anew meanwhile: the list takes them, so a screen reader is told the current
// row again (aria-activedescendant) and the keys act on it.
window.addEventListener('focus', () => {
  const active = document.activeElement;
  if (active === null || active === document.body) {
    renderer.dom?.list.focus();
  }
});

window.addEventListener('resize', () => {
  const dom = renderer.dom;
  if (dom && dom.confusionWrap.open !== renderer.confusionShouldOpen()) {
    dom.confusionWrap.open = renderer.confusionShouldOpen();
  }
  renderer.queueRender();
});

host.post({ type: 'ready', state: saved.datasetUri ? saved : null });
