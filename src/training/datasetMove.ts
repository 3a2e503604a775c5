/**
 * A dataset renamed or moved keeps its history. Everything PeerKD keeps per dataset is keyed by its absolute path
 * (artifacts.ts datasetKey): the list of the runs folders it used (`<dataset folder>/.peerkd/runs-folders/<key>`), its
 * latest-run pointer in each runs folder (`latest-by-dataset/<key>`) and its review log there (`review-log/<key>.jsonl`,
 * src/review/reviewLog.ts). After `mv train.jsonl train-v2.jsonl` none of them is found under the new key: Label
 * Review, export and the next run started from nothing, and the next run counted the labels decided in review as the
 * random sample. carryDatasetHistory moves them to the new key; the editor calls it when a dataset (or a folder
 * holding datasets) is renamed in the Explorer (src/editor/datasetMoves.ts), `peerkd move OLD NEW` from a terminal.
 *
 * The runs themselves are not touched: a run folder and its settings.json (which records the path the run read) stay
 * as they were written. The latest-run look-up follows the pointer under the new key without comparing the run's
 * recorded path (only its fallback scan, for runs older than the pointers, compares it), so the pointer carries the
 * run: a moved dataset's run records its path then, which is what happened.
 *
 * Copy, then switch, then retire: in each runs folder the log is copied and the pointer written under the new key,
 * then the folders are listed for the new path, and only once all of that is written is the old key retired: its log
 * and list removed, its pointer replaced by `moved-to <new key>` (artifacts.ts MOVED_POINTER_PREFIX, which stops the
 * look-up, including its scan for runs recording the old path). A failure midway leaves the old history whole (and
 * what was copied is found again, not doubled, when the carry is run again). The old entries are retired rather than
 * kept because the old path names no dataset any more: a new file created there later (another `train.jsonl`) would
 * otherwise inherit the moved dataset's runs and review decisions (its rows counted as reviewed by id), and moving the
 * dataset back (the Explorer's undo) would find the old key taken by a stale copy. Where the new path already has
 * history of its own in a runs folder (its own latest run, or its own log), that is never replaced: the old key keeps
 * that part there (both kept, said in `kept`), and what the new path lacks is still carried (the review log, where a
 * run of the new path was made before the carry) — unless the user asks for it to be replaced (`peerkd move
 * --replace-history`, the command the warning gives: history of an earlier file at the new path, deleted since), and
 * then its own log is set aside, never deleted. A `.peerkd` folder (or its runs folder) moved away from its datasets
 * carries nothing to a new key: the datasets beside it list the runs folders where they went (relistBesideMovedPeerkd).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isWithinFolder, PEERKD_FOLDER, writeFileAtomic } from '../dataset';
import { DATASET_FILE_NAME, shellQuoted, shellWord } from '../dataset/types';
import { reviewLogFile } from '../review/reviewLog';
import {
  datasetKey,
  LATEST_BY_DATASET_DIR,
  latestPointerPath,
  latestRunId,
  movedPointerText,
  readMovedPointer,
  readPointer,
  readRunsFoldersList,
  recordRunsDir,
  resolveRunsDir,
  REVIEW_LOG_DIR,
  runDataset,
  runsFoldersFile,
  runsInProgress,
} from './artifacts';

/** A folder renamed or moved with the dataset in it: paths inside `from` (its runs folders, its list) are now inside `to`. */
export interface MovedFolder {
  from: string;
  to: string;
}

export interface CarryOptions {
  /** peerkd.training.outputDir (or a runs folder named otherwise), as for the dataset's runs: relative to its folder. */
  outputDir?: string;
  /** The folder rename that moved the dataset, when a folder moved rather than the file alone. */
  movedFolder?: MovedFolder;
  /**
   * History the new path already has (of an earlier file at that path, deleted since) is replaced rather than kept
   * (`peerkd move --replace-history`): its latest pointer then names the carried run (its own run stays in its folder)
   * and its own review log is set aside beside it (REPLACED_LOG_SUFFIX), never deleted.
   */
  replaceHistory?: boolean;
}

/** What a review log set aside by replaceHistory is named after: `<log>.replaced-<time>`; no run reads it. */
export const REPLACED_LOG_SUFFIX = '.replaced-';

