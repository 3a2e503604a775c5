/**
 * `peerkd move OLD NEW`: carries the history of a dataset renamed or moved outside the editor (its runs, its review
 * log, its runs folders: all kept under its path) to its new path, by the function the editor calls when a dataset is
 * renamed in its Explorer (src/training/datasetMove.ts carryDatasetHistory). Moves the file first when it is still at
 * OLD; a folder moves every dataset's history inside it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { fileError } from '../dataset';
import { latestPointerPath, readKnownRunsDirs, readMovedPointer, runsInProgress } from '../training/artifacts';
import { carryDatasetHistory, carryFolderHistory, datasetsUnder, describeCarry, MOVED_FOLDER_LIMITS, runningMessage, type CarryReport } from '../training/datasetMove';
import { EXIT, EXIT_CODES_HELP, parseCommandArgs, UsageError, type CliCommand } from './command';
import { runCommand, type CliIo } from './distill';
import type { Terminal } from './terminal';

export const MOVE_HELP = `Usage: peerkd move OLD NEW

Carries the history of a dataset renamed or moved from OLD to NEW: its latest run in each runs folder it used, the
review log of the labels decided in Label Review, and the list of its runs folders. PeerKD keeps these under the
dataset's path, so after \`mv OLD NEW\` alone NEW has no run (export and Label Review say so) and its next run counts
the labels decided in review as the random sample. VS Code does this itself when a dataset is renamed or moved in its
Explorer.
  OLD gone, NEW there       the dataset was moved already (mv OLD NEW): its history follows it
  OLD there, NEW not        moves OLD to NEW first (a file, or a folder), then its history
OLD and NEW may be folders: the history of every dataset inside follows it, and a dataset outside whose runs folder
(distill's out folder) was inside finds it where it went. The runs stay where they are (each still records the path it read).
History that NEW already has in a runs folder is never replaced: there OLD's stays under OLD's name, and a warning
says so. While a run of OLD is still being written, nothing is moved nor carried: run this again once it has finished.

Options:
  -h, --help    this help

${EXIT_CODES_HELP}`;

export const MOVE_OPTIONS = {
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

export function createMoveCommand(io: CliIo = { stdout: process.stdout, stderr: process.stderr }): CliCommand {
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
        if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? `missing ${positionals.length === 0 ? 'OLD and NEW' : 'NEW'}` : 'expected OLD and NEW only');
        const [oldShown, newShown] = positionals;
        const oldPath = path.resolve(oldShown);
        const newPath = path.resolve(newShown);
        if (oldPath === newPath) throw new UsageError(`OLD and NEW are the same path (${oldPath})`);
        let oldStats = await statOf(oldPath, oldShown);
        let newStats = await statOf(newPath, newShown);
        /** Whether this command moved the file (so there was no earlier move that carried its history). */
        let movedHere = false;
        // A symbolic link at NEW whose target is gone is still the user's: never replaced by the move.
        const newTaken = newStats !== undefined || (await fs.lstat(newPath).then((stats) => stats.isSymbolicLink(), () => false));
        if (oldStats && newTaken) {
          throw new Error(`${oldShown} and ${newShown} both exist: peerkd move carries the history of a dataset moved from OLD to NEW (moving it first when NEW is not there); nothing was changed`);
        }
        if (!oldStats && !newStats) throw new Error(`${newShown}: not found (nor ${oldShown}): give the dataset's old path, then its new one`);
        if (oldStats) {
          // Not moved while a run of it (of a dataset inside it) is being written: that run would land under the old
          // name (datasetMove.ts), or fail, its folder gone.
          const datasets = oldStats.isDirectory() ? (await datasetsUnder(oldPath)).datasets : [oldPath];
          for (const dataset of datasets) {
            const running = await runsInProgress(dataset, (await readKnownRunsDirs(dataset)).dirs);
            if (running.length > 0) throw new Error(`${running[0]}: ${runningMessage(dataset, [oldPath, newPath], `${oldShown} was not moved, nothing was changed`)}`);
          }
        }
        if (oldStats) {
          // Moved here first, as `mv` would: the history then follows as after an mv.
          try {
            await fs.rename(oldPath, newPath);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            const why = code === 'EXDEV' ? 'another file system' : code === 'ENOENT' ? `the folder ${path.dirname(newShown)} does not exist` : (error as Error).message;
            throw new Error(`${oldShown} could not be moved to ${newShown} (${why}); move it yourself, then run peerkd move ${oldShown} ${newShown} again`);
          }
          out.line(`Moved ${oldShown} to ${newShown}`);
          movedHere = true;
          [newStats, oldStats] = [oldStats, undefined];
        }
        if (newStats!.isDirectory()) {
          const { reports, complete } = await carryFolderHistory(oldPath, newPath);
          for (const report of reports) print(report, out, err);
          if (!complete) err.line(`warning: ${newShown} holds more than ${MOVED_FOLDER_LIMITS.datasets} datasets or ${MOVED_FOLDER_LIMITS.entries} entries: only those found first were looked at; run peerkd move on the others one by one`);
          const carried = reports.filter((report) => report.carried.length > 0).length;
          if (carried === 0 && movedHere && reports.length > 0 && reports.every((report) => report.kept.length === 0 && report.problems.length === 0)) {
            out.line(`No dataset in ${newShown} had runs or a review log under ${oldShown}: there was no history to carry`);
            return EXIT.ok;
          }
          if (carried === 0) {
            err.line(`peerkd move: no dataset in ${newShown} has runs or a review log under ${oldShown}${reports.length === 0 ? ' (it holds no .jsonl or .ndjson file)' : ''}; nothing was carried`);
            return EXIT.failed;
          }
          out.line(`History of ${carried} dataset${carried === 1 ? '' : 's'} carried from ${oldShown} to ${newShown}`);
          return reports.some((report) => report.problems.length > 0 || report.kept.length > 0) ? EXIT.failed : EXIT.ok;
        }
        const report = await carryDatasetHistory(oldPath, newPath);
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
                  : `carried to ${carriedTo.join(', ')} before: peerkd move ${JSON.stringify(carriedTo[0])} ${JSON.stringify(newPath)} carries them on`;
            err.line(`peerkd move: no runs nor review log of ${oldShown} in ${report.searched.join(', ')}; nothing was carried (${before})`);
          }
          return EXIT.failed;
        }
        return report.problems.length > 0 || report.kept.length > 0 ? EXIT.failed : EXIT.ok;
      }),
  };
}

export const moveCommand = createMoveCommand();
