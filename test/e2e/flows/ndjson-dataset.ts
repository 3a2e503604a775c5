/**
 * A `.ndjson` dataset (src/dataset/types.ts DATASET_EXTENSIONS) in a real VS Code: its lines get the live diagnostics,
 * the editor title and the Explorer context menu show PeerKD's commands, as for a `.jsonl` file. Before, Label Review,
 * the hover and the CLI took `.ndjson` files while the diagnostics, the menus and the language association ignored
 * them: a broken line showed no problem and no menu offered a run. The menus' `when` clauses are regular expressions
 * (`resourceExtname =~ /^\.(jsonl|ndjson)$/i`); this flow is what proves VS Code reads them as meant.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor } from '../harness';

const FILE = 'agnews.ndjson';
const BROKEN_LINE = 3;

export default defineFlow({
  name: 'ndjson: a .ndjson dataset gets the diagnostics, the editor title actions and the Explorer menu of a .jsonl one',
  fixture: 'review',
  timeoutMs: 180_000,
  prepare(workspaceDir) {
    const lines = readFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), 'utf8').split('\n').slice(0, 40);
    lines.splice(BROKEN_LINE - 1, 0, '{"id": "broken-1", "text": "this line was cut off');
    writeFileSync(join(workspaceDir, FILE), lines.join('\n') + '\n');
  },
  async run(workbench) {
    const page = workbench.page;
    await workbench.openFile(FILE);
    const problems = await workbench.waitForProblems((entries) => entries.some((p) => p.file === FILE && p.line === BROKEN_LINE && p.severity === 'error'), {
      message: `the invalid-JSON error on line ${BROKEN_LINE} of ${FILE}`,
    });
    assert.match(problems.find((p) => p.line === BROKEN_LINE)!.message, /json/i);
    // The language association: the status bar names JSON Lines, as for a .jsonl file.
    await waitFor(async () => /JSON Lines/.test((await page.locator('.statusbar-item[id="status.editor.mode"]').innerText().catch(() => '')) ?? ''), {
      timeoutMs: 15_000,
      message: 'the language mode JSON Lines in the status bar',
    });
    // The editor title: the run and review actions.
    for (const title of ['Run Peer-Advised Distillation', 'Open Label Review']) {
      await page.locator(`.editor-actions .action-label[aria-label*="${title}"]`).first().waitFor({ state: 'visible', timeout: 15_000 });
    }
    // The Explorer context menu lists PeerKD's commands for it.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE }).first().click({ button: 'right' });
    for (const title of ['Validate Dataset', 'Run Peer-Advised Distillation', 'Open Label Review', 'Export Reviewed Dataset']) {
      await page.locator('.context-view .action-item', { hasText: title }).first().waitFor({ state: 'visible', timeout: 15_000 });
    }
    await page.keyboard.press('Escape');
  },
});
