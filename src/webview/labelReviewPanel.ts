import { DATASET_SUFFIXES } from '../dataset/types';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { pickLabel, shownLabel, showErrorMessage, showInformationMessage, showWarningMessage } from '../editor/messages';
import type { Services } from '../editor/services';
import { createReviewSession } from '../editor/labelEdits';
import { datasetDocument, datasetName, type LoadedRun, type RunState } from '../editor/runState';
import { readSettings } from '../editor/settings';
import { DEFAULT_FILTERS, labelChoices, type Decision, type ReviewFilters } from '../review/model';
import { buildReviewRows } from '../review/reviewRows';
import { parseViewState, parseWebviewMessage, type HostMessage, type WebviewMessage } from '../review/protocol';
import { idOfKey } from '../review/rowKeys';
import { restorableDataset } from '../review/restore';
import { newLabelConfirmation, newLabelProblem, ReviewHistories, undoMessage, type CarriedState, type ReviewSession, type SessionUpdate } from '../review/session';
import { openAtKeptPlace, PendingPlaces } from '../review/place';
import { latestKnownRun, readKnownRunsDirs, RunArtefactError } from '../training/artifacts';
import { orphanedHistoriesOf, orphanedHistoryMessage } from '../training/datasetMove';
import { chooseDatasetColumn } from '../commands/reviewColumn';
/** esbuild.mjs copies @vscode/webview-ui-toolkit's bundle here: the .vsix is packaged without node_modules. */
const TOOLKIT_FILE = ['dist', 'toolkit.min.js'];
/** The webview client (src/webview/client/), bundled by esbuild.mjs; module scripts run in order, after the toolkit. */
const CLIENT_FILE = ['dist', 'review.js'];
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
 * webview-sample), glue between the webview and a review session (src/review/session.ts), which owns the rows, the
 * decisions, undo, skip marks, filters, selection and scroll. The webview only draws what it is sent and posts the
 * user's intents, each validated here (src/review/protocol.ts) before the session acts on it.
 */
/**
 * The places kept by "Retrain with My Labels" for each dataset's next run (src/review/place.ts): outside the panel, so
 * that closing the panel while the retraining runs does not lose them.
 */
const pendingPlaces = new PendingPlaces();

/**
 * Each dataset's undo history, skips and queue of decisions (CarriedState) reviewed in this window, by dataset URI:
 * showing another dataset and coming back (a quick fix's "Open in Label Review" on another file) resumes them, and so
 * does closing the panel and opening it again on the dataset. They lived in the panel, so a panel opened again had
 * nothing to undo. Undo stays safe however long after: it writes a line back only where it still reads exactly as the
 * decision left it (review/undo.ts planUndo). The decisions' history also survives a window reload, kept in the
 * workspace state by dataset (registerLabelReviewSerializer; bounded, review/undo.ts storedUndo). A quick fix
 * decided while no panel shows the dataset's run records here too (LabelReviewPanel.historyOf), so `u` undoes it later.
 */
const reviewedDatasets = new ReviewHistories();

/** How long after a popup hid the panel waits for VS Code to say another editor became active (LabelReviewPanel.afterPopup). */
export const POPUP_SETTLE_MS = 100;

export class LabelReviewPanel {
  static readonly viewType = 'peerkd.labelReview';
  static current: LabelReviewPanel | undefined;

