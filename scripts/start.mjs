// `npm start [-- --code-server] [--port N]`: sets up what is missing, builds, and opens VS Code with PeerKD on
// examples/. Uses the desktop `code` when it is on PATH (as an extension development host); otherwise installs the
// packaged extension into code-server, serves it on 127.0.0.1 and prints the URL, running until Ctrl-C.
// test/e2e/npm-start.test.ts runs this the way a user does (`npm start -- --port N`, then Ctrl-C to the group).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { codeServerBin, ensureCodeServer, ensureNodeModules, log, repoRoot, runOrThrow } from './lib/setup.mjs';
import { DEFAULT_PORT, HOST, choosePort, parsePort } from './lib/ports.mjs';
import { packageVsix } from './lib/vsix.mjs';

const USAGE = 'npm start [-- --code-server] [--port N]';
const args = process.argv.slice(2);
const forceCodeServer = args.includes('--code-server');
const examplesDir = join(repoRoot, 'examples');
/** How long code-server may take to answer before `npm start` gives up. */
const SERVER_READY_TIMEOUT_MS = 90_000;
/** How long code-server may take to exit after SIGTERM before its whole process group is killed. */
const SERVER_STOP_TIMEOUT_MS = 10_000;

function portRequest() {
  const index = args.indexOf('--port');
  if (index >= 0) return { preferred: parsePort(args[index + 1]), strict: true };
  const fromEnv = process.env.PEERKD_PORT;
  return { preferred: fromEnv ? parsePort(fromEnv) : DEFAULT_PORT, strict: false };
}

/** Throws on an argument this script does not know, e.g. `--prot 9000`, instead of ignoring it. */
function checkArguments() {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--code-server') continue;
    if (args[i] === '--port') {
      i++;
      continue;
    }
    throw new Error(`unknown argument '${args[i]}'; usage: ${USAGE}`);
  }
}

/**
 * The desktop VS Code CLI, when `code` on PATH is one. In a code-server (or VS Code remote) terminal `code` is the
 * remote CLI (…/bin/remote-cli/code), which cannot open an extension development host: that is not desktop.
 */
function desktopCode() {
  const found = spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' });
  if (found.status !== 0) return undefined;
  const path = found.stdout.trim();
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // a dangling link: keep the name
  }
  const remote = [path, real].some((p) => p.includes(`${sep}remote-cli${sep}`));
  if (remote) log(`${path} is VS Code's remote CLI, not the desktop app: using code-server`);
  return remote ? undefined : path;
}

async function pickPort(request) {
  const port = await choosePort(request);
  if (port !== request.preferred) log(`port ${request.preferred} is in use; serving on ${port} instead`);
  return port;
}

/** Copies `stream` to `sink` with `prefix` before every line (a chunk may hold several lines, or part of one). */
function prefixLines(stream, sink, prefix) {
  let atLineStart = true;
  stream.on('data', (chunk) => {
    const text = chunk.toString();
    let out = '';
    for (const line of text.split(/(?<=\n)/)) {
      if (atLineStart) out += prefix;
      out += line;
      atLineStart = line.endsWith('\n');
    }
    sink.write(out);
  });
}

async function startDesktop() {
  await runOrThrow(process.execPath, ['esbuild.mjs']);
  log(`opening ${examplesDir} in VS Code with PeerKD loaded from ${repoRoot}`);
  await runOrThrow('code', [`--extensionDevelopmentPath=${repoRoot}`, examplesDir]);
  return 0;
}

async function startCodeServer(request) {
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
  log('packaging the extension (production build)');
  const vsix = await packageVsix(repoRoot, join(stateDir, 'peerkd.vsix'), { echo: true });
  await runOrThrow(codeServerBin, ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force']);

  // Chosen again: the install took a while and something may have taken the port meanwhile.
  const port = await pickPort(request);
  const url = `http://${HOST}:${port}/?folder=${encodeURIComponent(examplesDir)}`;
  // Its own process group, so stopping it reaches every process it forks (extension host, file watcher, pty host)
  // even when only this script gets the signal; Ctrl-C in a terminal reaches this script and is forwarded below.
  const server = spawn(
    codeServerBin,
    [
      '--auth', 'none',
      '--bind-addr', `${HOST}:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      // Its own config file, so code-server does not write ~/.config/code-server/config.yaml.
      '--config', join(stateDir, 'config.yaml'),
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      examplesDir,
    ],
    { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prefixLines(server.stdout, process.stdout, '[code-server] ');
  prefixLines(server.stderr, process.stderr, '[code-server] ');
  const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  exited.then(() => (running = false));

  const killGroup = (signal) => {
    try {
      process.kill(-server.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  let stopping = false;
  const stop = () => {
    if (stopping) {
      // A second Ctrl-C: no more waiting.
      killGroup('SIGKILL');
      return;
    }
    stopping = true;
    log('stopping code-server');
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), SERVER_STOP_TIMEOUT_MS).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
  // Whatever ends this script (an error below, an uncaught exception) takes the server with it.
  process.on('exit', () => killGroup('SIGKILL'));

  const deadline = Date.now() + SERVER_READY_TIMEOUT_MS;
  let ready = false;
  while (running && !stopping && Date.now() < deadline) {
    // The URL the user will open answers with the workbench page: that, not just /healthz, is "VS Code answers".
    ready = await fetch(url).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (stopping) {
    await exited;
    return 0;
  }
  if (!running) {
    const { code, signal } = await exited;
    throw new Error(`code-server exited (${signal ?? `exit status ${code}`}) before it answered on ${url}; its output is above`);
  }
  if (!ready) {
    stop();
    await exited;
    throw new Error(`code-server did not answer on ${url} within ${SERVER_READY_TIMEOUT_MS / 1000} s; its output is above`);
  }
  console.log(`\nPeerKD is running in code-server: ${url}`);
  console.log('Open that URL in a browser on this machine (or forward the port). Press Ctrl-C to stop.\n');

  const { code, signal } = await exited;
  // Stopped on request (Ctrl-C): a clean end. Ended by itself: a failure the user must hear about.
  if (stopping) return 0;
  throw new Error(`code-server stopped by itself (${signal ?? `exit status ${code}`}); its output is above`);
}

async function main() {
  checkArguments();
  const desktop = !forceCodeServer && desktopCode() !== undefined;
  const request = desktop ? undefined : portRequest();
  // Before the slow steps: a bad or taken --port fails now, not after npm ci, the install and the packaging.
  if (request) await choosePort(request);
  await ensureNodeModules();
  return desktop ? startDesktop() : startCodeServer(request);
}

main().then(
  (code) => process.exit(code ?? 0),
  (error) => {
    console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
