import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { homedir, hostname } from 'node:os';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import {
  datasetKey,
  formatPrediction,
  LATEST_BY_DATASET_DIR,
  latestPointerPath,
  latestRunAmong,
  latestRunId,
  newRunId,
  RUN_ID_SHAPE,
  parsePredictions,
  PREDICTION_FIELDS,
  readLatestRun,
  readRun,
  removeTempRun,
  resolveRunsDir,
  RunArtefactError,
  RunWriter,
  type RunSettings,
} from '../../src/training/artifacts';
import { DEFAULT_DISTILL_OPTIONS } from '../../src/training/protocol';
import type { Prediction } from '../../src/training/types';
import * as esbuild from 'esbuild';
import { repoRoot, tempFolder } from '../fixtures/training/build';
import { writeLatestPointer } from '../support/runFolder';

function prediction(id: string, line: number): Prediction {
  return {
    // Deliberately not in the public order: the writer must fix it.
    vanilla_probs: { A: 0.5, B: 0.5 },
    flagged: line % 2 === 0,
    id,
    line,
    teacher: 'A',
    human: null,
    suggested: 'B',
    p_teacher_wrong: 0.123456789,
    probs: { A: 0.3, B: 0.7 },
    peer_probs: { A: 0.25, B: 0.75 },
    text_digest: '0123456789abcdef',
  };
}

function settings(runId: string, datasetPath: string): RunSettings {
  return {
    runId,
    startedAt: '2026-11-28T00:00:00.000Z',
    completedAt: '2026-11-28T00:00:01.000Z',
    datasetPath,
    datasetSha256: 'abc',
    datasetSource: 'file',
    fields: DEFAULT_FIELDS,
    labels: ['A', 'B'],
    labelsSource: 'inferred',
    options: DEFAULT_DISTILL_OPTIONS,
    counts: { lines: 2, rows: 2, invalidLines: 0, skippedNoText: 0, teacherLabelled: 2, humanLabelled: 0, unlabelled: 0, teacherOutsideLabelSet: 0 },
    backend: { name: 'cpu', skipped: [] },
  };
}

async function writeRun(datasetPath: string, runId: string, outputDir?: string): Promise<string> {
  const writer = await RunWriter.create(resolveRunsDir(datasetPath, outputDir), runId);
  await writer.writePredictions([prediction('r1', 1), prediction('r2', 2)]);
  await writer.writeJson('metrics.json', { flaggedCount: 1 });
  await writer.writeJson('settings.json', settings(runId, datasetPath));
  return writer.commit(datasetPath);
}

test('a prediction line has exactly the public fields, in order, probabilities rounded to 6 decimals', () => {
  const parsed = JSON.parse(formatPrediction(prediction('r1', 1))) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [...PREDICTION_FIELDS]);
  assert.equal(parsed.p_teacher_wrong, 0.123457);
});

test('run ids sort by time and carry the dataset name', () => {
  const early = newRunId('/data/my set.jsonl', new Date('2026-01-02T03:04:05Z'));
  const late = newRunId('/data/my set.jsonl', new Date('2026-01-02T03:04:06Z'));
  assert.match(early, /^20260102-030405-my_set-[0-9a-f]{6}$/);
  assert.ok(early < late);
  // The shape a `latest` pointer is recognised by (RunWriter refuses to replace a `latest` of another shape).
  for (const name of ['/data/my set.jsonl', '/d/ünïcödé.jsonl', '/d/.hidden', '/d/a.b.c.jsonl', '/d/' + 'x'.repeat(300) + '.jsonl', 'C:\\data\\win.jsonl']) {
    assert.match(newRunId(name), RUN_ID_SHAPE, name);
  }
});

test('the runs folder is next to the dataset by default, else the configured one (relative to the dataset folder)', () => {
  assert.equal(resolveRunsDir('/data/a.jsonl'), '/data/.peerkd/runs');
  assert.equal(resolveRunsDir('/data/a.jsonl', ''), '/data/.peerkd/runs');
  assert.equal(resolveRunsDir('/data/a.jsonl', 'out'), '/data/out');
  assert.equal(resolveRunsDir('/data/a.jsonl', '/elsewhere'), '/elsewhere');
  assert.equal(resolveRunsDir('/data/sub/a.jsonl', '../runs'), '/data/runs');
});

