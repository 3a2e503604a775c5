/**
 * Human labels set in review are no random sample (src/training/reviewedRows.ts). A reviewer labels the rows a run
 * flagged — the ones it doubts — so among them the teacher is mostly wrong. Used as calibration pairs they would tell
 * the next run that the teacher is mostly wrong; the engine trains on them and keeps them out of every estimator.
 * Which labels were set in review is what the review log (src/review/reviewLog.ts) says the review decided — not which
 * rows the previous run queued: random labels that land on queued rows were set aside and biased the sample (the
 * teacher looked better than it is). Real processes: the CLI forks the real worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLatestRun, type RunArtefacts } from '../../src/training/artifacts';
import { markReviewedRows, queuedKeysOf, readPreviousRun } from '../../src/training/reviewedRows';
import { appendReviewLog, formatReviewLogEntry, parseReviewLog, readReviewLog, reviewLogPath, type ReviewLogEntry } from '../../src/review/reviewLog';
import { ReviewSession } from '../../src/review/session';
import { parseDatasetText } from '../../src/dataset/parse';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';
import { reviewInSession } from '../support/reviewSession';
import { doubtfulPredictions } from '../../src/training/doubtful';
import type { TrainingRow } from '../../src/training/types';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

let folder: string;
let control: string;
let doubting: string;
let randomAfter: string;

/** The first rows of the shared NoisyAG-News train set (human-annotator noise, teacher about 80 % right). */
const DATA = join(repoRoot, '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
const ROWS = 2500;
let gold: Map<string, string>;

before(async () => {
  folder = await tempFolder('cli-reviewed');
  control = await tempFolder('cli-reviewed-control');
  doubting = await tempFolder('cli-reviewed-doubtful');
  randomAfter = await tempFolder('cli-reviewed-random-after');
  assert.ok(existsSync(DATA), `the benchmark data is missing: ${DATA} (see ../shared/data/README.md)`);
  const rows = (await readFile(DATA, 'utf8')).split('\n').filter((line) => line.trim()).slice(0, ROWS).map((line) => JSON.parse(line) as { id: string; text: string; teacher_label: string; gold_label: string });
  gold = new Map(rows.map((value) => [value.id, value.gold_label]));
  // Every 20th row carries its gold label as a human label: the random sample.
  const lines = rows.map((value, index) => JSON.stringify({ id: value.id, text: value.text, teacher_label: value.teacher_label, ...(index % 20 === 0 ? { human_label: value.gold_label } : {}) }));
  await writeFile(join(folder, 'agnews-slice.jsonl'), lines.join('\n') + '\n');
  await writeFile(join(doubting, 'agnews-slice.jsonl'), lines.join('\n') + '\n');
  await writeFile(join(randomAfter, 'agnews-slice.jsonl'), lines.join('\n') + '\n');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
  await rm(control, { recursive: true, force: true });
  await rm(doubting, { recursive: true, force: true });
  await rm(randomAfter, { recursive: true, force: true });
});

const row = (id: string, human: string | null): TrainingRow => ({ id, line: 1, text: id, teacher: 'A', human, teacherConfidence: null });

const entry = (key: string, label: string | null): ReviewLogEntry => ({ key, label, queue: 'flagged', run: 'r1', action: label === null ? 'undo' : 'decide', time: '2026-12-07T00:00:00.000Z' });
const logOf = (...entries: ReviewLogEntry[]) => parseReviewLog(entries.map(formatReviewLogEntry).join(''), 'review-log.jsonl');

test('markReviewedRows: a label the review log decided is reviewed; a label on a queued row the log does not hold is the sample', () => {
  const rows = () => [
    row('flagged-now-labelled', 'B'),
    row('flagged-still-open', null),
    row('doubted-now-labelled', 'B'),
    row('flagged-labelled-at-random', 'B'),
    row('unflagged-now-labelled', 'A'),
    row('labelled-before', 'A'),
    row('reviewed-two-runs-ago', 'B'),
  ];
  const prediction = (id: string, human: string | null, flagged: boolean, p: number) => ({ id, teacher: 'A', human, flagged, p_teacher_wrong: p });
  const predictions = [
    prediction('flagged-now-labelled', null, true, 0.9),
    prediction('flagged-still-open', null, true, 0.8),
    prediction('flagged-labelled-at-random', null, true, 0.7),
    // Unflagged: Σp = 0.45 + 0.3 + 0.2 = 0.95, so the run expects one error among them and doubts the first.
    prediction('doubted-now-labelled', null, false, 0.45),
    prediction('unflagged-now-labelled', null, false, 0.3),
    prediction('spare', null, false, 0.2),
    prediction('labelled-before', 'A', false, 0),
    prediction('reviewed-two-runs-ago', 'B', false, 0),
  ];
  const queuedKeys = queuedKeysOf(predictions);
  const log = logOf(entry('flagged-now-labelled', 'B'), entry('doubted-now-labelled', 'B'), entry('reviewed-two-runs-ago', 'B'));
  const reviewed = (marked: TrainingRow[]) => marked.filter((r) => r.reviewed).map((r) => r.id);
  // A previous run made since the log (reviewedBeforeLog present): only the log decides.
  const withLog = rows();
  const result = markReviewedRows(withLog, { runId: 'r1', queuedKeys, reviewedIds: ['reviewed-two-runs-ago'], reviewedBeforeLog: [] }, log);
  assert.equal(result.rule, 'log');
  assert.deepEqual(reviewed(withLog), ['flagged-now-labelled', 'doubted-now-labelled', 'reviewed-two-runs-ago'], 'the label set at random on a flagged row is the sample');
  // No log since the log exists: nothing was decided in review, every label is the sample, queued or not.
  const noLog = rows();
  assert.equal(markReviewedRows(noLog, { runId: 'r1', queuedKeys, reviewedBeforeLog: [] }).marked, 0);
  // A previous run from before the log and no log: the old membership rule, and its keys carried on.
  const before = rows();
  const old = markReviewedRows(before, { runId: 'r0', queuedKeys, reviewedIds: ['reviewed-two-runs-ago'] });
  assert.equal(old.rule, 'queues');
  assert.deepEqual(reviewed(before), ['flagged-now-labelled', 'doubted-now-labelled', 'flagged-labelled-at-random', 'reviewed-two-runs-ago']);
  assert.deepEqual(old.beforeLog, reviewed(before));
  // The run after it, with a log: the carried keys stay reviewed, the log decides the rest.
  const after = rows();
  markReviewedRows(after, { runId: 'r1', queuedKeys: [], reviewedBeforeLog: old.beforeLog }, logOf());
  assert.deepEqual(reviewed(after), old.beforeLog);
  assert.equal(markReviewedRows([row('x', 'A')], undefined).marked, 0, 'no previous run and no log: every human label is the sample');
});

test('a decision undone, or overwritten by hand, no longer counts as reviewed; the session logs each decision with its queue and run', async () => {
  const text = ['a', 'b', 'c', 'd'].map((id) => JSON.stringify({ id, text: `row ${id}`, teacher_label: 'A' })).join('\n') + '\n';
  const document = new FakeReviewDocument(text);
  const predictions = ['a', 'b', 'c', 'd'].map((id, index) => ({
    id, line: index + 1, text: `row ${id}`, teacher: 'A', human: null, flagged: true, p_teacher_wrong: 0.9, suggested: 'B', p_suggested: 0.9,
  })) as unknown as ConstructorParameters<typeof ReviewSession>[0]['predictions'];
  const lines: string[] = [];
  const session = new ReviewSession({ predictions, labels: ['A', 'B', 'C'], runId: 'r1' }, document, {
    humanField: () => 'human_label',
    reviewLog: async (entries) => void lines.push(...entries.map(formatReviewLogEntry)),
  });
  for (const id of ['a', 'b', 'c']) assert.equal((await session.decide(id, { kind: 'accept' })).status, 'done');
  assert.equal((await session.undo()).undone, true, 'c is put back');
  // a decided twice, the second undone: back to the first decision, which still counts.
  assert.equal((await session.decide('a', { kind: 'set', label: 'C' })).status, 'done');
  assert.equal((await session.undo()).undone, true, 'a is put back to B');
  // b is overwritten by hand in the editor; d gets a label typed by hand; c gets B typed by hand after the undo.
  document.type(2, JSON.stringify({ id: 'b', text: 'row b', teacher_label: 'A', human_label: 'C' }));
  document.type(3, JSON.stringify({ id: 'c', text: 'row c', teacher_label: 'A', human_label: 'B' }));
  document.type(4, JSON.stringify({ id: 'd', text: 'row d', teacher_label: 'A', human_label: 'B' }));
  const logged = lines.map((line) => JSON.parse(line) as ReviewLogEntry);
  assert.deepEqual(logged.map(({ key, label, queue, run, action }) => [key, label, queue, run, action]), [
    ['a', 'B', 'flagged', 'r1', 'decide'],
    ['b', 'B', 'flagged', 'r1', 'decide'],
    ['c', 'B', 'flagged', 'r1', 'decide'],
    ['c', null, 'flagged', 'r1', 'undo'],
    ['a', 'C', 'flagged', 'r1', 'decide'],
    ['a', 'B', 'flagged', 'r1', 'undo'],
  ]);
  const rows: TrainingRow[] = parseDatasetText(document.lines.join('\n'), DEFAULT_FIELDS).rows.map((r) => ({ id: r.id, line: r.line, text: r.text ?? '', teacher: r.teacher, human: r.human, teacherConfidence: null }));
  const result = markReviewedRows(rows, { runId: 'r1', queuedKeys: ['a', 'b', 'c', 'd'], reviewedBeforeLog: [] }, parseReviewLog(lines.join(''), 'log'));
  assert.deepEqual(rows.filter((r) => r.reviewed).map((r) => r.id), ['a'], 'only the decision that still stands is reviewed (a: back to its first decision)');
  assert.equal(result.marked, 1);
});

test('a torn or garbage line of the review log is skipped with a warning naming the file and line', () => {
  const good = formatReviewLogEntry(entry('a', 'B'));
  const log = parseReviewLog(good + '{"key":"b","lab\n' + 'not json at all\n' + JSON.stringify({ key: 7, label: 'B' }) + '\n' + formatReviewLogEntry(entry('c', 'B')) + '{"key":"d","label":"B","qu', '/tmp/x/review-log/data-abc.jsonl');
  assert.deepEqual([...log.latest], [['a', 'B'], ['c', 'B']]);
  assert.deepEqual(
    log.warnings.map((warning) => warning.split(':').slice(0, 2).join(':')),
    ['/tmp/x/review-log/data-abc.jsonl:2', '/tmp/x/review-log/data-abc.jsonl:3', '/tmp/x/review-log/data-abc.jsonl:4', '/tmp/x/review-log/data-abc.jsonl:6'],
  );
  assert.match(log.warnings[0], /not a review log entry .* skipped/);
});

test('appending after a torn last line starts a new line, so the entries after it stay readable', async () => {
  const file = join(control, 'review-log', 'torn.jsonl');
  await appendReviewLog(file, [entry('a', 'B')]);
  await writeFile(file, (await readFile(file, 'utf8')) + '{"key":"b","label":"B","qu');
  await appendReviewLog(file, [entry('c', 'B'), entry('d', 'C')]);
  const log = (await readReviewLog(file))!;
  assert.deepEqual([...log.latest], [['a', 'B'], ['c', 'B'], ['d', 'C']]);
  assert.deepEqual(log.warnings.map((warning) => warning.split(': ')[0]), [`${file}:2`]);
  assert.equal(await readReviewLog(join(control, 'review-log', 'none.jsonl')), undefined, 'no log: undefined, not an error');
});

/** In Label Review (the session, logged as the extension logs it), gives these rows their gold label; returns how many. */
async function reviewGold(file: string, run: RunArtefacts, ids: readonly string[]): Promise<number> {
  await reviewInSession(file, run, async (session) => {
    for (const id of ids) assert.equal((await session.decide(id, { kind: 'set', label: gold.get(id)! })).status, 'done');
  });
  return ids.length;
}

async function reviewFlagged(file: string, run: RunArtefacts): Promise<number> {
  // The reviewer sets the gold label on every flagged row (on AG News most flagged teacher labels are wrong).
  return reviewGold(file, run, run.predictions.filter((p) => p.flagged).map((p) => p.id));
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
  assert.ok(log.includes(`${reviewed} human label(s) were decided in review (review log ${reviewLogPath(dataset)})`), log);
  const logLines = (await readFile(reviewLogPath(dataset), 'utf8')).trim().split('\n');
  assert.equal(logLines.length, reviewed, 'one line per decision');
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
  assert.deepEqual(previous.reviewedBeforeLog, [], 'a run made since the log says so');

  // A third run keeps the distinction (the log still holds the decisions) although run 2 flagged none of those rows.
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
  const labelled = await reviewGold(dataset, run1, doubtful.slice(0, 60));
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
  assert.ok(log.includes(`${labelled} human label(s) were decided in review (review log ${reviewLogPath(dataset)})`), log);
  const queues = (await readFile(reviewLogPath(dataset), 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as ReviewLogEntry).queue);
  assert.deepEqual([...new Set(queues)], ['doubtful'], 'the log says which queue each decision was made in');
});

