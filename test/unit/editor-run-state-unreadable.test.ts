/**
 * A dataset whose latest run cannot be read (a corrupt predictions.jsonl or settings.json). RunState.ensureRun
 * (src/editor/runState.ts) logged a warning and went on as if there were no run: Label Review said "no completed run
 * yet" and Export Reviewed Dataset quietly exported without probabilities. Now the problem is shown once (a warning
 * naming the file and line, with Open Log), Label Review's empty state says the latest run could not be read, naming the
 * file, and the export says it is made without that run. Run against a stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveRunsDir } from '../../src/training/artifacts';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeEditorVscode, FakeUri } from '../support/fakeEditorVscode';
import { writeLatestPointer, writeRun } from '../support/runFolder';
import { tempFolder } from '../fixtures/training/build';
import { waitFor } from '../support/waitFor';

const fake = fakeEditorVscode();
const infos: string[] = [];
const commands = new Map<string, (argument?: unknown) => Promise<void>>();
let saveTo: FakeUri | undefined;
Object.assign(fake.module.commands, {
  registerCommand: (id: string, callback: (argument?: unknown) => Promise<void>) => {
    commands.set(id, callback);
    return { dispose() {} };
  },
});
Object.assign(fake.module.window, {
  showInformationMessage: async (text: string) => void infos.push(text),
  showSaveDialog: async () => saveTo,
  showQuickPick: async () => {
    throw new Error('no choice of labels is asked without a run');
  },
});
stubVscodeModule(fake.module);

/* eslint-disable @typescript-eslint/no-require-imports */
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');
const { LabelReviewPanel } = require('../../src/webview/labelReviewPanel') as typeof import('../../src/webview/labelReviewPanel');
const { registerExportReviewedDatasetCommand } = require('../../src/commands/exportReviewedDataset') as typeof import('../../src/commands/exportReviewedDataset');
/* eslint-enable @typescript-eslint/no-require-imports */

function recordingLog() {
  const lines: string[] = [];
  let shown = 0;
  return {
    lines,
    shown: () => shown,
    log: { info() {}, warn: (line: string) => void lines.push(line), error() {}, debug() {}, show: () => void (shown += 1) },
  };
}

const ROW = JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' });

