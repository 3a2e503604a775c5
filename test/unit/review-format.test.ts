import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptedSentence, describeProgress, formatDuration, studentVersusTeacher, summaryMessage, trustSentence } from '../../src/review/format';
import { trustFromMetrics } from '../../src/training/protocol';
import type { RunSummary } from '../../src/training/protocol';

test('progress line: phase, stage (only when several), fold, epoch, rows/s and time left', () => {
  assert.equal(
    describeProgress({ phase: 'peer', fold: 1, folds: 2, stage: 1, stages: 1, epoch: 3, epochs: 5, rowsPerSecond: 1234.4, elapsedMs: 1000, remainingMs: 20_400, fraction: 0.4 }),
    'Peer students · fold 1/2 · epoch 3/5 · 1,234 rows/s · about 20 s left',
  );
  assert.equal(
    describeProgress({ phase: 'peer', fold: 2, folds: 5, stage: 2, stages: 3, elapsedMs: 0, fraction: 0.5 }),
    'Peer students · stage 2/3 · fold 2/5',
  );
  assert.equal(describeProgress({ phase: 'write', elapsedMs: 0, fraction: 1 }), 'Writing results');
  // A slow encoder's own count, and the run's time left (pipeline.ts: its rows at its rate, the rest after it).
  assert.equal(
    describeProgress({ phase: 'featurize', encoder: 'use-lite', encoded: 2560, toEncode: 10_000, remainingMs: 95_000, elapsedMs: 30_000, fraction: 0 }),
    'Encoding rows with use-lite · 2,560/10,000 · about 1 min 35 s left',
  );
  assert.equal(describeProgress({ phase: 'final', rowsPerSecond: 0, remainingMs: 125_000, elapsedMs: 0, fraction: 0.9 }), 'Final student · about 2 min 5 s left');
  // Before the run knows whether it needs its final student: a range; none where both ends read the same.
  assert.equal(describeProgress({ phase: 'peer', remainingMs: 125_000, remainingMsLow: 65_000, elapsedMs: 0, fraction: 0.3 }), 'Peer students · about 1 min 5 s to 2 min 5 s left');
  assert.equal(describeProgress({ phase: 'peer', remainingMs: 20_400, remainingMsLow: 20_200, elapsedMs: 0, fraction: 0.3 }), 'Peer students · about 20 s left');
});

test('durations round to seconds and never go negative', () => {
  assert.equal(formatDuration(-5), '0 s');
  assert.equal(formatDuration(59_400), '59 s');
  assert.equal(formatDuration(60_000), '1 min 0 s');
  assert.equal(formatDuration(3_599_000), '59 min 59 s');
  assert.equal(formatDuration(3_600_000), '1 h 0 min');
  assert.equal(formatDuration(100_000_000), '27 h 46 min'); // was "1666 min 40 s"
});

function summary(overrides: Partial<RunSummary> = {}, counts: Partial<RunSummary['counts']> = {}): RunSummary {
  return {
    runId: 'r',
    runDir: '/r',
    datasetPath: '/d.jsonl',
    labels: ['A', 'B'],
    counts: {
      lines: 2000,
      rows: 2000,
      invalidLines: 0,
      skippedNoText: 0,
      teacherLabelled: 2000,
      humanLabelled: 50,
      unlabelled: 0,
      teacherOutsideLabelSet: 0,
      ...counts,
    },
    flagged: 246,
    estimatedTeacherAccuracy: 0.7624,
    teacherAgreementWithHumans: 0.72,
    finalStudentHumanAccuracy: 0.74,
    backend: 'wasm',
    backendSkipped: [],
    elapsedMs: 6000,
    ...overrides,
  };
}

test('summary names the teacher accuracy estimate, the flagged rows and the final student on human labels', () => {
  assert.equal(
    summaryMessage('agnews.jsonl', summary()),
    'PeerKD: agnews.jsonl done. Estimated teacher accuracy 76.2%. 246 rows flagged. Final student 74.0% right on the 50 human labels, the teacher 72.0% on those rows. Too close to call on 50 labels: review the flagged rows in Label Review; each label you set sharpens the comparison.',
  );
});

