/**
 * Label Review flow 4 (issue 5): a dataset with a broken line. The run reports the line it left out, still trains on
 * every other row, and its flagged labels show up next to the invalid-JSON error.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot } from '../harness';
import { completedRuns, DATASET, FLAGGED_MESSAGE, readPredictions, runDistillationAndWait, SUMMARY } from '../reviewSupport';

const BROKEN_LINE = 3;

export default defineFlow({
  name: 'distill: a broken line is reported and the run works on the other rows',
  fixture: 'review',
  timeoutMs: 300_000,
  prepare(workspaceDir) {
    const lines = readFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), 'utf8').split('\n');
    lines.splice(BROKEN_LINE - 1, 0, '{"id": "broken-1", "text": "this line was cut off in the middle');
    writeFileSync(join(workspaceDir, DATASET), lines.join('\n'));
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    await runDistillationAndWait(workbench);
    const summary = await workbench.waitForNotification(SUMMARY);
    assert.match(summary.message, /Skipped 1 invalid line \(see Problems\)\./);

    const [runId] = completedRuns(workbench);
    const predictions = readPredictions(workbench, runId);
    assert.equal(predictions.length, 2000, 'every valid row gets a prediction');
    assert.ok(!predictions.some((p) => p.line === BROKEN_LINE || p.id === 'broken-1'));
    assert.ok(predictions.some((p) => p.line === BROKEN_LINE + 1), 'rows after the broken line keep their own line numbers');

    const problems = await workbench.waitForProblems((entries) => entries.some((p) => p.line === BROKEN_LINE && p.severity === 'error'), {
      message: `the invalid-JSON error on line ${BROKEN_LINE}`,
    });
    const invalid = problems.filter((p) => p.line === BROKEN_LINE && p.severity === 'error');
    assert.equal(invalid.length, 1, JSON.stringify(problems.slice(0, 5)));
    assert.match(invalid[0].message, /json/i);
    // Flagged rows (if the run flags any) are warnings on rows the run scored, never on the broken line.
    const flaggedLines = new Set(predictions.filter((p) => p.flagged).map((p) => p.line));
    for (const problem of problems.filter((p) => p.source === 'PeerKD' && FLAGGED_MESSAGE.test(p.message))) {
      assert.ok(flaggedLines.has(problem.line), `warning on line ${problem.line}, which the run did not flag`);
    }
  },
});
