/**
 * The latest run of a dataset, found in every runs folder it used (artifacts.ts latestKnownRun): a run records its runs
 * folder beside the dataset when it is not the default one, and the worker reads the previous run from all of them.
 * The editor (src/editor/runState.ts: Label Review, hover, diagnostics, Export Reviewed Dataset) looked only in the
 * runs folder peerkd.training.outputDir names now, so after the setting changed (or a run with `peerkd distill --out`)
 * Label Review said the dataset had no completed run. `peerkd export` without --runs looked only in the default one.
 * One function now serves the editor, the export and the worker. Run against a stand-in for `vscode`.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsPromises } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { latestKnownRun, MAX_RUNS_FOLDERS_BYTES, RunWriter, readKnownRunsDirs, recordRunsDir, resolveRunsDir, runsFoldersFile } from '../../src/training/artifacts';
import { readPreviousRun } from '../../src/training/reviewedRows';
import { createExportCommand } from '../../src/cli/export';
import { captureIo } from '../support/captureIo';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeEditorVscode, FakeUri } from '../support/fakeEditorVscode';
import { tempFolder } from '../fixtures/training/build';
import { writeLatestPointer, writeRun } from '../support/runFolder';

const fake = fakeEditorVscode();
stubVscodeModule(fake.module);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');

const silentLog = { info() {}, warn() {}, error() {}, debug() {} };

test('peerkd.training.outputDir changed after a run: the editor still finds that run, and the newest of all runs folders wins', async () => {
  const folder = await tempFolder('run-state-runs-folders');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    // The run was made with peerkd.training.outputDir = 'old-runs', which it recorded beside the dataset.
    const oldRuns = join(folder, 'old-runs');
    const oldRun = await writeRun(oldRuns, '20261201-000000-news-aaaaaa', dataset);
    await recordRunsDir(dataset, oldRuns);
    fake.configuration['training.outputDir'] = 'runs-now';
    const uri = new FakeUri(dataset);
    const found = await new RunState(silentLog as never).ensureRun(uri as never);
    assert.equal(found?.runDir, oldRun, 'Label Review finds the run in the runs folder used before');
    assert.deepEqual(await latestKnownRun(dataset, 'runs-now'), { runId: '20261201-000000-news-aaaaaa', runsDir: oldRuns, runDir: oldRun });
    // The worker's previous run is the same one.
    assert.equal((await readPreviousRun(dataset, 'runs-now'))?.runId, '20261201-000000-news-aaaaaa');
    // A newer run in the default runs folder: the newest by run id, wherever it is, for the editor as for the worker.
    const newer = await writeRun(resolveRunsDir(dataset), '20261202-000000-news-bbbbbb', dataset);
    assert.equal((await new RunState(silentLog as never).ensureRun(uri as never))?.runDir, newer);
    assert.equal((await readPreviousRun(dataset, 'runs-now'))?.runId, '20261202-000000-news-bbbbbb');
  } finally {
    delete fake.configuration['training.outputDir'];
    await rm(folder, { recursive: true, force: true });
  }
});

test('a run reads the runs-folders list once: readPreviousRun takes the folders the worker read for the review logs', async () => {
  const folder = await tempFolder('previous-run-known-folders');
  const reads = mock.method(fsPromises, 'readFile');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    const oldRuns = join(folder, 'old-runs');
    await writeRun(oldRuns, '20261201-000000-news-aaaaaa', dataset);
    await recordRunsDir(dataset, oldRuns);
    // What the worker read for the review logs.
    const known = await readKnownRunsDirs(dataset, 'runs-now');
    reads.mock.resetCalls();
    assert.equal((await readPreviousRun(dataset, { runsDirs: known.dirs }))?.runId, '20261201-000000-news-aaaaaa');
    const listReads = reads.mock.calls.filter((call) => call.arguments[0] === runsFoldersFile(dataset));
    assert.equal(listReads.length, 0, 'the list is not read again');
    // Those folders only: one listed since (another run meanwhile) is not looked in, as its review log was not read.
    const lateRuns = join(folder, 'late-runs');
    await writeRun(lateRuns, '20261203-000000-news-cccccc', dataset);
    await recordRunsDir(dataset, lateRuns);
    assert.equal((await readPreviousRun(dataset, { runsDirs: known.dirs }))?.runId, '20261201-000000-news-aaaaaa');
    // readPreviousRun(dataset, outputDir) still reads the list itself (and the count above sees such a read).
    reads.mock.resetCalls();
    assert.equal((await readPreviousRun(dataset, 'runs-now'))?.runId, '20261203-000000-news-cccccc');
    assert.equal(reads.mock.calls.filter((call) => call.arguments[0] === runsFoldersFile(dataset)).length, 1);
  } finally {
    reads.mock.restore();
    await rm(folder, { recursive: true, force: true });
  }
});

test('peerkd export without --runs takes the run made with distill --out, as the editor does; with --runs, that folder alone', async () => {
  const folder = await tempFolder('export-runs-folders');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    const outRuns = join(folder, 'out-runs');
    const runDir = await writeRun(outRuns, '20261201-000000-news-aaaaaa', dataset);
    await recordRunsDir(dataset, outRuns);
    const io = captureIo();
    assert.equal(await createExportCommand(io).run([dataset, '--advice-min-p', '0.5']), 0, io.err());
    assert.match(io.out(), new RegExp(`Latest run of .*: 20261201-000000-news-aaaaaa \\(${runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    const copy = JSON.parse((await readFile(join(folder, 'news.reviewed.jsonl'), 'utf8')).trim()) as { final_label: string };
    assert.equal(copy.final_label, 'Sports', 'the run advises Sports at p = 0.9');
    // The copy never goes into the runs folder of the run it is from, though that is not the default one.
    const inside = captureIo();
    assert.equal(await createExportCommand(inside).run([dataset, '--teacher-labels', '--out', join(outRuns, 'copy.jsonl')]), 1);
    assert.equal(inside.err(), `peerkd export: ${join(outRuns, 'copy.jsonl')}: inside the runs folder ${outRuns} (its run artefacts); choose an output file elsewhere\n`);
    // --runs names one folder: the default one holds no run, so there is no advice to export.
    const other = captureIo();
    await mkdir(join(folder, 'empty-runs'));
    assert.equal(await createExportCommand(other).run([dataset, '--advice-min-p', '0.5', '--force', '--runs', join(folder, 'empty-runs')]), 1);
    assert.match(other.err(), /no run of this dataset in /);
    // --runs naming the run folder, or its latest pointer, rather than the runs folder: said so, with the folder to give.
    for (const [runs, says] of [
      [runDir, 'the folder of one run, not a runs folder'],
      [join(outRuns, 'latest'), 'a file, not a folder'],
      [join(outRuns, 'latest-by-dataset'), "the runs folder's latest-by-dataset folder, not a runs folder"],
    ]) {
      if (runs.endsWith('latest')) await writeFile(runs, '20261201-000000-news-aaaaaa\n');
      await mkdir(join(outRuns, 'latest-by-dataset'), { recursive: true });
      const wrong = captureIo();
      assert.equal(await createExportCommand(wrong).run([dataset, '--teacher-labels', '--force', '--runs', runs]), 1);
      assert.ok(wrong.err().startsWith(`peerkd export: --runs ${runs}: ${says};`), wrong.err());
      assert.ok(wrong.err().endsWith(`: give --runs ${relative(process.cwd(), outRuns)}\n`), wrong.err());
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a runs-folders list edited by hand: lines that are no absolute path are named with their line; a link, a folder or a huge file is neither read nor written through', async () => {
  const folder = await tempFolder('runs-folders-hostile');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    const list = runsFoldersFile(dataset);
    await mkdir(dirname(list), { recursive: true });
    // Runs folders that are there (a listed folder gone is skipped: readKnownRunsDirs).
    await mkdir(join(folder, 'kept'));
    await mkdir(join(folder, 'other'));
    await writeFile(list, `garbage\u0000\n relative/runs \n\n${join(folder, 'kept')}\n`);
    const read = await readKnownRunsDirs(dataset);
    assert.deepEqual(read.dirs, [resolveRunsDir(dataset), join(folder, 'kept')]);
    assert.deepEqual(read.problems, [
      `${list}:1: "garbage\\u0000" is no absolute path of a runs folder; the line is passed over`,
      `${list}:2: "relative/runs" is no absolute path of a runs folder; the line is passed over`,
    ]);
    // Saved by an editor with a byte order mark and CRLF line ends: the same folders, and nothing added twice.
    await writeFile(list, `\uFEFF${join(folder, 'kept')}\r\n${join(folder, 'other')}\r\n`);
    assert.deepEqual(await readKnownRunsDirs(dataset), { dirs: [resolveRunsDir(dataset), join(folder, 'kept'), join(folder, 'other')], problems: [] });
    await recordRunsDir(dataset, join(folder, 'other'));
    assert.equal(await readFile(list, 'utf8'), `\uFEFF${join(folder, 'kept')}\r\n${join(folder, 'other')}\r\n`);
    // A link to a file of the user's (a cloned repository can ship one): never appended to, never read.
    await rm(list);
    const victim = join(folder, 'victim.txt');
    await writeFile(victim, `${join(folder, 'from-victim')}\n`);
    await symlink(victim, list);
    await assert.rejects(recordRunsDir(dataset, join(folder, 'runs-b')), (error: Error) => error.message.startsWith(`${list}: a symbolic link`));
    assert.equal(await readFile(victim, 'utf8'), `${join(folder, 'from-victim')}\n`, 'the linked file is unchanged');
    const linked = await readKnownRunsDirs(dataset, 'runs-now');
    assert.deepEqual(linked.dirs, [join(folder, 'runs-now'), resolveRunsDir(dataset)]);
    assert.deepEqual(linked.problems, [`${list}: a symbolic link (PeerKD reads and writes this list only as a plain file in the data's folder: a cloned repository could point it anywhere); it is not read, so runs are looked for in ${join(folder, 'runs-now')} and ${resolveRunsDir(dataset)} only`]);
    // A folder in its place.
    await rm(list);
    await mkdir(list);
    assert.match((await readKnownRunsDirs(dataset)).problems.join('\n'), /: not a plain file; it is not read/);
    await assert.rejects(recordRunsDir(dataset, join(folder, 'runs-b')), /not a plain file/);
    await rm(list, { recursive: true });
    // A file larger than any list (a huge file, or one growing without end): not read whole, not appended to.
    await writeFile(list, Buffer.alloc(MAX_RUNS_FOLDERS_BYTES + 1, 0x61));
    assert.match((await readKnownRunsDirs(dataset)).problems.join('\n'), new RegExp(`: ${MAX_RUNS_FOLDERS_BYTES + 1} bytes, more than a list of runs folders holds`));
    await assert.rejects(recordRunsDir(dataset, join(folder, 'runs-b')), /more than a list of runs folders holds/);
    assert.equal((await stat(list)).size, MAX_RUNS_FOLDERS_BYTES + 1);
    // The CLI export says what was passed over, and still exports.
    await rm(list);
    await writeFile(list, 'relative/runs\n');
    const io = captureIo();
    assert.equal(await createExportCommand(io).run([dataset, '--teacher-labels']), 0, io.err());
    assert.equal(io.err(), `warning: ${list}:1: "relative/runs" is no absolute path of a runs folder; the line is passed over\n`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('peerkd export while a distill of the dataset is running: said so, rather than "run peerkd distill first" or a silent copy from the run before', async () => {
  const folder = await tempFolder('export-run-in-progress');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    // A run being written, by a live process on this machine (this one).
    const temp = (await RunWriter.create(resolveRunsDir(dataset), '20261203-000000-news-cccccc', dataset)).tempDir;
    // Another dataset's run in progress in the same folder is not this one's.
    const otherTemp = join(resolveRunsDir(dataset), '.tmp-20261203-000000-other-dddddd');
    await mkdir(otherTemp);
    await writeFile(join(otherTemp, '.owner.json'), `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
    // A run of another dataset of the same name (another folder, the same runs folder): not this one's.
    const twinTemp = join(resolveRunsDir(dataset), '.tmp-20261203-000001-news-eeeeee');
    await mkdir(twinTemp);
    await writeFile(join(twinTemp, '.owner.json'), `${JSON.stringify({ pid: process.pid, host: hostname(), dataset: join(folder, 'elsewhere', 'news.jsonl') })}\n`);
    const none = captureIo();
    assert.equal(await createExportCommand(none).run([dataset, '--advice-min-p', '0.5']), 1);
    assert.equal(none.err(), `peerkd export: ${dataset}: no complete run of this dataset yet: a run is in progress (${temp}); export again once peerkd distill has finished, or export with --teacher-labels\n`);
    await writeRun(resolveRunsDir(dataset), '20261201-000000-news-aaaaaa', dataset);
    const before = captureIo();
    assert.equal(await createExportCommand(before).run([dataset, '--advice-min-p', '0.5']), 0, before.err());
    assert.equal(before.err(), `warning: a run of ${dataset} is in progress (${temp}): this copy is from the run before it, 20261201-000000-news-aaaaaa; export again once it has finished for its labels\n`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("a run carried to a dataset the editor knew no run of is found by Open Label Review and Export (currentRun), with no watcher event", async () => {
  const folder = await tempFolder('run-state-current-run');
  try {
    const dataset = join(folder, 'renamed.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
    const uri = new FakeUri(dataset);
    const state = new RunState(silentLog as never);
    assert.equal(await state.ensureRun(uri as never), undefined, 'no run yet');
    // `peerkd move` in a terminal (or a run of the CLI) writes the run and its pointer; no watcher tells the editor.
    const run = await writeRun(resolveRunsDir(dataset), '20261207-000000-renamed-cccccc', dataset);
    await writeLatestPointer(resolveRunsDir(dataset), '20261207-000000-renamed-cccccc', dataset);
    assert.equal(await state.ensureRun(uri as never), undefined, 'the cached answer, for the hover and diagnostics');
    assert.equal((await state.currentRun(uri as never))?.runDir, run, 'a command the user gives looks again');
    assert.equal((await state.ensureRun(uri as never))?.runDir, run, 'and the editor knows it since');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
