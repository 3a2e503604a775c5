/**
 * Run Distillation as a hurried user drives it (src/commands/runDistillation.ts): the command invoked twice at once on
 * the same open dataset (a double key press, the palette and the editor title button), a dataset that is renamed or
 * deleted while its run goes on, and the message at a run's end left unanswered (the run is over all the same). The
 * real client forks the real worker runtime, driven by the scripted engine of test/fixtures/training/scripted-worker.ts
 * (PEERKD_TEST_WORKER=slow: a few hundred ms per run).
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeUri, recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';
import { waitFor } from '../support/waitFor';
import { DEFAULT_RUNS_DIR, readLatestRun, TEMP_PREFIX } from '../../src/training/artifacts';
import { bundleWorker, datasetLines, tempFolder, writeDataset } from '../fixtures/training/build';

const shown: string[] = [];
const logged: { level: string; line: string }[] = [];
const contexts: unknown[] = [];
const commands: unknown[][] = [];
/** Messages shown while `holdMessages` is on: each waits, like VS Code's notification, until the test answers it. */
const unanswered: { text: string; answer: (button?: string) => void }[] = [];
let holdMessages = false;
let logShown = 0;
/** The fake's showXMessage: records the text; answers at once (dismissed), or waits for the test while held. */
function message(kind: string) {
  return (text: string): Promise<string | undefined> => {
    shown.push(`${kind}: ${text}`);
    if (!holdMessages) return Promise.resolve(undefined);
    return new Promise((resolve) => unanswered.push({ text: `${kind}: ${text}`, answer: resolve }));
  };
}
let openDocuments: { uri: FakeUri; isDirty: boolean; getText(): string }[] = [];
let workspaceFolders: { uri: FakeUri; name: string }[] | undefined;
let settingValues: Record<string, unknown> = {};
const fakeVscode = {
  Uri: FakeUri,
  ProgressLocation: { Notification: 15 },
  workspace: {
    isTrusted: true,
    get textDocuments() {
      return openDocuments;
    },
    getConfiguration: () => ({ get: (key: string) => settingValues[key] }),
    /** A run follows renames of its dataset (runDistillation.ts); none happens in these tests. */
    onDidRenameFiles: () => ({ dispose: () => undefined }),
    get workspaceFolders() {
      return workspaceFolders;
    },
    /** VS Code's: with several folders, the folder's name first. */
    asRelativePath: (uri: FakeUri, includeWorkspaceFolder?: boolean) => {
      const folder = workspaceFolders?.find((candidate) => uri.fsPath.startsWith(candidate.uri.fsPath + '/'));
      if (!folder) return uri.fsPath;
      const relative = uri.fsPath.slice(folder.uri.fsPath.length + 1);
      return (includeWorkspaceFolder ?? workspaceFolders!.length > 1) ? `${folder.name}/${relative}` : relative;
    },
  },
  languages: { getDiagnostics: () => [] },
  window: {
    showInformationMessage: message('info'),
    showWarningMessage: message('warning'),
    showErrorMessage: message('error'),
    withProgress: (_options: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) =>
      task({ report: () => undefined }, { onCancellationRequested: () => undefined }),
  },
  commands: {
    executeCommand: async (command: string, ...rest: unknown[]) => {
      if (command === 'setContext') contexts.push(rest[1]);
      else commands.push([command, ...rest]);
      return undefined;
    },
  },
};
stubVscodeModule(fakeVscode);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DistillationManager } = require('../../src/commands/runDistillation') as typeof import('../../src/commands/runDistillation');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { memoryLimitSetting } = require('../../src/editor/settings') as typeof import('../../src/editor/settings');

let folder: string;
let workerPath: string;
const previousBehaviour = process.env.PEERKD_TEST_WORKER;

before(async () => {
  folder = await tempFolder('run-concurrency');
  workerPath = await bundleWorker('test/fixtures/training/scripted-worker.ts', folder, 'scripted-worker');
  process.env.PEERKD_TEST_WORKER = 'slow';
});

after(async () => {
  if (previousBehaviour === undefined) delete process.env.PEERKD_TEST_WORKER;
  else process.env.PEERKD_TEST_WORKER = previousBehaviour;
  await rm(folder, { recursive: true, force: true });
});

