/**
 * A .ndjson dataset gets what a .jsonl one gets, in the editor: the run's warnings in Problems, the hover with every
 * label's probability, the quick fix, Label Review (a decision and its undo), Validate Dataset from the palette and an
 * export proposed as `<name>.reviewed.ndjson`.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, FLAGGED_MESSAGE, readPredictions, REVIEW_COMMAND, reviewOrder, writeDatasetWithFlaggedRun } from '../reviewSupport';

const FILE = 'agnews.ndjson';

export default defineFlow({
  name: 'review: a .ndjson dataset gets warnings, hover, quick fix, Label Review, Validate and Export as a .jsonl one',
  fixture: 'review',
  timeoutMs: 240_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12, undefined, 0, 0, FILE);
  },
  async run(workbench) {
    const page = workbench.page;
    const [runId] = completedRuns(workbench);
    const predictions = readPredictions(workbench, runId);
    const [first] = reviewOrder(predictions);
    const byLine = new Map(predictions.map((p) => [p.line, p]));
    await workbench.openFile(FILE);
    await workbench.openProblems();
    await workbench.waitForProblems((entries) => entries.filter((e) => e.file === FILE && e.source === 'PeerKD' && FLAGGED_MESSAGE.test(e.message)).length >= 5, {
      message: `the flagged-label warnings on ${FILE} (the list shows a screenful)`,
    });

    // The hover and the quick fix on line 2's teacher label.
    const second = byLine.get(2)!;
    await workbench.focusEditor(FILE);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('F8');
    await page.locator('.marker-widget').first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.keyboard.press('Escape');
    const hoverText = await workbench.showHover('advised');
    for (const label of Object.keys(second.probs)) assert.ok(hoverText.includes(label), `the hover lists ${label}: ${hoverText}`);
    await page.keyboard.press('Escape');
    const accept = `Accept '${second.suggested}'`;
    await workbench.applyQuickFix(await workbench.openQuickFixes(accept), accept);

    // Label Review shows the quick fix; a decision there, and u takes it back.
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const human = (id: string) => frame.locator(`#list .row[data-id="${id}"]`).first().getAttribute('data-human').catch(() => null);
    await waitFor(async () => (await human(second.id)) === second.suggested, { message: 'the panel to show the quick fix' });
    const target = first.id === second.id ? reviewOrder(predictions)[1] : first;
    await frame.locator(`#list .row[data-id="${target.id}"]`).first().click();
    await page.keyboard.press('t');
    await waitFor(async () => (await human(target.id)) === target.teacher, { message: 't in Label Review' });
    await page.keyboard.press('u');
    await waitFor(async () => (await human(target.id)) === '', { message: 'u in Label Review' });

    // Validate Dataset from the palette, the dataset's editor active.
    await page.locator(`.tabs-container .tab[data-resource-name="${FILE}"]`).first().click();
    await workbench.runCommand('PeerKD: Validate Dataset');
    await workbench.waitForNotification(/^PeerKD: agnews\.ndjson: 12 rows, /);

    // Export: the proposed copy keeps the extension.
    await workbench.runCommand('PeerKD: Export Reviewed Dataset');
    await workbench.pickQuickItem("Teacher's label");
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await waitFor(async () => (await input.inputValue().catch(() => '')).endsWith('agnews.reviewed.ndjson'), { message: 'the save dialog proposing agnews.reviewed.ndjson' });
    await page.keyboard.press('Enter');
    await workbench.waitForNotification(/wrote 12 rows to agnews\.reviewed\.ndjson/);
    assert.ok(existsSync(workbench.path('agnews.reviewed.ndjson')));
  },
});
