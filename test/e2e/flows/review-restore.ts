/**
 * Label Review survives a window reload (WebviewPanelSerializer): the panel comes back on the same dataset with the
 * text search the user typed and the same filtered rows.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor } from '../harness';
import { DATASET, REVIEW_COMMAND, writeDatasetWithFlaggedRun } from '../reviewSupport';

const SEARCH = 'oil';

export default defineFlow({
  name: 'review: the panel restores after a reload with its filters',
  fixture: 'review',
  timeoutMs: 240_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 500);
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    await workbench.runCommand(REVIEW_COMMAND);
    let frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const shown = async (): Promise<string> => (await frame.locator('[data-count="showing"] b').innerText()).replace(/,/g, '');
    assert.equal(await shown(), '500');
    await frame.locator('#counts').click();
    await workbench.page.keyboard.press('/');
    await workbench.page.keyboard.type(SEARCH);
    const filtered = await waitFor(async () => {
      const count = await shown();
      return count !== '500' ? count : undefined;
    }, { message: 'the search to filter the list' });
    assert.ok(Number(filtered) > 0 && Number(filtered) < 500, filtered);

    // Until the reload starts, the old window's panel shows the same rows: the reload is waited for, or nothing would
    // have been restored when the count is read.
    const page = workbench.page;
    const reloaded = page.waitForEvent('framenavigated', { predicate: (navigated) => navigated === page.mainFrame(), timeout: 60_000 });
    await workbench.runCommand('Developer: Reload Window');
    await reloaded;
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 90_000 });
    // The restored webview may be replaced once more while the panel reconnects to its run (a detached frame): find it again.
    await waitFor(
      async () => {
        try {
          return (await shown()) === filtered;
        } catch {
          frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 20_000 });
          return false;
        }
      },
      { timeoutMs: 60_000, message: `the restored panel to show ${filtered} rows` },
    );
    assert.equal(await frame.evaluate("document.getElementById('filter-search').value"), SEARCH);
    assert.equal(await frame.locator('#list .row').first().count(), 1);
  },
});
