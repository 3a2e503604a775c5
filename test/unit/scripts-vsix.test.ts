// scripts/lib/vsix.mjs: the one packaging function of `npm start`, `npm run package` and the end-to-end harness.
// Runs the real vsce on small extension folders (a child process each).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { zipEntries } from '../e2e/harness';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** An extension folder shaped like this repo's: README with a relative image link, repository not on GitHub. */
function extensionFolder(manifest: Record<string, unknown> = {}, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-vsix-'));
  dirs.push(dir);
  const base = {
    name: 'sample',
    publisher: 'peerkd',
    version: '0.0.1',
    license: 'MIT',
    engines: { vscode: '^1.100.0' },
    repository: { type: 'git', url: 'https://example.invalid/sample.git' },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...base, ...manifest }, null, 2));
  const all: Record<string, string> = {
    'README.md': '# Sample\n\n![the panel](docs/images/panel.png)\n\nSee [the method](docs/METHOD.md).\n',
    LICENSE: 'MIT\n',
    'extension.js': 'exports.activate = () => {};\n',
    ...files,
  };
  for (const [name, text] of Object.entries(all)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('packageVsix (scripts/lib/vsix.mjs)', () => {
  it('packages an extension whose README has relative links and whose repository is not on GitHub', { timeout: 60_000 }, async () => {
    // `vsce package --no-dependencies` alone (what `npm start` ran) stops here with "Couldn't detect the repository".
    const { packageVsix } = await import('../../scripts/lib/vsix.mjs');
    const dir = extensionFolder();
    const out = await packageVsix(dir, path.join(dir, 'out', 'sample.vsix'));
    assert.equal(out, path.join(dir, 'out', 'sample.vsix'));
    const names = zipEntries(out).map((e) => e.name);
    assert.ok(names.includes('extension/package.json'), names.join(', '));
    assert.ok(names.includes('extension/readme.md'), names.join(', '));
  });

  it('packages a manifest without repository or LICENSE (the test-runner extension) without a prompt', { timeout: 60_000 }, async () => {
    const { packageVsix } = await import('../../scripts/lib/vsix.mjs');
    const dir = extensionFolder({ repository: undefined, license: undefined });
    fs.rmSync(path.join(dir, 'LICENSE'));
    const out = await packageVsix(dir, path.join(dir, 'sample.vsix'));
    assert.ok(fs.existsSync(out));
  });

  it('fails with an error naming the folder, the exit status and what vsce said', { timeout: 60_000 }, async () => {
    const { packageVsix } = await import('../../scripts/lib/vsix.mjs');
    const dir = extensionFolder({ engines: undefined });
    await assert.rejects(packageVsix(dir, path.join(dir, 'sample.vsix')), (error: Error) => {
      assert.ok(error.message.includes(dir), error.message);
      assert.match(error.message, /exit status [1-9]/);
      assert.match(error.message, /engines/i);
      return true;
    });
    assert.equal(fs.existsSync(path.join(dir, 'sample.vsix')), false);
  });
});
