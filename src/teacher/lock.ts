/**
 * One labelling run per dataset at a time. Two runs at once (two terminals, the CLI beside the editor) each read the
 * answer cache when they start, so each asked the endpoint for every row: the second run paid for the whole dataset
 * again and doubled the cache. The run takes a lock file keyed by the dataset's real path, before it reads the cache; a
 * second run is refused with the first one's process id. The lock lies in the folder the dataset is really in (its
 * default answer-cache folder, `.peerkd/teacher-cache`), whatever cache folder the run uses: a lock in the run's cache
 * folder let two runs with different --cache-dir values (or the CLI in a subfolder beside the editor, which caches at
 * the workspace root) each take their own and both pay for every row, racing on the file when they wrote it. A lock left by a run that died
 * (SIGKILL, power loss) names a process that no longer exists on this machine, or one that a process started since
 * has the id of, and is taken over.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { fileError, linkedPeerkdFolder, linkedPeerkdFolderError } from '../dataset/files';
import { processIsAlive, removeCreatedFolders } from '../training/artifacts';
import { CACHE_DIR_NAME } from './cache';

/** Lock files this process holds: a lock naming this process's id and not in here was left by an earlier process
 * that had the same id (a container's first process is pid 1 every time). */
const heldHere = new Set<string>();

/** Errors that say the folder cannot be written at all (rather than that something is wrong with it). */
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

/** A lock whose holder cannot be read (cut while written) is taken over once it is this old. */
const UNREADABLE_LOCK_STALE_MS = 60_000;

interface LockOwner {
  pid: number;
  host: string;
  started: string;
  dataset: string;
  token: string;
}

/** Another run holds the dataset's lock. */
export class LabelRunBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelRunBusyError';
  }
}

export class LabelRunLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(
    readonly file: string,
    private readonly token: string,
    private readonly createdFrom: string | undefined,
    /** Why no lock could be taken (the folder cannot be written); the run goes on without one. */
    readonly unavailable?: string,
  ) {
    if (unavailable === undefined) process.once('exit', this.onExit);
    else this.released = true;
  }

  /**
   * Takes the lock of `dataset` (a file a run reads or writes: the input, an --out copy), or throws LabelRunBusyError
   * naming the run that holds it.
   */
  static acquire(dataset: string): LabelRunLock {
    let real = path.resolve(dataset);
    try {
      real = fs.realpathSync(real);
    } catch {
      // Checked elsewhere, or not written yet (an --out copy); the path as given still names the file.
    }
    const cacheDir = path.join(path.dirname(real), CACHE_DIR_NAME);
    const file = path.join(cacheDir, `${createHash('sha256').update(real).digest('hex').slice(0, 24)}.run.lock`);
    const link = linkedPeerkdFolder(file);
    if (link) throw linkedPeerkdFolderError(link);
    // The first folder made here, so that a run that cached nothing leaves no empty folders behind.
    let created: string | undefined;
    try {
      created = fs.mkdirSync(cacheDir, { recursive: true });
    } catch (error) {
      if (!UNWRITABLE.has((error as NodeJS.ErrnoException).code ?? '')) throw fileError(cacheDir, error);
      // A folder the run cannot write to (read-only data, --cache-dir elsewhere): the answers cannot be cached either,
      // which the run reports; a lock must not turn that into a refusal to label at all.
      return new LabelRunLock(file, '', undefined, `${fileError(cacheDir, error).message}: no lock against a second run at once`);
    }
    const owner: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), dataset: real, token: randomBytes(8).toString('hex') };
    for (let attempt = 0; ; attempt += 1) {
      let fd: number;
      try {
        fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o666);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (UNWRITABLE.has(code)) return new LabelRunLock(file, '', undefined, `${fileError(file, error).message}: no lock against a second run at once`);
        if (code !== 'EEXIST' || attempt >= 2) throw fileError(file, error);
        const holder = readOwner(file);
        if (holder === 'gone') continue;
        if (!isStale(file, holder)) {
          const who = holder === undefined ? 'another run' : `another run (process ${holder.pid} on ${holder.host}, since ${holder.started})`;
          throw new LabelRunBusyError(
            `${dataset} is being labelled by ${who}; a second run at once would pay for the same rows again. Wait for it to finish, ` +
              `or, if no run is going, remove ${file}.`,
          );
        }
        try {
          fs.unlinkSync(file);
        } catch (unlinkError) {
          if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(file, unlinkError);
        }
        continue;
      }
      try {
        fs.writeSync(fd, JSON.stringify(owner));
      } finally {
        fs.closeSync(fd);
      }
      heldHere.add(file);
      return new LabelRunLock(file, owner.token, created);
    }
  }

  /** Removes the lock if it is still this run's (idempotent; also runs when the process exits). */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.file);
    process.off('exit', this.onExit);
    const holder = readOwner(this.file);
    if (holder !== 'gone' && holder?.token === this.token) {
      try {
        fs.unlinkSync(this.file);
      } catch {
        // Already gone.
      }
    }
    // Each folder this lock made, innermost first, while it is empty (an answer cached, another run's lock: kept).
    removeCreatedFolders(path.dirname(this.file), this.createdFrom);
  }
}

function readOwner(file: string): LockOwner | undefined | 'gone' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? (parsed as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

/** A holder that no longer runs on this machine; a lock on another machine (a shared folder) is never judged stale. */
function isStale(file: string, holder: LockOwner | undefined): boolean {
  if (holder === undefined) {
    try {
      return Date.now() - fs.statSync(file).mtimeMs > UNREADABLE_LOCK_STALE_MS;
    } catch {
      return true;
    }
  }
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !heldHere.has(file);
  if (!processIsAlive(holder.pid)) return true;
  // A live process with the holder's id that started after the lock was written is another process: the id came round
  // again (after a reboot, in a restarted container, where ids are small and repeat). The lock was refused for good.
  const started = processStartedAt(holder.pid);
  const locked = Date.parse(holder.started);
  return started !== undefined && Number.isFinite(locked) && started > locked + CLOCK_SLACK_MS;
}

/** How far the clock may have been set between a lock and its check before a start time is trusted against it. */
const CLOCK_SLACK_MS = 60_000;

/**
 * When a process started (ms since the epoch), where the system says (Linux: /proc/<pid>/stat's start time, in clock
 * ticks since boot, and /proc/stat's boot time); undefined elsewhere or when unreadable.
 */
function processStartedAt(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name, which may hold spaces and parentheses: field 3 (state) on; the start time is field 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    // USER_HZ, the unit of /proc start times, is 100 on every Linux architecture Node runs on.
    return Number.isFinite(ticks) && Number.isFinite(boot) && boot > 0 ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}
