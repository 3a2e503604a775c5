/**
 * metrics.json's figures that can be missing (no human labels to check against; no teacher-labelled row left without
 * a human label) are null where the type says `number | null`, never NaN (JSON.stringify(NaN) is null, under a type
 * that said number), and every reader says so in words instead of "NaN%" or "null".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDistillation, type DistillMetrics } from '../../src/training/pipeline';
import { calibrate, naiveAdvice, trustFigures, type CalibrationInput } from '../../src/training/calibration';
import { metricsFileProblem, trustFromMetrics, type MetricsFile, type RunSummary } from '../../src/training/protocol';
import { runTrustSentence, summaryMessage, trustSentence } from '../../src/review/format';
import { formatSummary } from '../../src/cli/distill';
import type { DistillOptions, TrainingRow } from '../../src/training/types';
import { SYNTHETIC_LABELS, syntheticRows } from '../support/syntheticRows';
import { NOT_A_FIGURE, nonFinite, OLDER_METRICS } from '../support/metricsFigures';

const OPTIONS: DistillOptions = { folds: 2, stages: 2, seed: 3, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: 'none' };

/** The method's metrics as the worker writes them to metrics.json (plus a `run` block) and reads them back. */
function asFile(metrics: DistillMetrics): unknown {
  const run: MetricsFile['run'] = {
    runId: 'r1',
    counts: { lines: 1, rows: 1, invalidLines: 0, skippedNoText: 0, teacherLabelled: 1, humanLabelled: 0, unlabelled: 0, teacherOutsideLabelSet: 0 },
    labels: metrics.labels,
    labelsSource: 'inferred',
    backend: { name: 'cpu', skipped: [] },
    elapsedMs: 1,
  };
  return JSON.parse(JSON.stringify({ ...metrics, run }));
}

const noHuman = (): TrainingRow[] => syntheticRows(90, 40).map((row) => ({ ...row, human: null }));
const allHuman = (): TrainingRow[] => syntheticRows(90, 40).map((row, i) => ({ ...row, human: SYNTHETIC_LABELS[i % 3] }));

test('a run with no human labels: no NaN in its metrics; the unbounded figures are null where the type allows it', async () => {
  const out = await runDistillation({ rows: noHuman(), labels: SYNTHETIC_LABELS }, OPTIONS);
  // Before: trust.*.low and trust.*.high were NaN (null in the file, `number` in the type).
  assert.deepEqual(nonFinite(out.metrics), []);
  const { trust, estimatedTeacherAccuracy, humanCheck } = out.metrics;
  assert.ok(typeof estimatedTeacherAccuracy === 'number' && estimatedTeacherAccuracy > 0 && estimatedTeacherAccuracy <= 1);
  assert.equal(trust.teacherAccuracy.estimate, estimatedTeacherAccuracy);
  for (const interval of [trust.teacherAccuracy, trust.teacherErrors, trust.flaggedWrong]) {
    assert.equal(interval.low, null);
    assert.equal(interval.high, null);
  }
  assert.deepEqual([humanCheck.teacherAccuracy, humanCheck.advisedAccuracy, humanCheck.studentAccuracy], [null, null, null]);
  assert.equal(metricsFileProblem(asFile(out.metrics)), undefined);
  const sentence = trustSentence(trustFromMetrics(asFile(out.metrics)), out.metrics.flaggedCount);
  assert.match(sentence, /^Teacher ≈ \d+% right as the peers read it, unchecked: no human labels \(mistakes the peers learn too go unseen\)\./);
  assert.doesNotMatch(sentence, NOT_A_FIGURE);
});

test('a run where every row has a human label: no teacher share to estimate is null, not NaN, and run.log says why', async () => {
  const logged: string[] = [];
  const out = await runDistillation({ rows: allHuman(), labels: SYNTHETIC_LABELS }, OPTIONS, { onLog: (line) => logged.push(line) });
  // Before: estimatedTeacherAccuracy and trust.teacherAccuracy.* were NaN, flaggedWrong's bounds too, and the log
  // said "estimated teacher accuracy NaN".
  assert.deepEqual(nonFinite(out.metrics), []);
  assert.equal(out.metrics.estimatedTeacherAccuracy, null);
  assert.deepEqual(out.metrics.trust.teacherAccuracy, { estimate: null, low: null, high: null });
  assert.deepEqual(out.metrics.trust.flaggedWrong, { estimate: 0, low: 0, high: 0 }, 'no row can be flagged: none of them is wrong, for certain');
  assert.equal(out.metrics.flaggedCount, 0);
  assert.equal(metricsFileProblem(asFile(out.metrics)), undefined);
  const stages = logged.filter((line) => line.includes('estimated teacher accuracy'));
  assert.equal(stages.length, OPTIONS.stages);
  for (const line of stages) assert.match(line, /estimated teacher accuracy — \(no teacher-labelled row without a human label\)/);
  assert.doesNotMatch(logged.join('\n'), /NaN|Infinity/);
  assert.equal(trustSentence(trustFromMetrics(asFile(out.metrics)), 0), '0 rows flagged.');
});

