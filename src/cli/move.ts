/**
 * `peerkd move OLD NEW`: carries the history of a dataset renamed or moved outside the editor (its runs, its review
 * log, its runs folders: all kept under its path) to its new path, by the function the editor calls when a dataset is
 * renamed in its Explorer (src/training/datasetMove.ts carryDatasetHistory). Moves the file first when it is still at
 * OLD; a folder moves every dataset's history inside it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { fileError, isWithinFolder, PEERKD_FOLDER } from '../dataset';
import { DATASET_FILE_NAME, shellQuoted, shellWord } from '../dataset/types';
import { latestPointerPath, readKnownRunsDirs, readMovedPointer, runsInProgress } from '../training/artifacts';
import { carryDatasetHistory, carryFolderHistory, datasetsBeside, datasetsUnder, peerkdFolderOwner, describeCarry, MOVED_FOLDER_LIMITS, runningMessage, type CarryReport } from '../training/datasetMove';
import { EXIT, EXIT_CODES_HELP, expectPositionals, parseCommandArgs, UsageError, type CliCommand } from './command';
import { runCommand, type CliIo } from './distill';
import type { Terminal } from './terminal';

export const MOVE_HELP = `Usage: peerkd move OLD NEW [--replace-history]

Carries the history of a dataset renamed or moved from OLD to NEW: its latest run in each runs folder it used, the
review log of the labels decided in Label Review, and the list of its runs folders. PeerKD keeps these under the
dataset's path, so after \`mv OLD NEW\` alone NEW has no run (export and Label Review say so) and its next run counts
the labels decided in review as the random sample. VS Code does this itself when a dataset is renamed or moved in its
Explorer.
  OLD gone, NEW there       the dataset was moved already (mv OLD NEW): its history follows it
  OLD there, NEW not        moves OLD to NEW first (a file, or a folder), then its history
OLD and NEW may be folders: the history of every dataset inside follows it, and a dataset outside whose runs folder
(peerkd distill --out) was inside finds it where it went. The runs stay where they are (each still records the path it read).
History that NEW already has in a runs folder is never replaced: there OLD's stays under OLD's name, and a warning
says so (unless --replace-history). NEW is never replaced either: a file or folder there is refused, also one made
while the move is under way. While a run of OLD is still being written, nothing is moved nor carried: run this again
once it has finished. A .peerkd folder (or a runs folder in it) moved: the datasets beside it list its runs where
they went.

Options:
  --replace-history   history NEW already has (runs and a review log of an earlier file at NEW, deleted since) is
                      replaced by OLD's: NEW's latest run is then OLD's (its own runs stay in their folder) and its own
                      review log is set aside as <log>.replaced-<time> (never deleted, no run reads it)
  -h, --help          this help

${EXIT_CODES_HELP}`;

export const MOVE_OPTIONS = {
  'replace-history': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

/** The lstat of `file`, or undefined where there is nothing; other errors name the path as the user gave it. */
async function statOf(file: string, shown: string) {
  try {
    return await fs.stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(shown, error);
  }
}

/** Prints a report: what was carried on stdout, what was kept or failed as warnings on stderr. */
function print(report: CarryReport, out: Terminal, err: Terminal): void {
  const { info, warnings } = describeCarry(report);
  for (const line of info) out.line(line);
  for (const line of warnings) err.line(`warning: ${line}`);
}

/** For tests: `beforeMove` runs after every check at NEW and before OLD is moved (where another process could make NEW). */
export interface MoveSeams {
  beforeMove?: () => Promise<void>;
}

/** Codes of a file system that makes no hard links (or not this one): the move then renames, NEW checked just before. */
const NO_HARD_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Moves `oldPath` to `newPath` as `mv` would, but never over anything at `newPath`, also something made there after it
 * was checked (a plain rename replaces a file, or an empty folder, in silence): a file (or a symbolic link) is linked
 * to its new name, which fails where the name is taken, then unlinked from its old one; a folder is renamed onto an
 * empty folder made here first (making it fails where the name is taken; the rename fails where something was put
 * into it). Throws the error of the step that failed (EEXIST: NEW is there), with nothing moved.
 */
