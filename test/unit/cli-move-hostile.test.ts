/**
 * `peerkd move` as an unlucky user meets it, with real child processes: a dataset moved while a distill of it is still
 * being written, a dataset in a folder whose name holds a line break. Each once lost the dataset's history in silence
 * (the command said it was carried and exited 0).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMoveCommand, MOVE_HELP, type MoveSeams } from '../../src/cli/move';
import { appendReviewLog, readReviewLogs, reviewLogFile } from '../../src/review/reviewLog';
import { datasetKey, knownRunsDirs, latestKnownRun, LATEST_BY_DATASET_DIR, newRunId, recordRunsDir, resolveRunsDir, RunWriter, runsFoldersFile } from '../../src/training/artifacts';
import { orphanedHistories } from '../../src/training/datasetMove';
import { captureIo } from '../support/captureIo';
import { writeLatestPointer, writeRun } from '../support/runFolder';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

const FIXTURE = join(repoRoot, 'test/fixtures/training/agnews-200.jsonl');
const DISTILL = ['--backend', 'cpu', '--encoder', 'none'];
let folder: string;

before(async () => {
  folder = await tempFolder('cli-move-hostile');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function distilled(dataset: string): Promise<string> {
  await copyFile(FIXTURE, dataset);
  const run = await runCli(['distill', dataset, ...DISTILL], folder);
  assert.equal(run.code, 0, run.stderr);
  return (await latestKnownRun(dataset))!.runId;
}

test('peerkd move while a distill of OLD is still being written: refused (file not moved, history not retired); once it has finished, its run is carried too', async () => {
  await mkdir(join(folder, 'busy'));
  const before = join(folder, 'busy', 'news.jsonl');
  const after = join(folder, 'busy', 'news-2.jsonl');
  await distilled(before);
  // A run of OLD being written, as `peerkd distill` writes it (its writer, this process, alive).
  const runsDir = resolveRunsDir(before);
  const runId = newRunId(before, new Date(Date.now() + 60_000));
  const writer = await RunWriter.create(runsDir, runId, before);
  try {
    const refused = await runCli(['move', 'busy/news.jsonl', 'busy/news-2.jsonl'], folder);
    assert.equal(refused.code, 1, refused.stderr);
    assert.ok(refused.stderr.includes(`peerkd move: ${join(runsDir, `.tmp-${runId}`)}: a run of ${before} is still being written there`), refused.stderr);
    assert.match(refused.stderr, /busy\/news\.jsonl was not moved, nothing was changed/);
    assert.ok(existsSync(before) && !existsSync(after), 'the file stays where it is');
    // Its folder neither (the run would fail, its folder gone): the command to run later is the one given.
    const folderRefused = await runCli(['move', 'busy', 'busy-2'], folder);
    assert.equal(folderRefused.code, 1, folderRefused.stderr);
    assert.ok(folderRefused.stderr.includes(`a run of ${before} is still being written there, and would land under its old name; busy was not moved, nothing was changed: once it has finished (or been cancelled), run peerkd move ${JSON.stringify(join(folder, 'busy'))} ${JSON.stringify(join(folder, 'busy-2'))}`), folderRefused.stderr);
    assert.ok(existsSync(before) && !existsSync(join(folder, 'busy-2')), 'the folder stays where it is');

    // Moved by hand meanwhile (mv, a file manager): the history is not carried, so the run lands beside it, not lost.
    await rename(before, after);
    const notCarried = await runCli(['move', 'busy/news.jsonl', 'busy/news-2.jsonl'], folder);
    assert.equal(notCarried.code, 1, notCarried.stderr);
    assert.match(notCarried.stderr, /^warning: .*\.tmp-.*: a run of .*news\.jsonl is still being written there, and would land under its old name; nothing was carried: once it has finished .*, run peerkd move /m);
    assert.equal(notCarried.stdout, '');
    assert.ok(!(await readFile(join(runsDir, LATEST_BY_DATASET_DIR, datasetKey(before)), 'utf8')).startsWith('moved-to'), 'the old name keeps its history');

    await writer.writeJson('settings.json', { datasetPath: before });
    await writer.commit(before);
  } finally {
    await writer.discard();
  }
  const moved = await runCli(['move', 'busy/news.jsonl', 'busy/news-2.jsonl'], folder);
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal((await latestKnownRun(after))?.runId, runId, 'the run that was being written is the moved dataset\'s latest');
  assert.equal(await latestKnownRun(before), undefined, 'a new file at the old path inherits nothing');
});

test('peerkd move out of a folder whose name holds a line break: the runs folder that cannot be listed is said, and the old history is kept, not lost', async () => {
  const odd = join(folder, 'odd\nname');
  await mkdir(odd);
  await mkdir(join(folder, 'plain'));
  const before = join(odd, 'news.jsonl');
  const after = join(folder, 'plain', 'news.jsonl');
  const runId = await distilled(before);
  const moved = await runCli(['move', before, after], folder);
  assert.equal(moved.code, 1, moved.stderr);
  assert.ok(moved.stderr.includes(`${runsFoldersFile(after)}: the runs folder ${JSON.stringify(resolveRunsDir(before))} cannot be listed there (a line break`), moved.stderr);
  assert.ok(!existsSync(runsFoldersFile(after)) || !(await readFile(runsFoldersFile(after), 'utf8')).includes(folder), 'no line naming another folder');
  // Not retired: the run is still named as the history of the missing dataset, for a later move.
  assert.deepEqual(
    (await orphanedHistories([resolveRunsDir(before)])).map(({ dataset, runId: id }) => [dataset, id]),
    [[before, runId]],
  );
  // A terminal shows a line break in a path as \n (src/cli/terminal.ts).
  const shown = (text: string) => text.replace(/\n/g, '\\n');
  assert.ok(moved.stderr.includes(shown(`it stays under the name of ${before} there`)), moved.stderr);
  assert.ok(!moved.stdout.includes('carried'), 'nothing is said to be carried that the new path cannot find');
});

test('moved with peerkd move (twice), then again with mv (back to its first name, or on): export and distill still name its history and the peerkd move that carries it', async () => {
  await mkdir(join(folder, 'twice'));
  const first = join(folder, 'twice', 'train.jsonl');
  const second = join(folder, 'twice', 'train-v2.jsonl');
  const third = join(folder, 'twice', 'train-v3.jsonl');
  const runId = await distilled(first);
  for (const [from, to] of [[first, second], [second, third]]) {
    const moved = await runCli(['move', from, to], folder);
    assert.equal(moved.code, 0, moved.stderr);
  }
  const hint = (from: string, to: string) => [`${to} has no runs nor review log, but its runs folder holds the history of ${from} (now missing; latest run ${runId} in ${resolveRunsDir(first)})`, `peerkd move ${JSON.stringify(from)} ${JSON.stringify(to)}`];
  // Moved on by hand: a run says where its history is (and goes on, from nothing).
  const fourth = join(folder, 'twice', 'train-v4.jsonl');
  await rename(third, fourth);
  const run = await runCli(['distill', fourth, ...DISTILL], folder);
  assert.equal(run.code, 0, run.stderr);
  for (const part of hint(third, fourth)) assert.ok(run.stderr.includes(part), run.stderr);
  // Undone by hand, to its first name: export says it, and the peerkd move it names carries the history back.
  await rename(fourth, first);
  const back = await runCli(['export', first, '--advice-min-p', '0.9'], folder);
  assert.equal(back.code, 1);
  for (const part of hint(third, first)) assert.ok(back.stderr.includes(part), back.stderr);
  const carried = await runCli(['move', third, first], folder);
  assert.equal(carried.code, 0, carried.stderr);
  assert.equal((await latestKnownRun(first))?.runId, runId);
});

test('peerkd move into a folder whose runs-folders list cannot be written: nothing is said to be carried there, the old history is kept, and run again once fixed it is carried', async () => {
  await mkdir(join(folder, 'from'));
  await mkdir(join(folder, 'to', '.peerkd'), { recursive: true });
  const before = join(folder, 'from', 'news.jsonl');
  const after = join(folder, 'to', 'news.jsonl');
  const runId = await distilled(before);
  // What a read-only .peerkd does to a user without root: the list cannot be made (here a file is in its folder's place).
  const blocker = join(folder, 'to', '.peerkd', 'runs-folders');
  await writeFile(blocker, 'mine\n');
  const moved = await runCli(['move', 'from/news.jsonl', 'to/news.jsonl'], folder);
  assert.equal(moved.code, 1, moved.stderr);
  assert.equal(moved.stdout, 'Moved from/news.jsonl to to/news.jsonl\n', 'the history is not said to be carried: the new path does not find it');
  assert.ok(moved.stderr.includes(`warning: ${runsFoldersFile(after)}: `), moved.stderr);
  assert.ok(moved.stderr.includes(`so ${after} would not find its history in ${resolveRunsDir(before)}: it stays under the name of ${before} there`), moved.stderr);
  assert.equal(await readFile(blocker, 'utf8'), 'mine\n', 'the file in the way is the user\'s: untouched');
  assert.equal(await latestKnownRun(after), undefined);
  await rm(blocker);
  const again = await runCli(['move', 'from/news.jsonl', 'to/news.jsonl'], folder);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /carried to .*to\/news\.jsonl/);
  assert.equal((await latestKnownRun(after))?.runId, runId);
});

test('peerkd move never replaces a symbolic link at NEW whose target is gone; a dataset without history is moved and that is no failure', async () => {
  await mkdir(join(folder, 'links'));
  const dataset = join(folder, 'links', 'fresh.jsonl');
  await copyFile(FIXTURE, dataset);
  const link = join(folder, 'links', 'mine.jsonl');
  await symlink(join(folder, 'links', 'gone', 'target.jsonl'), link);
  const refused = await runCli(['move', 'links/fresh.jsonl', 'links/mine.jsonl'], folder);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^peerkd move: links\/fresh\.jsonl and links\/mine\.jsonl both exist: .*nothing was changed$/m);
  assert.equal(await readlink(link), join(folder, 'links', 'gone', 'target.jsonl'), 'the link is the user\'s: kept');
  assert.ok(existsSync(dataset));

  // Never distilled: the file is moved as mv would, and nothing was there to carry (not "moved before?").
  const moved = await runCli(['move', 'links/fresh.jsonl', 'links/fresh-2.jsonl'], folder);
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal(moved.stdout, `Moved links/fresh.jsonl to links/fresh-2.jsonl\nlinks/fresh.jsonl had no runs nor review log in ${resolveRunsDir(dataset)}: there was no history to carry\n`);
  assert.equal(moved.stderr, '');
});

test('a folder moved with the runs folder (--out) of a dataset outside it: that dataset lists the runs folder where it went, and its runs are found again', async () => {
  await mkdir(join(folder, 'keep', 'data'), { recursive: true });
  const outside = join(folder, 'keep', 'news.jsonl');
  await copyFile(FIXTURE, outside);
  const run = await runCli(['distill', 'keep/news.jsonl', ...DISTILL, '--out', 'keep/data/runs'], folder);
  assert.equal(run.code, 0, run.stderr);
  const runId = (await latestKnownRun(outside))!.runId;
  const moved = await runCli(['move', 'keep/data', 'keep/data-2'], folder);
  assert.equal(moved.code, 0, moved.stderr);
  const runsDir = join(folder, 'keep', 'data-2', 'runs');
  assert.ok(moved.stdout.includes(`runs folder ${join(folder, 'keep', 'data', 'runs')} moved to ${runsDir}: listed for ${outside}, whose runs and review log there are found again`), moved.stdout);
  assert.deepEqual(await latestKnownRun(outside), { runId, runsDir, runDir: join(runsDir, runId) });
  const exported = await runCli(['export', 'keep/news.jsonl', '--advice-min-p', '0.9'], folder);
  assert.equal(exported.code, 0, exported.stderr);
});

test('peerkd move of a dataset carried before names where its history went: the same move twice, or a slip of the new path', async () => {
  await mkdir(join(folder, 'slip'));
  const first = join(folder, 'slip', 'a.jsonl');
  const carried = join(folder, 'slip', 'c.jsonl');
  await distilled(first);
  assert.equal((await runCli(['move', 'slip/a.jsonl', 'slip/c.jsonl'], folder)).code, 0);
  await copyFile(carried, join(folder, 'slip', 'b.jsonl'));
  const slip = await runCli(['move', 'slip/a.jsonl', 'slip/b.jsonl'], folder);
  assert.equal(slip.code, 1);
  assert.ok(slip.stderr.includes(`nothing was carried (carried to ${carried} before: peerkd move ${JSON.stringify(carried)} ${JSON.stringify(join(folder, 'slip', 'b.jsonl'))} carries them on)`), slip.stderr);
  const twice = await runCli(['move', 'slip/a.jsonl', 'slip/c.jsonl'], folder);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /nothing was carried \(carried to slip\/c\.jsonl before\)$/m);
});

/** A dataset at `dataset` with run `runId` (its pointer) in its default runs folder and one decision in its review log there. */
async function withHistory(dataset: string, runId: string, label = 'Sports'): Promise<void> {
  await writeFile(dataset, `${JSON.stringify({ id: 'a', text: 'summit', teacher_label: 'World' })}\n`);
  const runsDir = resolveRunsDir(dataset);
  await writeRun(runsDir, runId, dataset);
  await writeLatestPointer(runsDir, runId, dataset);
  await appendReviewLog(reviewLogFile(runsDir, dataset), [{ key: 'a', label, queue: 'flagged', run: runId, action: 'decide', time: '2026-12-07T08:00:00.000Z' }]);
}

