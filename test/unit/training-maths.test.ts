import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/training/random';
import { fitFeaturizer, fitTransform, compactBuckets, transform, tokenize, featureHashes, selectRows, fnv1a } from '../../src/training/featurize';
import { trainStudent, predictStudent, DEFAULT_STUDENT } from '../../src/training/student';
import { firstRowOfText, keepTextsTogether, stratifiedFolds } from '../../src/training/splits';
import {
  rowPosterior,
  estimateConfusion,
  chooseFlagThreshold,
  chooseChangeThreshold,
  calibrate,
  fitRecalibration,
  applyRecalibration,
  chooseChangeByGainBound,
  minChangeGain,
  recalibrationDraws,
  outcomeDraws,
  CHANGE_GRID,
  trustFigures,
  fitPeerTemperature,
  unjudgedLabels,
  MIN_JUDGED_LABEL_ROWS,
  IDENTITY_RECALIBRATION,
  MIN_SLOPE,
  type CalibrationInput,
  type CalibrationParameters,
} from '../../src/training/calibration';
import { precisionAtK, auroc, accuracyOf } from '../../src/training/evaluation';
import fc from 'fast-check';

const close = (actual: number, expected: number, tolerance = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

test('seeded random: same seed, same stream; different seeds differ', () => {
  const a = Array.from({ length: 5 }, ((r) => () => r.next())(new SeededRandom(7)));
  const b = Array.from({ length: 5 }, ((r) => () => r.next())(new SeededRandom(7)));
  const c = Array.from({ length: 5 }, ((r) => () => r.next())(new SeededRandom(8)));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.every((x) => x >= 0 && x < 1));
});

test('tokenize lower-cases and keeps letter/digit runs only', () => {
  assert.deepEqual(tokenize("Apple's iPod, 2004: $299!"), ['apple', 's', 'ipod', '2004', '299']);
  assert.deepEqual(tokenize('  '), []);
});

test('featurizer: unigrams plus bigrams, hashing stable, rows L2-normalised', () => {
  const uni = { buckets: 1 << 20, wordNgrams: 1, charNgrams: null };
  const bi = { ...uni, wordNgrams: 2 };
  assert.equal(featureHashes('a b c', uni).length, 3);
  assert.equal(featureHashes('a b c', bi).length, 5);
  assert.deepEqual(featureHashes('a b c', bi), featureHashes('A, b; C', bi));
  assert.equal(featureHashes('a b c', bi)[0], fnv1a('a'));
  // Bigram order matters.
  assert.notEqual(featureHashes('a b', bi)[1], featureHashes('b a', bi)[1]);
  // Char n-grams of "<ab>" for n = 2..3 (the whole padded word excluded): <a, ab, b>, <ab, ab> → 5.
  assert.equal(featureHashes('ab', { ...uni, charNgrams: [2, 3] }).length, 1 + 5);
  const fitted = fitFeaturizer(['the cat sat', 'the dog sat', 'a bird'], bi);
  const rows = transform(fitted, ['the cat sat', 'cat cat', '']);
  assert.equal(rows.rows, 3);
  let norm = 0;
  for (let k = rows.offsets[0]; k < rows.offsets[1]; k++) norm += rows.values[k] ** 2;
  close(norm, 1, 1e-5);
  assert.equal(rows.offsets[2] - rows.offsets[1], 2, 'cat, cat-cat: repeats merge into one bucket each');
  assert.equal(rows.offsets[3] - rows.offsets[2], 0, 'empty text has no features');
  // IDF: a word in 2 of 3 documents weighs less than one in 1 of 3.
  const the = fnv1a('the') % bi.buckets;
  const cat = fnv1a('cat') % bi.buckets;
  assert.ok(fitted.idf[the] < fitted.idf[cat]);
  const picked = selectRows(rows, [1]);
  assert.equal(picked.rows, 1);
  assert.deepEqual([...picked.indices], [...rows.indices.subarray(rows.offsets[1], rows.offsets[2])]);
});

test('stratified folds: every labelled item in exactly one fold, balanced per class, deterministic', () => {
  const strata = [0, 0, 0, 0, 0, 1, 1, 1, -1, 2, 2, 2, 2, 2, 2, 2];
  const folds = stratifiedFolds(strata, 3, 42);
  assert.deepEqual(folds, stratifiedFolds(strata, 3, 42));
  assert.notDeepEqual([...folds], [...stratifiedFolds(strata, 3, 43)]);
  assert.equal(folds[8], -1);
  for (let i = 0; i < strata.length; i++) if (strata[i] >= 0) assert.ok(folds[i] >= 0 && folds[i] < 3);
  for (const stratum of [0, 1, 2]) {
    const sizes = [0, 1, 2].map((f) => strata.filter((s, i) => s === stratum && folds[i] === f).length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `class ${stratum} fold sizes ${sizes}`);
  }
  const totals = [0, 1, 2].map((f) => [...folds].filter((x) => x === f).length);
  assert.ok(Math.max(...totals) - Math.min(...totals) <= 1, `fold sizes ${totals}`);
  assert.throws(() => stratifiedFolds(strata, 1, 0), /folds must be an integer >= 2/);
});

function input(peer: number[][], teacher: number[], human: number[] = teacher.map(() => -1), confidence: number[] = teacher.map(() => NaN)): CalibrationInput {
  return {
    classes: peer[0].length,
    peerProbs: Float32Array.from(peer.flat()),
    teacher: Int32Array.from(teacher),
    human: Int32Array.from(human),
    teacherConfidence: Float32Array.from(confidence),
  };
}

