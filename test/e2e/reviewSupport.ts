/** Helpers shared by the Label Review flows (test/e2e/flows/distill-*.ts and review-*.ts). */
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import { describeNotification, escapeRegExp, newNotifications, repoRoot, waitFor, type Workbench } from './harness';
import { DATASET_KIND, DEFAULT_FIELDS } from '../../src/dataset/types';
import { UNTRUSTED_REASON } from '../../src/editor/contextKeys';
import { LATEST_BY_DATASET_DIR, LATEST_FILE, resolveRunsDir, REVIEW_LOG_DIR, RunWriter, sha256 } from '../../src/training/artifacts';
import type { Prediction } from '../../src/training/types';

export const DATASET = 'agnews.jsonl';
export const RUN_COMMAND = 'PeerKD: Run Peer-Advised Distillation';
export const REVIEW_COMMAND = 'PeerKD: Open Label Review';
/** The end-of-run summary notification. */
export const SUMMARY = /PeerKD: agnews\.jsonl done\./;
export const FLAGGED_MESSAGE = /^Teacher label '[^']+' may be wrong: peers suggest '[^']+' \(p = \d\.\d\d\)$/;

/**
 * Runs `during` in the dark theme (Preferences: Toggle between Light/Dark Themes) once the panel in `frame` has taken
 * its colours, then puts the light theme back and waits for the panel to take it again.
 */
export async function inDarkTheme(workbench: Workbench, frame: Frame, during: () => Promise<void>): Promise<void> {
  const toggleTheme = 'Preferences: Toggle between Light/Dark Themes';
  const bodyBackground = () => frame.evaluate('getComputedStyle(document.body).backgroundColor') as Promise<string>;
  const lightBackground = await bodyBackground();
  await workbench.runCommand(toggleTheme);
  await waitFor(async () => (await bodyBackground()) !== lightBackground, { message: 'the panel to take the dark theme' });
  await during();
  await workbench.runCommand(toggleTheme);
  await waitFor(async () => (await bodyBackground()) === lightBackground, { message: 'the panel to take the light theme again' });
}

/**
 * Pictures of Label Review (`frame`) with its editor group maximised: `name` in the light theme, `name-dark` in the
 * dark one (`readme`: also the README's docs/images, when screenshots are updated). The group is restored after.
 */
export async function panelPictures(workbench: Workbench, frame: Frame, name: string, options: { readme?: boolean } = {}): Promise<void> {
  const maximize = 'View: Toggle Maximize Editor Group';
  const maximized = await workbench.runCommand(maximize, { timeoutMs: 5_000 }).then(() => true, () => false);
  await workbench.page.waitForTimeout(500);
  await workbench.screenshot(name, options);
  await inDarkTheme(workbench, frame, async () => {
    await workbench.page.waitForTimeout(500);
    await workbench.screenshot(`${name}-dark`, options);
  });
  if (maximized) await workbench.runCommand(maximize);
}

/** Copies the 2,000-row example dataset into the flow's workspace. */
export function copyExampleDataset(workspaceDir: string, name = DATASET): void {
  copyFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), join(workspaceDir, name));
}

/**
 * Workspace settings that make a run of the example long enough to act on while it runs (cancel it, rename its
 * dataset): more folds and stages than it needs, a fixed seed.
 */
export function writeLongRunSettings(workspaceDir: string): void {
  writeFileSync(
    join(workspaceDir, '.vscode', 'settings.json'),
    JSON.stringify({ 'peerkd.training.folds': 5, 'peerkd.training.stages': 3, 'peerkd.training.seed': 0 }, null, 2),
  );
}

export function runsDir(workbench: Workbench): string {
  return workbench.path(join('.peerkd', 'runs'));
}