/** `peerkd move ARGS` in this process (the seams reach into it), with what it printed. */
async function moveInProcess(args: string[], seams: MoveSeams = {}): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await createMoveCommand(io, seams).run(args);
  return { code, out: io.out(), err: io.err() };
}

test('a file made at NEW between the check and the move is never replaced: the move is refused, both files as they were', async () => {
  await mkdir(join(folder, 'race'));
  const before = join(folder, 'race', 'news.jsonl');
  const after = join(folder, 'race', 'news-2.jsonl');
  await withHistory(before, '20261201-000000-news-aaaaaa');
  const rows = await readFile(before);
  const refused = await moveInProcess([before, after], { beforeMove: () => writeFile(after, 'mine\n') });
  assert.equal(refused.code, 1, refused.err);
  assert.ok(refused.err.includes(`peerkd move: ${after} appeared while ${before} was being moved there (made by another program?): it is never replaced; nothing was changed`), refused.err);
  assert.equal(await readFile(after, 'utf8'), 'mine\n', 'the file made meanwhile is kept');
  assert.deepEqual(await readFile(before), rows, 'the dataset stays where it was');
  assert.equal((await latestKnownRun(before))?.runId, '20261201-000000-news-aaaaaa', 'its history is not carried');

  // A folder: one made meanwhile (empty, as a rename would have replaced it in silence) is refused too.
  await mkdir(join(folder, 'race', 'sub'));
  await writeFile(join(folder, 'race', 'sub', 'x.jsonl'), 'x\n');
  const folderRefused = await moveInProcess([join(folder, 'race', 'sub'), join(folder, 'race', 'sub-2')], { beforeMove: () => mkdir(join(folder, 'race', 'sub-2')) });
  assert.equal(folderRefused.code, 1, folderRefused.err);
  assert.match(folderRefused.err, /sub-2 appeared while .*sub was being moved there/);
  assert.equal(await readFile(join(folder, 'race', 'sub', 'x.jsonl'), 'utf8'), 'x\n');
  assert.deepEqual(await readdir(join(folder, 'race', 'sub-2')), []);

  // Nothing made meanwhile: moved (a file keeps its bytes; a folder its files).
  const moved = await moveInProcess([before, join(folder, 'race', 'news-3.jsonl')]);
  assert.equal(moved.code, 0, moved.err);
  assert.deepEqual(await readFile(join(folder, 'race', 'news-3.jsonl')), rows);
  assert.equal(existsSync(before), false);
  const folderMoved = await moveInProcess([join(folder, 'race', 'sub'), join(folder, 'race', 'sub-3')]);
  assert.equal(folderMoved.code, 0, folderMoved.err);
  assert.equal(await readFile(join(folder, 'race', 'sub-3', 'x.jsonl'), 'utf8'), 'x\n');
});

