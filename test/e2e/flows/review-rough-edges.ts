/**
 * Label Review, issue 10 §3 items a new user hit in the panel itself:
 * - 3: one label order everywhere: the run's (here not alphabetical), which the keys 1–9 use; the digit is shown on
 *   the buttons and on the confusion table's headers, and the table follows that order.
 * - 8: pressing the digit of the suggested label says what happened (a note, the row status and the undo entry all
 *   call it an accept).
 * - 2: a search selects its first match; Enter in the search box only moves to the list, so the next Enter accepts
 *   the row the user now sees selected, never the row selected before the search.
 * - 4 and 5: at 500×400 px beside the Problems panel the list keeps at least four rows, the table is folded, the
 *   decision buttons are on screen; the header is two fixed lines at most (the counts whole on the second) and Undo / ?
 *   do not move when the counts change.
 * - 7: a jump from the Problems panel to a flagged label far right on its line keeps the row's start in view (the
 *   editor is not scrolled sideways) and leaves the label selected.
 * - 6: opening Label Review on the dataset (Explorer context menu) while a second group showing another file is
 *   active reuses that group: no third column.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import { defineFlow, waitFor, type Workbench } from '../harness';
import type { Prediction } from '../../../src/training/types';
import { completedRuns, DATASET, readPredictions, recordNotices, reviewOrder, waitForFlaggedProblems, writeDatasetWithFlaggedRun } from '../reviewSupport';

/** Not alphabetical, so a table sorted by name would not match the keys. */
const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const ROW_HEIGHT = 46;
const OTHER_FILE = 'notes.txt';

