/**
 * Which row a label set in review was on, across runs (src/training/reviewedRows.ts: the review log's keys, or the
 * previous run's queues for a run from before the log), where the id does not say it alone:
 * - Rows that share an id: a decision on one of them made every row with that id (with a human label) count as
 *   reviewed at the next run, and for ever after (settings.json `reviewedIds` listed the id), so a random-sample label
 *   on a twin row was dropped from the calibration. Rows are now matched by key (src/review/rowKeys.ts, as Label
 *   Review matches them); where the id is on another number of rows than in the previous run, this run cannot tell
 *   which, counts their labels as reviewed and says so.
 * - Rows without an id are known by the hash of their text: fixing a typo in the text of a row labelled in review made
 *   it a row the previous run never saw, so its label counted as a random calibration pair. While a row without an id
 *   that the previous run queued is gone from the file, such a label now counts as reviewed, and the run log says why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { textIdentity } from '../../src/dataset/fields';
import { rowKey } from '../../src/review/rowKeys';
import { readLatestRun } from '../../src/training/artifacts';
import { identitiesToWatch, markReviewedRows, queuedKeysOf, reviewedIdsOf } from '../../src/training/reviewedRows';
import { formatReviewLogEntry, parseReviewLog, type ReviewLogEntry } from '../../src/review/reviewLog';
import { reviewInSession } from '../support/reviewSession';
import { FakeReviewDocument } from '../support/fakeReviewDocument';
import { ReviewSession } from '../../src/review/session';
import { parseDatasetText } from '../../src/dataset/parse';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import type { TrainingRow } from '../../src/training/types';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

const row = (id: string, line: number, human: string | null, text = id): TrainingRow => ({ id, line, text, teacher: 'A', human, teacherConfidence: null });
const prediction = (id: string, human: string | null, flagged: boolean, p: number) => ({ id, teacher: 'A', human, flagged, p_teacher_wrong: p });
/** A review log holding these decisions (row key → label), as Label Review writes it. */
const logOf = (decisions: [string, string][]) =>
  parseReviewLog(decisions.map(([key, label]): ReviewLogEntry => ({ key, label, queue: 'flagged', run: 'r1', action: 'decide', time: '2026-12-07T00:00:00.000Z' })).map(formatReviewLogEntry).join(''), 'review.jsonl');
/** A previous run made since the review log. */
const since = (runId: string, extra: { seen?: Set<string> } = {}) => ({ runId, queuedKeys: [], reviewedBeforeLog: [], ...extra });

test('rows sharing an id: only the row the review decided counts as reviewed, and the next run after it too', () => {
  // Run r1: id "x" on two rows; the first flagged (no human label), the second labelled before as the random sample.
  const run1 = [prediction('x', null, true, 0.9), prediction('x', 'A', false, 0), prediction('y', null, false, 0.1)];
  const queuedKeys = queuedKeysOf(run1);
  assert.deepEqual(queuedKeys.slice(0, 1), [rowKey('x', 1, 2)], 'the flagged row is named with its order among the rows with its id');
  // The reviewer labels the flagged row (the log names it by key); the twin keeps its sample label.
  const log = logOf([[rowKey('x', 1, 2), 'B']]);
  const rows = [row('x', 1, 'B'), row('x', 2, 'A'), row('y', 3, null)];
  const result = markReviewedRows(rows, { ...since('r1'), queuedKeys }, log);
  assert.deepEqual(result, { marked: 1, unsure: 0, warnings: [], rule: 'log', beforeLog: [] });
  assert.deepEqual(rows.map((r) => r.reviewed === true), [true, false, false], 'the twin stays in the random sample');
  // Run r2 lists the reviewed row by key; run r3 keeps exactly that row reviewed (the log still says so).
  const reviewedIds = reviewedIdsOf(rows);
  assert.deepEqual(reviewedIds, [rowKey('x', 1, 2)]);
  const next = [row('x', 1, 'B'), row('x', 2, 'A'), row('y', 3, null)];
  assert.equal(markReviewedRows(next, { ...since('r2'), reviewedIds }, log).marked, 1);
  assert.deepEqual(next.map((r) => r.reviewed === true), [true, false, false]);
  // A unique id is its own key: what settings.json lists for it is unchanged.
  assert.deepEqual(reviewedIdsOf([{ ...row('solo', 1, 'B'), reviewed: true }]), ['solo']);
});

