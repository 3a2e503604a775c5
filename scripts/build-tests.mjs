// Bundles the extension-host mocha suite (test/suite) into dist/test/, next to the extension bundles.
// mocha and vscode stay external: the extension host provides vscode, and mocha resolves from node_modules.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lib/setup.mjs';

export async function buildTests() {
  const suiteDir = join(repoRoot, 'test', 'suite');
  const suiteEntries = readdirSync(suiteDir)
    .filter((name) => name === 'index.ts' || name.endsWith('.test.ts'))
    .map((name) => join(suiteDir, name));
  rmSync(join(repoRoot, 'dist', 'test'), { recursive: true, force: true });
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'warning',
    external: ['vscode', 'mocha', '@vscode/test-electron'],
    absWorkingDir: repoRoot,
  };
  await esbuild.build({ ...common, entryPoints: suiteEntries, outdir: join(repoRoot, 'dist', 'test', 'suite') });
  await esbuild.build({ ...common, entryPoints: [join(suiteDir, 'runTest.ts')], outfile: join(repoRoot, 'dist', 'test', 'runTest.js') });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildTests().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
