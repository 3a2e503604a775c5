// `npm run test:e2e [-- flow-words] [--update-screenshots]`: sets up code-server and Chromium when missing and runs
// test/e2e (node's test runner; each flow is one test, see test/e2e/README.md).
import { ensureEndToEndTools, ensureNodeModules, repoRoot, run } from './lib/setup.mjs';

async function main() {
  await ensureNodeModules();
  await ensureEndToEndTools();
  // No separate build: packaging the .vsix runs `vscode:prepublish` (the production build) in the harness.
  // node --test would take words as more test files: hand them (and --update-screenshots) to the runner by env.
  const args = process.argv.slice(2);
  const env = { ...process.env };
  const words = args.filter((arg) => !arg.startsWith('-'));
  if (words.length) env.PEERKD_E2E_FLOWS = words.join(',');
  if (args.includes('--update-screenshots')) env.PEERKD_UPDATE_SCREENSHOTS = '1';
  const nodeFlags = args.filter((arg) => arg.startsWith('-') && arg !== '--update-screenshots');
  return run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...nodeFlags, 'test/e2e/e2e.test.ts'], {
    cwd: repoRoot,
    env,
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`e2e setup failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
