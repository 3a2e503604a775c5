/**
 * Label Review on a dataset with no completed run (issue 10 §3 item 13): the empty state says so and offers a Run
 * button; clicking it runs "PeerKD: Run Peer-Advised Distillation" on the panel's dataset, and when the run is done
 * the same panel shows the flagged rows.
 */
import * as assert from 'node:assert/strict';
import { defineFlow } from '../harness';
import { completedRuns, copyExampleDataset, DATASET, REVIEW_COMMAND, SUMMARY } from '../reviewSupport';

export default defineFlow({
  name: 'review: the empty state runs distillation on the panel dataset and then shows its rows',
  fixture: 'review',
  timeoutMs: 300_000,
  prepare(workspaceDir) {
    copyExampleDataset(workspaceDir);
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    assert.deepEqual(completedRuns(workbench), []);
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#empty', timeoutMs: 60_000 });
    assert.match(await frame.locator('#empty p').innerText(), /^agnews\.jsonl has no completed run yet\./);
    await frame.locator('#empty [data-action="run-distillation"]').click();
    await workbench.waitForNotification(SUMMARY, { timeoutMs: 240_000 });
    assert.equal(completedRuns(workbench).length, 1, 'one run of the panel dataset');
    await frame.locator('#list .row').first().waitFor({ state: 'attached', timeout: 60_000 });
    assert.ok((await frame.locator('#list .row').count()) > 0);
  },
});
