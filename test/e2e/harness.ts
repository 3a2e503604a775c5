/**
 * End-to-end harness: the packaged extension in code-server 4.100.3 (VS Code 1.100.3), shown in Debian's Chromium
 * and driven by playwright-core. One code-server and one browser serve a whole run; every flow gets a fresh copy of
 * its fixture workspace and a fresh browser context. See test/e2e/README.md for how to add a flow.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';

export const repoRoot = resolve(__dirname, '..', '..');
export const fixturesRoot = join(repoRoot, 'test', 'fixtures', 'e2e');
export const resultsDir = join(repoRoot, 'test-results', 'e2e');
export const readmeImagesDir = join(repoRoot, 'docs', 'images');
export const codeServerBin = join(repoRoot, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server');
export const chromiumPath = process.env.PEERKD_CHROMIUM ?? '/usr/bin/chromium';
export const EXTENSION_ID = 'peerkd.peerkd';

/** `PEERKD_UPDATE_SCREENSHOTS=1` (which `npm run test:e2e -- --update-screenshots` sets) refreshes the README images. */
export const updateReadmeScreenshots = process.env.PEERKD_UPDATE_SCREENSHOTS === '1';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** User settings that keep welcome pages, tips and update checks from covering what a flow looks at. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
};

// ---------------------------------------------------------------------------------------------------------------
// Flows

export interface Flow {
  /** Shown as the test name. */
  name: string;
  /** Folder under test/fixtures/e2e/ copied into a fresh workspace for this flow. */
  fixture: string;
  /** Default 180 s. */
  timeoutMs?: number;
  /** Called after the workspace is copied and before the workbench opens (e.g. to write absolute paths into it). */
  prepare?(workspaceDir: string, session: E2ESession): void | Promise<void>;
  run(workbench: Workbench, t: import('node:test').TestContext): Promise<void>;
}

/** Identity helper so flow files get type checking: `export default defineFlow({ ... })`. */
export function defineFlow(flow: Flow): Flow {
  return flow;
}

// ---------------------------------------------------------------------------------------------------------------
// Small utilities

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
}

/**
 * Thrown by a probe of `waitFor` to stop waiting at once: what was awaited can no longer come (a run that failed will
 * not say "done"). Any other error of a probe is kept as the last error and the polling goes on.
 */
export class WaitAborted extends Error {}

/** Polls `probe` until it returns something other than undefined/null/false; throws after the timeout. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 250, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      if (error instanceof WaitAborted) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}${cause}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * `promise`, or `fallback` once `ms` have passed (or when it rejects): for what a failure report reads from a page that
 * may be hung, so that the report never hangs and never hides the error it reports.
 */
