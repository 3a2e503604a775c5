import * as vscode from 'vscode';
import type { Services } from './editor/services';
import { registerShowLogCommand } from './commands/showLog';
import { registerDatasetDiagnostics } from './editor/datasetDiagnostics';
import { registerValidateDatasetCommand } from './commands/validateDataset';
import { MissingFieldCodeActions, registerUseFieldCommand } from './editor/fieldFixes';
import { DistillationManager, registerRunDistillationCommand } from './commands/runDistillation';
import { registerCancelDistillationCommand } from './commands/cancelDistillation';
import { registerRetrainWithMyLabelsCommand } from './commands/retrainWithMyLabels';
import { registerOpenLabelReviewCommand } from './commands/openLabelReview';
import { registerRerankReviewQueueCommand } from './commands/rerankReviewQueue';
import { registerExportReviewedDatasetCommand } from './commands/exportReviewedDataset';
import { registerAcceptSuggestionCommand } from './commands/acceptSuggestion';
import { registerKeepTeacherLabelCommand } from './commands/keepTeacherLabel';
import { RunState } from './editor/runState';
import { RunPointerWatcher } from './editor/runPointerWatcher';
import { DatasetMoves } from './editor/datasetMoves';
import { registerJumpReveal } from './editor/jumpReveal';
import { DistillationStatusBar } from './editor/statusBar';
import { FlaggedRowCodeActions, LabelProbabilityHover, RunDiagnostics } from './editor/runDiagnostics';
import { LabelReviewPanel, registerLabelReviewSerializer } from './webview/labelReviewPanel';
import { setLabelReviewDatasetSource } from './commands/datasetTarget';
import { DATASET_GLOB } from './dataset/types';
import { registerLabelWithTeacherCommand } from './commands/labelWithTeacher';
import { registerSetTeacherApiKeyCommand } from './commands/setTeacherApiKey';

/**
 * Wiring only: every command and editor feature lives in its own module. Activation must stay cheap, so nothing
 * here loads TensorFlow.js or reads datasets eagerly; training runs in the child process dist/worker.js.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PeerKD', { log: true });
  const services: Services = { context, log };
  const datasetDiagnostics = registerDatasetDiagnostics(services);
  context.subscriptions.push(
    log,
    registerShowLogCommand(services),
    datasetDiagnostics,
    registerValidateDatasetCommand(services, datasetDiagnostics),
    registerUseFieldCommand(),
  );
  // Label Review: runs, flagged-row diagnostics, quick fixes, hover, the review panel and export.
  const runState = new RunState(log);
  const statusBar = new DistillationStatusBar();
  const distillations = new DistillationManager(services, runState, statusBar);
  // Commands that need a dataset use the panel's when the panel has focus (commands/datasetTarget.ts).
  setLabelReviewDatasetSource(LabelReviewPanel.viewType, () => LabelReviewPanel.current?.datasetUriForCommands());
  const jsonlFiles: vscode.DocumentSelector = [{ language: 'jsonl' }, { pattern: DATASET_GLOB }];
  context.subscriptions.push(
    runState,
    statusBar,
    new RunDiagnostics(runState),
    // Runs finished outside this window, in any runs folder of an open or reviewed dataset.
    new RunPointerWatcher(runState, log),
    // A dataset renamed or moved in the Explorer keeps its runs and review log; Label Review follows it.
    new DatasetMoves(runState, (from, to) => LabelReviewPanel.current?.followMove(from, to)),
    vscode.languages.registerCodeActionsProvider(jsonlFiles, new FlaggedRowCodeActions(runState), {
      providedCodeActionKinds: FlaggedRowCodeActions.providedCodeActionKinds,
    }),
    vscode.languages.registerCodeActionsProvider(jsonlFiles, new MissingFieldCodeActions(), {
      providedCodeActionKinds: MissingFieldCodeActions.providedCodeActionKinds,
    }),
    vscode.languages.registerHoverProvider(jsonlFiles, new LabelProbabilityHover(runState)),
    registerJumpReveal(),
    registerRunDistillationCommand(distillations),
    registerRetrainWithMyLabelsCommand(services, runState, distillations),
    registerCancelDistillationCommand(distillations),
    registerOpenLabelReviewCommand(services, runState),
    registerRerankReviewQueueCommand(),
    registerExportReviewedDatasetCommand(services, runState),
    registerAcceptSuggestionCommand(runState),
    registerKeepTeacherLabelCommand(runState),
    registerLabelReviewSerializer(services, runState),
    { dispose: () => void distillations.cancelAll() },
  );
  // Teacher labelling through an OpenAI-compatible endpoint (the SDK loads on first use).
  context.subscriptions.push(registerLabelWithTeacherCommand(services), registerSetTeacherApiKeyCommand(services));
  log.info(`PeerKD ${context.extension.packageJSON.version as string} activated`);
}

export function deactivate(): void {
  // Disposables registered on context.subscriptions are released by VS Code.
}
