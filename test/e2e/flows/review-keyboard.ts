/**
 * Label Review flow 2 (issue 5): open Label Review on a dataset with a completed run, then with the keyboard only
 * accept the first row, keep the teacher label of the second, set the third with `2`, undo once, and save. The file
 * on disk must differ from the original in exactly two lines, each only by the human label the decision wrote.
 * The run is written with the engine's RunWriter (300 flagged rows), so the flow does not depend on how many rows a
 * real training run flags; distill-palette.ts covers the run itself and opens the panel from its summary.
 */
import * as assert from 'node:assert/strict';
import type { Frame } from 'playwright-core';
import { setFieldInLine } from '../../../src/dataset/edit';
import { keyTableRows } from '../../../src/webview/client/keymap';
import { defineFlow, waitFor } from '../harness';
import {
  completedRuns,
  DATASET,
  readPredictions,
  REVIEW_COMMAND,
  reviewOrder,
  runLabels,
  writeDatasetWithFlaggedRun,
} from '../reviewSupport';

async function humanShown(frame: Frame, rowId: string): Promise<string | undefined> {
  const row = frame.locator(`#list .row[data-id="${rowId.replace(/"/g, '\\"')}"]`);
  if ((await row.count()) === 0) return undefined;
  return (await row.first().getAttribute('data-human')) ?? undefined;
}

async function waitForHuman(frame: Frame, rowId: string, expected: string): Promise<void> {
  await waitFor(async () => (await humanShown(frame, rowId)) === expected, {
    timeoutMs: 15_000,
    message: `the panel to show human label '${expected}' on row ${rowId}`,
  });
}

export default defineFlow({
  name: 'review: keyboard accept, keep, set with 2, undo, save; exact bytes on disk',
  fixture: 'review',
  timeoutMs: 300_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 300);
  },
  async run(workbench) {
    const original = workbench.readFile(DATASET);
    await workbench.openFile(DATASET);
    const [runId] = completedRuns(workbench);
    const order = reviewOrder(readPredictions(workbench, runId));
    assert.ok(order.length >= 4, `the run must flag at least 4 rows, flagged ${order.length}`);
    const labels = runLabels(workbench, runId);
    const [first, second, third] = order;

    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    // What the user sees: the flagged rows, highest probability first.
    const shownIds = await frame.locator('#list .row:not([hidden])').evaluateAll((rows) =>
      rows
        .map((row) => [Number(row.getAttribute('data-index')), row.getAttribute('data-id') ?? ''] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, id]) => id),
    );
    assert.deepEqual(shownIds.slice(0, 3), [first.id, second.id, third.id]);
    const firstRenderMs = await waitFor(() => frame.evaluate('document.body.dataset.firstRenderMs') as Promise<string | undefined>, {
      message: 'the panel to report its first render',
    });
    console.log(`Label Review first render in code-server: ${firstRenderMs} ms for ${order.length} flagged rows`);
    // The header says what the run estimates about the teacher, with its intervals (the run's metrics.json trust).
    assert.match(await frame.locator('#run-summary').innerText(), /^Teacher ≈ \d+% right \(90% interval \d+–\d+%\)\. [\d,]+ rows flagged, about [\d,]+ of them wrong \(90% interval [\d,]+–[\d,]+\)\.$/);
    const flaggedCount = await frame.locator('[data-count="flagged"] b').innerText();
    assert.equal(flaggedCount.replace(/,/g, ''), String(order.length));

    await frame.locator('#list .row[data-index="0"]').click();
    await workbench.page.keyboard.press('a');
    await waitForHuman(frame, first.id, first.suggested);
    await workbench.page.keyboard.press('t');
    assert.ok(second.teacher !== null);
    await waitForHuman(frame, second.id, second.teacher);
    await workbench.page.keyboard.press('2');
    await waitForHuman(frame, third.id, labels[1]);
    await workbench.page.keyboard.press('u');
    await waitForHuman(frame, third.id, '');
    await waitFor(async () => (await frame.locator('[data-count="reviewed"] b').innerText()) === '2', {
      message: 'the panel to count 2 reviewed rows',
    });
    // The undone row is selected again.
    await waitFor(async () => (await frame.locator('#list .row.selected').getAttribute('data-id')) === third.id, {
      message: 'the undone row to be selected',
    });
    await workbench.page.keyboard.press('?');
    await frame.locator('#help:not([hidden])').waitFor({ state: 'visible' });
    // The overlay lists the key map (the README's table is checked against the same map by a unit test).
    const helpRows = await frame.locator('#help tr').evaluateAll((rows) =>
      rows.map((row) => ({ keys: row.querySelector('kbd')?.textContent ?? '', description: row.cells[1]?.textContent ?? '' })),
    );
    assert.deepEqual(helpRows, keyTableRows());
    await workbench.page.keyboard.press('Escape');
    await frame.locator('#help').waitFor({ state: 'hidden' });
    // The panel's editor group maximised so the list has room (the README picture is taken by review-loop.ts).
    const maximize = 'View: Toggle Maximize Editor Group';
    const maximized = await workbench.runCommand(maximize, { timeoutMs: 5_000 }).then(() => true, () => false);
    await workbench.page.waitForTimeout(500);
    await workbench.screenshot('review-panel-keyboard');
    if (maximized) await workbench.runCommand(maximize);
    await frame.locator('#list .row.selected').click();

    // Every label's probability, on demand (`p`).
    await workbench.page.keyboard.press('p');
    await waitFor(async () => (await frame.locator('#probabilities tr').count()) === labels.length + 1, {
      message: "the selected row's probability table",
    });
    await workbench.page.keyboard.press('p');

    // `o` opens the selected row's line in the editor; save from there.
    await workbench.page.keyboard.press('o');
    await workbench.page.locator(`.tabs-container .tab.active[data-resource-name="${DATASET}"]`).waitFor({ state: 'visible' });
    await workbench.page.locator('.monaco-editor.focused').waitFor({ state: 'visible', timeout: 10_000 });
    await workbench.save().catch(async () => {
      // Ctrl+S can land while focus is still moving from the webview to the editor; save through the palette.
      await workbench.runCommand('File: Save');
      await waitFor(async () => (await workbench.page.locator('.tabs-container .tab.active.dirty').count()) === 0, {
        message: 'the dataset to be saved',
      });
    });

    const lines = original.split('\n');
    lines[first.line - 1] = setFieldInLine(lines[first.line - 1], 'human_label', first.suggested);
    lines[second.line - 1] = setFieldInLine(lines[second.line - 1], 'human_label', second.teacher);
    const saved = workbench.readFile(DATASET);
    const savedLines = saved.split('\n');
    const changed = savedLines.map((line, index) => (line === original.split('\n')[index] ? -1 : index + 1)).filter((n) => n > 0);
    assert.deepEqual(changed, [first.line, second.line].sort((a, b) => a - b), 'exactly the two decided lines changed');
    assert.equal(saved, lines.join('\n'), 'the saved file differs from the original only by the two human labels');
  },
});
