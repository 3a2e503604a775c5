/**
 * A dataset renamed in the Explorer while its distillation is being written. What the product promises (README,
 * "Renaming or moving a dataset"; src/commands/runDistillation.ts follow): the run finishes, its results stay in
 * `.peerkd/runs/<run-id>`, nothing is carried to the new name while the run is written, and the warning at the run's
 * end says the file is gone and gives the `peerkd move OLD NEW` that carries the finished run to where the file is now
 * (the run's onDidRenameFiles handler follows the file); run as given, the new name is reviewed without running again.
 *
 * Not timing-based: the rename is made once the progress notification shows the peer students training (more folds
 * and stages than the example needs, as in distill-cancel), and the flow checks that the run was still being written
 * (its `.tmp-` folder there, no completed run) once the file was renamed on disk.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor } from '../harness';
import { completedRuns, copyExampleDataset, DATASET, readPredictions, REVIEW_COMMAND, RUN_COMMAND, runsDir, runsEntries, SUMMARY, writeLongRunSettings } from '../reviewSupport';

const AFTER = 'agnews-v2.jsonl';

export default defineFlow({
  name: 'distill: the dataset renamed in the Explorer during its run: the warning at the end gives the peerkd move to its new name',
  fixture: 'review',
  timeoutMs: 420_000,
  prepare(workspaceDir) {
    copyExampleDataset(workspaceDir);
    writeLongRunSettings(workspaceDir);
  },
  async run(workbench) {
    const page = workbench.page;
    const oldPath = workbench.path(DATASET);
    const newPath = workbench.path(AFTER);
    await workbench.openFile(DATASET);
    await workbench.focusWorkbench();
    await workbench.runCommand(RUN_COMMAND);
    await workbench.waitForNotification(/distilling agnews\.jsonl.*Peer students/, { timeoutMs: 180_000, intervalMs: 100 });

    // F2 on the file in the Explorer, the new name typed, Enter.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: DATASET }).first().click();
    await page.keyboard.press('F2');
    const input = page.locator('.explorer-folders-view .monaco-inputbox input').first();
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(AFTER);
    await page.keyboard.press('Enter');
    await waitFor(() => existsSync(newPath) && !existsSync(oldPath), { timeoutMs: 15_000, message: 'the file renamed on disk' });
    // The rename happened while the run was being written (else this flow tests nothing: make the run longer).
    assert.deepEqual(completedRuns(workbench), [], 'the run finished before the rename');
    assert.ok(runsEntries(workbench).some((name) => name.startsWith('.tmp-')), `the run's .tmp- folder while it runs (${runsEntries(workbench).join(', ')})`);

    // The run finishes; its end is a warning naming the old path, the run folder and the peerkd move to the new name.
    const warning = await workbench.waitForNotification(/distillation of agnews\.jsonl finished, but/, { timeoutMs: 300_000 });
    const [runId] = completedRuns(workbench);
    assert.ok(runId, 'the finished run is kept in .peerkd/runs');
    const runDir = join(runsDir(workbench), runId);
    assert.equal(warning.severity, 'warning');
    assert.ok(warning.message.includes(`${oldPath} is no longer there (renamed or deleted during the run)`), warning.message);
    assert.ok(warning.message.includes(`Its results are in ${runDir}.`), warning.message);
    assert.ok(warning.message.includes(`carry its history: peerkd move ${oldPath} ${newPath} `), `the move to the new name in: ${warning.message}`);
    assert.deepEqual(warning.buttons, ['Show Log']);
    assert.equal((await workbench.notifications()).filter((n) => SUMMARY.test(n.message)).length, 0, 'no summary offering a review of a file that is gone');
    await workbench.screenshot('distill-renamed-during-run');

    // The command as the warning gives it carries the run: Label Review of the new name shows it, not "no completed run".
    const [, from, to] = /peerkd move (\S+) (\S+) /.exec(warning.message) ?? [];
    execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'move', from, to], { stdio: 'pipe' });
    await workbench.openFile(AFTER);
    await workbench.runCommand(REVIEW_COMMAND);
    const flagged = readPredictions(workbench, runId).filter((p) => p.flagged).length;
    assert.ok(flagged > 0, 'the run flags rows');
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    await waitFor(async () => (await frame.locator('#list .row').count()) > 0, { message: `the run's rows in Label Review of ${AFTER}` });
  },
});