export async function bounded<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolveLate) => (timer = setTimeout(() => resolveLate(fallback), ms)));
  try {
    return await Promise.race([promise.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `error` with `more` added to its message, keeping its stack frames (the flow's lines), for a wait's timeout. */
export function withDetails(error: unknown, more: string): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const wrapped = new Error(`${original.message}\n${more}`);
  const frames = (original.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  wrapped.stack = `Error: ${wrapped.message}\n${frames.join('\n')}`;
  return wrapped;
}

/** One notification as a line: `error "PeerKD: …" [Open Log]` (the message cut to 300 characters). */
export function describeNotification(entry: NotificationEntry): string {
  const message = entry.message.length > 300 ? `${entry.message.slice(0, 300)}…` : entry.message;
  return `${entry.severity} ${JSON.stringify(message)}${entry.buttons.length ? ` [${entry.buttons.join(', ')}]` : ''}`;
}

/** What the workbench showed a user, as the line a timeout error and a failure report give. */
export function describeScreen(state: ScreenState): string {
  const list = (entries: NotificationEntry[]): string => (entries.length ? entries.map(describeNotification).join('; ') : 'none');
  const parts = [];
  if (state.dialog) parts.push(`dialog: ${JSON.stringify(state.dialog)}`);
  parts.push(`toasts: ${list(state.toasts)}`);
  parts.push(`notification centre: ${state.centre ? list(state.centre) : 'not read'}`);
  return `on screen: ${parts.join(' | ')}`;
}

/** A regular expression matching exactly `text` (after trimming), for Playwright's `hasText`. */
export function exactText(text: string): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

/** `text` with the characters a RegExp reads as syntax escaped. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function runChecked(command: string, args: string[], cwd = repoRoot): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_yes: 'true' } });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** File names inside a .vsix (a zip), read from its central directory. */
export function zipEntries(zipPath: string): { name: string; size: number }[] {
  const data = readFileSync(zipPath);
  let end = data.length - 22;
  while (end >= 0 && data.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${zipPath} is not a zip file`);
  const count = data.readUInt16LE(end + 10);
  let offset = data.readUInt32LE(end + 16);
  const entries: { name: string; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    if (data.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory entry ${i}`);
    const size = data.readUInt32LE(offset + 24);
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    entries.push({ name: data.toString('utf8', offset + 46, offset + 46 + nameLength), size });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * Packages a folder holding an extension manifest into `outFile` with scripts/lib/vsix.mjs, the function `npm start`
 * and `npm run package` use too; resolves to the .vsix path.
 */
export async function packageVsix(extensionDir: string, outFile: string): Promise<string> {
  const vsix = await import('../../scripts/lib/vsix.mjs');
  return vsix.packageVsix(extensionDir, outFile);
}

// ---------------------------------------------------------------------------------------------------------------
// The session: code-server + Chromium, shared by every flow of a run

export interface SessionOptions {
  /** Extra .vsix files installed next to PeerKD (e.g. the test-runner extension). */
  extraVsix?: string[];
}

export class E2ESession {
  readonly url: string;
  private workspaceCount = 0;
  /** The packaged PeerKD extension that was installed. */
  readonly vsixPath: string;

  private constructor(
    readonly baseDir: string,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    readonly port: number,
    vsixPath: string,
    private readonly server: ChildProcess,
    readonly browser: Browser,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.vsixPath = vsixPath;
  }

  /** Packages PeerKD, installs it into a fresh code-server profile, starts code-server and Chromium. */
  static async start(options: SessionOptions = {}): Promise<E2ESession> {
    if (!existsSync(codeServerBin)) {
      throw new Error(`code-server is not installed at ${codeServerBin}; run \`npm test\` or \`npm run test:e2e\` to set it up`);
    }
    mkdirSync(resultsDir, { recursive: true });
    const baseDir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'peerkd-e2e-'));
    const userDataDir = join(baseDir, 'user-data');
    const extensionsDir = join(baseDir, 'extensions');
    mkdirSync(join(userDataDir, 'User'), { recursive: true });
    mkdirSync(extensionsDir, { recursive: true });
    writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));

    const vsixPath = join(baseDir, 'peerkd.vsix');
    try {
      await packageVsix(repoRoot, vsixPath);
      const installArgs = ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir];
      for (const vsix of [vsixPath, ...(options.extraVsix ?? [])]) installArgs.push('--install-extension', vsix);
      runChecked(codeServerBin, installArgs);
    } catch (error) {
      rmSync(baseDir, { recursive: true, force: true });
      throw error;
    }

    const port = await freePort();
    const serverLog = createWriteStream(join(resultsDir, 'code-server.log'));
    const server = spawn(
      codeServerBin,
      [
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--disable-workspace-trust',
        '--disable-telemetry',
        '--disable-update-check',
        // Its own config file, so code-server does not write ~/.config/code-server/config.yaml.
        '--config', join(baseDir, 'config.yaml'),
        '--user-data-dir', userDataDir,
        '--extensions-dir', extensionsDir,
      ],
      { cwd: baseDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout?.pipe(serverLog);
    server.stderr?.pipe(serverLog);
    const killServer = (): void => {
      try {
        if (server.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    process.once('exit', killServer);
    // Ctrl-C or a kill ends node without 'exit' handlers unless a signal handler is installed: stop the server too.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        killServer();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    }

    let browser: Browser | undefined;
    try {
      await waitFor(
        async () => {
          if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}; see ${join(resultsDir, 'code-server.log')}`);
          const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
          return response?.ok;
        },
        { timeoutMs: 60_000, message: 'code-server to answer /healthz' },
      );
      browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    } catch (error) {
      killServer();
      rmSync(baseDir, { recursive: true, force: true });
      throw error;
    }
    return new E2ESession(baseDir, userDataDir, extensionsDir, port, vsixPath, server, browser);
  }

  /** Copies a fixture into a fresh workspace folder and opens it in a new browser context. */
  async openWorkbench(flow: Pick<Flow, 'name' | 'fixture' | 'prepare'>): Promise<Workbench> {
    const source = join(fixturesRoot, flow.fixture);
    if (!existsSync(source)) throw new Error(`Fixture folder ${relative(repoRoot, source)} does not exist`);
    // The folder keeps the fixture's name: it is what the Explorer and the window title show in screenshots.
    const workspaceDir = join(this.baseDir, 'workspaces', `${++this.workspaceCount}-${slug(flow.name)}`, flow.fixture);
    cpSync(source, workspaceDir, { recursive: true });
    await flow.prepare?.(workspaceDir, this);
    const context = await this.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const workbench = new Workbench(page, context, workspaceDir, flow.name);
    await page.goto(`${this.url}/?folder=${encodeURIComponent(workspaceDir)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // The explorer shows the folder once the remote connection and the file service are up.
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
    return workbench;
  }

  /**
   * The log file of the PeerKD output channel of the extension host that started last: the window of the flow that
   * runs now (each browser window gets its own host, `<user-data>/logs/<start>/exthost<N>/peerkd.peerkd/PeerKD.log`).
   */
  peerkdLogFile(): string | undefined {
    const logsDir = join(this.userDataDir, 'logs');
    let best: { file: string; key: [string, number] } | undefined;
    for (const started of safeReaddir(logsDir)) {
      for (const host of safeReaddir(join(logsDir, started))) {
        const number = /^exthost(\d+)$/.exec(host);
        if (!number) continue;
        // The newest host, with a PeerKD log or not: an older window's log would tell another flow's story (CI once
        // printed the previous flow's runs for a flow whose window never activated PeerKD).
        const file = join(logsDir, started, host, EXTENSION_ID, 'PeerKD.log');
        const key: [string, number] = [started, Number(number[1])];
        if (!best || key[0] > best.key[0] || (key[0] === best.key[0] && key[1] > best.key[1])) best = { file, key };
      }
    }
    return best?.file;
  }

  /**
   * A compact account of what the user saw when a flow failed, for the test log: the notifications (toasts and the
   * notification centre, opened for it), a modal dialog, the end of the PeerKD log, the training workers alive and the
   * machine's load. Best-effort: each part has a short time limit, and it never throws.
   */
  async failureReport(workbench: Workbench | undefined, options: { logLines?: number } = {}): Promise<string> {
    const lines: string[] = [];
    try {
      if (workbench) lines.push(describeScreen(await bounded(workbench.screenState({ openCentre: true }), 20_000, { toasts: [] })));
      else lines.push('on screen: no workbench (it did not open)');
    } catch (error) {
      lines.push(`on screen: could not be read (${error instanceof Error ? error.message : String(error)})`);
    }
    const count = options.logLines ?? 40;
    try {
      const file = this.peerkdLogFile();
      if (!file) lines.push('PeerKD log: no extension host log folder under the profile');
      else if (!existsSync(file)) lines.push(`PeerKD log: none in this window's extension host (${relative(this.baseDir, dirname(dirname(file)))}): PeerKD did not activate there`);
      else {
        const all = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '');
        lines.push(`PeerKD log, last ${Math.min(count, all.length)} of ${all.length} lines (${relative(this.baseDir, file)}):`);
        for (const line of all.slice(-count).map((l) => l.split(this.baseDir).join('<e2e>'))) lines.push(`  ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
      }
    } catch (error) {
      lines.push(`PeerKD log: could not be read (${error instanceof Error ? error.message : String(error)})`);
    }
    lines.push(`training workers (dist/worker.js): ${workerProcesses(this.extensionsDir)}`);
    const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);
    lines.push(`machine: load ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores, ${gib(freemem())} of ${gib(totalmem())} GiB memory free`);
    return lines.join('\n');
  }

  /** Closes the browser, stops code-server and removes the temporary profile and workspaces. */
  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    if (this.server.pid && this.server.exitCode === null) {
      const exited = new Promise((r) => this.server.once('exit', r));
      try {
        process.kill(-this.server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      try {
        process.kill(-this.server.pid, 'SIGKILL');
      } catch {
        // exited after SIGTERM
      }
    }
    if (process.env.PEERKD_E2E_KEEP !== '1') rmSync(this.baseDir, { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The PeerKD training workers alive (`ps`): pid, age, CPU, memory and command line of each, or "none"; those of this
 * session's extension (under `extensionsDir`) marked "ours" (others load the machine too).
 */
function workerProcesses(extensionsDir: string): string {
  const ps = spawnSync('ps', ['-eo', 'pid=,etimes=,pcpu=,rss=,args='], { encoding: 'utf8', timeout: 5_000 });
  if (ps.status !== 0 || !ps.stdout) return `ps did not answer (${ps.error?.message ?? `exit ${ps.status}`})`;
  const workers = ps.stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && /dist\/worker\.js/.test(match[5]))
    .map(([, pid, seconds, cpu, rss, args]) => `${args.includes(extensionsDir) ? 'ours: ' : ''}pid ${pid}, up ${seconds} s, ${cpu}% CPU, ${Math.round(Number(rss) / 1024)} MiB: ${args.slice(0, 200)}`);
  return workers.length ? workers.join('; ') : 'none';
}

// ---------------------------------------------------------------------------------------------------------------
// The workbench a flow drives

export interface ProblemEntry {
  /** File name as the Problems panel shows it (e.g. `problems.jsonl`). */
  file: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  /** 1-based, as shown ("[Ln 2, Col 1]"). */
  line: number;
  column: number;
  /** The diagnostic's source (e.g. "PeerKD"), when set. */
  source?: string;
  /** The diagnostic's code, when set. */
  code?: string;
}

export interface NotificationEntry {
  message: string;
  /** The notification's source line (e.g. "PeerKD Label Review"), when shown. */
  source?: string;
  severity: 'error' | 'warning' | 'info';
  buttons: string[];
}

export interface NotificationWaitOptions extends WaitOptions {
  /**
   * Called with the notifications of each poll: a reason (a string) stops the wait at once with an error giving it and
   * what the screen shows, e.g. a run that failed instead of saying "done".
   */
  abortIf?(notifications: NotificationEntry[]): string | undefined | Promise<string | undefined>;
  /**
   * The notifications on screen before the action waited on (`notifications()`): a match counts only when more of its
   * message show than did then (newNotifications), e.g. a second run's "done." while the first run's is still up.
   */
  since?: NotificationEntry[];
}

/**
 * Picks, from each poll of the notifications, those that are not among `earlier` (read before the action), counted by
 * message as a message can repeat. One of theirs that went since (a toast hides after 15–18 s) is forgotten, so a new
 * notification with its text counts.
 */
export function newNotifications(earlier: NotificationEntry[]): (entries: NotificationEntry[]) => NotificationEntry[] {
  const old = new Map<string, number>();
  for (const entry of earlier) old.set(entry.message, (old.get(entry.message) ?? 0) + 1);
  return (entries) => {
    const now = new Map<string, number>();
    for (const entry of entries) now.set(entry.message, (now.get(entry.message) ?? 0) + 1);
    for (const [message, count] of old) old.set(message, Math.min(count, now.get(message) ?? 0));
    const taken = new Map<string, number>();
    return entries.filter((entry) => {
      const nth = (taken.get(entry.message) ?? 0) + 1;
      taken.set(entry.message, nth);
      return nth > (old.get(entry.message) ?? 0);
    });
  };
}

/** What a user sees of the workbench's messages (Workbench.screenState). */
export interface ScreenState {
  /** Toasts on screen. */
  toasts: NotificationEntry[];
  /** The notification centre's entries (every notification of the window, toasts gone included); undefined: not read. */
  centre?: NotificationEntry[];
  /** The text of a modal dialog (`.monaco-dialog-box`) on screen. */
  dialog?: string;
}

export interface WebviewOptions {
  /** A selector that must exist inside the webview's content frame (picks the right webview). */
  selector?: string;
  timeoutMs?: number;
}

export class Workbench {
  constructor(
    readonly page: Page,
    readonly context: BrowserContext,
    /** Absolute path of this flow's fresh workspace copy, on the machine that runs code-server (this one). */
    readonly workspaceDir: string,
    readonly flowName: string,
  ) {}

  /** Absolute path of a workspace-relative file. */
  path(relativePath: string): string {
    return join(this.workspaceDir, relativePath);
  }

  /** Reads a workspace file from disk (what was really saved, not what the editor shows). */
  readFile(relativePath: string): string {
    return readFileSync(this.path(relativePath), 'utf8');
  }

  writeFile(relativePath: string, text: string): void {
    writeFileSync(this.path(relativePath), text);
  }

  /** Opens a workspace file through Quick Open (Ctrl+P) and waits for its editor tab to be active. */
  async openFile(relativePath: string): Promise<void> {
    const name = relativePath.split('/').pop() ?? relativePath;
    await this.focusWorkbench();
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(relativePath);
    await waitFor(
      async () => (await this.page.locator('.quick-input-list .monaco-list-row').count()) > 0,
      { message: `Quick Open to find ${relativePath}` },
    );
    await this.page.keyboard.press('Enter');
    await this.page
      .locator(`.tabs-container .tab.active[data-resource-name="${name}"]`)
      .waitFor({ state: 'visible', timeout: 30_000 });
  }

  /**
   * Clicks the tab of the file `name` and waits until its editor holds the keyboard focus: a `.monaco-editor.focused`
   * somewhere is not enough, as under load the keys went to the other group's editor (or the panel) meanwhile.
   */
  async focusEditor(name: string): Promise<void> {
    const tab = this.page.locator(`.tabs-container .tab[data-resource-name="${name}"]`).first();
    await waitFor(
      async () => {
        await tab.click();
        // A string, as the tests' types know no DOM.
        return this.page.evaluate(`(() => {
          const active = document.activeElement;
          const group = active && active.closest('.editor-group-container');
          const tab = group && group.querySelector('.tabs-container .tab.active');
          return Boolean(active && active.closest('.monaco-editor.focused')) && Boolean(tab) && tab.getAttribute('data-resource-name') === ${JSON.stringify(name)};
        })()`);
      },
      { timeoutMs: 30_000, message: `the editor of ${name} to take the keys` },
    );
  }

  /** Opens the command palette with `>` and `filter` typed; returns the visible entries' labels. Leaves it open. */
  private async openPalette(filter: string): Promise<void> {
    await this.focusWorkbench();
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${filter}`);
  }

  private async paletteLabels(): Promise<string[]> {
    return this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row .quick-input-list-label .label-name')
      .allInnerTexts()
      .then((labels) => labels.map((label) => label.replace(/\s+/g, ' ').trim()).filter((label) => label !== 'No matching commands'));
  }

  /**
   * Lists the command palette entries matching `filter` (e.g. "PeerKD:"), as shown ("PeerKD: Validate Dataset").
   * The list is virtualised: keep the filter narrow enough for the matches to fit (about 15 entries).
   */
  async listCommands(filter: string, options: WaitOptions = {}): Promise<string[]> {
    // Contributions of extensions arrive a moment after the workbench renders and an open palette does not refresh:
    // reopen it until its entries are there and stable.
    let labels: string[] = [];
    await waitFor(
      async () => {
        await this.openPalette(filter);
        await this.page.waitForTimeout(500);
        const first = await this.paletteLabels();
        await this.page.waitForTimeout(300);
        labels = await this.paletteLabels();
        await this.page.keyboard.press('Escape');
        return labels.length > 0 && first.join('\n') === labels.join('\n');
      },
      { timeoutMs: 20_000, intervalMs: 500, message: `palette entries for "${filter}"`, ...options },
    ).catch(() => undefined);
    return labels;
  }

  /** Runs a command from the palette by its full title as shown, e.g. "PeerKD: Validate Dataset". */
  async runCommand(title: string, options: WaitOptions = {}): Promise<void> {
    await waitFor(
      async () => {
        await this.openPalette(title);
        const found = await waitFor(async () => (await this.paletteLabels()).includes(title), { timeoutMs: 2_000 }).catch(() => false);
        if (!found) await this.page.keyboard.press('Escape');
        return found;
      },
      { timeoutMs: 20_000, intervalMs: 300, message: `the palette entry "${title}"`, ...options },
    );
    await this.pickQuickItem(title);
    // The palette closes when it runs the command; a command may open its own quick input at once, whose value is not
    // the palette's filter. A palette still showing `>title` after the click lost the click (under load): click once
    // more, then say so, rather than letting the flow wait minutes for the command's effect.
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    const paletteStillOpen = async (): Promise<boolean> =>
      (await this.page.locator('.quick-input-widget').isVisible().catch(() => false)) && (await input.inputValue().catch(() => '')) === `>${title}`;
    for (let attempt = 1; ; attempt++) {
      const closed = await waitFor(async () => !(await paletteStillOpen()), { timeoutMs: 10_000, intervalMs: 200 }).then(() => true, () => false);
      if (closed) return;
      if (attempt === 2) throw new Error(`the command palette still shows "${title}" after it was clicked twice: the command did not run`);
      await this.pickQuickItem(title);
    }
  }

  /** Clicks the item of the open quick pick (palette, a command's choices) whose label is exactly `label`. */
  async pickQuickItem(label: string): Promise<void> {
    await this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactText(label) }) })
      .first()
      .click();
  }

  /**
   * Shows the hover at the cursor (Ctrl+K Ctrl+I) until one holding `hasText` is visible, up to three tries (the
   * first press can land before the hover provider is ready); returns its text.
   */
  async showHover(hasText: string | RegExp): Promise<string> {
    const hover = this.page.locator('.monaco-hover:not(.hidden)').filter({ hasText }).first();
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Control+K');
      await this.page.keyboard.press('Control+I');
      try {
        await hover.waitFor({ state: 'visible', timeout: 8_000 });
        break;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    return hover.innerText();
  }

  /**
   * Asks for the quick fixes at the cursor of the focused editor (Ctrl+.) and waits until the menu lists `hasText`;
   * returns the menu. Under load VS Code 1.100 sometimes answers Ctrl+. with "No code actions available" although the
   * line has fixes, whose lightbulb shows beside the message (fields-quick-fix: 3 of 13 runs beside two busy loops; the
   * screenshot of an earlier CI failure shows the same). That answer is asked again, at most three times; a menu that
   * does not list `hasText` is not.
   */
  async openQuickFixes(hasText: string): Promise<Locator> {
    const menu = this.page.locator('.action-widget').first();
    // (The answer of the press before fades out for 110 ms: not this press's.)
    const noActions = this.page.locator('.monaco-editor-overlaymessage:not(.fadeOut)', { hasText: 'No code actions available' }).first();
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Control+.');
      const answer = await waitFor(async () => ((await menu.isVisible()) ? 'menu' : (await noActions.isVisible()) ? 'none' : undefined), {
        timeoutMs: 15_000,
        message: 'the quick-fix menu after Ctrl+.',
      });
      if (answer === 'menu') break;
      if (attempt === 3) throw new Error(`Ctrl+. answered "No code actions available" ${attempt} times (looking for '${hasText}')`);
      console.log(`${this.flowName}: Ctrl+. answered "No code actions available" (try ${attempt}); asking again`);
    }
    let listed = '';
    await waitFor(async () => (listed = await menu.innerText().catch(() => '')).includes(hasText), { message: `the quick-fix menu to list '${hasText}'` }).catch(
      (error: Error) => {
        throw new Error(`${error.message}; it lists: ${JSON.stringify(listed)}`);
      },
    );
    return menu;
  }

  /**
   * Applies the quick fix `title` of the menu openQuickFixes returned, by key (a click can hit the context view's
   * pointer block). It must be the focused entry (the preferred fix is focused when the menu opens); with `moveTo`, the
   * focus is moved down to it first (several fixes on one line). Fails at once if the menu closed.
   */
  async applyQuickFix(menu: Locator, title: string, options: { moveTo?: boolean } = {}): Promise<void> {
    // Read without Playwright's auto-wait: a menu gone or still without a focused row answers at once, not in 30 s.
    const focused = (): Promise<string | null> =>
      menu.evaluate((element) => element.querySelector('.monaco-list-row.focused')?.getAttribute('aria-label') ?? null, undefined, { timeout: 1_000 }).catch(() => null);
    let last: string | null = null;
    await waitFor(
      async () => {
        if (!(await menu.isVisible())) throw new Error(`the quick-fix menu closed before '${title}' was applied`);
        last = await focused();
        if (last === title) return true;
        if (options.moveTo && last !== null) await this.page.keyboard.press('ArrowDown');
        return false;
      },
      { timeoutMs: 15_000, message: `'${title}' to be the focused quick fix` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the focused entry: ${JSON.stringify(last)}`);
    });
    await this.page.keyboard.press('Enter');
  }

  /** Shows the Problems panel (Ctrl+Shift+M). */
  async openProblems(): Promise<void> {
    if (!(await this.page.locator('.markers-panel').isVisible().catch(() => false))) {
      await this.focusWorkbench();
      await this.page.keyboard.press('Control+Shift+M');
    }
    await this.page.locator('.markers-panel').waitFor({ state: 'visible', timeout: 15_000 });
  }

  /**
   * The entries of the Problems panel (opening it if needed), in display order. Tree rows for files are folded in as
   * each entry's `file`. Virtualised list: only rows on screen are read, so keep fixtures to a screenful of problems.
   */
  async problems(): Promise<ProblemEntry[]> {
    await this.openProblems();
    return this.page.locator('.markers-panel .monaco-list-row').evaluateAll((rows) => {
      const entries: ProblemEntry[] = [];
      let file = '';
      for (const row of rows) {
        const marker = row.querySelector('.marker-message-details-container');
        if (!marker) {
          file = (row.querySelector('.label-name')?.textContent ?? '').trim();
          continue;
        }
        const iconClass = row.querySelector('.marker-icon')?.className ?? '';
        const severity = /error/.test(iconClass) ? 'error' : /warning/.test(iconClass) ? 'warning' : 'info';
        const message = [...marker.querySelectorAll('.marker-message')].map((part) => (part.textContent ?? '').trim()).join('\n');
        const position = (marker.querySelector('.marker-line')?.textContent ?? '').match(/Ln\s*(\d+),\s*Col\s*(\d+)/);
        const source = (marker.querySelector('.marker-source')?.textContent ?? '').trim() || undefined;
        const code = (marker.querySelector('.marker-code')?.textContent ?? '').replace(/[()]/g, '').trim() || undefined;
        entries.push({
          file,
          severity,
          message,
          line: position ? Number(position[1]) : 0,
          column: position ? Number(position[2]) : 0,
          source,
          code,
        });
      }
      return entries;
    });
  }

  /** Polls the Problems panel until `predicate` holds for its entries; returns them. */
  async waitForProblems(predicate: (entries: ProblemEntry[]) => boolean, options: WaitOptions = {}): Promise<ProblemEntry[]> {
    let last: ProblemEntry[] = [];
    try {
      return await waitFor(
        async () => {
          last = await this.problems();
          return predicate(last) ? last : undefined;
        },
        { timeoutMs: 30_000, ...options, message: options.message ?? 'the expected problems' },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; the panel shows: ${JSON.stringify(last, null, 1)}`);
    }
  }

  /** Notification toasts on screen now (and, if the notification centre is open, its entries). */
  async notifications(): Promise<NotificationEntry[]> {
    return this.readNotifications('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item');
  }

  private async readNotifications(selector: string, onlyVisible = false): Promise<NotificationEntry[]> {
    const entries = await this.page.locator(selector).evaluateAll((items) =>
      items.map((item) => {
        const iconClass = item.querySelector('.notification-list-item-icon')?.className ?? '';
        return {
          message: (item.querySelector('.notification-list-item-message')?.textContent ?? '').trim(),
          source: (item.querySelector('.notification-list-item-source')?.textContent ?? '').trim() || undefined,
          severity: /error/.test(iconClass) ? ('error' as const) : /warning/.test(iconClass) ? ('warning' as const) : ('info' as const),
          buttons: [...item.querySelectorAll('.notification-list-item-buttons-container .monaco-button')].map((b) => (b.textContent ?? '').trim()),
          visible: item.getClientRects().length > 0,
        };
      }),
    );
    return entries.filter((entry) => !onlyVisible || entry.visible).map(({ visible: _visible, ...entry }) => entry);
  }

  /**
   * What a user sees of the workbench's messages: the toasts on screen, the notification centre's entries and a modal
   * dialog's text. With `openCentre`, a centre that is closed is opened to be read (Notifications: Show Notifications)
   * and closed again; without it, the centre is read only when it is open. Best-effort: a page that does not answer
   * within the time gives what was read (it never throws, and returns within about 15 s).
   */
  async screenState(options: { openCentre?: boolean } = {}): Promise<ScreenState> {
    const short = (entries: NotificationEntry[]): NotificationEntry[] => entries.map((entry) => ({ ...entry, message: this.shortPaths(entry.message) }));
    const toasts = short(await bounded(this.readNotifications('.notifications-toasts .notification-list-item', true), 3_000, []));
    const dialog = await this.dialogText().then((text) => text && this.shortPaths(text));
    const centre = this.page.locator('.notifications-center.visible');
    let entries: NotificationEntry[] | undefined;
    if (await bounded(centre.isVisible(), 2_000, false)) {
      entries = await bounded(this.readNotifications('.notifications-center .notification-list-item').then(short), 3_000, undefined);
    } else if (options.openCentre && !dialog) {
      // A modal dialog takes the keys: the palette cannot open behind it.
      const opened = await bounded(this.runCommand('Notifications: Show Notifications', { timeoutMs: 5_000 }).then(() => true), 8_000, false);
      // Left open: VS Code hides the toasts for good when the centre opens, and a failure screenshot shows the centre.
      if (opened && (await bounded(centre.waitFor({ state: 'visible', timeout: 2_000 }).then(() => true), 3_000, false))) {
        entries = await bounded(this.readNotifications('.notifications-center .notification-list-item').then(short), 3_000, undefined);
      }
    }
    return { toasts, centre: entries, dialog };
  }

  /** The text of the modal dialog on screen, `message — detail [buttons]`, or undefined when none is. Never throws. */
  async dialogText(): Promise<string | undefined> {
    const box = this.page.locator('.monaco-dialog-box').first();
    if (!(await bounded(box.isVisible(), 2_000, false))) return undefined;
    // No named function inside: tsx would wrap it in a helper (__name) that the page does not have.
    const structured = await bounded(
      box.evaluate((element) => {
        const message = [...element.querySelectorAll('.dialog-message-text, .dialog-message-detail')].map((e) => (e.textContent ?? '').trim()).filter(Boolean);
        const buttons = [...element.querySelectorAll('.dialog-buttons .monaco-button')].map((e) => (e.textContent ?? '').trim()).filter(Boolean);
        return message.join(' — ') + (buttons.length ? ` [${buttons.join(', ')}]` : '');
      }),
      3_000,
      '',
    );
    const text = structured || (await bounded(box.innerText({ timeout: 2_000 }), 3_000, ''));
    return (text ?? '').replace(/\s*\n\s*/g, ' ') || '(a dialog whose text could not be read)';
  }

  /** `text` with this flow's workspace folder left out of the paths in it (messages name files by absolute path). */
  shortPaths(text: string): string {
    return text.split(`${this.workspaceDir}/`).join('').split(this.workspaceDir).join('<workspace>');
  }

  /**
   * Waits for a notification whose message matches. On timeout (or when `abortIf` gives a reason) the error says what
   * the screen showed: the toasts, the notification centre's entries (it is opened for that), a modal dialog.
   */
  async waitForNotification(match: RegExp | string, options: NotificationWaitOptions = {}): Promise<NotificationEntry> {
    const { abortIf, since, ...waitOptions } = options;
    const matches = (message: string): boolean => (typeof match === 'string' ? message.includes(match) : match.test(message));
    const fresh = since ? newNotifications(since) : (entries: NotificationEntry[]) => entries;
    const awaited = options.message ?? `a notification matching ${String(match)}`;
    try {
      return await waitFor(
        async () => {
          const entries = await this.notifications();
          const found = fresh(entries).find((n) => matches(n.message));
          if (found) return found;
          const reason = await abortIf?.(entries);
          if (reason) throw new WaitAborted(`${reason} (stopped waiting for ${awaited})`);
          return undefined;
        },
        { timeoutMs: 30_000, ...waitOptions, message: awaited },
      );
    } catch (error) {
      // What the screen shows is added to the error; reading it must never replace the error.
      const state: ScreenState = await this.screenState({ openCentre: true }).catch(() => ({ toasts: [] }));
      // A toast that goes (after 15-18 s) between two looks at the screen stays in the centre: say so, it is a race.
      const missed = error instanceof WaitAborted ? undefined : state.centre?.find((n) => matches(n.message));
      const hint = missed ? ' | the notification centre holds a match: its toast came and went unseen' : '';
      throw withDetails(error, describeScreen(state) + hint);
    }
  }

  /** Clicks a button (by its label) on the notification whose message matches. */
  async clickNotificationButton(match: RegExp | string, buttonLabel: string): Promise<void> {
    await this.waitForNotification(match);
    const item = this.page
      .locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item')
      .filter({ has: this.page.locator('.notification-list-item-message', { hasText: match }) })
      .first();
    await item.locator('.notification-list-item-buttons-container .monaco-button', { hasText: buttonLabel }).first().click();
  }

  /**
   * The content frame of a webview panel. VS Code nests it: an outer iframe (`.webview`) hosts the inner
   * `active-frame` that holds the extension's HTML. Pass a selector from the panel's HTML to pick the right one.
   */
  async webviewFrame(options: WebviewOptions = {}): Promise<Frame> {
    const { selector, timeoutMs = 30_000 } = options;
    return waitFor(
      async () => {
        for (const frame of this.page.frames()) {
          const parent = frame.parentFrame();
          if (!parent || parent === this.page.mainFrame()) continue;
          if (!/extensionId=peerkd/i.test(parent.url()) && !/webview/i.test(parent.url())) continue;
          if (frame.name() !== 'active-frame' && !/fake\.html/.test(frame.url())) continue;
          if (!selector) return frame;
          if ((await frame.locator(selector).count()) > 0) return frame;
        }
        return undefined;
      },
      { timeoutMs, message: `a webview frame${selector ? ` containing ${selector}` : ''}` },
    );
  }

  /** Saves the active editor (Ctrl+S) and waits until its tab is no longer dirty. */
  async save(): Promise<void> {
    await this.page.keyboard.press('Control+S');
    await waitFor(async () => (await this.page.locator('.tabs-container .tab.active.dirty').count()) === 0, {
      timeoutMs: 15_000,
      message: 'the active editor to be saved',
    });
  }

  /** The lines the Output view shows now (virtualised: what is scrolled into view). */
  async visibleOutputText(): Promise<string> {
    const text = await this.page.locator('.part.panel .output-view .view-lines').innerText().catch(() => '');
    // Monaco renders spaces as no-break spaces.
    return text.replace(/\u00a0/g, ' ');
  }

  /**
   * Selects an output channel (e.g. "PeerKD") in the Output view and waits until its visible text matches `contains`
   * (default: anything). Returns that text.
   */
  async outputChannelText(channel: string, options: WaitOptions & { contains?: RegExp } = {}): Promise<string> {
    await this.runCommand('Output: Show Output Channels...');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.fill(channel);
    await this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactText(channel) }) })
      .first()
      .click();
    const contains = options.contains ?? /\S/;
    return waitFor(
      async () => {
        const text = await this.visibleOutputText();
        return contains.test(text) ? text : undefined;
      },
      { timeoutMs: 20_000, ...options, message: options.message ?? `output channel ${channel} to match ${String(contains)}` },
    );
  }

  /**
   * Saves a PNG under test-results/e2e/. With `readme: true` and screenshot updating on (PEERKD_UPDATE_SCREENSHOTS=1
   * or --update-screenshots) it is also copied to docs/images/<name>.png for the README.
   */
  async screenshot(name: string, options: { readme?: boolean; fullPage?: boolean } = {}): Promise<string> {
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: options.fullPage ?? false });
    if (options.readme && updateReadmeScreenshots) {
      mkdirSync(readmeImagesDir, { recursive: true });
      copyFileSync(file, join(readmeImagesDir, `${name}.png`));
    }
    return file;
  }

  /** Closes a quick input left open, so the next shortcut reaches the workbench. */
  async focusWorkbench(): Promise<void> {
    if (await this.page.locator('.quick-input-widget').isVisible().catch(() => false)) {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}
