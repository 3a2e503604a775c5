/**
 * Runs finished outside the window (src/editor/runPointerWatcher.ts). The editor watched only
 * `**\/.peerkd/runs/latest-by-dataset/*`: a run written to another runs folder (peerkd.training.outputDir, or
 * `peerkd distill --out DIR` in a terminal) was not seen until the dataset was opened again or the window reloaded,
 * though the editor finds runs in every runs folder the dataset used. Now the latest pointers of any runs folder in the
 * workspace, each runs folder of the dataset outside it (its own watcher: a glob sees the workspace folders only) and
 * the runs-folders list beside the dataset are watched, and an event reloads only the dataset it belongs to.
 * Run against a stand-in for `vscode` whose watchers are told what VS Code would tell them.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  datasetKey,
  datasetsOfRunFile,
  foldersOutside,
  LATEST_BY_DATASET_DIR,
  MAX_WATCHED_FOLDERS_OUTSIDE,
  readKnownRunsDirs,
  recordRunsDir,
  resolveRunsDir,
  runsFoldersFile,
  watchedFoldersOutside,
} from '../../src/training/artifacts';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeEditorVscode, FakeRelativePattern, FakeUri } from '../support/fakeEditorVscode';
import { writeLatestPointer, writeRun } from '../support/runFolder';
import { tempFolder } from '../fixtures/training/build';

const fake = fakeEditorVscode();
stubVscodeModule(fake.module);

/* eslint-disable @typescript-eslint/no-require-imports */
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');
const { RunPointerWatcher } = require('../../src/editor/runPointerWatcher') as typeof import('../../src/editor/runPointerWatcher');
/* eslint-enable @typescript-eslint/no-require-imports */

const silentLog = { info() {}, warn() {}, error() {}, debug() {} };

test('a file event belongs to the dataset whose latest pointer (in any runs folder) or runs-folders list it is, and to no other', () => {
  const news = '/work/ws/news.jsonl';
  const other = '/work/ws/sub/news.jsonl';
  const pointer = (runsDir: string, dataset: string) => join(runsDir, LATEST_BY_DATASET_DIR, datasetKey(dataset));
  assert.deepEqual(datasetsOfRunFile(pointer('/work/ws/.peerkd/runs', news), [news, other]), [news]);
  // Another runs folder, in the workspace or far outside it: still this dataset's pointer (its key names it).
  assert.deepEqual(datasetsOfRunFile(pointer('/work/ws/custom-runs', news), [news, other]), [news]);
  assert.deepEqual(datasetsOfRunFile(pointer('/elsewhere/runs', other), [news, other]), [other]);
  assert.deepEqual(datasetsOfRunFile(runsFoldersFile(news), [news, other]), [news]);
  // Not the dataset's: the runs folder's `latest`, the pointer's temporary file, a file named like a key elsewhere,
  // another dataset's list, a pointer of no dataset asked about.
  for (const file of [
    '/work/ws/custom-runs/latest',
    join('/work/ws/custom-runs', LATEST_BY_DATASET_DIR, `.${datasetKey(news)}.123.abcdef.tmp`),
    join('/work/ws/custom-runs', datasetKey(news)),
    join('/work/ws/other-folder/.peerkd/runs-folders', datasetKey(news)),
    runsFoldersFile(other),
  ]) {
    assert.deepEqual(datasetsOfRunFile(file, [news]), [], file);
  }
  assert.deepEqual(
    foldersOutside(['/work/ws/.peerkd/runs/latest-by-dataset', '/work/ws2/x', '/work/wsx/runs', '/elsewhere/runs/', '/work/ws/../..runs', '/elsewhere/runs'], ['/work/ws', '/work/ws2']),
    ['/work/wsx/runs', '/elsewhere/runs', '/work/..runs'],
  );
});