beforeEach(() => {
  shown.length = 0;
  logged.length = 0;
  contexts.length = 0;
  commands.length = 0;
  for (const held of unanswered.splice(0)) held.answer(undefined);
  holdMessages = false;
  logShown = 0;
  openDocuments = [];
  workspaceFolders = undefined;
  settingValues = {};
});

function manager() {
  const log = { ...recordingLog(logged), show: () => void logShown++ };
  const services = { context: { asAbsolutePath: () => workerPath }, log } as never;
  const loaded: string[] = [];
  const runState = { loadRun: async (_uri: unknown, runDir: string) => void loaded.push(runDir), getRun: () => undefined } as never;
  const bar = { started: 0, finished: 0 };
  const statusBar = { start: () => void bar.started++, update: () => undefined, finish: () => void bar.finished++ } as never;
  return { manager: new DistillationManager(services, runState, statusBar), loaded, bar };
}

/** The run folders (complete ones and ones being written) of the runs folder next to `dataset`. */
async function runFolders(sub: string): Promise<string[]> {
  const entries = await readdir(join(sub, DEFAULT_RUNS_DIR)).catch(() => [] as string[]);
  return entries.filter((name) => /^\.?tmp-|^\d{8}-/.test(name));
}

test('Run Distillation twice at once on the same open dataset starts ONE run; the second says one is already starting', async () => {
  const sub = await tempFolder('run-twice');
  const dataset = await writeDataset(sub, 'data.jsonl', datasetLines(40));
  const text = await readFile(dataset, 'utf8');
  openDocuments = [{ uri: new FakeUri(dataset), isDirty: false, getText: () => text }];
  const { manager: runs, loaded, bar } = manager();

  // Both before either has its worker: the open dataset's field check is awaited in between.
  await Promise.all([runs.run(new FakeUri(dataset)), runs.run(new FakeUri(dataset))]);

  const folders = await runFolders(sub);
  assert.equal(folders.filter((name) => !name.startsWith(TEMP_PREFIX)).length, 1, `one run, not two: ${folders.join(', ')}\n${shown.join('\n')}`);
  assert.equal(loaded.length, 1);
  assert.equal(bar.started, 1);
  assert.equal(bar.finished, 1);
  assert.ok(
    shown.some((text) => text === 'info: PeerKD: a distillation of data.jsonl is already starting.'),
    shown.join('\n'),
  );
  assert.equal(shown.filter((text) => /done\./.test(text)).length, 1, shown.join('\n'));
  assert.equal(runs.activeRuns().length, 0, 'nothing stays running');
  assert.equal(contexts.at(-1), false, '"Cancel Distillation" leaves the palette');
  await rm(sub, { recursive: true, force: true });
});

