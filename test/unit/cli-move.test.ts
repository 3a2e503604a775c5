/**
 * `peerkd move OLD NEW` and what a terminal user meets after `mv train.jsonl train-v2.jsonl`. Before, the moved
 * dataset had no run and no review log (both keyed by its path): `peerkd export` said "run peerkd distill first", and
 * the next `peerkd distill` started from nothing, counting the labels decided in review as the random sample, in
 * silence. Now export and distill name the history of the missing dataset beside it and the command that carries it,
 * and `peerkd move` carries it (the function the editor calls on an Explorer rename). Real child processes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { latestKnownRun, readLatestRun, readRun } from '../../src/training/artifacts';
import { queuedKeysOf } from '../../src/training/reviewedRows';
import { MOVE_HELP } from '../../src/cli/move';
import { reviewInSession } from '../support/reviewSession';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

const FIXTURE = join(repoRoot, 'test/fixtures/training/agnews-200.jsonl');
const DISTILL = ['--backend', 'cpu', '--encoder', 'none'];
let folder: string;

before(async () => {
  folder = await tempFolder('cli-move');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A distilled dataset at `dataset` with `count` queued rows decided in Label Review (logged, written to the file). */
async function reviewedDataset(dataset: string, count: number): Promise<void> {
  await copyFile(FIXTURE, dataset);
  const first = await runCli(['distill', dataset, ...DISTILL], folder);
  assert.equal(first.code, 0, first.stderr);
  const run = (await readLatestRun(dataset))!;
  const queued = queuedKeysOf(run.predictions).filter((key) => run.predictions.find((prediction) => prediction.id === key)?.human === null).slice(0, count);
  assert.equal(queued.length, count, 'the run queues enough unlabelled rows');
  await reviewInSession(dataset, run, async (session) => {
    for (const key of queued) {
      const prediction = run.predictions.find((candidate) => candidate.id === key)!;
      assert.equal((await session.decide(key, { kind: 'set', label: prediction.suggested })).status, 'done');
    }
  });
}

async function reviewedRowsOfLatest(dataset: string): Promise<number> {
  const latest = (await latestKnownRun(dataset))!;
  return ((await readRun(latest.runDir)).metrics as { reviewedRows: number }).reviewedRows;
}

test('mv train.jsonl train-v2.jsonl: export names the missing dataset\'s history and peerkd move; after peerkd move the run and the review decisions follow', async () => {
  const before = join(folder, 'train.jsonl');
  const after = join(folder, 'train-v2.jsonl');
  await reviewedDataset(before, 2);
  await rename(before, after);
  const hint = `peerkd move ${JSON.stringify(before)} ${JSON.stringify(after)}`;

  const refused = await runCli(['export', 'train-v2.jsonl', '--advice-min-p', '0.9'], folder);
  assert.equal(refused.code, 1, refused.stderr);
  assert.ok(refused.stderr.includes(`${before} (now missing; latest run`), refused.stderr);
  assert.ok(refused.stderr.includes(hint), refused.stderr);

  const moved = await runCli(['move', 'train.jsonl', 'train-v2.jsonl'], folder);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /^history of .*train\.jsonl carried to .*train-v2\.jsonl in .*\.peerkd\/runs: latest run \S+, review log /m);
  assert.equal(moved.stderr, '');

  const exported = await runCli(['export', 'train-v2.jsonl', '--advice-min-p', '0.9'], folder);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /^Latest run of train-v2\.jsonl: /m);

  const next = await runCli(['distill', 'train-v2.jsonl', ...DISTILL], folder);
  assert.equal(next.code, 0, next.stderr);
  assert.ok(!next.stderr.includes('peerkd move'), next.stderr);
  assert.equal(await reviewedRowsOfLatest(after), 2, 'the two labels decided in review count as reviewed, not as the random sample');

  const again = await runCli(['move', 'train.jsonl', 'train-v2.jsonl'], folder);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^peerkd move: no runs nor review log of train\.jsonl in .*; nothing was carried \(carried to train-v2\.jsonl before\)$/m);
});

