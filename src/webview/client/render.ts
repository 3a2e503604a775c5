/**
 * Drawing the panel from the client state: the header, toolbar, confusion table, the virtualised list (only the rows
 * in view, plus a small margin, exist in the DOM), the selected row's details, the help overlay and the empty state.
 */
import { explanationSegments } from '../../review/explanation';
import { cutText, showBidiControls, showInvisible } from '../../review/prettyRow';
import { confusionCellName, confusionCellTitle, digitForLabel, isFilteredCell, NO_TEACHER_FILTER, NO_TEACHER_TEXT, NO_TEACHER_TITLE, queueListLabel, queueTitle, REVIEW_QUEUES, reviewedVerdict, type Decision, type ReviewFilters, type ReviewQueue, teacherFilterOf, teacherFilterText } from '../../review/model';
import { STATUS_FILTER_OPTIONS, type HostMessage, type LabelProbability, type RowView, type ViewUpdate } from '../../review/protocol';
import type { RowExplanation } from '../../training/types';
import { keyTableRows } from './keymap';
import type { ClientState } from './state';
import * as ui from './ui';

export const ROW_HEIGHT = 46;
const OVERSCAN = 6;

/** What the drawn controls do: the client's intents (main.ts). */
export interface Actions {
  setFilters(patch: Partial<ReviewFilters>, immediate: boolean): void;
  decide(decision: Decision): void;
  newLabel(rowKey: string): void;
  open(rowKey: string): void;
  undo(): void;
  bulkAccept(minProbability: number): void;
  runDistillation(): void;
  select(index: number): void;
  toggleHelp(force?: boolean): void;
  toggleExpanded(): void;
  toggleProbs(): void;
  /** The selected row's probabilities are not here yet: ask the host. */
  needProbabilities(rowKey: string): void;
  /** The selected row's explanation is not here yet: ask the host. */
  needExplanation(rowKey: string): void;
  /** Open a similar human-labelled row of an explanation in the editor. */
  openSimilar(id: string, line: number): void;
  setQueue(queue: ReviewQueue): void;
  rerank(): void;
  /** View state changed (scroll, the table's fold): save it. */
  save(): void;
}

export interface Dom {
  confusionWrap: HTMLDetailsElement;
  counts: HTMLElement;
  queue: ui.Control;
  rerankNote: HTMLElement;
  /** What the queue shown is (state.queueTexts): one line under the toolbar, whole in its tooltip. */
  queueNote: HTMLElement;
  undo: ui.Control;
  teacher: ui.Control;
  suggested: ui.Control;
  search: ui.Control;
  confusion: HTMLTableElement;
  list: HTMLElement;
  spacer: HTMLElement;
  details: HTMLElement;
  help: HTMLElement;
  notice: HTMLElement;
  pool: HTMLElement[];
}

/** The same query as the short-panel rules in review.css. */
const SHORT_PANEL = window.matchMedia('(max-height: 560px)');

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  if (text !== undefined) {
    element.textContent = showInvisible(text);
  }
  return element;
}

function labelOptions(labels: readonly string[], anyLabel: string, text: (label: string) => string = (label) => label): ui.Option[] {
  // The rows without a teacher label (NO_TEACHER_FILTER, never a label) in the style of a missing label.
  return [{ value: '', label: anyLabel }, ...labels.map((label) => ({ value: label, label: text(label), ...(label === NO_TEACHER_FILTER ? { className: 'no-label' } : {}) }))];
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = el('label');
  label.append(el('span', '', text), control);
  return label;
}

/** The queue switch's tooltip (after what the queue shown is, once the host has said). */
const QUEUE_SWITCH_TITLE =
  'Which rows to review (q switches): flagged teacher labels; doubtful ones, not flagged but the rows where the run expects the most errors; or rows the teacher left without a label';

/** The queue switch's choices, with each queue's size (view.queues). */
function queueOptions(view: ViewUpdate | null): ui.Option[] {
  const size = (queue: ReviewQueue) => (view ? ` (${view.queues[queue].rows.toLocaleString('en-US')})` : '');
  return [
    ...REVIEW_QUEUES.map((queue) => ({ value: queue, label: `${queueTitle(queue)}${size(queue)}` })),
  ];
}

/** Words for the host's outcome (review/model.ts outcomeOf): what the human label is, whichever key wrote it. */
const OUTCOME_WORDS = { accepted: 'accepted', kept: 'kept', relabelled: 'set' } as const;

function statusText(row: RowView): string {
  if (row.human === null || !row.outcome) {
    return row.textChangedSinceRun ? 'text changed since the run' : row.changedSinceRun ? 'changed since the run' : row.skipped ? 'skipped' : '';
  }
  return `✓ ${OUTCOME_WORDS[row.outcome]} ${row.human}`;
}

export class Renderer {
  dom: Dom | null = null;
  private renderQueued = false;
  /** The confusion table's one Tab stop (roving tabindex), by its labels: kept while the table is drawn again. */
  private tableStop: { teacher: string | null; suggested: string } | null = null;

