/**
 * A run's predictions stay in typed arrays (predictionTable.ts) and predictions.jsonl is written from them line by
 * line: the file must be byte for byte what the formatter of Prediction objects wrote before (JSON.stringify of the
 * ordered object, records rounded to 6 decimals), for every kind of row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { formatPrediction, PREDICTIONS_FILE, RunWriter } from '../../src/training/artifacts';
import { labelRecord } from '../../src/training/labelRecord';
import { runDistillation, type EngineTuning } from '../../src/training/pipeline';
import { PredictionTable } from '../../src/training/predictionTable';
import type { DistillOptions, Prediction } from '../../src/training/types';
import { SYNTHETIC_LABELS, syntheticRows } from '../support/syntheticRows';

/** The formatter as it was before the table (artifacts.ts at 26113ec), kept here as the reference. */
function referenceFormat(prediction: Prediction): string {
  const round6 = (value: number) => Math.round(value * 1e6) / 1e6;
  const rounded = (probs: Record<string, number>) => {
    const out = labelRecord();
    for (const [label, value] of Object.entries(probs)) out[label] = round6(value);
    return out;
  };
  const ordered: Prediction = {
    id: prediction.id,
    line: prediction.line,
    teacher: prediction.teacher,
    human: prediction.human,
    suggested: prediction.suggested,
    p_teacher_wrong: round6(prediction.p_teacher_wrong),
    flagged: prediction.flagged,
    probs: rounded(prediction.probs),
    peer_probs: rounded(prediction.peer_probs),
    vanilla_probs: rounded(prediction.vanilla_probs),
    ...(prediction.text_digest !== undefined ? { text_digest: prediction.text_digest } : {}),
  };
  return JSON.stringify(ordered);
}

