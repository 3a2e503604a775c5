// `npm run test:unit [-- words]`: node's test runner over test/unit/**/*.test.ts (through tsx). Node 20's --test
// takes no globs, so the files are listed here; words narrow the run to files whose path contains one of them.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureNodeModules, repoRoot, run } from './lib/setup.mjs';

function testFiles(dir) {
  let files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files = files.concat(testFiles(path));
    else if (entry.name.endsWith('.test.ts')) files.push(relative(repoRoot, path));
  }
  return files.sort();
}

async function main() {
  await ensureNodeModules();
  const words = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const flags = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
  const files = testFiles(join(repoRoot, 'test', 'unit')).filter((file) => words.length === 0 || words.some((w) => file.includes(w)));
  if (files.length === 0) {
    console.log('no unit test files matched');
    console.log('# pass 0\n# fail 0');
    return 0;
  }
  return run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files]);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`unit tests could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
