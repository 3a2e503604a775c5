/**
 * The dataset's tab closed and the file opened again while Label Review is open: the editor makes a new document for
 * it, and the panel must follow that one. It kept reading the closed document, so a line typed into the reopened file
 * never moved the panel's rows, and a decision could land on the line where its row had been.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, readPredictions, REVIEW_COMMAND, rowLine, writeDatasetWithFlaggedRun } from '../reviewSupport';

export default defineFlow({
  name: 'review: the dataset closed and opened again, a line typed above a row: the panel and a decision follow the row',
  fixture: 'review',
  timeoutMs: 180_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12);
  },
  async run(workbench) {
    const [runId] = completedRuns(workbench);
    const first = readPredictions(workbench, runId).find((prediction) => prediction.line === 1);
    assert.ok(first);
    await workbench.openFile(DATASET);
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    assert.equal(await rowLine(frame, first.id), 'L1');

    // Close the dataset's tab, then open the file again to the side of the panel (through Quick Open from the
    // palette: the panel keeps Ctrl+P) and type a row above the first. The panel stays in view: a hidden webview is
    // torn down, and shown again it reloads its rows.
    const page = workbench.page;
    const tab = page.locator(`.tabs-container .tab[data-resource-name="${DATASET}"]`);
    await workbench.focusEditor(DATASET);
    await workbench.runCommand('View: Close Editor');
    await waitFor(async () => (await tab.count()) === 0, { message: 'the dataset tab to close' });
    await workbench.focusWorkbench();
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(DATASET);
    await waitFor(async () => (await page.locator('.quick-input-list .monaco-list-row').count()) > 0, { message: `Quick Open to find ${DATASET}` });
    await page.keyboard.press('Control+Enter');
    await tab.first().waitFor({ state: 'visible', timeout: 30_000 });
    await workbench.focusEditor(DATASET);
    await page.keyboard.press('Control+Home');
    await page.keyboard.type('{"id": "typed-above", "text": "a row typed above the others"}');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await rowLine(frame, first.id)) === 'L2', { message: "the panel to show the first row on line 2 of the reopened file" });

    // Accept its suggestion from the panel: the label goes into the row's line, not into the row typed above it.
    await frame.locator(`#list .row[data-id="${first.id}"]`).first().click();
    await page.keyboard.press('a');
    await waitFor(async () => (await frame.locator(`#list .row[data-id="${first.id}"]`).first().getAttribute('data-human')) === first.suggested, {
      message: 'the panel to show the decision',
    });
    await workbench.focusEditor(DATASET);
    await workbench.save();
    const lines = readFileSync(workbench.path(DATASET), 'utf8').split('\n');
    assert.equal((JSON.parse(lines[0]) as { human_label?: string }).human_label, undefined, 'the row typed above has no label');
    assert.equal((JSON.parse(lines[1]) as { id: string; human_label?: string }).id, first.id);
    assert.equal((JSON.parse(lines[1]) as { human_label?: string }).human_label, first.suggested);
  },
});
