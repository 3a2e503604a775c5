/**
 * A new user's first session, as the README tells it, on a dataset whose fields are `sentence` and `llm_label`:
 * open it, run the distillation from the palette (which offers the two field mappings as buttons instead of failing
 * twice), open Label Review from the summary, review with the keyboard only (the list has the focus when the panel
 * opens), and export the reviewed copy with the teacher's labels where no human decided.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor } from '../harness';
import { RUN_COMMAND } from '../reviewSupport';

const DATASET = 'data.jsonl';
const EXPORTED = 'data.reviewed.jsonl';

export default defineFlow({
  name: 'new user: a sentence/llm_label dataset, run from the palette maps the fields with a click, review by keyboard, export',
  fixture: 'fields',
  timeoutMs: 300_000,
  prepare(workspaceDir) {
    // The example's 2,000 rows with the field names a user's own export might have, and no human labels.
    const lines = readFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; text: string; teacher_label: string })
      .map((row) => JSON.stringify({ id: row.id, sentence: row.text, llm_label: row.teacher_label }));
    writeFileSync(join(workspaceDir, DATASET), lines.join('\n') + '\n');
  },
  async run(workbench) {
    const page = workbench.page;
    const original = workbench.readFile(DATASET);
    await workbench.openFile(DATASET);
    await workbench.waitForProblems((entries) => entries.filter((entry) => entry.source === 'PeerKD').length >= 2, { message: 'the two field problems' });

    await workbench.runCommand(RUN_COMMAND);
    await workbench.clickNotificationButton(/cannot be distilled yet: .*'sentence' looks like text/, "Use 'sentence'");
    await workbench.clickNotificationButton(/cannot be distilled yet: .*'llm_label' looks like labels/, "Use 'llm_label'");
    await waitFor(
      () => {
        const settings = workbench.readFile('.vscode/settings.json');
        return /"peerkd\.fields\.text":\s*"sentence"/.test(settings) && /"peerkd\.fields\.teacher":\s*"llm_label"/.test(settings);
      },
      { message: 'both field settings in the workspace settings' },
    );
    const summary = await workbench.waitForNotification(/PeerKD: data\.jsonl done\./, { timeoutMs: 240_000 });
    console.log(`summary: ${summary.message}`);
    await workbench.clickNotificationButton(/PeerKD: data\.jsonl done\./, 'Open Label Review');

    // The keyboard only, from the moment the panel shows its rows.
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const first = frame.locator('#list .row[data-index="0"]');
    const suggested = await first.locator('.suggested').innerText();
    await waitFor(async () => (await frame.evaluate('document.activeElement?.id')) === 'list', { timeoutMs: 10_000, message: 'the list to have the focus' });
    await page.keyboard.press('a');
    await waitFor(async () => (await first.getAttribute('data-human')) === suggested, { timeoutMs: 15_000, message: `the first row accepted as '${suggested}'` });
    await page.keyboard.press('?');
    await frame.locator('#help:not([hidden])').waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await frame.locator('#help').waitFor({ state: 'hidden' });
    await workbench.screenshot('new-user-review');

    // Export from the panel: the teacher's labels where no human decided; the decision (not saved yet) is in it.
    await workbench.runCommand('PeerKD: Export Reviewed Dataset');
    await workbench.pickQuickItem("Teacher's label");
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await waitFor(async () => (await input.inputValue().catch(() => '')).endsWith(EXPORTED), { message: 'the save dialog with the proposed name' });
    await page.keyboard.press('Enter');
    await workbench.waitForNotification(/wrote 2,000 rows to data\.reviewed\.jsonl/);
    await waitFor(() => existsSync(workbench.path(EXPORTED)), { message: 'the exported file' });
    const exported = workbench.readFile(EXPORTED).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(exported.length, 2000);
    const human = exported.filter((row) => (row.label_provenance as { source: string }).source === 'human');
    assert.equal(human.length, 1, 'the one decision');
    assert.equal(human[0].final_label, suggested);
    assert.ok(exported.every((row) => row.final_label === ((row.label_provenance as { source: string }).source === 'human' ? suggested : row.llm_label)));
    assert.equal(workbench.readFile(DATASET) === original, true, 'the dataset on disk is unchanged (the decision is not saved)');
  },
});
