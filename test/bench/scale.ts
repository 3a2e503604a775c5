/**
 * Scale benchmark of the training engine (`npm run bench:scale`, issue 11).
 *
 * Prints, side by side in one run, for the first 1,000 and 10,000 rows of ../shared/data/agnews-noisy/train.jsonl
 * (50 of them given their gold label as the human label, as `peerkd bench` does):
 *   - the whole runDistillation: wall time, CPU time (user + system, all threads), CPU / wall, peak RSS;
 *   - one student (the default student, 5 epochs, on the 10,000 rows' features): CPU time per epoch.
 * Each measurement runs in a fresh `node` process, so that each peak RSS is its own.
 *
 * No fastText binary is installed here, so the issue's fastText comparison is not made by this script.
 *
 * Options: --reps N (default 1), --rows 1000,10000, --threads N (0 = the engine's default).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runDistillation, DEFAULT_TUNING, type EngineTuning } from '../../src/training/pipeline';
import { fitTransform, compactBuckets } from '../../src/training/featurize';
import { trainStudent, DEFAULT_STUDENT } from '../../src/training/student';
import type { TrainingRow } from '../../src/training/types';

const SOURCE = join(__dirname, '..', '..', '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
const HUMAN_ROWS = 50;
const STUDENT_EPOCHS = 5;

interface Measurement {
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  /** One student only: CPU per epoch. */
  cpuPerEpochMs?: number;
}

function readRows(limit: number): { rows: TrainingRow[]; labels: string[] } {
  const lines = readFileSync(SOURCE, 'utf8').split('\n').filter((line) => line.trim()).slice(0, limit);
  const rows = lines.map((line, i): TrainingRow => {
    const value = JSON.parse(line) as { id: string; text: string; teacher_label: string | null; gold_label: string };
    // Every 200th row (a fixed, spread-out subset) carries its gold label as the human label.
    const human = i % Math.floor(limit / HUMAN_ROWS) === 0 ? value.gold_label : null;
    return { id: value.id, line: i + 1, text: value.text, teacher: value.teacher_label, human, teacherConfidence: null };
  });
  const labels = [...new Set(rows.flatMap((row) => [row.teacher, row.human]).filter((label): label is string => label !== null))].sort();
  return { rows, labels };
}

async function child(mode: string, limit: number, threads: number): Promise<Measurement> {
  const input = readRows(limit);
  const tuning: Partial<EngineTuning> = threads > 0 ? ({ threads } as Partial<EngineTuning>) : {};
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let cpuPerEpochMs: number | undefined;
  if (mode === 'distill') {
    await runDistillation(input, { folds: 2, stages: 2, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext' }, {}, tuning);
  } else if (mode === 'student') {
    const texts = input.rows.map((row) => row.text);
    // As the pipeline does: featurised once, the used buckets numbered densely.
    const fitted = fitTransform(texts, DEFAULT_TUNING.featurizer);
    const { features, rowBuckets } = compactBuckets(fitted.features, fitted.featurizer.config.buckets);
    const index = new Map(input.labels.map((label, i) => [label, i]));
    const targets = new Float32Array(texts.length * input.labels.length);
    input.rows.forEach((row, i) => (targets[i * input.labels.length + index.get(row.teacher ?? row.human!)!] = 1));
    const options = { ...DEFAULT_STUDENT, epochs: STUDENT_EPOCHS, minRowUpdates: 0 };
    const trainCpu = process.cpuUsage();
    await trainStudent({ features, targets, weights: new Float32Array(texts.length).fill(1) }, rowBuckets.length, input.labels.length, options);
    const cpu = process.cpuUsage(trainCpu);
    cpuPerEpochMs = (cpu.user + cpu.system) / 1000 / STUDENT_EPOCHS;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const cpu = process.cpuUsage(cpuStarted);
  return { wallMs: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, cpuPerEpochMs };
}

function measure(mode: string, rows: number, threads: number): Measurement {
  const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', mode, '--rows', String(rows), '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as Measurement;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { child: { type: 'string' }, rows: { type: 'string', default: '1000,10000' }, reps: { type: 'string', default: '1' }, threads: { type: 'string', default: '0' } },
  });
  const threads = Number(values.threads);
  if (values.child) {
    process.stdout.write(JSON.stringify(await child(values.child, Number(values.rows), threads)));
    return;
  }
  const reps = Math.max(1, Number(values.reps));
  const sizes = values.rows!.split(',').map(Number);
  console.log(`scale benchmark: ${cpus().length} CPU(s), load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}, ${reps} rep(s), threads ${threads || 'default'}`);
  console.log('no fastText binary is installed here: the fastText comparison of issue 11 is not made.');
  const table: string[][] = [['measurement', 'wall s', 'CPU s', 'CPU / wall', 'peak RSS MB', 'CPU ms / epoch']];
  for (const rows of sizes) {
    const runs = Array.from({ length: reps }, () => measure('distill', rows, threads));
    const wall = median(runs.map((r) => r.wallMs));
    const cpu = median(runs.map((r) => r.cpuMs));
    table.push([`runDistillation, ${rows.toLocaleString('en')} rows`, (wall / 1000).toFixed(2), (cpu / 1000).toFixed(2), (cpu / wall).toFixed(2), median(runs.map((r) => r.maxRssMb)).toFixed(0), '']);
  }
  const studentRows = Math.max(...sizes);
  const students = Array.from({ length: reps }, () => measure('student', studentRows, threads));
  table.push([`one student, ${studentRows.toLocaleString('en')} rows, ${STUDENT_EPOCHS} epochs`, '', '', '', median(students.map((r) => r.maxRssMb)).toFixed(0), median(students.map((r) => r.cpuPerEpochMs!)).toFixed(0)]);
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) console.log(`| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
