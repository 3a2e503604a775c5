/**
 * Scale benchmark of the training engine (`npm run bench:scale`, issue 11).
 *
 * Prints, side by side in one run, for the first 1,000 and 10,000 rows of ../shared/data/agnews-noisy/train.jsonl
 * (50 of them given their gold label as the human label, as `peerkd bench` does):
 *   - the whole runDistillation: wall time, CPU time (user + system, all threads), CPU / wall, peak RSS;
 *   - one student (the default student, 5 epochs, on the 10,000 rows' features): CPU time per epoch.
 * Each measurement runs in a fresh `node` process, so that each peak RSS is its own.
 *
 *   - fastText (25 epochs, 2 threads, the same dim, word bigrams, buckets and learning rate) on the largest slice's
 *     rows, side by side: its wall and CPU time, the whole run's wall time against it (issue 11 target: ≤ 0.6×) and
 *     one student's CPU per epoch against fastText's (target: ≤ 0.9×).
 *
 * fastText is not an npm dependency. Debian's package runs without root: `apt-get download fasttext libfasttext0`,
 * then `dpkg -x` each .deb into one folder, and pass `--fasttext FOLDER/usr/bin/fasttext` (its library folder next to
 * it is found), or put `fasttext` on PATH; without it the comparison is skipped, and the table says so.
 *
 * Options: --reps N (default 1), --rows 1000,10000, --threads N (0 = the engine's default), --fasttext PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runDistillation, DEFAULT_TUNING, type EngineTuning } from '../../src/training/pipeline';
import { fitTransform, compactBuckets, tokenize, DEFAULT_FEATURIZER } from '../../src/training/featurize';
import { trainStudent, DEFAULT_STUDENT } from '../../src/training/student';
import type { TrainingRow } from '../../src/training/types';

const SOURCE = join(__dirname, '..', '..', '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
const HUMAN_ROWS = 50;
const STUDENT_EPOCHS = 5;
const FASTTEXT_EPOCHS = 25;
const FASTTEXT_THREADS = 2;

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

/** The fastText binary to run (null: none found), and the environment that lets an unpacked Debian package find its library. */
function findFastText(given: string | undefined): { command: string; env: NodeJS.ProcessEnv } | null {
  const command = given ?? 'fasttext';
  const env = { ...process.env };
  if (given) {
    // FOLDER/usr/bin/fasttext from `dpkg -x`: libfasttext.so.0 lies in FOLDER/usr/lib/<triplet>/.
    const libs = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].map((triplet) => resolve(dirname(given), '..', 'lib', triplet)).filter((dir) => existsSync(dir));
    if (libs.length) env.LD_LIBRARY_PATH = [...libs, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const probe = spawnSync(command, [], { env, encoding: 'utf8' });
  return probe.error || !/supervised/.test(probe.stdout + probe.stderr) ? null : { command, env };
}

/**
 * One fastText run on the first `limit` rows (their human label, else the teacher's): its wall time, and its CPU time
 * (user + system) and peak RSS from /usr/bin/time (NaN without it).
 */
function fastText(fast: { command: string; env: NodeJS.ProcessEnv }, limit: number): Measurement & { trainRows: number } {
  const input = readRows(limit);
  const work = mkdtempSync(join(tmpdir(), 'peerkd-scale-fasttext-'));
  try {
    const line = (label: string, text: string) => `__label__${label.replace(/\s/g, '_')} ${tokenize(text).join(' ')}`;
    const trainRows = input.rows.filter((row) => (row.human ?? row.teacher) !== null);
    writeFileSync(join(work, 'train.txt'), trainRows.map((row) => line((row.human ?? row.teacher)!, row.text)).join('\n') + '\n');
    const args = ['supervised', '-input', 'train.txt', '-output', 'model', '-epoch', String(FASTTEXT_EPOCHS), '-dim', String(DEFAULT_STUDENT.dim),
      '-wordNgrams', String(DEFAULT_FEATURIZER.wordNgrams), '-bucket', String(DEFAULT_FEATURIZER.buckets), '-lr', String(DEFAULT_STUDENT.learningRate),
      '-minCount', '1', '-thread', String(FASTTEXT_THREADS), '-verbose', '0'];
    const timed = existsSync('/usr/bin/time');
    const started = performance.now();
    const run = timed
      ? spawnSync('/usr/bin/time', ['-f', 'peerkd-time %U %S %M', fast.command, ...args], { cwd: work, env: fast.env, encoding: 'utf8' })
      : spawnSync(fast.command, args, { cwd: work, env: fast.env, encoding: 'utf8' });
    const wallMs = performance.now() - started;
    if (run.error || run.status !== 0) throw new Error(`fastText failed: ${run.error?.message ?? run.stderr}`);
    const times = /peerkd-time ([\d.]+) ([\d.]+) (\d+)/.exec(run.stderr ?? '');
    return {
      wallMs,
      cpuMs: times ? (Number(times[1]) + Number(times[2])) * 1000 : NaN,
      maxRssMb: times ? Number(times[3]) / 1024 : NaN,
      trainRows: trainRows.length,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      rows: { type: 'string', default: '1000,10000' },
      reps: { type: 'string', default: '1' },
      threads: { type: 'string', default: '0' },
      fasttext: { type: 'string' },
    },
  });
  const threads = Number(values.threads);
  if (values.child) {
    process.stdout.write(JSON.stringify(await child(values.child, Number(values.rows), threads)));
    return;
  }
  const reps = Math.max(1, Number(values.reps));
  const sizes = values.rows!.split(',').map(Number);
  console.log(`scale benchmark: ${cpus().length} CPU(s), load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}, ${reps} rep(s), threads ${threads || 'default'}`);
  const fast = findFastText(values.fasttext);
  if (!fast) console.log(`no fastText binary found (${values.fasttext ?? 'fasttext on PATH'}): the fastText comparison of issue 11 is not made (see the header of this file).`);
  const table: string[][] = [['measurement', 'wall s', 'CPU s', 'CPU / wall', 'peak RSS MB', 'CPU ms / epoch']];
  const distillWall = new Map<number, number>();
  const distillCpu = new Map<number, number>();
  for (const rows of sizes) {
    const runs = Array.from({ length: reps }, () => measure('distill', rows, threads));
    const wall = median(runs.map((r) => r.wallMs));
    const cpu = median(runs.map((r) => r.cpuMs));
    distillWall.set(rows, wall);
    distillCpu.set(rows, cpu);
    table.push([`runDistillation, ${rows.toLocaleString('en')} rows`, (wall / 1000).toFixed(2), (cpu / 1000).toFixed(2), (cpu / wall).toFixed(2), median(runs.map((r) => r.maxRssMb)).toFixed(0), '']);
  }
  const studentRows = Math.max(...sizes);
  const students = Array.from({ length: reps }, () => measure('student', studentRows, threads));
  const studentCpuPerEpoch = median(students.map((r) => r.cpuPerEpochMs!));
  table.push([`one student, ${studentRows.toLocaleString('en')} rows, ${STUDENT_EPOCHS} epochs`, '', '', '', median(students.map((r) => r.maxRssMb)).toFixed(0), studentCpuPerEpoch.toFixed(0)]);
  const verdicts: string[] = [];
  if (fast) {
    const runs = Array.from({ length: reps }, () => fastText(fast, studentRows));
    const wall = median(runs.map((r) => r.wallMs));
    const cpu = median(runs.map((r) => r.cpuMs));
    const cpuPerEpoch = cpu / FASTTEXT_EPOCHS;
    table.push([
      `fastText, ${runs[0].trainRows.toLocaleString('en')} rows, ${FASTTEXT_EPOCHS} epochs, ${FASTTEXT_THREADS} threads`,
      (wall / 1000).toFixed(2),
      (cpu / 1000).toFixed(2),
      (cpu / wall).toFixed(2),
      median(runs.map((r) => r.maxRssMb)).toFixed(0),
      cpuPerEpoch.toFixed(0),
    ]);
    const wallRatio = distillWall.get(studentRows)! / wall;
    const cpuRatio = distillCpu.get(studentRows)! / cpu;
    const epochRatio = studentCpuPerEpoch / cpuPerEpoch;
    verdicts.push(
      `whole run / one fastText run, wall, ${studentRows.toLocaleString('en')} rows: ${wallRatio.toFixed(2)}× (target ≤ 0.6×: ${wallRatio <= 0.6 ? 'met' : 'not met'})`,
      `whole run / one fastText run, CPU (the steadier figure on a shared machine): ${cpuRatio.toFixed(2)}×`,
      `one student / fastText, CPU per epoch: ${epochRatio.toFixed(2)}× (target ≤ 0.9×: ${epochRatio <= 0.9 ? 'met' : 'not met'})`,
    );
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) console.log(`| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`);
  for (const verdict of verdicts) console.log(verdict);
  console.log(`load average at the end ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
