/**
 * Label Review flow 3 (issue 5): after one complete run, a second run cancelled half-way from its progress
 * notification leaves no artefact behind (no run folder, no temp folder, pointers unchanged) and the first run's
 * diagnostics are still shown.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, waitFor } from '../harness';
import {
  completedRuns,
  copyExampleDataset,
  DATASET,
  readPredictions,
  runDistillationAndWait,
  RUN_COMMAND,
  runsDir,
  runsEntries,
  waitForFlaggedProblems,
  writeLongRunSettings,
} from '../reviewSupport';

function pointers(dir: string): { latest: string; byDataset: string[] } {
  const byDatasetDir = join(dir, 'latest-by-dataset');
  return {
    latest: readFileSync(join(dir, 'latest'), 'utf8').trim(),
    byDataset: readdirSync(byDatasetDir).map((name) => readFileSync(join(byDatasetDir, name), 'utf8').trim()),
  };
}

export default defineFlow({
  name: 'distill: cancel half-way leaves no artefacts and keeps the previous results',
  fixture: 'review',
  timeoutMs: 400_000,
  prepare(workspaceDir) {
    copyExampleDataset(workspaceDir);
    writeLongRunSettings(workspaceDir);
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    await runDistillationAndWait(workbench, 300_000);
    const [firstRun] = completedRuns(workbench);
    assert.ok(firstRun);
    const before = runsEntries(workbench);
    const pointersBefore = pointers(runsDir(workbench));
    const flaggedBefore = readPredictions(workbench, firstRun).filter((p) => p.flagged).length;
    if (flaggedBefore > 0) await waitForFlaggedProblems(workbench);
    const problemsBefore = (await workbench.problems()).filter((p) => p.source === 'PeerKD').length;

    // "Cancel Distillation" is in the palette only while a run is going (issue 10 §3.8).
    const cancelTitle = 'PeerKD: Cancel Distillation';
    const cancelListed = async () => (await workbench.listCommands(cancelTitle)).includes(cancelTitle);
    assert.equal(await cancelListed(), false, 'Cancel Distillation is listed while nothing runs');
    await workbench.focusWorkbench();
    await workbench.runCommand(RUN_COMMAND);
    await waitFor(cancelListed, { timeoutMs: 30_000, message: 'Cancel Distillation in the palette while the run goes' });
    await workbench.focusWorkbench();
    // Half-way: the peer students are training.
    await workbench.waitForNotification(/distilling agnews\.jsonl.*Peer students/, { timeoutMs: 120_000, intervalMs: 100 });
    const statusItem = workbench.page.locator('.statusbar-item', { hasText: 'PeerKD: agnews.jsonl' });
    assert.ok((await statusItem.count()) > 0, 'the status-bar item shows while the run runs');
    await workbench.clickNotificationButton(/distilling agnews\.jsonl/, 'Cancel');
    await workbench.waitForNotification(new RegExp(`distillation of agnews\\.jsonl cancelled\\. The results of run ${firstRun} are still shown\\.`), {
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await statusItem.count()) === 0, { message: 'the status-bar item to go away' });
    assert.equal(await cancelListed(), false, 'Cancel Distillation is still listed after the run ended');
    await workbench.focusWorkbench();

    assert.deepEqual(runsEntries(workbench), before, 'the cancelled run left something in .peerkd/runs');
    assert.deepEqual(pointers(runsDir(workbench)), pointersBefore);
    // The first run's warnings are still there (the Problems panel lists the first screenful).
    const problemsAfter = flaggedBefore > 0 ? await waitForFlaggedProblems(workbench) : await workbench.problems();
    assert.equal(problemsAfter.filter((p) => p.source === 'PeerKD').length, problemsBefore);
  },
});