test('posterior matches hand-computed values: π(y) ∝ M[y][t]·e^{γ[y=t]}·S(y)·p(y)^α', () => {
  const data = input([[0.6, 0.4]], [1], [-1], [0.9]);
  const confusion = Float32Array.from([0.8, 0.2, 0.1, 0.9]);
  const out = new Float64Array(2);
  const base: CalibrationParameters = { alpha: 1, gamma: 0, beta: 0, meanConfidence: 0.6, confusion };
  rowPosterior(data, base, 0, out);
  // 0.2·0.6 = 0.12 vs 0.9·0.4 = 0.36
  close(out[0], 0.25);
  close(out[1], 0.75);
  rowPosterior(data, { ...base, alpha: 2 }, 0, out);
  // 0.2·0.36 = 0.072 vs 0.9·0.16 = 0.144
  close(out[0], 1 / 3);
  rowPosterior(data, { ...base, gamma: Math.log(2) }, 0, out);
  // 0.12 vs 0.72
  close(out[0], 1 / 7);
  rowPosterior(data, { ...base, beta: 1 }, 0, out);
  // teacher confidence 0.9 against a mean of 0.6: ×1.5 for the teacher label, ×0.25 for the others → 0.03 vs 0.54
  close(out[0], 0.03 / 0.57);
  close(out[1], 0.54 / 0.57);
});

test('teacher confusion from the confident joint matches the hand count', () => {
  // Thresholds: class 0 = mean p0 over teacher-0 rows = 0.55; class 1 = mean p1 over teacher-1 rows = 0.6.
  // Confident pairs (true, teacher): row0 (0,0), row1 (1,0), row2 (1,1); row3 passes no threshold.
  // Column teacher=1 holds 1 pair for 2 rows → scaled ×2. Counts +1: [[2,1],[2,3]].
  const data = input([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.5, 0.5]], [0, 0, 1, 1]);
  const confusion = estimateConfusion(data);
  close(confusion[0], 2 / 3);
  close(confusion[1], 1 / 3);
  close(confusion[2], 2 / 5);
  close(confusion[3], 3 / 5);
});

test('flag threshold maximises the expected F1', () => {
  // Expected errors 1.7; F1 at k = 1, 2, 3: 1.8/2.7, 3/3.7, 3.4/4.7 → best at k = 2, threshold 0.6.
  assert.equal(chooseFlagThreshold(Float32Array.from([0.2, 0.9, 0.6]), Uint8Array.from([1, 1, 1])), Float32Array.from([0.6])[0]);
  assert.equal(chooseFlagThreshold(Float32Array.from([0.9]), Uint8Array.from([0])), 1, 'nothing to flag');
});

test('change threshold: the smallest κ with the most human pairs right, and never without a strict gain', () => {
  const pairs = [
    { wrong: 0.95, best: 0, teacher: 1, truth: 0 }, // changing fixes a teacher error
    { wrong: 0.65, best: 0, teacher: 1, truth: 1 }, // changing would break a right teacher label
  ];
  // κ ≤ 0.6 changes both (1 right), 0.7 … 0.95 change only the first (2 right), ≥ 0.99 change none (1 right).
  assert.equal(chooseChangeThreshold(pairs), 0.7);
  const fixesOnly = [pairs[0], { wrong: 0.2, best: 1, teacher: 1, truth: 1 }];
  assert.equal(chooseChangeThreshold(fixesOnly), 0.5);
  assert.equal(chooseChangeThreshold([{ wrong: 0.7, best: 0, teacher: 1, truth: 1 }]), 1.01, 'changes only hurt: never change');
  assert.equal(chooseChangeThreshold([{ wrong: 0.7, best: 1, teacher: 1, truth: 1 }]), 1.01, 'no strict gain: never change');
  assert.equal(chooseChangeThreshold([]), 0.5, 'no human pairs: plain arg-max');
});

test('calibrate: human rows are one-hot and never flagged; a strong teacher is not overturned by a weak peer', () => {
  // 40 rows: teacher right on all but row 0; the peer is mediocre (0.6 on the right label) everywhere.
  const peer: number[][] = [];
  const teacher: number[] = [];
  const human: number[] = [];
  for (let i = 0; i < 40; i++) {
    const truth = i % 2;
    peer.push(truth === 0 ? [0.6, 0.4] : [0.4, 0.6]);
    teacher.push(i === 0 ? 1 : truth);
    human.push(i >= 30 ? truth : -1);
  }
  const result = calibrate(input(peer, teacher, human));
  for (let i = 30; i < 40; i++) {
    assert.equal(result.pTeacherWrong[i], 0);
    assert.equal(result.flagged[i], 0);
    assert.equal(result.posterior[i * 2 + human[i]], 1);
  }
  for (let i = 1; i < 30; i++) assert.equal(result.advised[i], teacher[i], `row ${i} keeps its correct teacher label`);
  assert.ok(result.estimatedTeacherAccuracy !== null && result.estimatedTeacherAccuracy > 0.5 && result.estimatedTeacherAccuracy <= 1);
});

