// `npm run package [-- --out FILE]`: dist/peerkd.vsix (production build through `vscode:prepublish`), packaged the
// same way as `npm start` and the end-to-end tests do (scripts/lib/vsix.mjs).
import { join, resolve } from 'node:path';
import { repoRoot } from './lib/setup.mjs';
import { packageVsix } from './lib/vsix.mjs';

const args = process.argv.slice(2);
const outArgument = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(repoRoot, 'dist', 'peerkd.vsix');

async function main() {
  if (!outArgument || outArgument.startsWith('-')) throw new Error('--out needs a file name, e.g. --out dist/peerkd.vsix');
  // npm runs scripts in the repo root; a relative --out is meant from where the user typed the command.
  const out = await packageVsix(repoRoot, resolve(process.env.INIT_CWD ?? process.cwd(), outArgument), { echo: true });
  console.log(`packaged ${out}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`npm run package failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
