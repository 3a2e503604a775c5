/**
 * The host↔worker runtime with a REAL child process: the scripted worker (test/fixtures/training/scripted-worker.ts)
 * is the real serveWorker with a scripted engine, bundled by esbuild and forked by the real client.
 */
import { after, before, describe, test } from 'node:test';
import { fork, spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { PREDICTION_FIELDS, processIsAlive, readLatestRun, resolveRunsDir } from '../../src/training/artifacts';
import { DistillationError, MAX_OUTPUT_LINE_CHARS, startDistillation, type WorkerLaunchOptions } from '../../src/training/client';
import { DEFAULT_DISTILL_OPTIONS, datasetSourceDescription, parseWorkerMessage, type DistillationRequest, type LogLine } from '../../src/training/protocol';
import type { DistillProgress } from '../../src/training/types';
import { bundleWorker, datasetLines, repoRoot, tempFolder, writeDataset } from '../fixtures/training/build';

let workDir: string;
let workerPath: string;

before(async () => {
  workDir = await tempFolder('client');
  workerPath = await bundleWorker('test/fixtures/training/scripted-worker.ts', workDir, 'scripted-worker');
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function launch(behaviour: string, extra: WorkerLaunchOptions = {}): WorkerLaunchOptions {
  return {
    workerPath,
    memoryLimitMb: 256,
    env: { ...process.env, PEERKD_TEST_WORKER: behaviour },
    cancelGraceMs: 300,
    killGraceMs: 300,
    ...extra,
  };
}

function request(datasetPath: string, extra: Partial<DistillationRequest> = {}): DistillationRequest {
  return { datasetPath, fields: DEFAULT_FIELDS, labels: [], options: { ...DEFAULT_DISTILL_OPTIONS }, ...extra };
}

async function rejection(promise: Promise<unknown>): Promise<DistillationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DistillationError, `expected a DistillationError, got ${String(error)}`);
    return error;
  }
  assert.fail('the run was expected to fail');
}

async function runsFolderEntries(datasetPath: string): Promise<string[]> {
  return (await readdir(resolveRunsDir(datasetPath))).sort();
}

/** A failed or cancelled first run leaves nothing new next to the dataset: no `.peerkd/runs`, empty or not. */
async function assertNothingLeftBehind(datasetPath: string): Promise<void> {
  assert.deepEqual(await readdir(dirname(datasetPath)), [basename(datasetPath)]);
}