test('an id on another number of rows than when it was decided: its labels count as reviewed, and the log says which id and lines', () => {
  // The review decided B on the first of two rows with id "x"; a third row with id "x" was added since, and two rows
  // with it hold B: which was the reviewed row? The row with another label cannot be it: the sample.
  const log = logOf([[rowKey('x', 1, 2), 'B']]);
  const rows = [row('x', 1, 'B'), row('x', 2, 'B'), row('x', 3, 'A'), row('z', 4, 'A')];
  const result = markReviewedRows(rows, since('r1'), log);
  assert.deepEqual([result.marked, result.unsure], [2, 2], 'orders match only while the count is the same: neither label is known to be the reviewed one');
  assert.deepEqual(rows.map((r) => r.reviewed === true), [true, true, false, false]);
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0], /^id "x" is on 3 rows now but was on 2 in the review log \(review\.jsonl\), so this run cannot tell which one was reviewed: the human labels on lines 1, 2 count as reviewed, not as the random sample; give each row its own id$/);
  // The same with a run from before the log and no log: its queues decide, and any label on the id is unsure.
  const queuedKeys = queuedKeysOf([prediction('x', null, true, 0.9), prediction('x', null, false, 0.05), prediction('z', null, false, 0.01)]);
  const queuedRows = [row('x', 1, 'B'), row('x', 2, 'A'), row('x', 3, null), row('z', 4, 'A')];
  const queued = markReviewedRows(queuedRows, { runId: 'r1', queuedKeys });
  assert.deepEqual([queued.rule, queued.marked, queued.unsure], ['queues', 2, 2]);
  assert.match(queued.warnings[0], /^id "x" is on 3 rows now but was on 2 in run r1/);
  // A run before keys listed the plain id of rows that share it: unsure, so every such label is reviewed.
  const legacy = [row('x', 1, 'B'), row('x', 2, 'A')];
  const old = markReviewedRows(legacy, { runId: 'r0', queuedKeys: [], reviewedIds: ['x'] });
  assert.deepEqual([old.marked, old.unsure], [2, 2]);
  assert.match(old.warnings[0], /^id "x" is on 2 rows now but was on 1 in run r0/);
  // Rows without an id that share a text: named by a line, not by the hash that is their identity.
  const same = textIdentity('same text');
  const twins = [row(same, 4, 'B', 'same text'), row(same, 9, 'A', 'same text')];
  const textTwins = markReviewedRows(twins, since('r1'), logOf([[same, 'B']]));
  assert.match(textTwins.warnings[0], /^the text of line 4 \(rows without an id\) is on 2 rows now but was on 1 in the review log/);
});