  private datasetUri: vscode.Uri | undefined;
  private run: LoadedRun | undefined;
  private session: ReviewSession | undefined;
  /** Filters, selection and scroll until a session owns them (restored state, or a panel with no run yet). */
  private seed: { filters: ReviewFilters; scrollTop: number; selectedRowId: string | null } = {
    filters: DEFAULT_FILTERS,
    scrollTop: 0,
    selectedRowId: null,
  };
  private ready = false;
  /**
   * A row the user asked to see ("Open in Label Review") while the webview was torn down (the panel in a background
   * tab): when it says `ready`, the selection and filters it saved are older than this, and the row is revealed again.
   */
  private focusWhenReady: string | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The document changed again while the last refresh's quiet period ran. */
  private refreshPending = false;
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
      panel.seed.filters = saved.filters;
    }
    if (saved?.datasetUri) {
      void panel.restoreDataset(saved.datasetUri, saved.selectedRowId);
    }
  }

  /**
   * Opens the dataset named by restored state (the webview's, so untrusted) only when it is one the host could have
   * chosen itself: a dataset file inside a workspace folder that has a completed run (src/review/restore.ts).
   */
  private async restoreDataset(savedUri: string, selectedRowId?: string): Promise<void> {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
    const checked = await restorableDataset(savedUri, folders, async (datasetPath) => {
      const outputDir = readSettings(vscode.Uri.file(datasetPath)).training.outputDir;
      try {
        return (await latestKnownRun(datasetPath, outputDir || undefined)) !== undefined;
      } catch (error) {
        // A latest run that cannot be read is a run: the panel opens and says why it shows none (RunState.runProblem).
        if (error instanceof RunArtefactError) return true;
        throw error;
      }
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
    // The saved selection, as saved: no row the user asked for now, so the saved filters stay as they were.
    if (selectedRowId) this.seed.selectedRowId = selectedRowId;
    await this.showDataset(vscode.Uri.file(checked.path));
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
          void showErrorMessage(`PeerKD Label Review: ${text}`);
        });
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (this.datasetUri && event.document.uri.toString() === this.datasetUri.toString()) {
          this.scheduleRefresh();
        }
      }),
      // The field mapping changed: the same text reads as other rows (another human field holds other labels).
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (this.datasetUri && event.affectsConfiguration('peerkd.fields', this.datasetUri)) {
          this.scheduleRefresh();
        }
      }),
      // The file opened again after its document was closed: its text may have changed meanwhile (on disk, by git).
      vscode.workspace.onDidOpenTextDocument((document) => {
        if (this.datasetUri && document.uri.toString() === this.datasetUri.toString()) {
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
   * The dataset shown was renamed or moved and its history carried (src/editor/datasetMoves.ts): shown again under its
   * new path, with the run carried to it (the old path has none any more).
   */
  followMove(from: vscode.Uri, to: vscode.Uri): void {
    if (this.datasetUri?.toString() !== from.toString()) return;
    this.showDataset(to).catch((error: unknown) => this.services.log.error(`Label Review: could not follow ${from.fsPath} to ${to.fsPath}: ${error instanceof Error ? error.message : String(error)}`));
  }

  /**
   * "Retrain with My Labels": remembers where the user is (selection, skips, the queue's order) so that the next run
   * of this dataset opens there (src/review/place.ts). Returns the function that forgets it (a run that failed).
   */
  keepPlaceForNextRun(datasetUri: vscode.Uri): () => void {
    if (this.datasetUri?.toString() !== datasetUri.toString() || !this.run || !this.session) {
      return () => undefined;
    }
    return pendingPlaces.keep(datasetUri.toString(), { runId: this.run.runId, place: this.session.place() });
  }

  /** Filters, selection and scroll: the session's when there is one. */
  private viewState(): { filters: ReviewFilters; scrollTop: number; selectedRowId: string | null } {
    return this.session ? { filters: this.session.filters, scrollTop: this.session.scrollTop, selectedRowId: this.session.selectedRowId } : this.seed;
  }

  private async showDataset(datasetUri: vscode.Uri, focusRowId?: string): Promise<void> {
    const sameDataset = this.datasetUri?.toString() === datasetUri.toString();
    const run = await this.runState.currentRun(datasetUri);
    if (!sameDataset || this.run?.runId !== run?.runId || !this.session) {
      const current = this.viewState();
      // Another dataset starts from the top with no filters (unless these are the restored ones of a new panel).
      this.seed = sameDataset
        ? current
        : { filters: this.datasetUri ? DEFAULT_FILTERS : current.filters, scrollTop: 0, selectedRowId: current.selectedRowId };
      // A newer run of this dataset (a retrain, the CLI) shares the undo history, the skips and the queue of decisions of
      // the session it replaces: a decision, skip or undo asked of that session, even one still to run, is kept.
      // So does an earlier review of this dataset in this window: this panel's before it showed another one, or a panel
      // closed since.
      const earlier = reviewedDatasets.get(datasetUri.toString());
      // The dataset left keeps its history, not its session (rows, document): nothing shows that session any more.
      if (!sameDataset && this.session) this.session.carryOver().continues.current = undefined;
      const previous = sameDataset ? this.session?.carryOver() : earlier ? { continues: earlier } : undefined;
      // A retrained run of this dataset opens where the user was: the same row or the next one still to review, in this
      // panel or in one opened after it was closed during the retraining (the place is kept by dataset, not by panel).
      // The skips are the shared ones, as they are now, wherever an earlier review of this dataset carries over (the
      // place's are as they were when the retraining started); only a panel with no such review has the place's alone.
      const carried = run
        ? await openAtKeptPlace(pendingPlaces, datasetUri.toString(), run.runId, async () => {
            const document = await datasetDocument(datasetUri);
            return buildReviewRows(run.predictions, this.runState.indexOf(document).byKey, { minProbability: 0, allQueues: true });
          }, this.seed.filters)
        : undefined;
      if (carried) {
        this.seed = { ...this.seed, selectedRowId: carried.selected };
        focusRowId ??= carried.selected ?? undefined;
      }
      this.session = run
        ? await createReviewSession(this.runState, datasetUri, run, {
            ...this.seed,
            ...(previous ?? (carried ? { skipped: carried.skipped } : {})),
            onUpdate: (update) => this.postUpdate(update),
          })
        : undefined;
      if (this.session) reviewedDatasets.set(datasetUri.toString(), this.session.carryOver().continues);
    }
    this.datasetUri = datasetUri;
    this.run = run;
    this.panel.title = `Label Review: ${datasetName(datasetUri)}`;
    if (focusRowId) {
      this.focus(focusRowId);
      if (!this.ready) this.focusWhenReady = focusRowId;
    }
    if (this.ready) {
      await this.sendInit();
      if (focusRowId) {
        this.post({ type: 'select', rowId: focusRowId });
      }
    }
  }

  /** Selects a row the user asked to see, clearing the filters that hide it (ReviewSession.reveal). */
  private focus(rowId: string): void {
    if (!this.session?.reveal(rowId)) this.setSelected(rowId);
  }

  private setSelected(rowId: string): void {
    if (this.session) {
      this.session.selectedRowId = rowId;
    } else {
      this.seed.selectedRowId = rowId;
    }
  }

  /** orphanedHistoryMessage for a dataset without runs, over the runs folders it would use; undefined when none or unreadable. */
  private async orphanedHistory(datasetUri: vscode.Uri): Promise<string | undefined> {
    if (datasetUri.scheme !== 'file') return undefined;
    try {
      const { dirs } = await readKnownRunsDirs(datasetUri.fsPath, readSettings(datasetUri).training.outputDir || undefined);
      return orphanedHistoryMessage(datasetUri.fsPath, await orphanedHistoriesOf(datasetUri.fsPath, dirs));
    } catch {
      return undefined;
    }
  }

  private async sendInit(): Promise<void> {
    if (!this.datasetUri) {
      this.post({ type: 'empty', reason: `Open a ${DATASET_SUFFIXES} dataset and run "PeerKD: Run Peer-Advised Distillation" first.`, datasetUri: null, canRun: false });
      return;
    }
    const name = datasetName(this.datasetUri);
    if (!this.run || !this.session) {
      // A latest run that cannot be read (a corrupt predictions.jsonl or settings.json) is no "no run yet".
      const problem = this.runState.runProblem(this.datasetUri);
      const datasetUri = this.datasetUri;
      this.post({
        type: 'empty',
        reason: problem
          ? `The latest run of ${name} could not be read: ${problem.message}. Fix or remove that file, or run "PeerKD: Run Peer-Advised Distillation" on it again.`
          : `${name} has no completed run yet. Run "PeerKD: Run Peer-Advised Distillation" on it first.`,
        datasetUri: datasetUri.toString(),
        canRun: true,
      });
      // Moved outside the editor (mv, a file manager): the history of a missing dataset in its runs folders is named,
      // once found (the empty state is not held back for it).
      if (!problem) {
        void this.orphanedHistory(datasetUri).then((orphaned) => {
          if (!orphaned || this.disposed || this.run || this.datasetUri?.toString() !== datasetUri.toString()) return;
          const reason = `${name} has no completed run yet. ${orphaned} (in a terminal). Else run "PeerKD: Run Peer-Advised Distillation" on it.`;
          this.post({ type: 'empty', reason, datasetUri: datasetUri.toString(), canRun: true });
        });
      }
      return;
    }
    const preparing = Date.now();
    const session = this.session;
    await session.reload();
    if (session.rows().length === 0) {
      this.post({ type: 'empty', reason: `Run ${this.run.runId} flagged no rows of ${name}.`, datasetUri: this.datasetUri.toString(), canRun: false });
      return;
    }
    const rows = session.rowViews();
    const view = session.view();
    this.services.log.info(`Label Review: prepared ${rows.length.toLocaleString('en-US')} rows for the panel in ${Date.now() - preparing} ms`);
    this.post({
      type: 'init',
      datasetName: name,
      datasetUri: this.datasetUri.toString(),
      runId: this.run.runId,
      summary: this.run.trustSentence,
      labels: this.run.labels,
      rows,
      filters: session.filters,
      scrollTop: session.scrollTop,
      selectedRowId: session.selectedRowId,
      view,
      ...session.queueTexts(),
    });
  }

  /**
   * One refresh per change of the document, at once (a decision's edit shows without delay); changes that follow
   * within REFRESH_DELAY_MS (typing in the editor changes the document on every key) share one refresh at its end.
   */
  private scheduleRefresh(): void {
    if (this.refreshTimer) {
      this.refreshPending = true;
      return;
    }
    this.session?.documentChanged();
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.refreshPending) {
        this.refreshPending = false;
        this.scheduleRefresh();
      }
    }, REFRESH_DELAY_MS);
  }

  /** Sends the rows whose line, labels or skip mark changed, and the new order, counts and confusion table. */
  private postUpdate(update: SessionUpdate): void {
    if (!this.ready) {
      return; // The webview gets everything in `init` when it says `ready`.
    }
    if (update.rows.length > 0) {
      this.post({ type: 'rows', rows: update.rows });
    }
    this.post({ type: 'view', view: update.view });
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.services.log.info(`Label Review: webview ready ${Date.now() - this.openedAt} ms after the panel was asked for`);
        if (message.state) {
          const target = this.session ?? this.seed;
          if (message.state.filters) {
            target.filters = message.state.filters;
          }
          if (message.state.scrollTop !== undefined) {
            target.scrollTop = message.state.scrollTop;
          }
          if (message.state.selectedRowId) {
            target.selectedRowId = message.state.selectedRowId;
          }
          if (!this.datasetUri && message.state.datasetUri) {
            await this.restoreDataset(message.state.datasetUri);
            return;
          }
        }
        if (this.focusWhenReady !== undefined) {
          this.focus(this.focusWhenReady);
          this.focusWhenReady = undefined;
        }
        await this.sendInit();
        return;
      case 'setFilters':
        if (this.session) {
          this.post({ type: 'reply', request: 'setFilters', requestId: message.requestId, result: { view: this.session.setFilters(message.filters) } });
        } else {
          this.seed.filters = message.filters;
          this.post({ type: 'reply', request: 'setFilters', requestId: message.requestId, error: 'no dataset is under review' });
        }
        return;
      case 'viewState':
        if (this.session) {
          this.session.setViewState(message);
        } else {
          this.seed.scrollTop = message.scrollTop;
          this.seed.selectedRowId = message.selectedRowId;
        }
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
      case 'openSimilar':
        await this.openLine(() => this.session?.lineOfId(message.id, message.line));
        return;
      case 'probabilities': {
        const probs = this.session?.probabilities(message.rowId);
        this.post(
          probs
            ? { type: 'reply', request: 'probabilities', requestId: message.requestId, result: { rowId: message.rowId, probs } }
            : { type: 'reply', request: 'probabilities', requestId: message.requestId, error: 'that row is not in the current review' },
        );
        return;
      }
      case 'explain':
        this.post({ type: 'reply', request: 'explain', requestId: message.requestId, result: { rowId: message.rowId, explanation: this.run?.explanations.get(message.rowId) ?? null } });
        return;
      case 'rerank':
        this.rerank();
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
    const session = this.session;
    if (!session || !session.row(rowId)) {
      this.post({ type: 'notice', text: 'That row is not in the current review.' });
      return;
    }
    if (decision.kind === 'set' && !session.labels.includes(decision.label)) {
      if (!(await this.confirmNewLabel(decision.label))) {
        return;
      }
    }
    const result = await session.decide(rowId, decision);
    if (result.status === 'refused') {
      if (result.noTeacher) {
        this.post({ type: 'notice', text: 'This row has no teacher label to keep.' });
      } else {
        void showWarningMessage(`PeerKD: ${result.message}.`);
      }
    } else if (result.note) {
      this.post({ type: 'notice', text: result.note });
    }
  }

  private async confirmNewLabel(label: string): Promise<boolean> {
    const labels = this.run?.labels ?? [];
    const use = 'Use New Label';
    const { message, detail } = newLabelConfirmation(labels, label);
    const answer = await this.afterModal(showWarningMessage(message, { modal: true, detail }, use));
    return answer === use;
  }

  /**
   * "Other label…" (key n): a quick pick of every label of the set, filtered as the user types (the keys reach only
   * nine), with the typed text offered as a new label, which decide() then confirms.
   */
  private async askNewLabel(rowId: string): Promise<void> {
    const row = this.session?.row(rowId);
    if (!row) {
      return;
    }
    const labels = this.run?.labels ?? [];
    type Item = vscode.QuickPickItem & { value: string; isNew: boolean };
    const pick = vscode.window.createQuickPick<Item>();
    pick.title = `PeerKD: label for line ${row.line ?? '?'}`;
    // A missing teacher label in words: a label written '∅' is Teacher '∅'.
    pick.placeholder = `${row.teacher === null ? 'No teacher label' : `Teacher '${shownLabel(row.teacher)}'`}, suggested '${shownLabel(row.suggested)}': type to filter the ${labels.length} labels, or a new label`;
    const refresh = (): void => {
      pick.items = labelChoices(labels, row, pick.value).map((choice) => ({
        label: pickLabel(choice.label),
        description: choice.description,
        value: choice.label,
        isNew: choice.isNew,
        alwaysShow: choice.isNew,
      }));
    };
    refresh();
    // The row's suggestion is where the list opens: 'n' then Enter is an accept, never the set's first label by accident.
    const suggested = pick.items.find((item) => item.value === row.suggested);
    if (suggested) {
      pick.activeItems = [suggested];
    }
    // Answered once the picker is gone from the screen (VS Code tells the hide after it gave the focus back), so the
    // keys are handed back to the page after that, not before.
    let accepted: Item | undefined;
    const chosen = await new Promise<Item | undefined>((resolve) => {
      pick.onDidChangeValue(refresh);
      pick.onDidAccept(() => {
        accepted = pick.selectedItems[0] ?? pick.activeItems[0];
        pick.hide();
      });
      pick.onDidHide(() => resolve(accepted));
      pick.show();
    });
    pick.dispose();
    if (chosen === undefined) {
      // Escape, or a click elsewhere: the picker cannot tell them apart, and a click into the sidebar or the terminal
      // leaves the panel the active editor. Taking the keys back then would send what the user types there (`a`) to
      // the review, so after a dismissal VS Code's own focus stands (at worst one click on the panel brings the keys).
      return;
    }
    const keysBack = this.afterPopup();
    try {
      const problem = newLabelProblem(chosen.value, labels);
      if (problem) {
        void showWarningMessage(`PeerKD: ${problem}.`);
        return;
      }
      await this.decide(rowId, { kind: 'set', label: chosen.value });
    } finally {
      await keysBack;
    }
    // The decision's edit and the rows it redraws took a moment: the keys once more, if they are still the panel's.
    this.takeKeysIfActive();
  }

  private async bulkAccept(minProbability: number): Promise<void> {
    const session = this.session;
    if (!session) {
      return;
    }
    const refusal = session.bulkAcceptRefusal();
    if (refusal !== null) {
      this.post({ type: 'notice', text: refusal });
      return;
    }
    const rows = session.bulkAcceptRows(minProbability);
    if (rows.length === 0) {
      void showInformationMessage(`PeerKD: no unreviewed row has p ≥ ${minProbability.toFixed(2)}.`);
      return;
    }
    const accept = `Accept ${rows.length}`;
    const answer = await this.afterModal(
      showWarningMessage(
        `Accept the suggested label on ${rows.length.toLocaleString('en-US')} row${rows.length === 1 ? '' : 's'}?`,
        {
          modal: true,
          detail: `${rows.length.toLocaleString('en-US')} unreviewed row${rows.length === 1 ? '' : 's'} with p ≥ ${minProbability.toFixed(2)} will get the suggested label as human label. One undo step takes them all back.`,
        },
        accept,
      ),
    );
    if (answer !== accept) {
      return;
    }
    const result = await session.bulkAccept(rows);
    if (result.failed.length > 0) {
      const first = result.failed[0];
      void showWarningMessage(
        `PeerKD: ${result.failed.length} row${result.failed.length === 1 ? '' : 's'} not labelled (row '${idOfKey(first.rowId)}': ${first.reason}).`,
      );
    }
  }

  private async undoLast(): Promise<void> {
    const result = await this.session?.undo();
    if (!result) {
      this.post({ type: 'notice', text: 'Nothing to undo.' });
      return;
    }
    const message = undoMessage(result);
    if (!result.undone) {
      this.post({ type: 'notice', text: message?.text ?? 'Nothing to undo.' });
      return;
    }
    if (!result.applied) {
      void showErrorMessage('PeerKD: the editor refused the undo edit.');
    }
    if (message?.kind === 'notice') {
      this.post({ type: 'notice', text: message.text });
    } else if (message) {
      void showWarningMessage(`PeerKD: ${message.text}`);
    }
    if (result.focusRowId) {
      // The webview keeps this row selected when the refresh that the undo's edit causes arrives.
      this.select(result.focusRowId);
    }
  }

  private async openRow(rowId: string): Promise<void> {
    if (!this.datasetUri || !this.session) {
      return;
    }
    const session = this.session;
    await this.openLine(() => session.lineOf(rowId));
  }

  /**
   * Shows a 1-based line of the dataset in the dataset's group, cursor at its start. The line is looked up once the
   * document is open: the review reads a closed document's last text, which the file may no longer have.
   */
  private async openLine(lineOf: () => number | undefined): Promise<void> {
    if (!this.datasetUri) {
      return;
    }
    const document = await datasetDocument(this.datasetUri);
    const line = lineOf();
    if (line === undefined) {
      this.post({ type: 'notice', text: 'That row is no longer in the file.' });
      return;
    }
    const start = document.lineAt(line - 1).range.start;
    await vscode.window.showTextDocument(document, {
      viewColumn: this.datasetColumn(),
      selection: new vscode.Range(start, start),
      preserveFocus: false,
    });
  }

  /** The dataset's own group (src/commands/reviewColumn.ts chooseDatasetColumn), where "Open line" shows it. */
  private datasetColumn(): vscode.ViewColumn {
    const uri = this.datasetUri?.toString();
    const groups = vscode.window.tabGroups.all;
    const tabColumns = groups
      .filter((group) => group.tabs.some((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri))
      .map((group) => group.viewColumn);
    return chooseDatasetColumn({
      groups: groups.map((group) => ({ column: group.viewColumn, empty: group.tabs.length === 0 })),
      visibleColumns: vscode.window.visibleTextEditors
        .filter((editor) => editor.document.uri.toString() === uri && editor.viewColumn !== undefined)
        .map((editor) => editor.viewColumn!),
      tabColumns,
      panelColumn: this.panel.viewColumn,
    });
  }

  /**
   * Re-ranks the queue with the human labels given so far ("PeerKD: Re-rank Review Queue", the panel's button and
   * key): the order changes, the selection stays on its row, the probabilities shown stay the run's. False when the
   * panel reviews no run.
   */
  rerank(): boolean {
    const session = this.session;
    if (!session || !this.run) {
      return false;
    }
    const { reviewed, ms } = session.rerank();
    this.services.log.info(`Label Review: re-ranked ${session.rows().length.toLocaleString('en-US')} rows on ${reviewed} new human label${reviewed === 1 ? '' : 's'} in ${ms.toFixed(1)} ms`);
    this.post({
      type: 'notice',
      text:
        reviewed === 0
          ? 'No human label since the run yet: the queue keeps the run\'s order.'
          : `Re-ranked on your ${reviewed} decision${reviewed === 1 ? '' : 's'}; the probabilities shown are still the run's.`,
    });
    return true;
  }

  /**
   * The answer of a modal dialog the panel opened, once the panel's page was told to take the keys back: VS Code gives
   * the focus back to the webview's frame, not to the page inside it, when the dialog stayed open longer than the
   * webview's focus check (a quarter of a second), so the keys went nowhere until the user clicked in the panel (13 of
   * 14 bulk accepts answered with Escape after 0.7 s). The page takes them only where they did not come back
   * (webview/client/main.ts 'takeKeys').
   */
  private async afterModal<T>(answer: Thenable<T>): Promise<T> {
    try {
      return await answer;
    } finally {
      this.post({ type: 'takeKeys' });
    }
  }

  /**
   * After a label was picked in the label picker (a popup that is not modal), as afterModal after a dialog: the page
   * takes the keys back when VS Code gave them to the webview's frame only. Only after a pick: a picker also hides when
   * the user clicks elsewhere, which no API tells from Escape (askNewLabel). The host still checks that the panel is the
   * active editor, once VS Code has had a moment to say that another one became active (that news may come just after
   * the hide). The page cannot check for itself: its document lacks the focus either way, and the frame around it is
   * out of its reach (window.parent is undefined in a webview).
   */
  private async afterPopup(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, POPUP_SETTLE_MS));
    this.takeKeysIfActive();
  }

  private takeKeysIfActive(): void {
    if (!this.disposed && this.panel.active) {
      this.post({ type: 'takeKeys' });
    }
  }

  private post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  datasetUriForCommands(): vscode.Uri | undefined {
    return this.datasetUri;
  }

  /** The panel's session when it reviews this dataset against the latest run, so a quick fix decides through it. */
  sessionFor(datasetUri: vscode.Uri, runId: string): ReviewSession | undefined {
    return this.datasetUri?.toString() === datasetUri.toString() && this.run?.runId === runId ? this.session : undefined;
  }

  /**
   * The dataset's undo history, skips and queue of decisions in this window, panel open or not: where a quick fix's own
   * session records its decision, so that the panel's `u` undoes it (reviewedDatasets).
   */
  static historyOf(datasetUri: vscode.Uri): CarriedState {
    return reviewedDatasets.of(datasetUri.toString());
  }

  /** Lets tests and the "Open in Label Review" quick fix move the selection. */
  select(rowId: string): void {
    this.setSelected(rowId);
    this.post({ type: 'select', rowId });
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const media = (file: string): string => webview.asWebviewUri(vscode.Uri.joinPath(this.services.context.extensionUri, 'media', file)).toString();
    const toolkit = webview
      .asWebviewUri(vscode.Uri.joinPath(this.services.context.extensionUri, ...TOOLKIT_FILE))
      .toString();
    const client = webview.asWebviewUri(vscode.Uri.joinPath(this.services.context.extensionUri, ...CLIENT_FILE)).toString();
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
<script type="module" nonce="${nonce}" src="${escapeHtml(client)}"></script>
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
    // The dataset keeps its history (reviewedDatasets), not this session: nothing shows it any more.
    if (this.session) {
      const carried = this.session.carryOver().continues;
      if (carried.current === this.session) carried.current = undefined;
    }
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
    this.panel.dispose();
  }
}

export function registerLabelReviewSerializer(services: Services, runState: RunState): vscode.Disposable {
  reviewedDatasets.useStore(services.context.workspaceState, (error) =>
    services.log.warn(`Label Review: the undo history could not be kept for after a window reload: ${error instanceof Error ? error.message : String(error)}`),
  );
  return vscode.window.registerWebviewPanelSerializer(LabelReviewPanel.viewType, {
    deserializeWebviewPanel: async (webviewPanel, state: unknown) => {
      LabelReviewPanel.revive(webviewPanel, services, runState, state);
    },
  });
}
