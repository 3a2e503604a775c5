// `npm start [-- --code-server] [--port N]`: sets up what is missing, builds, and opens VS Code with PeerKD on
// examples/. Uses the desktop `code` when it is on PATH (as an extension development host); otherwise installs the
// packaged extension into code-server, serves it on 127.0.0.1 and prints the URL, running until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { codeServerBin, ensureCodeServer, ensureNodeModules, log, repoRoot, runOrThrow } from './lib/setup.mjs';

const args = process.argv.slice(2);
const forceCodeServer = args.includes('--code-server');
const portArgument = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : undefined;
const examplesDir = join(repoRoot, 'examples');

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort() {
  const preferred = portArgument ?? Number(process.env.PEERKD_PORT ?? 8080);
  if (await portIsFree(preferred)) return preferred;
  if (portArgument) throw new Error(`port ${preferred} is in use`);
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startDesktop() {
  log(`opening ${examplesDir} in VS Code with PeerKD loaded from ${repoRoot}`);
  await runOrThrow('code', [`--extensionDevelopmentPath=${repoRoot}`, examplesDir]);
}

async function startCodeServer() {
  await ensureCodeServer();
  const stateDir = join(repoRoot, '.vscode-test', 'start');
  const userDataDir = join(stateDir, 'user-data');
  const extensionsDir = join(stateDir, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  const settingsPath = join(userDataDir, 'User', 'settings.json');
  if (!existsSync(settingsPath)) {
    writeFileSync(settingsPath, JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off' }, null, 2));
  }
  const vsix = join(stateDir, 'peerkd.vsix');
  log('packaging the extension');
  await runOrThrow(join(repoRoot, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--out', vsix]);
  await runOrThrow(codeServerBin, ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force']);

  const port = await choosePort();
  const server = spawn(
    codeServerBin,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      // Its own config file, so code-server does not write ~/.config/code-server/config.yaml.
      '--config', join(stateDir, 'config.yaml'),
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      examplesDir,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout.on('data', (chunk) => process.stdout.write(`[code-server] ${chunk}`));
  server.stderr.on('data', (chunk) => process.stderr.write(`[code-server] ${chunk}`));
  const stop = () => server.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && server.exitCode === null) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (server.exitCode === null) {
    console.log(`\nPeerKD is running in code-server: http://127.0.0.1:${port}/?folder=${encodeURIComponent(examplesDir)}`);
    console.log('Open that URL in a browser on this machine (or forward the port). Press Ctrl-C to stop.\n');
  }
  return new Promise((resolve) => server.on('exit', (code, signal) => resolve(signal ? 0 : (code ?? 0))));
}

async function main() {
  await ensureNodeModules();
  await runOrThrow(process.execPath, ['esbuild.mjs']);
  if (!forceCodeServer && onPath('code')) {
    await startDesktop();
    return 0;
  }
  return startCodeServer();
}

main().then(
  (code) => process.exit(code ?? 0),
  (error) => {
    console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
