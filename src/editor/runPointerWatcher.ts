import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  datasetsOfRunFile,
  LATEST_BY_DATASET_DIR,
  MAX_WATCHED_FOLDERS_OUTSIDE,
  readKnownRunsDirs,
  resolveRunsDir,
  RUNS_FOLDERS_DIR,
  runsFoldersFile,
  watchedFoldersOutside,
} from '../training/artifacts';
import { isDatasetUri, type RunState } from './runState';
import { readSettings } from './settings';

/**
 * In every workspace folder: the latest pointers of any runs folder (the default `.peerkd/runs`, one
 * peerkd.training.outputDir or `peerkd distill --out` names), and the runs-folders lists beside the datasets.
 */
export const WORKSPACE_RUN_FILE_GLOBS = [`**/${LATEST_BY_DATASET_DIR}/*`, `**/${RUNS_FOLDERS_DIR.split(path.sep).join('/')}/*`];

/**
 * Follows runs finished outside this window (the `peerkd distill` CLI, another window): a new run moves its dataset's
 * latest pointer (`<runs folder>/latest-by-dataset/<key>`), and a first run into a runs folder not used before also
 * lists that folder beside the dataset. A glob watches only the workspace folders, so each runs folder of an open or
 * reviewed dataset outside them (an absolute outputDir, `--out /elsewhere`), and the list of a dataset opened from
 * outside, gets a watcher of its own, kept in step with the documents, the setting and the list. A file event reloads
 * the datasets it belongs to (datasetsOfRunFile), and no other.
 */
export class RunPointerWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Watched folder outside the workspace → its watcher and listeners. */
  private readonly outside = new Map<string, vscode.Disposable>();
  private refreshing: Promise<void> = Promise.resolve();
  private disposed = false;
  /** The last word logged on folders left unwatched (said again only when it changes). */
  private notWatchedLogged = '';

  constructor(
    private readonly runState: RunState,
    private readonly log?: { warn(message: string): void },
  ) {
    for (const glob of WORKSPACE_RUN_FILE_GLOBS) this.disposables.push(this.watch(glob));
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((document) => isDatasetUri(document.uri) && void this.refresh()),
      vscode.workspace.onDidCloseTextDocument((document) => isDatasetUri(document.uri) && void this.refresh()),
      vscode.workspace.onDidChangeConfiguration((event) => event.affectsConfiguration('peerkd.training.outputDir') && void this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refresh()),
    );
    void this.refresh();
  }

  /** The watchers outside the workspace brought in step (once the ones asked before are); for tests to await. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.update()).catch(() => undefined);
    return this.refreshing;
  }

  /** Open dataset documents and the datasets whose run was looked up (Label Review, Export), each once. */
  private datasets(): vscode.Uri[] {
    const byKey = new Map<string, vscode.Uri>();
    for (const uri of [...vscode.workspace.textDocuments.map((document) => document.uri), ...this.runState.datasets()]) {
      if (uri.scheme === 'file' && isDatasetUri(uri)) byKey.set(uri.toString(), uri);
    }
    return [...byKey.values()];
  }

  private watch(pattern: vscode.GlobPattern): vscode.Disposable {
    const watcher = vscode.workspace.createFileSystemWatcher(pattern, false, false, true);
    const listeners = [watcher.onDidCreate((uri) => this.changed(uri)), watcher.onDidChange((uri) => this.changed(uri))];
    return { dispose: () => [...listeners, watcher].forEach((disposable) => disposable.dispose()) };
  }

  private changed(file: vscode.Uri): void {
    if (file.scheme !== 'file') return;
    const datasets = this.datasets();
    const matched = datasetsOfRunFile(
      file.fsPath,
      datasets.map((uri) => uri.fsPath),
    );
    for (const uri of datasets.filter((candidate) => matched.includes(candidate.fsPath))) void this.runState.ensureRun(uri, true);
    // A runs folder added to a dataset's list: watched from now on.
    if (matched.length > 0 && path.basename(path.dirname(file.fsPath)) !== LATEST_BY_DATASET_DIR) void this.refresh();
  }

  private async update(): Promise<void> {
    const roots = (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
    // Most wanted first: each dataset's list folder and its current runs folders, then the listed ones (those that are
    // folders now: readKnownRunsDirs), newest used first (the list grows at its end); at most MAX_WATCHED_FOLDERS_OUTSIDE.
    const current: string[] = [];
    const listed: string[] = [];
    for (const dataset of this.datasets()) {
      const outputDir = readSettings(dataset).training.outputDir || undefined;
      const { dirs } = await readKnownRunsDirs(dataset.fsPath, outputDir);
      const now = new Set([resolveRunsDir(dataset.fsPath, outputDir), resolveRunsDir(dataset.fsPath)]);
      const pointers = (of: string[]) => of.map((dir) => path.join(dir, LATEST_BY_DATASET_DIR));
      current.push(path.dirname(runsFoldersFile(dataset.fsPath)), ...pointers(dirs.filter((dir) => now.has(dir))));
      listed.push(...pointers(dirs.filter((dir) => !now.has(dir)).reverse()));
    }
    if (this.disposed) return;
    const { watched, notWatched } = watchedFoldersOutside([...current, ...listed], roots);
    const word =
      notWatched.length === 0
        ? ''
        : `${notWatched.length} runs folder${notWatched.length === 1 ? '' : 's'} outside the workspace not watched (at most ${MAX_WATCHED_FOLDERS_OUTSIDE} are, newest used first; e.g. ${notWatched[0]}): a run finished there by peerkd distill or another window shows once the dataset is opened again`;
    if (word !== this.notWatchedLogged) {
      this.notWatchedLogged = word;
      if (word) this.log?.warn(word);
    }
    const wanted = new Set(watched);
    for (const [folder, watcher] of this.outside) {
      if (!wanted.has(folder)) {
        watcher.dispose();
        this.outside.delete(folder);
      }
    }
    for (const folder of wanted) {
      // Non-recursive: the files right in the folder; one not there yet is watched once it is made.
      if (!this.outside.has(folder)) this.outside.set(folder, this.watch(new vscode.RelativePattern(vscode.Uri.file(folder), '*')));
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const disposable of [...this.disposables, ...this.outside.values()]) disposable.dispose();
    this.outside.clear();
  }
}