test('distill after mv, before peerkd move: the run warns and goes on; peerkd move then keeps its run and still carries the review log', async () => {
  await mkdir(join(folder, 'b'));
  const before = join(folder, 'b', 'news.jsonl');
  const after = join(folder, 'b', 'news-2.jsonl');
  await reviewedDataset(before, 2);
  await rename(before, after);
  const blind = await runCli(['distill', after, ...DISTILL], folder);
  assert.equal(blind.code, 0, blind.stderr);
  assert.ok(blind.stderr.includes(`warn: ${after} has no runs nor review log, but its runs folder holds the history of ${before} (now missing`), blind.stderr);
  assert.ok(blind.stderr.includes(`peerkd move ${JSON.stringify(before)} ${JSON.stringify(after)}`), blind.stderr);
  assert.equal(await reviewedRowsOfLatest(after), 0, 'that run knew of no review');
  const own = (await latestKnownRun(after))!.runId;

  const moved = await runCli(['move', before, after], folder);
  assert.equal(moved.code, 1, 'not everything was carried');
  assert.match(moved.stderr, new RegExp(`^warning: .*already has history there, never replaced: its own latest run here, ${own}, is kept`, 'm'));
  assert.match(moved.stdout, /carried to .*news-2\.jsonl in .*: review log /);
  assert.equal((await latestKnownRun(after))!.runId, own, 'its own run is still its latest');
  const next = await runCli(['distill', after, ...DISTILL], folder);
  assert.equal(next.code, 0, next.stderr);
  assert.equal(await reviewedRowsOfLatest(after), 2, 'the carried log counts the decisions as reviewed');
});

test('peerkd move with the file still at OLD moves it first; a folder carries every dataset inside; both or neither there is refused', async () => {
  await mkdir(join(folder, 'c'));
  const dataset = join(folder, 'c', 'data.jsonl');
  await reviewedDataset(dataset, 1);
  const moved = await runCli(['move', 'c/data.jsonl', 'c/data-2.jsonl'], folder);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /^Moved c\/data\.jsonl to c\/data-2\.jsonl$/m);
  assert.equal(existsSync(dataset), false);
  assert.ok((await latestKnownRun(join(folder, 'c', 'data-2.jsonl'))) !== undefined);

  const folderMoved = await runCli(['move', 'c', 'd'], folder);
  assert.equal(folderMoved.code, 0, folderMoved.stderr);
  assert.match(folderMoved.stdout, /^Moved c to d$/m);
  assert.match(folderMoved.stdout, /^History of 1 dataset carried from c to d$/m);
  const inFolder = await latestKnownRun(join(folder, 'd', 'data-2.jsonl'));
  assert.equal(inFolder?.runsDir, join(folder, 'd', '.peerkd', 'runs'));

  await copyFile(FIXTURE, join(folder, 'both-a.jsonl'));
  await copyFile(FIXTURE, join(folder, 'both-b.jsonl'));
  const both = await runCli(['move', 'both-a.jsonl', 'both-b.jsonl'], folder);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /^peerkd move: both-a\.jsonl and both-b\.jsonl both exist: .*nothing was changed$/m);
  assert.ok(existsSync(join(folder, 'both-a.jsonl')));
  const neither = await runCli(['move', 'gone-a.jsonl', 'gone-b.jsonl'], folder);
  assert.equal(neither.code, 1);
  assert.match(neither.stderr, /^peerkd move: gone-b\.jsonl: not found \(nor gone-a\.jsonl\)/m);
  // The command to run again is one a shell takes as given: it split 'my data.jsonl' in two.
  await copyFile(FIXTURE, join(folder, 'my data.jsonl'));
  const noFolder = await runCli(['move', 'my data.jsonl', 'no folder/x.jsonl'], folder);
  assert.equal(noFolder.code, 1);
  assert.match(noFolder.stderr, /then run peerkd move "my data\.jsonl" "no folder\/x\.jsonl" again$/m);
});

test('peerkd move: --help, and a usage error for a missing path or the same path twice (exit 2, the help follows)', async () => {
  const help = await runCli(['move', '--help'], folder);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, MOVE_HELP + '\n');
  const top = await runCli(['--help'], folder);
  assert.match(top.stdout, /^ {2}move {5}Carry the runs and review log of a dataset renamed or moved/m);
  for (const [args, message] of [
    [['move', 'a.jsonl'], /^peerkd move: missing NEW$/m],
    [['move'], /^peerkd move: missing OLD and NEW$/m],
    [['move', 'a.jsonl', './a.jsonl'], /^peerkd move: OLD and NEW are the same path/m],
    [['move', 'a.jsonl', ''], /^peerkd move: NEW is empty: give a path$/m],
  ] as const) {
    const result = await runCli([...args], folder);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /\n\nUsage: peerkd move OLD NEW/);
  }
  assert.ok((await readFile(join(repoRoot, 'README.md'), 'utf8')).includes('peerkd move OLD NEW'), 'the README names the command');
});
