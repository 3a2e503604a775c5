/**
 * Runs every flow in test/e2e/flows/ against one code-server + Chromium session (node's test runner, one test per
 * flow). `PEERKD_E2E_FLOWS=foundation,suite` (which `npm run test:e2e -- foundation suite` sets) runs only flows
 * whose file name contains one of the words.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import * as util from 'node:util';
import { bounded, E2ESession, packageVsix, repoRoot, slug, zipEntries, type Flow, type Workbench } from './harness';

const flowsDir = join(__dirname, 'flows');
const selected = (process.env.PEERKD_E2E_FLOWS ?? '')
  .split(',')
  .map((word) => word.trim())
  .filter(Boolean);

function flowFiles(): string[] {
  return readdirSync(flowsDir)
    .filter((name) => name.endsWith('.ts'))
    .filter((name) => selected.length === 0 || selected.some((word) => name.includes(word)))
    .sort();
}

describe('PeerKD in code-server', async () => {
  const flows: Flow[] = [];
  for (const file of flowFiles()) {
    const module = (await import(join(flowsDir, file))) as { default?: Flow | { default?: Flow } };
    // tsx hands CommonJS modules' default export back wrapped once more.
    const flow = (module.default && 'default' in module.default ? module.default.default : module.default) as Flow | undefined;
    assert.ok(flow?.run, `${file} must \`export default defineFlow({...})\``);
    flows.push(flow);
  }

  let session: E2ESession | undefined;
  const toolsDir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'peerkd-e2e-tools-'));

  before(async () => {
    const build = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-tests.mjs')], { stdio: 'inherit' });
    assert.equal(build.status, 0, 'building the extension-host suite failed');
    const runnerVsix = await packageVsix(join(repoRoot, 'test', 'suite', 'runner'), join(toolsDir, 'peerkd-test-runner.vsix'));
    session = await E2ESession.start({ extraVsix: [runnerVsix] });
  });

  after(async () => {
    await session?.close();
    rmSync(toolsDir, { recursive: true, force: true });
  });

  test('the .vsix ships the bundles, media, README and manifest, and nothing else', () => {
    assert.ok(session, 'session did not start');
    const entries = zipEntries(session.vsixPath).map((e) => e.name);
    const shipped = entries.filter((name) => name.startsWith('extension/')).map((name) => name.slice('extension/'.length));
    console.log(`vsix files:\n  ${shipped.join('\n  ')}`);
    for (const required of ['package.json', 'readme.md', 'dist/extension.js', 'dist/worker.js', 'dist/cli.js']) {
      assert.ok(shipped.some((name) => name.toLowerCase() === required), `${required} is missing from the .vsix`);
    }
    // Everything the build puts in dist/ runs (bundles, wasm binaries, the webview toolkit), except the test bundles.
    // Folders count by their files (dist/use-lite: the sentence encoder's model, when the optional package is installed).
    const built = listFiles(join(repoRoot, 'dist')).filter((name) => !name.endsWith('.map') && !name.startsWith('test/') && !name.endsWith('.vsix'));
    for (const name of built) assert.ok(shipped.includes(`dist/${name}`), `dist/${name} is built but not shipped in the .vsix`);
    for (const media of listFiles(join(repoRoot, 'media'))) {
      assert.ok(shipped.includes(`media/${media}`), `media/${media} is missing from the .vsix`);
    }
    const unwanted = shipped.filter((name) => /^(src|test|scripts|docs|examples|\.vscode-test|\.ci)\//.test(name) || /\.(ts|map)$/.test(name) || name.startsWith('node_modules/') && !name.includes('webview-ui-toolkit'));
    assert.deepEqual(unwanted, [], 'the .vsix ships files that do not run');
    assert.ok(shipped.length < 60, `${shipped.length} files in the .vsix`);
  });

  // A flow that fails is run once more in a fresh workspace (README "Retry"): a race on a loaded machine should not sink
  // the run, but it is never silent: the first error and the failure report are printed, and the flows that needed a
  // second try are listed at the end (scripts/test.mjs shows that line in its summary).
  const secondTries: string[] = [];
  after(async () => {
    const { secondTryLine } = await import('../../scripts/lib/testDigest.mjs');
    if (secondTries.length) console.log(secondTryLine(secondTries));
  });

  for (const flow of flows) {
    const tryTimeoutMs = flow.timeoutMs ?? 180_000;
    // Two tries, each with the flow's own limit, plus opening two workbenches and two failure reports.
    test(flow.name, { timeout: 2 * tryTimeoutMs + 300_000 }, async (t) => {
      assert.ok(session, 'session did not start');
      let firstError: unknown;
      for (const attempt of [1, 2]) {
        const subtests = { created: false };
        try {
          await runTry(session, flow, attempt === 1 ? countingSubtests(t, subtests) : t, attempt, tryTimeoutMs);
          if (attempt === 2) {
            secondTries.push(flow.name);
            console.log(`e2e: '${flow.name}' passed on its second try (the first failed: ${firstLine(firstError)})`);
          }
          return;
        } catch (error) {
          if (attempt === 2) throw bothTries(firstError, error);
          firstError = error;
          if (subtests.created) {
            // Its subtests were reported already: a second try would report them twice.
            console.log(`e2e: '${flow.name}' failed after reporting subtests: no second try`);
            throw error;
          }
          console.log(`e2e: '${flow.name}' failed on its first try; trying once more in a fresh workspace`);
        }
      }
    });
  }
});

/**
 * One try of a flow in a fresh workspace, within `timeoutMs`. On failure: a screenshot (`<flow>-failure.png`,
 * `-failure-2.png` for a second try) and the failure report on stdout, then the error is rethrown.
 */