test('a stale history at NEW (its file deleted, its runs kept): the warning gives the --replace-history that drops it; run, the moved dataset\'s run is the latest and the stale log is set aside, not deleted', async () => {
  await mkdir(join(folder, 'stale'));
  const before = join(folder, 'stale', 'train-v2.jsonl');
  const after = join(folder, 'stale', 'train.jsonl');
  // train.jsonl was distilled and reviewed, then deleted; train-v2.jsonl is to take its name.
  await withHistory(after, '20261203-000000-train-cccccc', 'World');
  await rm(after);
  await withHistory(before, '20261201-000000-train-v2-aaaaaa', 'Sports');
  const runsDir = resolveRunsDir(before);
  const staleLog = await readFile(reviewLogFile(runsDir, after));
  const movedLog = await readFile(reviewLogFile(runsDir, before));

  const kept = await moveInProcess([before, after]);
  assert.equal(kept.code, 1, kept.err);
  assert.ok(kept.err.includes(`its own latest run here, 20261203-000000-train-cccccc, is kept`), kept.err);
  const command = `peerkd move --replace-history ${before} ${after}`;
  assert.ok(kept.err.includes(`If that history is of an earlier file at ${after} (deleted since), not of this dataset: ${command} makes the history of train-v2.jsonl its own there`), kept.err);
  assert.equal((await latestKnownRun(after))?.runId, '20261203-000000-train-cccccc', 'without the flag the stale run stays the latest');

  const replaced = await moveInProcess(command.split(' ').slice(2));
  assert.equal(replaced.code, 0, replaced.err);
  assert.equal(replaced.err, '');
  assert.equal((await latestKnownRun(after))?.runId, '20261201-000000-train-v2-aaaaaa');
  assert.ok(existsSync(join(runsDir, '20261203-000000-train-cccccc', 'settings.json')), 'the stale run stays in its folder');
  assert.deepEqual(await readFile(reviewLogFile(runsDir, after)), movedLog, 'the moved dataset\'s decisions are the log of NEW');
  assert.match(replaced.out, /replacing its own: run 20261203-000000-train-cccccc stays in its folder, no longer its latest; its review log set aside as .*train-[0-9a-f]{12}\.jsonl\.replaced-\d{8}-\d{6}\)/);
  const aside = replaced.out.match(/set aside as (\S+)\)/)![1];
  assert.deepEqual(await readFile(aside), staleLog, 'the stale decisions are kept, under a name no run reads');
  assert.equal(await latestKnownRun(before), undefined, 'the old name is retired');
  assert.ok(MOVE_HELP.includes('--replace-history'));
  assert.ok((await readFile(join(repoRoot, 'README.md'), 'utf8')).includes('--replace-history'));
});

