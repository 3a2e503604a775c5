/**
 * A dataset renamed or moved in VS Code's Explorer lost its runs and review log (both keyed by its path): Label Review,
 * the hover and the diagnostics said it had no run, and its next run counted the labels decided in review as the
 * random sample. The editor now carries that history on workspace.onDidRenameFiles (src/editor/datasetMoves.ts, over
 * src/training/datasetMove.ts), logs it, warns where it could not, and loads the run under the new path. Run against a
 * stand-in for `vscode` whose rename event is fired as the Explorer fires it (after the move on disk). A dataset moved
 * outside the editor is said in Label Review's empty state, with the `peerkd move` that carries its history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { knownRunsDirs, resolveRunsDir } from '../../src/training/artifacts';
import { appendReviewLog, readReviewLogs, reviewLogFile } from '../../src/review/reviewLog';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeEditorVscode, FakeUri } from '../support/fakeEditorVscode';
import { writeLatestPointer, writeRun } from '../support/runFolder';
import { tempFolder } from '../fixtures/training/build';
import { captureIo } from '../support/captureIo';
import { createMoveCommand } from '../../src/cli/move';

const fake = fakeEditorVscode();
stubVscodeModule(fake.module);

/* eslint-disable @typescript-eslint/no-require-imports */
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');
const { DatasetMoves } = require('../../src/editor/datasetMoves') as typeof import('../../src/editor/datasetMoves');
const { LabelReviewPanel } = require('../../src/webview/labelReviewPanel') as typeof import('../../src/webview/labelReviewPanel');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The PeerKD log channel, recording its lines. */
function recordingLog() {
  const lines: string[] = [];
  return { lines, info: (line: string) => lines.push(`info ${line}`), warn: (line: string) => lines.push(`warn ${line}`), error: (line: string) => lines.push(`error ${line}`), debug() {}, show() {} };
}

async function withHistory(dataset: string, runId: string): Promise<void> {
  await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
  await writeRun(resolveRunsDir(dataset), runId, dataset);
  await writeLatestPointer(resolveRunsDir(dataset), runId, dataset);
  await appendReviewLog(reviewLogFile(resolveRunsDir(dataset), dataset), [{ key: 'a', label: 'Sports', queue: 'flagged', run: runId, action: 'decide', time: '2026-12-07T08:00:00.000Z' }]);
}

async function logOf(dataset: string) {
  return readReviewLogs((await knownRunsDirs(dataset)).map((dir) => reviewLogFile(dir, dataset)));
}

test('a dataset renamed in the Explorer keeps its run and review log; Label Review is told; a file that is no dataset is left alone', async () => {
  const folder = await tempFolder('editor-moves');
  const log = recordingLog();
  const runState = new RunState(log as never);
  const moved: string[] = [];
  const moves = new DatasetMoves(runState, (from, to) => moved.push(`${from.fsPath} -> ${to.fsPath}`));
  try {
    const before = join(folder, 'train.jsonl');
    const after = join(folder, 'train-v2.jsonl');
    await withHistory(before, '20261201-000000-train-aaaaaa');
    assert.equal((await runState.ensureRun(FakeUri.file(before) as never))?.runId, '20261201-000000-train-aaaaaa');
    await rename(before, after);
    await writeFile(join(folder, 'notes.md'), 'x');
    await rename(join(folder, 'notes.md'), join(folder, 'notes-2.md'));
    fake.events.rename.fire({
      files: [
        { oldUri: FakeUri.file(before), newUri: FakeUri.file(after) },
        { oldUri: FakeUri.file(join(folder, 'notes.md')), newUri: FakeUri.file(join(folder, 'notes-2.md')) },
      ],
    });
    await moves.carry([]);
    assert.equal(runState.getRun(FakeUri.file(after) as never)?.runId, '20261201-000000-train-aaaaaa', 'the run is loaded under the new path');
    assert.deepEqual(moved, [`${before} -> ${after}`]);
    assert.deepEqual(Object.fromEntries((await logOf(after))!.latest), { a: 'Sports' });
    assert.equal(log.lines.filter((line) => line.startsWith('warn')).length, 0, log.lines.join('\n'));
    assert.ok(log.lines.some((line) => line.startsWith(`info history of ${before} carried to ${after} in ${resolveRunsDir(after)}: latest run 20261201-000000-train-aaaaaa, review log `)), log.lines.join('\n'));
    assert.deepEqual(fake.warnings, []);
  } finally {
    moves.dispose();
    runState.dispose();
    await rm(folder, { recursive: true, force: true });
  }
});

