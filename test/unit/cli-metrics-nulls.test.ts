/**
 * `peerkd distill` on a dataset without human labels and on one where every row has one: the real CLI in a real
 * process (main.ts under tsx) forking the real worker, which writes metrics.json. Every figure in the file is a
 * finite number, or null exactly where protocol.ts MetricsFile says it may be (metricsFileProblem); the summary it
 * prints, run.log and the trust sentence of the run read back (hover, Label Review header) never say NaN or null.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { METRICS_FILE, readLatestRun, readRun, LOG_FILE } from '../../src/training/artifacts';
import { metricsFileProblem, type MetricsFile } from '../../src/training/protocol';
import { runTrustSentence } from '../../src/review/format';
import { runCli, tempFolder, writeDataset } from '../fixtures/training/build';
import { NOT_A_FIGURE, OLDER_METRICS } from '../support/metricsFigures';

let folder: string;

before(async () => {
  folder = await tempFolder('cli-missing-figures');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** 80 rows over four topics, every 7th teacher label wrong; `human` decides which rows carry the true label. */
function rows(human: (index: number) => boolean): string[] {
  const labels = ['World', 'Sports', 'Business', 'Sci/Tech'];
  return Array.from({ length: 80 }, (_, i) => {
    const label = labels[i % 4];
    const teacher = i % 7 === 0 ? labels[(i + 1) % 4] : label;
    return JSON.stringify({ id: `r${i}`, text: `row ${i} about ${label.toLowerCase()} news item`, teacher_label: teacher, ...(human(i) ? { human_label: label } : {}) });
  });
}

async function distill(name: string, lines: string[]) {
  const dataset = await writeDataset(folder, name, lines);
  const { code, stdout, stderr } = await runCli(['distill', name, '--backend', 'cpu'], folder);
  assert.equal(code, 0, stderr);
  const run = await readLatestRun(dataset);
  assert.ok(run);
  const file = JSON.parse(await readFile(join(run.runDir, METRICS_FILE), 'utf8')) as MetricsFile;
  assert.equal(metricsFileProblem(file), undefined);
  assert.doesNotMatch(stdout, NOT_A_FIGURE, stdout);
  const log = await readFile(join(run.runDir, LOG_FILE), 'utf8');
  assert.doesNotMatch(log, /NaN|Infinity/, log);
  assert.doesNotMatch(runTrustSentence(run), NOT_A_FIGURE);
  return { run, file, stdout };
}

test('peerkd distill without human labels: the intervals are null in metrics.json, and the summary says why', async () => {
  const { file, stdout } = await distill('no-human.jsonl', rows(() => false));
  assert.equal(typeof file.estimatedTeacherAccuracy, 'number');
  assert.equal(file.trust.teacherAccuracy.estimate, file.estimatedTeacherAccuracy);
  for (const interval of [file.trust.teacherAccuracy, file.trust.teacherErrors, file.trust.flaggedWrong]) assert.deepEqual([interval.low, interval.high], [null, null]);
  assert.deepEqual([file.humanCheck.teacherAccuracy, file.humanCheck.advisedAccuracy, file.humanCheck.studentAccuracy], [null, null, null]);
  assert.match(stdout, /estimated teacher accuracy\s+0\.\d{3}\n\s+… 90 % interval\s+—\n/);
  assert.match(stdout, /… of them probably wrong\s+\d+ \(no interval: no human labels to check against\)\n/);
  assert.match(stdout, /student accuracy on humans \(cross-fitted\)\s+—\n/);
  assert.match(stdout, /Teacher ≈ \d+% right as the peers read it, unchecked: no human labels \(mistakes the peers learn too go unseen\)\./);
});

test('peerkd distill where every row has a human label: no teacher estimate (null), run.log and the summary say so', async () => {
  const { run, file, stdout } = await distill('all-human.jsonl', rows(() => true));
  assert.equal(file.estimatedTeacherAccuracy, null);
  assert.deepEqual(file.trust.teacherAccuracy, { estimate: null, low: null, high: null });
  assert.deepEqual(file.trust.flaggedWrong, { estimate: 0, low: 0, high: 0 });
  assert.equal(typeof file.humanCheck.teacherAccuracy, 'number');
  // It was a bare "—", no reason given.
  assert.match(stdout, /estimated teacher accuracy\s+— \(every teacher-labelled row has a human label, so the teacher is measured on those directly: see teacher agreement with humans\)\n/);
  assert.match(stdout, /teacher agreement with humans\s+0\.\d{3}\n/);
  assert.match(stdout, /\n {2}0 rows flagged\.\n/);
  // Before, run.log said "stage 1/2: estimated teacher accuracy NaN".
  assert.match(await readFile(join(run.runDir, LOG_FILE), 'utf8'), /stage 1\/2: estimated teacher accuracy — \(no teacher-labelled row without a human label\)/);

  // The same run folder with the metrics.json of an older run (or a hand-edited one): read back as the editor reads
  // it (readRun, then the hover's and the Label Review header's sentence), without a crash or a "NaN".
  for (const [name, metrics] of OLDER_METRICS) {
    await writeFile(join(run.runDir, METRICS_FILE), JSON.stringify(metrics));
    const again = await readRun(run.runDir);
    assert.doesNotMatch(runTrustSentence(again), NOT_A_FIGURE, name);
  }
});
