/**
 * Label Review flow 1 (issue 5): open the example dataset, run the distillation from the command palette, wait for
 * the summary, and see the flagged teacher labels as PeerKD warnings in the Problems panel, on the rows the run's
 * predictions.jsonl flags.
 */
import * as assert from 'node:assert/strict';
import { defineFlow } from '../harness';
import {
  completedRuns,
  copyExampleDataset,
  DATASET,
  FLAGGED_MESSAGE,
  readPredictions,
  RUN_COMMAND,
  SUMMARY,
  waitForFlaggedProblems,
} from '../reviewSupport';

export default defineFlow({
  name: 'distill: run from the palette, summary, flagged labels in Problems',
  fixture: 'review',
  timeoutMs: 300_000,
  prepare(workspaceDir) {
    copyExampleDataset(workspaceDir);
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    await workbench.runCommand(RUN_COMMAND);
    // While it runs: a progress notification (with Cancel) and the status-bar item.
    await workbench.waitForNotification(/distilling agnews\.jsonl/, { timeoutMs: 60_000 });
    const summary = await workbench.waitForNotification(SUMMARY, { timeoutMs: 240_000 });
    assert.match(summary.message, /Estimated teacher accuracy \d+\.\d%\./);
    assert.match(summary.message, /\d+ rows? flagged\./);
    assert.ok(summary.buttons.includes('Open Label Review'), JSON.stringify(summary));

    const runs = completedRuns(workbench);
    assert.equal(runs.length, 1, `one completed run expected, found ${JSON.stringify(runs)}`);
    const flagged = readPredictions(workbench, runs[0]).filter((p) => p.flagged);
    assert.ok(flagged.length > 0, 'the run flags no row');
    const flaggedLines = new Set(flagged.map((p) => p.line));

    const problems = await waitForFlaggedProblems(workbench);
    const ours = problems.filter((p) => p.source === 'PeerKD' && FLAGGED_MESSAGE.test(p.message));
    assert.ok(ours.length > 0);
    for (const problem of ours) {
      assert.equal(problem.file, DATASET);
      assert.equal(problem.severity, 'warning');
      assert.ok(flaggedLines.has(problem.line), `line ${problem.line} has a warning but the run did not flag it`);
      const prediction = flagged.find((p) => p.line === problem.line);
      assert.ok(prediction);
      assert.ok(problem.message.includes(`peers suggest '${prediction.suggested}'`), `${problem.message} vs ${JSON.stringify(prediction)}`);
    }
    await workbench.screenshot('review-diagnostics', { readme: true });
  },
});