test('random labels added after a run, some on rows it flagged or doubted, all count as the random sample (no review log)', async () => {
  const dataset = join(randomAfter, 'agnews-slice.jsonl');
  const args = ['distill', 'agnews-slice.jsonl', '--backend', 'cpu', '--encoder', 'none'];
  const first = await runCli(args, randomAfter);
  assert.equal(first.code, 0, first.stderr);
  const run1 = (await readLatestRun(dataset))!;
  const sample = (run1.metrics as { humanRows: number }).humanRows;
  // As the summary advises: more rows picked at random (every 10th row without a label, offset 5) get their gold label,
  // by hand or by a script — not through the review.
  const picked = run1.predictions.filter((p, index) => p.human === null && index % 10 === 5).map((p) => p.id);
  const queued = new Set(queuedKeysOf(run1.predictions));
  const onQueued = picked.filter((id) => queued.has(id)).length;
  assert.ok(onQueued >= 5, `some random labels land on queued rows (${onQueued} of ${picked.length})`);
  await setGold(dataset, picked);

  const second = await runCli(args, randomAfter);
  assert.equal(second.code, 0, second.stderr);
  const run2 = (await readLatestRun(dataset))!;
  assert.equal((run2.metrics as { reviewedRows: number }).reviewedRows ?? 0, 0, 'no label was decided in review');
  assert.equal((run2.metrics as { humanRows: number }).humanRows, sample + picked.length, 'every random label is in the sample, the queued ones too');
  // The summary's "teacher on your human labels" is the teacher's agreement on all of them, not on the unqueued ones.
  const labelled = run2.predictions.filter((p) => p.human !== null && p.teacher !== null);
  const agreement = labelled.filter((p) => p.teacher === p.human).length / labelled.length;
  const check = (run2.metrics as { humanCheck: { teacherAccuracy: number } }).humanCheck.teacherAccuracy;
  assert.ok(Math.abs(check - agreement) < 1e-6, `check ${check} is the agreement on every human label, ${agreement}`);
  assert.deepEqual(run2.settings.reviewedIds, []);
});