test('peerkd move of the .peerkd folder (or its runs folder) away from its datasets: they list their runs where they went, also the runs folders their moved list named', async () => {
  await mkdir(join(folder, 'proj'));
  await mkdir(join(folder, 'archive'));
  const dataset = join(folder, 'proj', 'news.jsonl');
  await withHistory(dataset, '20261202-000000-news-bbbbbb');
  // Another runs folder (--out) outside, named by the list in .peerkd/runs-folders, which moves with .peerkd.
  const out = join(folder, 'proj-out');
  await writeRun(out, '20261201-000000-news-aaaaaa', dataset);
  await writeLatestPointer(out, '20261201-000000-news-aaaaaa', dataset);
  await recordRunsDir(dataset, out);
  const peerkd = join(folder, 'proj', '.peerkd');
  const moved = await moveInProcess([peerkd, join(folder, 'archive', 'peerkd-old')]);
  assert.equal(moved.code, 0, moved.err);
  const runsDir = join(folder, 'archive', 'peerkd-old', 'runs');
  assert.ok(moved.out.includes(`runs folder ${join(peerkd, 'runs')} moved to ${runsDir}: listed for ${dataset}`), moved.out);
  assert.ok(moved.out.includes(`runs folder ${out} listed again for ${dataset}`), moved.out);
  assert.deepEqual((await knownRunsDirs(dataset)).slice(1).sort(), [out, runsDir].sort());
  assert.equal((await latestKnownRun(dataset))?.runDir, join(runsDir, '20261202-000000-news-bbbbbb'));
  assert.deepEqual(Object.fromEntries((await readReviewLogs((await knownRunsDirs(dataset)).map((dir) => reviewLogFile(dir, dataset))))!.latest), { a: 'Sports' });

  // Its runs folder alone, moved back beside it under another name.
  const runsAgain = join(folder, 'proj', 'old-runs');
  const again = await moveInProcess([runsDir, runsAgain]);
  assert.equal(again.code, 0, again.err);
  assert.equal((await latestKnownRun(dataset))?.runDir, join(runsAgain, '20261202-000000-news-bbbbbb'));
  // And back where it was (into .peerkd, which a folder may enter): found there again.
  const back = await moveInProcess([runsAgain, join(peerkd, 'runs')]);
  assert.equal(back.code, 0, back.err);
  assert.equal((await latestKnownRun(dataset))?.runDir, join(peerkd, 'runs', '20261202-000000-news-bbbbbb'));
});

