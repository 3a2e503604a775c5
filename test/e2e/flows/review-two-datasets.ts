/**
 * Two datasets reviewed in one window: Label Review shows one while a quick fix decides a row of the other. The panel's
 * `u` undoes only its own dataset's decision; opened on the other dataset it offers and undoes the quick fix there
 * (each dataset keeps its own history), and both files end as they began.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { defineFlow, waitFor } from '../harness';
import { REVIEW_COMMAND, reviewOrder, runsDir, writeDatasetWithFlaggedRun } from '../reviewSupport';
import type { Prediction } from '../../../src/training/types';

const A = 'news-a.jsonl';
const B = 'news-b.jsonl';

export default defineFlow({
  name: 'review: two datasets, a quick fix on one while the panel shows the other; u undoes each dataset\'s own decisions',
  fixture: 'review',
  timeoutMs: 240_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12, undefined, 0, 0, A);
    await writeDatasetWithFlaggedRun(workspaceDir, 13, undefined, 0, 0, B);
  },
  async run(workbench) {
    const page = workbench.page;
    const predictionsOf = (rows: number): Prediction[] =>
      readFileSync(join(runsDir(workbench), `20260101-000000-agnews-${rows}`, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Prediction);
    const [firstA] = reviewOrder(predictionsOf(12));
    const secondB = predictionsOf(13).find((p) => p.line === 2)!;
    const originalA = workbench.readFile(A);
    const originalB = workbench.readFile(B);

    // The panel on A: accept its first row.
    await workbench.openFile(A);
    await workbench.runCommand(REVIEW_COMMAND);
    let frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const human = (id: string) => frame.locator(`#list .row[data-id="${id}"]`).first().getAttribute('data-human').catch(() => null);
    await frame.locator(`#list .row[data-id="${firstA.id}"]`).first().click();
    await page.keyboard.press('a');
    await waitFor(async () => (await human(firstA.id)) === firstA.suggested, { message: 'the decision on A' });

    // B opened beside, its line 2 accepted with the quick fix.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: B }).first().dblclick();
    await page.locator(`.tabs-container .tab.active[data-resource-name="${B}"]`).waitFor({ state: 'visible', timeout: 30_000 });
    await workbench.focusEditor(B);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('F8');
    await page.locator('.marker-widget').first().waitFor({ state: 'visible', timeout: 15_000 });
    await page.keyboard.press('Escape');
    const acceptB = `Accept '${secondB.suggested}'`;
    await workbench.applyQuickFix(await workbench.openQuickFixes(acceptB), acceptB);
    await waitFor(async () => (await page.locator('.monaco-editor .view-lines').first().innerText().catch(() => '')).includes('human_label'), { message: 'the quick fix written into B' });

    // The panel still on A: its undo offers A's decision, and u takes back that one, not B's quick fix.
    await page.locator('.tabs-container .tab', { hasText: 'Label Review' }).first().click();
    frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 30_000 });
    // The panel is drawn anew when its tab is shown again: its undo entry is waited for, not read at once.
    await waitFor(async () => (await frame.locator('header [data-action="undo"]').getAttribute('title')) === `Undo: Accept '${firstA.suggested}' (u)`, {
      message: "the panel's undo to offer A's decision",
    });
    await frame.locator(`#list .row[data-id="${firstA.id}"]`).first().click();
    await page.keyboard.press('u');
    await waitFor(async () => (await human(firstA.id)) === '', { message: "u to undo A's decision" });

    // Label Review on B: u undoes the quick fix.
    await page.locator(`.tabs-container .tab[data-resource-name="${B}"]`).first().click();
    await workbench.runCommand(REVIEW_COMMAND);
    await waitFor(async () => /news-b\.jsonl/.test((await page.locator('.tabs-container .tab', { hasText: 'Label Review' }).first().innerText()) ?? ''), { message: 'the panel on B' });
    frame = await workbench.webviewFrame({ selector: `#list .row[data-id="${secondB.id}"]`, timeoutMs: 30_000 });
    await waitFor(async () => (await frame.locator(`#list .row[data-id="${secondB.id}"]`).first().getAttribute('data-human')) === secondB.suggested, { message: 'the panel on B shows the quick fix' });
    await waitFor(async () => (await frame.locator('header [data-action="undo"]').getAttribute('title')) === `Undo: ${acceptB} (u)`, {
      message: "the panel on B to offer B's quick fix as its undo",
    });
    await frame.locator(`#list .row[data-id="${secondB.id}"]`).first().click();
    await page.keyboard.press('u');
    await waitFor(async () => (await frame.locator(`#list .row[data-id="${secondB.id}"]`).first().getAttribute('data-human')) === '', { message: 'u to undo the quick fix on B' });
    await waitFor(async () => (await frame.locator('header [data-action="undo"]').getAttribute('title')) === 'Nothing to undo', { message: "B's history empty" });

    // Both files saved read as before: nothing else was written into either.
    for (const name of [A, B]) {
      await page.locator(`.tabs-container .tab[data-resource-name="${name}"]`).first().click();
      await workbench.save().catch(() => undefined);
    }
    assert.equal(workbench.readFile(A), originalA);
    assert.equal(workbench.readFile(B), originalB);
  },
});
