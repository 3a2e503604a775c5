/**
 * What a run that flags nothing says at its end. A strong teacher (AG News rows with 95 % of teacher labels right)
 * flags no row while its doubtful queue holds the rows it ranks first (on 2,000 such rows: 49, of which 20 teacher
 * errors). The end-of-run notification and `peerkd distill`'s table said only "0 rows flagged", and the
 * student-versus-teacher sentence told the user to "review the flagged rows in Label Review", of which there are none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary } from '../../src/cli/distill';
import { flaggedEmptyOffer, studentVersusTeacher, summaryMessage } from '../../src/review/format';
import { doubtfulPredictions } from '../../src/training/doubtful';
import type { RunSummary } from '../../src/training/protocol';
import type { Prediction } from '../../src/training/types';
import { summarize } from '../../src/training/workerRuntime';

function prediction(id: string, teacher: string | null, p: number, human: string | null = null, flagged = false): Prediction {
  const probs = teacher === null ? { A: 0.5, B: 0.5 } : { [teacher]: 1 - p, [teacher === 'A' ? 'B' : 'A']: p };
  return { id, line: 1, teacher, human, suggested: teacher ?? 'A', p_teacher_wrong: p, flagged, probs, peer_probs: {}, vanilla_probs: {} };
}

// Candidates' Σp = 0.45 + 0.4 + 0.4 + 0.3 + 0.2 + 0.1 × 4 = 2.15: two doubtful rows, about 2 errors expected.
const predictions: Prediction[] = [
  prediction('a', 'A', 0.45),
  prediction('b', 'B', 0.4),
  prediction('c', 'A', 0.4),
  prediction('d', 'B', 0.3),
  prediction('e', 'A', 0.2),
  ...['f', 'g', 'h', 'i'].map((id) => prediction(id, 'B', 0.1)),
  prediction('hum', 'A', 0.45, 'B'), // a human label at run time: not a candidate
  prediction('none', null, 0), // no teacher label: not a candidate
];

const counts = { lines: 11, rows: 11, invalidLines: 0, skippedNoText: 0, teacherLabelled: 10, humanLabelled: 1, unlabelled: 1, teacherOutsideLabelSet: 0 };
const base = { runId: 'r', runDir: '/r', datasetPath: '/d.jsonl', backend: { name: 'wasm', skipped: [] }, metrics: {}, elapsedMs: 1 };

function runSummary(overrides: Partial<RunSummary>): RunSummary {
  return {
    runId: 'r',
    runDir: '/r',
    datasetPath: '/d.jsonl',
    labels: ['A', 'B'],
    counts: { ...counts, humanLabelled: 50 },
    flagged: 0,
    estimatedTeacherAccuracy: 0.98,
    teacherAgreementWithHumans: 0.98,
    finalStudentHumanAccuracy: 0.7,
    backend: 'wasm',
    backendSkipped: [],
    elapsedMs: 1,
    ...overrides,
  };
}

test("the run's summary counts Label Review's doubtful queue by the queue's own rule (doubtful.ts)", () => {
  const summary = summarize(predictions, { labels: ['A', 'B'], counts } as never, base);
  const queue = doubtfulPredictions(predictions);
  assert.equal(summary.flagged, 0);
  assert.deepEqual(summary.doubtful, { rows: queue.rows.length, expectedErrors: queue.expectedErrors });
  assert.equal(summary.doubtful?.rows, 2);
  assert.ok(Math.abs(summary.doubtful!.expectedErrors - 2.15) < 1e-9);
  // A flagged row is no candidate (the others' Σp is 1.7: still two doubtful rows), and is counted as flagged.
  const oneFlagged = predictions.map((p) => (p.id === 'a' ? { ...p, flagged: true } : p));
  assert.equal(summarize(oneFlagged, { labels: ['A', 'B'], counts } as never, base).doubtful?.rows, 2);
  assert.equal(summarize(oneFlagged, { labels: ['A', 'B'], counts } as never, base).flagged, 1);
});

test('a run that flags nothing points at its doubtful queue, in the notification and in the CLI table', () => {
  const doubtful = { rows: 49, expectedErrors: 48.94 };
  const message = summaryMessage('strong.jsonl', runSummary({ doubtful }));
  assert.ok(message.includes(flaggedEmptyOffer(0, doubtful)!), message);
  assert.match(message, /0 rows flagged\. The run flagged no rows, but it expects about 49 teacher errors among the rows it did not flag: its doubtful queue lists the 49 rows it ranks first\./);
  // The teacher beats the student on the human labels: what to fix is in the doubtful queue, not the (empty) flagged one.
  assert.match(message, /keep the teacher's labels by default and use Label Review only to fix the doubtful rows it gets wrong\.$/);
  assert.doesNotMatch(message, /the flagged rows/);
  const table = formatSummary(runSummary({ doubtful })).join('\n');
  assert.match(table, /flagged as teacher errors\s+0\n\s+doubtful, not flagged \(Label Review\)\s+49 \(about 49 teacher errors expected among the unflagged rows\)\n/);
  // One expected error is one (examples/problems-demo.jsonl's run said "about 1 teacher errors").
  const one = formatSummary(runSummary({ doubtful: { rows: 1, expectedErrors: 0.8 } })).join('\n');
  assert.match(one, /doubtful, not flagged \(Label Review\)\s+1 \(about 1 teacher error expected among the unflagged rows\)\n/);
});

test('the student-versus-teacher advice names what there is to review: flagged rows, else the doubtful queue, else nothing', () => {
  const close = { finalStudentHumanAccuracy: 0.95, teacherAgreementWithHumans: 0.96 };
  assert.match(studentVersusTeacher(runSummary({ ...close, flagged: 3, doubtful: { rows: 5, expectedErrors: 5 } }))!, /review the flagged rows in Label Review;/);
  assert.match(studentVersusTeacher(runSummary({ ...close, doubtful: { rows: 5, expectedErrors: 5 } }))!, /review the doubtful queue in Label Review;/);
  // Nothing flagged, nothing doubtful: no queue to send the user to.
  assert.match(studentVersusTeacher(runSummary({ ...close, doubtful: { rows: 0, expectedErrors: 0.2 } }))!, /Too close to call on 50 labels: each label you set sharpens the comparison\.$/);
  const better = { finalStudentHumanAccuracy: 0.99, teacherAgreementWithHumans: 0.6 };
  assert.match(studentVersusTeacher(runSummary({ ...better, doubtful: { rows: 5, expectedErrors: 5 } }))!, /worth taking; review the doubtful queue in Label Review, most likely wrong first\.$/);
  assert.match(studentVersusTeacher(runSummary({ ...better, doubtful: { rows: 0, expectedErrors: 0 } }))!, /its suggestions are worth taking\.$/);
  // A summary from a worker that predates the doubtful figures reads as before.
  assert.match(studentVersusTeacher(runSummary({ ...close }))!, /review the flagged rows in Label Review;/);
  assert.equal(summaryMessage('d.jsonl', runSummary({})).includes('doubtful'), false);
  // A run that flags rows says nothing of the doubtful queue in its notification.
  assert.equal(summaryMessage('d.jsonl', runSummary({ flagged: 4, doubtful: { rows: 5, expectedErrors: 5 } })).includes('doubtful'), false);
});

test("peerkd distill's table says how many human labels were set in review and left out of the estimates", () => {
  const summary = summarize(predictions, { labels: ['A', 'B'], counts } as never, { ...base, metrics: { reviewedRows: 20 } });
  assert.equal(summary.reviewedRows, 20);
  assert.match(formatSummary(runSummary({ counts: { ...counts, humanLabelled: 70 }, reviewedRows: 20 })).join('\n'), /human-labelled\s+70 \(20 set in review: trained on, left out of the estimates and checks\)\n/);
  // None set in review (or a worker that predates the figure): the count alone, as before.
  assert.equal(summarize(predictions, { labels: ['A', 'B'], counts } as never, base).reviewedRows, undefined);
  assert.match(formatSummary(runSummary({ counts: { ...counts, humanLabelled: 70 }, reviewedRows: 0 })).join('\n'), /human-labelled\s+70\n/);
});