  constructor(
    private readonly app: HTMLElement,
    private readonly state: ClientState,
    private readonly actions: Actions,
  ) {}

  confusionShouldOpen(): boolean {
    return this.state.confusionOpen === null ? !SHORT_PANEL.matches : this.state.confusionOpen;
  }

  build(): Dom {
    const { state, actions } = this;
    this.app.replaceChildren();
    const header = el('header');
    const title = el('h1', '', state.datasetName);
    const run = el('span', 'muted run-id', `run ${state.runId}`);
    run.title = `run ${state.runId}`;
    const counts = el('div');
    counts.id = 'counts';
    title.title = state.datasetName;
    const undo = ui.button('Undo', { title: 'Undo the last decision (u)', action: 'undo', onClick: () => actions.undo() });
    const help = ui.button('?', { appearance: 'icon', title: 'Keyboard shortcuts (?)', action: 'help', onClick: () => actions.toggleHelp() });
    // Says when the order is no longer the run's: re-ranked with the user's decisions (the probabilities stay the run's).
    const rerankNote = el('span', 'muted rerank-note');
    rerankNote.id = 'rerank-note';
    const rerank = ui.button('Re-rank', {
      title: "Re-rank the queue with your decisions so far (r); also done after every 25. Only the order changes: the probabilities shown stay the run's.",
      action: 'rerank',
      onClick: () => actions.rerank(),
    });
    header.append(title, run, counts, rerankNote, rerank, undo, help);
    // What the run says about the teacher, with its intervals: one line of its own (clipped, whole in the tooltip)
    // so counts never reflow it; it is also the line that folds the confusion table open and shut.
    const summary = el('span', 'muted run-summary', state.summary || '');
    summary.id = 'run-summary';

    const toolbar = el('div', 'toolbar');
    const queue = ui.dropdown({
      ariaLabel: 'Queue',
      id: 'filter-queue',
      title: QUEUE_SWITCH_TITLE,
      options: queueOptions(state.view),
      value: state.filters.queue,
      onChange: (value) => actions.setQueue(REVIEW_QUEUES.find((queue) => queue === value) ?? 'flagged'),
    });
    const teacher = ui.dropdown({
      ariaLabel: 'Teacher label',
      id: 'filter-teacher',
      options: labelOptions([], 'Any teacher label'),
      value: state.filters.teacher,
      onChange: (value) => actions.setFilters({ teacher: value }, true),
    });
    const suggested = ui.dropdown({
      ariaLabel: 'Suggested label',
      id: 'filter-suggested',
      options: labelOptions([], 'Any suggestion'),
      value: state.filters.suggested,
      onChange: (value) => actions.setFilters({ suggested: value }, true),
    });
    const minP = ui.textField({
      ariaLabel: 'Minimum probability',
      id: 'filter-min-p',
      placeholder: '0.00',
      size: 5,
      value: state.filters.minProbability ? String(state.filters.minProbability) : '',
      onInput: (value) => {
        const number = Number(value);
        if (value.trim() === '' || (Number.isFinite(number) && number >= 0 && number <= 1)) {
          actions.setFilters({ minProbability: value.trim() === '' ? 0 : number }, false);
        }
      },
    });
    const status = ui.dropdown({
      ariaLabel: 'Review status',
      id: 'filter-status',
      options: STATUS_FILTER_OPTIONS,
      value: state.filters.status,
      onChange: (value) => {
        const option = STATUS_FILTER_OPTIONS.find((candidate) => candidate.value === value);
        if (option) {
          actions.setFilters({ status: option.value }, true);
        }
      },
    });
    const search = ui.textField({
      ariaLabel: 'Search text',
      id: 'filter-search',
      placeholder: 'Search text, id or #line  (/)',
      value: state.filters.search,
      size: 28,
      onInput: (value) => actions.setFilters({ search: value }, false),
    });
    const bulkThreshold = ui.textField({ ariaLabel: 'Bulk accept threshold', id: 'bulk-threshold', value: '0.90', size: 5 });
    const bulk = ui.button('Accept all ≥ p', {
      title: 'Accept the suggestion on every unreviewed row at or above this probability (asks first)',
      action: 'bulk-accept',
      onClick: () => {
        const value = Number(ui.valueOf(bulkThreshold));
        if (Number.isFinite(value) && value >= 0 && value <= 1) {
          actions.bulkAccept(value);
        } else {
          this.showNotice('The bulk threshold must be a probability between 0 and 1.');
        }
      },
    });
    toolbar.append(
      labelled('Queue', queue),
      labelled('Teacher', teacher),
      labelled('Suggested', suggested),
      labelled('Min p', minP),
      labelled('Status', status),
      labelled('Search', search),
      el('span', 'spacer'),
      labelled('Bulk threshold', bulkThreshold),
      bulk,
    );

    // The table folds away (its open state is kept) so the list keeps the room in a small panel.
    const confusionWrap = el('details', 'confusion-wrap');
    confusionWrap.id = 'confusion-details';
    confusionWrap.open = this.confusionShouldOpen();
    const confusionSummary = el('summary');
    confusionSummary.title = `${state.summary ? state.summary + '\n' : ''}Click to show / hide the table of flagged rows by teacher label (rows) and suggested label (columns); click a cell to filter.`;
    confusionSummary.append(summary);
    confusionWrap.append(confusionSummary);
    confusionWrap.addEventListener('toggle', () => {
      // Also fires after the fold follows a resize; only a change away from what it should be is the user's.
      if (confusionWrap.open !== this.confusionShouldOpen()) {
        state.confusionOpen = confusionWrap.open;
        actions.save();
      }
    });
    const confusion = el('table');
    confusion.id = 'confusion';
    confusion.setAttribute('aria-label', 'Teacher label (rows) versus suggested label (columns)');
    confusionWrap.append(confusion);

    const notice = el('div');
    notice.id = 'notice';
    notice.setAttribute('role', 'status');

    const list = el('div');
    list.id = 'list';
    list.tabIndex = 0;
    list.setAttribute('role', 'listbox');
    // The queue shown, said again at each view (renderCounts): the `q` key and the queue switch change it.
    list.setAttribute('aria-label', queueListLabel(state.filters.queue, Boolean(state.view?.reranked)));
    const spacer = el('div');
    spacer.id = 'spacer';
    list.append(spacer);
    list.addEventListener('scroll', () => {
      state.scrollTop = list.scrollTop;
      this.queueRender();
      actions.save();
    });
    const rowOf = (event: Event): HTMLElement | null => (event.target instanceof Element ? event.target.closest<HTMLElement>('.row') : null);
    list.addEventListener('click', (event) => {
      const row = rowOf(event);
      if (row) {
        actions.select(Number(row.dataset.index));
        list.focus();
      }
    });
    list.addEventListener('dblclick', (event) => {
      const row = rowOf(event);
      if (row?.dataset.id !== undefined) {
        actions.open(row.dataset.id);
      }
    });

    const details = el('section');
    details.id = 'details';
    details.setAttribute('aria-live', 'polite');

    const helpBox = el('div');
    helpBox.id = 'help';
    helpBox.hidden = true;
    helpBox.setAttribute('role', 'dialog');
    helpBox.setAttribute('aria-label', 'Keyboard shortcuts');
    const helpTable = el('table');
    for (const { keys, description } of keyTableRows()) {
      const tr = el('tr');
      const keyCell = el('td');
      keyCell.append(el('kbd', '', keys));
      tr.append(keyCell, el('td', '', description));
      helpTable.append(tr);
    }
    helpBox.append(
      el('h2', '', 'Keyboard shortcuts'),
      helpTable,
      el('p', 'muted', 'Where labels are written as digits (0/1, ratings 1–10), the keys 1–9 set the label of their own digit, not the n-th label.'),
      el('p', 'muted', 'Decisions write the human label into the dataset through the editor, so Ctrl+Z in the editor undoes them too. Save the file to keep them.'),
    );

    const queueNote = el('div', 'muted queue-note');
    queueNote.id = 'queue-note';
    this.app.append(header, confusionWrap, toolbar, queueNote, list, details, notice, helpBox);
    this.dom = { confusionWrap, counts, queue, rerankNote, queueNote, undo, teacher, suggested, search, confusion, list, spacer, details, help: helpBox, notice, pool: [] };
    return this.dom;
  }

