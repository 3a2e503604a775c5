/**
 * "PeerKD: Retrain with My Labels" (issue 10 §2): after a real run the user accepts a suggestion and skips a row in
 * Label Review, then retrains. The new run trains on the (unsaved) human label, which is never flagged again, and the
 * panel opens the new run where the user was: the row they were on, or the next one the new run still asks about
 * (src/review/place.ts), with the skip kept on a row still open. With `closePanel`, the user closes the panel while the
 * retraining runs and opens Label Review again after it: the new panel opens at the same place (before, at the top).
 * On this data the second run may flag a single row, which is then both the place and the top of the queue: the flow
 * checks the reopening path end to end, and test/unit/review-place-closed-panel.test.ts is the test of the defect.
 * Shared by flows/review-retrain.ts and flows/review-retrain-closed-panel.ts.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, waitFor, type Flow } from './harness';
import { DEFAULT_FILTERS, type ReviewRow } from '../../src/review/model';
import { carryReviewPlace } from '../../src/review/place';
import { completedRuns, DATASET, readPredictions, REVIEW_COMMAND, reviewOrder, runDistillationAndWait, runsDir, writeDatasetWithFlaggedRun } from './reviewSupport';

async function selectedId(frame: import('playwright-core').Frame): Promise<string | null> {
  return frame.locator('#list .row.selected').first().getAttribute('data-id').catch(() => null);
}

export function retrainFlow(closePanel: boolean): Flow {
  return defineFlow({
    name: closePanel
      ? 'review: retrain with my labels keeps the place in the queue when the panel is closed during the run'
      : 'review: retrain with my labels keeps the decisions and the place in the queue',
    fixture: 'review',
    timeoutMs: 420_000,
    async prepare(workspaceDir) {
      await writeDatasetWithFlaggedRun(workspaceDir, 300);
      // Words alone in both runs: with human labels the encoder choice could switch to word vectors and flag other rows.
      const settingsFile = join(workspaceDir, '.vscode', 'settings.json');
      writeFileSync(settingsFile, JSON.stringify({ ...(JSON.parse(readFileSync(settingsFile, 'utf8')) as object), 'peerkd.training.encoder': 'none' }, null, 2));
    },
    async run(workbench) {
      await workbench.openFile(DATASET);
      // A real run first, so that the rows it flags are the ones a second run is likely to flag again.
      await runDistillationAndWait(workbench);
      const firstRun = completedRuns(workbench).sort().at(-1)!;
      const firstOrder = reviewOrder(readPredictions(workbench, firstRun));
      assert.ok(firstOrder.length >= 4, `the first run flags several rows (${firstOrder.length})`);
      await workbench.runCommand(REVIEW_COMMAND);
      let frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
      const page = workbench.page;

      // Accept the first suggestion, skip the next row: the selection moves on to a third row.
      await frame.locator('#list .row[data-index="0"]').click();
      const accepted = firstOrder[0];
      await page.keyboard.press('Enter');
      await waitFor(async () => (await frame.locator(`#list .row[data-id="${accepted.id}"]`).getAttribute('data-human')) === accepted.suggested, {
        message: 'the accepted label in the panel',
      });
      await frame.locator('#list .row[data-index="1"]').click();
      const skipped = firstOrder[1].id;
      await page.keyboard.press('s');
      await waitFor(async () => (await frame.locator(`#list .row[data-id="${skipped}"]`).getAttribute('class'))?.includes('skipped'), { message: 'the skip mark' });
      // The user goes back to the row they decided: the new run no longer asks about it, so the panel must move on to
      // the next row of the old queue that it still flags and that was not skipped (before, a new run showed its own
      // first row, here most likely the skipped one, with the skip mark gone).
      await frame.locator('#list .row[data-index="0"]').click();
      const place = await waitFor(async () => selectedId(frame), { message: 'a selected row' });
      assert.equal(place, accepted.id);

      await workbench.runCommand('PeerKD: Retrain with My Labels');
      const reviewTab = page.locator('.tabs-container .tab', { hasText: 'Label Review' });
      if (closePanel) {
        await reviewTab.first().click({ button: 'middle' });
        await waitFor(async () => (await reviewTab.count()) === 0, { message: 'the Label Review panel closed' });
      }
      await waitFor(() => completedRuns(workbench).length === 3, { timeoutMs: 240_000, intervalMs: 1_000, message: 'the second real run' });
      if (closePanel) {
        await workbench.runCommand(REVIEW_COMMAND);
        frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
      }
      const secondRun = completedRuns(workbench).sort().at(-1)!;
      assert.notEqual(secondRun, firstRun);
      const second = readPredictions(workbench, secondRun);
      // The run read the editor's text: the unsaved decision is a human label there, and that row is not flagged again.
      const acceptedNow = second.find((p) => p.id === accepted.id)!;
      assert.equal(acceptedNow.human, accepted.suggested);
      assert.equal(acceptedNow.flagged, false);
      // The panel logged the decision (src/review/reviewLog.ts), so the retrain counts it as reviewed, not as the sample.
      const settings = JSON.parse(readFileSync(join(runsDir(workbench), secondRun, 'settings.json'), 'utf8')) as { reviewedIds?: string[] };
      assert.ok(settings.reviewedIds?.includes(accepted.id), `the decision made in the panel counts as reviewed (${settings.reviewedIds?.join(', ')})`);

      // Where the panel must be: computed by the rule from the new run's rows.
      const rows: ReviewRow[] = reviewOrder(second).map((p) => ({
        key: p.id, id: p.id, line: p.line, text: '', teacher: p.teacher, suggested: p.suggested, queue: 'flagged', p: p.p_teacher_wrong,
        probs: p.probs, peerProbs: p.peer_probs, vanillaProbs: p.vanilla_probs, human: p.human, skipped: false, changedSinceRun: false, textChangedSinceRun: false, runTeacher: p.teacher,
      }));
      const expected = carryReviewPlace({ selected: place, skipped: [skipped], order: firstOrder.map((p) => p.id) }, rows, DEFAULT_FILTERS);
      console.log(`retrain: ${firstOrder.length} → ${rows.length} flagged; place ${place} → ${expected.selected}; skip kept: ${expected.skipped.has(skipped)}`);
      assert.ok(expected.selected, 'the new run flags a row to review');
      assert.notEqual(expected.selected, accepted.id);
      await waitFor(async () => (await selectedId(frame)) === expected.selected, { timeoutMs: 30_000, message: `the panel on row ${expected.selected} of the new run` });
      await waitFor(async () => (await frame.locator('[data-count="flagged"] b').innerText()).replace(/,/g, '') === String(rows.length), {
        message: `the panel to show the new run's ${rows.length} flagged rows`,
      });
      if (expected.skipped.has(skipped)) {
        assert.match((await frame.locator(`#list .row[data-id="${skipped}"]`).getAttribute('class')) ?? '', /skipped/, 'the skip is kept');
      }
      await workbench.screenshot(closePanel ? 'review-retrain-closed-panel' : 'review-retrain');
    },
  });
}
