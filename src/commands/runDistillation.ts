import * as path from 'node:path';
import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage, showWarningMessage, withNotificationProgress } from '../editor/messages';
import type { Services } from '../editor/services';
import { promises as fs } from 'node:fs';
import { ENDPOINT_ENCODER_SETTINGS, ignoredSettings, readSettings, RUN_SETTINGS } from '../editor/settings';
import { offerFieldFixesBeforeRun } from '../editor/fieldFixOffers';
import { peerkdFolderAsRunsProblem, resolveRunsDir } from '../training/artifacts';
import { withEncoderApiKey } from '../training/encoders/endpoint';
import { staticEncoderProblem } from '../training/encoders/static';
import { withEditorProxySetting } from '../teacher/proxy';
import { prepareEndpointEncoder } from './endpointEncoder';
import { DISTILLATION_RUNNING_KEY, UNTRUSTED_REASON } from '../editor/contextKeys';
import { requireTrust } from '../editor/trust';
import type { DistillationStatusBar } from '../editor/statusBar';
import { describeProgress, summaryMessage } from '../review/format';
import { datasetName, isDatasetUri, type RunState } from '../editor/runState';
import { DATASET_KIND, DATASET_SUFFIXES } from '../dataset/types';

export { datasetName };
import { datasetTarget } from './datasetTarget';
import { humanFieldProblem } from '../review/writes';
import { DistillationError, startDistillation, type DistillationRun } from '../training/client';
import { relocate, renamedDuringRunMessage } from '../training/datasetMove';
import { datasetSourceDescription, type DistillationRequest, type LogLine } from '../training/protocol';
import type { DistillOptions } from '../training/types';

/** A run whose worker started, as `prepare` hands it to `follow`. */
interface StartedRun {
  datasetUri: vscode.Uri;
  key: string;
  name: string;
  run: DistillationRun;
  markFinished: () => void;
  /** Settings the run could not use as written (said in the summary). */
  ignored: string[];
  /** The log prefix: the dataset's name, then the run id once the worker accepted the run. */
  prefix: () => string;
  setReport: (report: (value: { message?: string; increment?: number }) => void) => void;
}

interface ActiveRun {
  datasetUri: vscode.Uri;
  run: DistillationRun;
  /** Resolves once the run ended, however it ended, and its progress notification closed (never waits on the message at the end). */
  finished: Promise<void>;
}

async function fileExists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (stats) => stats.isFile(),
    () => false,
  );
}

function logTo(log: vscode.LogOutputChannel, prefix: string, line: LogLine): void {
  const message = `${prefix} ${line.message}`;
  switch (line.level) {
    case 'debug':
      log.debug(message);
      break;
    case 'warn':
      log.warn(message);
      break;
    case 'error':
      log.error(message);
      break;
    default:
      log.info(message);
  }
}

/** Runs distillations: at most one per dataset, each with a progress notification and the status-bar item. */
export class DistillationManager {
  private readonly active = new Map<string, ActiveRun>();
  /** Datasets whose run is being prepared (questions asked, worker not yet started). */
  private readonly starting = new Set<string>();

  constructor(
    private readonly services: Services,
    private readonly runState: RunState,
    private readonly statusBar: DistillationStatusBar,
  ) {}

  activeRuns(): ActiveRun[] {
    return [...this.active.values()];
  }