  /**
   * What the details show when no row is selected: a queue that holds no rows says what it is, and an empty flagged
   * queue offers the doubtful one where that holds rows (state.flaggedEmpty); else no row matches the filters.
   */
  private emptyQueue(): HTMLElement {
    const { state, actions } = this;
    const box = el('div', 'muted empty-queue');
    box.id = 'empty-queue';
    if (state.order.length > 0) return box;
    const queue = state.filters.queue;
    if (state.view && state.view.queues[queue].rows > 0) {
      box.textContent = 'No row matches the filters.';
      return box;
    }
    if (queue === 'flagged' && state.flaggedEmpty !== null && state.view && state.view.queues.doubtful.rows > 0) {
      box.append(
        el('p', '', state.flaggedEmpty),
        ui.button(`Show the ${state.view.queues.doubtful.rows.toLocaleString('en-US')} doubtful rows (q)`, {
          appearance: 'primary',
          title: 'Switch to the doubtful queue: rows not flagged, where the run expects the most errors',
          action: 'show-doubtful',
          onClick: () => actions.setQueue('doubtful'),
        }),
      );
      return box;
    }
    box.textContent = state.queueTexts?.[queue] ?? 'This queue holds no rows.';
    return box;
  }

  /** The empty state: why there is nothing to review, with a Run button where a run would fix that. */
  empty(message: Extract<HostMessage, { type: 'empty' }>): void {
    this.dom = null;
    const box = el('div', 'empty');
    box.id = 'empty';
    box.append(el('p', '', message.reason));
    if (message.canRun) {
      box.append(
        ui.button('Run Distillation', {
          appearance: 'primary',
          title: 'Run PeerKD: Run Peer-Advised Distillation on this dataset',
          action: 'run-distillation',
          onClick: () => this.actions.runDistillation(),
        }),
      );
    }
    this.app.replaceChildren(box);
  }