async function runTry(session: E2ESession, flow: Flow, t: TestContext, attempt: number, timeoutMs: number): Promise<void> {
  let workbench: Workbench | undefined;
  let timer: NodeJS.Timeout | undefined;
  const trail = new StepTrail();
  try {
    workbench = await session.openWorkbench(flow);
    const running = flow.run(trail.follow(workbench), t);
    // Closing the workbench after a timeout makes the flow's pending call fail: that late error is not this try's.
    running.catch(() => undefined);
    await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the flow did not end within its ${timeoutMs} ms (try ${attempt})`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    const name = `${slug(flow.name)}-failure${attempt === 1 ? '' : `-${attempt}`}`;
    if (workbench) await bounded(workbench.screenshot(name), 15_000, undefined);
    const report = await bounded(session.failureReport(workbench), 45_000, 'the failure report did not finish within 45 s');
    console.log(
      [`--- e2e failure, try ${attempt} of 2: ${flow.name} ---`, util.inspect(error), trail.describe(), report, `screenshot: test-results/e2e/${name}.png`, '--- end of failure report ---'].join('\n'),
    );
    throw error;
  } finally {
    clearTimeout(timer);
    await workbench?.close();
  }
}

/**
 * The workbench calls of a flow, for its failure report: a flow that hangs (once 300 s with nothing on screen) then
 * says which step it was in and since when, and the steps before it. Only the Workbench's own methods are followed
 * (not the flow's direct page.locator calls), which is coarse but names the stage.
 */
class StepTrail {
  private readonly started = Date.now();
  private readonly steps: { name: string; at: number; endedAt?: number; failed?: boolean }[] = [];

  follow(workbench: Workbench): Workbench {
    return observingCalls(workbench, (property, args, result) => {
      if (typeof property !== 'string') return result();
      const step: { name: string; at: number; endedAt?: number; failed?: boolean } = { name: `${property}(${args.map(shortArgument).join(', ')})`, at: Date.now() };
      this.steps.push(step);
      const value = result();
      if (value instanceof Promise) {
        value.then(
          () => (step.endedAt = Date.now()),
          () => ((step.endedAt = Date.now()), (step.failed = true)),
        );
      } else step.endedAt = step.at;
      return value;
    });
  }

  describe(last = 8): string {
    if (this.steps.length === 0) return 'steps: no workbench call was made';
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const lines = [`steps (workbench calls, the last ${Math.min(last, this.steps.length)} of ${this.steps.length}; times from the flow's start):`];
    for (const step of this.steps.slice(-last)) {
      const state = step.endedAt === undefined ? `STILL RUNNING after ${seconds(Date.now() - step.at)}` : `${step.failed ? 'failed' : 'done'} in ${seconds(step.endedAt - step.at)}`;
      lines.push(`  ${seconds(step.at - this.started)} in: ${step.name}: ${state}`);
    }
    return lines.join('\n');
  }
}

function shortArgument(value: unknown): string {
  const text = value instanceof RegExp ? String(value) : typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? '{…}' : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** `t`, noting in `subtests.created` whether the flow reported a subtest (t.test). */
function countingSubtests(t: TestContext, subtests: { created: boolean }): TestContext {
  return observingCalls(t, (property, _args, result) => {
    if (property === 'test') subtests.created = true;
    return result();
  });
}

/**
 * `target`, whose method calls go through `observe` (the method's name, its arguments, and `result` to make the call on
 * `target` itself, whose private state a Proxy receiver would not reach); its other properties are read as they are.
 */
function observingCalls<T extends object>(target: T, observe: (property: string | symbol, args: unknown[], result: () => unknown) => unknown): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => observe(property, args, () => (value as (...a: unknown[]) => unknown).apply(object, args));
    },
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** The error of a flow that failed on both tries: the second's first (the digest shows the first two lines), then the first's. */
function bothTries(first: unknown, second: unknown): Error {
  const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
  const error = new Error(`failed twice; second try: ${message(second)}\nfirst try: ${message(first)}`);
  if (second instanceof Error && second.stack) error.stack = `Error: ${error.message}\n${second.stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n')}`;
  return error;
}

function listFiles(dir: string, prefix = ''): string[] {
  let names: string[] = [];
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      names = names.concat(entry.isDirectory() ? listFiles(join(dir, entry.name), name) : [name]);
    }
  } catch {
    // no media folder yet
  }
  return names;
}

