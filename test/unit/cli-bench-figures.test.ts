import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFUSED_SHARE, confidenceCalibrationError, countFlagWarnings, covers, expectedCalibrationError, markdownTables, simulateConfusedTeacher, type CalibrationFigures, type SeedFigures, type VariantFigures } from '../../src/cli/bench';

test('confidenceCalibrationError: the ECE of the top probability against whether the arg-max is right', () => {
  // Three rows of two classes: tops 0.9 (right), 0.6 (wrong), 0.65 (right); bins [0.9, 1) and [0.6, 0.7).
  const probabilities = [0.9, 0.1, 0.4, 0.6, 0.65, 0.35];
  const truth = [0, 0, 0];
  // |0.9 − 1| / 3 + |(0.6 + 0.65) − 1| / 3
  assert.ok(Math.abs(confidenceCalibrationError(probabilities, truth, 2) - (0.1 + 0.25) / 3) < 1e-12);
  assert.equal(confidenceCalibrationError(probabilities, truth, 2), expectedCalibrationError([0.9, 0.6, 0.65], [true, false, true]));
  // A classifier that is right exactly as often as it says is calibrated.
  assert.equal(confidenceCalibrationError([1, 0, 0, 1], [0, 1], 2), 0);
  assert.ok(Number.isNaN(confidenceCalibrationError([], [], 2)));
});

/** A 4-class file of `perClass` rows per class whose teacher confuses b → c on `bc` rows and c → d on `cd` rows. */
function confusedFixture(perClass: number, bc: number, cd: number) {
  const rows: { text: string; teacher: string | null; gold: string }[] = [];
  for (const gold of ['a', 'b', 'c', 'd']) {
    for (let k = 0; k < perClass; k++) {
      const teacher = gold === 'b' && k < bc ? 'c' : gold === 'c' && k < cd ? 'd' : gold;
      rows.push({ text: `${gold} text ${k}`, teacher, gold });
    }
  }
  return rows;
}

function cells(rows: { teacher: string | null; gold: string }[]) {
  const counts = new Map<string, number>();
  for (const row of rows) if (row.teacher !== row.gold) counts.set(`${row.gold}→${row.teacher}`, (counts.get(`${row.gold}→${row.teacher}`) ?? 0) + 1);
  return counts;
}

test('simulateConfusedTeacher: accuracy A within rounding, 70 % of the mistakes one class into one other, the rest spread', () => {
  const train = confusedFixture(250, 30, 10); // the file's most frequent confusion is b → c
  for (const accuracy of [0.9, 0.95, 0.83, 0.97]) {
    const teacher = simulateConfusedTeacher(train, accuracy);
    assert.deepEqual(teacher.map((row) => [row.text, row.gold]), train.map((row) => [row.text, row.gold]), 'rows, texts and gold labels kept');
    const errors = teacher.filter((row) => row.teacher !== row.gold).length;
    assert.equal(errors, Math.round((1 - accuracy) * train.length), `accuracy ${accuracy}`);
    assert.ok(teacher.every((row) => row.teacher !== null && ['a', 'b', 'c', 'd'].includes(row.teacher)), 'no abstention, only the file’s labels');
    const counts = cells(teacher);
    assert.equal(counts.get('b→c'), Math.round(CONFUSED_SHARE * errors), `${accuracy}: the systematic cell b → c holds ${CONFUSED_SHARE} of the mistakes`);
    const spread = [...counts].filter(([cell]) => cell !== 'b→c');
    assert.ok(spread.length >= 4, `${accuracy}: the other mistakes are spread over several cells (${spread.map(([c, n]) => `${c} ${n}`).join(', ')})`);
    assert.ok(spread.every(([, n]) => n <= 0.2 * errors), `${accuracy}: no other cell is systematic`);
    assert.ok(!spread.some(([cell]) => cell.startsWith('b→')), 'class b is only ever turned into c');
    // The file's own b → c rows (the texts that read as c) are the first to be turned.
    const fileBc = train.flatMap((row, i) => (row.gold === 'b' && row.teacher === 'c' ? [i] : []));
    const turned = teacher.flatMap((row, i) => (row.gold === 'b' && row.teacher === 'c' ? [i] : []));
    if (turned.length <= fileBc.length) assert.deepEqual(turned, fileBc.slice(0, turned.length), `${accuracy}: only the file's own b → c rows`);
    else assert.ok(fileBc.every((i) => teacher[i].teacher === 'c'), `${accuracy}: the file's own b → c rows first`);
    assert.deepEqual(simulateConfusedTeacher(train, accuracy), teacher, 'deterministic');
  }
});