  queueRender(): void {
    if (!this.renderQueued) {
      this.renderQueued = true;
      requestAnimationFrame(() => {
        this.renderQueued = false;
        this.renderList();
      });
    }
  }

  private fillRow(element: HTMLElement, row: RowView, index: number): void {
    const selected = index === this.state.selectedIndex;
    element.dataset.index = String(index);
    element.dataset.id = row.key;
    element.dataset.human = row.human === null ? '' : row.human;
    element.className = 'row' + (selected ? ' selected' : '') + (row.human !== null ? ' reviewed' : '') + (row.skipped ? ' skipped' : '') + (row.changedSinceRun ? ' changed' : '');
    element.setAttribute('aria-selected', selected ? 'true' : 'false');
    element.style.top = `${index * ROW_HEIGHT}px`;
    const [meta, text] = [...element.children] as HTMLElement[];
    const [p, line, teacher, arrow, suggested, status] = [...meta.children] as HTMLElement[];
    // Changed since the run: the run's probability is about a teacher label no longer there, so none is shown.
    p.textContent = row.changedSinceRun ? '—' : row.p.toFixed(2);
    line.textContent = row.line === null ? 'gone' : `L${row.line}`;
    // A missing teacher label in words and a style of its own (a label written '∅' is drawn as any label), and its tooltip.
    teacher.textContent = row.teacher === null ? NO_TEACHER_TEXT : showInvisible(row.teacher);
    teacher.classList.toggle('no-label', row.teacher === null);
    teacher.title = row.teacher === null ? NO_TEACHER_TITLE : '';
    arrow.textContent = '→';
    suggested.textContent = showInvisible(row.suggested);
    status.textContent = showInvisible(statusText(row));
    text.textContent = showInvisible(row.text);
    text.title = row.text.length > 200 ? row.text.slice(0, 1000) : row.text;
  }

  private newRowElement(): HTMLElement {
    const element = el('div', 'row');
    element.setAttribute('role', 'option');
    const meta = el('div', 'meta');
    meta.append(el('span', 'p'), el('span', 'line'), el('span', 'teacher'), el('span', 'muted'), el('span', 'suggested'), el('span', 'status'));
    element.append(meta, el('div', 'text'));
    return element;
  }

