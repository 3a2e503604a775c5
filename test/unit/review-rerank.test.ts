import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitReviewCorrection, prepareRerank, rerank } from '../../src/review/rerank';
import { assignRowKeys } from '../../src/review/rowKeys';
import { calibrate } from '../../src/training/calibration';
import { labelRecord } from '../../src/training/labelRecord';
import { SeededRandom } from '../../src/training/random';
import type { Prediction } from '../../src/training/types';

const LABELS = ['A', 'B', 'C'];

/**
 * Rows of three kinds, all with teacher label A where the peers disagree:
 *  - `ab`: the peers suggest B; the teacher is wrong (gold B) on 90 % of them;
 *  - `ac`: the peers suggest C just as confidently; the teacher is wrong on 30 % only (the peers confuse A with C);
 *  - clean rows where the peers agree with a right teacher.
 * 60 rows drawn at random carry their gold label (the run's human labels).
 */
function fixture(seed = 1) {
  const random = new SeededRandom(seed);
  const predictions: Prediction[] = [];
  const gold: string[] = [];
  const kind: ('ab' | 'ac' | 'clean')[] = [];
  for (let i = 0; i < 1500; i++) {
    const draw = random.next();
    const k = draw < 0.2 ? 'ab' : draw < 0.4 ? 'ac' : 'clean';
    let teacher: string;
    let peer: Record<string, number>;
    let truth: string;
    if (k === 'clean') {
      teacher = LABELS[random.int(3)];
      const s = 0.6 + 0.35 * random.next();
      peer = labelRecord(LABELS.map((label) => [label, label === teacher ? s : (1 - s) / 2] as const));
      truth = teacher;
    } else {
      teacher = 'A';
      const other = k === 'ab' ? 'B' : 'C';
      const s = 0.5 + 0.45 * random.next();
      peer = labelRecord(LABELS.map((label) => [label, label === other ? s : label === 'A' ? 0.95 - s : 0.05] as const));
      truth = random.next() < (k === 'ab' ? 0.9 : 0.3) ? other : 'A';
    }
    predictions.push({
      id: `r${i}`,
      line: i + 1,
      teacher,
      human: null,
      suggested: teacher,
      p_teacher_wrong: 0,
      flagged: false,
      probs: peer,
      peer_probs: peer,
      vanilla_probs: peer,
    });
    gold.push(truth);
    kind.push(k);
  }
  const order = predictions.map((_, i) => i);
  random.shuffle(order);
  for (const i of order.slice(0, 60)) predictions[i] = { ...predictions[i], human: gold[i] };
  return { predictions, gold, kind };
}

/** The queue after reviewing the top `count` rows of the run's own order with the gold labels. */
function reviewTop(count: number) {
  const { predictions, gold, kind } = fixture();
  const reranker = prepareRerank({ labels: LABELS, predictions });
  const before = reranker.rerank(predictions.map((p) => p.human));
  const human = predictions.map((p) => p.human);
  const reviewed = before.order.slice(0, count);
  for (const i of reviewed) human[i] = gold[i];
  const after = reranker.rerank(human);
  return { predictions, gold, kind, reranker, before, after, human, reviewed };
}

test('rerank without new decisions keeps the run calibration: queue by p_teacher_wrong, human rows out of it', () => {
  const { predictions } = fixture();
  const reranker = prepareRerank({ labels: LABELS, predictions });
  const result = reranker.rerank(predictions.map((p) => p.human));
  assert.equal(result.reviewed, 0);
  assert.equal(result.correction.rows, 0);
  const direct = calibrate({
    classes: 3,
    peerProbs: Float32Array.from(predictions.flatMap((p) => LABELS.map((label) => p.peer_probs[label]))),
    teacher: Int32Array.from(predictions, (p) => LABELS.indexOf(p.teacher!)),
    human: Int32Array.from(predictions, (p) => (p.human === null ? -1 : LABELS.indexOf(p.human))),
    teacherConfidence: new Float32Array(predictions.length).fill(NaN),
  });
  result.predictions.forEach((p, i) => {
    assert.ok(Math.abs(p.p_teacher_wrong - direct.pTeacherWrong[i]) < 1e-6);
    assert.equal(p.flagged, direct.flagged[i] === 1);
  });
  assert.equal(result.order.length, predictions.filter((p) => p.human === null).length);
  for (let k = 1; k < result.order.length; k++) assert.ok(result.rankScore[result.order[k - 1]] >= result.rankScore[result.order[k]]);
  for (const field of ['estimate', 'low', 'high'] as const) {
    const [ours, theirs] = [result.trust.teacherAccuracy[field], direct.trust.teacherAccuracy[field]];
    assert.ok(ours !== null && theirs !== null && Math.abs(ours - theirs) < 1e-6, `${field}: ${ours} vs ${theirs}`);
  }
});