/** What carryDatasetHistory did, folder by folder. */
export interface CarryReport {
  from: string;
  to: string;
  /**
   * Runs folders whose history of `from` now belongs to `to`: the run its pointer names, the review log copied; or,
   * with `movedFrom`, a runs folder moved with a folder (from that path) that `to` (= `from`, a dataset outside the
   * folder) now lists, so that its runs and review log there are found again.
   */
  carried: { runsDir: string; runId?: string; log?: string; movedFrom?: string; replaced?: { runId?: string; log?: string } }[];
  /**
   * Runs folders where `to` already had a latest run or a review log of its own: that is kept, and `from`'s run or log
   * stays under its key there (what `to` lacked is still carried: a log, where `to` has a run made after the move).
   */
  kept: { runsDir: string; why: string }[];
  /** What could not be read or written, naming the file; the old history is then left in place. */
  problems: string[];
  /** The runs folders looked in for `from`'s history. */
  searched: string[];
  /** Whether the old key was retired everywhere: pointers marked moved, logs and list removed (nothing kept, no problem). */
  removedOld: boolean;
  /**
   * The OLD and NEW of the `peerkd move` that carries this again: the dataset's paths, or those of the folder that moved
   * it (a dataset's own paths would look for its history in its old folder, gone with the folder).
   */
  again?: readonly [string, string];
}

/**
 * Why the history of `dataset` is not carried while a run of it is being written (said after the folder of that run);
 * `outcome`: what was left undone; `again`: the OLD and NEW of the peerkd move to run once it has finished.
 */
export function runningMessage(dataset: string, again: readonly [string, string], outcome = 'nothing was carried'): string {
  return `a run of ${dataset} is still being written there, and would land under its old name; ${outcome}: once it has finished (or been cancelled), run peerkd move ${shellQuoted(again[0])} ${shellQuoted(again[1])}`;
}

/**
 * The end of the warning when a dataset was renamed or moved while its run was being written: the run finished under
 * the old name, and carrying the history (peerkd move, or an Explorer rename now that no run is being written) reviews
 * that run at the new name without a re-run. `newPath`: where the editor saw it go (NEW where it did not).
 */
export function renamedDuringRunMessage(oldPath: string, runDir: string, newPath?: string): string {
  const move = `peerkd move ${shellWord(oldPath)} ${newPath === undefined ? 'NEW' : shellWord(newPath)}`;
  return (
    `Its results are in ${runDir}. To review them where the file is now without running it again, carry its history: ${move} ` +
    '(or, in the Explorer, rename it back and then again: with no run being written, a rename carries the history); running the file where it is now starts a new run.'
  );
}

/** Where a path of the time before the move is now: moved with the folder, or where it was. */
export function relocate(file: string, movedFolder?: MovedFolder): string {
  const absolute = path.resolve(file);
  if (movedFolder === undefined) return absolute;
  const from = path.resolve(movedFolder.from);
  return isWithinFolder(absolute, from) ? path.join(path.resolve(movedFolder.to), path.relative(from, absolute)) : absolute;
}