test('peerkd move of a folder into its own child is a usage error naming both, nothing moved', async () => {
  await mkdir(join(folder, 'nest'));
  const refused = await moveInProcess([join(folder, 'nest'), join(folder, 'nest', 'inner')]);
  assert.equal(refused.code, 2, refused.err);
  assert.ok(refused.err.startsWith(`peerkd move: NEW (${join(folder, 'nest', 'inner')}) is inside OLD (${join(folder, 'nest')}): a folder cannot be moved into itself\n`), refused.err);
  assert.deepEqual(await readdir(join(folder, 'nest')), []);
});

test('peerkd move refuses what would lose a dataset from its name: a relative symbolic link moved to another folder, a path inside .peerkd; a file onto a folder says the path to give', async () => {
  await mkdir(join(folder, 'sym', 'a'), { recursive: true });
  await mkdir(join(folder, 'sym', 'b', 'deep'), { recursive: true });
  await withHistory(join(folder, 'sym', 'real.jsonl'), '20261201-000000-real-aaaaaa');
  const link = join(folder, 'sym', 'a', 'link.jsonl');
  await symlink('../real.jsonl', link);
  const refused = await moveInProcess([link, join(folder, 'sym', 'b', 'deep', 'link.jsonl')]);
  assert.equal(refused.code, 1, refused.err);
  assert.ok(
    refused.err.includes(`${link} is a symbolic link to ../real.jsonl, relative to its folder: moved to ${join(folder, 'sym', 'b', 'deep', 'link.jsonl')} it would name ${join(folder, 'sym', 'b', 'real.jsonl')} instead; nothing was changed: make it absolute first (ln -sfn ${join(folder, 'sym', 'real.jsonl')} ${link}), or move the file it names`),
    refused.err,
  );
  assert.equal(await readlink(link), '../real.jsonl');
  assert.equal(existsSync(join(folder, 'sym', 'b', 'deep', 'link.jsonl')), false);
  // Renamed in its folder (or to a folder where it names the same file), it still names the dataset.
  const renamed = await moveInProcess([link, join(folder, 'sym', 'b', 'link.jsonl')]);
  assert.equal(renamed.code, 0, renamed.err);
  assert.equal(await readlink(join(folder, 'sym', 'b', 'link.jsonl')), '../real.jsonl');
  assert.equal((await readFile(join(folder, 'sym', 'b', 'link.jsonl'), 'utf8')).length > 0, true);

  const intoPeerkd = await moveInProcess([join(folder, 'sym', 'real.jsonl'), join(folder, 'sym', '.peerkd', 'real.jsonl')]);
  assert.equal(intoPeerkd.code, 1, intoPeerkd.err);
  assert.ok(intoPeerkd.err.includes(`${join(folder, 'sym', '.peerkd', 'real.jsonl')}: inside PeerKD's own .peerkd folder (its runs and caches); choose a path elsewhere; nothing was changed`), intoPeerkd.err);
  assert.ok(existsSync(join(folder, 'sym', 'real.jsonl')));

  const ontoFolder = await moveInProcess([join(folder, 'sym', 'real.jsonl'), join(folder, 'sym', 'a')]);
  assert.equal(ontoFolder.code, 1, ontoFolder.err);
  assert.ok(ontoFolder.err.includes(`nothing was changed (to move it into the folder ${join(folder, 'sym', 'a')}, give its new path: ${join(folder, 'sym', 'a', 'real.jsonl')})`), ontoFolder.err);
});

