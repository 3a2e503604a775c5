// scripts/lib/testDigest.mjs: `npm test` ends with why each failed test failed, read from what node's spec reporter
// printed (CI shows only the last lines of the log). The samples are real: a small node:test file run in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const LONG = 'y'.repeat(400);

const SAMPLE = `
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
describe('a suite', () => {
  test('passes', () => {});
  test('an assertion fails', () => { assert.equal(1, 2, 'one is not two'); });
  test('an error of several lines', async () => { throw new Error('Timed out after 240000 ms waiting for a notification\\non screen: ${LONG}\\nthird line'); });
  test('with subtests', async (t) => { await t.test('the inner one fails', () => { throw new Error('inner'); }); });
});
describe('a suite whose before hook fails', () => {
  before(() => { throw new Error('session did not start'); });
  test('first', () => {});
  test('second', () => {});
});
test('times out', { timeout: 20 }, () => new Promise((resolve) => setTimeout(resolve, 2000)));
for (let i = 0; i < 5; i++) test('more ' + i, () => { throw new Error('failure ' + i); });
`;

const dir = mkdtempSync(join(tmpdir(), 'peerkd-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const outputs = new Map<string, string>();

/** What node's test runner with the spec reporter prints for SAMPLE (a fresh runner: not a child of this one). */
function specOutput(env: NodeJS.ProcessEnv = {}): string {
  const key = JSON.stringify(env);
  if (!outputs.has(key)) outputs.set(key, runSample(env));
  return outputs.get(key)!;
}

function runSample(env: NodeJS.ProcessEnv): string {
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(file, SAMPLE);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], { cwd: dir, encoding: 'utf8', env: childEnv });
  assert.notEqual(result.status, 0, 'the sample fails');
  return result.stdout;
}

describe('the digest of failed tests (scripts/lib/testDigest.mjs)', () => {
  it('reads each failed test and its error before the stack from the spec reporter', async () => {
    const { failedTests } = await import('../../scripts/lib/testDigest.mjs');
    const failures = failedTests(specOutput());
    const byName = new Map(failures.map((failure) => [failure.name, failure.error]));
    assert.deepEqual(byName.get('an assertion fails'), ['AssertionError [ERR_ASSERTION]: one is not two', '1 !== 2']);
    assert.deepEqual(byName.get('an error of several lines'), [
      'Error: Timed out after 240000 ms waiting for a notification',
      `on screen: ${LONG}`,
      'third line',
    ]);
    assert.deepEqual(byName.get('the inner one fails'), ['Error: inner']);
    assert.deepEqual(byName.get('a suite whose before hook fails'), ['Error: session did not start']);
    assert.match(byName.get('times out')?.[0] ?? '', /timed out after 20ms/);
    assert.ok(!byName.has('passes'));
    // A suite is not a failure of its own when only its tests failed.
    assert.ok(!byName.has('a suite'));
    assert.ok(!byName.has('with subtests'));
    assert.equal(failures.length, 12);
  });

  it('prints the stage, the name and two lines of each error, each line at most 300 characters, at most 8 tests', async () => {
    const { digestLines, failedTests } = await import('../../scripts/lib/testDigest.mjs');
    const lines = digestLines([{ name: 'unit tests', failures: failedTests(specOutput()) }]);
    assert.deepEqual(lines.slice(0, 6), [
      '✖ unit tests: an assertion fails',
      '    AssertionError [ERR_ASSERTION]: one is not two',
      '    1 !== 2',
      '✖ unit tests: an error of several lines',
      '    Error: Timed out after 240000 ms waiting for a notification',
      `    on screen: ${LONG}`.slice(0, 299) + '…',
    ]);
    assert.ok(lines.every((line) => line.length <= 300));
    assert.equal(lines.filter((line) => line.startsWith('✖ ')).length, 8);
    // The two tests cancelled by their suite's hook say nothing of the cause: counted after the others.
    assert.ok(!lines.some((line) => line.includes('first') || line.includes('cancelled and')));
    assert.deepEqual(lines.slice(-2), ['… and 2 more failed test(s): see the log above', '2 test(s) cancelled because their suite failed']);
  });

  it('reads the output in colour too', async () => {
    const { failedTests } = await import('../../scripts/lib/testDigest.mjs');
    const coloured = specOutput({ FORCE_COLOR: '1' });
    assert.ok(coloured.includes('\u001b['), 'the sample is in colour');
    assert.deepEqual(failedTests(coloured), failedTests(specOutput()));
  });

  it('reads the tests where they are reported when the runner ended before its list of failures', async () => {
    const { failedTests } = await import('../../scripts/lib/testDigest.mjs');
    const output = specOutput();
    const cutOff = output.slice(0, output.lastIndexOf('✖ failing tests:'));
    assert.deepEqual(
      failedTests(cutOff).map((failure) => failure.name).sort(),
      failedTests(output).map((failure) => failure.name).sort(),
    );
  });

  it('finds the line of the flows that passed only on a second try', async () => {
    const { findSecondTryLine, secondTryLine } = await import('../../scripts/lib/testDigest.mjs');
    const line = secondTryLine(['review: keyboard only', 'review: retrain']);
    assert.equal(line, 'e2e: 2 flow(s) passed only on a second try: review: keyboard only; review: retrain');
    assert.deepEqual(findSecondTryLine(`ℹ pass 40\n${line}\nℹ fail 0\n`), { line, count: 2 });
    assert.equal(findSecondTryLine('ℹ pass 40\nℹ fail 0\n'), undefined);
  });
});