test('simulateConfusedTeacher: a small confused class caps the systematic cell; a file without teacher mistakes confuses its first two labels', () => {
  const small = confusedFixture(250, 30, 10).filter((row) => row.gold !== 'b' || Number(row.text.split(' ')[2]) < 40); // 40 b rows
  const teacher = simulateConfusedTeacher(small, 0.8);
  const errors = Math.round(0.2 * small.length);
  assert.equal(teacher.filter((row) => row.teacher !== row.gold).length, errors, 'accuracy still A');
  assert.equal(cells(teacher).get('b→c'), 40, 'every b row turned, no more');
  const clean = confusedFixture(100, 0, 0);
  const fallback = cells(simulateConfusedTeacher(clean, 0.9));
  assert.equal(fallback.get('a→b'), Math.round(CONFUSED_SHARE * 40));
  assert.throws(() => simulateConfusedTeacher(clean.filter((row) => row.gold === 'a').map((row) => ({ ...row, teacher: null })), 0.9), /at least two labels/);
  // A dominant confused class leaves too few other rows for the mistakes: refused, not a teacher at 0.55 for 0.5.
  const skewed = Array.from({ length: 1000 }, (_, i) => ({ text: `row ${i}`, gold: i < 900 ? 'X' : 'Y', teacher: null }));
  assert.throws(() => simulateConfusedTeacher(skewed, 0.5), /confuse:0\.5 needs 500 mistakes in 1000 rows, but this data allows 450 \(350 of "X" into "Y", one on each of the 100 rows of the other labels\)/);
  assert.equal(simulateConfusedTeacher(skewed, 0.7).filter((row) => row.teacher !== row.gold).length, 300);
});

/** One seed's figures for markdownTables: every field set, the interval bounds and P@k chosen by the test. */
function seedFigures(seed: number, over: Partial<CalibrationFigures>, precisionAt100 = 0.95): SeedFigures {
  const calibration: CalibrationFigures = {
    ece: 0.02, flaggedMeanP: 0.8, sumP: 100, teacherErrors: 100, teacherAccuracyTruth: 0.8, estimate: 0.8, estimateLow: 0.75, estimateHigh: 0.85,
    flaggedWrongExpected: 50, flaggedWrongLow: 40, flaggedWrongHigh: 60, flaggedWrongActual: 50, adoptedAccuracy: 0.82, teacherAccuracy: 0.8,
    abstainedRows: 0, abstainedAdviceAccuracy: NaN, abstainedAdviceMeanP: NaN, ...over,
  };
  const variant: VariantFigures = {
    advisedAccuracy: 0.82, peerAccuracy: 0.8, flagged: 60, flagPrecision: 0.8, flagRecall: 0.5, precisionAt100, precisionAt500: 0.85, auroc: 0.85,
    testAccuracy: 0.84, testConfidenceEce: 0.05, estimatedTeacherAccuracy: 0.8, wallSeconds: 1, phasesSeconds: { total: 1 }, rowsPerSecond: 1, backend: 'cpu',
    encodeSeconds: 0, cachedRows: 0, calibration,
  };
  return { seed, teacherAccuracy: 0.8, sftHumanTestAccuracy: 0.5, sftGoldTestAccuracy: 0.8, goldSubsetSize: 750, vanillaTestAccuracy: 0.83, variants: { PeerKD: variant }, peakRssMb: 1 };
}

const metColumn = (table: string, row: string) => table.split('\n').filter((line) => line.startsWith(`| ${row} |`)).map((line) => line.split('|').slice(-2, -1)[0].trim());