test('reviewing the top rows moves the cell whose suggestions were confirmed up the rest of the queue, and the refused one down', () => {
  const { kind, before, after, reviewed } = reviewTop(150);
  const done = new Set(reviewed);
  const rest = before.order.filter((i) => !done.has(i));
  const share = (list: number[], k: 'ab' | 'ac') => list.slice(0, 150).filter((i) => kind[i] === k).length / 150;
  // Same rows, two orders: the run's, and the re-ranked one.
  assert.deepEqual([...after.order].sort((x, y) => x - y), [...rest].sort((x, y) => x - y));
  assert.ok(share(after.order, 'ab') > share(rest, 'ab') + 0.1, `ab share ${share(rest, 'ab')} → ${share(after.order, 'ab')}`);
  assert.ok(share(after.order, 'ac') < share(rest, 'ac') - 0.1, `ac share ${share(rest, 'ac')} → ${share(after.order, 'ac')}`);
  const cellAB = after.correction.cells.get(LABELS.indexOf('A') * 3 + LABELS.indexOf('B'))!;
  const cellAC = after.correction.cells.get(LABELS.indexOf('A') * 3 + LABELS.indexOf('C'))!;
  assert.ok(cellAB > cellAC, `u[A,B] ${cellAB} > u[A,C] ${cellAC}`);
});

test('the re-ranked queue finds more teacher errors in its next rows than the static order', () => {
  const { gold, predictions, before, after, reviewed } = reviewTop(150);
  const done = new Set(reviewed);
  const rest = before.order.filter((i) => !done.has(i));
  const errors = (list: number[]) => list.slice(0, 150).filter((i) => predictions[i].teacher !== gold[i]).length;
  assert.ok(errors(after.order) > errors(rest), `${errors(rest)} → ${errors(after.order)}`);
});

test('reviewed rows are known labels: never flagged, p_teacher_wrong 0, one-hot advice, out of the queue, adopted as is', () => {
  const { after, reviewed, human } = reviewTop(150);
  assert.equal(after.reviewed, 150);
  const queued = new Set(after.order);
  for (const i of reviewed) {
    const p = after.predictions[i];
    assert.equal(p.flagged, false);
    assert.equal(p.p_teacher_wrong, 0);
    assert.equal(p.human, human[i]);
    assert.equal(p.suggested, human[i]);
    assert.equal(p.probs[human[i]!], 1);
    assert.equal(after.adopted[i], human[i]);
    assert.ok(!queued.has(i));
  }
  // A label outside the run's label set is a decision too.
  const outside = [...human];
  outside[after.order[0]] = 'New label';
  const result = prepareRerank({ labels: LABELS, predictions: fixture().predictions }).rerank(outside);
  assert.equal(result.predictions[after.order[0]].flagged, false);
  assert.equal(result.adopted[after.order[0]], 'New label');
  assert.ok(!result.order.includes(after.order[0]));
});

test('the intervals do not narrow because reviewed top rows were added (a naive refit on them would)', () => {
  const { predictions, before, after, human } = reviewTop(300);
  const width = (interval: { low: number | null; high: number | null }) => {
    assert.ok(interval.low !== null && interval.high !== null, 'human pairs bound the interval');
    return interval.high - interval.low;
  };
  assert.ok(width(after.trust.teacherAccuracy) >= 0.95 * width(before.trust.teacherAccuracy), `${width(before.trust.teacherAccuracy)} → ${width(after.trust.teacherAccuracy)}`);
  // The counter-factual the test guards against: the reviewed rows fed to the calibration as if they were a random
  // sample of human labels.
  const naive = calibrate({
    classes: 3,
    peerProbs: Float32Array.from(predictions.flatMap((p) => LABELS.map((label) => p.peer_probs[label]))),
    teacher: Int32Array.from(predictions, (p) => LABELS.indexOf(p.teacher!)),
    human: Int32Array.from(human, (h) => (h === null ? -1 : LABELS.indexOf(h))),
    teacherConfidence: new Float32Array(predictions.length).fill(NaN),
  }, { crossFitFolds: 10 });
  assert.ok(width(naive.trust.teacherAccuracy) < 0.8 * width(before.trust.teacherAccuracy), 'the naive refit narrows the interval');
});

