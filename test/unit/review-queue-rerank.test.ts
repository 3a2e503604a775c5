/**
 * The review loop in the panel (issue 10 §2): re-ranking the flagged queue with the user's decisions, the explained
 * words marked in a row's text, the queue switch's messages, and where "Open line" shows the dataset (§3.12, §2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseDatasetColumn } from '../../src/commands/reviewColumn';
import { explanationMarkdown, explanationSegments } from '../../src/review/explanation';
import { DEFAULT_FILTERS } from '../../src/review/model';
import { parseWebviewMessage } from '../../src/review/protocol';
import { RERANK_EVERY, rerankQueue } from '../../src/review/queueRerank';
import { ReviewSession, type SessionUpdate } from '../../src/review/session';
import type { Prediction, RowExplanation } from '../../src/training/types';
import { RowCache } from '../../src/webview/client/rowCache';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const LABELS = ['World', 'Sports', 'Business'];

/**
 * 120 flagged rows in two cells: World→Sports (even rows) and World→Business (odd rows), p falling with the row
 * number, so the run's order interleaves the cells. The Sports suggestions are all right, the Business ones all wrong.
 */
function loop(): { document: FakeReviewDocument; session: ReviewSession; updates: SessionUpdate[]; predictions: Prediction[] } {
  const predictions: Prediction[] = [];
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    const suggested = i % 2 === 0 ? 'Sports' : 'Business';
    const p = 0.95 - i * 0.003;
    lines.push(JSON.stringify({ id: `r${i}`, text: `row ${i}`, teacher_label: 'World' }));
    predictions.push({
      id: `r${i}`,
      line: i + 1,
      teacher: 'World',
      human: null,
      suggested,
      p_teacher_wrong: p,
      flagged: true,
      probs: { [suggested]: p, World: 1 - p },
      peer_probs: {},
      vanilla_probs: {},
    });
  }
  const document = new FakeReviewDocument(lines.join('\n'));
  const updates: SessionUpdate[] = [];
  const session = new ReviewSession({ predictions, labels: LABELS }, document, { humanField: () => 'human_label', onUpdate: (update) => updates.push(update) });
  document.onChange = () => session.documentChanged();
  return { document, session, updates, predictions };
}

/** Decides the top unreviewed row as the gold labels say: accept a Sports suggestion, keep the teacher on Business. */
async function decideTop(session: ReviewSession, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    const key = session.view().order.find((candidate) => session.row(candidate)!.human === null)!;
    const row = session.row(key)!;
    assert.equal((await session.decide(key, row.suggested === 'Sports' ? { kind: 'accept' } : { kind: 'keep' })).status, 'done');
  }
}

test(`the panel re-ranks after every ${RERANK_EVERY} decisions: refused suggestions move down, only the order changes`, async () => {
  const { session, updates } = loop();
  const runOrder = session.view().order;
  const pBefore = new Map(session.rows().map((row) => [row.key, row.p]));
  await decideTop(session, RERANK_EVERY - 1);
  assert.equal(session.view().reranked, null, 'no re-rank before the 25th decision');
  assert.deepEqual(session.view().order, runOrder, "the run's order until then");
  await decideTop(session, 1);
  const view = updates.at(-1)!.view;
  assert.deepEqual(view.reranked && view.reranked.reviewed, RERANK_EVERY, 'the refresh after the 25th decision carries the re-rank');
  // The remaining rows: every Sports suggestion (confirmed by the reviewer) now comes before every Business one.
  const remaining = view.order.filter((key) => session.row(key)!.human === null);
  const firstBusiness = remaining.findIndex((key) => session.row(key)!.suggested === 'Business');
  const lastSports = remaining.map((key) => session.row(key)!.suggested).lastIndexOf('Sports');
  assert.ok(lastSports < firstBusiness, `Sports rows first after the re-rank: ${remaining.map((key) => session.row(key)!.suggested[0]).join('')}`);
  assert.notDeepEqual(view.order, runOrder);
  // The probability shown is still the run's calibrated one, row by row.
  for (const row of session.rows()) assert.equal(row.p, pBefore.get(row.key));
  for (const update of updates) for (const row of update.rows) assert.equal(row.p, pBefore.get(row.key));
  // Decided rows keep their places: the 25 reviewed rows are still the first 25 of the list, in the run's order.
  assert.deepEqual(view.order.slice(0, RERANK_EVERY), runOrder.slice(0, RERANK_EVERY));
});

