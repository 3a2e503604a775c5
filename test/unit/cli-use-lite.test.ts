/**
 * Issue 13, `--encoder use-lite` through the CLI in real processes (src/cli/main.ts under tsx, which forks the real
 * worker): the run logs its estimate and backend, caches the vectors next to the dataset, a rerun reads them all from
 * the cache, and `peerkd predict` applies the model's use-lite encoder to new rows exactly as in training.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLatestRun } from '../../src/training/artifacts';
import { readDatasetFile } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { predictModel, runDistillation } from '../../src/training/pipeline';
import { saveModel } from '../../src/training/model';
import { selectBackend } from '../../src/training/backend';
import type { TrainingRow } from '../../src/training/types';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

let folder: string;
let dataset: string;

before(async () => {
  folder = await tempFolder('cli-use-lite');
  dataset = join(folder, 'agnews-200.jsonl');
  await copyFile(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

type EncoderMetrics = { encoder: { requested: string; used: string; candidate: { name: string; version: string; dims: number }; cachedRows: number } };

test('peerkd distill --encoder use-lite: estimate and backend in run.log, vectors cached next to the dataset, a rerun reads them all from the cache, predict runs on the result', async () => {
  const first = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'wasm', '--encoder', 'use-lite', '--stages', '1'], folder);
  assert.equal(first.code, 0, first.stderr);
  const run1 = await readLatestRun(dataset);
  assert.ok(run1);
  const metrics1 = run1.metrics as EncoderMetrics;
  assert.equal(metrics1.encoder.requested, 'use-lite');
  assert.equal(metrics1.encoder.candidate.name, 'use-lite');
  assert.equal(metrics1.encoder.candidate.dims, 512);
  assert.match(metrics1.encoder.candidate.version, /^@energetic-ai\/model-embeddings-en@0\.2\.0\/sha256:[0-9a-f]{12}\/512t$/);
  assert.equal(metrics1.encoder.cachedRows, 0);
  const log1 = await readFile(join(run1.runDir, 'run.log'), 'utf8');
  assert.match(log1, /backend: wasm \(@tensorflow\/tfjs-backend-wasm\)/);
  assert.match(log1, /use-lite will encode 200 rows, about \d+( min \d+)? s on wasm \(@tensorflow\/tfjs-backend-wasm\)/);
  const cacheDir = join(folder, '.peerkd', 'embedding-cache');
  const cacheFiles = (await readdir(cacheDir)).filter((name) => name.startsWith('use-lite-'));
  assert.equal(cacheFiles.length, 1, `cache files: ${cacheFiles.join(', ')}`);
  const cacheLines = (await readFile(join(cacheDir, cacheFiles[0]), 'utf8')).trim().split('\n');
  assert.ok(cacheLines.length >= 200, `${cacheLines.length} cache lines`); // a header line and one line per distinct text

  const second = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'wasm', '--encoder', 'use-lite', '--stages', '1'], folder);
  assert.equal(second.code, 0, second.stderr);
  const run2 = await readLatestRun(dataset);
  assert.ok(run2 && run2.runDir !== run1.runDir);
  assert.equal((run2.metrics as EncoderMetrics).encoder.cachedRows, 200);
  assert.doesNotMatch(await readFile(join(run2.runDir, 'run.log'), 'utf8'), /use-lite will encode/);

  const predicted = await runCli(['predict', run2.runDir, 'agnews-200.jsonl', '--backend', 'wasm'], folder);
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.equal(predicted.stdout.trim().split('\n').length, 200);
});

test('peerkd predict recomputes the use-lite features of a use-lite model, as in training', async () => {
  const parsed = await readDatasetFile(dataset, DEFAULT_FIELDS);
  const rows: TrainingRow[] = parsed.rows.map((row) => ({ id: row.id, line: row.line, text: row.text!, teacher: row.teacher, human: row.human, teacherConfidence: null }));
  const labels = [...new Set(rows.map((row) => row.teacher!))].sort();
  await selectBackend('wasm');
  const out = await runDistillation(
    { rows, labels },
    { folds: 2, stages: 1, seed: 0, backend: 'wasm', finalTargets: 'auto', student: 'fasttext', encoder: 'use-lite' },
    // The cache next to the dataset (the first test filled it): the rows are not encoded again.
    { encoders: { cacheDir: join(folder, '.peerkd', 'embedding-cache') } },
    { keepEncoder: 'always' },
  );
  assert.equal(out.model.weights.denseDim, 512);
  const modelDir = join(folder, 'use-lite-model');
  await saveModel(out.model, modelDir, 'wasm');
  const input = join(folder, 'new.jsonl');
  const texts = ['Stocks fall as oil prices rise', 'Team wins the cup final after extra time', 'New chip doubles battery life of phones'];
  await writeFile(input, texts.map((text, i) => JSON.stringify({ id: `n${i}`, text })).join('\n') + '\n');
  const cacheDir = join(folder, '.peerkd', 'embedding-cache');
  const cacheFile = join(cacheDir, (await readdir(cacheDir)).find((name) => name.startsWith('use-lite-'))!);
  const cachedBefore = (await readFile(cacheFile, 'utf8')).trim().split('\n').length;
  const { code, stdout, stderr } = await runCli(['predict', modelDir, input, '--backend', 'wasm'], folder);
  assert.equal(code, 0, stderr);
  // predict caches the new rows' vectors next to its input, as distill does.
  assert.equal((await readFile(cacheFile, 'utf8')).trim().split('\n').length, cachedBefore + texts.length);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { probs: Record<string, number> });
  const expected = await predictModel(out.model, texts);
  lines.forEach((line, i) => labels.forEach((label, c) => assert.ok(Math.abs(line.probs[label] - expected[i * labels.length + c]) < 1e-4, `${i} ${label}: ${line.probs[label]} vs ${expected[i * labels.length + c]}`)));
  const saved = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')) as { userDefinedMetadata: { peerkd: { dense: { name: string; version: string } } } };
  assert.equal(saved.userDefinedMetadata.peerkd.dense.name, 'use-lite');
  assert.equal(saved.userDefinedMetadata.peerkd.dense.version, out.model.dense!.encoder.version);
});
