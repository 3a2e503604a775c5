/**
 * The encoder benchmark of issue 13: `peerkd bench` with each encoder on the same data, seeds and human rows, then one
 * markdown table per encoder and setting and the issue's targets marked met / not met.
 *
 *   npm run bench:encoders [-- --data DIR] [--out DIR] [--use-lite-cache DIR] [--seeds 0,1,2,3,4] [--only NAMES]
 *                             [--table-only]
 *
 * Runs, one after another (the heaviest first is not needed: use-lite reads its vectors from --use-lite-cache, and
 * encodes only the texts missing there, about 35 CPU-s per 1,000 rows on wasm):
 *   data-use-lite    --settings data, --encoder use-lite
 *   data-endpoint    --settings data, --encoder endpoint against test/bench/embeddingServer.ts on 127.0.0.1, which
 *                    serves the use-lite vectors of --use-lite-cache by text; the bench gets an empty cache of its
 *                    own, so every vector goes over HTTP (on the first seed; later seeds read the endpoint cache)
 *   strong-use-lite  --settings hardest:0.94,llm:0.92 (two simulated strong teachers), --encoder use-lite
 *   strong-glove     the same with glove
 *   data-glove, data-none, strong-none
 * each `--main-only --human 50`, its JSON and log in OUT (default bench-results/encoders), the whole-run wall time and
 * the load average before and after in OUT/runs.json, the tables in OUT/table.md (and on stdout).
 * --only data-use-lite,data-none runs those; --table-only rebuilds the table from the JSON files already in OUT.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.join(__dirname, '..', '..');
const STRONG = 'hardest:0.94,llm:0.92';

interface Run {
  name: string;
  settings: string;
  encoder: string;
}

const RUNS: Run[] = [
  { name: 'data-use-lite', settings: 'data', encoder: 'use-lite' },
  { name: 'data-endpoint', settings: 'data', encoder: 'endpoint' },
  { name: 'strong-use-lite', settings: STRONG, encoder: 'use-lite' },
  { name: 'strong-glove', settings: STRONG, encoder: 'glove' },
  { name: 'data-glove', settings: 'data', encoder: 'glove' },
  { name: 'data-none', settings: 'data', encoder: 'none' },
  { name: 'strong-none', settings: STRONG, encoder: 'none' },
];

interface RunRecord {
  name: string;
  command: string;
  wallSeconds: number;
  status: number;
  loadBefore: number[];
  loadAfter: number[];
  /** One-minute load average sampled every 10 s while it ran. */
  loadSamples: number[];
}

/** The bench's --json file (src/cli/bench.ts), the fields this table reads. */
interface BenchJson {
  settings: {
    name: string;
    results: {
      seed: number;
      vanillaTestAccuracy: number;
      peakRssMb: number;
      variants: Record<
        string,
        {
          peerAccuracy: number;
          precisionAt500: number;
          auroc: number;
          testAccuracy: number;
          wallSeconds: number;
          phasesSeconds: Record<string, number>;
          /** Absent in a JSON from a bench before it reported the encoder's time. */
          encodeSeconds?: number;
          calibration: { ece: number; adoptedAccuracy: number; teacherAccuracy: number };
        }
      >;
    }[];
  }[];
}

interface SeedRow {
  seed: number;
  peer: number;
  p500: number;
  auroc: number;
  final: number;
  adoptedMinusTeacher: number;
  finalMinusVanilla: number;
  ece: number;
  distillSeconds: number;
  featurizeSeconds: number;
  encodeSeconds: number;
  rssMb: number;
}

const FIGURES: { key: keyof Omit<SeedRow, 'seed'>; label: string; digits: number }[] = [
  { key: 'peer', label: 'peer out-of-fold accuracy', digits: 4 },
  { key: 'p500', label: 'P@500', digits: 3 },
  { key: 'auroc', label: 'AUROC', digits: 3 },
  { key: 'final', label: 'final student, test accuracy', digits: 4 },
  { key: 'adoptedMinusTeacher', label: 'adopted − teacher', digits: 4 },
  { key: 'finalMinusVanilla', label: 'final − vanilla', digits: 4 },
  { key: 'ece', label: 'ECE of p_teacher_wrong', digits: 3 },
  { key: 'distillSeconds', label: 'PeerKD run (distill), s', digits: 1 },
  { key: 'featurizeSeconds', label: '… of which phase featurize (words + encoder), s', digits: 1 },
  { key: 'encodeSeconds', label: '… of which the encoder (open, cache, encode), s', digits: 1 },
  { key: 'rssMb', label: 'peak RSS of the bench process, MB', digits: 0 },
];