test('peerkd.training.outputDir "~/runs" is the home folder\'s runs, as static:~/… is; no folder named ~ next to the dataset', () => {
  assert.equal(resolveRunsDir('/data/a.jsonl', '~/runs'), join(homedir(), 'runs'));
  assert.equal(resolveRunsDir('/data/a.jsonl', '~'), homedir());
  // Only a leading ~ before a separator: a folder whose name starts with ~ is a folder.
  assert.equal(resolveRunsDir('/data/a.jsonl', '~runs'), '/data/~runs');
  assert.equal(resolveRunsDir('/data/a.jsonl', 'out/~/x'), '/data/out/~/x');
});

test('a committed run reads back; nothing is visible before the commit; discard removes the temp folder', async () => {
  const folder = await tempFolder('artefacts');
  const dataset = join(folder, 'a.jsonl');
  const runsDir = resolveRunsDir(dataset);
  const writer = await RunWriter.create(runsDir, 'run-1');
  await writer.writePredictions([prediction('r1', 1)]);
  assert.equal(await latestRunId(dataset), undefined, 'an uncommitted run is not the latest');
  assert.equal(await readLatestRun(dataset), undefined);
  await writer.discard();
  // The run created .peerkd/runs, so a failed run removes it again: nothing new is left next to the dataset.
  assert.deepEqual(await readdir(folder), []);

  const runDir = await writeRun(dataset, '20260101-000000-a-000001');
  const run = await readRun(runDir);
  assert.equal(run.runId, '20260101-000000-a-000001');
  assert.deepEqual(run.predictions.map((p) => p.id), ['r1', 'r2']);
  assert.deepEqual(run.metrics, { flaggedCount: 1 });
  assert.equal(run.settings.datasetPath, dataset);
  assert.equal((await readFile(join(runsDir, 'latest'), 'utf8')).trim(), run.runId);
  await rm(folder, { recursive: true, force: true });
});

test('several datasets in one folder: each one finds its own latest run', async () => {
  const folder = await tempFolder('two-datasets');
  const first = join(folder, 'first.jsonl');
  const second = join(folder, 'second.jsonl');
  await writeRun(first, '20260101-000000-first-000001');
  await writeRun(second, '20260101-000001-second-000001');
  await writeRun(first, '20260101-000002-first-000002');
  await writeRun(second, '20260101-000003-second-000002');

  assert.equal((await readLatestRun(first))?.runId, '20260101-000002-first-000002');
  assert.equal((await readLatestRun(second))?.runId, '20260101-000003-second-000002');
  // `latest` names the newest run of any dataset.
  assert.equal((await readFile(join(resolveRunsDir(first), 'latest'), 'utf8')).trim(), '20260101-000003-second-000002');
  assert.notEqual(datasetKey(first), datasetKey(second));

  // Without the per-dataset pointers (older runs, deleted by hand), the run folders' settings decide.
  await rm(join(resolveRunsDir(first), LATEST_BY_DATASET_DIR), { recursive: true });
  assert.equal(await latestRunId(first), '20260101-000002-first-000002');
  assert.equal(await latestRunId(second), '20260101-000003-second-000002');
  assert.equal(await latestRunId(join(folder, 'third.jsonl')), undefined);
  await rm(folder, { recursive: true, force: true });
});