interface Box {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

function box(frame: Frame, selector: string): Promise<Box> {
  return frame.locator(selector).first().evaluate((element) => {
    const r = element.getBoundingClientRect();
    return { top: r.top, left: r.left, bottom: r.bottom, right: r.right };
  });
}

async function selectedId(frame: Frame): Promise<string | null> {
  return frame.locator('#list .row.selected').first().getAttribute('data-id').catch(() => null);
}

async function waitForHuman(frame: Frame, rowId: string, expected: string): Promise<void> {
  await waitFor(async () => (await frame.locator(`#list .row[data-id="${rowId}"]`).first().getAttribute('data-human').catch(() => null)) === expected, {
    timeoutMs: 15_000,
    message: `the panel to show human label '${expected}' on row ${rowId}`,
  });
}

/** Resizes the browser until the webview's own viewport is width×height (the workbench chrome around it is fixed). */
async function sizeWebview(workbench: Workbench, frame: Frame, width: number, height: number): Promise<{ w: number; h: number }> {
  const inner = (): Promise<{ w: number; h: number }> => frame.evaluate('({ w: window.innerWidth, h: window.innerHeight })');
  for (let attempt = 0; attempt < 8; attempt++) {
    const now = await inner();
    if (Math.abs(now.w - width) <= 4 && Math.abs(now.h - height) <= 4) {
      return now;
    }
    const viewport = workbench.page.viewportSize()!;
    // The webview's share of the window is not fixed (split editors, the panel): scale the step by it.
    const next = {
      width: Math.round(viewport.width + (width - now.w) * Math.max(1, viewport.width / Math.max(1, now.w) / 2)),
      height: Math.round(viewport.height + (height - now.h)),
    };
    await workbench.page.setViewportSize(next);
    await workbench.page.waitForTimeout(500);
  }
  return inner();
}

export default defineFlow({
  name: 'review: one label order with digits, digit of the suggestion says accepted, search selects its first match, usable at 500×400',
  fixture: 'review',
  timeoutMs: 300_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 300, LABELS);
    writeFileSync(join(workspaceDir, OTHER_FILE), 'Another file, open in a second editor group.\n');
    // "Why flagged" for every row, as a run writes it (explanations.jsonl beside predictions.jsonl): the hover shows it.
    const runDir = join(workspaceDir, '.peerkd', 'runs', readdirSync(join(workspaceDir, '.peerkd', 'runs')).find((name) => /^\d{8}-/.test(name))!);
    const predictions = readFileSync(join(runDir, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Prediction);
    writeFileSync(
      join(runDir, 'explanations.jsonl'),
      predictions
        .map((p, row) => JSON.stringify({ row, id: p.id, towards: p.suggested, away: p.teacher, logit_difference: 2.5, bias: 0.25, dense: 0, words: [['because', 2]], other_words: 0.25, similar: [{ id: 'ag-4-0', line: 2, label: 'World', similarity: 0.42 }] }))
        .join('\n') + '\n',
    );
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    const [runId] = completedRuns(workbench);
    const order = reviewOrder(readPredictions(workbench, runId));
    const texts = new Map(
      workbench
        .readFile(DATASET)
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { id: string; text: string })
        .map((row) => [row.id, row.text.toLowerCase()]),
    );
    const page = workbench.page;

    // 7. Click a flagged label far right in the Problems panel: the editor shows the row from its start.
    const problems = await waitForFlaggedProblems(workbench);
    const far = problems.find((entry) => entry.source === 'PeerKD' && entry.column > 250);
    assert.ok(far, `a flagged label beyond column 250 among ${JSON.stringify(problems.map((entry) => [entry.line, entry.column]))}`);
    const scrollLeft = (): Promise<number> =>
      page.evaluate(`(() => {
        const slider = document.querySelector('.editor-group-container.active .monaco-editor .scrollbar.horizontal .slider');
        return slider ? parseFloat(slider.style.left || '0') : 0;
      })()`);
    assert.equal(await scrollLeft(), 0);
    await page.locator('.markers-panel .monaco-list-row').filter({ has: page.locator('.marker-line', { hasText: new RegExp(`\\bLn ${far.line}, Col ${far.column}\\b`) }) }).first().click();
    // The status bar names the selection's active end: the label stays selected (`Ln 1, Col 341 (10 selected)`).
    await waitFor(async () => new RegExp(`^Ln ${far.line}, Col \\d+ \\(\\d+ selected\\)`).test(await page.locator('.statusbar-item[id="status.editor.selection"]').innerText().catch(() => '')), {
      message: `the flagged label on line ${far.line} to be selected`,
    });
    await waitFor(async () => (await scrollLeft()) === 0, { timeoutMs: 5_000, message: 'the editor to show the row from its start (not scrolled sideways)' });
    await page.waitForTimeout(500);
    assert.equal(await scrollLeft(), 0, 'the editor stays scrolled to the row start');
    await workbench.screenshot('review-jump-to-flagged-label');
    // The hover on that label (the editor focused, then Show Hover at the cursor): why it is flagged, and the row
    // pretty-printed. The hover is found by its text: the mouse rests on the Problems row just clicked, whose own hover
    // can show too.
    await workbench.focusEditor(DATASET);
    const hoverText = await workbench.showHover('Why flagged');
    assert.match(hoverText, /Words for '[^']+': because \+2\.00/);
    assert.match(hoverText, /Most similar rows with a human label: line 2 \(ag-4-0\): 'World', similarity 0\.42/);
    assert.match(hoverText, new RegExp(`Row ${far.line}`));
    assert.match(hoverText, /"teacher_label": "/, 'the row, pretty-printed');
    await workbench.screenshot('review-hover-why-flagged');
    await page.keyboard.press('Escape');
    // Hide the Problems panel again (Ctrl+J): items 4 and 5 below open it themselves, shrinking the panel past its fold.
    await page.keyboard.press('Control+J');
    await page.locator('.markers-panel').waitFor({ state: 'hidden', timeout: 10_000 });

    // 6. The dataset in group 1, another file focused in group 2: Label Review reuses group 2.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: OTHER_FILE }).first().dblclick();
    await page.locator(`.tabs-container .tab.active[data-resource-name="${OTHER_FILE}"]`).waitFor({ state: 'visible', timeout: 15_000 });
    await workbench.runCommand('View: Move Editor into Right Group');
    await waitFor(async () => (await page.locator('.editor-group-container').count()) === 2, { message: 'two editor groups' });
    await page.locator('.editor-group-container').nth(1).locator(`.tab.active[data-resource-name="${OTHER_FILE}"]`).waitFor({ state: 'visible', timeout: 15_000 });
    await page.locator('.editor-group-container').nth(0).locator(`.tab.active[data-resource-name="${DATASET}"]`).waitFor({ state: 'visible', timeout: 15_000 });
    // From the Explorer (as from the run summary's button): the dataset is named, another group is active.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: DATASET }).first().click({ button: 'right' });
    // The menu takes the item under the mouse on Enter (a plain click on it is not always delivered in code-server).
    await page.locator('.context-view .action-item', { hasText: 'Open Label Review' }).first().hover();
    await page.keyboard.press('Enter');
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    assert.equal(await page.locator('.editor-group-container').count(), 2, 'no third editor group');
    assert.equal(
      await page.locator('.editor-group-container').nth(1).locator('.tab', { hasText: 'Label Review' }).count(),
      1,
      'Label Review opened in the group beside the dataset',
    );

    // 3. The buttons and the table's headers carry the digit, in the run's label order.
    await frame.locator('#list .row[data-index="0"]').click();
    for (const [i, label] of LABELS.entries()) {
      assert.equal((await frame.locator(`#details [data-action="set-${i + 1}"]`).innerText()).trim(), `${i + 1} ${label}`);
    }
    await frame.evaluate("document.getElementById('confusion-details').open = true");
    const columnHeads = await frame.locator('#confusion tr').first().locator('th').allInnerTexts();
    const suggestedInRun = new Set(order.map((p) => p.suggested));
    const expectedColumns = LABELS.filter((label) => suggestedInRun.has(label)).map((label) => `${LABELS.indexOf(label) + 1} ${label}`);
    assert.deepEqual(columnHeads.slice(1).map((text) => text.replace(/\s+/g, ' ').trim()), expectedColumns);
    const rowHeads = await frame.locator('#confusion tr th:first-child').allInnerTexts();
    const teachersInRun = new Set(order.map((p) => p.teacher));
    assert.deepEqual(
      rowHeads.slice(1).map((text) => text.replace(/\s+/g, ' ').trim()),
      LABELS.filter((label) => teachersInRun.has(label)).map((label) => `${LABELS.indexOf(label) + 1} ${label}`),
    );

    // 8. The digit of the suggested label: counted as accepted, and the panel says so.
    const first = order[0];
    const digit = LABELS.indexOf(first.suggested) + 1;
    await frame.locator('#list .row[data-index="0"]').click();
    // The note goes after 5 s, and under load the decision can take longer than that to show (a CI run missed a note
    // waited for afterwards): the page records each note as it appears.
    const notes = await recordNotices(frame);
    const acceptedNote = `'${first.suggested}' is the suggested label: counted as accepted.`;
    await page.keyboard.press(String(digit));
    await waitForHuman(frame, first.id, first.suggested);
    await notes.next(acceptedNote, 'the note that the digit wrote the suggested label');
    assert.equal(await frame.locator(`#list .row[data-id="${first.id}"] .status`).innerText(), `✓ accepted ${first.suggested}`);
    await waitFor(async () => (await frame.locator('[data-action="undo"]').getAttribute('title')) === `Undo: Accept '${first.suggested}' (u)`, {
      message: 'the undo entry to be named an accept',
    });
    await page.keyboard.press('u');
    await waitForHuman(frame, first.id, '');

    // 2. Select the 5th row, search: the first match is selected; Enter in the box moves to the list only.
    await frame.locator('#list .row[data-index="4"]').click();
    const before = await selectedId(frame);
    assert.equal(before, order[4].id);
    const search = 'the';
    const matches = order.filter((p) => texts.get(p.id)!.includes(search) || p.id.toLowerCase().includes(search));
    assert.ok(matches.length >= 6, `the search must match several rows, matched ${matches.length}`);
    assert.notEqual(matches[0].id, before);
    await page.keyboard.press('/');
    await page.keyboard.type(search);
    await page.keyboard.press('Enter');
    await waitFor(async () => (await frame.locator('[data-count="showing"] b').innerText()).replace(/,/g, '') === String(matches.length), {
      message: `the list to show the ${matches.length} matches`,
    });
    await waitFor(async () => (await selectedId(frame)) === matches[0].id, { message: 'the first match to be selected' });
    assert.equal(await frame.locator('#list .row.selected').getAttribute('data-index'), '0');
    assert.equal(await frame.evaluate('document.activeElement && document.activeElement.id'), 'list', 'Enter in the search box moves to the list');
    await page.keyboard.press('Enter');
    await waitForHuman(frame, matches[0].id, matches[0].suggested);
    // Only that row was decided (the row selected before the search was not). The counts come in the message after the
    // row's (labelReviewPanel.ts postUpdate): waited for, not read at once.
    await waitFor(async () => (await frame.locator('[data-count="reviewed"] b').innerText()) === '1', { message: 'the counts to say one row reviewed' });
    await page.keyboard.press('u');
    await waitForHuman(frame, matches[0].id, '');
    await page.keyboard.press('/');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Escape');
    await waitFor(async () => (await frame.locator('[data-count="showing"] b').innerText()).replace(/,/g, '') === String(order.length), {
      message: 'the search to be cleared',
    });

    // 4 and 5. 500×400 beside the Problems panel.
    await workbench.openProblems();
    const size = await sizeWebview(workbench, frame, 500, 400);
    console.log(`Label Review sized to ${size.w}×${size.h}`);
    assert.ok(size.w <= 510 && size.h <= 410 && size.h >= 380, `the webview must be about 500×400, is ${size.w}×${size.h}`);
    await frame.locator('#list .row[data-index="0"]').click();
    const layout: { listHeight: number; tableOpen: boolean | string; pageHeight: number; innerHeight: number; innerWidth: number; headerHeight: number } =
      await frame.evaluate(`({
        listHeight: document.getElementById('list').clientHeight,
        tableOpen: (document.getElementById('confusion-details') || { open: 'no fold' }).open,
        pageHeight: document.documentElement.scrollHeight,
        innerHeight: window.innerHeight,
        innerWidth: window.innerWidth,
        headerHeight: document.querySelector('header').getBoundingClientRect().height,
      })`);
    console.log(`Label Review at 500×400: ${JSON.stringify(layout)}`);
    assert.ok(layout.listHeight >= 4 * ROW_HEIGHT, `the list shows at least 4 rows: ${layout.listHeight / ROW_HEIGHT} rows`);
    assert.equal(layout.tableOpen, false, 'the confusion table is folded in a short panel');
    assert.ok(layout.pageHeight <= layout.innerHeight + 1, 'nothing is cut off below the panel');
    // The header: its first line, and the counts on a fixed line of their own (a narrow panel), every figure whole.
    assert.ok(layout.headerHeight < 50, `the header is two lines at most: ${layout.headerHeight}px`);
    assert.equal(await frame.evaluate("(() => { const c = document.getElementById('counts'); return c.scrollWidth <= c.clientWidth; })()"), true, 'the counts are whole');
    for (const action of ['accept', 'keep', 'set-1', 'set-2']) {
      const b = await box(frame, `#details [data-action="${action}"]`);
      assert.ok(b.top >= 0 && b.bottom <= layout.innerHeight && b.left >= 0 && b.right <= layout.innerWidth, `the ${action} button is on screen: ${JSON.stringify(b)}`);
    }
    for (const action of ['skip', 'open', 'probabilities']) {
      const b = await box(frame, `#details [data-action="${action}"]`);
      assert.ok(b.bottom <= layout.innerHeight, `the ${action} button is not cut off below: ${JSON.stringify(b)}`);
    }
    // 5. Undo and ? on the header's line, and they stay put when the counts change.
    const undoBefore = await box(frame, 'header [data-action="undo"]');
    const helpBefore = await box(frame, 'header [data-action="help"]');
    const titleBox = await box(frame, 'header h1');
    const headerBefore = await box(frame, 'header');
    assert.ok(Math.abs(undoBefore.top - helpBefore.top) <= 4 && undoBefore.bottom > titleBox.top && undoBefore.top < titleBox.bottom, 'Undo, ? and the name share one line');
    // A decision changes the counts and shows a note (the digit of the suggested label), whose box the page records
    // the moment it appears (it goes after 5 s; recordNotices).
    await page.keyboard.press(String(digit));
    await waitForHuman(frame, order[0].id, order[0].suggested);
    await waitFor(async () => (await frame.locator('[data-count="reviewed"] b').innerText()) === '1', { message: 'the counts to change' });
    const { visible, text: _text, ...note } = await notes.next(acceptedNote, 'the note of the decision');
    assert.ok(visible, `the note is shown: ${JSON.stringify(note)}`);
    const actions = await box(frame, '#details .actions');
    assert.ok(note.bottom <= actions.top, `the note does not cover the buttons: ${JSON.stringify({ note, actions })}`);
    assert.deepEqual(await box(frame, 'header [data-action="undo"]'), undoBefore, 'Undo did not move');
    assert.deepEqual(await box(frame, 'header [data-action="help"]'), helpBefore, '? did not move');
    assert.deepEqual(await box(frame, 'header'), headerBefore, 'the header did not reflow');
    await workbench.screenshot('review-500x400');
  },
});
