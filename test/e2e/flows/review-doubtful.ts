/**
 * Label Review on a run that flags nothing (a two-label task with a strong teacher: every p below one half) while it
 * still ranks the rows it doubts: the flagged queue's empty state says so and offers the doubtful queue; one click
 * shows it, each row suggesting the most likely label other than the teacher's, and `a` writes that label.
 */
import * as assert from 'node:assert/strict';
import { queueListLabel } from '../../../src/review/model';
import { doubtfulPredictions } from '../../../src/training/doubtful';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, readPredictions, REVIEW_COMMAND, writeDatasetWithFlaggedRun } from '../reviewSupport';

const ROWS = 40;

export default defineFlow({
  name: 'review: a run that flags nothing offers its doubtful rows, and accepting one writes the other label',
  fixture: 'review',
  timeoutMs: 180_000,
  async prepare(workspaceDir) {
    // Every row teacher-labelled and unflagged, p 0.30–0.45: the run expects about 15 errors among them.
    await writeDatasetWithFlaggedRun(workspaceDir, ROWS, undefined, 0, ROWS);
  },
  async run(workbench) {
    const page = workbench.page;
    await workbench.openFile(DATASET);
    const [runId] = completedRuns(workbench);
    const predictions = readPredictions(workbench, runId);
    assert.equal(predictions.filter((p) => p.flagged).length, 0, 'the run flags nothing');
    const doubtful = doubtfulPredictions(predictions).rows.map((index) => predictions[index]);
    assert.ok(doubtful.length >= 5, `the run doubts unflagged rows (${doubtful.length})`);

    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#empty-queue [data-action="show-doubtful"]', timeoutMs: 60_000 });
    assert.match(await frame.locator('#empty-queue p').innerText(), new RegExp(`^The run flagged no rows, but it expects about \\d+ teacher errors among the rows it did not flag: its doubtful queue lists the ${doubtful.length} rows it ranks first\\.$`));
    assert.match(await frame.locator('#queue-note').innerText(), /^Flagged: none/);
    // A screen reader hears the queue shown, by the name the queue switch gives it (it said "Flagged rows" in every queue).
    assert.equal(await frame.locator('#list').getAttribute('aria-label'), queueListLabel('flagged', false));
    await frame.locator('#empty-queue [data-action="show-doubtful"]').click();
    await waitFor(async () => (await frame.locator('[data-count="rows"] b').innerText().catch(() => '')) === String(doubtful.length), {
      message: `the doubtful queue (${doubtful.length} rows)`,
    });
    assert.match(await frame.locator('#queue-note').innerText(), /^Doubtful: not flagged — the run thinks each teacher label more likely right than wrong/);
    assert.equal(await frame.locator('#list').getAttribute('aria-label'), queueListLabel('doubtful', false));

    // Its rows in the run's order; the first suggests the most likely other label, and `a` writes it.
    const first = doubtful[0];
    await frame.locator(`#list .row[data-id="${first.id}"]`).first().click();
    const other = Object.entries(first.probs).filter(([label]) => label !== first.teacher).sort((a, b) => b[1] - a[1])[0][0];
    assert.equal((await frame.locator('#details vscode-button[data-action="accept"]').innerText()).trim(), `Accept '${other}'`);
    await page.keyboard.press('a');
    await waitFor(async () => (await frame.locator(`#list .row[data-id="${first.id}"]`).first().getAttribute('data-human')) === other, {
      message: 'the panel to show the accepted other label',
    });
    // The user's own finding leads the queue's line: the teacher was wrong on the row decided, against the run's p.
    await waitFor(async () => /^You found the teacher/.test(await frame.locator('#queue-note').innerText().catch(() => '')), { message: "the queue's line to give the decision's verdict" });
    assert.match(
      await frame.locator('#queue-note').innerText(),
      new RegExp(`^You found the teacher wrong on the row you decided here; the run gave it p = ${first.p_teacher_wrong.toFixed(2).replace('.', '\\.')} of being wrong\\. Doubtful: not flagged`),
    );

    // `q` from the doubtful queue shows the rows without a teacher label: the list says so.
    await page.keyboard.press('q');
    await waitFor(async () => (await frame.locator('#list').getAttribute('aria-label')) === queueListLabel('unlabelled', false), {
      message: "the list's label to name the queue without teacher labels",
    });
  },
});