test('a run written to a runs folder other than .peerkd/runs, in the workspace or outside it, is loaded as it lands; another dataset\'s is not', async () => {
  const folder = await tempFolder('run-pointer-watcher');
  const runState = new RunState(silentLog as never);
  // The look-ups the watcher asks for, to await them (and count them).
  const asked: { dataset: string; done: Promise<unknown> }[] = [];
  const ensureRun = runState.ensureRun.bind(runState);
  runState.ensureRun = (uri, force) => {
    const done = ensureRun(uri, force);
    asked.push({ dataset: uri.fsPath, done });
    return done;
  };
  const settle = async () => {
    await Promise.all(asked.map((entry) => entry.done));
    await watcher.refresh();
  };
  const workspace = join(folder, 'ws');
  const dataset = join(workspace, 'news.jsonl');
  const uri = new FakeUri(dataset);
  await mkdir(workspace);
  await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
  fake.workspaceFolders.push({ name: 'ws', uri: new FakeUri(workspace) });
  fake.open(uri, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}`);
  const watcher = new RunPointerWatcher(runState);
  try {
    await settle();
    assert.equal(await runState.ensureRun(uri as never), undefined, 'no run yet');

    // peerkd.training.outputDir = custom-runs (in the workspace): the run's pointer is seen.
    fake.configure({ 'training.outputDir': 'custom-runs' });
    const customRuns = join(workspace, 'custom-runs');
    await writeRun(customRuns, '20261201-000000-news-aaaaaa', dataset);
    asked.length = 0;
    fake.fileEvent(await writeLatestPointer(customRuns, '20261201-000000-news-aaaaaa', dataset));
    await settle();
    assert.deepEqual(asked.map((entry) => entry.dataset), [dataset]);
    assert.equal(runState.getRun(uri as never)?.runId, '20261201-000000-news-aaaaaa');

    // An absolute outputDir outside the workspace: watched there with a pattern of its own.
    const outside = join(folder, 'elsewhere', 'runs');
    fake.configure({ 'training.outputDir': outside });
    await settle();
    assert.ok(
      fake.watchedPatterns().some((pattern) => pattern instanceof FakeRelativePattern && pattern.baseUri.fsPath === join(outside, LATEST_BY_DATASET_DIR)),
      'the runs folder outside the workspace has its own watcher',
    );
    await writeRun(outside, '20261202-000000-news-bbbbbb', dataset);
    fake.fileEvent(await writeLatestPointer(outside, '20261202-000000-news-bbbbbb', dataset));
    await settle();
    assert.equal(runState.getRun(uri as never)?.runId, '20261202-000000-news-bbbbbb');

    // `peerkd distill --out DIR` in a terminal, the setting unchanged: the pointer lands where nothing watches yet,
    // then the run lists DIR beside the dataset: that list's event loads the run and DIR is watched from then on.
    const terminalRuns = join(folder, 'terminal-runs');
    await writeRun(terminalRuns, '20261203-000000-news-cccccc', dataset);
    fake.fileEvent(await writeLatestPointer(terminalRuns, '20261203-000000-news-cccccc', dataset));
    await recordRunsDir(dataset, outside);
    await recordRunsDir(dataset, terminalRuns);
    fake.fileEvent(runsFoldersFile(dataset), 'change');
    await settle();
    assert.equal(runState.getRun(uri as never)?.runId, '20261203-000000-news-cccccc');
    await writeRun(terminalRuns, '20261204-000000-news-dddddd', dataset);
    fake.fileEvent(await writeLatestPointer(terminalRuns, '20261204-000000-news-dddddd', dataset), 'change');
    await settle();
    assert.equal(runState.getRun(uri as never)?.runId, '20261204-000000-news-dddddd');

    // A run of another dataset into the same runs folders: no look-up of this one.
    asked.length = 0;
    const elsewhereData = join(folder, 'other', 'news.jsonl');
    fake.fileEvent(await writeLatestPointer(terminalRuns, '20261205-000000-news-eeeeee', elsewhereData));
    fake.fileEvent(await writeLatestPointer(resolveRunsDir(dataset), '20261205-000000-news-eeeeee', elsewhereData));
    await settle();
    assert.deepEqual(asked, []);
  } finally {
    watcher.dispose();
    delete fake.configuration['training.outputDir'];
    await rm(folder, { recursive: true, force: true });
  }
});

test('a look-up answered after a later one (a run landing while the run before is still read) does not bring the older run back', async () => {
  const folder = await tempFolder('run-state-order');
  const dataset = join(folder, 'news.jsonl');
  await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
  const runs = resolveRunsDir(dataset);
  const older = '20261201-000000-news-aaaaaa';
  const newer = '20261202-000000-news-bbbbbb';
  await writeRun(runs, older, dataset);
  await writeLatestPointer(runs, older, dataset);
  const runState = new RunState(silentLog as never);
  const uri = new FakeUri(dataset) as never;
  // The older run's settings.json is read slowly: the look-up begun first is answered last.
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached = () => {};
  const readingOlder = new Promise<void>((resolve) => (reached = resolve));
  const readFile = fsp.readFile;
  const slow = mock.method(fsp, 'readFile', async (...args: Parameters<typeof fsp.readFile>) => {
    if (String(args[0]) === join(runs, older, 'settings.json')) {
      reached();
      await gate;
    }
    return readFile(...args);
  });
  try {
    const first = runState.ensureRun(uri, true);
    await readingOlder;
    // Meanwhile the next run lands (a terminal's peerkd distill) and its pointer event asks again.
    await writeRun(runs, newer, dataset);
    await writeLatestPointer(runs, newer, dataset);
    assert.equal((await runState.ensureRun(uri, true))?.runId, newer);
    release();
    await first;
    assert.equal(runState.getRun(uri)?.runId, newer);
  } finally {
    release();
    slow.mock.restore();
    await rm(folder, { recursive: true, force: true });
  }
});

test('a runs-folders list of thousands of folders: the look-up skips those gone, and the editor watches at most 32 outside the workspace, newest used first, saying so in the log', async () => {
  const folder = await tempFolder('run-pointer-watcher-many');
  const workspace = join(folder, 'ws');
  const dataset = join(workspace, 'news.jsonl');
  const text = `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`;
  await mkdir(workspace, { recursive: true });
  await writeFile(dataset, text);
  // 40 runs folders that are there (used in this order) and 2,000 that are gone, listed in between.
  const there = Array.from({ length: 40 }, (_, index) => join(folder, 'elsewhere', `runs-${index}`));
  const gone = Array.from({ length: 2000 }, (_, index) => join(folder, 'gone', `runs-${index}`));
  for (const dir of there) await mkdir(dir, { recursive: true });
  const list = runsFoldersFile(dataset);
  await mkdir(join(list, '..'), { recursive: true });
  await writeFile(list, [...there.slice(0, 20), ...gone, ...there.slice(20)].map((dir) => `${dir}\n`).join(''));

  const known = await readKnownRunsDirs(dataset);
  assert.deepEqual(known.dirs, [resolveRunsDir(dataset), ...there], 'the default folder, then the listed ones there now, in their order');
  assert.deepEqual(known.problems, []);

  const picked = watchedFoldersOutside(['/x/a', '/ws/in', '/x/b', '/x/a', '/x/c'], ['/ws'], 2);
  assert.deepEqual(picked, { watched: ['/x/a', '/x/b'], notWatched: ['/x/c'] });

  const warnings: string[] = [];
  const runState = new RunState(silentLog as never);
  fake.workspaceFolders.push({ name: 'ws-many', uri: new FakeUri(workspace) });
  const document = fake.open(new FakeUri(dataset), text);
  const watcher = new RunPointerWatcher(runState, { warn: (message) => warnings.push(message) });
  try {
    await watcher.refresh();
    const outside = fake
      .watchedPatterns()
      .filter((pattern): pattern is FakeRelativePattern => pattern instanceof FakeRelativePattern)
      .map((pattern) => pattern.baseUri.fsPath)
      .filter((watched) => watched.startsWith(folder));
    assert.equal(outside.length, MAX_WATCHED_FOLDERS_OUTSIDE);
    assert.deepEqual(
      outside,
      there
        .slice()
        .reverse()
        .slice(0, MAX_WATCHED_FOLDERS_OUTSIDE)
        .map((dir) => join(dir, LATEST_BY_DATASET_DIR)),
      'the newest used first',
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^8 runs folders outside the workspace not watched \(at most 32 are, newest used first; e\.g\. .*runs-7.latest-by-dataset\)/);
    await watcher.refresh();
    assert.equal(warnings.length, 1, 'said once, not at each refresh');
  } finally {
    watcher.dispose();
    fake.close(document);
    fake.workspaceFolders.splice(fake.workspaceFolders.findIndex((entry) => entry.name === 'ws-many'), 1);
    await rm(folder, { recursive: true, force: true });
  }
});

test('the look-up keeps a listed link to a folder, and skips a listed file, a link to nothing and a folder under a file', async () => {
  const folder = await tempFolder('runs-folders-kinds');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, '');
    const real = join(folder, 'real-runs');
    await mkdir(real);
    await symlink(real, join(folder, 'linked-runs'));
    await symlink(join(folder, 'nowhere'), join(folder, 'dangling-runs'));
    await writeFile(join(folder, 'a-file'), '');
    const listed = ['linked-runs', 'a-file', 'dangling-runs', 'a-file/runs', 'real-runs'].map((name) => join(folder, name));
    await mkdir(join(runsFoldersFile(dataset), '..'), { recursive: true });
    await writeFile(runsFoldersFile(dataset), listed.join('\n'));
    assert.deepEqual((await readKnownRunsDirs(dataset)).dirs, [resolveRunsDir(dataset), join(folder, 'linked-runs'), real]);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