test('fitReviewCorrection: no rows is no change; a cell the reviewer always confirms is shifted up, one always refused down', () => {
  const none = fitReviewCorrection([]);
  assert.deepEqual([none.intercept, none.slope, none.rows, none.cells.size], [0, 1, 0, 0]);
  const rows = [
    ...Array.from({ length: 40 }, () => ({ p: 0.6, cell: 1, wrong: true })),
    ...Array.from({ length: 40 }, () => ({ p: 0.6, cell: 2, wrong: false })),
  ];
  const fit = fitReviewCorrection(rows);
  assert.ok(fit.cells.get(1)! > 0.5 && fit.cells.get(2)! < -0.5, JSON.stringify([...fit.cells]));
  assert.ok(fit.slope > 0);
});

test('rerank refuses a label list that does not match the predictions', () => {
  const { predictions } = fixture();
  assert.throws(() => rerank({ labels: LABELS, predictions }, [null]), /1 human labels for 1500 predictions/);
});

test('a run whose human labels include review labels (settings.json reviewedIds) is refitted without them, as the run fitted it', () => {
  const { predictions, gold, kind } = fixture(3);
  // 200 rows of the doubted kind, labelled in review of an earlier run: the teacher is wrong on most of them.
  const reviewedRows = predictions.map((_, i) => i).filter((i) => kind[i] === 'ab' && predictions[i].human === null).slice(0, 200);
  const withReview = predictions.map((p, i) => (reviewedRows.includes(i) ? { ...p, human: gold[i] } : p));
  const sample = prepareRerank({ labels: LABELS, predictions }).base;
  const marked = prepareRerank({ labels: LABELS, predictions: withReview, reviewedIds: reviewedRows.map((i) => predictions[i].id) }).base;
  const naive = prepareRerank({ labels: LABELS, predictions: withReview }).base;
  assert.equal(marked.humanCheck.rows, sample.humanCheck.rows, 'the pairs are the 60 random ones');
  assert.equal(marked.humanCheck.teacherAccuracy, sample.humanCheck.teacherAccuracy);
  assert.equal(naive.humanCheck.rows, sample.humanCheck.rows + 200);
  assert.ok(naive.humanCheck.teacherAccuracy! < sample.humanCheck.teacherAccuracy! - 0.2, 'counted as a sample they drag the check down');
  // The reviewed rows are still known labels: advised to their label, never flagged.
  for (const i of reviewedRows) {
    assert.equal(marked.flagged[i], 0);
    assert.equal(LABELS[marked.advised[i]], gold[i]);
  }
});

test('reviewedIds name rows by key: of two rows sharing an id, the reviewed one is refitted without, its twin stays a sample pair', () => {
  const { predictions, gold, kind } = fixture(3);
  const reviewedRows = predictions.map((_, i) => i).filter((i) => kind[i] === 'ab' && predictions[i].human === null).slice(0, 200);
  const sampleRows = predictions.map((_, i) => i).filter((i) => predictions[i].human !== null);
  // Each of the first sample rows shares its id with a reviewed row (a file that repeats ids).
  const twins = new Map(sampleRows.map((s, k) => [s, `twin-${k}`]));
  sampleRows.forEach((_, k) => twins.set(reviewedRows[k], `twin-${k}`));
  const withReview = predictions.map((p, i) => ({ ...p, id: twins.get(i) ?? p.id, human: reviewedRows.includes(i) ? gold[i] : p.human }));
  const keys = assignRowKeys(withReview.map((p) => p.id));
  const sample = prepareRerank({ labels: LABELS, predictions }).base;
  const marked = prepareRerank({ labels: LABELS, predictions: withReview, reviewedIds: reviewedRows.map((i) => keys[i]) }).base;
  assert.ok(sampleRows.length > 0 && sampleRows.every((s) => withReview.filter((p) => p.id === withReview[s].id).length === 2));
  assert.equal(marked.humanCheck.rows, sample.humanCheck.rows, 'every random pair, the twins of reviewed rows included, and no reviewed one');
  assert.equal(marked.humanCheck.teacherAccuracy, sample.humanCheck.teacherAccuracy);
});
