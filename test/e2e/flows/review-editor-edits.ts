/**
 * Edits made in the editor reach the panel and the diagnostics: a line moved with Alt+Down keeps its row (the panel
 * shows its new line number, the warning moves with it), and a human label typed by hand marks the row reviewed and
 * removes its warning.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, readPredictions, REVIEW_COMMAND, rowLine, writeDatasetWithFlaggedRun } from '../reviewSupport';

export default defineFlow({
  name: 'review: lines moved and labels typed in the editor show up in the panel and the diagnostics',
  fixture: 'review',
  timeoutMs: 180_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12);
  },
  async run(workbench) {
    const [runId] = completedRuns(workbench);
    const byLine = new Map(readPredictions(workbench, runId).map((p) => [p.line, p]));
    const first = byLine.get(1);
    const second = byLine.get(2);
    assert.ok(first && second);
    await workbench.openFile(DATASET);
    // Only the flagged rows' warnings: what a run would warn about in this small file (PeerKD (run): few rows per
    // label) is listed too, and the Problems list shows a screenful.
    await workbench.openProblems();
    await workbench.page.locator('.markers-panel-container input[placeholder^="Filter"], input[placeholder^="Filter (e.g. text"]').first().fill('may be wrong');
    await workbench.waitForProblems((entries) => entries.filter((e) => e.source === 'PeerKD').length === 12, {
      message: '12 PeerKD warnings',
    });
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    assert.equal(await rowLine(frame, first.id), 'L1');

    // Move line 1 below line 2 in the editor.
    const page = workbench.page;
    await workbench.focusEditor(DATASET);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Alt+ArrowDown');
    await waitFor(async () => (await rowLine(frame, first.id)) === 'L2' && (await rowLine(frame, second.id)) === 'L1', {
      message: 'the panel to show the moved rows on their new lines',
    });
    await workbench.waitForProblems(
      (entries) => entries.some((e) => e.source === 'PeerKD' && e.line === 2 && e.message.includes(`peers suggest '${first.suggested}'`)),
      { message: "the moved row's warning on line 2" },
    );

    // Type a human label by hand at the end of the moved row (now line 2), before its closing brace.
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.type(`, "human_label": "${first.suggested}"`);
    await waitFor(
      async () => (await frame.locator(`#list .row[data-id="${first.id}"]`).first().getAttribute('data-human')) === first.suggested,
      { message: 'the panel to show the typed human label' },
    );
    // The counts come in the message after the row's (labelReviewPanel.ts postUpdate): waited for, not read at once.
    await waitFor(async () => (await frame.locator('[data-count="reviewed"] b').innerText()) === '1', { message: 'the counts to say one row reviewed' });
    const problems = await workbench.waitForProblems(
      (entries) => entries.filter((e) => e.source === 'PeerKD').length === 11,
      { message: 'the labelled row to lose its warning' },
    );
    assert.ok(!problems.some((e) => e.source === 'PeerKD' && e.line === 2));

    // A quick fix decides through the panel's review session: the panel shows it at once and its `u` takes it back.
    const third = byLine.get(3);
    assert.ok(third);
    await workbench.focusEditor(DATASET);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    // F8: to line 3's warning (the cursor lands on the flagged label), then close the peek.
    await page.keyboard.press('F8');
    await page.locator('.marker-widget').first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await page.locator('.marker-widget').first().innerText(), new RegExp(`peers suggest '${third.suggested}'`));
    await page.keyboard.press('Escape');
    const accept = `Accept '${third.suggested}'`;
    await workbench.applyQuickFix(await workbench.openQuickFixes(accept), accept);
    const thirdRow = frame.locator(`#list .row[data-id="${third.id}"]`).first();
    await waitFor(async () => (await thirdRow.getAttribute('data-human')) === third.suggested, {
      message: 'the panel to show the quick fix decision',
    });
    await waitFor(async () => (await frame.locator('header [data-action="undo"]').getAttribute('title')) === `Undo: ${accept} (u)`, {
      message: "the panel's undo to offer the quick fix decision",
    });
    await thirdRow.click();
    await page.keyboard.press('u');
    await waitFor(async () => (await thirdRow.getAttribute('data-human')) === '', { message: "the panel's undo to take the quick fix back" });
  },
});