async function readIfFile(file: string): Promise<Buffer | undefined> {
  try {
    const stats = await fs.lstat(file);
    if (!stats.isFile()) throw new Error(`${file}: not a plain file, so it is not carried`);
    return await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

/**
 * `data` as the new file `target`, written whole or not at all and never over a file there: written beside it, then
 * linked into place (a link fails where the name is taken, where a rename would replace it).
 */
async function createWhole(target: string, data: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.carry`);
  await fs.writeFile(temp, data);
  try {
    await fs.link(temp, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
    // A file system without hard links: the name is checked just before, then the file renamed into place.
    if (await exists(target)) throw Object.assign(new Error(`${target}: exists`), { code: 'EEXIST' });
    await fs.rename(temp, target);
    return;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * The review log `log` (holding `own`, the new path's) replaced by `carried`, its own bytes set aside first as
 * `<log>.replaced-<time>` (created whole, never over a file); the name set aside. Throws, naming the file, where the
 * log changed since it was read (a decision logged meanwhile): then nothing is replaced.
 */
async function setAsideLog(log: string, own: Buffer, carried: Buffer): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let aside = `${log}${REPLACED_LOG_SUFFIX}${stamp}`;
  for (let attempt = 2; ; attempt++) {
    try {
      await createWhole(aside, own);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 99) throw error;
      aside = `${log}${REPLACED_LOG_SUFFIX}${stamp}-${attempt}`;
    }
  }
  const now = await readIfFile(log);
  if (now === undefined || !now.equals(own)) throw new Error(`${log} changed while it was set aside as ${aside} (a decision logged meanwhile), so it is not replaced`);
  await writeFileAtomic(log, carried);
  return aside;
}

/**
 * Carries the history of the dataset that was at `from` (runs-folders list, latest pointer and review log in each runs
 * folder it used) to the dataset now at `to`; see the module comment for the order and why the old entries go. The
 * dataset file itself is neither read nor moved. Never throws for what it finds on disk: `problems` says it.
 */
export async function carryDatasetHistory(from: string, to: string, options: CarryOptions = {}): Promise<CarryReport> {
  const oldPath = path.resolve(from);
  const newPath = path.resolve(to);
  const { movedFolder, outputDir } = options;
  const again = movedFolder === undefined ? ([oldPath, newPath] as const) : ([path.resolve(movedFolder.from), path.resolve(movedFolder.to)] as const);
  const report: CarryReport = { from: oldPath, to: newPath, carried: [], kept: [], problems: [], searched: [], removedOld: false, again };
  if (oldPath === newPath) return report;
  // The runs folders of the old path, where they are now: the one outputDir names, the default one, those listed.
  const oldList = relocate(runsFoldersFile(oldPath), movedFolder);
  const listed = await readRunsFoldersList(oldList, 'so the runs folders beside the dataset are looked in only');
  report.problems.push(...listed.problems);
  const dirs = [resolveRunsDir(oldPath, outputDir), resolveRunsDir(oldPath), ...listed.dirs].map((dir) => relocate(dir, movedFolder));
  report.searched = [...new Set(dirs)];
  // A run of the old path still being written would land under the old key after the carry (its pointer replacing the
  // `moved-to`), so the new path would miss its newest run, and a new file at the old path would inherit it.
  const running = await runsInProgress(oldPath, report.searched);
  if (running.length > 0) {
    report.problems.push(`${running[0]}: ${runningMessage(oldPath, again)}`);
    return report;
  }
  /** Per carried folder: what to remove of the old key once everything is written, and the bytes it held. */
  const toRemove: { file: string; bytes: Buffer }[] = [];
  /** The old key's pointers to mark as moved (MOVED_POINTER_PREFIX), with what they held (none: runs found by scan). */
  const toMark: { file: string; bytes: Buffer | undefined }[] = [];
  for (const runsDir of report.searched) {
    try {
      const oldPointer = latestPointerPath(oldPath, runsDir);
      const oldPointerBytes = await readIfFile(oldPointer);
      // The old key's latest run here: its pointer's, else the newest run recording the old path (runs before pointers).
      const runId = await latestRunId(oldPath, runsDir);
      const oldLog = reviewLogFile(runsDir, oldPath);
      const logBytes = await readIfFile(oldLog);
      if (runId === undefined && logBytes === undefined) continue;
      const newPointer = latestPointerPath(newPath, runsDir);
      const newLog = reviewLogFile(runsDir, newPath);
      // The new path's own history here: a run other than the carried one, a log other than the carried one.
      const newRun = await latestRunId(newPath, runsDir);
      const newLogBytes = await readIfFile(newLog);
      // Each part goes only where the new path has none of its own: its own latest run (a run of it made after the
      // move) or its own log is kept, and the old one stays under the old name there.
      const runConflict = runId !== undefined && newRun !== undefined && newRun !== runId;
      const logConflict = logBytes !== undefined && newLogBytes !== undefined && !newLogBytes.equals(logBytes);
      const replace = options.replaceHistory === true;
      const carryRun = runId !== undefined && (!runConflict || replace);
      const carryLog = logBytes !== undefined && (!logConflict || replace);
      const why = (replace ? [] : [
        runConflict ? `its own latest run here, ${newRun}, is kept; run ${runId} stays the latest of ${path.basename(oldPath)}` : undefined,
        logConflict ? `its own review log ${newLog} is kept; the log of ${path.basename(oldPath)} stays under its name` : undefined,
      ]).filter((part): part is string => part !== undefined);
      if (why.length > 0) report.kept.push({ runsDir, why: why.join('; ') });
      if (!carryRun && !carryLog) continue;
      if (carryLog && newLogBytes === undefined) await createWhole(newLog, logBytes);
      if (carryRun && (newRun === undefined || runConflict)) {
        const byDataset = path.dirname(newPointer);
        const stats = await fs.lstat(byDataset).catch(() => undefined);
        if (stats !== undefined && !stats.isDirectory()) throw new Error(`${byDataset} exists and is not PeerKD's folder of run pointers`);
        await fs.mkdir(byDataset, { recursive: true });
        await writeFileAtomic(newPointer, `${runId}\n`);
      }
      // The new path's own log, replaced: set aside whole first (never deleted), then the carried one in its place.
      const setAside = carryLog && logConflict ? await setAsideLog(newLog, newLogBytes, logBytes) : undefined;
      const replaced = { ...(carryRun && runConflict ? { runId: newRun } : {}), ...(setAside === undefined ? {} : { log: setAside }) };
      report.carried.push({
        runsDir,
        ...(carryRun ? { runId } : {}),
        ...(carryLog ? { log: newLog } : {}),
        ...(Object.keys(replaced).length > 0 ? { replaced } : {}),
      });
      if (carryRun) toMark.push({ file: oldPointer, bytes: oldPointerBytes });
      if (carryLog) toRemove.push({ file: oldLog, bytes: logBytes });
    } catch (error) {
      report.problems.push(`${runsDir}: ${(error as Error).message}; the history of ${oldPath} there is left as it is`);
    }
  }
  // Switch: the new path lists the runs folders now holding its history (its default one needs no line). A folder it
  // cannot list is one where the new path finds nothing: not carried, said.
  for (const { runsDir } of [...report.carried]) {
    try {
      await recordRunsDir(newPath, runsDir);
    } catch (error) {
      report.carried = report.carried.filter((carried) => carried.runsDir !== runsDir);
      report.problems.push(
        `${(error as Error).message}; so ${newPath} would not find its history in ${runsDir}: it stays under the name of ${oldPath} there (run peerkd move ${shellQuoted(again[0])} ${shellQuoted(again[1])} again once that is fixed)`,
      );
    }
  }
  if (report.problems.length > 0 || report.carried.length === 0) return report;
  // Only now, with everything written: the old key's entries go, each only while it holds what was carried (a decision
  // logged meanwhile under the old key keeps its log, said).
  for (const { file, bytes } of toMark) {
    const now = await readIfFile(file).catch(() => undefined);
    if (now !== undefined && (bytes === undefined || !now.equals(bytes))) {
      report.problems.push(`${file} changed while its history was carried (a run of ${oldPath}?), so it is kept`);
      continue;
    }
    await writeFileAtomic(file, movedPointerText(newPath)).catch((error: unknown) => report.problems.push(`${file}: ${(error as Error).message}; left in place`));
  }
  for (const { file, bytes } of toRemove) {
    const now = await readIfFile(file).catch(() => undefined);
    if (now !== undefined && !now.equals(bytes)) {
      report.problems.push(`${file} changed while its history was carried (a decision logged under the old name meanwhile), so it is kept: what was logged after the copy stays under the old name`);
      continue;
    }
    await fs.rm(file, { force: true }).catch((error: unknown) => report.problems.push(`${file}: ${(error as Error).message}; left in place`));
  }
  if (report.kept.length === 0 && report.problems.length === 0) await fs.rm(oldList, { force: true }).catch(() => undefined);
  report.removedOld = report.problems.length === 0 && report.kept.length === 0;
  return report;
}

