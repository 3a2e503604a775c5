/**
 * A dataset renamed in the Explorer while Label Review shows it: its run and review log are kept under its path, so
 * the renamed file had none (Label Review, hover and diagnostics said "no completed run", and the next run counted
 * the labels decided in review as the random sample). Now the rename carries them (src/editor/datasetMoves.ts), the
 * PeerKD log says so, and Label Review follows the file to its new name with the run's rows.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { defineFlow, waitFor } from '../harness';
import { REVIEW_COMMAND, runsDir, writeDatasetWithFlaggedRun } from '../reviewSupport';
import { appendReviewLog, reviewLogFile } from '../../../src/review/reviewLog';
import { resolveRunsDir } from '../../../src/training/artifacts';
import { join } from 'node:path';

const BEFORE = 'train.jsonl';
const AFTER = 'train-v2.jsonl';

export default defineFlow({
  name: 'review: a dataset renamed in the Explorer keeps its run and review log; Label Review follows it',
  fixture: 'review',
  timeoutMs: 240_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12, undefined, 0, 0, BEFORE);
    const dataset = join(workspaceDir, BEFORE);
    await appendReviewLog(reviewLogFile(resolveRunsDir(dataset), dataset), [
      { key: 'decided-row', label: 'Sports', queue: 'flagged', run: '20260101-000000-agnews-12', action: 'decide', time: '2026-12-07T08:00:00.000Z' },
    ]);
  },
  async run(workbench) {
    const page = workbench.page;
    await workbench.openFile(BEFORE);
    await workbench.runCommand(REVIEW_COMMAND);
    let frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const rows = await frame.locator('#list .row').count();
    assert.ok(rows > 0, 'the run\'s flagged rows before the rename');

    // F2 on the file in the Explorer, the new name typed, Enter.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: BEFORE }).first().click();
    await page.keyboard.press('F2');
    const input = page.locator('.explorer-folders-view .monaco-inputbox input').first();
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(AFTER);
    await page.keyboard.press('Enter');
    await waitFor(() => existsSync(workbench.path(AFTER)) && !existsSync(workbench.path(BEFORE)), { timeoutMs: 15_000, message: 'the file renamed on disk' });

    // The history is under the new name: the review log copied, the pointer naming the run.
    const log = reviewLogFile(runsDir(workbench), workbench.path(AFTER));
    await waitFor(() => existsSync(log), { timeoutMs: 15_000, message: `the review log carried to ${log}` });
    assert.match(readFileSync(log, 'utf8'), /"key":"decided-row"/);
    // Copy, switch, then retire: the old name's log goes once the new one is in place.
    await waitFor(() => !existsSync(reviewLogFile(runsDir(workbench), workbench.path(BEFORE))), { timeoutMs: 15_000, message: 'the old name to keep no log' });

    // Label Review follows the file, with the run's rows (its tab brought back: the Explorer's click opened the file
    // in the panel's group).
    const tab = page.locator('.tabs-container .tab', { hasText: 'Label Review' }).first();
    await waitFor(async () => (await tab.innerText().catch(() => '')).includes(AFTER), { timeoutMs: 30_000, message: `the panel titled with ${AFTER}` });
    await tab.click();
    frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 30_000 });
    await waitFor(async () => (await frame.locator('#list .row').count()) === rows, { timeoutMs: 30_000, message: 'the same rows under the new name' });
    await workbench.screenshot('review-renamed-dataset');
    // The Output view wraps the long line: its rows are joined by line breaks.
    await workbench.outputChannelText('PeerKD', { contains: /\[info\] history of [^]*?train\.jsonl\s+carried\s+to\s/ });
  },
});
