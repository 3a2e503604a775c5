/**
 * The review log lives in the runs folder (src/review/reviewLog.ts), and the runs folder is a setting
 * (peerkd.outputDir) or a flag (`peerkd distill --out`). Changing it made the next run look for the log, and for the
 * previous run, in the new folder only: neither was there, so every label set in review counted as the random sample
 * again, silently. A run now reads the log and the previous run of every runs folder the dataset used — the one named
 * now, the default one, and those recorded beside the dataset (artifacts.ts knownRunsDirs / recordRunsDir) — and a
 * row's latest decision wins whichever log holds it. Real processes: the CLI forks the real worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { knownRunsDirs, readLatestRun, recordRunsDir, resolveRunsDir, runsFoldersFile } from '../../src/training/artifacts';
import { queuedKeysOf, readPreviousRun } from '../../src/training/reviewedRows';
import { appendReviewLog, readReviewLogs, reviewLogFile, type ReviewLogEntry } from '../../src/review/reviewLog';
import { reviewInSession } from '../support/reviewSession';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

let folder: string;
const DATA = join(repoRoot, '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');

before(async () => {
  folder = await tempFolder('log-runs-folders');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const entry = (key: string, label: string | null, time: string): ReviewLogEntry => ({ key, label, queue: 'flagged', run: 'r1', action: label === null ? 'undo' : 'decide', time });

test('the logs of several runs folders read as one: the latest decision of a row wins, whichever log holds it', async () => {
  const dataset = join(folder, 'merge.jsonl');
  const [a, b] = [join(folder, 'runs-a'), join(folder, 'runs-b')].map((dir) => reviewLogFile(dir, dataset));
  await appendReviewLog(a, [entry('x', 'B', '2026-12-07T08:00:00.000Z'), entry('y', 'B', '2026-12-07T08:00:00.000Z'), entry('z', 'C', '2026-12-07T10:00:00.000Z')]);
  await appendReviewLog(b, [entry('x', null, '2026-12-07T09:00:00.000Z'), entry('z', 'B', '2026-12-07T09:30:00.000Z')]);
  for (const files of [[a, b], [b, a]]) {
    const log = (await readReviewLogs([...files, join(folder, 'absent.jsonl')]))!;
    assert.deepEqual(Object.fromEntries(log.latest), { x: null, y: 'B', z: 'C' }, 'x undone later in b; z decided again later in a');
    assert.deepEqual(log.files, files, 'the files read, the absent one left out');
  }
  assert.equal(await readReviewLogs([join(folder, 'absent.jsonl')]), undefined);
});

test('the runs folders of a dataset: the one named now, the default, and the others it used, recorded beside it once each', async () => {
  const dataset = join(folder, 'known.jsonl');
  assert.deepEqual(await knownRunsDirs(dataset, 'runs-now'), [join(folder, 'runs-now'), resolveRunsDir(dataset)]);
  await recordRunsDir(dataset, resolveRunsDir(dataset));
  assert.equal(existsSync(runsFoldersFile(dataset)), false, 'the default runs folder is never recorded: it is always looked at');
  await recordRunsDir(dataset, join(folder, 'runs-b'));
  await recordRunsDir(dataset, join(folder, 'runs-b'));
  await recordRunsDir(dataset, join(folder, 'runs-c'));
  assert.equal(await readFile(runsFoldersFile(dataset), 'utf8'), `${join(folder, 'runs-b')}\n${join(folder, 'runs-c')}\n`);
  assert.deepEqual(await knownRunsDirs(dataset, join(folder, 'runs-c')), [join(folder, 'runs-c'), resolveRunsDir(dataset), join(folder, 'runs-b')]);
  // Another dataset in the same folder has its own list.
  assert.deepEqual(await knownRunsDirs(join(folder, 'other.jsonl')), [resolveRunsDir(join(folder, 'other.jsonl'))]);
});

test('the list is never written through a link a cloned repository ships as .peerkd/runs-folders', async () => {
  const linked = await tempFolder('log-runs-folders-linked');
  const target = await tempFolder('log-runs-folders-target');
  try {
    const dataset = join(linked, 'data.jsonl');
    await mkdir(join(linked, '.peerkd'));
    await symlink(target, join(linked, '.peerkd', 'runs-folders'));
    await assert.rejects(recordRunsDir(dataset, join(linked, 'runs-b')), /runs-folders is a symbolic link/);
    assert.deepEqual(await readdir(target), []);
  } finally {
    await rm(linked, { recursive: true, force: true });
    await rm(target, { recursive: true, force: true });
  }
});

test('peerkd distill --out changed after a review: the labels set in review still count as reviewed, run after run', async () => {
  assert.ok(existsSync(DATA), `the benchmark data is missing: ${DATA} (see ../shared/data/README.md)`);
  const source = (await readFile(DATA, 'utf8')).split('\n').filter((line) => line.trim()).slice(0, 600).map((line) => JSON.parse(line) as { id: string; text: string; teacher_label: string; gold_label: string });
  const values: Record<string, string>[] = source.map((value, index) => ({ id: value.id, text: value.text, teacher_label: value.teacher_label, ...(index % 20 === 0 ? { human_label: value.gold_label } : {}) }));
  const dataset = join(folder, 'moved.jsonl');
  const write = () => writeFile(dataset, values.map((value) => JSON.stringify(value)).join('\n') + '\n');
  await write();
  const args = ['distill', 'moved.jsonl', '--backend', 'cpu', '--encoder', 'none'];
  /** Label Review on the latest run in `runsDir`: decides `count` queued rows with their gold labels (logged there). */
  const review = async (runsDir: string | undefined, count: number) => {
    const run = (await readLatestRun(dataset, runsDir))!;
    const queued = queuedKeysOf(run.predictions).filter((key) => !values.find((value) => value.id === key)?.human_label).slice(0, count);
    assert.equal(queued.length, count, 'the run queues enough unlabelled rows');
    await reviewInSession(dataset, run, async (session) => {
      for (const key of queued) assert.equal((await session.decide(key, { kind: 'set', label: source.find((value) => value.id === key)!.gold_label })).status, 'done');
    });
    for (const key of queued) values.find((value) => value.id === key)!.human_label = source.find((value) => value.id === key)!.gold_label;
    await write();
  };
  const reviewedRows = async (runsDir: string) => ((await readLatestRun(dataset, runsDir))!.metrics as { reviewedRows: number }).reviewedRows;

  // Run 1 in the default runs folder; two rows decided in its review.
  assert.equal((await runCli(args, folder)).code, 0);
  await review(undefined, 2);
  // Run 2 with --out elsewhere: the log is in the default runs folder.
  const second = await runCli([...args, '--out', 'runs-b'], folder);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await reviewedRows(join(folder, 'runs-b')), 2, 'the two labels set in review count as reviewed after --out changed');
  // One more row decided in run 2's review (logged in runs-b), then run 3 with yet another --out.
  await review(join(folder, 'runs-b'), 1);
  const third = await runCli([...args, '--out', 'runs-c'], folder);
  assert.equal(third.code, 0, third.stderr);
  assert.equal(await reviewedRows(join(folder, 'runs-c')), 3, 'the logs of both earlier runs folders are read');
  const log = await readFile(join((await readLatestRun(dataset, join(folder, 'runs-c')))!.runDir, 'run.log'), 'utf8');
  assert.match(log, /review log read from an earlier runs folder as well: /);
  // The previous run is the newest in any runs folder the dataset used: run 3's, read from runs-c when --out is back at the default.
  assert.equal((await readPreviousRun(dataset))?.runId, (await readLatestRun(dataset, join(folder, 'runs-c')))!.runId);
});
