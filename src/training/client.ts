/**
 * Host side of the training worker: forks `dist/worker.js`, speaks protocol.ts, and turns everything that can go
 * wrong with a child process into one rejected promise with a clear message and the worker's last log lines.
 * Used by the editor command and by `peerkd distill` alike. Plain Node: no `vscode` import, no TF.js.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { removeTempRun, removeTempRunSync } from './artifacts';
import {
  parseWorkerMessage,
  validateRequest,
  type DistillationFailureKind,
  type DistillationRequest,
  type DistillationRunResult,
  type HostToWorkerMessage,
  type LogLine,
} from './protocol';
import type { DistillProgress } from './types';

export interface DistillationHooks {
  onProgress?: (progress: DistillProgress) => void;
  onLog?: (line: LogLine) => void;
  /** Called once the worker accepted the run (the handshake). */
  onStarted?: (run: { runId: string; runsDir: string }) => void;
  /** Aborting it cancels the run, like `cancel()`. */
  signal?: AbortSignal;
}

export interface WorkerLaunchOptions {
  /** The worker entry; default `worker.js` next to this bundle (or `worker.ts` through tsx when run from source). */
  workerPath?: string;
  /** Extra Node flags for the child (e.g. `['--import', 'tsx']` for a TypeScript entry). */
  execArgv?: string[];
  /** The Node executable; default `process.execPath`. */
  execPath?: string;
  /** V8 heap limit of the worker (`--max-old-space-size`), in MB. Default 3072 (the setting peerkd.training.memoryLimitMb). */
  memoryLimitMb?: number;
  env?: NodeJS.ProcessEnv;
  /** Time allowed for the worker to answer `start` with `started`. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Fail the run when the worker sends nothing (no progress, no log) for this long: it is hung. Default 30 min,
   * far above one epoch on a large dataset; 0 = no limit.
   */
  inactivityTimeoutMs?: number;
  /** After `cancel`, time the worker has to stop by itself before SIGTERM. Default 3 s. */
  cancelGraceMs?: number;
  /** After SIGTERM, time before SIGKILL. Default 2 s. */
  killGraceMs?: number;
  /** How many of the worker's last log lines an error carries. Default 30. */
  logTailLines?: number;
}

export interface DistillationRun {
  /** The run id, known once the worker accepted the run; undefined before. */
  readonly runId: string | undefined;
  /** Resolves with the result, or rejects with a DistillationError (kind `cancelled` after `cancel()`). */
  readonly done: Promise<DistillationRunResult>;
  /** Asks the worker to stop; escalates to SIGTERM then SIGKILL. Resolves once the worker is gone and cleaned up. */
  cancel(): Promise<void>;
}

export class DistillationError extends Error {
  constructor(
    message: string,
    readonly kind: DistillationFailureKind,
    /** The worker's last log lines (and stderr), oldest first. */
    readonly logTail: string[] = [],
  ) {
    super(message);
    this.name = 'DistillationError';
  }
}

export const DEFAULT_MEMORY_LIMIT_MB = 3072;
/** The least heap limit a run takes (`peerkd.training.memoryLimitMb`'s minimum in the manifest, `--memory`'s too). */
export const MEMORY_LIMIT_MIN_MB = 256;
/**
 * The greatest heap limit a run takes, 1 TiB (the setting's maximum, `--memory`'s too). V8 reads a larger
 * `--max-old-space-size` modulo its word size or not at all: 9007199254740991 gave a 47 MB heap, 2^44 a worker that
 * died at start, each reported as "ran out of memory: raise the limit".
 */
export const MEMORY_LIMIT_MAX_MB = 1_048_576;
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 30 * 60_000;
/**
 * A line of the worker's stdout/stderr is cut to this many characters in the log (with how many more it had): a
 * library printing megabytes without a line feed must neither fill the host's memory nor the PeerKD log.
 */
export const MAX_OUTPUT_LINE_CHARS = 16_384;
const OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit|Array buffer allocation failed|Allocation failed/i;

