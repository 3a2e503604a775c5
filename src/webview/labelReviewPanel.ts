import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MAX_LABEL_LENGTH } from '../dataset/labels';
import type { Services } from '../editor/services';
import { replaceLines, writeHumanLabels, type LabelWrite } from '../editor/labelEdits';
import { datasetDocument, type LoadedRun, type RunState } from '../editor/runState';
import { readSettings } from '../editor/settings';
import {
  buildReviewRows,
  decisionNote,
  DEFAULT_FILTERS,
  describeDecision,
  filterAndSort,
  labelForDecision,
  rowsForBulkAccept,
  type Decision,
  type ReviewFilters,
  type ReviewRow,
} from '../review/model';
import { parseViewState, parseWebviewMessage, type HostMessage, type WebviewMessage } from '../review/protocol';
import { idOfKey } from '../review/rowKeys';
import { planUndo, UndoStack } from '../review/undo';
import { restorableDataset } from '../review/restore';
import { carryReviewPlace, type ReviewPlace } from '../review/place';
import { buildViewUpdate, changedRows, labelProbabilities, toRowView } from '../review/view';
import { latestRunId } from '../training/artifacts';

/** esbuild.mjs copies @vscode/webview-ui-toolkit's bundle here: the .vsix is packaged without node_modules. */
const TOOLKIT_FILE = ['dist', 'toolkit.min.js'];
const REFRESH_DELAY_MS = 120;

/** Webview options: scripts on, and only media/ and dist/ readable. */
export function reviewWebviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, 'media'),
      vscode.Uri.joinPath(extensionUri, 'dist'),
    ],
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The Label Review panel host: one panel (createOrShow / revive, as in microsoft/vscode-extension-samples
 * webview-sample). It owns the review state (run, rows joined with the document, skip marks, undo); the webview only
 * draws what it is sent and posts the user's intents, each validated here before anything is written.
 */
export class LabelReviewPanel {
  static readonly viewType = 'peerkd.labelReview';
  static current: LabelReviewPanel | undefined;

  private datasetUri: vscode.Uri | undefined;
  private run: LoadedRun | undefined;
  private rows = new Map<string, ReviewRow>();
  private filters: ReviewFilters = DEFAULT_FILTERS;
  private scrollTop = 0;
  private selectedRowId: string | null = null;
  private readonly skipped = new Set<string>();
  private readonly undo = new UndoStack();
  private ready = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Time the panel was asked for, for the "time to first render" log line. */
  private openedAt = Date.now();

  /** `column`: the group chosen by the command (src/commands/reviewColumn.ts): the panel's own, else beside the dataset. */
  static async createOrShow(services: Services, runState: RunState, datasetUri: vscode.Uri, focusRowId: string | undefined, column: vscode.ViewColumn): Promise<void> {
    let panel = LabelReviewPanel.current;
    if (panel) {
      panel.panel.reveal(column);
    } else {
      const webviewPanel = vscode.window.createWebviewPanel(
        LabelReviewPanel.viewType,
        'Label Review',
        column,
        reviewWebviewOptions(services.context.extensionUri),
      );
      panel = new LabelReviewPanel(webviewPanel, services, runState);
      LabelReviewPanel.current = panel;
    }
    panel.openedAt = Date.now();
    await panel.showDataset(datasetUri, focusRowId);
  }

  /** Restores a panel after a reload; the webview's saved state names the dataset and the filters. */
  static revive(webviewPanel: vscode.WebviewPanel, services: Services, runState: RunState, state: unknown): void {
    webviewPanel.webview.options = reviewWebviewOptions(services.context.extensionUri);
    const panel = new LabelReviewPanel(webviewPanel, services, runState);
    LabelReviewPanel.current = panel;
    const saved = parseViewState(state);
    if (saved?.filters) {
      panel.filters = saved.filters;
    }
    if (saved?.datasetUri) {
      void panel.restoreDataset(saved.datasetUri, saved.selectedRowId);
    }
  }

