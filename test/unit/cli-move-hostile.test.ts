/**
 * `peerkd move` as an unlucky user meets it, with real child processes: a dataset moved while a distill of it is still
 * being written, a dataset in a folder whose name holds a line break. Each once lost the dataset's history in silence
 * (the command said it was carried and exited 0).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetKey, latestKnownRun, LATEST_BY_DATASET_DIR, newRunId, resolveRunsDir, RunWriter, runsFoldersFile } from '../../src/training/artifacts';
import { orphanedHistories } from '../../src/training/datasetMove';
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
