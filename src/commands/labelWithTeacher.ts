import { DATASET_SUFFIXES } from '../dataset/types';
import { labelListText } from '../dataset/labels';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage, showWarningMessage, withNotificationProgress } from '../editor/messages';
import { UNTRUSTED_REASON } from '../editor/contextKeys';
import { requireTrust } from '../editor/trust';
import { datasetTarget, openedDataset, usableDataset } from './datasetTarget';
import { looksLikeDataset } from '../editor/datasetDiagnostics';
import { labelListProblem, parseDatasetText } from '../dataset/index';
import type { Services } from '../editor/services';
import { ignoredSettings, readSettings, TEACHER_SETTINGS } from '../editor/settings';
import { redactSecret } from '../teacher/redact';
import { plainHttpKeyWarning } from '../teacher/url';
import type { LabelRunSummary } from '../teacher/types';
import { teacherApiKeyOrAsk } from './setTeacherApiKey';

const running = new Set<string>();

/** The settings that name each field, as the messages call them. */
const FIELD_SETTINGS = {
  text: 'peerkd.fields.text',
  teacher: 'peerkd.fields.teacher',
  human: 'peerkd.fields.human',
  id: 'peerkd.fields.id',
  teacherConfidence: 'peerkd.fields.teacherConfidence',
} as const;

/** What a run took that the command gives back or keeps out of messages whatever happens. */
interface RunHolds {
  apiKey?: string;
  lock?: { release(): void; readonly unavailable?: string };
}

function targetUri(target: unknown): vscode.Uri | undefined {
  return datasetTarget(target, looksLikeDataset);
}

/** Answers are cached in the workspace folder that holds the file (else next to it), never in the extension. */
function cacheRoot(services: Services, uri: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  if (folder?.uri.scheme === 'file') return folder.uri.fsPath;
  if (uri.scheme === 'file') return path.dirname(uri.fsPath);
  return services.context.globalStorageUri.fsPath;
}

/**
 * "PeerKD: Label with Teacher": labels the rows of the active (or chosen) JSONL file that carry neither a teacher nor
 * a human label, after a confirmation with the estimate. Results are applied as one WorkspaceEdit (one replaced line
 * per row), so a single Undo takes them back; the answers stay in the disk cache either way.
 */
export function registerLabelWithTeacherCommand(services: Services): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.labelWithTeacher', async (target?: unknown): Promise<LabelRunSummary | undefined> => {
    if (!requireTrust(UNTRUSTED_REASON.labelWithTeacher)) {
      return undefined;
    }
    // Before anything is asked or sent: labels bought for a git diff's older side could not be applied to it.
    const uri = usableDataset(targetUri(target), `PeerKD: open a ${DATASET_SUFFIXES} dataset (or pick one in the Explorer) to label it with the teacher.`, 'no teacher labelling', {
      untitled: true,
      needsDatasetName: false,
    });
    if (!uri) return undefined;
    const key = uri.toString();
    if (running.has(key)) {
      void showWarningMessage('PeerKD: the teacher is already labelling this file.');
      return undefined;
    }
    running.add(key);
    const used: RunHolds = {};
    try {
      return await labelDocument(services, uri, used);
    } catch (error) {
      // Whatever failed, the key it was sent with stays out of the log and the message.
      const reason = redactSecret(error instanceof Error ? error.message : String(error), used.apiKey);
      services.log.error(`Teacher labelling of ${vscode.workspace.asRelativePath(uri)} failed: ${reason}`);
      void showErrorMessage(`PeerKD: ${reason}`);
      return undefined;
    } finally {
      used.lock?.release();
      running.delete(key);
    }
  });
}