  /**
   * Opens the dataset named by restored state (the webview's, so untrusted) only when it is one the host could have
   * chosen itself: a dataset file inside a workspace folder that has a completed run (src/review/restore.ts).
   */
  private async restoreDataset(savedUri: string, focusRowId?: string): Promise<void> {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
    const checked = await restorableDataset(savedUri, folders, async (datasetPath) => {
      const outputDir = readSettings(vscode.Uri.file(datasetPath)).training.outputDir;
      return (await latestRunId(datasetPath, outputDir || undefined)) !== undefined;
    });
    if ('rejected' in checked) {
      this.services.log.warn(`Label Review: not restoring ${JSON.stringify(savedUri.slice(0, 300))}: ${checked.rejected}`);
      if (this.ready && !this.datasetUri) {
        await this.sendInit();
      }
      return;
    }
    if (this.datasetUri) {
      return; // A dataset was chosen meanwhile (the command, a quick fix): it wins over restored state.
    }
    await this.showDataset(vscode.Uri.file(checked.path), focusRowId);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly services: Services,
    private readonly runState: RunState,
  ) {
    this.panel.iconPath = vscode.Uri.joinPath(services.context.extensionUri, 'media', 'review-icon.svg');
    this.panel.webview.html = this.html();
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.onDidChangeViewState(() => {
        // A hidden webview is torn down (no retainContextWhenHidden); it says `ready` again when shown.
        if (!this.panel.visible) {
          this.ready = false;
        }
      }),
      this.panel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseWebviewMessage(raw);
        if (!message) {
          this.services.log.warn(`Label Review: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
          return;
        }
        this.handle(message).catch((error: unknown) => {
          const text = error instanceof Error ? error.message : String(error);
          this.services.log.error(`Label Review: ${message.type} failed: ${text}`);
          void vscode.window.showErrorMessage(`PeerKD Label Review: ${text}`);
        });
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (this.datasetUri && event.document.uri.toString() === this.datasetUri.toString()) {
          this.scheduleRefresh();
        }
      }),
      this.runState.onDidChangeRun((uri) => {
        if (this.datasetUri && uri.toString() === this.datasetUri.toString()) {
          void this.showDataset(uri);
        }
      }),
    );
  }

  /**
   * "Retrain with My Labels": remembers where the user is (selection, skips, the queue's order) so that the next run
   * of this dataset opens there (src/review/place.ts). Returns the function that forgets it (a run that failed).
   */
  keepPlaceForNextRun(datasetUri: vscode.Uri): () => void {
    if (this.datasetUri?.toString() !== datasetUri.toString() || !this.run) {
      return () => undefined;
    }
    const place = { selected: this.selectedRowId, skipped: [...this.skipped], order: filterAndSort([...this.rows.values()], this.filters).map((row) => row.key) };
    const pending = { runId: this.run.runId, place };
    this.pendingPlace = pending;
    return () => {
      if (this.pendingPlace === pending) this.pendingPlace = undefined;
    };
  }

  private pendingPlace: { runId: string; place: ReviewPlace } | undefined;

  private async showDataset(datasetUri: vscode.Uri, focusRowId?: string): Promise<void> {
    const sameDataset = this.datasetUri?.toString() === datasetUri.toString();
    const run = await this.runState.ensureRun(datasetUri);
    if (!sameDataset || this.run?.runId !== run?.runId) {
      this.skipped.clear();
      this.undo.clear();
      this.rows.clear();
      if (!sameDataset) {
        this.filters = this.datasetUri ? DEFAULT_FILTERS : this.filters;
        this.scrollTop = 0;
      }
      const pending = this.pendingPlace;
      if (sameDataset && run && pending && pending.runId !== run.runId) {
        this.pendingPlace = undefined;
        const document = await datasetDocument(datasetUri);
        const carried = carryReviewPlace(pending.place, buildReviewRows(run.predictions, this.runState.indexOf(document).byKey, { minProbability: 0 }), this.filters);
        carried.skipped.forEach((key) => this.skipped.add(key));
        this.selectedRowId = carried.selected;
        focusRowId ??= carried.selected ?? undefined;
      }
    }
    this.datasetUri = datasetUri;
    this.run = run;
    this.panel.title = `Label Review: ${path.basename(datasetUri.fsPath)}`;
    if (focusRowId) {
      this.selectedRowId = focusRowId;
    }
    if (this.ready) {
      await this.sendInit();
      if (focusRowId) {
        this.post({ type: 'select', rowId: focusRowId });
      }
    }
  }

  private async currentRows(): Promise<{ document: vscode.TextDocument; rows: ReviewRow[] } | undefined> {
    if (!this.datasetUri || !this.run) {
      return undefined;
    }
    const document = await datasetDocument(this.datasetUri);
    const index = this.runState.indexOf(document);
    const rows = buildReviewRows(this.run.predictions, index.byKey, { minProbability: 0, skipped: this.skipped });
    return { document, rows };
  }

  private async sendInit(): Promise<void> {
    if (!this.datasetUri) {
      this.post({ type: 'empty', reason: 'Open a .jsonl dataset and run "PeerKD: Run Peer-Advised Distillation" first.', datasetUri: null, canRun: false });
      return;
    }
    const name = path.basename(this.datasetUri.fsPath);
    if (!this.run) {
      this.post({
        type: 'empty',
        reason: `${name} has no completed run yet. Run "PeerKD: Run Peer-Advised Distillation" on it first.`,
        datasetUri: this.datasetUri.toString(),
        canRun: true,
      });
      return;
    }
    const preparing = Date.now();
    const current = await this.currentRows();
    if (!current) {
      return;
    }
    this.rows = new Map(current.rows.map((row) => [row.key, row]));
    if (current.rows.length === 0) {
      this.post({ type: 'empty', reason: `Run ${this.run.runId} flagged no rows of ${name}.`, datasetUri: this.datasetUri.toString(), canRun: false });
      return;
    }
    const rows = current.rows.map(toRowView);
    const view = buildViewUpdate(current.rows, this.filters, this.undo, this.labelSet());
    this.services.log.info(`Label Review: prepared ${rows.length.toLocaleString('en-US')} rows for the panel in ${Date.now() - preparing} ms`);
    this.post({
      type: 'init',
      datasetName: name,
      datasetUri: this.datasetUri.toString(),
      runId: this.run.runId,
      summary: this.run.trustSentence,
      labels: this.run.labels,
      rows,
      filters: this.filters,
      scrollTop: this.scrollTop,
      selectedRowId: this.selectedRowId,
      view,
    });
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
    }
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, REFRESH_DELAY_MS);
  }

  /** Sends the rows whose line, labels or skip mark changed, and the new order, counts and confusion table. */
  private async refresh(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const current = await this.currentRows();
    if (!current) {
      return;
    }
    const changed = changedRows(this.rows, current.rows);
    this.rows = new Map(current.rows.map((row) => [row.key, row]));
    if (changed.length > 0) {
      this.post({ type: 'rows', rows: changed.map(toRowView) });
    }
    this.post({ type: 'view', view: buildViewUpdate(current.rows, this.filters, this.undo, this.labelSet()) });
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.services.log.info(`Label Review: webview ready ${Date.now() - this.openedAt} ms after the panel was asked for`);
        if (message.state) {
          if (message.state.filters) {
            this.filters = message.state.filters;
          }
          if (message.state.scrollTop !== undefined) {
            this.scrollTop = message.state.scrollTop;
          }
          if (message.state.selectedRowId) {
            this.selectedRowId = message.state.selectedRowId;
          }
          if (!this.datasetUri && message.state.datasetUri) {
            await this.restoreDataset(message.state.datasetUri);
            return;
          }
        }
        await this.sendInit();
        return;
      case 'setFilters':
        this.filters = message.filters;
        this.post({ type: 'view', view: buildViewUpdate([...this.rows.values()], this.filters, this.undo, this.labelSet()), selectFirst: true });
        return;
      case 'decide':
        await this.decide(message.rowId, message.decision);
        return;
      case 'newLabel':
        await this.askNewLabel(message.rowId);
        return;
      case 'bulkAccept':
        await this.bulkAccept(message.minProbability);
        return;
      case 'undo':
        await this.undoLast();
        return;
      case 'open':
        await this.openRow(message.rowId);
        return;
      case 'probabilities': {
        const row = this.rows.get(message.rowId);
        if (row) {
          this.post({ type: 'probabilities', rowId: row.key, probs: labelProbabilities(row) });
        }
        return;
      }
      case 'explain':
        this.post({ type: 'explanation', rowId: message.rowId, explanation: this.run?.explanations.get(message.rowId) ?? null });
        return;
      case 'runDistillation':
        if (this.datasetUri) {
          await vscode.commands.executeCommand('peerkd.runDistillation', this.datasetUri);
        }
        return;
      case 'rendered':
        this.services.log.info(
          `Label Review: first render of ${message.rows.toLocaleString('en-US')} flagged rows ${message.firstRenderMs.toFixed(1)} ms after the rows arrived; ${Date.now() - this.openedAt} ms after the panel was asked for`,
        );
        return;
    }
  }

  private async decide(rowId: string, decision: Decision): Promise<void> {
    const row = this.rows.get(rowId);
    if (!row || !this.datasetUri || !this.run) {
      this.post({ type: 'notice', text: 'That row is not in the current review.' });
      return;
    }
    if (decision.kind === 'skip') {
      this.skipped.add(rowId);
      this.undo.push({ description: 'Skip', changes: [], skippedRowIds: [rowId] });
      await this.refresh();
      return;
    }
    if (decision.kind === 'set' && !this.run.labels.includes(decision.label)) {
      if (!(await this.confirmNewLabel(decision.label))) {
        return;
      }
    }
    const label = labelForDecision(row, decision);
    if (label === null) {
      this.post({ type: 'notice', text: 'This row has no teacher label to keep.' });
      return;
    }
    await this.write([{ rowId, label }], describeDecision(row, label));
    const note = decisionNote(row, decision);
    if (note) {
      this.post({ type: 'notice', text: note });
    }
  }

  private async write(writes: LabelWrite[], description: string): Promise<void> {
    if (!this.datasetUri) {
      return;
    }
    const document = await datasetDocument(this.datasetUri);
    const index = this.runState.indexOf(document);
    const result = await writeHumanLabels(document, index, readSettings(this.datasetUri).fields.human, writes);
    this.undo.push({ description, changes: result.changes, skippedRowIds: [] });
    if (result.failed.length > 0) {
      const first = result.failed[0];
      void vscode.window.showWarningMessage(
        `PeerKD: ${result.failed.length} row${result.failed.length === 1 ? '' : 's'} not labelled (row '${idOfKey(first.rowId)}': ${first.reason}).`,
      );
    }
    await this.refresh();
  }

  private async confirmNewLabel(label: string): Promise<boolean> {
    const labels = this.run?.labels ?? [];
    const use = 'Use New Label';
    const answer = await vscode.window.showWarningMessage(
      `'${label}' is not in the label set.`,
      { modal: true, detail: `The run's labels are: ${labels.join(', ')}. Write '${label}' as this row's human label anyway?` },
      use,
    );
    return answer === use;
  }

  private async askNewLabel(rowId: string): Promise<void> {
    const row = this.rows.get(rowId);
    if (!row) {
      return;
    }
    const label = await vscode.window.showInputBox({
      title: 'PeerKD: label for this row',
      prompt: `Line ${row.line ?? '?'}: teacher '${row.teacher ?? '∅'}', suggested '${row.suggested}'`,
      placeHolder: (this.run?.labels ?? []).join(', '),
      validateInput: (value) => (value.trim().length === 0 ? 'A label cannot be empty' : value.trim().length > MAX_LABEL_LENGTH ? `At most ${MAX_LABEL_LENGTH} characters` : undefined),
    });
    if (label === undefined) {
      return;
    }
    await this.decide(rowId, { kind: 'set', label: label.trim() });
  }

  private async bulkAccept(minProbability: number): Promise<void> {
    const rows = rowsForBulkAccept([...this.rows.values()], minProbability);
    if (rows.length === 0) {
      void vscode.window.showInformationMessage(`PeerKD: no unreviewed row has p ≥ ${minProbability.toFixed(2)}.`);
      return;
    }
    const accept = `Accept ${rows.length}`;
    const answer = await vscode.window.showWarningMessage(
      `Accept the suggested label on ${rows.length.toLocaleString('en-US')} row${rows.length === 1 ? '' : 's'}?`,
      {
        modal: true,
        detail: `${rows.length.toLocaleString('en-US')} unreviewed row${rows.length === 1 ? '' : 's'} with p ≥ ${minProbability.toFixed(2)} will get the suggested label as human label. One undo step takes them all back.`,
      },
      accept,
    );
    if (answer !== accept) {
      return;
    }
    await this.write(
      rows.map((row) => ({ rowId: row.key, label: row.suggested })),
      `Bulk accept (${rows.length} rows)`,
    );
  }

  private async undoLast(): Promise<void> {
    const entry = this.undo.pop();
    if (!entry || !this.datasetUri) {
      this.post({ type: 'notice', text: 'Nothing to undo.' });
      return;
    }
    for (const rowId of entry.skippedRowIds) {
      this.skipped.delete(rowId);
    }
    const document = await datasetDocument(this.datasetUri);
    const index = this.runState.indexOf(document);
    const plan = planUndo(entry, (rowId) => {
      const row = index.byKey.get(rowId);
      return row ? { line: row.line, text: document.lineAt(row.line - 1).text } : undefined;
    });
    if (!(await replaceLines(document, plan.writes))) {
      void vscode.window.showErrorMessage('PeerKD: the editor refused the undo edit.');
    }
    if (plan.conflicts.length > 0) {
      void vscode.window.showWarningMessage(
        `PeerKD: undid "${entry.description}" except on ${plan.conflicts.length} row${plan.conflicts.length === 1 ? '' : 's'} changed since (${plan.conflicts[0].reason}); those were left as they are.`,
      );
    }
    const focus = entry.changes[0]?.rowId ?? entry.skippedRowIds[0];
    await this.refresh();
    if (focus) {
      this.post({ type: 'select', rowId: focus });
    }
  }

  private async openRow(rowId: string): Promise<void> {
    if (!this.datasetUri) {
      return;
    }
    const document = await datasetDocument(this.datasetUri);
    const row = this.runState.indexOf(document).byKey.get(rowId);
    if (!row) {
      this.post({ type: 'notice', text: 'That row is no longer in the file.' });
      return;
    }
    const line = document.lineAt(row.line - 1);
    await vscode.window.showTextDocument(document, {
      viewColumn: vscode.ViewColumn.One,
      selection: new vscode.Range(line.range.start, line.range.start),
      preserveFocus: false,
    });
  }

  /** The run's labels in the order the keys 1–9 use. */
  private labelSet(): readonly string[] {
    return this.run?.labels ?? [];
  }

  private post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  datasetUriForCommands(): vscode.Uri | undefined {
    return this.datasetUri;
  }

  /** Lets tests and the "Open in Label Review" quick fix move the selection. */
  select(rowId: string): void {
    this.selectedRowId = rowId;
    this.post({ type: 'select', rowId });
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const media = (file: string): string => webview.asWebviewUri(vscode.Uri.joinPath(this.services.context.extensionUri, 'media', file)).toString();
    const toolkit = webview
      .asWebviewUri(vscode.Uri.joinPath(this.services.context.extensionUri, ...TOOLKIT_FILE))
      .toString();
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(media('review.css'))}">
<title>Label Review</title>
</head>
<body>
<div id="app"><div class="empty">Loading…</div></div>
<script type="module" nonce="${nonce}" src="${escapeHtml(toolkit)}"></script>
<script type="module" nonce="${nonce}" src="${escapeHtml(media('ui.js'))}"></script>
<script type="module" nonce="${nonce}" src="${escapeHtml(media('review.js'))}"></script>
</body>
</html>`;
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    if (LabelReviewPanel.current === this) {
      LabelReviewPanel.current = undefined;
    }
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
    }
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
    this.panel.dispose();
  }
}

export function registerLabelReviewSerializer(services: Services, runState: RunState): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(LabelReviewPanel.viewType, {
    deserializeWebviewPanel: async (webviewPanel, state: unknown) => {
      LabelReviewPanel.revive(webviewPanel, services, runState, state);
    },
  });
}
