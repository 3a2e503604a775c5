/**
 * Human labels set in review are no random sample (src/training/reviewedRows.ts). A reviewer labels the rows a run
 * flagged — the ones it doubts — so among them the teacher is mostly wrong. Used as calibration pairs they would tell
 * the next run that the teacher is mostly wrong; the engine trains on them and keeps them out of every estimator.
 * Real processes: the CLI forks the real worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLatestRun, type RunArtefacts } from '../../src/training/artifacts';
import { markReviewedRows, queuedKeysOf, readPreviousRun } from '../../src/training/reviewedRows';
import { doubtfulPredictions } from '../../src/training/doubtful';
import type { TrainingRow } from '../../src/training/types';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

let folder: string;
let control: string;
let doubting: string;

/** The first rows of the shared NoisyAG-News train set (human-annotator noise, teacher about 80 % right). */
const DATA = join(repoRoot, '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
const ROWS = 2500;
let gold: Map<string, string>;

before(async () => {
  folder = await tempFolder('cli-reviewed');
  control = await tempFolder('cli-reviewed-control');
  doubting = await tempFolder('cli-reviewed-doubtful');
  assert.ok(existsSync(DATA), `the benchmark data is missing: ${DATA} (see ../shared/data/README.md)`);
  const rows = (await readFile(DATA, 'utf8')).split('\n').filter((line) => line.trim()).slice(0, ROWS).map((line) => JSON.parse(line) as { id: string; text: string; teacher_label: string; gold_label: string });
  gold = new Map(rows.map((value) => [value.id, value.gold_label]));
  // Every 20th row carries its gold label as a human label: the random sample.
  const lines = rows.map((value, index) => JSON.stringify({ id: value.id, text: value.text, teacher_label: value.teacher_label, ...(index % 20 === 0 ? { human_label: value.gold_label } : {}) }));
  await writeFile(join(folder, 'agnews-slice.jsonl'), lines.join('\n') + '\n');
  await writeFile(join(doubting, 'agnews-slice.jsonl'), lines.join('\n') + '\n');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
  await rm(control, { recursive: true, force: true });
  await rm(doubting, { recursive: true, force: true });
});

const row = (id: string, human: string | null): TrainingRow => ({ id, line: 1, text: id, teacher: 'A', human, teacherConfidence: null });

test('markReviewedRows: a label set on a row the previous run flagged or doubted is reviewed, a chain keeps it, other labels are the sample', () => {
  const rows = [
    row('flagged-now-labelled', 'B'),
    row('flagged-still-open', null),
    row('doubted-now-labelled', 'B'),
    row('unflagged-now-labelled', 'A'),
    row('labelled-before', 'A'),
    row('reviewed-two-runs-ago', 'B'),
  ];
  const prediction = (id: string, human: string | null, flagged: boolean, p: number) => ({ id, teacher: 'A', human, flagged, p_teacher_wrong: p });
  const predictions = [
    prediction('flagged-now-labelled', null, true, 0.9),
    prediction('flagged-still-open', null, true, 0.8),
    // Unflagged: Σp = 0.45 + 0.3 + 0.2 = 0.95, so the run expects one error among them and doubts the first.
    prediction('doubted-now-labelled', null, false, 0.45),
    prediction('unflagged-now-labelled', null, false, 0.3),
    prediction('spare', null, false, 0.2),
    prediction('labelled-before', 'A', false, 0),
    prediction('reviewed-two-runs-ago', 'B', false, 0),
  ];
  const { marked } = markReviewedRows(rows, { runId: 'r1', queuedKeys: queuedKeysOf(predictions), reviewedIds: ['reviewed-two-runs-ago'] });
  assert.equal(marked, 3);
  assert.deepEqual(rows.filter((r) => r.reviewed).map((r) => r.id), ['flagged-now-labelled', 'doubted-now-labelled', 'reviewed-two-runs-ago']);
  assert.equal(markReviewedRows([row('x', 'A')], undefined).marked, 0, 'no previous run: every human label is the sample');
});

async function reviewFlagged(file: string, run: RunArtefacts): Promise<number> {
  // The reviewer sets the gold label on every flagged row (on AG News most flagged teacher labels are wrong).
  return setGold(file, run.predictions.filter((p) => p.flagged).map((p) => p.id));
}

/** Gives these rows their gold label as human label, in the file; returns how many. */
async function setGold(file: string, ids: readonly string[]): Promise<number> {
  const flagged = new Map(ids.map((id) => [id, gold.get(id)!]));
  const lines = (await readFile(file, 'utf8')).split('\n');
  const out = lines.map((line) => {
    if (!line.trim()) return line;
    const value = JSON.parse(line) as { id: string; human_label?: string };
    const label = flagged.get(value.id);
    return label === undefined ? line : JSON.stringify({ ...value, human_label: label });
  });
  await writeFile(file, out.join('\n'));
  return flagged.size;
}

function teacherEstimate(run: RunArtefacts): number {
  return (run.metrics as { trust: { teacherAccuracy: { estimate: number } } }).trust.teacherAccuracy.estimate;
}

test('a rerun after review trains on the reviewed labels but estimates the teacher from the random sample only', async () => {
  const dataset = join(folder, 'agnews-slice.jsonl');
  const args = ['distill', 'agnews-slice.jsonl', '--backend', 'cpu', '--encoder', 'none'];
  const first = await runCli(args, folder);
  assert.equal(first.code, 0, first.stderr);
  const run1 = (await readLatestRun(dataset))!;
  const sample = (run1.metrics as { humanRows: number }).humanRows;
  const reviewed = await reviewFlagged(dataset, run1);
  assert.ok(reviewed >= 30, `the run flags enough rows to review (${reviewed})`);

  const second = await runCli(args, folder);
  assert.equal(second.code, 0, second.stderr);
  const run2 = (await readLatestRun(dataset))!;
  assert.notEqual(run2.runId, run1.runId);
  assert.equal((run2.metrics as { reviewedRows: number }).reviewedRows, reviewed);
  assert.equal((run2.metrics as { humanRows: number }).humanRows, sample, 'the checks use the random sample only');
  assert.equal(run2.settings.reviewedIds?.length, reviewed);
  const log = await readFile(join(run2.runDir, 'run.log'), 'utf8');
  assert.ok(log.includes(`${reviewed} human label(s) were set on rows that run ${run1.runId} flagged or doubted (review)`), log);
  for (const prediction of run2.predictions) if (prediction.human !== null) assert.equal(prediction.flagged, false);

  // The same file with no earlier run: every human label counts as the sample, so the summary's check "the teacher
  // on your human labels" is dragged down by the doubted rows. After review it stays the random sample's figure.
  await copyFile(dataset, join(control, 'agnews-slice.jsonl'));
  const naive = await runCli(args, control);
  assert.equal(naive.code, 0, naive.stderr);
  const naiveRun = (await readLatestRun(join(control, 'agnews-slice.jsonl')))!;
  const check = (run: RunArtefacts) => (run.metrics as { humanCheck: { teacherAccuracy: number } }).humanCheck.teacherAccuracy;
  assert.equal(check(run2), check(run1), 'the same random pairs judge the teacher');
  assert.ok(check(naiveRun) < check(run1) - 0.05, `counted as a sample, the reviewed rows drag the check from ${check(run1)} to ${check(naiveRun)}`);
  assert.ok(Math.abs(teacherEstimate(run2) - teacherEstimate(run1)) < 0.03, `estimate ${teacherEstimate(run2)} near ${teacherEstimate(run1)}`);
  // The summary's "teacher agreement with humans" is that random sample's figure too, on its own count, beside the
  // student's (it counted every human label, the reviewed ones included).
  const paired = (run: RunArtefacts) => (run.metrics as { humanCheck: { pairedRows: number } }).humanCheck.pairedRows;
  assert.match(second.stdout, new RegExp(`teacher agreement with humans\\s+${check(run2).toFixed(3)}${paired(run2) < 20 ? ' \\(on' : '\\n'}`), second.stdout);

  // What the next run reads of run 2 (streamed): the ids of its flagged and doubtful rows, and the ids it counted as reviewed.
  const previous = (await readPreviousRun(dataset))!;
  assert.equal(previous.runId, run2.runId);
  assert.deepEqual(previous.queuedKeys, queuedKeysOf(run2.predictions));
  assert.deepEqual(previous.reviewedIds, run2.settings.reviewedIds);

  // A third run keeps the distinction although run 2 flagged none of those rows (they had labels by then).
  const third = await runCli(args, folder);
  assert.equal(third.code, 0, third.stderr);
  const run3 = (await readLatestRun(dataset))!;
  assert.equal((run3.metrics as { reviewedRows: number }).reviewedRows, reviewed);
});

test('readPreviousRun names the file and line of a damaged flagged prediction, and finds no run where there is none', async () => {
  const dataset = join(control, 'lonely.jsonl');
  await writeFile(dataset, '{"text": "a", "teacher_label": "World"}\n');
  assert.equal(await readPreviousRun(dataset), undefined);
  const run = (await readLatestRun(join(control, 'agnews-slice.jsonl')))!;
  const file = join(run.runDir, 'predictions.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  const at = lines.findIndex((line) => line.includes('"flagged":true'));
  assert.ok(at >= 0);
  lines[at] = '{"id": 7, "flagged":true}';
  await writeFile(file, lines.join('\n'));
  await assert.rejects(readPreviousRun(join(control, 'agnews-slice.jsonl')), new RegExp(`predictions\\.jsonl:${at + 1}: not a prediction`));
});

test('a retrain after labelling rows of the doubtful queue keeps them out of the calibration sample', async () => {
  const dataset = join(doubting, 'agnews-slice.jsonl');
  const args = ['distill', 'agnews-slice.jsonl', '--backend', 'cpu', '--encoder', 'none'];
  const first = await runCli(args, doubting);
  assert.equal(first.code, 0, first.stderr);
  const run1 = (await readLatestRun(dataset))!;
  const sample = (run1.metrics as { humanRows: number }).humanRows;
  // The reviewer works down the top of the doubtful queue (unflagged rows, the run's ranking), not the flagged rows.
  const doubtful = doubtfulPredictions(run1.predictions).rows.map((index) => run1.predictions[index].id);
  assert.ok(doubtful.length >= 60, `the run doubts enough unflagged rows (${doubtful.length})`);
  const labelled = await setGold(dataset, doubtful.slice(0, 60));
  const errors = doubtful.slice(0, 60).filter((id) => gold.get(id) !== run1.predictions.find((p) => p.id === id)!.teacher).length;

  const second = await runCli(args, doubting);
  assert.equal(second.code, 0, second.stderr);
  const run2 = (await readLatestRun(dataset))!;
  assert.equal((run2.metrics as { reviewedRows: number }).reviewedRows, labelled, 'the labels set in the doubtful queue count as reviewed');
  assert.equal((run2.metrics as { humanRows: number }).humanRows, sample, 'the calibration and the checks rest on the random sample only');
  const check = (run: RunArtefacts) => (run.metrics as { humanCheck: { teacherAccuracy: number } }).humanCheck.teacherAccuracy;
  assert.equal(check(run2), check(run1), `the same random pairs judge the teacher (the doubted rows held ${errors} teacher errors in 60)`);
  assert.deepEqual([...(run2.settings.reviewedIds ?? [])].sort(), doubtful.slice(0, 60).sort());
  const log = await readFile(join(run2.runDir, 'run.log'), 'utf8');
  assert.ok(log.includes(`${labelled} human label(s) were set on rows that run ${run1.runId} flagged or doubted (review)`), log);
});
