// What reading the previous run costs before a retrain (readPreviousRun, src/training/reviewedRows.ts) on a large
// predictions.jsonl: `node --import tsx test/bench/previousRun.ts DATA.jsonl RUNS_DIR [LINES] [REPS]`. It copies the
// latest run of DATA.jsonl in RUNS_DIR (a `peerkd distill DATA.jsonl --out RUNS_DIR`) to a temporary runs folder, repeats
// its predictions.jsonl lines with new ids up to LINES (default 1,000,000), and times REPS (default 3) reads in this
// process: wall, CPU and RSS after each.
import { cpSync, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestRunId, PREDICTIONS_FILE } from '../../src/training/artifacts';
import { readPreviousRun } from '../../src/training/reviewedRows';

const [dataset, runsDir, linesText = '1000000', repsText = '3'] = process.argv.slice(2);
(async () => {
  if (!dataset || !runsDir) throw new Error('usage: previousRun.ts DATA.jsonl RUNS_DIR [LINES] [REPS]');
  const runId = await latestRunId(dataset, runsDir);
  if (!runId) throw new Error(`${runsDir}: no run of ${dataset}`);
  const copy = mkdtempSync(join(tmpdir(), 'peerkd-previous-run-'));
  try {
    cpSync(runsDir, copy, { recursive: true });
    const source = readFileSync(join(runsDir, runId, PREDICTIONS_FILE), 'utf8').split('\n').filter((line) => line !== '');
    const target = join(copy, runId, PREDICTIONS_FILE);
    const out = createWriteStream(target);
    for (let written = 0, copyIndex = 0; written < Number(linesText); copyIndex++) {
      for (const line of source) {
        if (written >= Number(linesText)) break;
        const value = JSON.parse(line) as { id: string };
        value.id = `${value.id}-${copyIndex}`;
        if (!out.write(JSON.stringify(value) + '\n')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        written++;
      }
    }
    await new Promise<void>((resolve) => out.end(() => resolve()));
    console.log(`${Number(linesText).toLocaleString('en-US')} lines, ${(statSync(target).size / 2 ** 20).toFixed(0)} MB`);
    for (let rep = 0; rep < Number(repsText); rep++) {
      const start = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      const run = await readPreviousRun(dataset, copy);
      const used = process.cpuUsage(cpu);
      const wall = Number(process.hrtime.bigint() - start) / 1e6;
      console.log(`read ${rep + 1}: ${run?.queuedKeys.length ?? 0} queued rows, wall ${wall.toFixed(0)} ms, CPU ${((used.user + used.system) / 1000).toFixed(0)} ms, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
})().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