test('without a pointer, a run folder whose settings.json is corrupt and newer than the dataset\'s runs is said, naming the file, not passed over', async () => {
  const folder = await tempFolder('corrupt-unpointed');
  try {
    const dataset = join(folder, 'news.jsonl');
    const other = join(folder, 'other.jsonl');
    await writeRun(dataset, '20260101-000000-news-000001');
    await writeRun(other, '20260101-000002-other-000001');
    const runsDir = resolveRunsDir(dataset);
    await rm(join(runsDir, LATEST_BY_DATASET_DIR), { recursive: true });
    // A stray folder or file without settings.json is no run: passed over, as before.
    await mkdir(join(runsDir, '20260101-000005-notes'));
    await writeFile(join(runsDir, 'notes.txt'), 'mine\n');
    assert.equal(await latestRunId(dataset), '20260101-000000-news-000001');
    // A newer run folder whose settings.json is cut off: whose run it is cannot be told, so it may be the latest.
    const corrupt = join(runsDir, '20260101-000003-news-000002');
    await mkdir(corrupt);
    await writeFile(join(corrupt, 'settings.json'), '{"runId": "20260101-000003-news-000002", "datasetPath": ');
    for (const lookUp of [() => latestRunId(dataset), () => latestRunAmong(dataset, [runsDir])]) {
      await assert.rejects(lookUp(), (error: unknown) => {
        assert.ok(error instanceof RunArtefactError);
        assert.equal(error.file, join(corrupt, 'settings.json'));
        assert.match(error.message, new RegExp(`^${join(corrupt, 'settings.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid JSON \\(.*\\); no latest pointer names a run of ${dataset.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} there, so run 20260101-000003-news-000002 may be its latest run: repair the file or remove the run folder `));
        return true;
      });
    }
    // Settings that are JSON but name no dataset are no better.
    await writeFile(join(corrupt, 'settings.json'), '[1]');
    await assert.rejects(latestRunId(dataset), /settings\.json: must be a JSON object; no latest pointer/);
    // A dataset with no run at all is told the same: the corrupt run may be its first.
    await assert.rejects(latestRunId(join(folder, 'third.jsonl')), /may be its latest run/);
    // Older than a run of the dataset found in another runs folder: not the latest, so nothing to say.
    const newer = join(folder, 'elsewhere');
    await writeRun(dataset, '20260101-000009-news-000003', newer);
    assert.equal((await latestRunAmong(dataset, [runsDir, newer]))?.runId, '20260101-000009-news-000003');
    // Where the pointer names the run, the folders are not scanned.
    await writeLatestPointer(runsDir, '20260101-000000-news-000001', dataset);
    assert.equal(await latestRunId(dataset), '20260101-000000-news-000001');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a configured output folder is honoured by the writer and the reader', async () => {
  const folder = await tempFolder('outdir');
  const dataset = join(folder, 'a.jsonl');
  const runDir = await writeRun(dataset, '20260101-000000-a-000001', 'results');
  assert.equal(runDir, join(folder, 'results', '20260101-000000-a-000001'));
  assert.equal(await readLatestRun(dataset), undefined, 'the default folder has no run');
  assert.equal((await readLatestRun(dataset, 'results'))?.runId, '20260101-000000-a-000001');
  await rm(folder, { recursive: true, force: true });
});

test('a corrupt predictions.jsonl gives an error naming the file and the line', async () => {
  const folder = await tempFolder('corrupt');
  const dataset = join(folder, 'a.jsonl');
  const runDir = await writeRun(dataset, '20260101-000000-a-000001');
  const file = join(runDir, 'predictions.jsonl');
  const good = (await readFile(file, 'utf8')).trim().split('\n');

  await writeFile(file, [good[0], '{"id": "r2", "line": 2, ', good[1]].join('\n') + '\n');
  await assert.rejects(readLatestRun(dataset), (error: unknown) => {
    assert.ok(error instanceof RunArtefactError);
    assert.equal(error.file, file);
    assert.equal(error.line, 2);
    assert.match(error.message, /predictions\.jsonl:2: invalid JSON/);
    return true;
  });

  const wrong = JSON.parse(good[1]) as Record<string, unknown>;
  wrong.p_teacher_wrong = 1.5;
  await writeFile(file, [good[0], '', JSON.stringify(wrong)].join('\n'));
  await assert.rejects(readRun(runDir), /predictions\.jsonl:3: 'p_teacher_wrong' must be a number between 0 and 1/);

  await rm(join(runDir, 'settings.json'));
  await assert.rejects(readRun(runDir), /settings\.json: file not found/);
  // A symbolic link to nothing is said as one, with where it leads, as the CLI says a dataset's (it was "file not found").
  await symlink('gone.json', join(runDir, 'settings.json'));
  await assert.rejects(readRun(runDir), { message: `${join(runDir, 'settings.json')}: a symbolic link to ${join(runDir, 'gone.json')}, which does not exist` });
  await rm(folder, { recursive: true, force: true });
});

test('parsePredictions checks every field of the public format', () => {
  const base = JSON.parse(formatPrediction(prediction('r1', 1))) as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, id: '' }, /'id' must be a non-empty string/],
    [{ ...base, line: 0 }, /'line' must be an integer ≥ 1/],
    [{ ...base, teacher: 3 }, /'teacher' must be a string or null/],
    [{ ...base, human: false }, /'human' must be a string or null/],
    [{ ...base, suggested: null }, /'suggested' must be a string/],
    [{ ...base, flagged: 'yes' }, /'flagged' must be true or false/],
    [{ ...base, probs: { A: 2 } }, /'probs\.A' must be a number between 0 and 1/],
    [{ ...base, peer_probs: [] }, /'peer_probs' must be an object/],
    [{ ...base, vanilla_probs: undefined }, /'vanilla_probs' must be an object/],
    [{ ...base, text_digest: 'ABC' }, /'text_digest' must be 16 hex digits/],
    [{ ...base, text_digest: 7 }, /'text_digest' must be 16 hex digits/],
  ];
  for (const [value, expected] of cases) {
    assert.throws(() => parsePredictions(JSON.stringify(value), 'p.jsonl'), expected);
  }
  assert.equal(parsePredictions('', 'p.jsonl').length, 0);
  // A run made before the rows' text digests: its lines have none, and read as before.
  const { text_digest: _digest, ...old } = base;
  const [read] = parsePredictions(JSON.stringify(old), 'p.jsonl');
  assert.equal(read.text_digest, undefined);
  assert.equal(formatPrediction(read), JSON.stringify(old));
});

