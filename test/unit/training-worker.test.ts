/**
 * The real worker entry (src/training/worker.ts, bundled by esbuild the way dist/worker.js is) running the real
 * method on 200 rows of NoisyAG-News: progress, result, artefacts, and cancel mid-run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { PREDICTION_FIELDS, readLatestRun, resolveRunsDir } from '../../src/training/artifacts';
import { DistillationError, startDistillation, type WorkerLaunchOptions } from '../../src/training/client';
import { DEFAULT_DISTILL_OPTIONS, type DistillationRequest } from '../../src/training/protocol';
import type { DistillPhase } from '../../src/training/types';
import { bundleWorker, repoRoot, tempFolder } from '../fixtures/training/build';

let folder: string;
let dataset: string;
let launch: WorkerLaunchOptions;

before(async () => {
  folder = await tempFolder('real-worker');
  launch = { workerPath: await bundleWorker('src/training/worker.ts', folder, 'worker'), cancelGraceMs: 1000, killGraceMs: 1000 };
  dataset = join(folder, 'agnews-200.jsonl');
  await copyFile(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function request(): DistillationRequest {
  // The cpu backend starts fastest; the backend order itself is the method's to test.
  return { datasetPath: dataset, fields: DEFAULT_FIELDS, labels: [], options: { ...DEFAULT_DISTILL_OPTIONS, backend: 'cpu' } };
}

test('the real worker runs the method: progress through every phase, then a complete run on disk', async () => {
  const phases = new Set<DistillPhase>();
  const result = await startDistillation(request(), { onProgress: (p) => phases.add(p.phase) }, launch).done;
  for (const phase of ['vanilla', 'peer', 'final', 'write'] as const) assert.ok(phases.has(phase), `progress of phase ${phase}`);

  assert.equal(result.summary.counts.rows, 200);
  assert.equal(result.summary.counts.humanLabelled, 20);
  assert.equal(result.summary.backend, 'cpu');
  const lines = (await readFile(join(result.runDir, 'predictions.jsonl'), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 200);
  const first = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), [...PREDICTION_FIELDS]);
  assert.equal(first.human, 'Business');
  assert.equal(first.p_teacher_wrong, 0, 'a human-labelled row is never suspected');
  const metrics = JSON.parse(await readFile(join(result.runDir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  // What the engine did by itself reaches the summary, as metrics.json records it.
  assert.deepEqual(result.summary.adopted, { labels: metrics.changedCount, weighting: metrics.finalWeighting });
  assert.ok('humanCheck' in metrics, "metrics.json holds the method's metrics");
  assert.ok('run' in metrics, 'and the run facts');
  assert.ok((await readdir(join(result.runDir, 'model'))).includes('model.json'));

  // Cancel a second run in the middle: nothing of it remains and the first run is still the latest.
  let cancelled = false;
  const second = startDistillation(
    request(),
    {
      onProgress: (p) => {
        if (p.phase === 'peer' && !cancelled) {
          cancelled = true;
          void second.cancel();
        }
      },
    },
    launch,
  );
  await assert.rejects(second.done, (error: unknown) => error instanceof DistillationError && error.kind === 'cancelled');
  assert.deepEqual((await readdir(resolveRunsDir(dataset))).sort(), [result.runId, 'latest', 'latest-by-dataset']);
  const latest = await readLatestRun(dataset);
  assert.equal(latest?.runId, result.runId);
  assert.equal(latest?.predictions.length, 200);
});
