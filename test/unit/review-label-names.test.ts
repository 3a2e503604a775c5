/**
 * Labels are user data: `__proto__`, `constructor` and `toString` must survive every label-keyed path — training
 * output (predictions.jsonl), reading a run back, the review model and its probability table (panel and hover),
 * `peerkd predict`. A real `peerkd distill` in its own process, then predict and the review model in process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createPredictCommand } from '../../src/cli/predict';
import { confusionTable, countRows, type DocumentRowState } from '../../src/review/model';
import { buildReviewRows } from '../../src/review/reviewRows';
import { labelProbabilities } from '../../src/review/view';
import { formatPrediction, parsePredictions, readLatestRun } from '../../src/training/artifacts';
import { labelRecord, probabilityOf } from '../../src/training/labelRecord';
import type { Prediction } from '../../src/training/types';
import { runCli, tempFolder, writeDataset } from '../fixtures/training/build';

const LABELS = ['__proto__', 'constructor', 'toString'];
const WORDS: Record<string, string[]> = {
  __proto__: ['prototype', 'chain', 'inherit', 'object'],
  constructor: ['build', 'new', 'instance', 'create'],
  toString: ['text', 'format', 'print', 'string'],
};

let folder: string;
let dataset: string;

/** 60 rows, 20 per label, a few teacher mistakes, every fifth row human-labelled. */
function fixtureLines(): string[] {
  const lines: string[] = [];
  for (let index = 0; index < 60; index++) {
    const label = LABELS[index % 3];
    const words = WORDS[label];
    const text = `${words[index % 4]} ${words[(index + 1) % 4]} ${words[(index + 2) % 4]} item ${index}`;
    const teacher = index % 11 === 4 ? LABELS[(index + 1) % 3] : label;
    const row: Record<string, unknown> = { id: `r${index}`, text, teacher_label: teacher };
    if (index % 5 === 0) row.human_label = label;
    lines.push(JSON.stringify(row));
  }
  return lines;
}

before(async () => {
  folder = await tempFolder('label-names');
  dataset = await writeDataset(folder, 'names.jsonl', fixtureLines());
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function assertEveryLabel(record: Record<string, number>, where: string): void {
  assert.deepEqual(Object.keys(record).sort(), [...LABELS].sort(), `${where}: ${JSON.stringify(record)}`);
  for (const label of LABELS) {
    const value = probabilityOf(record, label);
    assert.equal(typeof value, 'number', `${where}.${label}`);
  }
}

test('distill, read back, review and predict keep the labels __proto__, constructor and toString', async () => {
  const { code, stderr } = await runCli(['distill', 'names.jsonl', '--backend', 'cpu', '--seed', '0'], folder);
  assert.equal(code, 0, stderr);
  const run = await readLatestRun(dataset);
  assert.ok(run);
  assert.deepEqual([...run.settings.labels].sort(), [...LABELS].sort());
  assert.equal(run.predictions.length, 60);
  for (const prediction of run.predictions) {
    assert.ok(LABELS.includes(prediction.suggested));
    assertEveryLabel(prediction.probs, `line ${prediction.line} probs`);
    assertEveryLabel(prediction.peer_probs, `line ${prediction.line} peer_probs`);
    assertEveryLabel(prediction.vanilla_probs, `line ${prediction.line} vanilla_probs`);
    const sum = Object.values(prediction.probs).reduce((total, p) => total + p, 0);
    assert.ok(Math.abs(sum - 1) < 1e-3, `line ${prediction.line}: probs sum to ${sum}`);
  }

  // The review model over every prediction (flag them all so the test does not depend on what the run flags).
  const documentRows = new Map<string, DocumentRowState>(
    run.predictions.map((prediction) => [prediction.id, { line: prediction.line, text: 'x', teacher: prediction.teacher, human: prediction.human }]),
  );
  const rows = buildReviewRows(run.predictions.map((prediction) => ({ ...prediction, flagged: true })), documentRows, { minProbability: 0 });
  assert.equal(rows.length, 60);
  for (const row of rows) {
    const table = labelProbabilities(row);
    assert.deepEqual(table.map((entry) => entry.label).sort(), [...LABELS].sort());
    for (const entry of table) {
      assert.equal(typeof entry.advised, 'number');
      assert.equal(typeof entry.peer, 'number');
      assert.equal(typeof entry.vanilla, 'number');
    }
  }
  const counts = countRows(rows);
  assert.equal(counts.flagged, 60);
  const confusion = confusionTable(rows, LABELS);
  const total = confusion.counts.flat().reduce((sum, count) => sum + count, 0);
  assert.equal(total, 60);

  // peerkd predict with the run's model.
  let out = '';
  let err = '';
  const io = { stdout: { write: (text: string) => (out += text), isTTY: false }, stderr: { write: (text: string) => (err += text), isTTY: false } };
  assert.equal(await createPredictCommand(io).run([run.runDir, dataset, '--backend', 'cpu']), 0, err);
  const lines = out.trim().split('\n').map((line) => JSON.parse(line) as { id: string; predicted: string; probs: Record<string, number> });
  assert.equal(lines.length, 60);
  for (const line of lines) {
    assert.ok(LABELS.includes(line.predicted));
    assertEveryLabel(line.probs, `predict ${line.id}`);
  }
});

function prediction(probs: Record<string, number>): Prediction {
  return { id: 'a', line: 1, teacher: 'toString', human: null, suggested: '__proto__', p_teacher_wrong: 0.9, flagged: true, probs, peer_probs: probs, vanilla_probs: probs };
}

test('predictions.jsonl written and read back keeps a __proto__ label; absent labels never read Object.prototype', () => {
  const probs = labelRecord([['__proto__', 0.7], ['toString', 0.3]]);
  const line = formatPrediction(prediction(probs));
  assert.match(line, /"probs":\{"__proto__":0\.7,"toString":0\.3\}/);
  const [read] = parsePredictions(line + '\n', 'predictions.jsonl');
  assert.equal(probabilityOf(read.probs, '__proto__'), 0.7);
  assert.equal(probabilityOf(read.probs, 'constructor'), undefined);
  // Rebuilt without a prototype: even a plain index of an absent label is undefined, not Object's constructor.
  assert.equal((read.probs as Record<string, unknown>).constructor, undefined);
});

test('the probability table (panel and hover) of a row missing a label shows it as absent, not as a function', () => {
  // A record as another tool might write it: a plain object (with Object.prototype), 'constructor' absent.
  const plain = JSON.parse('{"__proto__": 0.6, "toString": 0.4}') as Record<string, number>;
  const table = labelProbabilities({ probs: plain, peerProbs: { toString: 1 }, vanillaProbs: {} });
  assert.deepEqual(table, [
    { label: '__proto__', advised: 0.6, peer: null, vanilla: null },
    { label: 'toString', advised: 0.4, peer: 1, vanilla: null },
  ]);
});