test('precision@k, AUROC and accuracy against hand values', () => {
  const scores = [0.9, 0.8, 0.7, 0.1];
  const positive = [true, false, true, false];
  assert.equal(precisionAtK(scores, positive, 1), 1);
  assert.equal(precisionAtK(scores, positive, 2), 0.5);
  // Pairs (pos, neg): (0.9,0.8) ✓ (0.9,0.1) ✓ (0.7,0.8) ✗ (0.7,0.1) ✓ → 3/4
  close(auroc(scores, positive), 0.75);
  close(auroc([0.5, 0.5], [true, false]), 0.5);
  close(accuracyOf(Float32Array.from([0.9, 0.1, 0.3, 0.7]), Int32Array.from([0, 0]), 2), 0.5);
});

test('calibrate: confident peers overturn a noisy teacher when the human labels confirm it', () => {
  // 200 rows to relabel and 200 human pairs: enough for the pessimistic gain to pass the smallest one acted on
  // (minChangeGain: one label here; with 20 rows of each it stays under one label, and nothing is relabelled).
  const peer: number[][] = [];
  const teacher: number[] = [];
  const human: number[] = [];
  for (let i = 0; i < 400; i++) {
    const truth = i % 2;
    peer.push(truth === 0 ? [0.9, 0.1] : [0.1, 0.9]);
    teacher.push(i % 4 === 0 ? 1 - truth : truth);
    human.push(i >= 200 ? truth : -1);
  }
  const result = calibrate(input(peer, teacher, human));
  for (const row of [0, 4, 8, 12, 16]) {
    assert.equal(result.suggested[row], row % 2, `row ${row}: the reviewer is shown the right label`);
    assert.equal(result.advised[row], row % 2, `row ${row}: wrong teacher label replaced`);
    assert.equal(result.flagged[row], 1, `row ${row} flagged`);
    assert.ok(result.pTeacherWrong[row] > 0.5);
  }
  for (const row of [1, 2, 3, 5]) {
    assert.equal(result.suggested[row], teacher[row], `row ${row}: no other label suggested`);
    assert.equal(result.advised[row], teacher[row], `row ${row}: right teacher label kept`);
  }
  assert.equal(result.humanCheck.rows, 200);
  assert.equal(result.humanCheck.teacherAccuracy, 0.75);
  assert.equal(result.humanCheck.advisedAccuracy, 1);
});

test('the relabelling guard acts only on a pessimistic gain of at least minChangeGain labels: 0.1 % of the candidates, at least one', () => {
  assert.equal(minChangeGain(20), 1);
  assert.equal(minChangeGain(10_000), 10);
  assert.equal(minChangeGain(1_000_000), 1000);
  // 30 rows the peers are sure of: a pessimistic gain of about 30 labels at the point estimate, which passes a floor
  // of 10 and not one of 40.
  const candidates = Array.from({ length: 30 }, () => ({ rawWrong: 0.999, rawSuggested: 0.999 }));
  const tight = { intercept: 0, slope: 1, covariance: [1e-6, 0, 1e-6] as [number, number, number] };
  const passed = chooseChangeByGainBound(candidates, tight, 0.05, undefined, 10);
  assert.ok(passed.kappa < 1 && passed.lowerBound > 10 && passed.lowerBound < 40, `κ ${passed.kappa}, bound ${passed.lowerBound}`);
  assert.deepEqual(chooseChangeByGainBound(candidates, tight, 0.05, undefined, 40), { kappa: CHANGE_GRID[CHANGE_GRID.length - 1], lowerBound: 0 });
});

test('the relabelling guard bounds the realised gain, not only its expectation: a few uncertain rows are not relabelled', () => {
  // A recalibration the pairs pin down exactly, so only the rows' own outcomes are uncertain. Each candidate's
  // suggestion is right with probability 0.6 and its teacher label with 0.35: +0.25 labels expected per row.
  const tight = { intercept: 0, slope: 1, covariance: [1e-9, 0, 1e-9] as [number, number, number] };
  const rows = (n: number) => Array.from({ length: n }, () => ({ rawWrong: 0.65, rawSuggested: 0.6 }));
  // 16 such rows: +4 expected, but the realised gain (+1, −1 or 0 per row) is negative about one time in seven.
  const simulate = (n: number) => {
    const random = new SeededRandom(3);
    let losses = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      let realised = 0;
      for (let i = 0; i < n; i++) {
        const u = random.next();
        realised += u < 0.6 ? 1 : u < 0.95 ? -1 : 0;
      }
      if (realised < 0) losses++;
    }
    return losses / trials;
  };
  assert.ok(simulate(16) > 0.1, `the realised gain of 16 rows is often a loss (${simulate(16)})`);
  assert.ok(chooseChangeByGainBound(rows(16), tight).kappa > 1, '16 rows: keep every teacher label');
  // 400 rows: +100 expected, a standard deviation of about 19: relabelling loses in far fewer than 5 % of outcomes.
  assert.ok(simulate(400) < 0.01);
  const many = chooseChangeByGainBound(rows(400), tight);
  assert.ok(many.kappa <= 0.65 && many.lowerBound > 50 && many.lowerBound < 100, `400 rows: relabel (κ ${many.kappa}, bound ${many.lowerBound})`);
});