test('a row without an id whose text changed since it was decided in review: its label counts as reviewed, with a warning', () => {
  const typo = 'The match endd in a draw';
  const fixed = 'The match ended in a draw';
  const run1 = [prediction(textIdentity(typo), null, true, 0.9), prediction(textIdentity('other row'), null, false, 0.05)];
  const log = logOf([[textIdentity(typo), 'Sports']]);
  // The reviewer labels the flagged row and fixes its typo; another row is labelled at random (the sample); new rows
  // without an id are added with labels, one with the label decided, one with another (which cannot be the edited row).
  const rows = [
    row(textIdentity(fixed), 1, 'Sports', fixed),
    row(textIdentity('other row'), 2, 'A', 'other row'),
    row(textIdentity('new row'), 3, 'Sports', 'new row'),
    row(textIdentity('newer row'), 4, 'A', 'newer row'),
  ];
  const watch = identitiesToWatch(rows);
  assert.equal(watch.size, 4);
  // What readPreviousRun found of them in run r1: only the row labelled at random.
  const seen = new Set([...watch].filter((id) => run1.some((p) => p.id === id)));
  const result = markReviewedRows(rows, since('r1', { seen }), log);
  assert.deepEqual(rows.map((r) => r.reviewed === true), [true, false, true, false], 'the edited row (and the new one with its label, which this run cannot tell from it) are out of the sample');
  assert.deepEqual([result.marked, result.unsure], [2, 2]);
  assert.match(result.warnings[0], /^2 human label\(s\) on rows without an id \(lines 1, 3\) are on text that run r1 never saw, while 1 row\(s\) without an id labelled in review \(or queued by a run before the review log\) are no longer in the file/);
  assert.match(result.warnings[0], /Give each row an id/);

  // Nothing decided in review is gone: a new row without an id cannot be an edited reviewed one, so it is the sample.
  const untouched = [row(textIdentity(typo), 1, 'Sports', typo), row(textIdentity('new row'), 2, 'Sports', 'new row')];
  const plain = markReviewedRows(untouched, since('r1', { seen: new Set() }), log);
  assert.deepEqual(untouched.map((r) => r.reviewed === true), [true, false]);
  assert.deepEqual(plain, { marked: 1, unsure: 0, warnings: [], rule: 'log', beforeLog: [] });
});