test('the final student is shown beside the teacher on the same human rows, with what to do (issue 10 §3.11)', () => {
  const trust = { teacherAccuracy: { estimate: 0.816, low: 0.79, high: 0.84 }, flaggedWrong: { estimate: 120, low: 100, high: 140 } };
  const worse = summaryMessage('a.jsonl', summary({ trust, finalStudentHumanAccuracy: 0.74, teacherAgreementWithHumans: 0.9 }, { humanLabelled: 200 }));
  // The trust sentence stays first.
  assert.ok(worse.startsWith('PeerKD: a.jsonl done. Teacher ≈ 82% right (90% interval 79–84%). 246 rows flagged'), worse);
  assert.ok(
    worse.endsWith(
      "Final student 74.0% right on the 200 human labels, the teacher 90.0% on those rows. The teacher beats the student here: keep the teacher's labels by default and use Label Review only to fix the flagged rows it gets wrong.",
    ),
    worse,
  );
  const better = studentVersusTeacher(summary({ finalStudentHumanAccuracy: 0.9, teacherAgreementWithHumans: 0.74 }, { humanLabelled: 200 }));
  assert.match(better ?? '', /the teacher 74\.0% on those rows\. The student beats the teacher here: its suggestions are worth taking/);
  // Few labels: no verdict, whatever the gap.
  assert.match(studentVersusTeacher(summary({ finalStudentHumanAccuracy: 0.9, teacherAgreementWithHumans: 0.5 }, { humanLabelled: 10 })) ?? '', /Too close to call on 10 labels/);
  assert.equal(
    studentVersusTeacher(summary({ teacherAgreementWithHumans: null })),
    'Final student 74.0% right on the 50 human labels (no teacher labels on those rows to compare with).',
  );
  assert.equal(studentVersusTeacher(summary({ finalStudentHumanAccuracy: null })), undefined);
  // 200 human labels, 190 of them set in review: the student was read on the 10 random ones, and is said to be.
  assert.match(
    studentVersusTeacher(summary({ finalStudentHumanAccuracy: 0.9, teacherAgreementWithHumans: 0.5, finalStudentHumanRows: 10 }, { humanLabelled: 200 })) ?? '',
    /^Final student 90\.0% right on the 10 human labels, .* Too close to call on 10 labels/,
  );
});

test('summary leaves out unknown figures and reports skipped lines', () => {
  assert.equal(
    summaryMessage('d.jsonl', summary({ estimatedTeacherAccuracy: null, finalStudentHumanAccuracy: null, flagged: 1 }, { invalidLines: 1, skippedNoText: 3 })),
    'PeerKD: d.jsonl done. 1 row flagged. Skipped 1 invalid line and 3 rows without text (see Problems).',
  );
});