async function labelDocument(services: Services, uri: vscode.Uri, used: RunHolds): Promise<LabelRunSummary | undefined> {
  const name = vscode.workspace.asRelativePath(uri);
  const settings = readSettings(uri);
  const teacher = settings.teacher;
  // The SDK and the run machinery load on first use, not at activation.
  const [{ TeacherCache }, { normaliseBaseUrl }, job, { estimateRun, runLabelling }, { runBatchLabelling }, { teacherEdits, replacedLines, teacherFieldsProblem }, { LabelRunLock }] =
    await Promise.all([
      import('../teacher/cache.js'),
      import('../teacher/client.js'),
      import('../teacher/job.js'),
      import('../teacher/run.js'),
      import('../teacher/batch.js'),
      import('../teacher/apply.js'),
      import('../teacher/lock.js'),
    ]);
  // A bad URL is reported naming the setting it came from, as the endpoint encoder's is.
  const baseUrl = normaliseBaseUrl(teacher.baseUrl, 'the setting peerkd.teacher.baseUrl');

  const fieldsProblem = teacherFieldsProblem(settings.fields, FIELD_SETTINGS);
  if (fieldsProblem) {
    throw new Error(fieldsProblem);
  }
  if (settings.labelsProblem) {
    throw new Error(settings.labelsProblem);
  }
  const labelsProblem = settings.labels.length > 0 ? labelListProblem(settings.labels) : undefined;
  if (labelsProblem) {
    throw new Error(`setting peerkd.labels: ${labelsProblem}`);
  }
  // A setting the run cannot use as written is said before the user says Label, with what runs instead.
  const ignored = ignoredSettings(settings, ...TEACHER_SETTINGS);
  for (const line of ignored) services.log.warn(`Teacher run on ${name}: ${line}`);
  const document = await openedDataset(uri, 'no teacher labelling');
  if (!document) return undefined;
  const parsed = parseDatasetText(document.getText(), settings.fields);
  // No row has the text field (it is named otherwise, `sentence`): nothing can be labelled. Said as the file's problem
  // says it, naming the setting and the field that looks right; it read "every row already has a teacher or human label".
  const noTextField = parsed.problems.find((problem) => problem.code === 'missing-text-field');
  if (noTextField) throw new Error(`${name}:${noTextField.line}: ${noTextField.message}`);
  const prepared = job.prepareJob(parsed.rows, settings.labels, teacher);
  if (prepared.plan.candidates === 0) {
    void showInformationMessage(
      `PeerKD: every row of ${name} already has a teacher or human label` +
        (teacher.relabel ? '.' : ' (set peerkd.teacher.relabel to label them again).') +
        ignored.map((line) => ` Note: ${line}.`).join(''),
    );
    return undefined;
  }

  const key = await teacherApiKeyOrAsk(services, baseUrl);
  if (!key) return undefined;
  const apiKey = key.apiKey;
  used.apiKey = apiKey;

  const plainHttp = plainHttpKeyWarning(baseUrl, apiKey);
  if (plainHttp) {
    services.log.warn(`Teacher: ${plainHttp}`);
    void showWarningMessage(`PeerKD: ${plainHttp}.`);
  }

  const cacheDir = job.defaultCacheDir(cacheRoot(services, uri));
  // One run per dataset at a time, across processes too (a `peerkd label` in a terminal), taken before the cache is
  // read; released by the command when the run is over.
  if (uri.scheme === 'file') used.lock = LabelRunLock.acquire(uri.fsPath);
  if (used.lock?.unavailable) services.log.warn(`Teacher cache: ${used.lock.unavailable}`);
  const cache = TeacherCache.open(cacheDir, baseUrl, teacher.model, prepared.prompt, { secret: apiKey });
  for (const problem of cache.describeProblems()) services.log.warn(`Teacher cache: ${problem}`);
  const estimate = estimateRun(prepared.plan, prepared.prompt, cache);
  const confirmation = await showInformationMessage(
    `Label ${name} with ${teacher.model}?`,
    {
      modal: true,
      detail:
        `${job.formatEstimate(estimate, teacher.model)}\n\nEndpoint: ${baseUrl}${teacher.useBatchApi ? ' (Batch API)' : ''}\n` +
        `Labels (${prepared.labelSource}): ${labelListText(prepared.prompt.labels)}\n` +
        `Few-shot examples: ${prepared.prompt.fewShot.length}` +
        ignored.map((line) => `\n\nNote: ${line}.`).join(''),
    },
    'Label',
  );
  if (confirmation !== 'Label') return undefined;

  services.log.info(
    `Teacher run on ${name}: ${baseUrl}, model ${teacher.model}, ${estimate.requests} requests planned, ` +
      `${estimate.cached} cached, concurrency ${teacher.maxConcurrency}${teacher.useBatchApi ? ', Batch API' : ''}`,
  );
  const endpoint = {
    baseUrl,
    model: teacher.model,
    apiKey,
    temperature: teacher.temperature,
    maxConcurrency: teacher.maxConcurrency,
    requestTimeoutMs: teacher.requestTimeoutMs,
    maxRetries: teacher.maxRetries,
  };
  const result = await withNotificationProgress(
    { title: `PeerKD teacher: ${name}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const subscription = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      let lastReport = 0;
      const options = {
        endpoint,
        prompt: prepared.prompt,
        cache,
        signal: controller.signal,
        onFailure: (_text: string, message: string) => services.log.warn(`Teacher request failed: ${message}`),
        onProgress: (update: { done: number; total: number }) => {
          const now = Date.now();
          if (now - lastReport < 200 && update.done < update.total) return;
          lastReport = now;
          const percent = update.total > 0 ? (update.done / update.total) * 100 : 100;
          progress.report({ message: job.formatProgress(update as Parameters<typeof job.formatProgress>[0]), increment: percent - reported });
          reported = percent;
        },
      };
      try {
        return teacher.useBatchApi
          ? await runBatchLabelling(prepared.plan, { ...options, onStatus: (line) => services.log.info(redactSecret(line, apiKey)) })
          : await runLabelling(prepared.plan, options);
      } finally {
        subscription.dispose();
      }
    },
  );

  // Apply to the document as it is now (it may have been edited, or closed, during the run); rows are matched by text.
  const current = document.isClosed ? await vscode.workspace.openTextDocument(uri) : document;
  const rows = parseDatasetText(current.getText(), settings.fields).rows;
  // A line that cannot take its label (e.g. nested too deeply) is reported and left as it is; the others are applied.
  const { lines, skipped } = replacedLines(
    teacherEdits(rows, result.answers, settings.fields, teacher.relabel),
    (line) => current.lineAt(line - 1).text,
  );
  for (const row of skipped) services.log.warn(`${name}:${row.line}: ${row.reason}; the row keeps no teacher label`);
  if (lines.length > 0) {
    const workspaceEdit = new vscode.WorkspaceEdit();
    for (const { line, text } of lines) workspaceEdit.replace(uri, current.lineAt(line - 1).range, text);
    if (!(await vscode.workspace.applyEdit(workspaceEdit))) {
      throw new Error(`the teacher labels could not be applied to ${name} (the answers are cached: run again to apply them)`);
    }
    await vscode.window.showTextDocument(current, { preview: false });
  }

  const summaryLines = job.formatSummary(result.summary).map((line) => redactSecret(line, apiKey));
  for (const line of summaryLines) services.log.info(line);
  services.log.info(`Teacher labels applied to ${lines.length} lines of ${name} (unsaved; Undo reverts them)`);
  const outcome = job.runOutcome(result.summary);
  let message = `PeerKD: ${summaryLines[0]} ${lines.length} rows updated in ${name}${lines.length > 0 ? ' (unsaved; Undo reverts)' : ''}.`;
  if (outcome === 'failed') message += ` ${summaryLines.find((line) => line.startsWith('Stopped on'))}`;
  if (outcome === 'incomplete') message += ` ${job.RESUME_HINT}`;
  if (skipped.length > 0) message += ` ${skipped.length} rows could not take their label (${name}:${skipped[0].line}; see the log).`;
  const show =
    outcome === 'failed'
      ? showErrorMessage
      : outcome === 'incomplete' || skipped.length > 0
        ? showWarningMessage
        : showInformationMessage;
  void show(message, 'Show Log').then((choice) => {
    if (choice === 'Show Log') services.log.show(true);
  });
  return result.summary;
}
