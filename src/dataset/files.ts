/**
 * File-system rules shared by every command that reads a dataset or writes a file: errors that name the file and
 * say what is wrong in words, no output that is its own input, and atomic replacement that writes through symbolic
 * links and keeps the file's mode and owner.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, promises as fsp, type BigIntStats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { shellWord } from './types';
import { firstInvalidUtf8LineOfFile } from './utf8';

/** The folder PeerKD keeps its runs and caches in, next to the data (`.peerkd/runs`, `.peerkd/teacher-cache`, …). */
export const PEERKD_FOLDER = '.peerkd';

/** `candidate` is `folder` or lies inside it, by their paths as written (resolved; links are not followed). */
export function isWithinFolder(candidate: string, folder: string): boolean {
  const path = relative(resolve(folder), resolve(candidate));
  return path === '' || (path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path));
}

/**
 * A folder a setting names, with `~` (alone, or before `/` or `\\`) as the home folder, as a shell would give it; a
 * setting reaches no shell, so `~/runs` was otherwise a folder named `~` next to the dataset. Anything else as written.
 */
export function expandHomeFolder(folder: string): string {
  return folder === '~' || folder.startsWith('~/') || folder.startsWith('~\\') ? join(homedir(), folder.slice(1)) : folder;
}

/**
 * The first PeerKD-made folder on the way to `file` that is a symbolic link: `.peerkd` and the folder inside it
 * (undefined when neither is, or when the file is not in a folder inside a `.peerkd` folder). A repository can ship
 * either as a link to anywhere (a home folder, another project), and a run or a cache would then create and append
 * files there. A folder the user names (`--cache-dir`, `peerkd.outputDir`) is theirs to link.
 */
export function linkedPeerkdFolder(file: string): string | undefined {
  const folder = dirname(file);
  const peerkd = dirname(folder);
  if (basename(peerkd) !== PEERKD_FOLDER) return undefined;
  for (const candidate of [peerkd, folder]) {
    try {
      if (lstatSync(candidate).isSymbolicLink()) return candidate;
    } catch {
      // Absent: made as a plain folder on the first write.
    }
  }
  return undefined;
}

/**
 * Whether something is at `path` (a file, a folder, a symbolic link even when what it names is gone): what `peerkd move`
 * will not replace, so a NEW path suggested for it must be free (datasetNameProblem's `taken`).
 */
export function pathTaken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The error for linkedPeerkdFolder's answer. */
export function linkedPeerkdFolderError(link: string): Error {
  return new Error(`${link} is a symbolic link: PeerKD does not write its runs or caches through a link in the data's folder (a cloned repository could point it anywhere); replace the link with a folder`);
}

/** What a file-system error code means, in words. */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'file not found',
  ELOOP: 'symbolic link loop (the link points, directly or through other links, back to itself)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a folder on the path is not a folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is larger than the file system allows',
  EIO: 'input/output error (the disk or the network share failed)',
};

/** An error that names the file and says what is wrong; errors without a known code are returned as they are. */
export function fileError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : REASONS[code];
  if (reason === undefined) return error instanceof Error ? error : new Error(String(error));
  const result = new Error(`${path}: ${reason}`) as NodeJS.ErrnoException;
  result.code = code;
  return result;
}

/** Why '-' (standard input, as predict reads it) cannot be a dataset of distill or export. */
export const STDIN_NOT_A_DATASET = 'standard input cannot be a dataset (its runs and review are kept beside its file, and it is read twice): save the rows as a .jsonl file and give its path';

/** Why a FIFO, socket or device named as a dataset is refused: it cannot be read twice (rows, then hash) or ends never. */
export const NOT_A_REGULAR_DATASET = 'not a regular file (a FIFO, socket or device), so it cannot be read as a dataset';

/**
 * Checks that `path` is a dataset file that can be read: assertReadableFile, and a regular file (not /dev/zero, a
 * FIFO). Said before anything about its name: a file that is not there, or a device, is not one to rename.
 */