/** Where the worker is: the bundle next to this file, or the TypeScript source when running under tsx. */
export function defaultWorkerLaunch(): { workerPath: string; execArgv: string[] } {
  const bundled = path.join(__dirname, 'worker.js');
  if (existsSync(bundled)) return { workerPath: bundled, execArgv: [] };
  const source = path.join(__dirname, 'worker.ts');
  // tsx resolved here, not by the child: the child's working folder may be anywhere.
  if (existsSync(source)) return { workerPath: source, execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href] };
  throw new Error(`the training worker was not found next to ${__dirname} (run \`npm run build\`)`);
}

/** Lines of a crashing Node's report that say nothing to a user: native stack frames and GC traces. */
const NOISE = /^\s*\d+: 0x[0-9a-f]+|^\s*\[\d+:0x[0-9a-f]+\]|^<--- .* --->$|^----- Native stack trace -----$/;

/**
 * A JavaScript stack frame ("    at run (worker.js:1:2)"), as a logged error's stack splits into. run.log and
 * --verbose keep them for a bug report; the message a user reads does not show them.
 */
const STACK_FRAME = /^\s*(\[\w+\]\s+)?at\s.*(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/;

/** A log line quoted in an error message is cut to this many characters. */
const TAIL_LINE_CHARS = 240;

function withTail(message: string, tail: readonly string[]): string {
  const shown = tail
    .flatMap((entry) => entry.split('\n'))
    // Neither the stack frames nor the log line that only repeats the message.
    .filter((line) => !STACK_FRAME.test(line) && line !== `[error] ${message}`)
    .slice(-12)
    // The log has each line whole (cut at MAX_OUTPUT_LINE_CHARS); the message quotes the start of it.
    .map((line) => (line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line));
  return shown.length ? `${message}\nLast log lines:\n${shown.map((line) => `  ${line}`).join('\n')}` : message;
}

/** Starts one distillation run in a fresh worker process. */
export function startDistillation(
  request: DistillationRequest,
  hooks: DistillationHooks = {},
  options: WorkerLaunchOptions = {},
): DistillationRun {
  const tailSize = options.logTailLines ?? 30;
  const memoryLimitMb = options.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;
  /** The worker's own log lines, and (apart) the child's raw stdout/stderr, so that a crash report shows both. */
  const workerTail: string[] = [];
  const outputTail: string[] = [];
  let sawOutOfMemory = false;
  const tail = (): string[] => [...workerTail.slice(-(tailSize - 4)), ...outputTail.slice(-4)];
  let runId: string | undefined;
  let tempDir: string | undefined;
  let settled = false;
  let cancelRequested = false;
  let workerError: DistillationError | undefined;
  let child: ChildProcess | undefined;
  let exited = false;
  const timers = new Set<NodeJS.Timeout>();
  let inactivityTimer: NodeJS.Timeout | undefined;
  let startTimer: NodeJS.Timeout | undefined = undefined;
  let resolveDone!: (result: DistillationRunResult) => void;
  let rejectDone!: (error: DistillationError) => void;
  const done = new Promise<DistillationRunResult>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A caller that only awaits cancel() must not crash the process with an unhandled rejection.
  done.catch(() => undefined);
  let resolveExit!: () => void;
  const exitedAndCleaned = new Promise<void>((resolve) => (resolveExit = resolve));

  function remember(lines: string[], text: string): void {
    lines.push(text);
    if (lines.length > tailSize) lines.splice(0, lines.length - tailSize);
  }

  function emitLog(line: LogLine): void {
    if (line.source === 'stderr' || line.source === 'stdout') {
      if (OUT_OF_MEMORY.test(line.message)) sawOutOfMemory = true;
      if (!NOISE.test(line.message)) remember(outputTail, line.message);
    } else {
      remember(workerTail, `[${line.level}] ${line.message}`);
    }
    try {
      hooks.onLog?.(line);
    } catch {
      // A listener's failure must not break the run.
    }
  }

  function later(ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
    return timer;
  }

  function clearTimers(): void {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    if (inactivityTimer) clearTimeout(inactivityTimer);
    inactivityTimer = undefined;
  }

  function kill(signal: NodeJS.Signals): void {
    if (child && !exited) {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** Ends the worker: SIGTERM now, SIGKILL if it is still there after the grace period. */
  function terminate(): void {
    kill('SIGTERM');
    later(options.killGraceMs ?? 2000, () => kill('SIGKILL'));
  }

  function fail(error: DistillationError): void {
    if (settled) return;
    settled = true;
    rejectDone(error);
  }

  /** A failure detected on the host side: the worker is stopped and the run rejected. */
  function abortRun(kind: DistillationFailureKind, message: string): void {
    workerError ??= new DistillationError(withTail(message, tail()), kind, tail());
    terminate();
  }

  function touch(): void {
    const limit = options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
    if (limit <= 0 || settled) return;
    if (inactivityTimer) clearTimeout(inactivityTimer);
    inactivityTimer = setTimeout(
      () => abortRun('timeout', `The training worker sent nothing for ${Math.round(limit / 100) / 10} s and was stopped.`),
      limit,
    );
  }

  function send(message: HostToWorkerMessage): void {
    if (child && child.connected) {
      child.send(message, (error) => {
        if (error) emitLog({ level: 'warn', message: `could not send '${message.type}': ${error.message}`, time: new Date().toISOString(), source: 'host' });
      });
    }
  }

  async function onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (exited) return;
    exited = true;
    if (startTimer) clearTimeout(startTimer);
    clearTimers();
    if (tempDir && !settled) {
      // The worker normally removes its own temp folder; after a crash or SIGKILL the host does.
      await removeTempRun(tempDir).catch(() => undefined);
    }
    if (!settled) {
      if (workerError && !(cancelRequested && workerError.kind !== 'cancelled' && workerError.kind !== 'timeout')) {
        fail(workerError);
      } else if (cancelRequested) {
        fail(new DistillationError('The distillation run was cancelled.', 'cancelled', tail()));
      } else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        if (sawOutOfMemory || (workerError && workerError.kind === 'out-of-memory')) {
          fail(
            new DistillationError(
              withTail(`The training worker ran out of memory (limit ${memoryLimitMb} MB) and ${how}. Raise the limit (setting peerkd.training.memoryLimitMb, or --memory MB on the command line) or use a smaller dataset.`, tail()),
              'out-of-memory',
              tail(),
            ),
          );
        } else {
          const hint = signal === 'SIGKILL' ? ' (the system may have run out of memory)' : '';
          fail(new DistillationError(withTail(`The training worker ${how}${hint} before finishing.`, tail()), 'crashed', tail()));
        }
      }
    }
    resolveExit();
  }

  function onMessage(raw: unknown): void {
    const parsed = parseWorkerMessage(raw);
    if (!parsed.ok) {
      abortRun('protocol', `The training worker sent a malformed message (${parsed.error}).`);
      return;
    }
    touch();
    const message = parsed.message;
    switch (message.type) {
      case 'started':
        runId = message.runId;
        tempDir = message.tempDir;
        if (startTimer) clearTimeout(startTimer);
        touch();
        try {
          hooks.onStarted?.({ runId: message.runId, runsDir: message.runsDir });
        } catch {
          // A listener's failure must not break the run.
        }
        break;
      case 'progress':
        try {
          hooks.onProgress?.(message.progress);
        } catch {
          // A listener's failure must not break the run.
        }
        break;
      case 'log':
        emitLog({ ...message.line, source: message.line.source ?? 'worker' });
        break;
      case 'result':
        if (!settled) {
          settled = true;
          runId = message.result.runId;
          resolveDone(message.result);
        }
        // The worker exits by itself after the result; make sure of it.
        later(options.killGraceMs ?? 2000, terminate);
        break;
      case 'error': {
        const lines = message.logTail.length ? message.logTail : tail();
        // Bad input is the user's to fix and the message says how; the log lines would only repeat it.
        const text = message.kind === 'input' ? message.message : withTail(message.message, lines);
        workerError = new DistillationError(text, message.kind, lines);
        later(options.killGraceMs ?? 2000, terminate);
        break;
      }
      case 'cancelled':
        cancelRequested = true;
        workerError = new DistillationError('The distillation run was cancelled.', 'cancelled', tail());
        later(options.killGraceMs ?? 2000, terminate);
        break;
    }
  }

  function pipeLines(stream: NodeJS.ReadableStream | null, source: 'stdout' | 'stderr'): void {
    if (!stream) return;
    // The line being read, at most MAX_OUTPUT_LINE_CHARS of it, and how many characters past those were dropped.
    // Each chunk is scanned once: a megabytes-long line is neither kept whole nor searched again on every chunk.
    let pending = '';
    let dropped = 0;
    const flush = (): void => {
      const line = pending.replace(/\r$/, '');
      const cut = dropped ? ` … (${dropped.toLocaleString('en-US')} more characters cut)` : '';
      pending = '';
      dropped = 0;
      if (line.trim().length) emitLog({ level: source === 'stderr' ? 'warn' : 'info', message: line + cut, time: new Date().toISOString(), source });
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let start = 0;
      for (;;) {
        const end = chunk.indexOf('\n', start);
        const piece = end === -1 ? chunk.slice(start) : chunk.slice(start, end);
        const room = MAX_OUTPUT_LINE_CHARS - pending.length;
        if (piece.length <= room) pending += piece;
        else {
          pending += piece.slice(0, room);
          dropped += piece.length - room;
        }
        if (end === -1) break;
        flush();
        start = end + 1;
      }
    });
    stream.on('end', flush);
  }

  async function cancel(): Promise<void> {
    if (!child || exited) return exitedAndCleaned;
    if (!cancelRequested && !settled) {
      cancelRequested = true;
      send({ type: 'cancel' });
      later(options.cancelGraceMs ?? 3000, terminate);
    }
    return exitedAndCleaned;
  }

  const invalid = validateRequest(request);
  if (invalid) {
    settled = true;
    resolveExit();
    rejectDone(new DistillationError(`Invalid distillation request: ${invalid}.`, 'input'));
    return { runId: undefined, done, cancel: () => Promise.resolve() };
  }

  try {
    const launch = options.workerPath
      ? { workerPath: options.workerPath, execArgv: options.execArgv ?? [] }
      : (() => {
          const found = defaultWorkerLaunch();
          return { workerPath: found.workerPath, execArgv: [...found.execArgv, ...(options.execArgv ?? [])] };
        })();
    child = fork(launch.workerPath, [], {
      execPath: options.execPath,
      execArgv: [...launch.execArgv, `--max-old-space-size=${memoryLimitMb}`],
      // Inside VS Code desktop, process.execPath is Electron: make it behave as plain Node (as vscode-languageclient does).
      env: { ...(options.env ?? process.env), ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
  } catch (error) {
    settled = true;
    resolveExit();
    rejectDone(
      new DistillationError(`Could not start the training worker: ${error instanceof Error ? error.message : String(error)}`, 'crashed'),
    );
    return { runId: undefined, done, cancel: () => Promise.resolve() };
  }

  // The host going away (the window closed, the CLI exiting) takes the worker with it. A worker whose event loop is
  // busy (a long synchronous step) sees neither the lost channel nor SIGTERM, and the host's SIGKILL timer dies with
  // the host: it would train on, alone, to the end. Nothing asynchronous runs in 'exit', so: SIGKILL, and its temp
  // folder removed here.
  const onHostExit = (): void => {
    if (exited) return;
    kill('SIGKILL');
    if (tempDir && !settled) {
      try {
        removeTempRunSync(tempDir);
      } catch {
        // The next run's sweep of abandoned folders removes it (its owner is gone).
      }
    }
  };
  process.on('exit', onHostExit);
  void exitedAndCleaned.then(() => process.removeListener('exit', onHostExit));

  pipeLines(child.stdout, 'stdout');
  pipeLines(child.stderr, 'stderr');
  child.on('message', onMessage);
  child.on('error', (error) => {
    // Spawn failures and IPC failures; 'exit' may or may not follow.
    workerError ??= new DistillationError(withTail(`The training worker failed: ${error.message}`, tail()), 'crashed', tail());
    if (child?.pid === undefined) void onExit(null, null);
  });
  // 'close' (not 'exit'): it comes after the child's stdout/stderr are drained, so an out-of-memory report is seen.
  child.on('close', (code, signal) => void onExit(code, signal));

  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  startTimer = setTimeout(() => {
    if (runId === undefined && !settled) {
      abortRun('timeout', `The training worker did not answer within ${Math.round(startTimeoutMs / 100) / 10} s of being started.`);
    }
  }, startTimeoutMs);

  const signal = hooks.signal;
  if (signal) {
    const onAbort = (): void => void cancel();
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      void exitedAndCleaned.then(() => signal.removeEventListener('abort', onAbort));
    }
  }

  send({ type: 'start', request });

  return {
    get runId() {
      return runId;
    },
    done,
    cancel,
  };
}