/** The report in lines for the PeerKD log or a terminal (each names the folders and files). */
export function describeCarry(report: CarryReport): { info: string[]; warnings: string[] } {
  const { from, to } = report;
  const info = report.carried.map(({ runsDir, runId, log, movedFrom, replaced }) =>
    movedFrom !== undefined
      ? movedFrom === runsDir
        ? `runs folder ${runsDir} listed again for ${to}: the list of its runs folders had moved away`
        : `runs folder ${movedFrom} moved to ${runsDir}: listed for ${to}, whose runs and review log there are found again`
      : `history of ${from} carried to ${to} in ${runsDir}: ${[runId === undefined ? undefined : `latest run ${runId}`, log === undefined ? undefined : `review log ${log}`].filter(Boolean).join(', ')}` +
        (replaced === undefined
          ? ''
          : ` (replacing its own: ${[
              replaced.runId === undefined ? undefined : `run ${replaced.runId} stays in its folder, no longer its latest`,
              replaced.log === undefined ? undefined : `its review log set aside as ${replaced.log}`,
            ]
              .filter(Boolean)
              .join('; ')})`),
  );
  const warnings = [
    ...report.kept.map(
      ({ runsDir, why }) =>
        `${runsDir}: ${to} already has history there, never replaced: ${why}. ` +
        `If that history is of an earlier file at ${to} (deleted since), not of this dataset: ${replaceHistoryCommand(...(report.again ?? [from, to]))} makes the history of ${path.basename(from)} its own there (its run the latest; its own log set aside, nothing deleted)`,
    ),
    ...report.problems,
  ];
  return { info, warnings };
}

