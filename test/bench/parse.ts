/**
 * Parse + validate benchmark of the dataset core (`npm run bench:parse`).
 *
 * 1. Generates (or reuses) a 100,000-row JSONL file of about 30 MB and a 1,000,000-row one in a temp folder, from
 *    the real AG News rows in ../shared/data when present (synthetic text otherwise), with a few problems mixed in
 *    (unknown labels, duplicate ids, invalid lines) so validation does real work.
 * 2. Bundles this file with esbuild and runs every measurement in a fresh `node` process, so each peak RSS is that
 *    run's own (the first figure is node's own start-up, for reference).
 * 3. Prints the median wall time, CPU time and peak RSS of several repetitions, and streamDataset against the floor
 *    of issue 11 (a plain readline + JSON.parse loop): its time and memory ratios.
 *
 * Options: --reps N (default 5), --dir PATH (default $TMPDIR/peerkd-bench), --skip-million.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DEFAULT_FIELDS, firstInvalidUtf8LineOfFile, parseDatasetText, readDatasetFile, streamDataset } from '../../src/dataset/index';
import { validateDatasetStream } from '../../src/training/input';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const SOURCE = join(__dirname, '..', '..', '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');

interface Measurement {
  ms: number;
  /** User + system CPU time of the work: less sensitive than wall time to other processes sharing the cores. */
  cpuMs: number;
  maxRssMb: number;
  rows: number;
  problems: number;
}

async function child(mode: string, path: string): Promise<void> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let rows = 0;
  let problems = 0;
  if (mode === 'baseline') {
    // Nothing: node's own start-up footprint.
  } else if (mode === 'floor') {
    // The floor of issue 11: a plain readline + JSON.parse loop (no validation, rows not kept).
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length === 0) continue;
      try {
        JSON.parse(line);
        rows++;
      } catch {
        problems++;
      }
    }
  } else if (mode === 'file') {
    const parsed = await readDatasetFile(path, DEFAULT_FIELDS, { labels: LABELS });
    rows = parsed.rows.length;
    problems = parsed.problems.length;
  } else if (mode === 'text') {
    const parsed = parseDatasetText(readFileSync(path, 'utf8'), DEFAULT_FIELDS, { labels: LABELS });
    rows = parsed.rows.length;
    problems = parsed.problems.length;
  } else if (mode === 'stream') {
    for await (const batch of streamDataset(path, DEFAULT_FIELDS, { labels: LABELS })) {
      for (const result of batch) {
        if (result.row) rows++;
        problems += result.problems.length;
      }
    }
  } else if (mode === 'validate') {
    // "PeerKD: Validate Dataset" on a closed file, as src/commands/validateDataset.ts runs it: streamDataset, then the
    // run's checks of the file as a whole (inputProblems, the run's own checkTrainingInput).
    const found = await validateDatasetStream(streamDataset(path, DEFAULT_FIELDS, { labels: LABELS }), { file: path, fields: DEFAULT_FIELDS, labels: LABELS, folds: 2 }, { invalidUtf8Line: () => firstInvalidUtf8LineOfFile(path) });
    rows = found!.rows;
    problems = found!.problems.length;
  } else {
    throw new Error(`Unknown mode ${mode}`);
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const measurement: Measurement = { ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, rows, problems };
  process.stdout.write(JSON.stringify(measurement));
}

