// `npm run test:e2e [-- flow-words] [--update-screenshots]`: sets up code-server and Chromium when missing and runs
// test/e2e (node's test runner; each flow is one test, see test/e2e/README.md) and test/e2e/npm-start.test.ts.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureEndToEndTools, ensureNodeModules, repoRoot, run } from './lib/setup.mjs';

/**
 * e2e.test.ts (the flows in test/e2e/flows/, one shared code-server) runs when a word matches a flow's file name;
 * npm-start.test.ts (the README's `npm start`) when a word matches its name. No words: both.
 */
function testFiles(words) {
  const matches = (name) => words.length === 0 || words.some((word) => name.includes(word));
  const files = [];
  const flows = readdirSync(join(repoRoot, 'test', 'e2e', 'flows')).filter((name) => name.endsWith('.ts'));
  if (flows.some(matches)) files.push('test/e2e/e2e.test.ts');
  if (matches('npm-start')) files.push('test/e2e/npm-start.test.ts');
  return files;
}

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
  const files = testFiles(words);
  if (files.length === 0) {
    console.log(`no end-to-end flow or test file matched ${words.join(' ')}`);
    console.log('# pass 0\n# fail 0');
    return 0;
  }
  // One file at a time: each starts its own code-server and packages the extension, which rewrites dist/.
  return run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...nodeFlags, ...files], {
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