test('removeTempRun refuses anything but a temporary run folder', async () => {
  await assert.rejects(removeTempRun('/tmp/some-run'), /not a temporary run folder/);
  const folder = await tempFolder('temp');
  await mkdir(join(folder, '.tmp-x', 'model'), { recursive: true });
  await removeTempRun(join(folder, '.tmp-x'));
  assert.deepEqual(await readdir(folder), []);
  await rm(folder, { recursive: true, force: true });
});

test('a new run sweeps the temp folders of dead writers on this machine, never a live or unknown one', async () => {
  const folder = await tempFolder('sweep');
  const runsDir = join(folder, 'runs');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  assert.ok(deadPid > 0);
  const owners: Record<string, unknown> = {
    '.tmp-dead': { pid: deadPid, host: hostname() },
    '.tmp-live': { pid: process.pid, host: hostname() },
    '.tmp-elsewhere': { pid: deadPid, host: `${hostname()}-other` },
  };
  for (const [name, owner] of Object.entries(owners)) {
    await mkdir(join(runsDir, name), { recursive: true });
    await writeFile(join(runsDir, name, '.owner.json'), JSON.stringify(owner));
  }
  await mkdir(join(runsDir, '.tmp-unknown'));
  const writer = await RunWriter.create(runsDir, 'run-2');
  assert.deepEqual((await readdir(runsDir)).sort(), ['.tmp-elsewhere', '.tmp-live', '.tmp-run-2', '.tmp-unknown']);
  await writer.writeJson('settings.json', {});
  const runDir = await writer.commit(join(folder, 'a.jsonl'));
  assert.deepEqual((await readdir(runDir)).sort(), ['settings.json'], 'the owner file does not travel into the run');
  assert.equal(
    (await readFile(latestPointerPath(join(folder, 'a.jsonl'), runsDir), 'utf8')).trim(),
    'run-2',
    'latestPointerPath names the file the writer updated',
  );
  await rm(folder, { recursive: true, force: true });
});