  async run(argument: unknown): Promise<void> {
    if (!requireTrust(UNTRUSTED_REASON.runDistillation)) return;
    const datasetUri = datasetTarget(argument);
    if (!datasetUri) {
      void showErrorMessage(`PeerKD: open a ${DATASET_SUFFIXES} dataset (or select one in the Explorer) to run the distillation.`);
      return;
    }
    if (datasetUri.scheme !== 'file') {
      void showErrorMessage(`PeerKD: ${datasetUri.toString()} is not a file on disk; save it as a ${DATASET_SUFFIXES} file first.`);
      return;
    }
    if (!isDatasetUri(datasetUri)) {
      void showErrorMessage(`PeerKD: ${path.basename(datasetUri.fsPath)} is not a ${DATASET_KIND}.`);
      return;
    }
    const key = datasetUri.toString();
    const name = datasetName(datasetUri);
    // A second request while the first still asks its questions (field fixes, the endpoint's cost, the restart) would
    // pass the check below too: two runs of one dataset, one of them out of reach of Cancel. One at a time.
    if (this.starting.has(key)) {
      void showInformationMessage(`PeerKD: a distillation of ${name} is already starting.`);
      return;
    }
    this.starting.add(key);
    let started: Omit<StartedRun, 'datasetUri' | 'key' | 'name'> | undefined;
    try {
      started = await this.prepare(datasetUri, key, name);
    } finally {
      this.starting.delete(key);
    }
    if (started) await this.follow({ ...started, datasetUri, key, name });
  }

  /** Everything before the worker runs: the restart question, the field fixes, the endpoint; undefined = no run. */
  private async prepare(datasetUri: vscode.Uri, key: string, name: string): Promise<Omit<StartedRun, 'datasetUri' | 'key' | 'name'> | undefined> {
    const { log } = this.services;
    const running = this.active.get(key);
    if (running) {
      const restart = 'Cancel It and Start Again';
      const answer = await showWarningMessage(
        `PeerKD: a distillation of ${name} is already running.`,
        { modal: true, detail: 'Only one run per dataset runs at a time. Cancel the running one and start a new run?' },
        restart,
      );
      if (answer !== restart) {
        return undefined;
      }
      await running.run.cancel();
      await running.finished;
    }

    const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === key);
    if (open && !(await offerFieldFixesBeforeRun(open, name))) return undefined;
    const settings = readSettings(datasetUri);
    if (settings.labelsProblem) {
      void showErrorMessage(`PeerKD: no run of ${name}: ${settings.labelsProblem}.`);
      return undefined;
    }
    // A human label field that is the teacher's (or the text's, or holds it) made every teacher label a human one: the
    // run judged nothing and said "0 rows flagged". The rule Label Review writes by (review/writes.ts).
    const humanField = humanFieldProblem(settings.fields);
    if (humanField) {
      void showErrorMessage(`PeerKD: no run of ${name}: ${humanField}.`);
      return undefined;
    }
    // static:<folder> without its model (the folder, tokenizer.json or model.safetensors missing): said before the worker
    // starts, by the static encoder's own checks, with the folder resolved as the worker resolves it (the dataset's).
    const encoderProblem = await staticEncoderProblem(settings.training.encoder, path.dirname(datasetUri.fsPath));
    if (encoderProblem) {
      void showErrorMessage(`PeerKD: no run of ${name}: setting peerkd.training.encoder "${settings.training.encoder}": ${encoderProblem}.`);
      return undefined;
    }
    // PeerKD's own .peerkd folder as the runs folder (its caches; the runs folder is .peerkd/runs): said before the
    // worker starts, by the rule and in the words of distill --out (the worker's RunWriter refused it only once started).
    const outputDir = settings.training.outputDir;
    const peerkdFolder = outputDir ? peerkdFolderAsRunsProblem(resolveRunsDir(datasetUri.fsPath, outputDir), outputDir) : undefined;
    if (peerkdFolder) {
      void showErrorMessage(`PeerKD: no run of ${name}: setting peerkd.training.outputDir "${outputDir}": ${peerkdFolder}; leave it empty, or set it to "${path.join(outputDir, 'runs')}".`);
      return undefined;
    }
    const options: DistillOptions = {
      folds: settings.training.folds,
      stages: settings.training.stages,
      seed: settings.training.seed,
      backend: settings.training.backend,
      finalTargets: settings.training.finalTargets,
      encoder: settings.training.encoder,
      student: 'fasttext',
    };
    // The endpoint encoder sends every row's text to a server: its key, and the user's go-ahead on the cost, first.
    let workerEnv: NodeJS.ProcessEnv | undefined;
    if (options.encoder === 'endpoint') {
      const prepared = await prepareEndpointEncoder(this.services, name, settings, open?.getText() ?? (await fs.readFile(datasetUri.fsPath, 'utf8')));
      if (!prepared) return undefined;
      options.encoderEndpoint = prepared.endpoint;
      // The worker's requests do not pass through VS Code: its http.proxy setting goes with them (proxy.ts).
      const http = vscode.workspace.getConfiguration('http');
      workerEnv = withEditorProxySetting(withEncoderApiKey(process.env, prepared.apiKey), {
        proxy: http.get('proxy'),
        noProxy: http.get('noProxy'),
        proxySupport: http.get('proxySupport'),
      });
    }
    const request: DistillationRequest = {
      datasetPath: datasetUri.fsPath,
      // The editor's text, unsaved edits included; a dataset that is not open is read from disk by the worker.
      datasetText: open?.getText(),
      fields: settings.fields,
      labels: settings.labels,
      options,
      outputDir: settings.training.outputDir || undefined,
    };
    // A setting the run could not use as written (peerkd.training.encoder "glov" runs as auto): said in this log, in
    // the run's own log (run.log, through the worker) and in the summary at the end, never silently replaced.
    const ignored = ignoredSettings(settings, ...RUN_SETTINGS, ...(options.encoder === 'endpoint' ? ENDPOINT_ENCODER_SETTINGS : []));
    if (ignored.length) request.warnings = ignored;
    log.info(`Distillation of ${datasetUri.fsPath} requested (${datasetSourceDescription(request, open?.isDirty)}; folds ${options.folds}, stages ${options.stages}, seed ${options.seed}, backend ${options.backend})`);
    for (const line of ignored) log.warn(`[${name}] ${line}`);