test('the naive advice (benchmark baseline) has no flag threshold: null in metrics.json, not NaN', async () => {
  const out = await runDistillation({ rows: syntheticRows(90, 40), labels: SYNTHETIC_LABELS }, OPTIONS, {}, { advice: 'naive' });
  assert.equal(out.metrics.thresholds.flag, null);
  assert.deepEqual(nonFinite(out.metrics), []);
  assert.equal(metricsFileProblem(asFile(out.metrics)), undefined);
});

test('calibration: figures with nothing to estimate on are null at the source, never NaN', () => {
  const rows = 6;
  const input = (human: number[]): CalibrationInput => ({
    classes: 2,
    peerProbs: Float32Array.from({ length: rows * 2 }, (_, k) => (k % 2 ? 0.3 : 0.7)),
    teacher: Int32Array.from({ length: rows }, (_, i) => i % 2),
    human: Int32Array.from(human),
    teacherConfidence: new Float32Array(rows).fill(NaN),
  });
  const everyRowHuman = calibrate(input([0, 1, 0, 1, 0, 0]));
  assert.equal(everyRowHuman.estimatedTeacherAccuracy, null);
  assert.deepEqual(everyRowHuman.trust.teacherAccuracy, { estimate: null, low: null, high: null });
  assert.deepEqual(nonFinite(everyRowHuman.trust), []);
  const noPairs = calibrate(input([-1, -1, -1, -1, -1, -1]));
  assert.deepEqual([noPairs.humanCheck.teacherAccuracy, noPairs.humanCheck.advisedAccuracy, noPairs.humanCheck.logLikelihood], [null, null, null]);
  assert.deepEqual(nonFinite(noPairs.trust), []);
  const naive = naiveAdvice(input([-1, -1, -1, -1, -1, -1]));
  assert.equal(naive.threshold, null);
  assert.deepEqual([naive.humanCheck.teacherAccuracy, naive.humanCheck.advisedAccuracy, naive.humanCheck.logLikelihood], [null, null, null]);
  assert.deepEqual(nonFinite(naive.trust), []);
  assert.deepEqual(trustFigures(input([0, 1, 0, 1, 0, 0]), new Float32Array(rows), new Uint8Array(rows), []).teacherAccuracy, { estimate: null, low: null, high: null });
});

test('metricsFileProblem: null only where the type allows it, bounds both or neither and around the estimate', async () => {
  const out = await runDistillation({ rows: syntheticRows(90, 40), labels: SYNTHETIC_LABELS }, OPTIONS);
  const file = asFile(out.metrics) as Record<string, unknown> & { trust: Record<string, Record<string, unknown>>; humanCheck: Record<string, unknown> };
  assert.equal(metricsFileProblem(file), undefined);
  const broken = (change: (copy: typeof file) => void) => {
    const copy = structuredClone(file);
    change(copy);
    return metricsFileProblem(copy);
  };
  assert.equal(broken((copy) => (copy.estimatedTeacherAccuracy = null)), undefined, 'nullable');
  assert.equal(broken((copy) => (copy.humanCheck.studentAccuracy = null)), undefined, 'nullable');
  assert.equal(broken((copy) => (copy.trust.teacherAccuracy = { estimate: null, low: null, high: null })), undefined, 'no estimate');
  assert.equal(broken((copy) => (copy.flaggedCount = null)), 'metrics.flaggedCount must be an integer ≥ 0');
  assert.equal(broken((copy) => (copy.trust.flaggedWrong.estimate = null)), 'metrics.trust.flaggedWrong.estimate must be a finite number');
  assert.equal(broken((copy) => (copy.trust.teacherAccuracy.low = null)), 'metrics.trust.teacherAccuracy must have both bounds or neither');
  assert.equal(broken((copy) => (copy.trust.teacherAccuracy.high = -1)), 'metrics.trust.teacherAccuracy must have low ≤ estimate ≤ high');
  assert.equal(broken((copy) => (copy.trust.teacherAccuracy = { estimate: null, low: 0.1, high: null })), 'metrics.trust.teacherAccuracy.low must be null');
  assert.equal(broken((copy) => (copy.estimatedTeacherAccuracy = '0.9')), 'metrics.estimatedTeacherAccuracy must be a finite number or null');
  assert.equal(broken((copy) => delete copy.run), 'metrics.run must be an object');
  // The type and the file agree: a figure the type says may be missing is typed so (this line does not compile if
  // estimatedTeacherAccuracy is typed `number` again, as it was while the file held null).
  const typed: MetricsFile['estimatedTeacherAccuracy'] = null;
  assert.equal(typed, null);
  // @ts-expect-error a teacher estimate can be missing (every teacher-labelled row has a human label): not a `number`
  const mustCheck: number = out.metrics.estimatedTeacherAccuracy;
  // @ts-expect-error an interval's bounds can be missing (no human labels to check against): not a `number`
  const lowMustCheck: number = out.metrics.trust.flaggedWrong.low;
  assert.ok(mustCheck !== undefined && lowMustCheck !== undefined);
});