const OPTIONS: DistillOptions = { folds: 2, stages: 2, seed: 5, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' };
const TINY: Partial<EngineTuning> = {
  featurizer: { buckets: 1 << 12, wordNgrams: 2, charNgrams: null },
  student: { dim: 8, epochs: 6, learningRate: 0.5, batchSize: 8, head: 'typed', minRowUpdates: 2000, maxEpochs: 40 },
};

async function writtenLines(predictions: PredictionTable | Prediction[]): Promise<string> {
  const runsDir = await mkdtemp(path.join(tmpdir(), 'peerkd-table-'));
  try {
    const writer = await RunWriter.create(runsDir, 'run');
    await writer.writePredictions(predictions);
    return await readFile(path.join(writer.tempDir, PREDICTIONS_FILE), 'utf8');
  } finally {
    await rm(runsDir, { recursive: true, force: true });
  }
}

test('predictions.jsonl written from the table is byte for byte the old formatter on every kind of row', async () => {
  // Rows without a teacher label, human labels (some from review), shuffled rows and a label order that is not the
  // canonical (sorted) one, so that the table maps both rows and record keys.
  const rows = syntheticRows(180, 40).map((row, i) => ({
    ...row,
    id: i % 17 === 3 ? 'dup' : row.id, // repeated ids keep their own line
    teacher: i % 13 === 4 ? null : row.teacher,
    ...(row.human !== null && i % 24 === 17 ? { reviewed: true } : {}),
  }));
  rows.reverse();
  const labels = ['tech', 'sport', 'money'];
  assert.notDeepEqual(labels, [...SYNTHETIC_LABELS].sort());
  const out = await runDistillation({ rows, labels }, OPTIONS, {}, { ...TINY, threads: 1 });
  const predictions = out.predictions.toArray();
  assert.equal(predictions.length, rows.length);
  const kinds = {
    human: predictions.filter((p) => p.human !== null).length,
    reviewed: rows.filter((row) => row.reviewed).length,
    withoutTeacher: predictions.filter((p) => p.teacher === null).length,
    flagged: predictions.filter((p) => p.flagged).length,
    notFlagged: predictions.filter((p) => !p.flagged).length,
  };
  for (const [kind, count] of Object.entries(kinds)) assert.ok(count > 0, `the run has ${kind} rows`);

  const text = await writtenLines(out.predictions);
  assert.equal(text, predictions.map((p) => referenceFormat(p) + '\n').join(''));
  // The rows are the caller's, in its order, with records keyed in its label order.
  predictions.forEach((p, i) => {
    assert.equal(p.id, rows[i].id);
    assert.equal(p.line, rows[i].line);
    assert.equal(p.teacher, rows[i].teacher);
    assert.equal(p.human, rows[i].human);
    assert.equal(p.text_digest, createHash('sha256').update(rows[i].text).digest('hex').slice(0, 16));
    for (const record of [p.probs, p.peer_probs, p.vanilla_probs]) assert.deepEqual(Object.keys(record), labels);
  });
  // The same objects through the array path (formatPrediction) give the same file.
  assert.equal(await writtenLines(predictions), text);
});

test('a table line is the old formatter byte for byte, whatever the labels (integer-like, __proto__, quotes, unicode)', () => {
  const labels = ['zeta', '10', '__proto__', '2', 'say "hi"\\', 'é\u2028', 'constructor', '-1', '01'];
  const recordLabels = ['10', 'zeta', 'constructor', '__proto__', '01', '-1', 'say "hi"\\', 'é\u2028', '2'];
  const n = 5;
  const values = (seed: number) => Float32Array.from({ length: n * labels.length }, (_, k) => ((k * 7919 + seed) % 1000) / 997 + (k % 3 === 0 ? 1e-7 : 0));
  const columns = {
      rows: Array.from({ length: n }, (_, i) => ({ id: i === 2 ? 'quote " and \\ and \u0000' : `r${i}`, line: i + 1, text: `text ${i} é`, teacher: i === 1 ? null : labels[i], human: i === 3 ? '__proto__' : null })),
      labels,
      suggested: Int32Array.from({ length: n }, (_, i) => (i * 4) % labels.length),
      pTeacherWrong: Float32Array.from({ length: n }, (_, i) => i / 7),
      flagged: Uint8Array.from({ length: n }, (_, i) => i % 2),
      probs: values(1),
      peerProbs: values(2),
      vanillaProbs: values(3),
  };
  const table = new PredictionTable(columns, recordLabels);
  for (let i = 0; i < n; i++) {
    const prediction = table.get(i);
    assert.deepEqual(Object.keys(prediction.probs), Object.keys(labelRecord(recordLabels.map((label) => [label, 0] as const))));
    assert.equal(table.line(i), referenceFormat(prediction), `row ${i}`);
    assert.equal(formatPrediction(prediction), referenceFormat(prediction), `row ${i}`);
  }
  // Reordered: row i of the new table is row from[i] of this one.
  const from = Int32Array.from([4, 0, 3]);
  const rows = [...from].map((k) => ({ id: `x${k}`, line: 100 + k, text: `moved ${k}`, teacher: null, human: null }));
  const reordered = table.reordered(rows, from, labels);
  [...from].forEach((k, i) => {
    const prediction = reordered.get(i);
    assert.equal(prediction.id, `x${k}`);
    assert.equal(prediction.p_teacher_wrong, table.get(k).p_teacher_wrong);
    assert.equal(prediction.suggested, table.get(k).suggested);
    for (const label of labels) assert.equal(prediction.probs[label], table.get(k).probs[label]);
    assert.equal(reordered.line(i), referenceFormat(prediction));
    // Each line records its own row's text digest: the first 16 hex digits of sha256 of the text.
    assert.equal(prediction.text_digest, createHash('sha256').update(`moved ${k}`).digest('hex').slice(0, 16));
  });
  assert.throws(() => table.get(n), /no prediction 5/);
  assert.throws(() => new PredictionTable(columns, ['zeta']), /not the table's labels/);
});
