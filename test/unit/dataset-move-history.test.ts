/**
 * A dataset renamed or moved kept none of its history: its runs-folders list, its latest pointer in each runs folder
 * and its review log are all keyed by its absolute path (artifacts.ts datasetKey), so after `mv train.jsonl
 * train-v2.jsonl` Label Review, export and the next run found no run, and the next run counted the labels decided in
 * review as the random sample. carryDatasetHistory (src/training/datasetMove.ts) carries them to the new key, the one
 * function the editor's rename handler and `peerkd move` call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createExportCommand } from '../../src/cli/export';
import { captureIo } from '../support/captureIo';
import { knownRunsDirs, latestKnownRun, LATEST_BY_DATASET_DIR, recordRunsDir, resolveRunsDir, runsFoldersFile, datasetKey } from '../../src/training/artifacts';
import { carryDatasetHistory, carryFolderHistory, carryRenamedPaths, datasetsUnder, describeCarry, orphanedHistories, orphanedHistoriesOf, orphanedHistoryMessage, relocate, renamedDuringRunMessage } from '../../src/training/datasetMove';
import { appendReviewLog, readReviewLogs, reviewLogFile, type ReviewLogEntry } from '../../src/review/reviewLog';
import { tempFolder } from '../fixtures/training/build';
import { writeLatestPointer, writeRun } from '../support/runFolder';

const entry = (key: string, label: string, time = '2026-12-07T08:00:00.000Z'): ReviewLogEntry => ({ key, label, queue: 'flagged', run: 'r1', action: 'decide', time });
const ROW = `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`;

/** The log a run of `dataset` reads (every runs folder it knows), as the worker reads it. */
async function logOf(dataset: string) {
  return readReviewLogs((await knownRunsDirs(dataset)).map((dir) => reviewLogFile(dir, dataset)));
}

/** A dataset at `dataset` with one run (pointer) in `runsDir` and one decision in its review log there. */
async function datasetWithHistory(dataset: string, runsDir: string, runId: string): Promise<void> {
  await writeFile(dataset, ROW);
  await writeRun(runsDir, runId, dataset);
  await writeLatestPointer(runsDir, runId, dataset);
  await appendReviewLog(reviewLogFile(runsDir, dataset), [entry('a', 'Sports')]);
  if (runsDir !== resolveRunsDir(dataset)) await recordRunsDir(dataset, runsDir);
}