test('a corrupt predictions.jsonl in the latest run: said once with its file and line and Open Log; Label Review and Export say it', async () => {
  const folder = await tempFolder('run-state-unreadable');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${ROW}\n`);
    const runsDir = resolveRunsDir(dataset);
    const runDir = await writeRun(runsDir, '20261201-000000-news-aaaaaa', dataset);
    await writeLatestPointer(runsDir, '20261201-000000-news-aaaaaa', dataset);
    const predictions = join(runDir, 'predictions.jsonl');
    await writeFile(predictions, `${await readFile(predictions, 'utf8')}{"id": "b", "line": 2,\n`);
    const uri = new FakeUri(dataset);
    fake.open(uri, ROW);
    const { log, lines, shown } = recordingLog();
    const runState = new RunState(log as never);

    fake.answers.push('Open Log');
    assert.equal(await runState.ensureRun(uri as never), undefined);
    assert.equal(fake.warnings.length, 1);
    assert.match(fake.warnings[0], new RegExp(`^PeerKD: the latest run of news\\.jsonl could not be read: ${predictions.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid JSON `));
    assert.deepEqual(fake.warningItems[0], ['Open Log']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(shown(), 1, 'Open Log shows the log');
    assert.match(lines.join('\n'), /Could not read the latest run of .*predictions\.jsonl:2: invalid JSON/);
    assert.equal(runState.runProblem(uri as never)?.file, predictions);
    assert.equal(runState.runProblem(uri as never)?.line, 2);

    // Looked up again (a pointer event, another command): logged, not said again.
    await runState.ensureRun(uri as never, true);
    assert.equal(fake.warnings.length, 1, 'the same problem is said once');

    // Label Review: not "no completed run yet", but why there is none to show.
    const services = { context: { extensionUri: new FakeUri('/extension') }, log };
    await LabelReviewPanel.createOrShow(services as never, runState, uri as never, undefined, 2 as never);
    const panel = fake.panels[fake.panels.length - 1];
    await panel.send({ type: 'ready', state: null });
    const empty = panel.posted.find((message) => message.type === 'empty');
    assert.ok(empty, 'the empty state');
    assert.match(String(empty.reason), /^The latest run of news\.jsonl could not be read: .*predictions\.jsonl:2: invalid JSON .*Fix or remove that file/);
    assert.equal(empty.canRun, true);
    LabelReviewPanel.current?.dispose();

    // Export Reviewed Dataset: the copy is made, and the message says it is without that run and why.
    registerExportReviewedDatasetCommand({ log } as never, runState);
    saveTo = new FakeUri(join(folder, 'news.reviewed.jsonl'));
    await commands.get('peerkd.exportReviewedDataset')!(uri);
    assert.equal(infos.length, 1);
    assert.match(infos[0], /^PeerKD: wrote 1 rows to news\.reviewed\.jsonl/);
    assert.match(infos[0], /The copy is made without the latest run, which could not be read: .*predictions\.jsonl:2: invalid JSON .*Rows without a human label keep their teacher label\.$/);

    // Fixed by a new run: the problem is gone.
    await writeFile(predictions, (await readFile(predictions, 'utf8')).split('\n')[0] + '\n');
    assert.equal((await runState.ensureRun(uri as never, true))?.runId, '20261201-000000-news-aaaaaa');
    assert.equal(runState.runProblem(uri as never), undefined);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a corrupt settings.json in the latest run is named too', async () => {
  const folder = await tempFolder('run-state-unreadable-settings');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${ROW}\n`);
    const runDir = await writeRun(resolveRunsDir(dataset), '20261201-000000-news-aaaaaa', dataset);
    await writeFile(join(runDir, 'settings.json'), '{"runId": ');
    fake.warnings.length = 0;
    const { log } = recordingLog();
    const runState = new RunState(log as never);
    // No pointer: the run folder is found by its settings, which cannot be read, so whose run it is cannot be told: it
    // may be the latest run, which is said as any unreadable latest run is, naming the file (it was passed over: "no run").
    assert.equal(await runState.ensureRun(new FakeUri(dataset) as never), undefined);
    assert.equal(fake.warnings.length, 1);
    assert.match(fake.warnings[0], /could not be read: .*settings\.json: invalid JSON .*; no latest pointer names a run of .*news\.jsonl there, so run 20261201-000000-news-aaaaaa may be its latest run: repair the file or remove the run folder /);
    assert.equal(runState.runProblem(new FakeUri(dataset) as never)?.file, join(runDir, 'settings.json'));
    // With the pointer, the run is the latest: its settings are said as they are.
    await writeLatestPointer(resolveRunsDir(dataset), '20261201-000000-news-aaaaaa', dataset);
    assert.equal(await runState.ensureRun(new FakeUri(dataset) as never, true), undefined);
    assert.equal(fake.warnings.length, 2);
    assert.match(fake.warnings[1], /could not be read: .*settings\.json: invalid JSON \([^)]*\)\. /);
    assert.equal(runState.runProblem(new FakeUri(dataset) as never)?.file, join(runDir, 'settings.json'));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('Label Review open on a dataset with no run yet: a run that lands unreadable changes its empty state to say so', async () => {
  const folder = await tempFolder('run-state-unreadable-panel');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${ROW}\n`);
    const uri = new FakeUri(dataset);
    fake.open(uri, ROW);
    const { log } = recordingLog();
    const runState = new RunState(log as never);
    const services = { context: { extensionUri: new FakeUri('/extension') }, log };
    await LabelReviewPanel.createOrShow(services as never, runState, uri as never, undefined, 2 as never);
    const panel = fake.panels[fake.panels.length - 1];
    await panel.send({ type: 'ready', state: null });
    const lastEmpty = () => String(panel.posted.filter((message) => message.type === 'empty').at(-1)?.reason);
    assert.match(lastEmpty(), /^news\.jsonl has no completed run yet\./);
    // A run from the CLI whose predictions.jsonl is cut short; its pointer event makes the editor look again.
    const runDir = await writeRun(resolveRunsDir(dataset), '20261201-000000-news-aaaaaa', dataset);
    await writeFile(join(runDir, 'predictions.jsonl'), '{"id": "a",\n');
    await writeLatestPointer(resolveRunsDir(dataset), '20261201-000000-news-aaaaaa', dataset);
    await runState.ensureRun(uri as never, true);
    // The panel's refresh (it awaits the look-up and the document) runs to its end: how many turns of the event loop
    // that takes depends on the disk and the load (20 turns were too few on a loaded machine).
    await waitFor('the empty state to change', () => lastEmpty().startsWith('The latest run of news.jsonl'));
    assert.match(lastEmpty(), /^The latest run of news\.jsonl could not be read: .*predictions\.jsonl:1: invalid JSON/);
    LabelReviewPanel.current?.dispose();
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