// The same through the CLI, as a user meets it: a dataset without ids, a row of the review queue labelled and its typo
// fixed, then a retrain.
const DATA = join(repoRoot, '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
let folder: string;

before(async () => {
  folder = await tempFolder('reviewed-no-id');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('no ids: fixing a typo in a row labelled in review keeps its label out of the calibration sample at the retrain, and the log says why', async () => {
  assert.ok(existsSync(DATA), `the benchmark data is missing: ${DATA} (see ../shared/data/README.md)`);
  const source = (await readFile(DATA, 'utf8')).split('\n').filter((line) => line.trim()).slice(0, 600).map((line) => JSON.parse(line) as { text: string; teacher_label: string; gold_label: string });
  // No id field; every 20th row carries its gold label as the random sample.
  const values: Record<string, string>[] = source.map((value, index) => ({ text: value.text, teacher_label: value.teacher_label, ...(index % 20 === 0 ? { human_label: value.gold_label } : {}) }));
  const dataset = join(folder, 'no-ids.jsonl');
  const write = () => writeFile(dataset, values.map((value) => JSON.stringify(value)).join('\n') + '\n');
  await write();
  const args = ['distill', 'no-ids.jsonl', '--backend', 'cpu', '--encoder', 'none'];
  const first = await runCli(args, folder);
  assert.equal(first.code, 0, first.stderr);
  const run1 = (await readLatestRun(dataset))!;
  const sample = (run1.metrics as { humanRows: number }).humanRows;
  const [kept, edited] = queuedKeysOf(run1.predictions).map((key) => run1.predictions.find((p) => p.id === key)!);
  assert.ok(kept && edited, 'the run queues at least two rows');
  // Both are labelled in review (the session, logged); the second one's text gets a typo fixed (a trailing full stop added).
  await reviewInSession(dataset, run1, async (session) => {
    for (const queued of [kept, edited]) assert.equal((await session.decide(queued.id, { kind: 'set', label: source[queued.line - 1].gold_label })).status, 'done');
  });
  for (const queued of [kept, edited]) values[queued.line - 1].human_label = source[queued.line - 1].gold_label;
  values[edited.line - 1].text += '.';
  await write();

  const second = await runCli(args, folder);
  assert.equal(second.code, 0, second.stderr);
  const run2 = (await readLatestRun(dataset))!;
  assert.equal((run2.metrics as { reviewedRows: number }).reviewedRows, 2, 'both labels set in review count as reviewed');
  assert.equal((run2.metrics as { humanRows: number }).humanRows, sample, 'the calibration and the checks rest on the random sample only');
  const log = await readFile(join(run2.runDir, 'run.log'), 'utf8');
  assert.ok(log.includes('1 human label(s) were decided in review (review log ') && log.includes('and 1 may have been (warned below)'), log);
  assert.ok(log.includes(`1 human label(s) on rows without an id (line ${edited.line}) are on text that run ${run1.runId} never saw`), log);
});

test('twins swapped after review: the row decided in review is found by its id and text, not by its order among the rows with that id', async () => {
  // Two rows share id 7: Label Review decides B on the first ("alpha"). The user then sorts the file, so "beta" comes
  // first, and types B on it by hand (a random-sample label). The key alone ([7, 1, 2]) would now name "beta".
  const line = (text: string, human?: string) => JSON.stringify({ id: text === 'gamma' ? 8 : 7, text, teacher_label: 'A', ...(human ? { human_label: human } : {}) });
  const document = new FakeReviewDocument([line('alpha'), line('beta'), line('gamma')].join('\n') + '\n');
  const predictions = ['alpha', 'beta', 'gamma'].map((text, index) => ({
    id: text === 'gamma' ? '8' : '7', line: index + 1, text, teacher: 'A', human: null, flagged: true, p_teacher_wrong: 0.9, suggested: 'B', p_suggested: 0.9,
  })) as unknown as ConstructorParameters<typeof ReviewSession>[0]['predictions'];
  const logged: string[] = [];
  const session = new ReviewSession({ predictions, labels: ['A', 'B'], runId: 'r1' }, document, {
    humanField: () => 'human_label',
    reviewLog: async (entries) => void logged.push(...entries.map(formatReviewLogEntry)),
  });
  const first = rowKey('7', 1, 2);
  assert.equal((await session.decide(first, { kind: 'set', label: 'B' })).status, 'done');
  assert.equal((JSON.parse(logged[0]) as ReviewLogEntry).text, textIdentity('alpha'), 'the log names the text of the decided twin');
  const sorted = [line('beta', 'B'), line('alpha', 'B'), line('gamma')];
  const rows: TrainingRow[] = parseDatasetText(sorted.join('\n'), DEFAULT_FIELDS).rows.map((r) => ({ id: r.id, line: r.line, text: r.text ?? '', teacher: r.teacher, human: r.human, teacherConfidence: null }));
  const result = markReviewedRows(rows, since('r1'), parseReviewLog(logged.join(''), 'review.jsonl'));
  assert.deepEqual(rows.map((r) => [r.text, r.reviewed === true]), [['beta', false], ['alpha', true], ['gamma', false]], 'the decided row is reviewed, its twin stays the random sample');
  assert.deepEqual(result, { marked: 1, unsure: 0, warnings: [], rule: 'log', beforeLog: [] });
  // Undone later (the row's latest entry, found by its text too): no longer reviewed.
  const undone = parseReviewLog(logged.join('') + formatReviewLogEntry({ ...(JSON.parse(logged[0]) as ReviewLogEntry), label: null, action: 'undo' }), 'review.jsonl');
  const again = rows.map((r) => ({ ...r, reviewed: undefined }));
  assert.equal(markReviewedRows(again, since('r1'), undone).marked, 0);
  // The text edited since (no row has it now): the decision falls back to its key, as before texts were logged.
  const edited = parseDatasetText([line('alpha, fixed', 'B'), line('beta'), line('gamma')].join('\n'), DEFAULT_FIELDS).rows.map((r): TrainingRow => ({ id: r.id, line: r.line, text: r.text ?? '', teacher: r.teacher, human: r.human, teacherConfidence: null }));
  assert.equal(markReviewedRows(edited, since('r1'), parseReviewLog(logged.join(''), 'review.jsonl')).marked, 1);
  assert.equal(edited[0].reviewed, true);
});