test('the host side (client, protocol, artefact reader) bundles without TensorFlow.js', async () => {
  const result = await esbuild.build({
    stdin: {
      contents: "export * from './src/training/client'; export * from './src/training/artifacts'; export * from './src/training/protocol';",
      resolveDir: repoRoot,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((input) => input.endsWith('src/training/client.ts')));
  assert.deepEqual(inputs.filter((input) => input.includes('@tensorflow') || /src\/training\/(pipeline|model|student|backend)\.ts$/.test(input)), []);
});

test(".peerkd itself as the runs folder (peerkd.training.outputDir '.peerkd') is refused before any folder is made", async () => {
  const folder = await tempFolder('peerkd-as-runs');
  const dataset = join(folder, 'a.jsonl');
  await writeFile(dataset, '');
  await assert.rejects(RunWriter.create(resolveRunsDir(dataset, '.peerkd'), 'run-1'), {
    message: `${join(folder, '.peerkd')}: PeerKD's own .peerkd folder (its caches), not a runs folder: the runs go into ${join(folder, '.peerkd', 'runs')} inside it`,
  });
  assert.deepEqual(await readdir(folder), ['a.jsonl']);
  await (await RunWriter.create(resolveRunsDir(dataset, join('.peerkd', 'runs')), 'run-2')).discard();
});

test('a failed run removes only the folders it created, and only while they are empty', async () => {
  const folder = await tempFolder('cleanup');
  const dataset = join(folder, 'a.jsonl');
  await writeFile(dataset, '');

  // The worker's signal handler (synchronous) and the host after a killed worker (removeTempRun) clean up alike.
  const viaSignal = await RunWriter.create(resolveRunsDir(dataset), 'run-1');
  viaSignal.discardSync();
  assert.deepEqual(await readdir(folder), ['a.jsonl']);
  const viaHost = await RunWriter.create(resolveRunsDir(dataset), 'run-2');
  await removeTempRun(viaHost.tempDir);
  assert.deepEqual(await readdir(folder), ['a.jsonl']);

  // A configured output folder that existed before the run stays, even empty.
  const out = join(folder, 'out');
  await mkdir(out);
  await (await RunWriter.create(resolveRunsDir(dataset, out), 'run-3')).discard();
  assert.deepEqual(await readdir(out), []);

  // Another run writing in the same new runs folder keeps it (and its own temp folder).
  const first = await RunWriter.create(resolveRunsDir(dataset), 'run-4');
  const second = await RunWriter.create(resolveRunsDir(dataset), 'run-5');
  await first.discard();
  assert.deepEqual(await readdir(resolveRunsDir(dataset)), ['.tmp-run-5']);
  await second.discard();
  // run-5 did not create the folder, so it leaves it (the first run could not remove it while run-5 wrote).
  assert.deepEqual(await readdir(resolveRunsDir(dataset)), []);
  await rm(folder, { recursive: true, force: true });
});

test('predictions.jsonl holds every prediction in order, one line each, across the blocks it is written in', async () => {
  const folder = await tempFolder('many-predictions');
  const writer = await RunWriter.create(resolveRunsDir(join(folder, 'a.jsonl')), 'run-many');
  const many = Array.from({ length: 20_000 }, (_, i) => prediction(`r${i}`, i + 1));
  await writer.writePredictions(many);
  const text = await readFile(join(writer.tempDir, 'predictions.jsonl'), 'utf8');
  assert.equal(text, many.map((p) => formatPrediction(p) + '\n').join(''));
  await writer.writePredictions([]);
  assert.equal(await readFile(join(writer.tempDir, 'predictions.jsonl'), 'utf8'), '');
  await writer.discard();
});

test('run files keep every byte across the write buffer: multi-byte characters at its edges, a line larger than it', async () => {
  const folder = await tempFolder('buffer-edges');
  const writer = await RunWriter.create(resolveRunsDir(join(folder, 'a.jsonl')), 'run-edges');
  // Ids of 1 to 4 UTF-8 bytes per character and of odd lengths, so that lines end on every offset of the 1 MiB
  // buffer; one id of 3 MiB (larger than the buffer) between them.
  const pieces = ['a', 'é', '€', '😀'];
  const many = Array.from({ length: 30_000 }, (_, i) => prediction(pieces[i % 4].repeat(1 + (i % 97)), i + 1));
  many.splice(12_345, 0, prediction('€'.repeat(1 << 20), 12_346));
  await writer.writePredictions(many);
  const bytes = await readFile(join(writer.tempDir, 'predictions.jsonl'));
  assert.ok(bytes.equals(Buffer.from(many.map((p) => formatPrediction(p) + '\n').join(''), 'utf8')));
  await writer.discard();
  await rm(folder, { recursive: true, force: true });
});

test('readRun streams predictions.jsonl: a file longer than one string can hold still reads, errors name the line', async () => {
  const folder = await tempFolder('huge-predictions');
  const dataset = join(folder, 'a.jsonl');
  const runDir = await writeRun(dataset, '20260101-000000-a-000001');
  const file = join(runDir, 'predictions.jsonl');
  // A million-row run writes about 1 GB; V8 strings stop at 2^29 - 24 characters (~512 MiB). Blank lines (skipped by
  // the reader) make the file that long without a million rows in memory: 544 chunks of 1 MiB of 1023 spaces + LF.
  const chunk = Buffer.from(`${' '.repeat(1023)}\n`.repeat(1024));
  for (let i = 0; i < 544; i++) await appendFile(file, chunk);
  await appendFile(file, formatPrediction(prediction('r3', 3)) + '\n');
  const run = await readRun(runDir);
  assert.deepEqual(run.predictions.map((p) => p.id), ['r1', 'r2', 'r3']);
  // A bad line past the first chunks is named with its line number (2 rows + 544 × 1024 blank lines + r3 + this one).
  await appendFile(file, '{"id": 1}\n');
  await assert.rejects(readRun(runDir), (error: unknown) => error instanceof RunArtefactError && error.line === 2 + 544 * 1024 + 2 && error.message.startsWith(`${file}:${2 + 544 * 1024 + 2}: `));
  await rm(folder, { recursive: true, force: true });
});
