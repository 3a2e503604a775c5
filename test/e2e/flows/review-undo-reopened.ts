/**
 * Label Review closed and opened again on the same dataset: `u` still undoes the decisions taken before. The undo
 * history lived in the panel, so the reopened panel had nothing to undo (Undo greyed out, "Nothing to undo.") while
 * the labels were still in the editor. Undo keeps its guard: it writes a line back only where it still reads exactly
 * as the decision left it.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, readPredictions, REVIEW_COMMAND, reviewOrder, writeDatasetWithFlaggedRun } from '../reviewSupport';

export default defineFlow({
  name: 'review: the panel closed and opened again, u undoes the decisions taken before it was closed',
  fixture: 'review',
  timeoutMs: 180_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12);
  },
  async run(workbench) {
    const page = workbench.page;
    const [runId] = completedRuns(workbench);
    const [first, second] = reviewOrder(readPredictions(workbench, runId));
    assert.ok(first && second, 'the run flags two rows');
    await workbench.openFile(DATASET);
    await workbench.runCommand(REVIEW_COMMAND);
    let frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const human = (id: string) => frame.locator(`#list .row[data-id="${id}"]`).first().getAttribute('data-human').catch(() => null);

    // Accept the two first suggestions.
    for (const row of [first, second]) {
      await frame.locator(`#list .row[data-id="${row.id}"]`).first().click();
      await page.keyboard.press('a');
      await waitFor(async () => (await human(row.id)) === row.suggested, { message: `the accepted label on row ${row.id}` });
    }

    // Close the panel (middle click on its tab), then open Label Review again on the dataset.
    const reviewTab = page.locator('.tabs-container .tab', { hasText: 'Label Review' });
    await reviewTab.first().click({ button: 'middle' });
    await waitFor(async () => (await reviewTab.count()) === 0, { message: 'the Label Review panel closed' });
    await workbench.openFile(DATASET);
    await workbench.runCommand(REVIEW_COMMAND);
    frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    await waitFor(async () => (await human(second.id)) === second.suggested, { message: 'the reopened panel to show the decisions' });
    await waitFor(async () => (await frame.locator('vscode-button[data-action="undo"]').getAttribute('disabled')) === null, { message: 'Undo enabled in the reopened panel' });

    // u undoes the last decision, then the one before, as if the panel had never been closed.
    await frame.locator(`#list .row[data-id="${first.id}"]`).first().click();
    await page.keyboard.press('u');
    await waitFor(async () => (await human(second.id)) === '', { message: `the undo of row ${second.id}` });
    assert.equal(await human(first.id), first.suggested, 'one decision per undo');
    await page.keyboard.press('u');
    await waitFor(async () => (await human(first.id)) === '', { message: `the undo of row ${first.id}` });
  },
});