test('a dataset renamed during its run: the end says so, names where the results are, and offers no review of a file that is gone', async () => {
  const sub = await tempFolder('run-renamed');
  const dataset = await writeDataset(sub, 'data.jsonl', datasetLines(40));
  const { manager: runs } = manager();
  holdMessages = true;
  const running = runs.run(new FakeUri(dataset));
  // Once the worker has read it and trains, the user renames it in the Explorer.
  for (let tries = 0; tries < 500 && !logged.some(({ line }) => /scripted engine/.test(line)); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  await rename(dataset, join(sub, 'renamed.jsonl'));
  await running;

  const folders = (await runFolders(sub)).filter((name) => !name.startsWith(TEMP_PREFIX));
  assert.equal(folders.length, 1, folders.join(', '));
  assert.equal(shown.length, 1, shown.join('\n'));
  assert.match(shown[0], /^warning: PeerKD: distillation of data\.jsonl finished, but .*data\.jsonl is no longer there \(renamed or deleted during the run\)\. Its results are in .*\d{8}-/, shown[0]);
  assert.ok(logged.some(({ level, line }) => level === 'warn' && line.includes('is no longer there')), JSON.stringify(logged, null, 1));
  // Over before the warning is answered; its Show Log, clicked later, still shows the log.
  assert.equal(runs.activeRuns().length, 0);
  assert.equal(unanswered.length, 1);
  unanswered[0].answer('Show Log');
  await waitFor('the log to show', () => logShown === 1);
  await rm(sub, { recursive: true, force: true });
});

test('multi-root, data.jsonl in both folders, both run at once: each message names its folder, each run reads and writes its own', async () => {
  const root = await tempFolder('multi-root');
  const datasets: string[] = [];
  for (const [index, name] of ['alpha', 'beta'].entries()) {
    await mkdir(join(root, name));
    // Different rows in each, so a mixed-up run shows.
    datasets.push(await writeDataset(join(root, name), 'data.jsonl', datasetLines(30 + index * 10)));
  }
  workspaceFolders = ['alpha', 'beta'].map((name) => ({ uri: new FakeUri(join(root, name)), name }));
  const { manager: runs, bar } = manager();
  const both = Promise.all(datasets.map((dataset) => runs.run(new FakeUri(dataset))));
  // Both run together; the quick pick of Cancel Distillation tells them apart by their path.
  for (let tries = 0; tries < 500 && runs.activeRuns().length < 2; tries++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(runs.activeRuns().length, 2, 'two datasets, two runs at once');
  await both;

  assert.equal(bar.started, 2);
  assert.equal(bar.finished, 2);
  const done = shown.filter((text) => / done\. /.test(text)).sort();
  assert.equal(done.length, 2, shown.join('\n'));
  assert.match(done[0], /^info: PeerKD: alpha\/data\.jsonl done\. /);
  assert.match(done[1], /^info: PeerKD: beta\/data\.jsonl done\. /);
  for (const [index, dataset] of datasets.entries()) {
    const latest = await readLatestRun(dataset);
    assert.ok(latest);
    assert.equal(latest.settings.datasetPath, dataset);
    assert.equal(latest.predictions.length, 30 + index * 10, 'its own rows');
  }
  assert.equal(runs.activeRuns().length, 0);
  await rm(root, { recursive: true, force: true });
});

test('cancelled twice at once (the notification and Cancel Distillation), then once more after: one message, nothing left running or written', async () => {
  const sub = await tempFolder('cancel-twice');
  const dataset = await writeDataset(sub, 'data.jsonl', datasetLines(40));
  const { manager: runs, bar } = manager();
  // The "cancelled" message left unanswered: the run is over all the same.
  holdMessages = true;
  const running = runs.run(new FakeUri(dataset));
  for (let tries = 0; tries < 500 && !logged.some(({ line }) => /scripted engine/.test(line)); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  const [active] = runs.activeRuns();
  assert.ok(active, 'the run is going');
  await Promise.all([active.run.cancel(), active.run.cancel(), runs.cancelAll()]);
  await running;
  await active.run.cancel();
  assert.deepEqual(shown, ['info: PeerKD: distillation of data.jsonl cancelled.']);
  assert.equal(runs.activeRuns().length, 0);
  assert.equal(contexts.at(-1), false);
  assert.equal(bar.finished, 1);
  assert.deepEqual(await runFolders(sub), [], 'no run folder, no temp folder');
  await rm(sub, { recursive: true, force: true });
});

test('peerkd.training.memoryLimitMb below 256, or no whole number, runs with the default 3072 MB as before, but no longer silently: the log and the summary say so', async () => {
  assert.deepEqual(memoryLimitSetting(undefined), { limitMb: 3072 });
  assert.deepEqual(memoryLimitSetting(512), { limitMb: 512 });
  assert.deepEqual(memoryLimitSetting(100), { limitMb: 3072, ignored: "setting peerkd.training.memoryLimitMb 100 was ignored (below the least, 256): this run's worker may use 3072 MB" });
  assert.deepEqual(memoryLimitSetting(-5), { limitMb: 3072, ignored: "setting peerkd.training.memoryLimitMb -5 was ignored (below the least, 256): this run's worker may use 3072 MB" });
  assert.deepEqual(memoryLimitSetting('2048'), { limitMb: 3072, ignored: 'setting peerkd.training.memoryLimitMb "2048" was ignored (not a whole number of MB): this run\'s worker may use 3072 MB' });
  assert.equal(memoryLimitSetting(1000.5).limitMb, 3072);
  // A huge limit: V8 took 2^53-1 MB as a 47 MB heap, and died at start on 2^44; at most 1 TiB is taken.
  assert.deepEqual(memoryLimitSetting(1_048_576), { limitMb: 1_048_576 });
  assert.deepEqual(memoryLimitSetting(Number.MAX_SAFE_INTEGER), {
    limitMb: 3072,
    ignored: "setting peerkd.training.memoryLimitMb 9007199254740991 was ignored (above the most, 1048576): this run's worker may use 3072 MB",
  });

  const sub = await tempFolder('memory-setting');
  const dataset = await writeDataset(sub, 'data.jsonl', datasetLines(40));
  settingValues = { 'training.memoryLimitMb': 100 };
  const { manager: runs } = manager();
  await runs.run(new FakeUri(dataset));
  const note = "setting peerkd.training.memoryLimitMb 100 was ignored (below the least, 256): this run's worker may use 3072 MB";
  assert.equal(shown.length, 1, shown.join('\n'));
  assert.ok(shown[0].startsWith('info: PeerKD: data.jsonl done. ') && shown[0].endsWith(` Note: ${note}.`), shown[0]);
  assert.ok(logged.some(({ level, line }) => level === 'warn' && line === `[data.jsonl] ${note}`), JSON.stringify(logged, null, 1));
  await rm(sub, { recursive: true, force: true });
});

test('a failed run whose error is left unanswered is over: status bar, Cancel Distillation and the next run do not wait for the toast; Open Log still works', async () => {
  const sub = await tempFolder('run-failed-unanswered');
  // Every teacher label the same: the worker refuses the dataset, the run fails.
  const dataset = await writeDataset(sub, 'data.jsonl', Array.from({ length: 20 }, (_, index) => JSON.stringify({ id: `r${index}`, text: `row ${index}`, teacher_label: 'World' })));
  const { manager: runs, bar } = manager();
  holdMessages = true;
  const first = runs.run(new FakeUri(dataset));
  const failed = /^error: PeerKD: distillation of data\.jsonl failed: .*every label in the dataset is 'World'/;
  const error = await waitFor('the error message', () => unanswered.find(({ text }) => failed.test(text)));

  // The error toast is still up (sticky in VS Code): the run is over all the same.
  assert.equal(runs.activeRuns().length, 0, 'the failed run is no longer active');
  assert.equal(bar.finished, 1, 'the status bar no longer shows the run');
  assert.equal(contexts.at(-1), false, '"Cancel Distillation" leaves the palette');
  await first;

  // Run again, the toast still unanswered: a new run starts, no "already running" modal.
  const second = runs.run(new FakeUri(dataset));
  await waitFor('the second run to fail', () => unanswered.filter(({ text }) => failed.test(text)).length === 2);
  assert.ok(!shown.some((text) => /already running/.test(text)), shown.join('\n'));
  assert.equal(bar.started, 2);
  assert.equal(bar.finished, 2);
  await second;

  // Answered later, the first toast's button still opens the log.
  error.answer('Open Log');
  await waitFor('the log to show', () => logShown === 1);
  await rm(sub, { recursive: true, force: true });
});

test('a finished run whose summary is left unanswered is over; Open Label Review, clicked later, still opens the review', async () => {
  const sub = await tempFolder('run-summary-unanswered');
  const dataset = await writeDataset(sub, 'data.jsonl', datasetLines(40));
  const { manager: runs, bar } = manager();
  holdMessages = true;
  await runs.run(new FakeUri(dataset));
  const [summary] = unanswered;
  assert.match(summary?.text ?? '', /^info: PeerKD: data\.jsonl done\. /, shown.join('\n'));
  assert.equal(runs.activeRuns().length, 0);
  assert.equal(bar.finished, 1);
  assert.equal(contexts.at(-1), false);

  summary.answer('Open Label Review');
  const [[command, uri]] = await waitFor('the review to open', () => commands.length > 0 && commands);
  assert.equal(command, 'peerkd.openLabelReview');
  assert.equal(String(uri), String(new FakeUri(dataset)));
  await rm(sub, { recursive: true, force: true });
});