/**
 * The command that carries `from`'s history over the history `to` already has (CarryOptions.replaceHistory): the
 * dataset's paths, or the folder's that moved it (CarryReport.again).
 */
export function replaceHistoryCommand(from: string, to: string): string {
  return `peerkd move --replace-history ${shellWord(from)} ${shellWord(to)}`;
}

/** The most datasets a folder rename carries, and the most entries looked at to find them. */
export const MOVED_FOLDER_LIMITS = { datasets: 1000, entries: 50_000 } as const;

/**
 * The dataset files (.jsonl, .ndjson) inside `folder`, for carrying a folder rename's datasets: every level, without
 * hidden folders (`.peerkd`, `.git`) and `node_modules`, without following links; at most MOVED_FOLDER_LIMITS
 * (`complete` false beyond them).
 */
export async function datasetsUnder(folder: string): Promise<{ datasets: string[]; runsFolders: string[]; complete: boolean }> {
  const datasets: string[] = [];
  /** The runs folders met on the way (--out inside the folder, or the folder itself), whose datasets may be outside. */
  const runsFolders: string[] = [];
  const pending = [path.resolve(folder)];
  let entries = 0;
  while (pending.length > 0) {
    const current = pending.shift()!;
    const names = await fs.readdir(current, { withFileTypes: true }).catch(() => []);
    // A runs folder (--out inside the folder): its run files and review logs are no datasets.
    if (names.some((entry) => entry.isDirectory() && (entry.name === LATEST_BY_DATASET_DIR || entry.name === REVIEW_LOG_DIR))) {
      runsFolders.push(current);
      continue;
    }
    for (const entry of names) {
      if (++entries > MOVED_FOLDER_LIMITS.entries || datasets.length >= MOVED_FOLDER_LIMITS.datasets) return { datasets, runsFolders, complete: false };
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') pending.push(path.join(current, entry.name));
      else if (entry.isFile() && DATASET_FILE_NAME.test(entry.name)) datasets.push(path.join(current, entry.name));
    }
  }
  return { datasets: datasets.sort(), runsFolders: runsFolders.sort(), complete: true };
}

/**
 * A runs folder moved with a folder while datasets outside it stay: each dataset whose latest pointer there names a
 * run (its own, or one carried to it) and whose runs-folders list names the folder's old path gets its new path listed
 * too, so that its runs and review log there are found again (the old line stays: the list is never rewritten).
 * Datasets inside the moved folder are carried by carryDatasetHistory instead.
 */
async function relistMovedRunsFolder(runsDir: string, movedFolder: MovedFolder): Promise<CarryReport[]> {
  const oldRunsDir = path.join(movedFolder.from, path.relative(movedFolder.to, runsDir));
  const folder = path.join(runsDir, LATEST_BY_DATASET_DIR);
  const reports: CarryReport[] = [];
  for (const name of (await fs.readdir(folder).catch(() => [] as string[])).sort()) {
    const runId = await readPointer(path.join(folder, name));
    const recorded = runId === undefined ? undefined : await runDataset(path.join(runsDir, runId));
    if (recorded === undefined) continue;
    const dataset = datasetKey(recorded) === name ? path.resolve(recorded) : await carriedPath(folder, recorded, name);
    if (dataset === undefined || isWithinFolder(dataset, movedFolder.from) || isWithinFolder(dataset, movedFolder.to) || !(await exists(dataset))) continue;
    const listed = await readRunsFoldersList(runsFoldersFile(dataset), 'so it is not listed there');
    if (!listed.dirs.includes(oldRunsDir) || listed.dirs.includes(runsDir)) continue;
    const report: CarryReport = { from: dataset, to: dataset, carried: [], kept: [], problems: [...listed.problems], searched: [runsDir], removedOld: false };
    try {
      await recordRunsDir(dataset, runsDir);
      report.carried.push({ runsDir, movedFrom: oldRunsDir });
    } catch (error) {
      report.problems.push(`${(error as Error).message}; so ${dataset} does not find its runs and review log in ${runsDir} (moved from ${oldRunsDir})`);
    }
    reports.push(report);
  }
  return reports;
}