    let prefix = `[${name}]`;
    let lastFraction = 0;
    let reportProgress: ((value: { message?: string; increment?: number }) => void) | undefined;
    const run = startDistillation(
      request,
      {
        onStarted: ({ runId }) => {
          prefix = `[${runId}]`;
          log.info(`${prefix} started for ${datasetUri.fsPath}`);
        },
        onLog: (line) => logTo(log, prefix, line),
        onProgress: (progress) => {
          this.statusBar.update(key, progress);
          const increment = Math.max(0, progress.fraction - lastFraction) * 100;
          lastFraction = Math.max(lastFraction, progress.fraction);
          reportProgress?.({ message: describeProgress(progress), increment });
        },
      },
      {
        workerPath: this.services.context.asAbsolutePath(path.join('dist', 'worker.js')),
        memoryLimitMb: settings.training.memoryLimitMb,
        // The endpoint encoder's key: in the child's environment only (never the request, settings.json or argv).
        ...(workerEnv ? { env: workerEnv } : {}),
      },
    );
    this.statusBar.start(key, name);
    let markFinished!: () => void;
    const finished = new Promise<void>((resolve) => (markFinished = resolve));
    this.active.set(key, { datasetUri, run, finished });
    this.updateRunningContext();
    return { run, markFinished, ignored, prefix: () => prefix, setReport: (report) => (reportProgress = report) };
  }

  /** Follows a started run to its end: the notification, then the results, the summary or the error. */
  private async follow({ datasetUri, key, name, run, markFinished, ignored, prefix, setReport }: StartedRun): Promise<void> {
    const { log } = this.services;
    // Where the dataset went if it is renamed or moved (with a folder) in the editor during the run: the warning at the
    // end names it in the peerkd move that carries the finished run there.
    let movedTo: string | undefined;
    const renames = vscode.workspace.onDidRenameFiles((event) => {
      for (const { oldUri, newUri } of event.files) {
        if (oldUri.scheme !== 'file' || newUri.scheme !== 'file') continue;
        const current = movedTo ?? datasetUri.fsPath;
        const moved = relocate(current, { from: oldUri.fsPath, to: newUri.fsPath });
        if (moved !== path.resolve(current)) movedTo = moved;
      }
    });
    // What the user is told at the end. Shown only after the clean-up below, and never awaited by it: these
    // notifications wait for an answer (a failure's stays until dismissed), and until then the status bar said
    // "0%", the run stayed in `active` (Cancel Distillation in the palette) and a new run asked to cancel it.
    let tell: () => void;
    try {
      const result = await withNotificationProgress(
        { title: `PeerKD: distilling ${name}`, cancellable: true },
        (progress, token) => {
          setReport((value) => progress.report(value));
          progress.report({ message: 'Starting the training worker…' });
          token.onCancellationRequested(() => {
            log.info(`${prefix()} cancel requested`);
            void run.cancel();
          });
          return run.done;
        },
      );
      await this.runState.loadRun(datasetUri, result.runDir);
      const summary = [summaryMessage(name, result.summary), ...ignored.map((line) => `Note: ${line}.`)].join(' ');
      log.info(`${prefix()} finished: ${summary} Artefacts: ${result.runDir}`);
      // Renamed or deleted while it ran: its results are kept, but no review opens on a file that is not there.
      if (!(await fileExists(datasetUri.fsPath))) {
        const gone = `${datasetUri.fsPath} is no longer there (renamed or deleted during the run)`;
        log.warn(`${prefix()} ${gone}; the results stay in ${result.runDir}`);
        const warning = `PeerKD: distillation of ${name} finished, but ${gone}. ${renamedDuringRunMessage(datasetUri.fsPath, result.runDir, movedTo)}`;
        tell = () => void this.offerLog(showWarningMessage(warning, 'Show Log'), 'Show Log');
      } else {
        tell = () => void this.showSummary(datasetUri, summary);
      }
    } catch (error) {
      if (error instanceof DistillationError && error.kind === 'cancelled') {
        log.info(`${prefix()} cancelled; earlier runs are unchanged`);
        const previous = this.runState.getRun(datasetUri);
        const cancelled = previous
          ? `PeerKD: distillation of ${name} cancelled. The results of run ${previous.runId} are still shown.`
          : `PeerKD: distillation of ${name} cancelled.`;
        tell = () => void showInformationMessage(cancelled);
      } else {
        const message = error instanceof Error ? error.message : String(error);
        log.error(`${prefix()} failed: ${message}`);
        const firstLine = message.split('\n')[0];
        tell = () => void this.offerLog(showErrorMessage(`PeerKD: distillation of ${name} failed: ${firstLine}`, 'Open Log'), 'Open Log');
      }
    } finally {
      renames.dispose();
      this.statusBar.finish(key);
      if (this.active.get(key)?.run === run) {
        this.active.delete(key);
      }
      this.updateRunningContext();
      markFinished();
    }
    tell();
  }

  private async showSummary(datasetUri: vscode.Uri, message: string): Promise<void> {
    const answer = await showInformationMessage(message, 'Open Label Review', 'Show Log');
    if (answer === 'Open Label Review') {
      await vscode.commands.executeCommand('peerkd.openLabelReview', datasetUri);
    } else if (answer === 'Show Log') {
      this.services.log.show(true);
    }
  }

  /** Shows the log if the notification is answered with its `button`; whenever that is, after the run's clean-up. */
  private async offerLog(answer: Thenable<string | undefined>, button: string): Promise<void> {
    if ((await answer) === button) this.services.log.show(true);
  }

  /** "Cancel Distillation" shows in the palette only while something runs (package.json `when`). */
  private updateRunningContext(): void {
    void vscode.commands.executeCommand('setContext', DISTILLATION_RUNNING_KEY, this.active.size > 0);
  }

  /** Cancels every run (extension deactivation). */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.active.values()].map((active) => active.run.cancel()));
  }
}

export function registerRunDistillationCommand(manager: DistillationManager): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.runDistillation', (argument?: unknown) => manager.run(argument));
}