test('a folder holding the runs folder (--out) of a dataset outside it, whose run is still being written: not moved (the run would fail, its folder gone)', async () => {
  await mkdir(join(folder, 'store'));
  const outside = join(folder, 'outside.jsonl');
  await writeFile(outside, 'x\n');
  const runsDir = join(folder, 'store', 'runs');
  await writeRun(runsDir, '20261201-000000-outside-aaaaaa', outside);
  await writeLatestPointer(runsDir, '20261201-000000-outside-aaaaaa', outside);
  await recordRunsDir(outside, runsDir);
  const runId = newRunId(outside);
  const writer = await RunWriter.create(runsDir, runId, outside);
  try {
    const refused = await moveInProcess([join(folder, 'store'), join(folder, 'store-2')]);
    assert.equal(refused.code, 1, refused.err);
    assert.ok(refused.err.includes(`peerkd move: ${join(runsDir, `.tmp-${runId}`)}: a run is still being written there, and would fail with its folder moved; ${join(folder, 'store')} was not moved, nothing was changed`), refused.err);
    assert.ok(existsSync(join(runsDir, `.tmp-${runId}`)) && !existsSync(join(folder, 'store-2')));
  } finally {
    await writer.discard();
  }
  const moved = await moveInProcess([join(folder, 'store'), join(folder, 'store-2')]);
  assert.equal(moved.code, 0, moved.err);
  assert.equal((await latestKnownRun(outside))?.runsDir, join(folder, 'store-2', 'runs'));
});