test('calibrate: when the human labels show no gain from changing, the guard keeps teacher labels but flags remain', () => {
  // Every human pair agrees with the teacher, so no change threshold gets more pairs right than "never change";
  // the peers still disagree confidently on rows 0, 6 and 12, which a reviewer should see.
  const peer: number[][] = [];
  const teacher: number[] = [];
  const human: number[] = [];
  for (let i = 0; i < 40; i++) {
    const truth = i % 2;
    const disputed = i < 18 && i % 6 === 0;
    peer.push(disputed ? (truth === 0 ? [0.02, 0.98] : [0.98, 0.02]) : truth === 0 ? [0.8, 0.2] : [0.2, 0.8]);
    teacher.push(truth);
    human.push(i >= 20 ? truth : -1);
  }
  const result = calibrate(input(peer, teacher, human));
  assert.ok(result.changeThreshold > 1, `guard closed, got κ = ${result.changeThreshold}`);
  for (let i = 0; i < 20; i++) assert.equal(result.advised[i], teacher[i], `row ${i}: the engine keeps the teacher label`);
  for (const row of [0, 6, 12]) {
    assert.notEqual(result.suggested[row], teacher[row], `row ${row}: the peers' label is suggested`);
    assert.equal(result.flagged[row], 1, `row ${row} flagged for review`);
  }
  for (const row of [1, 2, 3, 4, 5]) assert.equal(result.flagged[row], 0, `row ${row} not flagged`);
});

test('recalibration: recovers σ(a + b·logit p) from many pairs, and shrinks a ranking the pairs do not confirm', () => {
  const random = new SeededRandom(11);
  const logit = (p: number) => Math.log(p / (1 - p));
  const many = Array.from({ length: 4000 }, () => {
    const p = 0.01 + 0.98 * random.next();
    const truth = 1 / (1 + Math.exp(-(-1 + 0.5 * logit(p))));
    return { wrongProbability: p, wrong: random.next() < truth };
  });
  const fitted = fitRecalibration(many, { intercept: 2, slope: 1 });
  close(fitted.intercept, -1, 0.15);
  close(fitted.slope, 0.5, 0.1);
  assert.ok(fitted.covariance[0] > 0 && fitted.covariance[2] > 0 && fitted.covariance[2] < 0.01, 'many pairs: a tight posterior');
  // 50 pairs, 3 teacher errors, each scored *low* by the model while right labels are scored high: the pairs refute
  // the ranking, so the slope falls (never below MIN_SLOPE) and the posterior stays wide.
  const refuting = Array.from({ length: 50 }, (_, k) => ({ wrongProbability: k < 3 ? 0.02 : k < 13 ? 0.9 : 0.1, wrong: k < 3 }));
  const shrunk = fitRecalibration(refuting, { intercept: 2, slope: 1 });
  assert.ok(shrunk.slope < 0.7 && shrunk.slope >= MIN_SLOPE, `slope ${shrunk.slope}`);
  assert.ok(applyRecalibration(shrunk, 0.99) < 0.5, `a raw 0.99 is no longer confident: ${applyRecalibration(shrunk, 0.99)}`);
  assert.deepEqual(fitRecalibration([], { intercept: 2, slope: 1 }), IDENTITY_RECALIBRATION);
});

test('do-no-harm bound: relabels where every plausible recalibration gains, never where some plausible one loses', () => {
  const candidates = [
    ...Array.from({ length: 40 }, () => ({ rawWrong: 0.97, rawSuggested: 0.95 })),
    ...Array.from({ length: 200 }, () => ({ rawWrong: 0.55, rawSuggested: 0.5 })),
    ...Array.from({ length: 2000 }, () => ({ rawWrong: 0.03, rawSuggested: 0.02 })),
  ];
  const tight = { intercept: 0, slope: 1, covariance: [0.01, 0, 0.01] as [number, number, number] };
  const chosen = chooseChangeByGainBound(candidates, tight);
  assert.ok(chosen.kappa <= 0.99 && chosen.lowerBound > 0, `tight posterior: relabel (κ = ${chosen.kappa})`);
  // Same raw advice, but a recalibration the pairs hardly pin down (slope anywhere from ~0 to 2).
  const loose = { intercept: -1.5, slope: 0.4, covariance: [1, 0, 0.5] as [number, number, number] };
  const refused = chooseChangeByGainBound(candidates, loose);
  assert.ok(refused.kappa > 1, `loose posterior: keep every teacher label (κ = ${refused.kappa})`);
});