/**
 * The folder whose datasets use the `.peerkd` folder that `file` is (or is inside): `/data` for `/data/.peerkd` and
 * `/data/.peerkd/runs`; undefined for a path in no `.peerkd` folder.
 */
export function peerkdFolderOwner(file: string): string | undefined {
  const parts = path.resolve(file).split(path.sep);
  const at = parts.lastIndexOf(PEERKD_FOLDER);
  return at <= 0 ? undefined : parts.slice(0, at).join(path.sep) || path.sep;
}

/** The dataset files (.jsonl, .ndjson) directly in `folder`, sorted: those whose `.peerkd` folder is `folder`'s. */
export async function datasetsBeside(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && DATASET_FILE_NAME.test(entry.name)).map((entry) => path.join(folder, entry.name)).sort();
}

/** Whether `runsDir` holds a latest run or a review log of `dataset` (a pointer marked moved-to is none). */
async function holdsHistory(dataset: string, runsDir: string): Promise<boolean> {
  if (await exists(reviewLogFile(runsDir, dataset))) return true;
  return latestRunId(dataset, runsDir).then(
    (runId) => runId !== undefined,
    () => true,
  );
}

/**
 * A `.peerkd` folder (or a folder inside it: its runs folder, its runs-folders lists) moved away from the datasets
 * beside it, `owner`'s: each dataset there lists the runs folders that moved, where they went (its default runs folder
 * where it holds its history; every folder of its runs-folders list where that list moved too, so that its other runs
 * folders are found again), in a list beside it made anew. Its runs and review logs stay in the moved folder, found
 * there. Without this, those datasets started from nothing, and their next run counted the labels decided in review
 * as the random sample.
 */
async function relistBesideMovedPeerkd(owner: string, movedFolder: MovedFolder): Promise<CarryReport[]> {
  const reports: CarryReport[] = [];
  for (const dataset of await datasetsBeside(owner)) {
    const oldList = runsFoldersFile(dataset);
    const movedList = relocate(oldList, movedFolder);
    const listMoved = movedList !== oldList;
    const listed = listMoved ? await readRunsFoldersList(movedList, 'so the runs folders it lists are not listed again') : { dirs: [], problems: [] };
    const report: CarryReport = { from: dataset, to: dataset, carried: [], kept: [], problems: [...listed.problems], searched: [], removedOld: false };
    const own = resolveRunsDir(dataset);
    for (const oldDir of [...new Set([own, ...listed.dirs])]) {
      const newDir = relocate(oldDir, movedFolder);
      if (newDir === oldDir && (oldDir === own || !listMoved)) continue;
      if (!(await fs.stat(newDir).then((stats) => stats.isDirectory(), () => false))) continue;
      report.searched.push(newDir);
      if (oldDir === own && !(await holdsHistory(dataset, newDir))) continue;
      try {
        await recordRunsDir(dataset, newDir);
        report.carried.push({ runsDir: newDir, movedFrom: oldDir });
      } catch (error) {
        report.problems.push(`${(error as Error).message}; so ${dataset} does not find its runs and review log in ${newDir} (moved from ${oldDir})`);
      }
    }
    if (report.carried.length + report.problems.length > 0) reports.push(report);
  }
  return reports;
}

/**
 * carryDatasetHistory for each dataset now inside `to`, a folder moved from `from`. A `.peerkd` folder (or one inside
 * it) holds no dataset (its caches' .jsonl files are none): the datasets beside it list its runs where they went.
 */
export async function carryFolderHistory(from: string, to: string, options: Omit<CarryOptions, 'movedFolder'> = {}): Promise<{ reports: CarryReport[]; complete: boolean }> {
  const movedFolder = { from: path.resolve(from), to: path.resolve(to) };
  const owner = peerkdFolderOwner(movedFolder.from);
  const found = await datasetsUnder(movedFolder.to);
  const { runsFolders, complete } = found;
  // Moved out of or into a .peerkd folder (a runs folder moved back): its caches' files are no datasets.
  const datasets = owner === undefined && peerkdFolderOwner(movedFolder.to) === undefined ? found.datasets : [];
  const reports: CarryReport[] = owner === undefined ? [] : await relistBesideMovedPeerkd(owner, movedFolder);
  for (const dataset of datasets) {
    const before = path.join(movedFolder.from, path.relative(movedFolder.to, dataset));
    reports.push(await carryDatasetHistory(before, dataset, { ...options, movedFolder }));
  }
  for (const runsDir of runsFolders) reports.push(...(await relistMovedRunsFolder(runsDir, movedFolder)));
  return { reports, complete };
}

