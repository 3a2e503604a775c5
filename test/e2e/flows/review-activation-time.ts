/**
 * Measures PeerKD's activation time as VS Code itself reports it (Developer: Show Running Extensions) after opening a
 * .jsonl file, and prints it for docs/BENCHMARKS.md. Asserts only that the figure is shown, never its size.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor } from '../harness';
import { copyExampleDataset, DATASET } from '../reviewSupport';

export default defineFlow({
  name: 'review: activation time as reported by Show Running Extensions',
  fixture: 'review',
  prepare(workspaceDir) {
    copyExampleDataset(workspaceDir);
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    await workbench.runCommand('Developer: Show Running Extensions');
    const row = workbench.page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'PeerKD Label Review' }).first();
    const text = await waitFor(
      async () => {
        const shown = (await row.innerText().catch(() => '')).replace(/\s+/g, ' ');
        return /\d+\s*ms/.test(shown) ? shown : undefined;
      },
      { timeoutMs: 30_000, message: 'the PeerKD row of Running Extensions with its activation time' },
    );
    const activation = /(\d+)\s*ms/.exec(text);
    assert.ok(activation, text);
    console.log(`PeerKD activation time (Show Running Extensions, code-server 4.100.3): ${activation[1]} ms — "${text.trim()}"`);
    await workbench.screenshot('running-extensions');
  },
});