test('older metrics.json read back: the hover and Label Review header sentence has no NaN, null or undefined', () => {
  const predictions = [{ flagged: true }, { flagged: false }, { flagged: true }];
  for (const [name, metrics] of OLDER_METRICS) {
    const sentence = runTrustSentence({ metrics, predictions });
    assert.doesNotMatch(sentence, NOT_A_FIGURE, name);
    assert.match(sentence, /2 rows flagged/, name);
  }
  assert.equal(runTrustSentence({ metrics: OLDER_METRICS[5][1], predictions: [] }), '0 rows flagged.');
  assert.equal(runTrustSentence({ metrics: OLDER_METRICS[6][1], predictions }), 'Teacher ≈ 90% right as the peers read it, unchecked: no human labels (mistakes the peers learn too go unseen). 2 rows flagged, about 3 of them wrong.');
});

test('the end-of-run summaries (CLI table, editor message) show missing figures as "—" or in words', () => {
  const summary = (trust: RunSummary['trust'], figures: Partial<RunSummary> = {}): RunSummary => ({
    runId: 'r1',
    runDir: '/runs/r1',
    datasetPath: '/d.jsonl',
    labels: ['a', 'b'],
    counts: { lines: 10, rows: 10, invalidLines: 0, skippedNoText: 0, teacherLabelled: 10, humanLabelled: 0, unlabelled: 0, teacherOutsideLabelSet: 0 },
    flagged: 2,
    estimatedTeacherAccuracy: null,
    teacherAgreementWithHumans: null,
    finalStudentHumanAccuracy: null,
    trust,
    backend: 'cpu',
    backendSkipped: [],
    elapsedMs: 1000,
    ...figures,
  });
  const cases: [string, RunSummary][] = [
    ['no human labels', summary({ teacherAccuracy: { estimate: 0.9, low: null, high: null }, flaggedWrong: { estimate: 1.6, low: null, high: null } }, { estimatedTeacherAccuracy: 0.9 })],
    ['every row human', summary({ teacherAccuracy: null, flaggedWrong: { estimate: 0, low: 0, high: 0 } }, { flagged: 0, teacherAgreementWithHumans: 0.85, finalStudentHumanAccuracy: 1, counts: { lines: 10, rows: 10, invalidLines: 0, skippedNoText: 0, teacherLabelled: 10, humanLabelled: 10, unlabelled: 0, teacherOutsideLabelSet: 0 } })],
    ['an older worker (no trust)', summary(undefined)],
    ...OLDER_METRICS.map(([name, metrics]): [string, RunSummary] => [`older metrics: ${name}`, summary(trustFromMetrics(metrics))]),
  ];
  for (const [name, value] of cases) {
    const table = formatSummary(value).join('\n');
    assert.doesNotMatch(table, NOT_A_FIGURE, `${name}:\n${table}`);
    assert.doesNotMatch(summaryMessage('d.jsonl', value), NOT_A_FIGURE, name);
  }
  const noHumans = formatSummary(cases[0][1]).join('\n');
  assert.match(noHumans, /… of them probably wrong\s+2 \(no interval: no human labels to check against\)\n/);
  assert.match(noHumans, /estimated teacher accuracy\s+0\.900\n\s+… 90 % interval\s+—\n/);
  // Every row labelled by a human: why there is no estimate, and where the teacher's measured figure is (it was a bare "—").
  assert.match(formatSummary(cases[1][1]).join('\n'), /estimated teacher accuracy\s+— \(every teacher-labelled row has a human label, so the teacher is measured on those directly: see teacher agreement with humans\)\n/);
  assert.match(formatSummary(summary(undefined, { counts: { ...cases[1][1].counts, teacherLabelled: 0 } })).join('\n'), /estimated teacher accuracy\s+— \(no teacher labels\)\n/);
});