test('re-rank on demand: with no decision the order stays the run\'s; the session sends one update with the new order', async () => {
  const { session, updates } = loop();
  const runOrder = session.view().order;
  assert.deepEqual(session.rerank().reviewed, 0);
  assert.deepEqual(updates.at(-1)!.view.order, runOrder);
  assert.deepEqual(updates.at(-1)!.view.reranked?.reviewed, 0);
  await decideTop(session, 6);
  updates.length = 0;
  const result = session.rerank();
  assert.equal(result.reviewed, 6);
  assert.equal(updates.length, 1);
  assert.deepEqual(updates[0].rows, []);
  assert.equal(updates[0].view.reranked?.reviewed, 6);
  // The queue the retrain carries over follows the re-ranked order too.
  assert.deepEqual(session.place().order, updates[0].view.order);
});

test('rerankQueue: 10,000 rows re-rank well under a second', () => {
  const predictions: Prediction[] = [];
  const human = new Map<string, string>();
  for (let i = 0; i < 10_000; i++) {
    const teacher = LABELS[i % 3];
    const suggested = LABELS[(i + 1) % 3];
    predictions.push({ id: `r${i}`, line: i + 1, teacher, human: null, suggested, p_teacher_wrong: 0.5 + (i % 97) / 200, flagged: true, probs: {}, peer_probs: {}, vanilla_probs: {} });
    if (i < 500) human.set(`r${i}`, i % 4 === 0 ? teacher : suggested);
  }
  const keys = predictions.map((prediction) => prediction.id);
  const result = rerankQueue(predictions, keys, LABELS, (key) => human.get(key) ?? null);
  assert.equal(result.reviewed, 500);
  assert.equal(result.scores.size, 10_000);
  // Not a timing test (the bench prints the figure): a generous bound that only a broken, quadratic re-rank misses.
  assert.ok(result.ms < 5_000, `${result.ms} ms`);
});

const EXPLANATION: RowExplanation = {
  row: 0,
  id: 'x',
  towards: 'Sports',
  away: 'World',
  logit_difference: 2.5,
  bias: 0.1,
  dense: 0,
  words: [
    ['match', 1.5],
    ['goal', 0.75],
  ],
  other_words: 0.15,
  against: [['treaty', -0.5]],
  similar: [{ id: 'h1', line: 9, label: 'Sports', similarity: 0.8 }],
};

test("explanationSegments marks each occurrence of the explained words in the row's text, as the featurizer reads them", () => {
  const text = 'The Match: a GOAL, then the treaty… match2 goalkeeper';
  const segments = explanationSegments(text, EXPLANATION);
  assert.equal(segments.map((segment) => segment.text).join(''), text, 'the text is kept exactly');
  const marked = segments.filter((segment) => 'word' in segment);
  assert.deepEqual(
    marked.map((segment) => [segment.text, 'direction' in segment ? segment.direction : '', 'contribution' in segment ? segment.contribution : 0]),
    [
      ['Match', 'towards', 1.5],
      ['GOAL', 'towards', 0.75],
      ['treaty', 'away', -0.5],
    ],
    'whole words only (match2 and goalkeeper are other words)',
  );
  assert.deepEqual(explanationSegments('plain text', { words: [] }), [{ text: 'plain text' }]);
  assert.match(explanationMarkdown(EXPLANATION), /Words for 'World': `treaty` −0\.50/);
});