function seedRows(file: string): Map<string, SeedRow[]> {
  const json = JSON.parse(readFileSync(file, 'utf8')) as BenchJson;
  const out = new Map<string, SeedRow[]>();
  for (const setting of json.settings) {
    out.set(
      setting.name,
      setting.results.map((result) => {
        const main = result.variants.PeerKD;
        if (!main) throw new Error(`${file}: setting ${setting.name} seed ${result.seed} has no PeerKD variant`);
        return {
          seed: result.seed,
          peer: main.peerAccuracy,
          p500: main.precisionAt500,
          auroc: main.auroc,
          final: main.testAccuracy,
          adoptedMinusTeacher: main.calibration.adoptedAccuracy - main.calibration.teacherAccuracy,
          finalMinusVanilla: main.testAccuracy - result.vanillaTestAccuracy,
          ece: main.calibration.ece,
          distillSeconds: main.wallSeconds,
          featurizeSeconds: main.phasesSeconds.featurize ?? NaN,
          encodeSeconds: main.encodeSeconds ?? NaN,
          rssMb: result.peakRssMb,
        };
      }),
    );
  }
  return out;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const min = (values: number[]) => Math.min(...values);
const max = (values: number[]) => Math.max(...values);
const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

function figureTable(rows: SeedRow[], wall: number | undefined): string {
  const seeds = rows.map((row) => row.seed);
  const lines = [
    `| figure | ${seeds.map((seed) => `seed ${seed}`).join(' | ')} | mean | min | max |`,
    `| --- | ${seeds.map(() => '---').join(' | ')} | --- | --- | --- |`,
  ];
  for (const { key, label, digits } of FIGURES) {
    const values = rows.map((row) => row[key]);
    lines.push(`| ${label} | ${values.map((value) => fmt(value, digits)).join(' | ')} | ${fmt(mean(values), digits)} | ${fmt(min(values), digits)} | ${fmt(max(values), digits)} |`);
  }
  if (wall !== undefined) lines.push(`| whole bench run (all seeds, with baselines and test predictions), s | ${seeds.map(() => '').join(' | ')} | ${wall.toFixed(0)} | | |`);
  return lines.join('\n');
}

const mark = (ok: boolean) => (ok ? 'met' : '**not met**');

function perSeed(rows: SeedRow[], words: SeedRow[], key: keyof SeedRow): { ok: boolean; worst: number } {
  const diffs = rows.map((row) => row[key] - (words.find((other) => other.seed === row.seed)?.[key] ?? NaN));
  return { ok: diffs.every((diff) => diff >= 0), worst: min(diffs) };
}

function targets(results: Map<string, Map<string, SeedRow[]>>, records: Map<string, RunRecord>): string {
  const data = (encoder: string) => results.get(`data-${encoder}`)?.get('data');
  const words = data('none');
  const glove = data('glove');
  const lines = ['| encoder | target | measured | |', '| --- | --- | --- | --- |'];
  const compared: [string, keyof SeedRow, string][] = [
    ['peer out-of-fold accuracy', 'peer', 'peer'],
    ['P@500', 'p500', 'P@500'],
    ['AUROC', 'auroc', 'AUROC'],
    ['final student test accuracy', 'final', 'final'],
  ];
  for (const encoder of ['glove', 'use-lite', 'endpoint']) {
    const rows = data(encoder);
    if (!rows || !words) continue;
    for (const [label, key] of compared) {
      const { ok, worst } = perSeed(rows, words, key);
      lines.push(`| ${encoder} | ${label} ≥ words alone on every seed | worst seed ${worst >= 0 ? '+' : ''}${worst.toFixed(4)} | ${mark(ok)} |`);
    }
    const gain = mean(rows.map((row) => row.p500)) - mean(words.map((row) => row.p500));
    lines.push(`| ${encoder} | mean P@500 ≥ words alone + 0.04 | ${gain >= 0 ? '+' : ''}${gain.toFixed(3)} | ${mark(gain >= 0.04 - 1e-9)} |`);
    const final = mean(rows.map((row) => row.final));
    lines.push(`| ${encoder} | final student ≥ 0.84 on the mean | ${final.toFixed(4)} | ${mark(final >= 0.84)} |`);
    if (encoder !== 'glove' && glove) {
      const behind = compared.filter(([, key]) => mean(rows.map((row) => row[key])) < mean(glove.map((row) => row[key])));
      lines.push(
        `| ${encoder} | ≥ glove on the mean (peer, P@500, AUROC, final) | ${compared.map(([, key, short]) => `${short} ${mean(rows.map((row) => row[key])) - mean(glove.map((row) => row[key])) >= 0 ? '+' : ''}${(mean(rows.map((row) => row[key])) - mean(glove.map((row) => row[key]))).toFixed(4)}`).join(', ')} | ${mark(behind.length === 0)} |`,
      );
    }
  }
  if (words) {
    const base = mean(words.map((row) => row.distillSeconds));
    const baseMin = min(words.map((row) => row.distillSeconds));
    const baseWall = records.get('data-none')?.wallSeconds;
    for (const [encoder, limit] of [
      ['glove', 1.2],
      ['use-lite', 1.5],
      ['endpoint', 1.5],
    ] as const) {
      const rows = data(encoder);
      if (!rows) continue;
      const ratio = mean(rows.map((row) => row.distillSeconds)) / base;
      const ratioMin = min(rows.map((row) => row.distillSeconds)) / baseMin;
      const wall = records.get(`data-${encoder}`)?.wallSeconds;
      const wallRatio = wall !== undefined && baseWall !== undefined ? `; whole bench ${(wall / baseWall).toFixed(2)}×` : '';
      lines.push(`| ${encoder} | PeerKD run ≤ ${limit}× words alone${encoder === 'glove' ? '' : ' (cached embeddings)'} | mean ${ratio.toFixed(2)}×, fastest seed ${ratioMin.toFixed(2)}×${wallRatio} | ${mark(ratio <= limit)} |`);
    }
  }
  const allRss = [...results.values()].flatMap((settings) => [...settings.values()].flat().map((row) => row.rssMb));
  if (allRss.length) lines.push(`| all | peak RSS ≤ 1.5 GB | ${max(allRss).toFixed(0)} MB | ${mark(max(allRss) <= 1536)} |`);
  for (const [name, settings] of results) {
    for (const [setting, rows] of settings) {
      const adopted = min(rows.map((row) => row.adoptedMinusTeacher));
      const final = min(rows.map((row) => row.finalMinusVanilla));
      lines.push(`| ${name.replace(/^(data|strong)-/, '')} | ${setting}: adopted ≥ teacher and final ≥ vanilla on every seed (issue 9 guard) | worst adopted − teacher ${adopted.toFixed(4)}, worst final − vanilla ${final.toFixed(4)} | ${mark(adopted >= 0 && final >= 0)} |`);
    }
  }
  return lines.join('\n');
}

function table(out: string): string {
  const recordsFile = path.join(out, 'runs.json');
  const records = new Map<string, RunRecord>(existsSync(recordsFile) ? (JSON.parse(readFileSync(recordsFile, 'utf8')) as RunRecord[]).map((record) => [record.name, record]) : []);
  const results = new Map<string, Map<string, SeedRow[]>>();
  const parts: string[] = [];
  for (const run of RUNS) {
    const file = path.join(out, `${run.name}.json`);
    if (!existsSync(file)) continue;
    const settings = seedRows(file);
    results.set(run.name, settings);
    const record = records.get(run.name);
    for (const [setting, rows] of settings) {
      const load = record?.loadSamples.length ? `, load average ${min(record.loadSamples).toFixed(1)}–${max(record.loadSamples).toFixed(1)} (mean ${mean(record.loadSamples).toFixed(1)})` : '';
      parts.push(`### ${run.encoder}, setting ${setting}${load}\n\n${figureTable(rows, settings.size === 1 ? record?.wallSeconds : undefined)}`);
    }
  }
  parts.push(`### Targets of issue 13 (AG News, setting data) and the guard of issue 9\n\n${targets(results, records)}`);
  return parts.join('\n\n') + '\n';
}

function runOne(run: Run, options: { data: string; out: string; useLiteCache: string; seeds: string }): Promise<RunRecord> {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const bench = [cli, 'bench', options.data, '--human', '50', '--main-only', '--settings', run.settings, '--seeds', options.seeds, '--encoder', run.encoder, '--json', path.join(options.out, `${run.name}.json`)];
  let argv: string[];
  let endpointCache: string | undefined;
  if (run.encoder === 'endpoint') {
    endpointCache = mkdtempSync(path.join(tmpdir(), 'peerkd-endpoint-cache-'));
    argv = ['--import', 'tsx', path.join(__dirname, 'embeddingServer.ts'), '--cache', options.useLiteCache, '--compute-missing', '--', process.execPath, ...bench, '--encoder-base-url', '{url}', '--encoder-model', 'use-lite', '--embedding-cache', endpointCache];
  } else {
    argv = [...bench, '--embedding-cache', options.useLiteCache];
  }
  const command = `node ${argv.join(' ')}`;
  const log = createWriteStream(path.join(options.out, `${run.name}.log`));
  console.error(`${new Date().toISOString()} ${run.name}: ${command}`);
  const loadBefore = loadavg();
  const samples: number[] = [loadBefore[0]];
  const sampler = setInterval(() => samples.push(loadavg()[0]), 10_000);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', reject);
    child.once('close', (status) => {
      clearInterval(sampler);
      log.end();
      if (endpointCache) rmSync(endpointCache, { recursive: true, force: true });
      const record: RunRecord = {
        name: run.name,
        command,
        wallSeconds: +((performance.now() - started) / 1000).toFixed(1),
        status: status ?? 1,
        loadBefore: loadBefore.map((x) => +x.toFixed(2)),
        loadAfter: loadavg().map((x) => +x.toFixed(2)),
        loadSamples: samples.map((x) => +x.toFixed(2)),
      };
      console.error(`${new Date().toISOString()} ${run.name}: exit ${record.status} after ${record.wallSeconds} s`);
      resolve(record);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: path.join(ROOT, '..', 'shared', 'data', 'agnews-noisy') },
      out: { type: 'string', default: path.join(ROOT, 'bench-results', 'encoders') },
      'use-lite-cache': { type: 'string', default: path.join(ROOT, 'bench-results', 'embedding-cache') },
      seeds: { type: 'string', default: '0,1,2,3,4' },
      only: { type: 'string' },
      'table-only': { type: 'boolean', default: false },
    },
  });
  const out = path.resolve(values.out);
  mkdirSync(out, { recursive: true });
  if (!values['table-only']) {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error(`${path.join(ROOT, 'dist', 'cli.js')} not found: npm run build first`);
    const only = values.only?.split(',').map((name) => name.trim());
    const unknown = only?.filter((name) => !RUNS.some((run) => run.name === name)) ?? [];
    if (unknown.length) throw new Error(`--only: unknown run(s) ${unknown.join(', ')}; choose from ${RUNS.map((run) => run.name).join(', ')}`);
    const recordsFile = path.join(out, 'runs.json');
    const records = existsSync(recordsFile) ? (JSON.parse(readFileSync(recordsFile, 'utf8')) as RunRecord[]) : [];
    for (const run of RUNS.filter((candidate) => !only || only.includes(candidate.name))) {
      const record = await runOne(run, { data: path.resolve(values.data), out, useLiteCache: path.resolve(values['use-lite-cache']), seeds: values.seeds });
      records.splice(0, records.length, ...records.filter((other) => other.name !== run.name), record);
      writeFileSync(recordsFile, JSON.stringify(records, null, 2) + '\n');
      if (record.status !== 0) throw new Error(`${run.name} failed (exit ${record.status}); see ${path.join(out, `${run.name}.log`)}`);
    }
  }
  const markdown = table(out);
  writeFileSync(path.join(out, 'table.md'), markdown);
  process.stdout.write(markdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
