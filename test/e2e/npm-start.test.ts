/**
 * The README's first command, run the way a user runs it: `npm start -- --port N` through npm, from the repo root,
 * on whatever this checkout is (in CI, the fresh clone). It must print a URL where VS Code answers with PeerKD
 * activated, and Ctrl-C (SIGINT to npm's process group, as a terminal sends it) must stop every process it started
 * and free the port. Also: a bad argument or a taken --port fails at once, the desktop route runs `code` as an
 * extension development host (a fake `code`), and `npm run package` writes a .vsix. Runs after
 * e2e.test.ts in `npm run test:e2e` (words: `npm-start`).
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, Workbench, chromiumPath, freePort, repoRoot, resultsDir, waitFor, zipEntries } from './harness';

const npmCommand = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const examplesDir = join(repoRoot, 'examples');
/** npm ci (when needed), the packaging with its production build, the install into code-server, its start. */
const START_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 30_000;

/** The environment of a shell, not of the `npm test` (or test runner) this runs under. */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_TEST_CONTEXT' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return env;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm <args>` in the repo root, in its own process group (as a terminal's foreground job is), output logged. */
function npm(args: string[], logName: string, env: NodeJS.ProcessEnv = userEnvironment()): Run {
  mkdirSync(resultsDir, { recursive: true });
  const log = createWriteStream(join(resultsDir, logName));
  const child = spawn(npmCommand, args, { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      log.write(chunk);
    });
  }
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      log.end();
      resolve({ code, signal });
    }),
  );
  return { child, output: () => output, exit };
}

/** Resolves after `ms` without keeping the test process alive (a pending 150 s timer held it open that long). */
function timer(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}

/**
 * Ctrl-C to the run's process group, then SIGKILL to every session its processes were in (`known`, taken earlier,
 * and what runs now), code-server's own included: nothing of a run outlives its test. Resolves to the exit, if any
 * came within STOP_TIMEOUT_MS.
 */
async function stopRun(run: Run, known: ProcessInfo[] = []): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  const pgid = run.child.pid ?? 0;
  const all = [...known, ...descendants(pgid)];
  killGroup(pgid, 'SIGINT');
  const exit = await Promise.race([run.exit, timer(STOP_TIMEOUT_MS)]);
  for (const sid of new Set([pgid, ...all.map((p) => p.sid)])) killGroup(sid, 'SIGKILL');
  return exit;
}

/** The exit of a run that should end by itself within `ms`; otherwise it is stopped and this throws with its output. */
async function exitWithin(run: Run, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exit = await Promise.race([run.exit, timer(ms)]);
  if (exit) return exit;
  await stopRun(run);
  throw new Error(`npm ${run.child.spawnargs.slice(1).join(' ')} was still running after ${ms / 1000} s:\n${tail(run.output())}`);
}