test('the gain bound is its definition, bit for bit: one sum per κ over the rows it relabels, its 5th percentile over the draws', () => {
  // The definition, written the slow way (one pass per κ and draw): what the one-pass version must reproduce exactly.
  const gain = (r: { intercept: number; slope: number; covariance: [number, number, number] }, c: { rawWrong: number; rawSuggested: number }) => {
    const wrong = applyRecalibration(r, c.rawWrong);
    return (c.rawWrong > 1e-12 ? (c.rawSuggested * wrong) / c.rawWrong : 0) - (1 - wrong);
  };
  const reference = (candidates: { rawWrong: number; rawSuggested: number }[], recalibration: typeof IDENTITY_RECALIBRATION, samples: (typeof IDENTITY_RECALIBRATION)[]) => {
    let best = { kappa: CHANGE_GRID[CHANGE_GRID.length - 1], lowerBound: 0 };
    for (const kappa of CHANGE_GRID.slice(0, -1)) {
      const chosen = candidates.filter((c) => applyRecalibration(recalibration, c.rawWrong) >= kappa && gain(recalibration, c) > 0);
      if (chosen.length === 0) continue;
      // Per draw: the expected gain plus that draw's luck times the outcomes' standard deviation.
    const luck = outcomeDraws(samples.length);
    const variance = (r: typeof IDENTITY_RECALIBRATION, c: { rawWrong: number; rawSuggested: number }) => {
      const g = gain(r, c);
      const right = 1 - applyRecalibration(r, c.rawWrong);
      return Math.max(0, g + 2 * right - g * g);
    };
    const gains = samples
      .map((sample, s) => chosen.reduce((sum, c) => sum + gain(sample, c), 0) + luck[s] * Math.sqrt(chosen.reduce((sum, c) => sum + variance(sample, c), 0)))
      .sort((x, y) => x - y);
      const lowerBound = gains[Math.floor(0.05 * gains.length)];
      if (lowerBound > best.lowerBound) best = { kappa, lowerBound };
    }
    return best;
  };
  // Probabilities spread over [0, 1], the grid's own values among them (ties at a threshold).
  const probability = fc.oneof(fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000), fc.constantFrom(...CHANGE_GRID.slice(0, -1)));
  const candidate = fc.record({ rawWrong: probability, share: probability }).map(({ rawWrong, share }) => ({ rawWrong, rawSuggested: rawWrong * share }));
  fc.assert(
    fc.property(
      fc.array(candidate, { maxLength: 60 }),
      fc.double({ min: -3, max: 3, noNaN: true }),
      fc.double({ min: MIN_SLOPE, max: 3, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      (candidates, intercept, slope, spread, identity) => {
        const recalibration = identity ? IDENTITY_RECALIBRATION : { intercept, slope, covariance: [spread, 0, spread / 2] as [number, number, number] };
        const samples = recalibrationDraws(recalibration, 32);
        assert.deepEqual(chooseChangeByGainBound(candidates, recalibration, 0.05, samples, 0), reference(candidates, recalibration, samples));
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});

test('trust figures: the 90 % interval of the teacher accuracy covers the truth ≥ 85 % of the time, with a biased model', () => {
  const random = new SeededRandom(5);
  let covered = 0;
  let bias = 0;
  const runs = 200;
  for (let run = 0; run < runs; run++) {
    const rows = 1500;
    const teacher = new Int32Array(rows);
    const human = new Int32Array(rows).fill(-1);
    const pTeacherWrong = new Float32Array(rows);
    const truth: boolean[] = [];
    for (let i = 0; i < rows; i++) {
      const q = random.next() < 0.8 ? 0.02 : 0.4; // the real error risk of the row
      truth.push(random.next() < q);
      pTeacherWrong[i] = q / 2; // the model halves every risk: confidently wrong about the teacher
    }
    const pairs: { pRight: number; right: boolean }[] = [];
    for (let i = 0; i < 50; i++) {
      human[i] = 0;
      pairs.push({ pRight: 1 - pTeacherWrong[i], right: !truth[i] });
    }
    const input = { classes: 2, peerProbs: new Float32Array(rows * 2), teacher, human, teacherConfidence: new Float32Array(rows).fill(NaN) };
    const { teacherAccuracy } = trustFigures(input, pTeacherWrong, new Uint8Array(rows), pairs);
    const real = truth.slice(50).filter((wrong) => !wrong).length / (rows - 50);
    assert.ok(teacherAccuracy.estimate !== null && teacherAccuracy.low !== null && teacherAccuracy.high !== null, 'human pairs bound the estimate');
    if (teacherAccuracy.low <= real && real <= teacherAccuracy.high) covered++;
    bias += (teacherAccuracy.estimate - real) / runs;
  }
  assert.ok(covered / runs >= 0.85, `covered ${covered} of ${runs}`);
  assert.ok(Math.abs(bias) < 0.01, `the corrected estimate is unbiased (mean error ${bias}); the model alone is off by 0.05`);
});

test('peer temperature for rows without a teacher label: over-confident peers are cooled, timid ones sharpened', () => {
  const rowsOf = (p: number, right: number, total: number) => {
    const peer: number[][] = [];
    const human: number[] = [];
    for (let i = 0; i < total; i++) {
      peer.push([p, 1 - p]);
      human.push(i < right ? 0 : 1);
    }
    return input(peer, peer.map(() => -1), human);
  };
  const all = Array.from({ length: 50 }, (_, i) => i);
  // Peers say 0.99 but are right on 35 of 50 rows: the likelihood wants them much flatter.
  assert.ok(fitPeerTemperature(rowsOf(0.99, 35, 50), all) < 0.5);
  // Peers say 0.6 but are right on 49 of 50 rows: sharper.
  assert.ok(fitPeerTemperature(rowsOf(0.6, 49, 50), all) > 2);
  assert.equal(fitPeerTemperature(rowsOf(0.6, 49, 50), []), 1, 'no human labels: no change');
});

test('fitTransform (one tokenising pass) equals fitFeaturizer then transform', () => {
  const texts = ['the cat sat on the mat', 'the dog sat', 'a bird, a bird', '', 'Cat CAT cat'];
  const config = { buckets: 1 << 12, wordNgrams: 2, charNgrams: [2, 4] as [number, number] };
  const fitted = fitFeaturizer(texts, config);
  const both = fitTransform(texts, config);
  assert.deepEqual(both.featurizer, fitted);
  assert.deepEqual(both.features, transform(fitted, texts));
});

test('compact buckets: a student on the used buckets only predicts exactly what the full-table student does', async () => {
  const texts = ['good great fine', 'bad awful poor', 'great fine good day', 'poor awful night', 'fine day', 'awful day'];
  const fitted = fitTransform(texts, { buckets: 1 << 10, wordNgrams: 2, charNgrams: null });
  const buckets = fitted.featurizer.config.buckets;
  const { features, rowBuckets } = compactBuckets(fitted.features, buckets);
  assert.deepEqual([...rowBuckets], [...new Set(fitted.features.indices)].sort((a, b) => a - b), 'each used bucket once, increasing');
  for (let k = 0; k < features.indices.length; k++) assert.equal(rowBuckets[features.indices[k]], fitted.features.indices[k]);
  const targets = new Float32Array(texts.flatMap((_, i) => (i % 2 === 0 ? [1, 0] : [0, 1])));
  const options = { ...DEFAULT_STUDENT, epochs: 7, minRowUpdates: 0, seed: 5 };
  const weights = new Float32Array(texts.length).fill(1);
  const full = await trainStudent({ features: fitted.features, targets, weights }, buckets, 2, options);
  const compact = await trainStudent({ features, targets, weights }, rowBuckets.length, 2, options);
  assert.equal(compact.embedding.length, rowBuckets.length * options.dim);
  for (let i = 0; i < rowBuckets.length; i++) {
    assert.deepEqual(compact.embedding.subarray(i * options.dim, (i + 1) * options.dim), full.embedding.subarray(rowBuckets[i] * options.dim, (rowBuckets[i] + 1) * options.dim));
  }
  // Prediction takes bucket-numbered features, new texts included (their unseen buckets are zero rows in both).
  const unseen = transform(fitted.featurizer, ['good night', 'brand new words only', ...texts]);
  assert.deepEqual(predictStudent({ ...compact, buckets, rowBuckets }, unseen), predictStudent(full, unseen));
});

test('calibrate: the rows without a human label are read a fixed number of times, not once per cross-fitting group', () => {
  // Each cross-fitting group held out only human pairs, yet counted the confident joint over every row again: at a
  // million rows and 100 groups that was most of the calibration's time. Reads of the peer probabilities of the rows
  // without a human label must not grow with the number of human pairs (so with the number of groups).
  const readsWith = (pairs: number) => {
    const rows = 400;
    const random = new SeededRandom(3);
    const probs = new Float32Array(rows * 2);
    const teacher = new Int32Array(rows);
    const human = new Int32Array(rows).fill(-1);
    for (let i = 0; i < rows; i++) {
      const truth = i % 2;
      const p = 0.6 + 0.35 * random.next();
      probs.set(truth === 0 ? [p, 1 - p] : [1 - p, p], i * 2);
      teacher[i] = i % 7 === 0 ? 1 - truth : truth;
      if (i < pairs) human[i] = truth;
    }
    let reads = 0;
    const peerProbs = new Proxy(probs, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) >= pairs * 2) reads++;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    calibrate({ classes: 2, peerProbs, teacher, human, teacherConfidence: new Float32Array(rows).fill(NaN) });
    return reads;
  };
  const few = readsWith(10);
  const many = readsWith(60);
  assert.ok(many <= few * 1.05, `${many} reads with 60 human pairs, ${few} with 10`);
});

/**
 * `judged` rows of two labels the peers see well (peer `judgedPeer` on the right one; the teacher wrong on every
 * `wrongEvery`-th row; the first `humans` rows human-labelled), then `rare` rows of a third label with peer `rarePeer`,
 * whose first `rareHumans` rows get the human label `rareHumanLabel`. The scenario of the labels-on-few-rows tests.
 */
function withRareLabel(options: {
  judged: number;
  judgedPeer: number;
  wrongEvery: number;
  humans: number;
  rare: number;
  rarePeer: number[];
  rareHumans?: number;
  rareHumanLabel?: number;
}): { peer: number[][]; teacher: number[]; human: number[] } {
  const peer: number[][] = [];
  const teacher: number[] = [];
  const human: number[] = [];
  const other = 0.98 - options.judgedPeer;
  for (let i = 0; i < options.judged; i++) {
    const truth = i % 2;
    peer.push(truth === 0 ? [options.judgedPeer, other, 0.02] : [other, options.judgedPeer, 0.02]);
    teacher.push(i % options.wrongEvery === 0 ? 1 - truth : truth);
    human.push(i < options.humans ? truth : -1);
  }
  for (let i = 0; i < options.rare; i++) {
    peer.push(options.rarePeer);
    teacher.push(2);
    human.push(i < (options.rareHumans ?? 0) ? (options.rareHumanLabel ?? 2) : -1);
  }
  return { peer, teacher, human };
}

test('unjudgedLabels: a label far rarer than the others and under 30 rows; a file of small labels keeps them all', () => {
  assert.deepEqual(unjudgedLabels([2500, 2500, 10, 2500]), [false, false, true, false]);
  assert.deepEqual(unjudgedLabels([2500, 2500, MIN_JUDGED_LABEL_ROWS, 2500]), [false, false, false, false]);
  // Every label on a few dozen rows, or on one row each: nothing is rarer than the rest.
  assert.deepEqual(unjudgedLabels([20, 25, 18]), [false, false, false]);
  assert.deepEqual(unjudgedLabels([1, 1, 1]), [false, false, false]);
  assert.deepEqual(unjudgedLabels([5, 1]), [false, true]);
  // A label no row holds is no teacher label: never marked; nor does it pull the median down.
  assert.deepEqual(unjudgedLabels([0, 100, 100, 12]), [false, false, false, true]);
  assert.deepEqual(unjudgedLabels([]), []);
});

test('calibrate: a label on a few rows, which the peers barely saw, keeps its rows: P(teacher wrong) is the base error rate, never relabelled or flagged', () => {
  // The scenario in which confident peers overturn a noisy teacher (above), plus 6 rows of a third label the teacher
  // gets right but the peers give 2 %: they would read as certainly wrong.
  const peer: number[][] = [];
  const teacher: number[] = [];
  const human: number[] = [];
  for (let i = 0; i < 400; i++) {
    const truth = i % 2;
    peer.push(truth === 0 ? [0.88, 0.1, 0.02] : [0.1, 0.88, 0.02]);
    teacher.push(i % 4 === 0 ? 1 - truth : truth);
    human.push(i >= 200 ? truth : -1);
  }
  for (let i = 0; i < 6; i++) {
    peer.push([0.7, 0.28, 0.02]);
    teacher.push(2);
    human.push(-1);
  }
  const result = calibrate(input(peer, teacher, human));
  let judgedWrong = 0;
  let judged = 0;
  for (let i = 0; i < 200; i++) {
    judgedWrong += result.pTeacherWrong[i];
    judged++;
  }
  for (let i = 400; i < 406; i++) {
    assert.equal(result.advised[i], 2, `row ${i} keeps the teacher's label`);
    assert.equal(result.suggested[i], 2, `row ${i}: the suggestion is the teacher's label`);
    assert.equal(result.flagged[i], 0, `row ${i} is not flagged`);
    close(result.pTeacherWrong[i], judgedWrong / judged, 1e-6);
    close(result.posterior[i * 3] + result.posterior[i * 3 + 1] + result.posterior[i * 3 + 2], 1, 1e-6);
    // The other labels keep their order (the suggestion among them is unchanged).
    assert.ok(result.posterior[i * 3] > result.posterior[i * 3 + 1]);
  }
  // The labels the peers can judge are relabelled as before.
  for (const row of [0, 4, 8, 12, 16]) assert.equal(result.advised[row], row % 2, `row ${row}: wrong teacher label replaced`);
});

test('calibrate: a human label on a row of a label the peers cannot judge does not sway the fits (one such pair vetoed every relabelling)', () => {
  // 2,000 rows the peers judge (the teacher wrong on 1 in 4), 10 random human labels, and 20 rows of a third label the
  // teacher gets right but the peers give 2 %. Labelling one of those 20 by hand added a pair that read as "P(wrong)
  // 0.9, yet right" to the recalibration: the do-no-harm test then relabelled nothing (497 rows before).
  const scenario = (rareHumans: number) => {
    const { peer, teacher, human } = withRareLabel({ judged: 2000, judgedPeer: 0.85, wrongEvery: 4, humans: 10, rare: 20, rarePeer: [0.7, 0.28, 0.02], rareHumans });
    return { result: calibrate(input(peer, teacher, human)), teacher, human };
  };
  const without = scenario(0).result;
  const { result: withPair, teacher, human } = scenario(1);
  // The same fits (up to the confident joint losing one row of the third label).
  close(withPair.recalibration.intercept, without.recalibration.intercept, 1e-3);
  close(withPair.recalibration.slope, without.recalibration.slope, 1e-3);
  assert.equal(withPair.changeThreshold, without.changeThreshold);
  let changed = 0;
  for (let i = 0; i < 2000; i++) {
    assert.equal(withPair.advised[i], without.advised[i], `row ${i}`);
    if (human[i] < 0 && withPair.advised[i] !== teacher[i]) changed++;
  }
  assert.ok(changed > 400, `${changed} rows relabelled`);
  // The pair is judged as the label's unlabelled rows are, without its own verdict: P(teacher right) = 1 − the base
  // error rate (the mean over the judged rows); the unlabelled rows of the label take the pair's verdict in.
  let baseWrong = 0;
  for (let i = 10; i < 2000; i++) baseWrong += withPair.pTeacherWrong[i] / 1990;
  const pair = withPair.trustPairs.find((entry) => entry.row === 2000)!;
  close(pair.pRight, 1 - baseWrong, 1e-5);
  close(withPair.pTeacherWrong[2019], (2 * baseWrong) / 3, 1e-5); // (0 wrong + 2 × base) / (1 pair + 2)
  assert.equal(pair.right, true);
  assert.equal(withPair.humanCheck.rows, 11);
  assert.equal(withPair.humanCheck.teacherAccuracy, without.humanCheck.teacherAccuracy! * (10 / 11) + 1 / 11);
});

test('calibrate: rows of a label the peers cannot judge, where every other teacher row has a human label, take the error rate of the human pairs', () => {
  // 100 human pairs, the teacher right on each, and 3 teacher rows of a second label: there is no judged row without
  // a human label to take the base error rate from. It was 0.5: 'Teacher ≈ 50% right (49–51%)' and 3 rows flagged.
  const peer: number[][] = [];
  const teacher: number[] = [];
  const human: number[] = [];
  for (let i = 0; i < 100; i++) {
    peer.push([0.9, 0.1]);
    teacher.push(0);
    human.push(0);
  }
  for (let i = 0; i < 3; i++) {
    peer.push([0.95, 0.05]);
    teacher.push(1);
    human.push(-1);
  }
  const result = calibrate(input(peer, teacher, human));
  for (let i = 100; i < 103; i++) {
    close(result.pTeacherWrong[i], 1 / 102, 1e-6); // (0 wrong + 1) / (100 pairs + 2)
    assert.equal(result.suggested[i], 1);
    assert.equal(result.flagged[i], 0);
  }
  assert.ok((result.trust.teacherAccuracy.estimate ?? 0) > 0.95, String(result.trust.teacherAccuracy.estimate));
  // Nothing to go on at all (no judged row, no pair): 0.5, and the tie keeps the teacher's label.
  const bare = calibrate(input([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.95, 0.05]], [-1, -1, -1, -1, 1], [0, 0, 0, 0, -1]));
  close(bare.pTeacherWrong[4], 0.5, 1e-6);
  assert.equal(bare.suggested[4], 1);
  assert.equal(bare.flagged[4], 0);
});

test('calibrate: a label the teacher made up on a few rows, which the human labels of those rows refute, is flagged on its other rows (never relabelled)', () => {
  // 2,000 rows the peers judge, 100 random human labels, and 20 rows where the teacher wrote a third label the peers
  // barely saw; humans checked 5 of them and gave each the first label. Set apart at the base rate (P 0.1) the other
  // 15 read as right although every human label of theirs said wrong.
  const { peer, teacher, human } = withRareLabel({ judged: 2000, judgedPeer: 0.85, wrongEvery: 10, humans: 100, rare: 20, rarePeer: [0.9, 0.08, 0.02], rareHumans: 5, rareHumanLabel: 0 });
  const result = calibrate(input(peer, teacher, human));
  let baseWrong = 0;
  for (let i = 100; i < 2000; i++) baseWrong += result.pTeacherWrong[i] / 1900;
  for (let i = 2005; i < 2020; i++) {
    close(result.pTeacherWrong[i], (5 + 2 * baseWrong) / (5 + 2), 1e-5); // 5 of 5 pairs wrong, the base rate worth 2
    assert.equal(result.suggested[i], 0, `row ${i}: the peers' label among the others`);
    assert.equal(result.flagged[i], 1, `row ${i} is flagged`);
    assert.equal(result.advised[i], 2, `row ${i} keeps the teacher's label (never relabelled)`);
  }
  // Each pair is judged without its own verdict: 4 of 4 others wrong.
  const pair = result.trustPairs.find((entry) => entry.row === 2000)!;
  close(pair.pRight, 1 - (4 + 2 * baseWrong) / (4 + 2), 1e-5);
});

test('a student whose training diverges is trained again at a lower rate: one text on half the rows under two labels', async () => {
  // 100 rows; every other row is the text '[deleted]', labelled 'a' or 'b' alternately; the rest name their label.
  const texts = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? '[deleted]' : `word${i % 4} other${(i * 7) % 20} more${(i * 3) % 11}`));
  const labelOf = (i: number) => i % 4;
  const featurizer = fitFeaturizer(texts);
  const features = transform(featurizer, texts);
  const targets = new Float32Array(100 * 4);
  texts.forEach((_, i) => (targets[i * 4 + labelOf(i)] = 1));
  const set = { features, targets, weights: new Float32Array(100).fill(1) };
  const weights = await trainStudent(set, featurizer.config.buckets, 4, { ...DEFAULT_STUDENT, seed: 0 });
  assert.ok(weights.restarted, 'trained again');
  assert.ok(weights.restarted.learningRate < DEFAULT_STUDENT.learningRate);
  assert.ok(weights.restarted.divergedLosses.every((loss) => !(loss <= 2 * Math.log(4))), `given up on a loss above 2 ln 4: ${weights.restarted.divergedLosses}`);
  const probabilities = predictStudent(weights, features);
  assert.ok(probabilities.every(Number.isFinite), 'no NaN');
  // '[deleted]' is labelled 0 and 2 equally often: the student says so.
  close(probabilities[0], 0.5, 0.05);
  close(probabilities[2], 0.5, 0.05);
  // A student that does not diverge is trained once (no restarted field); its bits are pinned by training-student-kernel.
  const calm = { features, targets: Float32Array.from(targets), weights: Float32Array.from(texts, (text) => (text === '[deleted]' ? 0 : 1)) };
  const once = await trainStudent(calm, featurizer.config.buckets, 4, { ...DEFAULT_STUDENT, seed: 0 });
  assert.equal(once.restarted, undefined);
});

