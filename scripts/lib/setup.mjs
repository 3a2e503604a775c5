// Sets up what a fresh clone lacks: node_modules, the Debian packages of the end-to-end tests, code-server.
// Node builtins only: this module runs before `npm ci` has installed anything.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const codeServerDir = join(repoRoot, '.vscode-test', 'code-server');
export const codeServerBin = join(codeServerDir, 'node_modules', '.bin', 'code-server');
export const DEBIAN_PACKAGES = ['libkrb5-dev', 'ripgrep', 'chromium'];
export const CHROMIUM_PATH = '/usr/bin/chromium';

const npmCommand = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export function log(message) {
  console.log(`[setup] ${message}`);
}

/** Runs a command with inherited stdio; resolves to its exit code (never rejects on a non-zero exit). */
export function run(command, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', cwd: repoRoot, ...options });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

export async function runOrThrow(command, args, options = {}) {
  const code = await run(command, args, options);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * node_modules is stale when a package that package.json asks for is missing, or is not the version the lockfile
 * pins. Comparing installed versions (not timestamps) keeps a shared, already-installed tree from being reinstalled.
 */
export function nodeModulesProblem() {
  if (!existsSync(join(repoRoot, 'node_modules'))) return 'node_modules is missing';
  const manifest = readJson(join(repoRoot, 'package.json'));
  const lockPath = join(repoRoot, 'package-lock.json');
  const lock = existsSync(lockPath) ? readJson(lockPath) : undefined;
  const wanted = { ...manifest.dependencies, ...manifest.devDependencies };
  for (const name of Object.keys(wanted)) {
    const installedPath = join(repoRoot, 'node_modules', name, 'package.json');
    if (!existsSync(installedPath)) return `${name} is not installed`;
    const locked = lock?.packages?.[`node_modules/${name}`]?.version;
    const installed = readJson(installedPath).version;
    if (locked && installed !== locked) return `${name} is ${installed}, the lockfile pins ${locked}`;
  }
  return undefined;
}

export async function ensureNodeModules() {
  const problem = nodeModulesProblem();
  if (!problem) return;
  const hasLock = existsSync(join(repoRoot, 'package-lock.json'));
  const args = hasLock ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  log(`${problem}: running npm ${args[0]}`);
  await runOrThrow(npmCommand, args);
}

export function missingDebianPackages(packages = DEBIAN_PACKAGES) {
  return packages.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

/** Installs the Debian packages the end-to-end tests need; `apt-get update` only when the first install fails. */
export async function ensureDebianPackages(packages = DEBIAN_PACKAGES) {
  const missing = missingDebianPackages(packages);
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      `The end-to-end tests need the Debian packages ${missing.join(' ')}, which are not installed, and installing ` +
        `them needs root. Run: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if ((await run('apt-get', install, { env })) === 0) return;
  log('apt-get install failed; refreshing the package lists once');
  await runOrThrow('apt-get', ['update'], { env });
  await runOrThrow('apt-get', install, { env });
}

function installedMarker() {
  return join(codeServerDir, `.installed-${CODE_SERVER_VERSION}`);
}

export function codeServerInstalled() {
  return existsSync(installedMarker()) && existsSync(codeServerBin);
}

/**
 * Installs code-server into .vscode-test/code-server (its own package.json, never a dependency of the extension).
 * Its install would download ripgrep from GitHub, which is unreachable here, so the cache it checks first is
 * seeded with Debian's rg.
 */
export async function ensureCodeServer() {
  if (codeServerInstalled()) return;
  await ensureDebianPackages(['libkrb5-dev', 'ripgrep']);
  const cacheDir = join(process.env.TMPDIR || tmpdir(), 'vscode-ripgrep-cache-1.15.11');
  const tarball = join(cacheDir, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (!existsSync(tarball) || statSync(tarball).size === 0) {
    mkdirSync(cacheDir, { recursive: true });
    await runOrThrow('tar', ['czf', tarball, '-C', dirname(rgPath()), 'rg']);
  }
  log(`installing code-server@${CODE_SERVER_VERSION} into ${codeServerDir} (1-2 minutes)`);
  rmSync(installedMarker(), { force: true });
  mkdirSync(codeServerDir, { recursive: true });
  const manifestPath = join(codeServerDir, 'package.json');
  if (!existsSync(manifestPath)) {
    writeFileSync(
      manifestPath,
      JSON.stringify({ name: 'peerkd-test-code-server', private: true, description: 'Test tool, not shipped' }, null, 2) + '\n',
    );
  }
  const env = { ...process.env, npm_config_yes: 'true', npm_config_unsafe_perm: 'true' };
  await runOrThrow(
    npmCommand,
    ['install', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`],
    { cwd: codeServerDir, env },
  );
  if (!existsSync(codeServerBin)) throw new Error(`code-server install finished but ${codeServerBin} is missing`);
  writeFileSync(installedMarker(), new Date().toISOString() + '\n');
}

function rgPath() {
  const found = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('ripgrep (rg) is not on PATH; install the Debian package ripgrep');
  return found;
}

/** Everything the end-to-end stage needs before it can start. */
export async function ensureEndToEndTools() {
  await ensureDebianPackages();
  await ensureCodeServer();
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing although the chromium package is installed`);
}