/** A dataset whose file is gone, with a run in a runs folder: perhaps moved without its history. */
export interface OrphanedHistory {
  dataset: string;
  runsDir: string;
  runId: string;
  /** Found in the runs folder of a folder near the dataset's (orphanedHistoriesOf), not in one of its own. */
  nearby?: true;
}

/**
 * The datasets whose latest pointer in one of `runsDirs` names a run recording them, whose file is gone: the history
 * of a dataset moved or renamed outside the editor (or deleted). Looked for where a dataset has no history at all,
 * so that a run or an export says where the history may be instead of starting from nothing. A pointer whose key is
 * not its run's dataset's (one carried to a new path) is the new path's, not an orphan.
 */
export async function orphanedHistories(runsDirs: readonly string[], keyStem?: string): Promise<OrphanedHistory[]> {
  const found: OrphanedHistory[] = [];
  for (const runsDir of new Set(runsDirs)) {
    const folder = path.join(runsDir, LATEST_BY_DATASET_DIR);
    const names = await fs.readdir(folder).catch(() => [] as string[]);
    // `keyStem`: only the pointers of datasets of that file name (datasetKey: `<stem>-<hash>`), read.
    for (const name of names.filter((entry) => keyStem === undefined || keyStemOf(entry) === keyStem).sort()) {
      // A pointer or run that cannot be read names no dataset here.
      const runId = await readPointer(path.join(folder, name));
      const recorded = runId === undefined ? undefined : await runDataset(path.join(runsDir, runId));
      if (runId === undefined || recorded === undefined) continue;
      // A pointer carried to a new key: its dataset is where the moved-to pointers from the run's path lead.
      const dataset = datasetKey(recorded) === name ? path.resolve(recorded) : await carriedPath(folder, recorded, name);
      if (dataset === undefined || (await exists(dataset))) continue;
      found.push({ dataset, runsDir, runId });
    }
  }
  return found;
}

/** The readable part of a dataset key (datasetKey `<stem>-<12 hex>`): the same for every dataset of one file name. */
function keyStemOf(key: string): string {
  return key.replace(/-[0-9a-f]{12}$/, '');
}

/** The most folders of a parent folder (or of the dataset's) looked in for a dataset moved between them. */
const NEARBY_FOLDERS = 64;

/**
 * The default runs folders (`<folder>/.peerkd/runs`) of the folders a dataset is most often moved from: the folder
 * above the dataset's, its other folders, and the dataset's own folders (at most NEARBY_FOLDERS each; hidden folders
 * and node_modules left out), but for `exclude` (those looked in already).
 */
async function nearbyRunsDirs(dataset: string, exclude: readonly string[]): Promise<string[]> {
  const folder = path.dirname(path.resolve(dataset));
  const parent = path.dirname(folder);
  const subfolders = async (of: string) =>
    (await fs.readdir(of, { withFileTypes: true }).catch(() => []))
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
      .map((entry) => path.join(of, entry.name))
      .sort()
      .slice(0, NEARBY_FOLDERS);
  const folders = [...(parent === folder ? [] : [parent, ...(await subfolders(parent))]), ...(await subfolders(folder))];
  return [...new Set(folders.map((near) => resolveRunsDir(path.join(near, 'x'))))].filter((dir) => !exclude.includes(dir));
}

/**
 * The orphaned histories a dataset with no history is told of: those in its own runs folders (`runsDirs`), and those
 * of a dataset of its file name in the runs folders of the folders near it (nearbyRunsDirs): after `mv a/train.jsonl
 * b/train.jsonl` (or into a subfolder, or out of one) the history is in `a/.peerkd/runs`, where the dataset never
 * looks. Read only; a pointer of another file name there is not read.
 */