test('markdownTables checks the interval coverage (≥ 9 seeds in 10) and the mean P@k targets instead of always saying yes', () => {
  const covered = { name: 'data', results: [0, 1, 2, 3, 4].map((seed) => seedFigures(seed, {})) };
  assert.deepEqual(metColumn(markdownTables(covered, 'c', true), 'interval covers the truth (1 = yes)'), ['yes', 'yes']);
  assert.deepEqual(metColumn(markdownTables(covered, 'c', true), 'PeerKD: precision@100 of the ranking'), ['yes']);
  // Seed 3's teacher-accuracy interval misses the truth, seed 4's flagged-wrong one too; P@100 mean 0.902.
  const missed = {
    name: 'data',
    results: [0, 1, 2, 3, 4].map((seed) => seedFigures(seed, seed === 3 ? { estimateLow: 0.81 } : seed === 4 ? { flaggedWrongHigh: 45 } : {}, seed < 2 ? 0.8 : 0.95)),
  };
  const table = markdownTables(missed, 'c', true);
  assert.deepEqual(metColumn(table, 'interval covers the truth (1 = yes)'), ['**no** (4 of 5 seeds)', '**no** (4 of 5 seeds)']);
  assert.deepEqual(metColumn(table, 'PeerKD: precision@100 of the ranking'), ['**no** (mean 0.890)']);
  // Without human labels there is no interval: no coverage to count, never a 0 that reads as a miss.
  const none = { name: 'data', results: [0, 1].map((seed) => seedFigures(seed, { estimateLow: NaN, estimateHigh: NaN, flaggedWrongLow: NaN, flaggedWrongHigh: NaN })) };
  const noneTable = markdownTables(none, 'c', true);
  assert.deepEqual(metColumn(noneTable, 'interval covers the truth (1 = yes)'), ['—', '—']);
  assert.match(noneTable, /\| interval covers the truth \(1 = yes\) \| — \| — \|/);
  assert.equal(covers(0.7, 0.9, 0.9), 1);
  assert.equal(covers(0.7, 0.9, 0.91), 0);
  assert.ok(Number.isNaN(covers(NaN, 0.9, 0.8)));
});

test('markdownTables: a P@k target that the file cannot meet (fewer teacher errors to rank than k asks for) is not applicable, not a miss', () => {
  // 100 errors among the ranked rows: P@500 is at most 0.200 whatever the ranking (a strong teacher on a small file).
  const few = { name: 'data', results: [0, 1].map((seed) => ({ ...seedFigures(seed, { teacherErrors: seed === 0 ? 100 : 120 }), variants: { PeerKD: { ...seedFigures(seed, { teacherErrors: seed === 0 ? 100 : 120 }).variants.PeerKD, precisionAt500: 0.2 } } })) };
  const table = markdownTables(few, 'c', true);
  assert.deepEqual(metColumn(table, 'PeerKD: precision@500 of the ranking'), ['n/a (a seed has 100 teacher errors to rank: P@500 is at most 0.200)']);
  // P@100 can still be met with 100 errors: judged as before.
  assert.deepEqual(metColumn(table, 'PeerKD: precision@100 of the ranking'), ['yes']);
  // Enough errors (400 ≥ 0.8 × 500): judged, and a low mean is a miss.
  const enough = { name: 'data', results: [0, 1].map((seed) => ({ ...seedFigures(seed, { teacherErrors: 400 }), variants: { PeerKD: { ...seedFigures(seed, { teacherErrors: 400 }).variants.PeerKD, precisionAt500: 0.5 } } })) };
  assert.deepEqual(metColumn(markdownTables(enough, 'c', true), 'PeerKD: precision@500 of the ranking'), ['**no** (mean 0.500)']);
});

test('countFlagWarnings: each count flag above the rows is said; --human at or above the train rows (after --limit) leaves none to judge', () => {
  const files = { train: 'd/train.jsonl', test: 'd/test.jsonl' };
  assert.deepEqual(countFlagWarnings({ human: 50 }, { train: 100, test: 10 }, files), []);
  assert.deepEqual(countFlagWarnings({ human: 99, limit: 100, testLimit: 10 }, { train: 100, test: 10 }, files), []);
  assert.deepEqual(countFlagWarnings({ human: 0, limit: 200, testLimit: 11 }, { train: 100, test: 10 }, files), [
    '--limit 200 is more than the 100 rows of d/train.jsonl: all 100 are used',
    '--test-limit 11 is more than the 10 rows of d/test.jsonl: all 10 are used',
  ]);
  // --human against the rows --limit keeps.
  const [human] = countFlagWarnings({ human: 30, limit: 30 }, { train: 100, test: 10 }, files);
  assert.match(human, /^--human 30 is all of the 30 train rows \(--limit\): every train row is human, so no row is left for the figures about the rows without a human label/);
  assert.match(countFlagWarnings({ human: 31, limit: 30 }, { train: 100, test: 10 }, files)[0], /^--human 31 is more than the 30 train rows \(--limit\): .*give --human below 30/);
  assert.match(countFlagWarnings({ human: 101, limit: 200 }, { train: 100, test: 10 }, files)[1], /^--human 101 is more than the 100 train rows: /);
});