export async function moveWithoutReplacing(oldPath: string, newPath: string): Promise<void> {
  const stats = await fs.lstat(oldPath);
  if (stats.isDirectory()) {
    // Windows renames no folder onto one that exists (an empty one included): the rename alone never replaces.
    if (process.platform === 'win32') return fs.rename(oldPath, newPath);
    await fs.mkdir(newPath);
    try {
      await fs.rename(oldPath, newPath);
    } catch (error) {
      // Only the empty folder made here goes (rmdir fails where anything was put into it).
      await fs.rmdir(newPath).catch(() => undefined);
      throw error;
    }
    return;
  }
  try {
    await fs.link(oldPath, newPath);
  } catch (error) {
    if (!NO_HARD_LINK.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    const taken = await fs.lstat(newPath).then(() => true, () => false);
    if (taken) throw Object.assign(new Error(`${newPath}: exists`), { code: 'EEXIST' });
    await fs.rename(oldPath, newPath);
    return;
  }
  // Both names are the one file now: the old one goes, unless it was replaced meanwhile (then it is kept, said).
  const [before, linked] = await Promise.all([fs.lstat(oldPath).catch(() => undefined), fs.lstat(newPath).catch(() => undefined)]);
  if (before === undefined || linked === undefined || before.ino !== linked.ino || before.dev !== linked.dev) {
    throw new Error(`${oldPath} changed while it was moved to ${newPath}: both names are kept, look at them`);
  }
  try {
    await fs.unlink(oldPath);
  } catch (error) {
    await fs.unlink(newPath).catch(() => undefined);
    throw error;
  }
}

export function createMoveCommand(io: CliIo = { stdout: process.stdout, stderr: process.stderr }, seams: MoveSeams = {}): CliCommand {
  return {
    name: 'move',
    summary: 'Carry the runs and review log of a dataset renamed or moved (mv OLD NEW) to its new path',
    run: (argv) =>
      runCommand('move', MOVE_HELP, io, async (out, err) => {
        const { values, positionals } = parseCommandArgs(argv, MOVE_OPTIONS, { positionals: ['OLD', 'NEW'], flags: [] });
        if (values.help) {
          out.lines(MOVE_HELP.split('\n'));
          return EXIT.ok;
        }
        expectPositionals(positionals, ['OLD', 'NEW']);
        const [oldShown, newShown] = positionals;
        const oldPath = path.resolve(oldShown);
        const newPath = path.resolve(newShown);
        if (oldPath === newPath) throw new UsageError(`OLD and NEW are the same path (${oldPath})`);
        if (isWithinFolder(newPath, oldPath)) throw new UsageError(`NEW (${newPath}) is inside OLD (${oldPath}): a folder cannot be moved into itself`);
        const replaceHistory = values['replace-history'] === true;
        let oldStats = await statOf(oldPath, oldShown);
        let newStats = await statOf(newPath, newShown);
        /** Whether this command moved the file (so there was no earlier move that carried its history). */
        let movedHere = false;
        // A symbolic link at NEW whose target is gone is still the user's: never replaced by the move.
        const newTaken = newStats !== undefined || (await fs.lstat(newPath).then((stats) => stats.isSymbolicLink(), () => false));
        if (oldStats && newTaken) {
          // `mv FILE FOLDER` moves the file into the folder; peerkd move takes NEW as the new path itself.
          const into = newStats?.isDirectory() && !oldStats.isDirectory() ? ` (to move it into the folder ${newShown}, give its new path: ${shellWord(path.join(newShown, path.basename(oldPath)))})` : '';
          throw new Error(`${oldShown} and ${newShown} both exist: peerkd move carries the history of a dataset moved from OLD to NEW (moving it first when NEW is not there); nothing was changed${into}`);
        }
        // PeerKD's own folder holds its runs and caches, not datasets: one moved there would be found by no run (a
        // folder may go there: a runs folder or a .peerkd moved back).
        if (oldStats && !oldStats.isDirectory() && peerkdFolderOwner(newPath) !== undefined && peerkdFolderOwner(oldPath) === undefined) {
          throw new Error(`${newShown}: inside PeerKD's own ${PEERKD_FOLDER} folder (its runs and caches); choose a path elsewhere; nothing was changed`);
        }
        // A relative symbolic link moved to another folder would name another file there: the dataset lost from its name.
        const link = oldStats ? await fs.readlink(oldPath).catch(() => undefined) : undefined;
        if (link !== undefined && !path.isAbsolute(link) && path.resolve(path.dirname(oldPath), link) !== path.resolve(path.dirname(newPath), link)) {
          throw new Error(
            `${oldShown} is a symbolic link to ${link}, relative to its folder: moved to ${newShown} it would name ${path.resolve(path.dirname(newPath), link)} instead; ` +
              `nothing was changed: make it absolute first (ln -sfn ${shellWord(path.resolve(path.dirname(oldPath), link))} ${shellWord(oldShown)}), or move the file it names`,
          );
        }
        if (!oldStats && !newStats) throw new Error(`${newShown}: not found (nor ${oldShown}): give the dataset's old path, then its new one`);
        if (oldStats) {
          // Not moved while a run of it (of a dataset inside it) is being written: that run would land under the old
          // name (datasetMove.ts), or fail, its folder gone.
          // A .peerkd folder (or one inside it) holds no dataset: the datasets beside it write their runs into it.
          const beside = peerkdFolderOwner(oldPath);
          const under = oldStats.isDirectory() ? await datasetsUnder(oldPath) : undefined;
          const datasets = beside !== undefined ? await datasetsBeside(beside) : under !== undefined ? under.datasets : [oldPath];
          for (const dataset of datasets) {
            const running = await runsInProgress(dataset, (await readKnownRunsDirs(dataset)).dirs);
            if (running.length > 0) throw new Error(`${running[0]}: ${runningMessage(dataset, [oldPath, newPath], `${oldShown} was not moved, nothing was changed`)}`);
          }
          // A run of any dataset (one outside, --out) being written into a runs folder inside: it would fail, its folder gone.
          const writing = await runsInProgress(undefined, under?.runsFolders ?? []);
          if (writing.length > 0) {
            throw new Error(
              `${writing[0]}: a run is still being written there, and would fail with its folder moved; ${oldShown} was not moved, nothing was changed: once it has finished (or been cancelled), run peerkd move ${shellQuoted(oldPath)} ${shellQuoted(newPath)}`,
            );
          }
        }
        if (oldStats) {
          // Moved here first, as `mv` would: the history then follows as after an mv.
          await seams.beforeMove?.();
          try {
            await moveWithoutReplacing(oldPath, newPath);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'EEXIST' || code === 'ENOTEMPTY') {
              throw new Error(`${newShown} appeared while ${oldShown} was being moved there (made by another program?): it is never replaced; nothing was changed`);
            }
            if (code === 'ENOENT' && !(await fs.lstat(oldPath).then(() => true, () => false))) {
              throw new Error(`${oldShown} went away while it was being moved (moved by another program?); nothing was changed: once it is at its new path, run peerkd move with that path as NEW`);
            }
            const why = code === 'EXDEV' ? 'another file system' : code === 'ENOENT' ? `the folder ${path.dirname(newShown)} does not exist` : (error as Error).message;
            const again = `peerkd move ${replaceHistory ? '--replace-history ' : ''}${oldShown.startsWith('-') ? '-- ' : ''}${shellWord(oldShown)} ${shellWord(newShown)}`;
            throw new Error(`${oldShown} could not be moved to ${newShown} (${why}); move it yourself, then run ${again} again`);
          }
          out.line(`Moved ${oldShown} to ${newShown}`);
          movedHere = true;
          [newStats, oldStats] = [oldStats, undefined];
        }
        if (newStats!.isDirectory()) {
          const { reports, complete } = await carryFolderHistory(oldPath, newPath, { replaceHistory });
          for (const report of reports) print(report, out, err);
          if (!complete) err.line(`warning: ${newShown} holds more than ${MOVED_FOLDER_LIMITS.datasets} datasets or ${MOVED_FOLDER_LIMITS.entries} entries: only those found first were looked at; run peerkd move on the others one by one`);
          const carried = reports.filter((report) => report.carried.length > 0).length;
          const owner = peerkdFolderOwner(oldPath);
          if (owner !== undefined && reports.length === 0) {
            // PeerKD's own folder: no dataset beside it had runs or a review log in it.
            if (movedHere) {
              out.line(`No dataset in ${owner} had runs or a review log in ${oldShown}: there was no history to carry`);
              return EXIT.ok;
            }
            err.line(`peerkd move: no dataset in ${owner} has runs or a review log in ${newShown}; nothing was carried`);
            return EXIT.failed;
          }
          if (carried === 0 && movedHere && reports.length > 0 && reports.every((report) => report.kept.length === 0 && report.problems.length === 0)) {
            out.line(`No dataset in ${newShown} had runs or a review log under ${oldShown}: there was no history to carry`);
            return EXIT.ok;
          }
          if (carried === 0) {
            // `mv data.jsonl folder/` moved the file into the folder: its new path is inside it.
            const inside = path.join(newPath, path.basename(oldPath));
            const into =
              !movedHere && DATASET_FILE_NAME.test(oldPath) && (await fs.stat(inside).then((stats) => stats.isFile(), () => false))
                ? `; moved into the folder (mv ${shellWord(oldShown)} ${shellWord(newShown)}/)? then its new path is ${inside}: peerkd move ${shellQuoted(oldPath)} ${shellQuoted(inside)}`
                : '';
            err.line(`peerkd move: no dataset in ${newShown} has runs or a review log under ${oldShown}${reports.length === 0 ? ' (it holds no .jsonl or .ndjson file)' : ''}; nothing was carried${into}`);
            return EXIT.failed;
          }
          out.line(`History of ${carried} dataset${carried === 1 ? '' : 's'} carried from ${oldShown} to ${newShown}`);
          return reports.some((report) => report.problems.length > 0 || report.kept.length > 0) ? EXIT.failed : EXIT.ok;
        }
        const report = await carryDatasetHistory(oldPath, newPath, { replaceHistory });
        print(report, out, err);
        if (report.carried.length === 0) {
          if (report.kept.length === 0 && report.problems.length === 0 && movedHere) {
            out.line(`${oldShown} had no runs nor review log in ${report.searched.join(', ')}: there was no history to carry`);
            return EXIT.ok;
          }
          if (report.kept.length === 0 && report.problems.length === 0) {
            // Carried before: its pointer says where (the same move twice, or a slip of the path).
            const moves = await Promise.all(report.searched.map((runsDir) => readMovedPointer(latestPointerPath(oldPath, runsDir))));
            const carriedTo = [...new Set(moves.map((moved) => moved?.path).filter((moved): moved is string => moved !== undefined))];
            const before =
              carriedTo.length === 0
                ? `moved before? then ${newShown} has them`
                : carriedTo.includes(newPath)
                  ? `carried to ${newShown} before`
                  : `carried to ${carriedTo.join(', ')} before: peerkd move ${shellQuoted(carriedTo[0])} ${shellQuoted(newPath)} carries them on`;
            err.line(`peerkd move: no runs nor review log of ${oldShown} in ${report.searched.join(', ')}; nothing was carried (${before})`);
          }
          return EXIT.failed;
        }
        return report.problems.length > 0 || report.kept.length > 0 ? EXIT.failed : EXIT.ok;
      }),
  };
}

export const moveCommand = createMoveCommand();