export async function orphanedHistoriesOf(dataset: string, runsDirs: readonly string[]): Promise<OrphanedHistory[]> {
  const own = await orphanedHistories(runsDirs);
  const nearby = await orphanedHistories(await nearbyRunsDirs(dataset, runsDirs), keyStemOf(datasetKey(dataset)));
  const name = path.basename(dataset);
  return [...own, ...nearby.filter((orphan) => path.basename(orphan.dataset) === name).map((orphan) => ({ ...orphan, nearby: true as const }))];
}

/**
 * The path of the dataset whose key is `key`, reached from `from`'s pointer in `folder` (a runs folder's
 * latest-by-dataset) by the moved-to pointers its history was carried along (A moved to B, B to C: C's); undefined
 * where the chain breaks (a pointer replaced since, one naming its key alone) or loops.
 */
async function carriedPath(folder: string, from: string, key: string): Promise<string | undefined> {
  const seen = new Set<string>();
  for (let current = datasetKey(from); !seen.has(current); ) {
    seen.add(current);
    const moved = await readMovedPointer(path.join(folder, current));
    if (moved === undefined) return undefined;
    if (moved.key === key) return moved.path;
    current = moved.key;
  }
  return undefined;
}

/** At most this many orphaned histories are named in a message. */
const ORPHANS_NAMED = 3;

/**
 * What a run or an export of `dataset`, which has no history, says about orphaned histories in its runs folders; none
 * when there are none. Those with the same file name come first (the likeliest rename: moved to another folder).
 */
export function orphanedHistoryMessage(dataset: string, orphans: readonly OrphanedHistory[]): string | undefined {
  if (orphans.length === 0) return undefined;
  const name = path.basename(dataset);
  const sorted = [...orphans].sort((a, b) => Number(path.basename(b.dataset) === name) - Number(path.basename(a.dataset) === name));
  const named = sorted.slice(0, ORPHANS_NAMED).map(({ dataset: gone, runsDir, runId }) => `${gone} (now missing; latest run ${runId} in ${runsDir})`);
  const more = orphans.length > ORPHANS_NAMED ? `, and ${orphans.length - ORPHANS_NAMED} more` : '';
  return (
    `${dataset} has no runs nor review log, but ${orphans.every((orphan) => orphan.nearby) ? 'the runs folder of a folder near it holds' : orphans.some((orphan) => orphan.nearby) ? 'its runs folder (and one near it) hold' : 'its runs folder holds'} the history of ${named.join('; ')}${more}. If you renamed or moved that dataset to ${dataset}, ` +
    `its history can follow it (its runs, and the labels decided in review, which otherwise count as the random sample): peerkd move ${shellQuoted(sorted[0].dataset)} ${shellQuoted(dataset)}`
  );
}

/** One rename the editor reports (workspace.onDidRenameFiles): a file or a folder, by its paths before and after. */
export interface RenamedPath {
  from: string;
  to: string;
}

/**
 * The history carried for renames the editor reports, in their order: a dataset file (.jsonl, .ndjson, by its old or
 * new name) carries its own, a folder every dataset's inside it; anything else, or a dataset with no history, gives no
 * report. `outputDirOf(path)`: peerkd.training.outputDir for the dataset now at `path`. `incomplete`: folders with more
 * than MOVED_FOLDER_LIMITS, of which only the datasets found first were carried. The editor's glue is
 * src/editor/datasetMoves.ts; `peerkd move` calls carryDatasetHistory / carryFolderHistory itself.
 */
export async function carryRenamedPaths(renames: readonly RenamedPath[], outputDirOf: (file: string) => string | undefined): Promise<{ reports: CarryReport[]; incomplete: string[] }> {
  const reports: CarryReport[] = [];
  const incomplete: string[] = [];
  const worth = (report: CarryReport) => report.carried.length + report.kept.length + report.problems.length > 0;
  for (const { from, to } of renames) {
    const stats = await fs.stat(to).catch(() => undefined);
    if (stats === undefined) continue;
    const outputDir = outputDirOf(to) || undefined;
    if (stats.isDirectory()) {
      const folder = await carryFolderHistory(from, to, { outputDir });
      reports.push(...folder.reports.filter(worth));
      if (!folder.complete) incomplete.push(path.resolve(to));
    } else if (stats.isFile() && (DATASET_FILE_NAME.test(from) || DATASET_FILE_NAME.test(to))) {
      const report = await carryDatasetHistory(from, to, { outputDir });
      if (worth(report)) reports.push(report);
    }
  }
  return { reports, incomplete };
}