test('the webview messages of the loop parse; malformed ones are refused', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'rerank' }), { type: 'rerank' });
  assert.deepEqual(parseWebviewMessage({ type: 'openSimilar', id: 'h1', line: 9 }), { type: 'openSimilar', id: 'h1', line: 9 });
  assert.equal(parseWebviewMessage({ type: 'openSimilar', id: 'h1', line: 0 }), undefined);
  assert.equal(parseWebviewMessage({ type: 'openSimilar', id: 3, line: 9 }), undefined);
  assert.deepEqual(parseWebviewMessage({ type: 'setFilters', requestId: 1, filters: { ...DEFAULT_FILTERS, queue: 'unlabelled' } }), {
    type: 'setFilters',
    requestId: 1,
    filters: { ...DEFAULT_FILTERS, queue: 'unlabelled' },
  });
});

test('"Open line" shows the dataset in its own group, never over the panel', () => {
  const groups = (...columns: number[]) => columns.map((column) => ({ column, empty: false }));
  // Dataset in group 2, panel in group 3: group 2 (not the fixed column One that shows another file).
  assert.equal(chooseDatasetColumn({ groups: groups(1, 2, 3), visibleColumns: [2], tabColumns: [2], panelColumn: 3 }), 2);
  // Dataset only a background tab of group 2.
  assert.equal(chooseDatasetColumn({ groups: groups(1, 2, 3), visibleColumns: [], tabColumns: [2], panelColumn: 3 }), 2);
  // Dataset closed, panel in group 1 alone: a new group beside it, not over the panel.
  assert.equal(chooseDatasetColumn({ groups: groups(1), visibleColumns: [], tabColumns: [], panelColumn: 1 }), 2);
  // Dataset closed, panel in group 2: the group left of it.
  assert.equal(chooseDatasetColumn({ groups: groups(1, 2), visibleColumns: [], tabColumns: [], panelColumn: 2 }), 1);
  // A tab of the dataset behind the panel in the panel's group does not count.
  assert.equal(chooseDatasetColumn({ groups: groups(1, 2), visibleColumns: [], tabColumns: [2], panelColumn: 2 }), 1);
});

test("the selected row's explanation is asked for once, cached, and a reply from before a new run is dropped", async () => {
  const cache = new RowCache<string | null>(null);
  const asked: string[] = [];
  const arrived: string[] = [];
  const pending = new Map<string, (reply: { key: string; value: string | null }) => void>();
  const fetchFor = (key: string) => () => {
    asked.push(key);
    return new Promise<{ key: string; value: string | null }>((resolve) => pending.set(key, resolve));
  };
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  cache.need('a', fetchFor('a'), (key) => arrived.push(key));
  cache.need('a', fetchFor('a'), (key) => arrived.push(key));
  assert.deepEqual(asked, ['a'], 'one request while the first is pending');
  pending.get('a')!({ key: 'a', value: 'why a' });
  await tick();
  assert.equal(cache.get('a'), 'why a');
  assert.deepEqual(arrived, ['a']);
  cache.need('a', fetchFor('a'), (key) => arrived.push(key));
  assert.deepEqual(asked, ['a'], 'cached: not asked again');
  // A reply that comes after a new run was loaded is stale: dropped, and the row is asked for again afterwards.
  cache.need('b', fetchFor('b'), (key) => arrived.push(key));
  cache.reset();
  pending.get('b')!({ key: 'b', value: 'old run' });
  await tick();
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), undefined);
  cache.need('b', fetchFor('b'), (key) => arrived.push(key));
  assert.deepEqual(asked, ['a', 'b', 'b']);
  // A reply about another row is not stored under this one.
  cache.need('c', fetchFor('c'), (key) => arrived.push(key));
  pending.get('c')!({ key: 'x', value: 'why x' });
  await tick();
  assert.equal(cache.get('c'), undefined);
  // A failed request stores the fallback, so a redraw does not ask again and again.
  cache.need('d', () => Promise.reject(new Error('timeout')), (key) => arrived.push(key));
  await tick();
  assert.equal(cache.get('d'), null);
  assert.deepEqual(arrived, ['a', 'd']);
});
