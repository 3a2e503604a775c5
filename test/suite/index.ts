/**
 * Mocha entry point loaded inside a VS Code extension host: by @vscode/test-electron (`run`, desktop VS Code) and by
 * the test-runner extension in code-server (`runSuite`, which returns the results for the e2e harness to assert on).
 */
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface SuiteTestResult {
  title: string;
  fullTitle: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

export interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  tests: SuiteTestResult[];
}

/** Runs every compiled `*.test.js` next to this file and collects per-test results. */
export function runSuite(): Promise<SuiteResults> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 30_000, reporter: 'spec' });
  for (const file of readdirSync(__dirname).filter((name) => name.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, file));
  }
  const results: SuiteResults = { passed: 0, failed: 0, pending: 0, tests: [] };
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run(() => resolve(results));
      runner.on('pass', (test) => {
        results.passed++;
        results.tests.push({ title: test.title, fullTitle: test.fullTitle(), state: 'passed', durationMs: test.duration });
      });
      runner.on('fail', (test, error: Error) => {
        results.failed++;
        results.tests.push({
          title: test.title,
          fullTitle: test.fullTitle(),
          state: 'failed',
          durationMs: test.duration,
          error: error?.stack ?? String(error),
        });
      });
      runner.on('pending', (test) => {
        results.pending++;
        results.tests.push({ title: test.title, fullTitle: test.fullTitle(), state: 'pending' });
      });
    } catch (error) {
      reject(error);
    }
  });
}

/** The entry @vscode/test-electron calls (`extensionTestsPath`): rejects when any test fails. */
export async function run(): Promise<void> {
  const results = await runSuite();
  if (results.failed > 0) throw new Error(`${results.failed} extension-host test(s) failed`);
}
