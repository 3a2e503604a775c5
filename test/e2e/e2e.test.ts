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
import { after, before, describe, test } from 'node:test';
import { E2ESession, packageVsix, repoRoot, slug, zipEntries, type Flow } from './harness';

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

  for (const flow of flows) {
    test(flow.name, { timeout: flow.timeoutMs ?? 180_000 }, async (t) => {
      assert.ok(session, 'session did not start');
      const workbench = await session.openWorkbench(flow);
      try {
        await flow.run(workbench, t);
      } catch (error) {
        await workbench.screenshot(`${slug(flow.name)}-failure`).catch(() => undefined);
        throw error;
      } finally {
        await workbench.close();
      }
    });
  }
});

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