describe('training worker runtime (real child process)', () => {
  test('a run reports progress and logs, then its result; the artefacts are complete and in place', async () => {
    const folder = await tempFolder('ok');
    const lines = datasetLines(40);
    lines.splice(5, 0, '{"id": "broken", "text": ');
    lines.push(JSON.stringify({ id: 'no-text', teacher_label: 'World' }));
    const dataset = await writeDataset(folder, 'news.jsonl', lines);
    const progress: DistillProgress[] = [];
    const logs: LogLine[] = [];
    let startedId: string | undefined;
    const run = startDistillation(
      request(dataset),
      { onProgress: (p) => progress.push(p), onLog: (line) => logs.push(line), onStarted: ({ runId }) => (startedId = runId) },
      launch('ok'),
    );
    const result = await run.done;

    assert.equal(result.runId, startedId);
    assert.equal(run.runId, result.runId);
    assert.ok(progress.some((p) => p.phase === 'peer' && p.epoch === 1 && p.fraction > 0), 'peer progress arrived');
    assert.ok(progress.some((p) => p.phase === 'write'), 'write progress arrived');
    assert.ok(logs.some((line) => line.message.includes('scripted engine (ok): 40 rows')), 'method log arrived');
    assert.ok(logs.some((line) => /news\.jsonl:6: Invalid JSON/.test(line.message)), 'the invalid line is named in the log');

    assert.equal(result.summary.counts.rows, 40);
    assert.equal(result.summary.counts.invalidLines, 1);
    assert.equal(result.summary.counts.skippedNoText, 1);
    assert.equal(result.summary.counts.humanLabelled, 4);
    assert.equal(result.summary.backend, 'scripted');
    assert.equal(result.summary.finalStudentHumanAccuracy, 0.5);
    assert.equal(result.summary.teacherAgreementWithHumans, 1);

    assert.deepEqual(await runsFolderEntries(dataset), [result.runId, 'latest', 'latest-by-dataset']);
    const predictionsText = await readFile(join(result.runDir, 'predictions.jsonl'), 'utf8');
    const predictionLines = predictionsText.trim().split('\n');
    assert.equal(predictionLines.length, 40);
    assert.deepEqual(Object.keys(JSON.parse(predictionLines[0]) as object), [...PREDICTION_FIELDS]);
    assert.equal((await readFile(join(resolveRunsDir(dataset), 'latest'), 'utf8')).trim(), result.runId);
    assert.match(await readFile(join(result.runDir, 'run.log'), 'utf8'), /scripted engine \(ok\)/);
    assert.ok((await readdir(join(result.runDir, 'model'))).includes('model.json'));

    const latest = await readLatestRun(dataset);
    assert.ok(latest);
    assert.equal(latest.runId, result.runId);
    assert.equal(latest.predictions.length, 40);
    assert.equal(latest.settings.datasetSource, 'file');
    assert.equal(latest.settings.labelsSource, 'inferred');
    assert.deepEqual(latest.settings.labels, ['Business', 'Sci/Tech', 'Sports', 'World']);
    assert.equal(latest.settings.counts.invalidLines, 1);
    await rm(folder, { recursive: true, force: true });
  });

  test("the editor's unsaved text is what the run reads", async () => {
    const folder = await tempFolder('text');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(12));
    const edited = datasetLines(20).join('\n');
    const result = await startDistillation(request(dataset, { datasetText: edited }), {}, launch('ok')).done;
    assert.equal(result.summary.counts.rows, 20);
    const latest = await readLatestRun(dataset);
    assert.equal(latest?.settings.datasetSource, 'editor');
    // One wording for the source in the extension's log and the run's log (issue 10 §3.8): never "unsaved edits
    // included" for a run the extension logged as reading saved text.
    const runLog = await readFile(join(result.runDir, 'run.log'), 'utf8');
    assert.match(runLog, new RegExp(`dataset .*data\\.jsonl \\(the editor's text\\)`));
    assert.doesNotMatch(runLog, /unsaved/);
    assert.equal(datasetSourceDescription({ datasetText: edited }), "the editor's text");
    assert.equal(datasetSourceDescription({ datasetText: edited }, true), "the editor's text, with unsaved edits");
    assert.equal(datasetSourceDescription({ datasetText: edited }, false), "the editor's text, the same as the saved file");
    assert.equal(datasetSourceDescription({}, false), 'the file on disk');
    await rm(folder, { recursive: true, force: true });
  });

  test('cancel mid-run: the run rejects as cancelled, leaves no artefacts, and the earlier run stays the latest', async () => {
    const folder = await tempFolder('cancel');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(30));
    const first = await startDistillation(request(dataset), {}, launch('ok')).done;

    let cancelled = false;
    const run = startDistillation(
      request(dataset),
      {
        onProgress: (p) => {
          if (p.phase === 'peer' && p.epoch === 2 && !cancelled) {
            cancelled = true;
            void run.cancel();
          }
        },
      },
      launch('slow'),
    );
    const error = await rejection(run.done);
    assert.equal(error.kind, 'cancelled');
    assert.ok(cancelled);
    await run.cancel(); // resolves at once once the worker is gone
    assert.deepEqual(await runsFolderEntries(dataset), [first.runId, 'latest', 'latest-by-dataset']);
    assert.equal((await readLatestRun(dataset))?.runId, first.runId);
    await rm(folder, { recursive: true, force: true });
  });

  test('an AbortSignal cancels like cancel()', async () => {
    const folder = await tempFolder('abort');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(30));
    const controller = new AbortController();
    const run = startDistillation(
      request(dataset),
      { signal: controller.signal, onProgress: (p) => p.phase === 'peer' && controller.abort() },
      launch('slow'),
    );
    assert.equal((await rejection(run.done)).kind, 'cancelled');
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('a worker that ignores cancel and SIGTERM is killed, and the host removes its temp folder', async () => {
    const folder = await tempFolder('busy');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(30));
    let tempSeen = false;
    const run = startDistillation(
      request(dataset),
      {
        onLog: (line) => {
          if (line.message === 'blocking the event loop') void run.cancel();
        },
        onStarted: () => (tempSeen = true),
      },
      launch('busy'),
    );
    const error = await rejection(run.done);
    assert.equal(error.kind, 'cancelled');
    assert.ok(tempSeen);
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('a crashing worker rejects the run with its last log lines, and leaves no artefacts', async () => {
    const folder = await tempFolder('crash');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(30));
    const error = await rejection(startDistillation(request(dataset), {}, launch('crash')).done);
    assert.equal(error.kind, 'crashed');
    assert.match(error.message, /exited with code 3/);
    assert.match(error.message, /about to crash in epoch 2/);
    assert.ok(error.logTail.some((line) => line.includes('about to crash in epoch 2')));
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('a worker that runs out of memory is reported as such', async () => {
    const folder = await tempFolder('oom');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(30));
    const error = await rejection(startDistillation(request(dataset), {}, launch('oom', { memoryLimitMb: 48 })).done);
    assert.equal(error.kind, 'out-of-memory');
    assert.match(error.message, /ran out of memory \(limit 48 MB\)/);
    // README: the error names the setting (and the CLI's flag) that raises the limit.
    assert.match(error.message, /Raise the limit \(setting peerkd\.training\.memoryLimitMb, or --memory MB on the command line\) or use a smaller dataset\./);
    assert.match(error.message, /allocating without limit/);
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('a worker flooding stderr (an 8 MB line, then 20,000 lines): every log line is cut to a readable length, the error shows the last ones, nothing stays', async () => {
    const folder = await tempFolder('flood');
    const dataset = await writeDataset(folder, 'news.jsonl', datasetLines(20));
    const logs: LogLine[] = [];
    const run = startDistillation(request(dataset), { onLog: (line) => logs.push(line) }, launch('flood'));
    const error = await rejection(run.done);
    assert.equal(error.kind, 'crashed');
    assert.match(error.message, /^The training worker exited with code 3 before finishing\./);
    assert.match(error.message, /last words before the crash/);
    const stderr = logs.filter((line) => line.source === 'stderr');
    // The log keeps every line: the huge one cut, with how much was cut, and all the short ones.
    const huge = stderr.find((line) => line.message.startsWith('xxxx'));
    assert.ok(huge, 'the huge line is logged');
    assert.ok(huge.message.length <= MAX_OUTPUT_LINE_CHARS + 60, `the huge line is cut (${huge.message.length} characters)`);
    assert.match(huge.message, new RegExp(`… \\(${(8 * 1024 * 1024 - MAX_OUTPUT_LINE_CHARS).toLocaleString('en-US')} more characters cut\\)$`));
    assert.equal(stderr.filter((line) => /^noise \d+$/.test(line.message)).length, 20_000);
    assert.ok(stderr.every((line) => line.message.length <= MAX_OUTPUT_LINE_CHARS + 60));
    // What a user reads stays short; no line of the tail is a megabyte.
    assert.ok(error.message.length < 4000, `the error is ${error.message.length} characters`);
    await assertNothingLeftBehind(dataset);
  });

  test('a worker killed from outside (SIGKILL) mid-run: one clear error, its temp folder removed, no run left', async () => {
    const folder = await tempFolder('sigkill');
    const dataset = await writeDataset(folder, 'news.jsonl', datasetLines(20));
    let progressed = false;
    const run = startDistillation(request(dataset), { onProgress: (p) => void (p.fraction > 0 && (progressed = true)) }, launch('slow'));
    // Mid-run: once the worker trains (a killed worker that had not yet said where its temp folder is leaves it to the
    // next run's sweep of abandoned folders, artifacts.ts sweepAbandonedRuns).
    for (let tries = 0; tries < 500 && !progressed; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    const temp = (await readdir(resolveRunsDir(dataset))).find((name) => name.startsWith('.tmp-'));
    assert.ok(temp && progressed, 'the run started');
    const tempDir = join(resolveRunsDir(dataset), temp);
    // The worker's pid, as a user finds it with `ps`: here, from the owner file of its temp run folder.
    const pid = await readFile(join(tempDir, '.owner.json'), 'utf8').then((text) => (JSON.parse(text) as { pid: number }).pid);
    assert.ok(pid, 'the owner file names the worker');
    process.kill(pid, 'SIGKILL');
    const error = await rejection(run.done);
    assert.equal(error.kind, 'crashed');
    assert.match(error.message, /^The training worker was killed by SIGKILL \(the system may have run out of memory\) before finishing\./);
    await run.cancel(); // resolves: the worker is gone and cleaned up
    await assertNothingLeftBehind(dataset);
  });

  for (const behaviour of ['slow', 'busy']) {
    test(`a host that exits mid-run (the window closed) leaves no worker behind, even one that blocks its event loop (${behaviour})`, async () => {
      const folder = await tempFolder(`host-exit-${behaviour}`);
      const dataset = await writeDataset(folder, 'news.jsonl', datasetLines(20));
      const host = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, join(repoRoot, 'test/fixtures/training/exiting-host.ts'), dataset, workerPath], {
        env: { ...process.env, PEERKD_TEST_WORKER: behaviour },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      host.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const [code] = (await once(host, 'close')) as [number | null];
      assert.equal(code, 0, stdout);
      const pid = Number(stdout.trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `the host printed the worker's pid: ${stdout}`);
      try {
        for (let tries = 0; tries < 100 && processIsAlive(pid); tries++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(processIsAlive(pid), false, 'the worker is gone with its host');
        // Its temp run folder too: nothing of the run is left next to the dataset.
        for (let tries = 0; tries < 50 && (await readdir(folder)).length > 1; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
        await assertNothingLeftBehind(dataset);
      } finally {
        if (processIsAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  test('a worker that never answers the start message times out and is stopped', async () => {
    const folder = await tempFolder('hang');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(10));
    const started = Date.now();
    const error = await rejection(startDistillation(request(dataset), {}, launch('hang', { startTimeoutMs: 400 })).done);
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /did not answer within 0\.4 s/);
    assert.ok(Date.now() - started < 10_000);
  });

  test('a worker that goes silent mid-run is stopped by the inactivity timeout', async () => {
    const folder = await tempFolder('silent');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(10));
    const error = await rejection(startDistillation(request(dataset), {}, launch('busy', { inactivityTimeoutMs: 500 })).done);
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /sent nothing for 0.5 s and was stopped/);
    assert.match(error.message, /blocking the event loop/);
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('cancel right after start, before the handshake, still ends cleanly', async () => {
    const folder = await tempFolder('early-cancel');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(10));
    const run = startDistillation(request(dataset), {}, launch('slow'));
    await run.cancel();
    assert.equal((await rejection(run.done)).kind, 'cancelled');
    assert.deepEqual(await runsFolderEntries(dataset).catch(() => []), []);
    await rm(folder, { recursive: true, force: true });
  });

  test('SIGTERM while the run folder is being created removes what was made: no .peerkd, no .tmp folder', async () => {
    const folder = await tempFolder('sigterm-creating');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(10));
    // The worker's SIGTERM handler gets 10 s before SIGKILL; the creation is held for 5 s once the runs folder exists.
    const run = startDistillation(request(dataset), {}, launch('slow-create', { cancelGraceMs: 0, killGraceMs: 10_000 }));
    const runsDir = resolveRunsDir(dataset);
    const deadline = Date.now() + 30_000;
    while (!(await readdir(runsDir).then(() => true, () => false))) {
      assert.ok(Date.now() < deadline, 'the runs folder was never made');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(run.runId, undefined, 'the run had not started (its folder is still being made)');
    await run.cancel();
    assert.equal((await rejection(run.done)).kind, 'cancelled');
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('a malformed message from the worker fails the run as a protocol error', async () => {
    const folder = await tempFolder('garbage');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(10));
    const error = await rejection(startDistillation(request(dataset), {}, launch('garbage')).done);
    assert.equal(error.kind, 'protocol');
    assert.match(error.message, /progress\.phase must be one of/);
    await rm(folder, { recursive: true, force: true });
  });

  test('the worker rejects a malformed start message with a protocol error and exits', async () => {
    const child = fork(workerPath, [], { env: { ...process.env, PEERKD_TEST_WORKER: 'ok' }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const messages: unknown[] = [];
    child.on('message', (message) => messages.push(message));
    child.send({ type: 'start', request: { datasetPath: 42 } });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1);
    const parsed = messages.map((message) => parseWorkerMessage(message));
    const error = parsed.find((entry) => entry.ok && entry.message.type === 'error');
    assert.ok(error && error.ok && error.message.type === 'error');
    assert.equal(error.message.kind, 'protocol');
    assert.match(error.message.message, /start\.request\.datasetPath must be a non-empty string/);
  });

  test('input the method cannot use fails with the file and line, and leaves no artefacts', async () => {
    const folder = await tempFolder('input');
    const lines = [
      JSON.stringify({ text: 'a', teacher_label: 'World' }),
      JSON.stringify({ text: 'b', teacher_label: 'World' }),
    ];
    const dataset = await writeDataset(folder, 'one-label.jsonl', lines);
    const error = await rejection(startDistillation(request(dataset), {}, launch('ok')).done);
    assert.equal(error.kind, 'input');
    assert.match(error.message, /one-label\.jsonl:1: every label in the dataset is 'World'/);
    await assertNothingLeftBehind(dataset);
    await rm(folder, { recursive: true, force: true });
  });

  test('an output folder that cannot be created fails the run with a clear reason', async () => {
    const folder = await tempFolder('outdir');
    const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(10));
    const error = await rejection(startDistillation(request(dataset, { outputDir: join(dataset, 'runs') }), {}, launch('ok')).done);
    assert.equal(error.kind, 'failed');
    assert.match(error.message, /^Distillation failed: cannot create the run folder in .*data\.jsonl\/runs: ENOTDIR/);
    await rm(folder, { recursive: true, force: true });
  });

  test('an invalid request is rejected before any process starts', async () => {
    const bad = request('/tmp/x.jsonl', { options: { ...DEFAULT_DISTILL_OPTIONS, folds: 1 } });
    const error = await rejection(startDistillation(bad, {}, launch('ok')).done);
    assert.equal(error.kind, 'input');
    assert.match(error.message, /options\.folds must be an integer ≥ 2/);
  });
});
