// Label Review webview client. A thin view: the host (src/webview/labelReviewPanel.ts) owns the rows, the filtering,
// the counts and every write; this script draws what it is sent, keeps only view state (filters, scroll, selection)
// and posts the user's intents. The list is virtualised: only the rows in view (plus a small margin) exist in the DOM.
(() => {
  'use strict';

  const vscode = acquireVsCodeApi();
  const ui = globalThis.peerkdUi;
  const ROW_HEIGHT = 46;
  const OVERSCAN = 6;
  const STATUS_OPTIONS = [
    { value: 'all', label: 'All rows' },
    { value: 'unreviewed', label: 'Unreviewed' },
    { value: 'reviewed', label: 'Reviewed' },
  ];
  const HELP = [
    ['↓ / j', 'next row'],
    ['↑ / k', 'previous row'],
    ['PgDn / PgUp, Home / End', 'page down / up, first / last row'],
    ['Enter / a', 'accept the suggested label'],
    ['t', "keep the teacher's label"],
    ['1 – 9', 'set the n-th label of the label set'],
    ['n', 'set a new label (asks, then confirms)'],
    ['s', 'skip (write nothing)'],
    ['o', 'open the line in the editor'],
    ['u', 'undo the last decision'],
    ['e', 'expand / clip the text'],
    ['p', "show / hide every label's probability"],
    ['/', 'focus the text search'],
    ['Esc', 'back to the list; close this help'],
    ['?', 'show / hide this help'],
  ];

  const app = document.getElementById('app');
  const saved = vscode.getState() || {};

  const state = {
    datasetUri: saved.datasetUri || null,
    datasetName: '',
    summary: '',
    runId: '',
    labels: [],
    rows: new Map(),
    order: [],
    view: null,
    filters: saved.filters || { teacher: '', suggested: '', minProbability: 0, status: 'all', search: '' },
    scrollTop: saved.scrollTop || 0,
    selectedId: saved.selectedRowId || null,
    selectedIndex: 0,
    /**
     * The confusion table's fold as the user set it; null until they do, and then it follows the panel's height:
     * folded in a short panel (the list needs the height), open otherwise.
     */
    confusionOpen: typeof saved.confusionOpen === 'boolean' ? saved.confusionOpen : null,
    expanded: false,
    showProbs: false,
    /** Row id → every label's probabilities, fetched from the host when first shown. */
    probabilities: new Map(),
    firstRenderReported: false,
    /** Filter changes sent and not yet answered (each answer selects the first match). */
    filtersInFlight: 0,
  };

  /** The same query as the short-panel rules in review.css. */
  const SHORT_PANEL = window.matchMedia('(max-height: 560px)');

  function confusionShouldOpen() {
    return state.confusionOpen === null ? !SHORT_PANEL.matches : state.confusionOpen;
  }

  let dom = null;
  let renderQueued = false;
  let searchTimer = 0;
  let saveTimer = 0;

  function el(tag, className, text) {
    const element = document.createElement(tag);
    if (className) {
      element.className = className;
    }
    if (text !== undefined) {
      element.textContent = text;
    }
    return element;
  }

  function saveState() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      vscode.setState({
        datasetUri: state.datasetUri,
        filters: state.filters,
        scrollTop: dom ? dom.list.scrollTop : state.scrollTop,
        selectedRowId: state.selectedId,
        confusionOpen: state.confusionOpen,
      });
    }, 100);
  }

  function post(message) {
    vscode.postMessage(message);
  }

  function sendFilters() {
    clearTimeout(searchTimer);
    searchTimer = 0;
    // Until the host answers, the selected row may not match the filters: decisions wait for the answer.
    state.filtersInFlight += 1;
    post({ type: 'setFilters', filters: state.filters });
  }

  function setFilters(patch, immediate) {
    state.filters = Object.assign({}, state.filters, patch);
    saveState();
    clearTimeout(searchTimer);
    if (immediate) {
      sendFilters();
    } else {
      searchTimer = setTimeout(sendFilters, 120);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Building the page

  function labelOptions(labels, anyLabel) {
    return [{ value: '', label: anyLabel }].concat(labels.map((label) => ({ value: label, label })));
  }

  function build() {
    app.replaceChildren();
    const header = el('header');
    const title = el('h1', '', state.datasetName);
    const run = el('span', 'muted run-id', `run ${state.runId}`);
    run.title = `run ${state.runId}`;
    const counts = el('div');
    counts.id = 'counts';
    title.title = state.datasetName;
    const undo = ui.button('Undo', { title: 'Undo the last decision (u)', action: 'undo', onClick: () => post({ type: 'undo' }) });
    const help = ui.button('?', { appearance: 'icon', title: 'Keyboard shortcuts (?)', action: 'help', onClick: () => toggleHelp() });
    header.append(title, run, counts, undo, help);
    // What the run says about the teacher, with its intervals: one line of its own (clipped, whole in the tooltip)
    // so counts never reflow it; it is also the line that folds the confusion table open and shut.
    const summary = el('span', 'muted run-summary', state.summary || '');
    summary.id = 'run-summary';

    const toolbar = el('div', 'toolbar');
    const teacher = ui.dropdown({
      ariaLabel: 'Teacher label',
      id: 'filter-teacher',
      options: labelOptions([], 'Any teacher label'),
      value: state.filters.teacher,
      onChange: (value) => setFilters({ teacher: value }, true),
    });
    const suggested = ui.dropdown({
      ariaLabel: 'Suggested label',
      id: 'filter-suggested',
      options: labelOptions([], 'Any suggestion'),
      value: state.filters.suggested,
      onChange: (value) => setFilters({ suggested: value }, true),
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
          setFilters({ minProbability: value.trim() === '' ? 0 : number });
        }
      },
    });
    const status = ui.dropdown({
      ariaLabel: 'Review status',
      id: 'filter-status',
      options: STATUS_OPTIONS,
      value: state.filters.status,
      onChange: (value) => setFilters({ status: value }, true),
    });
    const search = ui.textField({
      ariaLabel: 'Search text',
      id: 'filter-search',
      placeholder: 'Search text, id or #line  (/)',
      value: state.filters.search,
      size: 28,
      onInput: (value) => setFilters({ search: value }),
    });
    const bulkThreshold = ui.textField({ ariaLabel: 'Bulk accept threshold', id: 'bulk-threshold', value: '0.90', size: 5 });
    const bulk = ui.button('Accept all ≥ p', {
      title: 'Accept the suggestion on every unreviewed row at or above this probability (asks first)',
      action: 'bulk-accept',
      onClick: () => {
        const value = Number(ui.valueOf(bulkThreshold));
        if (Number.isFinite(value) && value >= 0 && value <= 1) {
          post({ type: 'bulkAccept', minProbability: value });
        } else {
          showNotice('The bulk threshold must be a probability between 0 and 1.');
        }
      },
    });
    toolbar.append(
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
    confusionWrap.open = confusionShouldOpen();
    const confusionSummary = el('summary');
    confusionSummary.title = `${state.summary ? state.summary + '\n' : ''}Click to show / hide the table of flagged rows by teacher label (rows) and suggested label (columns); click a cell to filter.`;
    confusionSummary.append(summary);
    confusionWrap.append(confusionSummary);
    confusionWrap.addEventListener('toggle', () => {
      // Also fires after the fold follows a resize; only a change away from what it should be is the user's.
      if (confusionWrap.open !== confusionShouldOpen()) {
        state.confusionOpen = confusionWrap.open;
        saveState();
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
    list.setAttribute('aria-label', 'Flagged rows, highest probability of a wrong teacher label first');
    const spacerDiv = el('div');
    spacerDiv.id = 'spacer';
    list.append(spacerDiv);
    list.addEventListener('scroll', () => {
      state.scrollTop = list.scrollTop;
      queueRender();
      saveState();
    });
    list.addEventListener('click', (event) => {
      const row = event.target.closest('.row');
      if (row) {
        select(Number(row.dataset.index));
        list.focus();
      }
    });
    list.addEventListener('dblclick', (event) => {
      const row = event.target.closest('.row');
      if (row) {
        post({ type: 'open', rowId: row.dataset.id });
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
    const helpTitle = el('h2', '', 'Keyboard shortcuts');
    const helpTable = el('table');
    for (const [keys, what] of HELP) {
      const tr = el('tr');
      const keyCell = el('td');
      keyCell.append(el('kbd', '', keys));
      tr.append(keyCell, el('td', '', what));
      helpTable.append(tr);
    }
    helpBox.append(helpTitle, helpTable, el('p', 'muted', 'Decisions write the human label into the dataset through the editor, so Ctrl+Z in the editor undoes them too. Save the file to keep them.'));

    app.append(header, confusionWrap, toolbar, list, details, notice, helpBox);
    dom = { confusionWrap, counts, undo, teacher, suggested, minP, status, search, confusion, list, spacer: spacerDiv, details, help: helpBox, notice, pool: [] };
  }

  function labelled(text, control) {
    const label = el('label');
    label.append(el('span', '', text), control);
    return label;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Rendering

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(() => {
        renderQueued = false;
        renderList();
      });
    }
  }

  /** Words for the host's outcome (review/model.ts outcomeOf): what the human label is, whichever key wrote it. */
  const OUTCOME_WORDS = { accepted: 'accepted', kept: 'kept', relabelled: 'set' };

  function statusText(row) {
    if (row.human === null || !row.outcome) {
      return row.skipped ? 'skipped' : '';
    }
    return `✓ ${OUTCOME_WORDS[row.outcome]} ${row.human}`;
  }

  function fillRow(element, row, index) {
    element.dataset.index = String(index);
    element.dataset.id = row.key;
    element.dataset.human = row.human === null ? '' : row.human;
    element.className = 'row' + (index === state.selectedIndex ? ' selected' : '') + (row.human !== null ? ' reviewed' : '') + (row.skipped ? ' skipped' : '');
    element.setAttribute('aria-selected', index === state.selectedIndex ? 'true' : 'false');
    element.style.top = `${index * ROW_HEIGHT}px`;
    const [meta, text] = element.children;
    const [p, line, teacher, arrow, suggested, status] = meta.children;
    p.textContent = row.p.toFixed(2);
    line.textContent = row.line === null ? 'gone' : `L${row.line}`;
    teacher.textContent = row.teacher === null ? '∅' : row.teacher;
    arrow.textContent = '→';
    suggested.textContent = row.suggested;
    status.textContent = statusText(row);
    text.textContent = row.text;
    text.title = row.text.length > 200 ? row.text.slice(0, 1000) : row.text;
  }

  function newRowElement() {
    const element = el('div', 'row');
    element.setAttribute('role', 'option');
    const meta = el('div', 'meta');
    meta.append(el('span', 'p'), el('span', 'line'), el('span', 'teacher'), el('span', 'muted'), el('span', 'suggested'), el('span', 'status'));
    element.append(meta, el('div', 'text'));
    return element;
  }

  function renderList() {
    if (!dom) {
      return;
    }
    const order = state.order;
    dom.spacer.style.height = `${order.length * ROW_HEIGHT}px`;
    const top = dom.list.scrollTop;
    const height = dom.list.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(order.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    let used = 0;
    for (let index = first; index < last; index++) {
      const row = state.rows.get(order[index]);
      if (!row) {
        continue;
      }
      let element = dom.pool[used];
      if (!element) {
        element = newRowElement();
        dom.pool.push(element);
        dom.spacer.append(element);
      }
      element.hidden = false;
      fillRow(element, row, index);
      used++;
    }
    for (let index = used; index < dom.pool.length; index++) {
      dom.pool[index].hidden = true;
    }
  }

  function renderCounts() {
    const view = state.view;
    if (!view) {
      return;
    }
    const c = view.counts;
    const parts = [
      ['Flagged', c.flagged],
      ['Reviewed', c.reviewed],
      ['Remaining', c.remaining],
      ['Skipped', c.skipped],
      ['Showing', view.order.length],
    ];
    dom.counts.replaceChildren(
      ...parts.map(([name, value]) => {
        const span = el('span', '', `${name} `);
        span.dataset.count = name.toLowerCase();
        span.append(el('b', '', value.toLocaleString('en-US')));
        return span;
      }),
    );
    dom.counts.title = parts.map(([name, value]) => `${name} ${value.toLocaleString('en-US')}`).join(' · ');
    ui.setDisabled(dom.undo, !view.canUndo);
    dom.undo.title = view.undoDescription ? `Undo: ${view.undoDescription} (u)` : 'Nothing to undo';
    ui.setOptions(dom.teacher, labelOptions(view.teacherLabels, 'Any teacher label'), state.filters.teacher);
    ui.setOptions(dom.suggested, labelOptions(view.suggestedLabels, 'Any suggestion'), state.filters.suggested);
  }

  function renderConfusion() {
    const table = state.view && state.view.confusion;
    if (!table) {
      return;
    }
    const head = el('tr');
    head.append(el('th', '', 'teacher ↓ / suggested →'));
    table.suggestedLabels.forEach((label, j) => head.append(labelHeader(label, table.suggestedDigits[j])));
    const body = [head];
    table.teacherLabels.forEach((teacher, i) => {
      const tr = el('tr');
      tr.append(labelHeader(teacher, table.teacherDigits[i]));
      table.suggestedLabels.forEach((suggested, j) => {
        const count = table.counts[i][j];
        const td = el('td', 'cell' + (count === 0 ? ' zero' : ''), String(count));
        const active = state.filters.teacher === teacher && state.filters.suggested === suggested;
        if (active) {
          td.classList.add('active');
        }
        td.title = active ? 'Click to clear this filter' : `Show rows with teacher '${teacher}' and suggestion '${suggested}'`;
        td.addEventListener('click', () => {
          const teacherFilter = teacher === '∅' ? '' : teacher;
          setFilters(active ? { teacher: '', suggested: '' } : { teacher: teacherFilter, suggested }, true);
          ui.setOptions(dom.teacher, labelOptions(state.view.teacherLabels, 'Any teacher label'), state.filters.teacher);
          ui.setOptions(dom.suggested, labelOptions(state.view.suggestedLabels, 'Any suggestion'), state.filters.suggested);
        });
        tr.append(td);
      });
      body.push(tr);
    });
    dom.confusion.replaceChildren(...body);
  }

  /** A table header: the label, with the digit key that sets it (the host sends the digits, in the run's order). */
  function labelHeader(label, digit) {
    const th = el('th');
    if (digit !== null && digit !== undefined) {
      th.append(el('kbd', 'digit', String(digit)), ' ');
      th.title = `Key ${digit} sets '${label}'`;
    }
    th.append(label);
    return th;
  }

  function selectedRow() {
    const id = state.order[state.selectedIndex];
    return id === undefined ? undefined : state.rows.get(id);
  }

  function renderDetails() {
    const row = selectedRow();
    if (!row) {
      dom.details.replaceChildren(el('div', 'muted', state.order.length === 0 ? 'No row matches the filters.' : ''));
      return;
    }
    const summary = el('div', 'muted row-facts');
    summary.textContent = `${row.line === null ? 'No longer in the file' : `Line ${row.line}`} · id ${row.id} · p(teacher wrong) = ${row.p.toFixed(2)}` +
      (row.human !== null ? ` · human label: ${row.human}` : '');
    const text = el('div', 'full-text' + (state.expanded ? '' : ' clipped'), row.text);
    text.id = 'row-text';
    const actions = el('div', 'actions');
    actions.append(
      ui.button(`Accept '${row.suggested}'`, { appearance: 'primary', title: 'Enter or a', action: 'accept', onClick: () => decide({ kind: 'accept' }) }),
    );
    if (row.teacher !== null) {
      actions.append(ui.button(`Keep '${row.teacher}'`, { title: 't', action: 'keep', onClick: () => decide({ kind: 'keep' }) }));
    }
    state.labels.slice(0, 9).forEach((label, i) => {
      actions.append(ui.button(`${i + 1} ${label}`, { title: `Set '${label}' (key ${i + 1})`, action: `set-${i + 1}`, onClick: () => decide({ kind: 'set', label }) }));
    });
    actions.append(
      ui.button('New label…', { title: 'n', action: 'new-label', onClick: () => post({ type: 'newLabel', rowId: row.key }) }),
      ui.button('Skip', { title: 's', action: 'skip', onClick: () => decide({ kind: 'skip' }) }),
      ui.button('Open line', { title: 'o', action: 'open', onClick: () => post({ type: 'open', rowId: row.key }) }),
      ui.button(state.expanded ? 'Clip text' : 'Expand text', { title: 'e', action: 'expand', onClick: toggleExpanded }),
      ui.button(state.showProbs ? 'Hide probabilities' : 'All probabilities', { title: 'p', action: 'probabilities', onClick: toggleProbs }),
    );
    const children = [summary, text, actions];
    if (state.showProbs) {
      const probs = state.probabilities.get(row.key);
      if (probs) {
        children.push(probabilityTable(row, probs));
      } else {
        children.push(el('div', 'muted', 'Loading probabilities…'));
        post({ type: 'probabilities', rowId: row.key });
      }
    }
    dom.details.replaceChildren(...children);
  }

  function probabilityTable(row, probs) {
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

  function renderAll() {
    renderCounts();
    renderConfusion();
    renderList();
    renderDetails();
  }

  function showNotice(text) {
    // Over the bottom of the list, so a note never hides the decision buttons below it nor moves them.
    dom.notice.style.bottom = `${Math.max(0, window.innerHeight - dom.list.getBoundingClientRect().bottom) + 4}px`;
    dom.notice.textContent = text;
    setTimeout(() => {
      if (dom.notice.textContent === text) {
        dom.notice.textContent = '';
      }
    }, 5000);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Selection and actions

  function scrollIntoView(index) {
    const list = dom.list;
    const top = index * ROW_HEIGHT;
    if (top < list.scrollTop) {
      list.scrollTop = top;
    } else if (top + ROW_HEIGHT > list.scrollTop + list.clientHeight) {
      list.scrollTop = top + ROW_HEIGHT - list.clientHeight;
    }
  }

  function select(index) {
    if (state.order.length === 0) {
      state.selectedIndex = 0;
      state.selectedId = null;
    } else {
      state.selectedIndex = Math.max(0, Math.min(state.order.length - 1, index));
      state.selectedId = state.order[state.selectedIndex];
    }
    state.expanded = false;
    if (dom) {
      scrollIntoView(state.selectedIndex);
      renderList();
      renderDetails();
    }
    saveState();
  }

  function decide(decision) {
    const row = selectedRow();
    if (!row || state.filtersInFlight > 0 || searchTimer) {
      return;
    }
    post({ type: 'decide', rowId: row.key, decision });
    // Move on at once; when the host's update arrives the selection follows this row key.
    const next = state.order[state.selectedIndex + 1];
    if (next !== undefined) {
      state.selectedIndex += 1;
      state.selectedId = next;
      scrollIntoView(state.selectedIndex);
      renderList();
      renderDetails();
      saveState();
    }
  }

  function toggleHelp(force) {
    dom.help.hidden = force === undefined ? !dom.help.hidden : !force;
  }

  function toggleExpanded() {
    state.expanded = !state.expanded;
    renderDetails();
  }

  function toggleProbs() {
    state.showProbs = !state.showProbs;
    renderDetails();
  }

  function onKeyDown(event) {
    if (!dom || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (ui.isTextInput(event)) {
      if (event.key === 'Escape' || event.key === 'Enter') {
        // Enter in a filter field only moves to the list (never decides); a search still waiting to be sent goes now,
        // and its answer selects the first match.
        event.preventDefault();
        if (searchTimer) {
          sendFilters();
        }
        dom.list.focus();
      }
      return;
    }
    const page = Math.max(1, Math.floor(dom.list.clientHeight / ROW_HEIGHT) - 1);
    const key = event.key;
    let handled = true;
    if (key === 'ArrowDown' || key === 'j') {
      select(state.selectedIndex + 1);
    } else if (key === 'ArrowUp' || key === 'k') {
      select(state.selectedIndex - 1);
    } else if (key === 'PageDown') {
      select(state.selectedIndex + page);
    } else if (key === 'PageUp') {
      select(state.selectedIndex - page);
    } else if (key === 'Home') {
      select(0);
    } else if (key === 'End') {
      select(state.order.length - 1);
    } else if (key === 'Enter' || key === 'a') {
      decide({ kind: 'accept' });
    } else if (key === 't') {
      decide({ kind: 'keep' });
    } else if (/^[1-9]$/.test(key)) {
      const label = state.labels[Number(key) - 1];
      if (label === undefined) {
        showNotice(`The label set has no label ${key}.`);
      } else {
        decide({ kind: 'set', label });
      }
    } else if (key === 'n') {
      const row = selectedRow();
      if (row) {
        post({ type: 'newLabel', rowId: row.key });
      }
    } else if (key === 's') {
      decide({ kind: 'skip' });
    } else if (key === 'o') {
      const row = selectedRow();
      if (row) {
        post({ type: 'open', rowId: row.key });
      }
    } else if (key === 'u') {
      post({ type: 'undo' });
    } else if (key === 'e') {
      toggleExpanded();
    } else if (key === 'p') {
      toggleProbs();
    } else if (key === '/') {
      ui.focus(dom.search);
    } else if (key === '?') {
      toggleHelp();
    } else if (key === 'Escape') {
      toggleHelp(false);
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Messages from the host

  function applyView(view) {
    state.view = view;
    state.order = view.order;
    const index = state.selectedId === null ? -1 : view.order.indexOf(state.selectedId);
    if (index >= 0) {
      state.selectedIndex = index;
    } else {
      state.selectedIndex = Math.max(0, Math.min(view.order.length - 1, state.selectedIndex));
      state.selectedId = view.order[state.selectedIndex] === undefined ? null : view.order[state.selectedIndex];
    }
  }

  function onInit(message) {
    const received = performance.now();
    state.datasetUri = message.datasetUri;
    state.datasetName = message.datasetName;
    state.runId = message.runId;
    state.summary = message.summary;
    state.labels = message.labels;
    state.filters = message.filters;
    state.rows = new Map(message.rows.map((row) => [row.key, row]));
    state.probabilities.clear();
    state.filtersInFlight = 0;
    if (message.selectedRowId) {
      state.selectedId = message.selectedRowId;
    }
    applyView(message.view);
    build();
    dom.list.scrollTop = message.scrollTop;
    renderAll();
    scrollIntoView(state.selectedIndex);
    renderList();
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
          post({ type: 'rendered', rows: message.rows.length, firstRenderMs });
        }, 0),
      );
    }
  }

  function emptyState(message) {
    const box = el('div', 'empty');
    box.id = 'empty';
    box.append(el('p', '', message.reason));
    if (message.canRun) {
      box.append(
        ui.button('Run Distillation', {
          appearance: 'primary',
          title: 'Run PeerKD: Run Peer-Advised Distillation on this dataset',
          action: 'run-distillation',
          onClick: () => post({ type: 'runDistillation' }),
        }),
      );
    }
    return box;
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || typeof message.type !== 'string') {
      return;
    }
    switch (message.type) {
      case 'init':
        onInit(message);
        break;
      case 'empty':
        state.datasetUri = message.datasetUri;
        saveState();
        dom = null;
        app.replaceChildren(emptyState(message));
        break;
      case 'rows':
        for (const row of message.rows) {
          state.rows.set(row.key, row);
        }
        if (dom) {
          queueRender();
        }
        break;
      case 'view':
        if (dom) {
          if (message.selectFirst) {
            // The answer to a filter change: the first match, never a row the user did not look at.
            state.filtersInFlight = Math.max(0, state.filtersInFlight - 1);
            state.selectedId = null;
            state.selectedIndex = 0;
            dom.list.scrollTop = 0;
          }
          applyView(message.view);
          renderAll();
          if (message.selectFirst) {
            saveState();
          }
        }
        break;
      case 'select': {
        const index = state.order.indexOf(message.rowId);
        if (dom && index >= 0) {
          select(index);
        } else {
          state.selectedId = message.rowId;
        }
        break;
      }
      case 'probabilities':
        state.probabilities.set(message.rowId, message.probs);
        if (dom && state.showProbs && state.order[state.selectedIndex] === message.rowId) {
          renderDetails();
        }
        break;
      case 'notice':
        if (dom) {
          showNotice(message.text);
        }
        break;
    }
  });

  window.addEventListener('keydown', onKeyDown);
  window.addEventListener('resize', () => {
    if (dom && dom.confusionWrap.open !== confusionShouldOpen()) {
      dom.confusionWrap.open = confusionShouldOpen();
    }
    queueRender();
  });
  post({ type: 'ready', state: saved.datasetUri ? saved : null });
})();
