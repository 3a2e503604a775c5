// The one way this repo packages an extension folder into a .vsix: `npm start`, `npm run package` and the end-to-end
// harness all call packageVsix, so a vsce flag added or dropped here reaches all three.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from './setup.mjs';

/**
 * `--no-dependencies`: the bundles carry their dependencies (.vscodeignore ships dist/, not node_modules).
 * `--no-rewrite-relative-links`: without it vsce turns README links into repository URLs and stops with "Couldn't
 * detect the repository where this extension is published" when package.json's repository is not on GitHub/GitLab.
 * `--allow-missing-repository`, `--skip-license`: no interactive y/N prompt when a manifest (the test-runner
 * extension) has no repository or LICENSE; stdin is not a terminal here, so such a prompt would fail the package.
 */
export const VSCE_PACKAGE_ARGS = ['package', '--no-dependencies', '--no-rewrite-relative-links', '--allow-missing-repository', '--skip-license'];

export const vsceScript = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');

/**
 * Packages the extension in `extensionDir` (its `vscode:prepublish` script runs first) into `outFile`; resolves to
 * the absolute path of the .vsix. `echo: true` streams vsce's output; otherwise it is kept and, on failure, put in the
 * error, which names the folder and the exit status.
 * @param {string} extensionDir
 * @param {string} outFile
 * @param {{ echo?: boolean }} [options]
 * @returns {Promise<string>}
 */
export function packageVsix(extensionDir, outFile, options = {}) {
  const out = resolve(outFile);
  mkdirSync(dirname(out), { recursive: true });
  if (!existsSync(vsceScript)) {
    return Promise.reject(new Error(`vsce is not installed (${vsceScript} is missing); run npm ci`));
  }
  const args = [vsceScript, ...VSCE_PACKAGE_ARGS, '--out', out];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: extensionDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (stream, sink) =>
      stream.on('data', (chunk) => {
        if (options.echo) sink.write(chunk);
        else output = (output + chunk.toString()).slice(-20_000);
      });
    keep(child.stdout, process.stdout);
    keep(child.stderr, process.stderr);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0 && existsSync(out)) return resolvePromise(out);
      const status = signal ? `signal ${signal}` : `exit status ${code}`;
      const detail = options.echo ? '' : `\n${output.trim()}`;
      reject(new Error(`packaging ${extensionDir} into ${out} failed (vsce ${VSCE_PACKAGE_ARGS.join(' ')}: ${status})${detail}`));
    });
  });
}