/** Folder names under .peerkd/runs (run folders, temp folders, pointers). */
export function runsEntries(workbench: Workbench): string[] {
  const dir = runsDir(workbench);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export function completedRuns(workbench: Workbench): string[] {
  // Not runs: the pointers, and the review log Label Review writes beside the runs (src/review/reviewLog.ts).
  return runsEntries(workbench).filter((name) => !name.startsWith('.') && name !== LATEST_FILE && name !== LATEST_BY_DATASET_DIR && name !== REVIEW_LOG_DIR);
}

export function readPredictions(workbench: Workbench, runId: string): Prediction[] {
  return readFileSync(join(runsDir(workbench), runId, 'predictions.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Prediction);
}

/** The line number a review row shows (its `.line`), or undefined while the row is not in the list. */
export async function rowLine(frame: Frame, rowId: string): Promise<string | undefined> {
  const row = frame.locator(`#list .row[data-id="${rowId}"]:not([hidden]) .line`);
  return (await row.count()) > 0 ? row.first().innerText() : undefined;
}

/** A note of the panel as it was when it appeared: its text and its box in the webview. */
export interface NoticeShown {
  text: string;
  top: number;
  left: number;
  bottom: number;
  right: number;
  /** It had a height and was not hidden. */
  visible: boolean;
}

export interface NoticeRecorder {
  /**
   * Waits for a note matching `match` (a string: the whole text) shown since the recorder started, or since the note
   * the last `next` returned; returns it. The timeout error lists the notes that were shown.
   */
  next(match: string | RegExp, message: string): Promise<NoticeShown>;
}

/**
 * Records, in the webview itself, every note Label Review shows (#notice, src/webview/client/render.ts showNotice) from
 * now on, with its box the moment it appears. A note clears itself after 5 s; under load the effect a flow waits for
 * before it (a decision in the counts, the palette closing) can take longer than that, and a note waited for afterwards
 * was gone (a CI run). Start the recorder before the key press or click that shows the note.
 */
export async function recordNotices(frame: Frame): Promise<NoticeRecorder> {
  // A string, as the tests' types know no DOM. One observer per page; a new #notice element (the panel drawn anew) is
  // found again at each mutation.
  let seen = (await frame.evaluate(`(() => {
    if (!window.__peerkdNotices) {
      window.__peerkdNotices = [];
      new MutationObserver((records) => {
        const notice = document.getElementById('notice');
        if (!notice || !notice.textContent || !records.some((record) => notice.contains(record.target))) return;
        const r = notice.getBoundingClientRect();
        window.__peerkdNotices.push({
          text: notice.textContent,
          top: r.top,
          left: r.left,
          bottom: r.bottom,
          right: r.right,
          visible: r.height > 0 && getComputedStyle(notice).visibility !== 'hidden',
        });
      }).observe(document.body, { childList: true, characterData: true, subtree: true });
    }
    return window.__peerkdNotices.length;
  })()`)) as number;
  const matches = (match: string | RegExp, text: string): boolean => (typeof match === 'string' ? text === match : match.test(text));
  return {
    async next(match, message) {
      let shown: NoticeShown[] = [];
      const index = await waitFor(
        async () => {
          shown = (await frame.evaluate('window.__peerkdNotices')) as NoticeShown[];
          const found = shown.findIndex((notice, i) => i >= seen && matches(match, notice.text));
          return found >= 0 ? found : undefined;
        },
        { message: `${message}: a note of the panel matching ${String(match)}` },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; the notes shown since: ${JSON.stringify(shown.slice(seen).map((notice) => notice.text))}`);
      });
      seen = index + 1;
      return shown[index];
    },
  };
}

export function runLabels(workbench: Workbench, runId: string): string[] {
  return (JSON.parse(readFileSync(join(runsDir(workbench), runId, 'settings.json'), 'utf8')) as { labels: string[] }).labels;
}

/** Flagged rows in the panel's order: highest p first, ties by line. */
export function reviewOrder(predictions: Prediction[]): Prediction[] {
  return predictions
    .filter((p) => p.flagged)
    .sort((a, b) => b.p_teacher_wrong - a.p_teacher_wrong || a.line - b.line || (a.id < b.id ? -1 : 1));
}

/**
 * What "Run Peer-Advised Distillation" says when a run ends without its summary or does not start
 * (src/commands/runDistillation.ts, src/editor/fieldFixOffers.ts, src/editor/trust.ts): failed, cancelled, finished
 * on a dataset that is gone, already starting, no run (labels, fields), not a dataset, fields to fix first, Restricted
 * Mode. ("Already running" is a modal dialog, which runDistillationAndWait stops on too.)
 */
export const RUN_ENDED_WITHOUT_SUMMARY = new RegExp(
  [
    /^PeerKD: distillation of .+ (failed: |cancelled\.|finished, but )/.source,
    /^PeerKD: a distillation of .+ is already (starting|running)\./.source,
    /^PeerKD: no run of /.source,
    /^PeerKD: open a .+ dataset \(or select one in the Explorer\) to run the distillation\./.source,
    /^PeerKD: .+ is not a file on disk; /.source,
    `^PeerKD: .+ is not a ${escapeRegExp(DATASET_KIND)}\\.`,
    /^PeerKD: .+ (cannot be distilled yet|has no teacher labels): /.source,
    `^PeerKD: ${escapeRegExp(UNTRUSTED_REASON.runDistillation)}`,
  ].join('|'),
);

/**
 * Runs the distillation from the palette on the open dataset and waits for the summary. Stops at once (with what the
 * screen shows) when, instead, a notification says the run failed, was cancelled or refused (RUN_ENDED_WITHOUT_SUMMARY),
 * when PeerKD shows an error, or when a modal dialog asks something: such a run never says "done", and the wait used
 * to end only after `timeoutMs` with no word of why.
 */
export async function runDistillationAndWait(workbench: Workbench, timeoutMs = 240_000): Promise<void> {
  // Messages on screen before the command are an earlier run's (its "done." too, in a flow that runs twice): only new
  // ones count, the summary waited for included.
  const before = await workbench.notifications();
  const fresh = newNotifications(before);
  await workbench.runCommand(RUN_COMMAND);
  await workbench.waitForNotification(SUMMARY, {
    timeoutMs,
    since: before,
    async abortIf(entries) {
      const ended = fresh(entries).find((entry) => RUN_ENDED_WITHOUT_SUMMARY.test(entry.message) || (entry.severity === 'error' && entry.message.startsWith('PeerKD')));
      if (ended) return `the run ended without its summary: ${describeNotification({ ...ended, message: workbench.shortPaths(ended.message) })}`;
      const dialog = await workbench.dialogText();
      return dialog ? `a modal dialog asks: ${JSON.stringify(workbench.shortPaths(dialog))}` : undefined;
    },
  });
}

/** Waits until the Problems panel lists at least one flagged-label warning from PeerKD. */
export async function waitForFlaggedProblems(workbench: Workbench, timeoutMs = 30_000) {
  return workbench.waitForProblems(
    (entries) => entries.some((entry) => entry.source === 'PeerKD' && FLAGGED_MESSAGE.test(entry.message)),
    { timeoutMs, message: 'a PeerKD flagged-label warning in the Problems panel' },
  );
}

export async function waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => existsSync(path), { timeoutMs, message: `${path} to exist` });
}

/**
 * Writes `rows` rows of the example (copied over with fresh ids when more than 2,000) as the dataset, and a complete
 * run flagging every row with the engine's own RunWriter, so a flow can open Label Review without training.
 */
export async function writeDatasetWithFlaggedRun(
  workspaceDir: string,
  rows: number,
  /** The run's label set, in the order of the keys 1–9 (the example's four labels, in any order). */
  labels: readonly string[] = ['Business', 'Sci/Tech', 'Sports', 'World'],
  /** The last this many rows have no teacher label (the teacher abstained): the queue "No teacher label". */
  unlabelled = 0,
  /**
   * The this many teacher-labelled rows before those are not flagged, each with p below one half (the teacher's label
   * its arg-max): the run doubts them without flagging them, the queue "Doubtful".
   */
  doubtful = 0,
  /** The dataset's file name in the workspace. */
  name = DATASET,
): Promise<void> {
  const example = readFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), 'utf8').split('\n').filter(Boolean);
  const lines = Array.from({ length: rows }, (_, index) => {
    const row = JSON.parse(example[index % example.length]) as Record<string, unknown>;
    row.id = `${String(row.id)}-${Math.floor(index / example.length)}`;
    delete row.human_label;
    if (index >= rows - unlabelled) delete row.teacher_label;
    return JSON.stringify(row);
  });
  const datasetPath = join(workspaceDir, name);
  const text = lines.join('\n') + '\n';
  writeFileSync(datasetPath, text);
  let seed = 7;
  const random = (): number => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const predictions: Prediction[] = lines.map((line, index) => {
    const row = JSON.parse(line) as { id: string; teacher_label?: string };
    if (row.teacher_label === undefined) {
      const suggested = labels[Math.floor(random() * labels.length)];
      const p = 0.3 + random() * 0.6;
      const probs = Object.fromEntries(labels.map((label) => [label, label === suggested ? p : (1 - p) / (labels.length - 1)]));
      return { id: row.id, line: index + 1, teacher: null, human: null, suggested, p_teacher_wrong: 0, flagged: false, probs, peer_probs: probs, vanilla_probs: probs };
    }
    const others = labels.filter((label) => label !== row.teacher_label);
    if (index >= rows - unlabelled - doubtful) {
      const other = others[Math.floor(random() * others.length)];
      const p = 0.3 + random() * 0.15;
      const probs = Object.fromEntries(labels.map((label) => [label, label === row.teacher_label ? 1 - p : label === other ? p * 0.7 : (p * 0.3) / (others.length - 1)]));
      return { id: row.id, line: index + 1, teacher: row.teacher_label, human: null, suggested: row.teacher_label, p_teacher_wrong: p, flagged: false, probs, peer_probs: probs, vanilla_probs: probs };
    }
    const suggested = others[Math.floor(random() * others.length)];
    const p = 0.5 + random() * 0.5;
    const probs = Object.fromEntries(labels.map((label) => [label, label === suggested ? p : (1 - p) / 3]));
    return { id: row.id, line: index + 1, teacher: row.teacher_label, human: null, suggested, p_teacher_wrong: p, flagged: true, probs, peer_probs: probs, vanilla_probs: probs };
  });
  const runId = `20260101-000000-agnews-${rows}`;
  const writer = await RunWriter.create(resolveRunsDir(datasetPath), runId);
  await writer.writePredictions(predictions);
  // What a real run's metrics.json says about the teacher (calibration.ts trustFigures), consistent with these rows.
  const expectedWrong = predictions.reduce((sum, prediction) => sum + prediction.p_teacher_wrong, 0);
  const meanRight = 1 - expectedWrong / predictions.length;
  await writer.writeJson('metrics.json', {
    trust: {
      teacherAccuracy: { estimate: meanRight, low: Math.max(0, meanRight - 0.06), high: Math.min(1, meanRight + 0.06) },
      flaggedWrong: { estimate: expectedWrong, low: expectedWrong * 0.85, high: Math.min(predictions.length, expectedWrong * 1.15) },
    },
  });
  await writeFakeRunSettings(writer, runId, datasetPath, text, labels);
  await writer.commit(datasetPath);
}

/** The settings.json of a made-up run of `text` (the dataset at `datasetPath`), as a real run writes it. */
export async function writeFakeRunSettings(writer: RunWriter, runId: string, datasetPath: string, text: string, labels: readonly string[]): Promise<void> {
  await writer.writeJson('settings.json', {
    runId,
    startedAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    datasetPath,
    datasetSha256: sha256(text),
    datasetSource: 'file',
    fields: DEFAULT_FIELDS,
    labels,
    labelsSource: 'configured',
    options: { folds: 2, stages: 1, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' },
  });
}