function sourceRows(): { text: string; label: string }[] {
  if (existsSync(SOURCE)) {
    return readFileSync(SOURCE, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => {
        const row = JSON.parse(line) as { text: string; teacher_label: string };
        return { text: row.text, label: row.teacher_label };
      });
  }
  const words = 'market team season court storm profit league vote chip launch report talks price growth rally'.split(' ');
  return Array.from({ length: 1000 }, (_, i) => ({
    text: Array.from({ length: 40 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '),
    label: LABELS[i % LABELS.length],
  }));
}

async function generate(path: string, rowCount: number): Promise<void> {
  if (existsSync(path)) return;
  const rows = sourceRows();
  const out = createWriteStream(path + '.partial');
  let buffer = '';
  for (let i = 0; i < rowCount; i++) {
    const source = rows[i % rows.length];
    let line: string;
    if (i % 1000 === 999) line = `{"id": "b-${i}", "text": ${JSON.stringify(source.text)}, "teacher_label": "World"`; // invalid JSON
    else if (i % 1000 === 500) line = JSON.stringify({ id: `b-${i - 1}`, text: source.text, teacher_label: source.label }); // duplicate id
    else if (i % 1000 === 250) line = JSON.stringify({ id: `b-${i}`, text: source.text, teacher_label: 'Sprots' }); // unknown label
    else {
      const row: Record<string, unknown> = { id: `b-${i}`, text: `${source.text} (${i})`, teacher_label: source.label };
      if (i % 200 === 0) row.human_label = source.label;
      line = JSON.stringify(row);
    }
    buffer += line + '\n';
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      buffer = '';
    }
  }
  out.write(buffer);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  execFileSync('mv', [path + '.partial', path]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function run(bundle: string, mode: string, path: string): Measurement {
  const output = execFileSync(process.execPath, [bundle, '--child', mode, path], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output) as Measurement;
}

function report(label: string, measurements: Measurement[]): void {
  const times = measurements.map((m) => m.ms);
  const cpu = measurements.map((m) => m.cpuMs);
  const rss = measurements.map((m) => m.maxRssMb);
  const { rows, problems } = measurements[0];
  console.log(
    `${label.padEnd(52)} wall median ${median(times).toFixed(0).padStart(6)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})` +
      `  CPU median ${median(cpu).toFixed(0).padStart(6)} ms` +
      `  peak RSS median ${median(rss).toFixed(0)} MB  rows ${rows.toLocaleString('en-US')}  problems ${problems.toLocaleString('en-US')}`,
  );
}

function alternate(reps: number, first: () => Measurement, second: () => Measurement): [Measurement[], Measurement[]] {
  const a: Measurement[] = [];
  const b: Measurement[] = [];
  for (let rep = 0; rep < reps; rep++) {
    a.push(first());
    b.push(second());
  }
  return [a, b];
}

/** streamDataset against the floor: the targets are ≤ 1.3× its time and ≤ 1.5× its memory. */
function ratios(label: string, stream: Measurement[], floor: Measurement[]): void {
  const ratio = (pick: (m: Measurement) => number) => median(stream.map(pick)) / median(floor.map(pick));
  const wall = ratio((m) => m.ms);
  const cpu = ratio((m) => m.cpuMs);
  const rss = ratio((m) => m.maxRssMb);
  console.log(
    `${label}: streamDataset / floor: wall ${wall.toFixed(2)}×, CPU ${cpu.toFixed(2)}× (target ≤ 1.3×: ${cpu <= 1.3 ? 'met' : 'not met'}), ` +
      `peak RSS ${rss.toFixed(2)}× (target ≤ 1.5×: ${rss <= 1.5 ? 'met' : 'not met'})`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      reps: { type: 'string', default: '5' },
      dir: { type: 'string', default: join(tmpdir(), 'peerkd-bench') },
      'skip-million': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: false,
  });
  if (typeof values.child === 'string') {
    const path = process.argv[process.argv.length - 1];
    await child(values.child, path);
    return;
  }
  const reps = Number(values.reps);
  const dir = String(values.dir);
  mkdirSync(dir, { recursive: true });
  const small = join(dir, 'parse-100k.jsonl');
  const large = join(dir, 'parse-1m.jsonl');
  await generate(small, 100_000);
  if (!values['skip-million']) await generate(large, 1_000_000);

  const bundle = join(dir, 'parse-bench.cjs');
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [__filename], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: bundle, logLevel: 'warning', external: ['esbuild'] });

  const load = (): string => loadavg().map((value) => value.toFixed(1)).join(' ');
  console.log(`node ${process.version}, ${cpus().length} cores, load average ${load()}; ${reps} repetitions, each in a fresh process; files in ${dir}`);
  const mb = (path: string): string => (statSync(path).size / 1e6).toFixed(1);
  report('node start-up (no work)', Array.from({ length: reps }, () => run(bundle, 'baseline', small)));
  // The floor and streamDataset alternate, so that a change in the machine's load shifts both alike.
  const [floorSmall, streamSmall] = alternate(reps, () => run(bundle, 'floor', small), () => run(bundle, 'stream', small));
  report(`100k rows, ${mb(small)} MB: readline + JSON.parse (floor)`, floorSmall);
  report(`100k rows, ${mb(small)} MB: streamDataset (rows not kept)`, streamSmall);
  ratios('100k rows', streamSmall, floorSmall);
  report(`100k rows, ${mb(small)} MB: readDatasetFile (stream)`, Array.from({ length: reps }, () => run(bundle, 'file', small)));
  report(`100k rows, ${mb(small)} MB: readFile + parseDatasetText`, Array.from({ length: reps }, () => run(bundle, 'text', small)));
  report(`100k rows, ${mb(small)} MB: Validate Dataset (+ run's checks)`, Array.from({ length: reps }, () => run(bundle, 'validate', small)));
  if (!values['skip-million']) {
    const largeReps = Math.max(1, Math.min(reps, 5));
    const [floorLarge, streamLarge] = alternate(largeReps, () => run(bundle, 'floor', large), () => run(bundle, 'stream', large));
    report(`1M rows, ${mb(large)} MB: readline + JSON.parse (floor)`, floorLarge);
    report(`1M rows, ${mb(large)} MB: streamDataset (rows not kept)`, streamLarge);
    ratios('1M rows', streamLarge, floorLarge);
    report(`1M rows, ${mb(large)} MB: Validate Dataset (+ run's checks)`, Array.from({ length: largeReps }, () => run(bundle, 'validate', large)));
  }
  console.log(`load average at the end ${load()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
