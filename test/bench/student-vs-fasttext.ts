/**
 * One student's training time and accuracy against fastText (Debian package `fasttext`) on the same rows, epochs,
 * dimension, n-grams and buckets, run side by side; plus the TF.js dense head on the cpu and wasm backends.
 * Usage: node --import tsx test/bench/student-vs-fasttext.ts [DATA_DIR] [--epochs 25] [--dim 32] [--docs FILE]
 * Target (issue 3): our student's training time ≤ 3 × fastText's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fitFeaturizer, transform, tokenize, DEFAULT_FEATURIZER } from '../../src/training/featurize';
import { trainStudent, predictStudent, DEFAULT_STUDENT } from '../../src/training/student';
import { selectBackend } from '../../src/training/backend';
import { accuracyOf } from '../../src/training/evaluation';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { epochs: { type: 'string', default: '25' }, dim: { type: 'string', default: '32' }, docs: { type: 'string' }, 'tfjs-epochs': { type: 'string' } },
});
const dir = positionals[0] ?? '../shared/data/agnews-noisy';
const epochs = Number(values.epochs);
const dim = Number(values.dim);
const load = (file: string) => readFileSync(path.join(dir, file), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { text: string; teacher_label?: string; gold_label: string });
const train = load('train.jsonl');
const test = load('test.jsonl');
const labels = [...new Set(train.map((row) => row.gold_label))].sort();
const classes = labels.length;
const trainLabel = (row: (typeof train)[number]) => row.teacher_label ?? row.gold_label;

function fastText(threads: number): { seconds: number; accuracy: number } | { error: string } {
  const work = mkdtempSync(path.join(tmpdir(), 'peerkd-fasttext-'));
  try {
    const line = (label: string, text: string) => `__label__${label.replace(/\s/g, '_')} ${tokenize(text).join(' ')}`;
    writeFileSync(path.join(work, 'train.txt'), train.map((row) => line(trainLabel(row), row.text)).join('\n') + '\n');
    writeFileSync(path.join(work, 'test.txt'), test.map((row) => line(row.gold_label, row.text)).join('\n') + '\n');
    const args = ['supervised', '-input', 'train.txt', '-output', 'model', '-epoch', String(epochs), '-dim', String(dim), '-wordNgrams', '2',
      '-bucket', String(DEFAULT_FEATURIZER.buckets), '-lr', String(DEFAULT_STUDENT.learningRate), '-minCount', '1', '-thread', String(threads), '-verbose', '0'];
    const started = performance.now();
    const run = spawnSync('fasttext', args, { cwd: work, encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    if (run.error || run.status !== 0) return { error: String(run.error?.message ?? run.stderr) };
    const scored = spawnSync('fasttext', ['test', 'model.bin', 'test.txt'], { cwd: work, encoding: 'utf8' });
    const precision = /P@1\s+([\d.]+)/.exec(scored.stdout);
    return { seconds, accuracy: precision ? Number(precision[1]) : NaN };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function ours(head: 'typed' | 'tfjs', backend: 'cpu' | 'wasm', runEpochs: number) {
  const { tf } = await selectBackend(backend);
  const featurizer = fitFeaturizer(train.map((row) => row.text), DEFAULT_FEATURIZER);
  const features = transform(featurizer, train.map((row) => row.text));
  const targets = new Float32Array(train.length * classes);
  train.forEach((row, i) => (targets[i * classes + labels.indexOf(trainLabel(row))] = 1));
  const started = performance.now();
  const weights = await trainStudent({ features, targets, weights: new Float32Array(train.length).fill(1) }, featurizer.config.buckets, classes,
    { ...DEFAULT_STUDENT, dim, epochs: runEpochs, head, seed: 0 }, { tf });
  const seconds = (performance.now() - started) / 1000;
  const probs = predictStudent(weights, transform(featurizer, test.map((row) => row.text)));
  return { seconds, accuracy: accuracyOf(probs, Int32Array.from(test, (row) => labels.indexOf(row.gold_label)), classes) };
}

(async () => {
  const tfjsEpochs = Number(values['tfjs-epochs'] ?? epochs);
  const rows: string[] = [];
  const add = (name: string, runEpochs: number, result: { seconds: number; accuracy: number } | { error: string }) => {
    if ('error' in result) rows.push(`| ${name} | ${runEpochs} | — | — | — | ${result.error.split('\n')[0]} |`);
    else rows.push(`| ${name} | ${runEpochs} | ${result.seconds.toFixed(2)} | ${Math.round((train.length * runEpochs) / result.seconds)} | ${result.accuracy.toFixed(4)} | |`);
    process.stderr.write(rows[rows.length - 1] + '\n');
    return result;
  };
  const ft2 = add('fastText 0.9.2 (C++), 2 threads', epochs, fastText(2));
  add('fastText 0.9.2 (C++), 1 thread', epochs, fastText(1));
  const typed = add('PeerKD student, typed-array dense head (1 thread)', epochs, await ours('typed', 'cpu', epochs));
  add('PeerKD student, TF.js dense head on `cpu`', tfjsEpochs, await ours('tfjs', 'cpu', tfjsEpochs));
  add('PeerKD student, TF.js dense head on `wasm`', tfjsEpochs, await ours('tfjs', 'wasm', tfjsEpochs));
  const ratio = 'seconds' in ft2 && 'seconds' in typed ? typed.seconds / ft2.seconds : NaN;
  const table = [
    `Command: \`node --import tsx test/bench/student-vs-fasttext.ts ${dir} --epochs ${epochs} --dim ${dim}\` — ${train.length} rows (teacher labels), ` +
      `dim ${dim}, word uni+bigrams, ${DEFAULT_FEATURIZER.buckets} buckets, lr ${DEFAULT_STUDENT.learningRate} (linear decay); test accuracy on ${test.length} rows.`,
    '',
    '| student | epochs | training s | row-epochs/s | test accuracy | note |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    `Our typed-array student / fastText (2 threads) training time: **${ratio.toFixed(2)}×** (target ≤ 3×: ${ratio <= 3 ? 'met' : 'not met'}).`,
  ].join('\n');
  process.stdout.write(table + '\n');
  if (values.docs) {
    const text = readFileSync(values.docs, 'utf8');
    const start = '<!-- fasttext:start -->';
    const end = '<!-- fasttext:end -->';
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${values.docs} has no ${start} … ${end} block`);
    writeFileSync(values.docs, text.slice(0, from + start.length) + '\n' + table + '\n' + text.slice(to));
  }
})();