/** The URL `npm start` prints once VS Code answers; fails as soon as npm exits without printing one. */
async function printedUrl(run: Run): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  void run.exit.then(() => (exited = true));
  for (;;) {
    const url = /PeerKD is running in code-server: (http:\/\/\S+)/.exec(run.output())?.[1];
    if (url) return url;
    if (exited) throw new Error(`npm start exited before printing a URL:\n${tail(run.output())}`);
    if (Date.now() > deadline) throw new Error(`npm start printed no URL within ${START_TIMEOUT_MS / 1000} s:\n${tail(run.output())}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  command: string;
}

/** Every process on the machine, from /proc (Linux). */
function processes(): ProcessInfo[] {
  const list: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      list.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), command });
    } catch {
      // exited meanwhile
    }
  }
  return list;
}

/** The processes descending from `rootPid` (itself included). */
function descendants(rootPid: number): ProcessInfo[] {
  const all = processes();
  const found = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => found.has(p.pid));
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * A folder holding a fake `code` (at `subdir/code` when given) that writes its arguments to `calls.json`; the user's
 * environment with that folder first on PATH.
 */
function fakeCode(subdir = ''): { env: NodeJS.ProcessEnv; calls: () => string[] | undefined; dispose: () => void } {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'peerkd-fake-code-'));
  const binDir = join(dir, subdir);
  mkdirSync(binDir, { recursive: true });
  const callsFile = join(dir, 'calls.json');
  writeFileSync(
    join(binDir, 'code'),
    `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(callsFile)}, JSON.stringify(process.argv.slice(2)));\n`,
  );
  chmodSync(join(binDir, 'code'), 0o755);
  const env = userEnvironment();
  env.PATH = `${binDir}${delimiter}${env.PATH ?? ''}`;
  return {
    env,
    calls: () => (existsSync(callsFile) ? (JSON.parse(readFileSync(callsFile, 'utf8')) as string[]) : undefined),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe('npm start (the README\'s first command)', () => {
  test('an unknown argument fails at once, naming it', { timeout: 60_000 }, async () => {
    const run = npm(['start', '--', '--prot', '9000'], 'npm-start-bad-argument.log');
    const { code } = await exitWithin(run, 20_000);
    assert.notEqual(code, 0, tail(run.output()));
    assert.match(run.output(), /npm start failed: unknown argument '--prot'; usage: npm start/);
  });

  test('with desktop VS Code on PATH it builds and opens examples/ as an extension development host', { timeout: 120_000 }, async () => {
    const code = fakeCode();
    try {
      const run = npm(['start'], 'npm-start-desktop.log', code.env);
      const { code: status } = await exitWithin(run, 90_000);
      assert.equal(status, 0, tail(run.output()));
      assert.deepEqual(code.calls(), [`--extensionDevelopmentPath=${repoRoot}`, examplesDir]);
      assert.ok(existsSync(join(repoRoot, 'dist', 'extension.js')), 'no build before opening VS Code');
    } finally {
      code.dispose();
    }
  });

  test('a --port that is taken fails at once, naming the port, before any setup (code-server\'s remote `code` on PATH is not desktop)', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const blocker = await listen(port);
    // What PATH holds in a code-server terminal: the remote CLI, which cannot open a development host.
    const remoteCode = fakeCode(join('bin', 'remote-cli'));
    try {
      const run = npm(['start', '--', '--port', String(port)], 'npm-start-port-taken.log', remoteCode.env);
      const { code } = await exitWithin(run, 20_000);
      assert.notEqual(code, 0, tail(run.output()));
      assert.equal(remoteCode.calls(), undefined, 'npm start ran the remote CLI as if it were desktop VS Code');
      assert.match(run.output(), new RegExp(`npm start failed: port ${port} on 127\\.0\\.0\\.1 is in use`));
      assert.doesNotMatch(run.output(), /packaging/, 'it packaged the extension before checking the port');
    } finally {
      blocker.close();
      remoteCode.dispose();
    }
  });

  test('serves VS Code with PeerKD activated on the printed URL; Ctrl-C stops it all', { timeout: START_TIMEOUT_MS + 180_000 }, async () => {
    const port = await freePort();
    const run = npm(['start', '--', '--port', String(port)], 'npm-start.log');
    const pgid = run.child.pid;
    assert.ok(pgid, 'npm did not start');
    let browser: Browser | undefined;
    let started: ProcessInfo[] = [];
    try {
      const url = await printedUrl(run);
      assert.equal(new URL(url).port, String(port), `the URL ${url} is not on the asked port`);
      assert.equal(new URL(url).searchParams.get('folder'), examplesDir);

      browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      const workbench = new Workbench(page, context, examplesDir, 'npm start');
      page.setDefaultTimeout(10_000);
      // A fresh profile asks whether to trust examples/ (npm start keeps workspace trust on, so any other folder
      // opened in that code-server is asked about too); a user answers yes. The log channel exists only once
      // activate() ran, and "Show Log" is a command of ours that executes.
      const trust = page.locator('.monaco-dialog-box .monaco-button', { hasText: /^\s*Yes, I trust the authors\s*$/ }).first();
      try {
        await waitFor(
          async () => {
            if (await trust.isVisible()) await trust.click();
            if (await page.locator('.monaco-dialog-box').isVisible()) return false;
            await workbench.runCommand('PeerKD: Show Log', { timeoutMs: 10_000 });
            return waitFor(async () => /PeerKD \S+ activated/.test(await workbench.visibleOutputText()), { timeoutMs: 10_000 });
          },
          { timeoutMs: 90_000, intervalMs: 1_000, message: 'PeerKD: Show Log to show the activation line' },
        );
      } catch (error) {
        await workbench.screenshot('npm-start-failure').catch(() => undefined);
        throw error;
      }
      await workbench.screenshot('npm-start');

      // Everything npm start runs now, code-server and the extension host it started for this window included.
      started = descendants(pgid);
      assert.ok(started.some((p) => /code-server/.test(p.command)), `no code-server process under npm start:\n${started.map((p) => p.command).join('\n')}`);
      assert.ok(started.some((p) => /extensionHost/.test(p.command)), `no extension host under npm start:\n${started.map((p) => p.command).join('\n')}`);
      await browser.close();
      browser = undefined;

      // Ctrl-C: the terminal sends SIGINT to the foreground process group, i.e. to npm and what it runs directly.
      killGroup(pgid, 'SIGINT');
      const stopped = await Promise.race([run.exit, timer(STOP_TIMEOUT_MS)]);
      assert.ok(stopped, `npm start did not exit within ${STOP_TIMEOUT_MS / 1000} s of Ctrl-C:\n${tail(run.output())}`);
      // 130 is npm's answer to SIGINT; 0 if it exited first. A failure would print "npm start failed" or "npm error".
      assert.ok(stopped.code === 0 || stopped.code === 130 || stopped.signal === 'SIGINT', `npm start ended with ${JSON.stringify(stopped)}`);
      assert.doesNotMatch(run.output(), /npm start failed|npm error/, tail(run.output()));

      const sessions = new Set(started.map((p) => p.sid));
      const pids = new Set(started.map((p) => p.pid));
      const left = await waitFor(
        () => {
          const remaining = processes().filter((p) => sessions.has(p.sid) || pids.has(p.pid));
          return remaining.length === 0 ? [] : undefined;
        },
        { timeoutMs: 10_000, message: 'every process of npm start to exit' },
      ).catch(() => processes().filter((p) => sessions.has(p.sid) || pids.has(p.pid)));
      assert.deepEqual(left.map((p) => `${p.pid} ${p.command}`), [], 'processes left running after Ctrl-C');
      assert.equal(await portAnswers(port), false, `something still listens on port ${port} after Ctrl-C`);
    } finally {
      await browser?.close().catch(() => undefined);
      // Whatever happened above, nothing of this run outlives the test.
      await stopRun(run, started);
    }
  });

  test('npm run package writes a .vsix with the extension', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'peerkd-package-'));
    try {
      const out = join(dir, 'peerkd.vsix');
      const run = npm(['run', 'package', '--', '--out', out], 'npm-run-package.log');
      const { code } = await exitWithin(run, 150_000);
      assert.equal(code, 0, tail(run.output()));
      assert.ok(existsSync(out), `${out} was not written:\n${tail(run.output())}`);
      const names = zipEntries(out).map((e) => e.name);
      for (const required of ['extension/package.json', 'extension/dist/extension.js']) assert.ok(names.includes(required), `${required} missing`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