test('mv data.jsonl folder/ (into the folder), then peerkd move data.jsonl folder: nothing is carried to the folder, and the message gives the path inside it', async () => {
  await mkdir(join(folder, 'into', 'sub'), { recursive: true });
  const before = join(folder, 'into', 'data.jsonl');
  await withHistory(before, '20261201-000000-data-aaaaaa');
  await rename(before, join(folder, 'into', 'sub', 'data.jsonl'));
  const wrong = await moveInProcess([before, join(folder, 'into', 'sub')]);
  assert.equal(wrong.code, 1, wrong.err);
  const command = `peerkd move "${before}" "${join(folder, 'into', 'sub', 'data.jsonl')}"`;
  assert.ok(wrong.err.endsWith(`nothing was carried; moved into the folder (mv ${before} ${join(folder, 'into', 'sub')}/)? then its new path is ${join(folder, 'into', 'sub', 'data.jsonl')}: ${command}\n`), wrong.err);
  const right = await moveInProcess([before, join(folder, 'into', 'sub', 'data.jsonl')]);
  assert.equal(right.code, 0, right.err);
  assert.equal((await latestKnownRun(join(folder, 'into', 'sub', 'data.jsonl')))?.runId, '20261201-000000-data-aaaaaa');
});

test('OLD moved away by another program between the checks and the move: said so (not "the folder does not exist"), nothing changed', async () => {
  await mkdir(join(folder, 'gone-mid'));
  const before = join(folder, 'gone-mid', 'data.jsonl');
  await withHistory(before, '20261201-000000-data-aaaaaa');
  const elsewhere = join(folder, 'gone-mid', 'elsewhere.jsonl');
  const refused = await moveInProcess([before, join(folder, 'gone-mid', 'new.jsonl')], { beforeMove: () => rename(before, elsewhere) });
  assert.equal(refused.code, 1, refused.err);
  assert.ok(refused.err.includes(`peerkd move: ${before} went away while it was being moved (moved by another program?); nothing was changed`), refused.err);
  assert.ok(existsSync(elsewhere) && !existsSync(join(folder, 'gone-mid', 'new.jsonl')));
});

test('a folder moved onto a name whose datasets left a stale history in a shared runs folder (--out): the warning gives the --replace-history of the folder, which carries it (that of the file would look in the old folder, gone)', async () => {
  await mkdir(join(folder, 'shared', 'a'), { recursive: true });
  const runsDir = join(folder, 'shared', 'runs');
  const before = join(folder, 'shared', 'a', 'news.jsonl');
  const after = join(folder, 'shared', 'b', 'news.jsonl');
  await writeFile(before, 'x\n');
  await writeRun(runsDir, '20261201-000000-news-aaaaaa', before);
  await writeLatestPointer(runsDir, '20261201-000000-news-aaaaaa', before);
  await recordRunsDir(before, runsDir);
  // b/news.jsonl was distilled into the same runs folder once; b was deleted since.
  await writeRun(runsDir, '20261202-000000-news-bbbbbb', after);
  await writeLatestPointer(runsDir, '20261202-000000-news-bbbbbb', after);
  const moved = await moveInProcess([join(folder, 'shared', 'a'), join(folder, 'shared', 'b')]);
  assert.equal(moved.code, 1, moved.err);
  const command = `peerkd move --replace-history ${join(folder, 'shared', 'a')} ${join(folder, 'shared', 'b')}`;
  assert.ok(moved.err.includes(`: ${command} makes the history of news.jsonl its own there`), moved.err);
  const replaced = await moveInProcess(command.split(' ').slice(2));
  assert.equal(replaced.code, 0, replaced.err);
  assert.equal((await latestKnownRun(after))?.runId, '20261201-000000-news-aaaaaa');
});