test('renamed in its folder: the run and the review log follow it; the old name keeps nothing', async () => {
  const folder = await tempFolder('move-rename');
  try {
    const before = join(folder, 'train.jsonl');
    const after = join(folder, 'train-v2.jsonl');
    const runs = resolveRunsDir(before);
    await datasetWithHistory(before, runs, '20261201-000000-train-aaaaaa');
    await rename(before, after);
    assert.equal(await latestKnownRun(after), undefined, 'before the carry the moved dataset has no run (the defect)');
    const report = await carryDatasetHistory(before, after);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.kept, []);
    assert.equal(report.removedOld, true);
    assert.equal((await latestKnownRun(after))?.runId, '20261201-000000-train-aaaaaa');
    assert.deepEqual(Object.fromEntries((await logOf(after))!.latest), { a: 'Sports' }, 'the decision counts for the new path');
    assert.equal(await latestKnownRun(before), undefined, 'a new file at the old path inherits nothing');
    assert.equal(await logOf(before), undefined);
    assert.equal(existsSync(runsFoldersFile(after)), false, 'the default runs folder needs no list');
    assert.match(describeCarry(report).info.join('\n'), /latest run 20261201-000000-train-aaaaaa, review log .*train-v2-/);
    // Moving it back (the Explorer's undo) finds the old key free and carries it back.
    await rename(after, before);
    const back = await carryDatasetHistory(after, before);
    assert.equal(back.removedOld, true);
    assert.equal((await latestKnownRun(before))?.runId, '20261201-000000-train-aaaaaa');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('moved to another folder, with runs in its old default runs folder and one --out folder: both are listed for the new path', async () => {
  const folder = await tempFolder('move-folders');
  try {
    const before = join(folder, 'a', 'news.jsonl');
    const after = join(folder, 'b', 'news.jsonl');
    await mkdir(join(folder, 'a'));
    await mkdir(join(folder, 'b'));
    await datasetWithHistory(before, resolveRunsDir(before), '20261201-000000-news-aaaaaa');
    const out = join(folder, 'out');
    await writeRun(out, '20261202-000000-news-bbbbbb', before);
    await writeLatestPointer(out, '20261202-000000-news-bbbbbb', before);
    await appendReviewLog(reviewLogFile(out, before), [entry('a', 'Business', '2026-12-08T08:00:00.000Z')]);
    await recordRunsDir(before, out);
    await rename(before, after);
    const report = await carryDatasetHistory(before, after);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.carried.map(({ runsDir }) => runsDir).sort(), [resolveRunsDir(before), out].sort());
    assert.deepEqual((await readFile(runsFoldersFile(after), 'utf8')).trim().split('\n').sort(), [resolveRunsDir(before), out].sort());
    assert.equal((await latestKnownRun(after))?.runId, '20261202-000000-news-bbbbbb', 'the newest run of any folder it used');
    assert.deepEqual(Object.fromEntries((await logOf(after))!.latest), { a: 'Business' }, 'both logs read as one, the later decision winning');
    assert.equal(existsSync(runsFoldersFile(before)), false, 'the old list goes once everything is written');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a folder renamed with its datasets and .peerkd: paths inside it are found where the folder went', async () => {
  const folder = await tempFolder('move-folder');
  try {
    const project = join(folder, 'project');
    await mkdir(join(project, 'data', 'node_modules'), { recursive: true });
    const before = join(project, 'data', 'news.jsonl');
    await datasetWithHistory(before, join(project, 'runs-out'), '20261201-000000-news-aaaaaa');
    await writeFile(join(project, 'data', 'node_modules', 'skip.jsonl'), ROW);
    await rename(project, join(folder, 'project-2'));
    const after = join(folder, 'project-2', 'data', 'news.jsonl');
    assert.equal(relocate(join(project, 'runs-out'), { from: project, to: join(folder, 'project-2') }), join(folder, 'project-2', 'runs-out'));
    assert.deepEqual((await datasetsUnder(join(folder, 'project-2'))).datasets, [after], 'no .peerkd, no node_modules');
    const { reports, complete } = await carryFolderHistory(project, join(folder, 'project-2'));
    assert.equal(complete, true);
    assert.equal(reports.length, 1);
    assert.deepEqual(reports[0].problems, []);
    assert.equal((await latestKnownRun(after))?.runId, '20261201-000000-news-aaaaaa');
    assert.deepEqual(await readFile(runsFoldersFile(after), 'utf8'), `${join(folder, 'project-2', 'runs-out')}\n`, 'the listed runs folder, where it is now');
    assert.deepEqual(Object.fromEntries((await logOf(after))!.latest), { a: 'Sports' });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('the new path already has history of its own: nothing of it is overwritten, the old history stays under its name, and it is said', async () => {
  const folder = await tempFolder('move-conflict');
  try {
    const before = join(folder, 'old.jsonl');
    const after = join(folder, 'new.jsonl');
    const runs = resolveRunsDir(before);
    await datasetWithHistory(before, runs, '20261201-000000-old-aaaaaa');
    await datasetWithHistory(after, runs, '20261203-000000-new-bbbbbb');
    await appendReviewLog(reviewLogFile(runs, after), [entry('a', 'World', '2026-12-09T08:00:00.000Z')]);
    const newLog = await readFile(reviewLogFile(runs, after), 'utf8');
    await rm(before);
    const report = await carryDatasetHistory(before, after);
    assert.deepEqual(report.carried, []);
    assert.equal(report.kept.length, 1);
    assert.equal(report.removedOld, false);
    assert.match(describeCarry(report).warnings[0], /already has history there, never replaced: its own latest run here, 20261203-000000-new-bbbbbb, is kept; run 20261201-000000-old-aaaaaa stays the latest of old.jsonl; its own review log .* is kept/);
    assert.equal((await latestKnownRun(after))?.runId, '20261203-000000-new-bbbbbb');
    assert.equal(await readFile(reviewLogFile(runs, after), 'utf8'), newLog);
    assert.equal((await latestKnownRun(before))?.runId, '20261201-000000-old-aaaaaa', 'both kept');
    assert.ok(existsSync(reviewLogFile(runs, before)));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a carry that fails midway leaves the old history whole, and run again finishes without doubling anything', async () => {
  const folder = await tempFolder('move-midway');
  try {
    await mkdir(join(folder, 'a'));
    await mkdir(join(folder, 'b'));
    const before = join(folder, 'a', 'news.jsonl');
    const after = join(folder, 'b', 'news.jsonl');
    await datasetWithHistory(before, resolveRunsDir(before), '20261201-000000-news-aaaaaa');
    await rename(before, after);
    // The new path's list cannot be written (a link there is refused): the switch fails after the copies.
    const target = await tempFolder('move-midway-target');
    await mkdir(join(folder, 'b', '.peerkd'));
    await symlink(target, join(folder, 'b', '.peerkd', 'runs-folders'));
    const failed = await carryDatasetHistory(before, after);
    assert.equal(failed.removedOld, false);
    assert.match(failed.problems.join('\n'), /runs-folders is a symbolic link/);
    assert.equal((await latestKnownRun(before))?.runId, '20261201-000000-news-aaaaaa', 'the old pointer is kept');
    assert.deepEqual(Object.fromEntries((await logOf(before))!.latest), { a: 'Sports' }, 'the old log is kept');
    await rm(join(folder, 'b', '.peerkd', 'runs-folders'));
    await rm(target, { recursive: true, force: true });
    const again = await carryDatasetHistory(before, after);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.kept, [], 'what the failed carry copied is its own, not history of the new path');
    assert.equal(again.removedOld, true);
    assert.equal((await latestKnownRun(after))?.runId, '20261201-000000-news-aaaaaa');
    const log = (await logOf(after))!;
    assert.equal(log.entries, 1, 'the log copied once');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('runs made before the pointers (found by the path their settings.json records) are carried by a pointer under the new key', async () => {
  const folder = await tempFolder('move-scan');
  try {
    const before = join(folder, 'old.jsonl');
    const after = join(folder, 'new.jsonl');
    await writeFile(after, ROW);
    const runs = resolveRunsDir(before);
    await writeRun(runs, '20261201-000000-old-aaaaaa', before);
    const report = await carryDatasetHistory(before, after);
    assert.deepEqual(report.carried, [{ runsDir: runs, runId: '20261201-000000-old-aaaaaa' }]);
    assert.equal((await readFile(join(runs, LATEST_BY_DATASET_DIR, datasetKey(after)), 'utf8')).trim(), '20261201-000000-old-aaaaaa');
    assert.equal((await latestKnownRun(after))?.runId, '20261201-000000-old-aaaaaa');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a runs folder holding the history of a dataset that is gone is named to a dataset without history, until it is carried', async () => {
  const folder = await tempFolder('move-orphans');
  try {
    const before = join(folder, 'train.jsonl');
    const after = join(folder, 'train-v2.jsonl');
    const other = join(folder, 'other.jsonl');
    await datasetWithHistory(before, resolveRunsDir(before), '20261201-000000-train-aaaaaa');
    await datasetWithHistory(other, resolveRunsDir(other), '20261201-000000-other-cccccc');
    assert.deepEqual(await orphanedHistories([resolveRunsDir(after)]), [], 'every dataset is there');
    await rename(before, after);
    const orphans = await orphanedHistories([resolveRunsDir(after)]);
    assert.deepEqual(orphans, [{ dataset: before, runsDir: resolveRunsDir(before), runId: '20261201-000000-train-aaaaaa' }]);
    const message = orphanedHistoryMessage(after, orphans)!;
    assert.ok(message.includes(`${before} (now missing; latest run 20261201-000000-train-aaaaaa in ${resolveRunsDir(before)})`), message);
    assert.ok(message.endsWith(`peerkd move ${JSON.stringify(before)} ${JSON.stringify(after)}`), message);
    await carryDatasetHistory(before, after);
    assert.deepEqual(await orphanedHistories([resolveRunsDir(after)]), [], 'the carried pointer is the new path\'s');
    assert.equal(orphanedHistoryMessage(after, []), undefined);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('moved-to pointers that loop, name themselves, or name a path that is not their key\'s: the look-up for a missing dataset ends, naming none of them', async () => {
  const folder = await tempFolder('move-pointer-loops');
  try {
    const runs = join(folder, 'runs');
    const origin = join(folder, 'train.jsonl');
    const a = join(folder, 'a.jsonl');
    const b = join(folder, 'b.jsonl');
    await writeRun(runs, '20261201-000000-train-aaaaaa', origin);
    const byDataset = join(runs, LATEST_BY_DATASET_DIR);
    // The run is carried to a's key, which no chain from train's pointer reaches: train → b → train (a loop).
    await writeLatestPointer(runs, '20261201-000000-train-aaaaaa', a);
    await writeFile(join(byDataset, datasetKey(origin)), `moved-to ${datasetKey(b)} ${JSON.stringify(b)}\n`);
    await writeFile(join(byDataset, datasetKey(b)), `moved-to ${datasetKey(origin)} ${JSON.stringify(origin)}\n`);
    assert.deepEqual(await orphanedHistories([runs]), []);
    // Itself: train → train.
    await writeFile(join(byDataset, datasetKey(origin)), `moved-to ${datasetKey(origin)} ${JSON.stringify(origin)}\n`);
    assert.deepEqual(await orphanedHistories([runs]), []);
    // Garbage, and a path that is not the key's (an edited pointer names no other file).
    await writeFile(join(byDataset, datasetKey(origin)), `moved-to ${datasetKey(a)} ${JSON.stringify(join(folder, 'elsewhere.jsonl'))}\n`);
    assert.deepEqual(await orphanedHistories([runs]), []);
    await writeFile(join(byDataset, datasetKey(origin)), 'moved-to \u0000\u00ff "\n');
    assert.deepEqual(await orphanedHistories([runs]), []);
    // Written by the carry: the chain reaches a, which is missing, and names it.
    await writeFile(join(byDataset, datasetKey(origin)), `moved-to ${datasetKey(a)} ${JSON.stringify(a)}\n`);
    assert.deepEqual(await orphanedHistories([runs]), [{ dataset: a, runsDir: runs, runId: '20261201-000000-train-aaaaaa' }]);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('the warning of a dataset renamed during its run offers the peerkd move that carries the finished run, paths quoted', () => {
  const message = renamedDuringRunMessage('/data/my rows.jsonl', '/data/.peerkd/runs/run-1', '/data/sub/rows.jsonl');
  assert.ok(message.startsWith('Its results are in /data/.peerkd/runs/run-1. '), message);
  assert.ok(message.includes('carry its history: peerkd move "/data/my rows.jsonl" /data/sub/rows.jsonl '), message);
  assert.match(message, /in the Explorer, rename it back and then again/);
  assert.match(message, /running the file where it is now starts a new run\.$/);
  // Where the editor did not see where it went, NEW stands for it.
  assert.ok(renamedDuringRunMessage('/data/rows.jsonl', '/r').includes('peerkd move /data/rows.jsonl NEW '));
});

test('a dataset moved by hand to the folder beside, above or below its own: export names the history it left in the runs folder there and the peerkd move that carries it; a gone dataset of another name is not named', async () => {
  const folder = await tempFolder('move-nearby');
  try {
    await mkdir(join(folder, 'a'));
    await mkdir(join(folder, 'b'));
    const first = join(folder, 'a', 'news.jsonl');
    await datasetWithHistory(first, resolveRunsDir(first), '20261201-000000-news-aaaaaa');
    const gone = join(folder, 'a', 'gone.jsonl');
    await datasetWithHistory(gone, resolveRunsDir(gone), '20261201-000000-gone-bbbbbb');
    await rm(gone);
    const orphan = { dataset: first, runsDir: resolveRunsDir(first), runId: '20261201-000000-news-aaaaaa', nearby: true };
    for (const moved of [join(folder, 'b', 'news.jsonl'), join(folder, 'news.jsonl'), join(folder, 'a', 'deep', 'news.jsonl')]) {
      await mkdir(dirname(moved), { recursive: true });
      await rename(existsSync(first) ? first : join(folder, 'b', 'news.jsonl'), moved);
      assert.deepEqual(await orphanedHistoriesOf(moved, await knownRunsDirs(moved)), [orphan], moved);
      const io = captureIo();
      assert.equal(await createExportCommand(io).run([moved, '--advice-min-p', '0.9']), 1, io.err());
      assert.ok(io.err().includes(`${moved} has no runs nor review log, but the runs folder of a folder near it holds the history of ${first} (now missing; latest run 20261201-000000-news-aaaaaa in ${resolveRunsDir(first)})`), io.err());
      assert.ok(io.err().includes(`peerkd move ${JSON.stringify(first)} ${JSON.stringify(moved)}`), io.err());
      if (moved.includes('deep')) {
        assert.equal((await carryDatasetHistory(first, moved)).removedOld, true);
        assert.equal((await latestKnownRun(moved))?.runId, '20261201-000000-news-aaaaaa');
        const exported = captureIo();
        assert.equal(await createExportCommand(exported).run([moved, '--advice-min-p', '0.9', '--out', join(folder, 'copy.jsonl')]), 0, exported.err());
        assert.ok(!exported.err().includes('peerkd move'), exported.err());
      } else {
        await rename(moved, join(folder, 'b', 'news.jsonl'));
      }
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('the peerkd move a hint suggests names the files it means when a shell runs it: names with $, quotes, a backquote, !, \\, a line break, unicode', async () => {
  const folder = await tempFolder('move-quoting');
  try {
    const names = ['a$HOME.jsonl', "it's.jsonl", 'say "hi".jsonl', 'back`id`.jsonl', 'bang!.jsonl', 'x\\y.jsonl', 'line\nbreak.jsonl', 'ünï code ✓.jsonl', 'tab\t.jsonl', 'plain.jsonl'];
    for (const name of names) {
      const gone = join(folder, name);
      const dataset = join(folder, `now ${name}`);
      const message = orphanedHistoryMessage(dataset, [{ dataset: gone, runsDir: folder, runId: 'r' }])!;
      const words = message.slice(message.lastIndexOf('peerkd move ') + 'peerkd move '.length);
      const printed = execFileSync('sh', ['-c', `printf '%s\\0' ${words}`], { encoding: 'utf8' });
      assert.deepEqual(printed.split('\0').slice(0, -1), [gone, dataset], `${JSON.stringify(name)}: ${words}`);
    }
    // The warning of a run renamed meanwhile and of history kept at NEW too.
    const dollar = join(folder, 'p$1.jsonl');
    assert.ok(renamedDuringRunMessage(dollar, folder, join(folder, 'q.jsonl')).includes(`peerkd move '${dollar}' ${join(folder, 'q.jsonl')}`));
    const kept = describeCarry({ from: dollar, to: join(folder, 'q.jsonl'), carried: [], kept: [{ runsDir: folder, why: 'x' }], problems: [], searched: [], removedOld: false });
    assert.ok(kept.warnings[0].includes(`peerkd move --replace-history '${dollar}' ${join(folder, 'q.jsonl')}`), kept.warnings[0]);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('the runs folder (or the whole .peerkd) renamed in the Explorer: the datasets beside it list it where it went; the caches in .peerkd are no datasets', async () => {
  const folder = await tempFolder('move-peerkd-explorer');
  try {
    const dataset = join(folder, 'news.jsonl');
    await datasetWithHistory(dataset, resolveRunsDir(dataset), '20261201-000000-news-aaaaaa');
    const cache = join(folder, '.peerkd', 'teacher-cache', 'abc.jsonl');
    await mkdir(dirname(cache), { recursive: true });
    await writeFile(cache, '{}\n');
    const moved = join(folder, 'runs-2026');
    await rename(resolveRunsDir(dataset), moved);
    assert.equal(await latestKnownRun(dataset), undefined, 'before the carry it has no run (the defect)');
    const { reports } = await carryRenamedPaths([{ from: resolveRunsDir(dataset), to: moved }], () => undefined);
    assert.deepEqual(reports.map((report) => [report.from, report.carried, report.problems]), [[dataset, [{ runsDir: moved, movedFrom: resolveRunsDir(dataset) }], []]]);
    assert.equal((await latestKnownRun(dataset))?.runDir, join(moved, '20261201-000000-news-aaaaaa'));
    assert.deepEqual(Object.fromEntries((await logOf(dataset))!.latest), { a: 'Sports' });
    // The whole .peerkd next: its list moves with it and is made anew beside the dataset; the cache is passed over.
    const peerkd = join(folder, '.peerkd');
    await rename(peerkd, join(folder, 'peerkd-old'));
    const again = await carryRenamedPaths([{ from: peerkd, to: join(folder, 'peerkd-old') }], () => undefined);
    assert.deepEqual(again.reports.map((report) => report.from), [dataset]);
    assert.deepEqual(again.reports[0].carried, [{ runsDir: moved, movedFrom: moved }]);
    assert.equal((await latestKnownRun(dataset))?.runDir, join(moved, '20261201-000000-news-aaaaaa'));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