  renderList(): void {
    const dom = this.dom;
    if (!dom) {
      return;
    }
    const order = this.state.order;
    dom.spacer.style.height = `${order.length * ROW_HEIGHT}px`;
    const top = dom.list.scrollTop;
    const height = dom.list.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(order.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    let used = 0;
    let current: HTMLElement | undefined;
    for (let index = first; index < last; index++) {
      const row = this.state.rows.get(order[index]);
      if (!row) {
        continue;
      }
      let element = dom.pool[used];
      if (!element) {
        element = this.newRowElement();
        element.id = `row-${dom.pool.length}`;
        dom.pool.push(element);
        dom.spacer.append(element);
      }
      element.hidden = false;
      this.fillRow(element, row, index);
      if (index === this.state.selectedIndex) current = element;
      used++;
    }
    for (let index = used; index < dom.pool.length; index++) {
      dom.pool[index].hidden = true;
    }
    // Focus stays on the list (the keys act on it): a screen reader hears the selected row as the list's current option.
    if (current) dom.list.setAttribute('aria-activedescendant', current.id);
    else dom.list.removeAttribute('aria-activedescendant');
  }

  /** The filter dropdowns' choices, with the current filters selected. */
  renderFilterOptions(): void {
    const view = this.state.view;
    if (!this.dom || !view) {
      return;
    }
    ui.setOptions(this.dom.queue, queueOptions(view), this.state.filters.queue);
    ui.setOptions(this.dom.teacher, labelOptions(view.teacherLabels, 'Any teacher label', (label) => teacherFilterText(label, view.noTeacherRows)), this.state.filters.teacher);
    ui.setOptions(this.dom.suggested, labelOptions(view.suggestedLabels, 'Any suggestion'), this.state.filters.suggested);
  }

  renderCounts(): void {
    const view = this.state.view;
    const dom = this.dom;
    if (!view || !dom) {
      return;
    }
    const c = view.counts;
    // Each count's name, and the shorter one a narrow panel shows (review.css): the counts then have a line of their own
    // and keep every figure whole at 500 px, whatever the figures (the full wording is in the tooltip).
    const parts: [string, string, number][] = [
      this.state.filters.queue === 'flagged' ? ['Flagged', 'Flagged', c.flagged] : ['Rows', 'Rows', c.flagged],
      ['Reviewed', 'Done', c.reviewed],
      ['Remaining', 'Left', c.remaining],
      ['Skipped', 'Skipped', c.skipped],
      ['Showing', 'Shown', view.order.length],
    ];
    dom.counts.replaceChildren(
      ...parts.map(([name, short, value]) => {
        const span = el('span');
        span.dataset.count = name.toLowerCase();
        span.append(el('span', 'count-name', name), el('span', 'count-short', short), ' ', el('b', '', value.toLocaleString('en-US')));
        return span;
      }),
    );
    dom.counts.title = parts.map(([name, , value]) => `${name} ${value.toLocaleString('en-US')}`).join(' · ');
    dom.rerankNote.textContent = view.reranked ? `re-ranked after ${view.reranked.reviewed.toLocaleString('en-US')} decision${view.reranked.reviewed === 1 ? '' : 's'}` : '';
    dom.rerankNote.title = view.reranked
      ? `The queue's order uses your ${view.reranked.reviewed} decisions since the run (re-ranked in ${view.reranked.ms.toFixed(0)} ms). Only the order changed: each row's p is still the run's calibrated probability.`
      : '';
    dom.list.setAttribute('aria-label', queueListLabel(this.state.filters.queue, view.reranked !== null));
    // The user's own finding first, so that the one clipped line shows it: what the queue is follows (whole in the tooltip).
    const verdict = reviewedVerdict(c);
    const description = this.state.queueTexts?.[this.state.filters.queue] ?? '';
    const queueText = [verdict, description].filter((part) => part !== '').join(' ');
    // Two parts, so that a short panel, which has no room for what the queue is (the queue switch's tooltip says it),
    // still shows the user's own finding (review.css).
    dom.queueNote.replaceChildren(
      ...(verdict === '' ? [] : [el('span', 'verdict', verdict)]),
      ...(verdict === '' || description === '' ? [] : [' ']),
      ...(description === '' ? [] : [el('span', 'queue-text', description)]),
    );
    dom.queueNote.classList.toggle('has-verdict', verdict !== '');
    dom.queueNote.title = queueText;
    dom.queue.title = queueText === '' ? QUEUE_SWITCH_TITLE : `${queueText}\n\n${QUEUE_SWITCH_TITLE}`;
    ui.setDisabled(dom.undo, !view.canUndo);
    dom.undo.title = view.undoDescription ? `Undo: ${view.undoDescription} (u)` : 'Nothing to undo';
    this.renderFilterOptions();
  }

  /**
   * The confusion table, a grid for the keyboard: one Tab stop (the cell last moved to, else the filtered one, else the
   * first), the arrows move between cells (moveCell), Enter or Space filters (filterCell), and each cell is named for a
   * screen reader ("Teacher Business, suggested Sports: 12 rows"). A cell that had the focus keeps it when the table is
   * drawn again (each view update).
   */
  renderConfusion(): void {
    const table = this.state.view?.confusion;
    const dom = this.dom;
    if (!table || !dom) {
      return;
    }
    const focused = document.activeElement;
    const hadFocus = focused instanceof HTMLElement && dom.confusion.contains(focused);
    const filters = this.state.filters;
    dom.confusion.setAttribute('role', 'grid');
    const head = el('tr');
    head.setAttribute('role', 'row');
    const corner = el('th', '', 'teacher ↓ / suggested →');
    corner.setAttribute('role', 'columnheader');
    head.append(corner);
    table.suggestedLabels.forEach((label, j) => head.append(labelHeader(label, table.suggestedDigits[j], 'columnheader')));
    const body = [head];
    const cells: HTMLTableCellElement[] = [];
    let stop: HTMLTableCellElement | undefined;
    let activeCell: HTMLTableCellElement | undefined;
    table.teacherLabels.forEach((teacher, i) => {
      const tr = el('tr');
      tr.setAttribute('role', 'row');
      tr.append(labelHeader(teacher, table.teacherDigits[i], 'rowheader'));
      table.suggestedLabels.forEach((suggested, j) => {
        const count = table.counts[i][j];
        const td = el('td', 'cell' + (count === 0 ? ' zero' : ''), String(count));
        const active = isFilteredCell(filters, teacher, suggested);
        td.setAttribute('role', 'gridcell');
        td.tabIndex = -1;
        td.dataset.row = String(i);
        td.dataset.col = String(j);
        td.setAttribute('aria-label', confusionCellName(teacher, suggested, count, active));
        td.setAttribute('aria-selected', active ? 'true' : 'false');
        if (active) {
          td.classList.add('active');
          activeCell = td;
        }
        td.title = confusionCellTitle(teacher, suggested, active);
        // The focus is not the mouse's: after a click the keys act on the list, as after a click on a row.
        td.addEventListener('mousedown', (event) => event.preventDefault());
        td.addEventListener('click', () => {
          this.setTableStop(td);
          this.filterCell(td);
          if (dom.confusion.contains(document.activeElement)) td.focus();
          else dom.list.focus();
        });
        if (this.tableStop && this.tableStop.teacher === teacher && this.tableStop.suggested === suggested) stop = td;
        cells.push(td);
        tr.append(td);
      });
      body.push(tr);
    });
    dom.confusion.replaceChildren(...body);
    const tabStop = stop ?? activeCell ?? cells[0];
    if (tabStop) {
      tabStop.tabIndex = 0;
      if (hadFocus && document.hasFocus()) tabStop.focus();
    } else if (hadFocus && document.hasFocus()) {
      dom.list.focus();
    }
  }

  /** The cell that has the focus in the confusion table, if one has. */
  private focusedCell(): HTMLTableCellElement | undefined {
    const focused = document.activeElement;
    return focused instanceof HTMLTableCellElement && this.dom?.confusion.contains(focused) && focused.dataset.row !== undefined ? focused : undefined;
  }

  private setTableStop(td: HTMLTableCellElement): void {
    const table = this.state.view?.confusion;
    if (!table || !this.dom) return;
    for (const cell of this.dom.confusion.querySelectorAll<HTMLElement>('td[role="gridcell"]')) cell.tabIndex = cell === td ? 0 : -1;
    this.tableStop = { teacher: table.teacherLabels[Number(td.dataset.row)], suggested: table.suggestedLabels[Number(td.dataset.col)] };
  }

  /** An arrow, Home or End in the confusion table: the focus to the next cell that way (roving tabindex). */
  moveCell(key: string): void {
    const table = this.state.view?.confusion;
    const from = this.focusedCell();
    if (!table || !from || !this.dom) return;
    const rows = table.teacherLabels.length;
    const cols = table.suggestedLabels.length;
    let row = Number(from.dataset.row);
    let col = Number(from.dataset.col);
    if (key === 'ArrowLeft') col -= 1;
    else if (key === 'ArrowRight') col += 1;
    else if (key === 'ArrowUp') row -= 1;
    else if (key === 'ArrowDown') row += 1;
    else if (key === 'Home') col = 0;
    else if (key === 'End') col = cols - 1;
    row = Math.max(0, Math.min(rows - 1, row));
    col = Math.max(0, Math.min(cols - 1, col));
    const to = this.dom.confusion.querySelector<HTMLTableCellElement>(`td[data-row="${row}"][data-col="${col}"]`);
    if (to) {
      this.setTableStop(to);
      to.focus();
    }
  }

  /** Enter or Space in the confusion table, or a click: filters the list on the cell's pair (on the filtered cell: clears). */
  filterCell(td: HTMLTableCellElement | undefined = this.focusedCell()): void {
    const table = this.state.view?.confusion;
    if (!table || !td) return;
    const teacher = table.teacherLabels[Number(td.dataset.row)];
    const suggested = table.suggestedLabels[Number(td.dataset.col)];
    this.actions.setFilters(isFilteredCell(this.state.filters, teacher, suggested) ? { teacher: '', suggested: '' } : { teacher: teacherFilterOf(teacher), suggested }, true);
    this.renderFilterOptions();
  }

  selectedRow(): RowView | undefined {
    const id = this.state.order[this.state.selectedIndex];
    return id === undefined ? undefined : this.state.rows.get(id);
  }

  /**
   * Draws the selected row's details. A button or link of the details that had the focus (reached with Tab) is drawn
   * anew: the focus goes to the new details' control of the same action (Keep on the next row after Keep), else to the
   * list, never out of the panel (the keys, Tab and a screen reader would start over from the top).
   */
  renderDetails(): void {
    const dom = this.dom;
    if (!dom) {
      return;
    }
    const focused = document.activeElement;
    const held = focused instanceof HTMLElement && focused !== dom.details && dom.details.contains(focused) ? focused : null;
    this.drawDetails(dom);
    // Only while the panel has the focus: a refresh caused by typing in the editor must not pull the keys into the panel.
    if (held && !held.isConnected && document.hasFocus()) {
      const same = held.dataset.action === undefined ? null : dom.details.querySelector<HTMLElement>(`[data-action="${CSS.escape(held.dataset.action)}"]`);
      (same ?? dom.list).focus();
    }
  }

  private drawDetails(dom: Dom): void {
    const { state, actions } = this;
    const row = this.selectedRow();
    if (!row) {
      dom.details.replaceChildren(this.emptyQueue());
      return;
    }
    const summary = el('div', 'muted row-facts');
    // A row of the unlabelled queue has no teacher label to doubt: its p is the advice's own probability.
    const score: (string | HTMLElement)[] = row.textChangedSinceRun
      ? [' · text changed since the run: its suggestion and probability are about the old text']
      : row.changedSinceRun
      ? [' · teacher label changed since the run (it judged ', row.runTeacher === null ? 'no label' : el('bdi', '', row.runTeacher), '): its suggestion and probability are about that label']
      : row.queue === 'unlabelled'
        ? [" · no teacher label · advice '", el('bdi', '', row.suggested), `', p = ${row.p.toFixed(2)}`]
        : [` · ${row.queue === 'doubtful' ? 'not flagged · ' : ''}p(teacher wrong) = ${row.p.toFixed(2)}`];
    // Data in a line of text sits in <bdi>: a right-to-left id or a bidirectional control in it cannot reorder the rest.
    summary.append(`${row.line === null ? 'No longer in the file' : `Line ${row.line}`} · id `, el('bdi', '', row.id), ...score);
    if (row.human !== null) {
      summary.append(' · human label: ', el('bdi', '', row.human));
    }
    // Why flagged: asked for when the row is first selected (flagged rows only; the others have no teacher to doubt).
    const explanation = row.queue === 'flagged' ? state.explanations.get(row.key) : null;
    if (row.queue === 'flagged' && explanation === undefined) {
      actions.needExplanation(row.key);
    }
    const text = el('div', 'full-text' + (state.expanded ? '' : ' clipped'));
    text.id = 'row-text';
    if (explanation) {
      text.append(...highlightedText(row.text, explanation));
    } else {
      text.textContent = showInvisible(row.text);
    }
    const buttons = el('div', 'actions');
    // No Accept on a row changed since the run: its suggestion was judged against a teacher label (or a text) no longer there.
    if (!row.changedSinceRun) {
      buttons.append(
        ui.button(`Accept '${onButton(row.suggested)}'`, { appearance: 'primary', title: `Accept '${row.suggested}' (Enter or a)`, action: 'accept', onClick: () => actions.decide({ kind: 'accept' }) }),
      );
    }
    if (row.teacher !== null) {
      buttons.append(ui.button(`Keep '${onButton(row.teacher)}'`, { title: `Keep '${row.teacher}' (t)`, action: 'keep', onClick: () => actions.decide({ kind: 'keep' }) }));
    }
    // The labels a digit key sets, in the label set's order; a label named by its own digit shows just once.
    for (const label of state.labels) {
      const digit = digitForLabel(state.labels, label);
      if (digit === undefined) continue;
      const text = label === String(digit) ? label : `${digit} ${onButton(label)}`;
      buttons.append(ui.button(text, { title: `Set '${label}' (key ${digit})`, action: `set-${digit}`, onClick: () => actions.decide({ kind: 'set', label }) }));
    }
    buttons.append(
      ui.button('Other label…', { title: 'n: pick any label of the set (type to filter), or type a new one', action: 'new-label', onClick: () => actions.newLabel(row.key) }),
      ui.button('Skip', { title: 's', action: 'skip', onClick: () => actions.decide({ kind: 'skip' }) }),
      ui.button('Open line', { title: 'o', action: 'open', onClick: () => actions.open(row.key) }),
      ui.button(state.expanded ? 'Clip text' : 'Expand text', { title: 'e', action: 'expand', onClick: () => actions.toggleExpanded() }),
      ui.button(state.showProbs ? 'Hide probabilities' : 'All probabilities', { title: 'p', action: 'probabilities', onClick: () => actions.toggleProbs() }),
    );
    const children: HTMLElement[] = [summary, text];
    if (row.textLength > row.text.length) {
      children.push(el('div', 'muted more-text', `… ${(row.textLength - row.text.length).toLocaleString('en-US')} more characters: Open line (o) shows the whole row.`));
    }
    if (explanation) {
      children.push(whyFlagged(explanation, actions));
    }
    children.push(buttons);
    if (state.showProbs) {
      const probs = state.probabilities.get(row.key);
      if (probs) {
        children.push(probabilityTable(row, probs));
      } else {
        children.push(el('div', 'muted', 'Loading probabilities…'));
        actions.needProbabilities(row.key);
      }
    }
    dom.details.replaceChildren(...children);
  }

  renderAll(): void {
    this.renderCounts();
    this.renderConfusion();
    this.renderList();
    this.renderDetails();
  }

  showNotice(text: string): void {
    const dom = this.dom;
    if (!dom) {
      return;
    }
    // Over the bottom of the list, so a note never hides the decision buttons below it nor moves them.
    dom.notice.style.bottom = `${Math.max(0, window.innerHeight - dom.list.getBoundingClientRect().bottom) + 4}px`;
    dom.notice.textContent = text;
    setTimeout(() => {
      if (dom.notice.textContent === text) {
        dom.notice.textContent = '';
      }
    }, 5000);
  }

  scrollIntoView(index: number): void {
    if (!this.dom) {
      return;
    }
    const list = this.dom.list;
    const top = index * ROW_HEIGHT;
    if (top < list.scrollTop) {
      list.scrollTop = top;
    } else if (top + ROW_HEIGHT > list.scrollTop + list.clientHeight) {
      list.scrollTop = top + ROW_HEIGHT - list.clientHeight;
    }
  }
}

/** Longest label a decision button shows whole (labels run to 200 characters); the tooltip has all of it. */
const BUTTON_LABEL_CHARS = 40;

/** A label as a button shows it: cut with an ellipsis past BUTTON_LABEL_CHARS, never inside a surrogate pair. */
function onButton(label: string): string {
  return label.length <= BUTTON_LABEL_CHARS ? label : `${cutText(label, BUTTON_LABEL_CHARS - 1)}…`;
}

/** A table header: the label, with the digit key that sets it (the host sends the digits, in the run's order). */
function labelHeader(label: string | null, digit: number | null | undefined, role: 'columnheader' | 'rowheader'): HTMLTableCellElement {
  const th = el('th');
  th.setAttribute('role', role);
  if (label === null) {
    // The rows without a teacher label: NO_TEACHER_TEXT in the style of a missing label (a label written '∅' is drawn
    // and named as any label).
    th.classList.add('no-label');
    th.title = NO_TEACHER_TITLE;
    th.append(NO_TEACHER_TEXT);
    return th;
  }
  th.title = label;
  if (digit !== null && digit !== undefined) {
    th.append(el('kbd', 'digit', String(digit)), ' ');
    th.title = `Key ${digit} sets '${label}'`;
  }
  th.append(showInvisible(label));
  return th;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)}`;
}

/**
 * The row's text with its explained words marked (classes, coloured by the theme in review.css: the strict CSP
 * allows no inline style), each with its contribution in its tooltip.
 */
function highlightedText(text: string, explanation: RowExplanation): (HTMLElement | string)[] {
  return explanationSegments(text, explanation).map((segment) => {
    if (!('word' in segment)) {
      // A piece between two marked words may be a lone space: only its bidirectional controls are escaped.
      return showBidiControls(segment.text);
    }
    const mark = el('mark', `word-${segment.direction}`, segment.text);
    const label = segment.direction === 'towards' ? explanation.towards : explanation.away;
    mark.title = `'${segment.word}' ${signed(segment.contribution)} to the logit difference '${explanation.towards}' − '${explanation.away}' (pushes towards '${label}')`;
    return mark;
  });
}

/** "Why flagged": the logit difference in one line, and the most similar human-labelled rows (click opens one). */
function whyFlagged(explanation: RowExplanation, actions: Actions): HTMLElement {
  const box = el('div', 'why');
  box.id = 'why-flagged';
  const head = el('div', 'why-head');
  const towards = (): HTMLElement => el('bdi', '', explanation.towards);
  const away = (): HTMLElement => el('bdi', '', explanation.away);
  const towardsMark = el('mark', 'word-towards', "words for '");
  towardsMark.append(towards(), "'");
  const awayMark = el('mark', 'word-away', "words for '");
  awayMark.append(away(), "'");
  head.append(
    el('b', '', 'Why flagged: '),
    "the peer that never saw this row scores '",
    towards(),
    "' over '",
    away(),
    `' by ${signed(explanation.logit_difference)} (logit). `,
    towardsMark,
    ' ',
    awayMark,
  );
  head.title = `Marked words: their share of the logit difference (hover a word). Other words ${signed(explanation.other_words)}, bias ${signed(explanation.bias)}${explanation.dense !== 0 ? `, word vectors ${signed(explanation.dense)}` : ''}.`;
  box.append(head);
  const similar = el('div', 'similar');
  if (explanation.similar.length === 0) {
    similar.append(el('span', 'muted', 'No row with a human label shares a word with this one.'));
  } else {
    similar.append(el('span', 'muted', 'Similar rows with a human label: '));
    explanation.similar.forEach((row, index) => {
      const link = el('a', 'similar-row', `line ${row.line}: '`);
      link.append(el('bdi', '', row.label), "'");
      link.href = '#';
      link.dataset.similarId = row.id;
      link.title = `Open line ${row.line} (id ${row.id}, similarity ${row.similarity.toFixed(2)}) in the editor`;
      link.addEventListener('click', (event) => {
        event.preventDefault();
        actions.openSimilar(row.id, row.line);
      });
      if (index > 0) similar.append(' · ');
      similar.append(link);
    });
  }
  box.append(similar);
  return box;
}

function probabilityTable(row: RowView, probs: readonly LabelProbability[]): HTMLTableElement {
  const table = el('table');
  table.id = 'probabilities';
  const head = el('tr');
  for (const name of ['label', 'advised', '', 'peers', 'vanilla']) {
    head.append(el('th', '', name));
  }
  table.append(head);
  for (const entry of probs) {
    const tr = el('tr');
    const name = entry.label + (entry.label === row.teacher ? ' (teacher)' : '') + (entry.label === row.suggested ? ' (suggested)' : '');
    const barCell = el('td');
    const bar = el('span', 'bar');
    bar.style.width = `${Math.round(entry.advised * 80)}px`;
    barCell.append(bar);
    tr.append(
      el('td', '', name),
      el('td', '', entry.advised.toFixed(2)),
      barCell,
      el('td', '', entry.peer === null ? '–' : entry.peer.toFixed(2)),
      el('td', '', entry.vanilla === null ? '–' : entry.vanilla.toFixed(2)),
    );
    table.append(tr);
  }
  return table;
}