export async function assertReadableDatasetFile(path: string, shownAs = path): Promise<void> {
  await assertReadableFile(path, shownAs).catch((error: NodeJS.ErrnoException) => {
    // '-' is standard input to predict (and to most tools): "-: file not found" left the user guessing.
    if (shownAs === '-' && error.code === 'ENOENT') throw new Error(`-: ${STDIN_NOT_A_DATASET}`);
    throw error;
  });
  if (!(await fsp.stat(path)).isFile()) throw new Error(`${shownAs}: ${NOT_A_REGULAR_DATASET}`);
}

/**
 * Where the symbolic link `path` ends (followed through further links) when that is nowhere: the missing path, as
 * the links name it, against the folder of the link that names it. Undefined when `path` is no link, or it leads to
 * something (the error is then another one).
 */
async function danglingLinkTarget(path: string): Promise<string | undefined> {
  let link = path;
  // A chain longer than the system follows fails as a loop (ELOOP), not as a missing file.
  for (let hops = 0; hops < 40; hops += 1) {
    const stats = await fsp.lstat(link).catch(() => undefined);
    if (stats === undefined) return link === path ? undefined : link;
    if (!stats.isSymbolicLink()) return undefined;
    const target = await fsp.readlink(link).catch(() => undefined);
    if (target === undefined) return undefined;
    link = resolve(dirname(link), target);
  }
  return undefined;
}

/**
 * Why `path`, which the system did not find (ENOENT), is not there, in words: for a symbolic link that leads nowhere,
 * where it leads ("file not found" sent the user looking for a file `ls` shows); else `notFound` ("file not found").
 * The one wording of a missing path for every reader (datasets, a model folder, a run's files).
 */
export async function notFoundReason(path: string, notFound = REASONS.ENOENT): Promise<string> {
  const missing = await danglingLinkTarget(path);
  return missing === undefined ? notFound : `a symbolic link to ${missing}, which does not exist`;
}

/**
 * Checks that `path` can be read as a file; throws fileError's message (e.g. "symbolic link loop") otherwise, and for
 * a missing one notFoundReason's (a symbolic link that leads nowhere said as one).
 */
export async function assertReadableFile(path: string, shownAs = path): Promise<void> {
  let stats;
  try {
    stats = await fsp.stat(path);
    await fsp.access(path, 4 /* R_OK */);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const result = new Error(`${shownAs}: ${await notFoundReason(path)}`) as NodeJS.ErrnoException;
      result.code = 'ENOENT';
      throw result;
    }
    throw fileError(shownAs, error);
  }
  if (stats.isDirectory()) throw new Error(`${shownAs}: ${REASONS.EISDIR}`);
}

/**
 * Throws when `output` is inside PeerKD's own folder (by its path or its real path): a run pointer, a run's artefact
 * or a cache replaced by a command's output would break the runs and the review that read them.
 */
export async function assertOutsidePeerkdFolder(output: string, shownAs = output): Promise<void> {
  const folder = dirname(resolve(output));
  const realFolder = await fsp.realpath(folder).catch(() => folder);
  // A symbolic link elsewhere to a file in .peerkd (a run pointer, a cache) would be written through.
  const landing = await writeTarget(output).then(({ target }) => dirname(target), () => folder);
  const realLanding = await fsp.realpath(landing).catch(() => landing);
  if ([folder, realFolder, landing, realLanding].some((dir) => dir.split(sep).includes(PEERKD_FOLDER))) {
    throw new Error(`${shownAs}: inside PeerKD's own ${PEERKD_FOLDER} folder (its runs and caches); choose an output file elsewhere`);
  }
}

/**
 * Throws when writing `output` would write over `input`: the same file through a symbolic link, `..`, another
 * letter case on a case-insensitive disk or a hard link (same device and inode), or the same real path.
 * An output that does not exist yet is never the input.
 */
