// `npm run test:e2e [-- flow-words] [--update-screenshots]`: sets up code-server and Chromium when missing, builds
// the extension and runs test/e2e (node's test runner; each flow is one test, see test/e2e/README.md).
import { ensureEndToEndTools, ensureNodeModules, repoRoot, run } from './lib/setup.mjs';

async function main() {
  await ensureNodeModules();
  await ensureEndToEndTools();
  const build = await run(process.execPath, ['esbuild.mjs']);
  if (build !== 0) return build;
  const passThrough = process.argv.slice(2);
  return run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/e2e/e2e.test.ts', ...passThrough], {
    cwd: repoRoot,
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`e2e setup failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
