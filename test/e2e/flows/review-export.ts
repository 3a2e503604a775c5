/**
 * "PeerKD: Export Reviewed Dataset", run while the Label Review panel has focus: choose the advised labels, give the
 * least probability of advice to take (there is no default, issue 10 §3.12), accept the proposed file name, and find a
 * copy in which every row has its final label and provenance (advice with its probability and the threshold, advice
 * below it not taken), every other field as it was, and the original untouched.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, readPredictions, REVIEW_COMMAND, writeDatasetWithFlaggedRun } from '../reviewSupport';

const EXPORTED = 'agnews.reviewed.jsonl';
const THRESHOLD = 0.75;

export default defineFlow({
  name: 'review: export the reviewed dataset with final labels and provenance',
  fixture: 'review',
  timeoutMs: 180_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 50);
  },
  async run(workbench) {
    const original = workbench.readFile(DATASET);
    const [runId] = completedRuns(workbench);
    const predictions = new Map(readPredictions(workbench, runId).map((p) => [p.id, p]));
    await workbench.openFile(DATASET);
    // Export from the focused Label Review panel (issue 10 §3.1): no text editor is active, the panel's dataset is meant.
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    await frame.locator('#list .row').first().click();
    await workbench.runCommand('PeerKD: Export Reviewed Dataset');
    const page = workbench.page;
    await workbench.pickQuickItem('Advised label');
    // The threshold: the box refuses an empty answer and says how many rows a threshold takes.
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await waitFor(async () => /Least probability of the advised label/.test(await page.locator('.quick-input-widget').innerText().catch(() => '')), {
      message: 'the threshold prompt',
    });
    await input.fill(String(THRESHOLD));
    const advisedRows = [...predictions.values()].filter((p) => p.probs[p.suggested] >= THRESHOLD).length;
    assert.ok(advisedRows > 0 && advisedRows < predictions.size, `the threshold splits the rows: ${advisedRows} of ${predictions.size}`);
    await waitFor(async () => (await page.locator('.quick-input-widget').innerText().catch(() => '')).includes(`${advisedRows} rows without a human label`), {
      message: `the prompt to count ${advisedRows} rows at p ≥ ${THRESHOLD}`,
    });
    await page.keyboard.press('Enter');
    // The save dialog proposes agnews.reviewed.jsonl next to the dataset; accept it.
    await waitFor(async () => (await input.inputValue().catch(() => '')).endsWith(EXPORTED), { message: 'the save dialog with the proposed name' });
    await page.keyboard.press('Enter');
    await workbench.waitForNotification(/wrote 50 rows to agnews\.reviewed\.jsonl/);
    await waitFor(() => existsSync(workbench.path(EXPORTED)), { message: 'the exported file' });

    assert.equal(workbench.readFile(DATASET), original, 'the original dataset is unchanged');
    const exportedLines = workbench.readFile(EXPORTED).split('\n').filter(Boolean);
    const originalLines = original.split('\n').filter(Boolean);
    assert.equal(exportedLines.length, originalLines.length);
    exportedLines.forEach((line, index) => {
      const { final_label: finalLabel, label_provenance: provenance, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const originalRow = JSON.parse(originalLines[index]) as { id: string };
      assert.deepEqual(rest, originalRow, `line ${index + 1}: only the two fields were added`);
      const prediction = predictions.get(originalRow.id);
      assert.ok(prediction);
      const pAdvised = prediction.probs[prediction.suggested];
      if (pAdvised >= THRESHOLD) {
        assert.equal(finalLabel, prediction.suggested);
        assert.deepEqual(provenance, { source: 'advised', run: runId, p_teacher_wrong: prediction.p_teacher_wrong, p_advised: pAdvised, advice_threshold: THRESHOLD });
      } else {
        assert.equal(finalLabel, prediction.teacher, `line ${index + 1}: advice at p = ${pAdvised} is below the threshold`);
        assert.deepEqual(provenance, { source: 'teacher', run: runId, p_teacher_wrong: prediction.p_teacher_wrong });
      }
    });
  },
});