export async function assertNotSameFile(input: string, output: string, shown: { input?: string; output?: string } = {}): Promise<void> {
  // Where writeFileAtomic writes: `..` taken away first, as resolve does (`gone/../data.jsonl` is data.jsonl there,
  // though the system finds no such file while `gone` is missing).
  output = resolve(output);
  let outputStats: BigIntStats;
  try {
    outputStats = await fsp.stat(output, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fileError(shown.output ?? output, error);
  }
  let inputStats: BigIntStats;
  try {
    inputStats = await fsp.stat(input, { bigint: true });
  } catch (error) {
    throw fileError(shown.input ?? input, error);
  }
  const sameInode = inputStats.ino !== 0n && inputStats.dev === outputStats.dev && inputStats.ino === outputStats.ino;
  // A path with no real path (`/dev/stdout` on a pipe: /proc/self/fd/1 names "pipe:[…]") is compared as it is; the
  // inode said it is not the input. realpath's raw ENOENT named neither file.
  const real = (file: string) => fsp.realpath(file).catch(() => resolve(file));
  const sameRealPath = (await real(input)) === (await real(output));
  if (sameInode || sameRealPath) {
    throw new Error(
      `${shown.output ?? output} is the input file ${shown.input ?? input}: refusing to write over the input; choose another output file`,
    );
  }
}

/** Where a write to `path` lands: the final target of a symbolic link (created if the link dangles), else `path`. */
async function writeTarget(path: string): Promise<{ target: string; stats: BigIntStats | undefined }> {
  let target = resolve(path);
  for (let hops = 0; ; hops++) {
    let link: string;
    try {
      const lstats = await fsp.lstat(target, { bigint: true });
      if (!lstats.isSymbolicLink()) return { target, stats: await fsp.stat(target, { bigint: true }) };
      if (hops >= 40) throw Object.assign(new Error('ELOOP'), { code: 'ELOOP' });
      link = await fsp.readlink(target);
      // A relative link is read from the folder it is in, as the system reads it: from that folder's real path (a
      // folder reached through a link, '../x' in it is beside the folder the link names, not beside the name used).
      if (!isAbsolute(link)) link = resolve(await fsp.realpath(dirname(target)), link);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { target, stats: undefined };
      throw fileError(path, error);
    }
    target = resolve(dirname(target), link);
  }
}

/**
 * Checks, before any work, that writeFileAtomic may replace `path` (not read-only, a regular file, no link loop) or
 * create it (its folder exists); returns where the write lands. `fileName`: the name the file would have in a folder
 * given for `path` (`peerkd export --out out/` → `out/data.reviewed.jsonl`), said as the path to give instead.
 */
export async function assertReplaceable(path: string, { fileName }: { fileName?: string } = {}): Promise<{ target: string; stats: BigIntStats | undefined }> {
  // A folder was "not a regular file, so it is not replaced", as if it were a device: said as a folder, with what to give.
  const notReplaced = (stats: { isDirectory(): boolean }) =>
    new Error(
      stats.isDirectory()
        ? `${path}: a folder, not a file; give the path of the file to write${fileName === undefined ? '' : ` (e.g. ${shellWord(join(path, fileName))})`}`
        : `${path}: not a regular file, so it is not replaced`,
    );
  // What the system reaches through every link: a pipe or a socket behind /dev/stdout (/proc/self/fd/1 reads as
  // "pipe:[…]", no path, so following its text found "no file" and blamed the folder /proc/<pid>/fd).
  const reached = await fsp.stat(path).catch(() => undefined);
  if (reached !== undefined && !reached.isFile()) throw notReplaced(reached);
  const found = await writeTarget(path);
  const { stats } = found;
  if (stats === undefined) {
    // Said now, not after the work whose result it was to hold (a labelling paid for, a prediction run).
    const directory = dirname(found.target);
    const folder = await fsp.stat(directory).catch(() => undefined);
    if (folder === undefined || !folder.isDirectory()) throw new Error(`${path}: the folder ${directory} does not exist`);
  }
  if (stats !== undefined && !stats.isFile()) throw notReplaced(stats);
  if (stats !== undefined && (Number(stats.mode) & 0o222) === 0) {
    throw new Error(`${path}: the file is read-only, so PeerKD does not write to it; make it writable or write to another file`);
  }
  return found;
}

/**
 * A file found at writeFileAtomic's `exclusive` output that was not there (another export finished first): it is left
 * as it is. Callers say what to do (peerkd export: --force or another --out).
 */
export class OutputAppearedError extends Error {
  readonly code = 'EEXIST';
  constructor(readonly path: string) {
    super(`${path} exists, so it is not replaced`);
    this.name = 'OutputAppearedError';
  }
}

/**
 * Gives the written temporary file the name `target` only if no file has it: link(2) fails with EEXIST where one
 * appeared since the check (rename would replace it). Where the file system has no hard links, the name is checked
 * once more just before the rename (a far narrower window than the whole write).
 */
async function linkExclusive(path: string, temporary: string, target: string, failed: (error: unknown) => never): Promise<void> {
  try {
    await fsp.link(temporary, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new OutputAppearedError(path);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') failed(error);
    if ((await fsp.lstat(target).catch(() => undefined)) !== undefined) throw new OutputAppearedError(path);
    await fsp.rename(temporary, target).catch(failed);
    return;
  }
  await fsp.rm(temporary, { force: true });
}

/** Whether a process with this id exists on this machine (one of another user's counts: EPERM). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long after its last write a dead writer's temporary file is left (removeDeadWritersTemporaries). */
const STALE_TEMPORARY_MS = 10 * 60 * 1000;

/** writeFileAtomic's temporary file for `name`: `.NAME.<pid>.<12 hex>.tmp`. */
function temporaryName(name: string, pid: number): string {
  return `.${name}.${pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * The files (folder and name) whose dead writers' temporaries this process has swept (removeDeadWritersTemporaries):
 * the sweep lists the whole folder, and the pointers and settings a session writes again and again need it once.
 */
const sweptTargets = new Set<string>();

/**
 * Removes the temporary files of earlier atomic writes of `name` in `directory` whose writer is gone (killed with
 * SIGKILL, power lost, between creating the file and renaming it): each was a hidden copy of the data left beside it
 * for good. Only names of exactly writeFileAtomic's pattern are touched, and never one of a live process (a writer at
 * work now, this one included), nor one written in the last STALE_TEMPORARY_MS: the pid is this machine's, and a
 * folder shared over a network may hold another machine's write at work. Best effort: a file that cannot be listed or
 * removed is left. Once per file and process (sweptTargets): a temporary left by a writer killed later is another
 * process's, which the next process to write the file sweeps; a sweep that left a dead writer's temporary because it
 * was recent, or could not remove one, sweeps again at the next write.
 */
async function removeDeadWritersTemporaries(directory: string, name: string): Promise<void> {
  const target = join(directory, name);
  if (sweptTargets.has(target)) return;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\.${escaped}\\.([1-9][0-9]{0,9})\\.[0-9a-f]{12}\\.tmp$`);
  let names: string[];
  try {
    names = await fsp.readdir(directory);
  } catch {
    return;
  }
  let done = true;
  for (const candidate of names) {
    const pid = Number(pattern.exec(candidate)?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processIsAlive(pid)) continue;
    const file = join(directory, candidate);
    // A plain file only: a folder or a link with that name is nobody's temporary file.
    const stats = await fsp.lstat(file).catch(() => undefined);
    if (!stats?.isFile()) continue;
    if (Date.now() - stats.mtimeMs <= STALE_TEMPORARY_MS) done = false;
    else await fsp.rm(file, { force: true }).catch(() => (done = false));
  }
  if (done) sweptTargets.add(target);
}

/**
 * Replaces a file so that a reader sees either the old or the new content, never a torn one: write a temporary
 * file in the target's folder, flush it to disk, then rename it over the target. A symbolic link is written
 * through (its target is replaced, the link stays a link); the original's permissions and owner are kept. A
 * read-only file is refused (the error names it), never replaced. On any failure the temporary file is removed
 * and the original is untouched. `data` may be a function that writes the content piece by piece through `write`
 * (a copy too large to hold whole); whatever it throws fails the write the same way. With `exclusive` the file must
 * not exist: one there, or one that appears while the content is written (a second export at once), is left as it is
 * and OutputAppearedError thrown (the temporary file is linked to the name, which fails where a file has it). The
 * temporary files of earlier writes of the same file whose process is gone (killed mid-write) are removed first.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | ((write: (chunk: Uint8Array) => Promise<void>) => Promise<void>),
  { exclusive = false }: { exclusive?: boolean } = {},
): Promise<void> {
  const { target, stats } = await assertReplaceable(path);
  if (exclusive && stats !== undefined) throw new OutputAppearedError(path);
  const mode = stats === undefined ? undefined : Number(stats.mode) & 0o7777;
  const directory = dirname(target);
  await removeDeadWritersTemporaries(directory, basename(target));
  const temporary = join(directory, temporaryName(basename(target), process.pid));
  let handle: Awaited<ReturnType<typeof fsp.open>> | undefined;
  try {
    try {
      handle = await fsp.open(temporary, 'wx', mode ?? 0o666);
    } catch (error) {
      // Named as the output, not as the temporary file next to it that no user asked for.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${path}: the folder ${directory} does not exist`);
      throw fileError(path, error);
    }
    const opened = handle;
    // A full disk or a failing device is said naming the output, not "ENOSPC: no space left on device, write".
    const failed = (error: unknown) => {
      throw fileError(path, error);
    };
    if (typeof data === 'function') {
      await data(async (chunk) => {
        for (let at = 0; at < chunk.length; ) {
          const { bytesWritten } = await opened.write(chunk, at, chunk.length - at).catch(failed);
          at += bytesWritten;
        }
      });
    } else {
      await opened.writeFile(data).catch(failed);
    }
    if (stats !== undefined) {
      const written = await handle.stat({ bigint: true });
      if (written.uid !== stats.uid || written.gid !== stats.gid) {
        try {
          await handle.chown(Number(stats.uid), Number(stats.gid));
        } catch (error) {
          throw new Error(
            `${path}: the file belongs to another user (uid ${stats.uid}, gid ${stats.gid}) and replacing it would change its owner, so it is not written; write to another file (${fileError(path, error).message})`,
          );
        }
      }
    }
    // After chown, which clears set-user-id and set-group-id bits.
    if (mode !== undefined) await handle.chmod(mode);
    await handle.sync().catch(failed);
    await handle.close().catch(failed);
    handle = undefined;
    if (exclusive) await linkExclusive(path, temporary, target, failed);
    else await fsp.rename(temporary, target).catch(failed);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fsp.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  // Make the rename itself durable; not every platform lets a directory be opened for this.
  try {
    const dir = await fsp.open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Best effort.
  }
}

/**
 * Why an editor must not write into this document, or null. An editor shows bytes that are not valid UTF-8 as
 * U+FFFD and writes EF BF BD for them when it saves: an edit that leads to a save would replace bytes the user
 * wrote, on every line that has them. The file is read only when the text shows U+FFFD (a real U+FFFD, written
 * as valid UTF-8, is fine), streamed through the one UTF-8 validator (utf8.ts) up to its first invalid byte: no
 * size is too large, and the file is never held whole. `filePath` undefined: a document without a file, where no
 * bytes can be lost.
 */
export async function undecodableBytesReason(documentText: string, filePath: string | undefined): Promise<string | null> {
  if (filePath === undefined || !documentText.includes('\ufffd')) return null;
  let line: number | null;
  try {
    line = await firstInvalidUtf8LineOfFile(filePath);
  } catch {
    return null; // No file (any more): nothing on disk to lose.
  }
  if (line === null) return null;
  return `${filePath}:${line} holds bytes that are not valid UTF-8; the editor shows them as U+FFFD and saving would replace them, so no label is written into this document (fix those bytes, or label it with \`peerkd label\`, which keeps them)`;
}
