/**
 * Runs the mocha suite of test/suite inside code-server's extension host through the test-runner extension
 * (test/suite/runner), and reports each of its tests as a subtest here.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor } from '../harness';

interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  error?: string;
  tests: { fullTitle: string; state: 'passed' | 'failed' | 'pending'; error?: string }[];
}

let resultsFile = '';

export default defineFlow({
  name: 'extension-host suite (test/suite) inside code-server',
  fixture: 'suite',
  timeoutMs: 240_000,
  prepare(workspaceDir) {
    resultsFile = `${workspaceDir}.suite-results.json`;
    const suiteIndex = join(repoRoot, 'dist', 'test', 'suite', 'index.js');
    assert.ok(existsSync(suiteIndex), `${suiteIndex} is missing: scripts/build-tests.mjs did not run`);
    writeFileSync(join(workspaceDir, '.peerkd-suite.json'), JSON.stringify({ suiteIndex, resultsFile }));
  },
  async run(workbench, t) {
    const results = await waitFor(
      () => (existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults) : undefined),
      { timeoutMs: 200_000, intervalMs: 500, message: 'the test-runner extension to write the suite results' },
    );
    assert.equal(results.error, undefined, `the suite did not load: ${results.error}`);
    for (const result of results.tests) {
      await t.test(result.fullTitle, { skip: result.state === 'pending' }, () => {
        if (result.state === 'failed') throw new Error(result.error ?? 'failed');
      });
    }
    await workbench.screenshot('extension-host-suite');
    assert.ok(results.tests.length >= 4, `only ${results.tests.length} suite tests ran`);
    assert.equal(results.failed, 0, `${results.failed} extension-host test(s) failed`);
  },
});
