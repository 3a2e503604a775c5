import * as vscode from 'vscode';
import { carryRenamedPaths, describeCarry, MOVED_FOLDER_LIMITS } from '../training/datasetMove';
import { showWarningMessage } from './messages';
import type { RunState } from './runState';
import { readSettings } from './settings';

const OPEN_LOG = 'Open Log';

/**
 * A dataset (or a folder holding datasets) renamed or moved in the Explorer keeps its runs and review log: the history
 * PeerKD keeps under the dataset's path is carried to the new one (src/training/datasetMove.ts carryRenamedPaths, the
 * function `peerkd move` uses), what was carried is logged, what was kept or failed is a warning (Open Log), and the
 * dataset's run is loaded again under its new path (Label Review, hover, diagnostics). Renames are carried one batch
 * after another, in the order the editor reports them. Nothing is read at activation: only when a rename happens.
 */
export class DatasetMoves implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private carrying: Promise<void> = Promise.resolve();

  /** `onMoved`: told of each dataset whose history was carried (Label Review follows it to its new path). */
  constructor(
    private readonly runState: RunState,
    private readonly onMoved: (from: vscode.Uri, to: vscode.Uri) => void = () => undefined,
  ) {
    this.disposables.push(vscode.workspace.onDidRenameFiles((event) => void this.carry(event.files)));
  }

  /** Carries the renames' history after those asked before; for tests to await. */
  carry(files: readonly { oldUri: vscode.Uri; newUri: vscode.Uri }[]): Promise<void> {
    const renames = files.filter(({ oldUri, newUri }) => oldUri.scheme === 'file' && newUri.scheme === 'file').map(({ oldUri, newUri }) => ({ from: oldUri.fsPath, to: newUri.fsPath }));
    if (renames.length === 0) return this.carrying;
    this.carrying = this.carrying.then(() => this.carryNow(renames)).catch((error: unknown) => {
      this.runState.log.error(`Could not carry the history of a renamed dataset: ${error instanceof Error ? error.message : String(error)}`);
    });
    return this.carrying;
  }

  private async carryNow(renames: { from: string; to: string }[]): Promise<void> {
    const log = this.runState.log;
    const { reports, incomplete } = await carryRenamedPaths(renames, (file) => readSettings(vscode.Uri.file(file)).training.outputDir);
    let warned = 0;
    for (const report of reports) {
      const { info, warnings } = describeCarry(report);
      for (const line of info) log.info(line);
      for (const line of warnings) log.warn(line);
      warned += warnings.length;
      if (report.carried.length > 0) {
        const from = vscode.Uri.file(report.from);
        const to = vscode.Uri.file(report.to);
        await this.runState.ensureRun(to, true);
        this.onMoved(from, to);
      }
    }
    for (const folder of incomplete) {
      log.warn(`${folder} holds more than ${MOVED_FOLDER_LIMITS.datasets} datasets or ${MOVED_FOLDER_LIMITS.entries} entries: the history of those found first was carried; run \`peerkd move OLD NEW\` for the others`);
      warned++;
    }
    if (warned > 0) {
      const answer = await showWarningMessage(`PeerKD: the history of a renamed dataset was not carried in full (${warned} warning${warned === 1 ? '' : 's'} in the log).`, OPEN_LOG);
      if (answer === OPEN_LOG) log.show(true);
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
