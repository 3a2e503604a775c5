/**
 * `npm run build` (and `npm start`, which runs the production build) as a new user first sees it: esbuild.mjs's bundles
 * build without a warning. Every build printed "▲ [WARNING] "tsx" should be marked as external for use with
 * "require.resolve"" twice (the extension's and the CLI's bundle), which reads as something broken in the set-up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { repoRoot } from '../fixtures/training/build';

test('esbuild.mjs: every bundle builds without a warning, in the production build too', async () => {
  const { entries } = (await import(pathToFileURL(join(repoRoot, 'esbuild.mjs')).href)) as { entries: esbuild.BuildOptions[] };
  assert.ok(entries.some((entry) => entry.outfile === 'dist/cli.js'), 'the CLI bundle is among the entries');
  for (const entry of entries) {
    // In memory, as `node esbuild.mjs --production` builds it (minified, no source map): dist/ is left alone.
    const result = await esbuild.build({ ...entry, absWorkingDir: repoRoot, write: false, logLevel: 'silent', minify: true, sourcemap: false });
    const warnings = result.warnings.map((warning) => `${warning.location?.file ?? '?'}:${warning.location?.line ?? '?'}: ${warning.text}`);
    assert.deepEqual(warnings, [], `${entry.outfile}: warnings`);
  }
});