test('summary with trust figures: the teacher estimate and the flagged rows’ errors, each with its 90 % interval', () => {
  const trust = { teacherAccuracy: { estimate: 0.9312, low: 0.9071, high: 0.9533 }, flaggedWrong: { estimate: 36.4, low: 20.2, high: 52.6 } };
  assert.equal(
    summaryMessage('reviews.jsonl', summary({ trust, flagged: 189, finalStudentHumanAccuracy: null })),
    'PeerKD: reviews.jsonl done. Teacher ≈ 93% right (90% interval 91–95%). 189 rows flagged, about 36 of them wrong (90% interval 20–53).',
  );
  assert.equal(
    trustSentence({ teacherAccuracy: { estimate: 0.9, low: null, high: null }, flaggedWrong: { estimate: 3, low: null, high: null } }, 4),
    'Teacher ≈ 90% right as the peers read it, unchecked: no human labels (mistakes the peers learn too go unseen). 4 rows flagged, about 3 of them wrong.',
  );
  assert.equal(trustSentence({ teacherAccuracy: null, flaggedWrong: null }, 0), '0 rows flagged.');
  // The flagged rows' wrong labels bounded only by 0 and all of them: the range, not "about 17".
  assert.equal(
    trustSentence({ teacherAccuracy: null, flaggedWrong: { estimate: 17.2, low: 0, high: 26 } }, 26),
    '26 rows flagged, 0–26 of them wrong (90% interval; too few human labels for one figure).',
  );
  assert.equal(
    trustSentence({ teacherAccuracy: null, flaggedWrong: { estimate: 17.2, low: 10, high: 26 } }, 26),
    '26 rows flagged, about 17 of them wrong (90% interval 10–26).',
  );
  // One or two human labels bound nothing: no point figure beside an interval of 0–100 %.
  assert.equal(
    trustSentence({ teacherAccuracy: { estimate: 1, low: 0, high: 1 }, flaggedWrong: null }, 0),
    'Teacher accuracy not pinned down yet (90% interval 0–100%): give more rows, picked at random, a human label. 0 rows flagged.',
  );
  assert.equal(
    trustSentence({ teacherAccuracy: { estimate: 0.8, low: 0.61, high: 0.99 }, flaggedWrong: null }, 0),
    'Teacher ≈ 80% right (90% interval 61–99%). 0 rows flagged.',
  );
  // Large runs: every count with thousands separators, the interval's bounds too.
  assert.equal(
    trustSentence({ teacherAccuracy: null, flaggedWrong: { estimate: 20509.4, low: 16633.6, high: 20901 } }, 20901),
    '20,901 rows flagged, about 20,509 of them wrong (90% interval 16,634–20,901).',
  );
});

test('trust figures are read from metrics.json of any shape: missing or malformed figures are null, never invented', () => {
  assert.deepEqual(trustFromMetrics(undefined), { teacherAccuracy: null, flaggedWrong: null });
  assert.deepEqual(trustFromMetrics({ trust: { teacherAccuracy: { estimate: 0.8, low: 0.7, high: 0.9 } } }), {
    teacherAccuracy: { estimate: 0.8, low: 0.7, high: 0.9 },
    flaggedWrong: null,
  });
  // NaN is written as null in JSON; bounds that do not hold the estimate are dropped rather than shown.
  assert.deepEqual(trustFromMetrics({ trust: { teacherAccuracy: { estimate: 0.8, low: null, high: null }, flaggedWrong: { estimate: 5, low: 9, high: 12 } } }), {
    teacherAccuracy: { estimate: 0.8, low: null, high: null },
    flaggedWrong: { estimate: 5, low: null, high: null },
  });
  assert.deepEqual(trustFromMetrics({ trust: { ['__proto__']: 1, teacherAccuracy: 'x' } }), { teacherAccuracy: null, flaggedWrong: null });
});

test('the summary says what the engine did by itself: the labels it adopted and how the final student learned them, or why none', () => {
  assert.equal(
    adoptedSentence(summary({ adopted: { labels: 397, weighting: 1 } })),
    'The engine replaced 397 teacher labels by its advice (the do-no-harm test passed); the final student learned them, each row weighted by how sure the advice is of its label.',
  );
  assert.equal(adoptedSentence(summary({ adopted: { labels: 1, weighting: 0 } })), 'The engine replaced 1 teacher label by its advice (the do-no-harm test passed); the final student learned them.');
  assert.match(adoptedSentence(summary({ adopted: { labels: 0, weighting: 0 } }))!, /changed no teacher label by itself: .*plain-KD student/);
  assert.equal(adoptedSentence(summary()), undefined, 'a run from a worker that predates the figures says nothing');
  assert.equal(adoptedSentence(summary({ adopted: { labels: 0, weighting: 0 } }, { teacherLabelled: 0 })), undefined, 'no teacher labels: nothing to adopt');
  assert.ok(summaryMessage('a.jsonl', summary({ adopted: { labels: 397, weighting: 1 } })).endsWith('each row weighted by how sure the advice is of its label.'));
});