test('a folder renamed in the Explorer carries each dataset inside; history the new path has is kept and said with Open Log', async () => {
  const folder = await tempFolder('editor-moves-folder');
  const log = recordingLog();
  const runState = new RunState(log as never);
  const moves = new DatasetMoves(runState);
  try {
    await mkdir(join(folder, 'data', 'sub'), { recursive: true });
    await withHistory(join(folder, 'data', 'sub', 'a.jsonl'), '20261201-000000-a-aaaaaa');
    await withHistory(join(folder, 'data', 'b.ndjson'), '20261201-000000-b-bbbbbb');
    await rename(join(folder, 'data'), join(folder, 'data-2'));
    fake.events.rename.fire({ files: [{ oldUri: FakeUri.file(join(folder, 'data')), newUri: FakeUri.file(join(folder, 'data-2')) }] });
    await moves.carry([]);
    assert.equal((await runState.ensureRun(FakeUri.file(join(folder, 'data-2', 'sub', 'a.jsonl')) as never))?.runId, '20261201-000000-a-aaaaaa');
    assert.equal((await runState.ensureRun(FakeUri.file(join(folder, 'data-2', 'b.ndjson')) as never))?.runId, '20261201-000000-b-bbbbbb');

    // x.jsonl renamed onto a name whose history is there already: that is kept, the old one stays, and it is said.
    const x = join(folder, 'data-2', 'x.jsonl');
    const y = join(folder, 'data-2', 'y.jsonl');
    await withHistory(x, '20261202-000000-x-cccccc');
    await withHistory(y, '20261203-000000-y-dddddd');
    await appendReviewLog(reviewLogFile(resolveRunsDir(y), y), [{ key: 'a', label: 'World', queue: 'flagged', run: 'r', action: 'decide', time: '2026-12-09T08:00:00.000Z' }]);
    await rm(y);
    await rename(x, y);
    fake.answers.push('Open Log');
    fake.events.rename.fire({ files: [{ oldUri: FakeUri.file(x), newUri: FakeUri.file(y) }] });
    await moves.carry([]);
    assert.equal((await runState.ensureRun(FakeUri.file(y) as never, true))?.runId, '20261203-000000-y-dddddd', 'its own run is never replaced');
    assert.match(log.lines.join('\n'), /warn .*y\.jsonl already has history there, never replaced: its own latest run here, 20261203-000000-y-dddddd, is kept/);
    assert.match(fake.warnings.at(-1) ?? '', /^PeerKD: the history of a renamed dataset was not carried in full \(1 warning in the log\)\.$/);
    // y's history was of the file deleted before: the log gives the command that replaces it, and it does.
    const command = `peerkd move --replace-history ${x} ${y}`;
    assert.ok(log.lines.join('\n').includes(`If that history is of an earlier file at ${y} (deleted since), not of this dataset: ${command} makes`), log.lines.join('\n'));
    const io = captureIo();
    assert.equal(await createMoveCommand(io).run(command.split(' ').slice(2)), 0, io.err());
    assert.equal((await runState.ensureRun(FakeUri.file(y) as never, true))?.runId, '20261202-000000-x-cccccc');
  } finally {
    moves.dispose();
    runState.dispose();
    await rm(folder, { recursive: true, force: true });
  }
});

test('a dataset moved outside the editor: Label Review\'s empty state names the missing dataset\'s history and the peerkd move that carries it', async () => {
  const folder = await tempFolder('editor-moves-terminal');
  const log = recordingLog();
  const runState = new RunState(log as never);
  try {
    const before = join(folder, 'train.jsonl');
    const after = join(folder, 'train-v2.jsonl');
    await withHistory(before, '20261201-000000-train-aaaaaa');
    await rename(before, after);
    const uri = FakeUri.file(after);
    fake.open(uri, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    const services = { context: { extensionUri: FakeUri.file('/extension') }, log };
    await LabelReviewPanel.createOrShow(services as never, runState, uri as never, undefined, 2 as never);
    const panel = fake.panels[fake.panels.length - 1];
    await panel.send({ type: 'ready', state: null });
    const empties = () => panel.posted.filter((message) => message.type === 'empty').map((message) => String(message.reason));
    assert.match(empties()[0], /^train-v2\.jsonl has no completed run yet\. Run "PeerKD: Run Peer-Advised Distillation" on it first\.$/, 'said at once');
    // Then again with the history found in its runs folder (file system calls, beyond the fake's own turns).
    for (let turn = 0; turn < 400 && empties().length < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = empties()[1];
    assert.ok(reason.startsWith(`train-v2.jsonl has no completed run yet. ${after} has no runs nor review log, but its runs folder holds the history of ${before} (now missing; latest run 20261201-000000-train-aaaaaa`), reason);
    assert.ok(reason.endsWith(`peerkd move ${JSON.stringify(before)} ${JSON.stringify(after)} (in a terminal). Else run "PeerKD: Run Peer-Advised Distillation" on it.`), reason);
    LabelReviewPanel.current?.dispose();
  } finally {
    runState.dispose();
    await rm(folder, { recursive: true, force: true });
  }
});