test('folds keep the copies of a text together; rows of a text seen once keep their stratified fold', () => {
  const texts = ['a', 'b', 'a', 'c', 'b', 'a', 'd', 'e', 'c'];
  const strata = [0, 1, 1, 0, -1, 2, 0, 1, 2];
  assert.deepEqual([...firstRowOfText(texts)], [0, 1, 0, 3, 1, 0, 6, 7, 3]);
  const plain = stratifiedFolds(strata, 3, 7);
  const folds = keepTextsTogether(stratifiedFolds(strata, 3, 7), firstRowOfText(texts));
  for (let i = 0; i < texts.length; i++) {
    if (strata[i] < 0) assert.equal(folds[i], -1, 'a row left out stays out');
    for (let j = 0; j < texts.length; j++) if (texts[i] === texts[j] && strata[i] >= 0 && strata[j] >= 0) assert.equal(folds[i], folds[j], `rows ${i} and ${j}`);
  }
  for (const i of [6, 7]) assert.equal(folds[i], plain[i], 'a text on one row keeps its fold');
  // The first row of 'b' is left out (-1): 'b' takes the fold of its first row that has one.
  assert.equal(folds[4], -1);
  // Without repeated texts nothing moves.
  const unique = ['p', 'q', 'r', 's', 't', 'u'];
  assert.deepEqual([...keepTextsTogether(stratifiedFolds([0, 1, 0, 1, 0, 1], 2, 1), firstRowOfText(unique))], [...stratifiedFolds([0, 1, 0, 1, 0, 1], 2, 1)]);
});
