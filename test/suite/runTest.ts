/**
 * `npm run test:vscode`: runs the extension-host suite in a desktop VS Code downloaded by @vscode/test-electron
 * (needs network access to update.code.visualstudio.com, or PEERKD_VSCODE_PATH naming an installed VS Code, and a
 * display or xvfb-run). The same suite also runs in
 * code-server through the e2e harness (test/e2e/flows/extension-host-suite.ts), which needs neither.
 */
import { runTests } from '@vscode/test-electron';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

async function main(): Promise<void> {
  // Bundled to dist/test/runTest.js: the repository root is two levels up.
  const repoRoot = resolve(__dirname, '..', '..');
  const workspace = mkdtempSync(join(tmpdir(), 'peerkd-suite-'));
  cpSync(join(repoRoot, 'test', 'fixtures', 'e2e', 'suite'), workspace, { recursive: true });
  await runTests({
    // PEERKD_VSCODE_PATH: an installed VS Code executable, used instead of a download.
    vscodeExecutablePath: process.env.PEERKD_VSCODE_PATH || undefined,
    version: process.env.PEERKD_VSCODE_VERSION ?? '1.100.3',
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'dist', 'test', 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
