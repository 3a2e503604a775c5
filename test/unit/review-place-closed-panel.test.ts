/**
 * "Retrain with My Labels" keeps the user's place for the dataset's next run. Closing the Label Review panel while the
 * retraining runs lost it (the place lived in the panel), so the panel opened on the new run started at the top. The
 * place is now kept by dataset (PendingPlaces, one per extension host, src/webview/labelReviewPanel.ts), and any
 * panel opening a session of that dataset finds it (openAtKeptPlace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FILTERS, type ReviewRow } from '../../src/review/model';
import { openAtKeptPlace, PendingPlaces } from '../../src/review/place';

function row(key: string, p: number, human: string | null = null): ReviewRow {
  return { key, id: key, line: 1, text: key, teacher: 'World', suggested: 'Sports', queue: 'flagged', p, probs: {}, peerProbs: {}, vanillaProbs: {}, human, skipped: false, changedSinceRun: false, textChangedSinceRun: false, runTeacher: 'World' };
}

const DATASET = 'file:///work/data/news.jsonl';
// The user decided a and b, skipped c, and is on d when the retraining starts on run r1.
const kept = { runId: 'r1', place: { selected: 'd', skipped: ['c'], order: ['a', 'b', 'c', 'd', 'e'] } };

test('a panel opened after the first was closed during the retraining opens the new run at the row the user was on', async () => {
  const places = new PendingPlaces();
  places.keep(DATASET, kept);
  // The panel that kept it is closed (disposed); the run r2 arrives and the user opens Label Review again: a new panel.
  const newRun = [row('z', 0.99), row('d', 0.8), row('c', 0.7), row('e', 0.6)];
  const opened = await openAtKeptPlace(places, DATASET, 'r2', () => newRun, DEFAULT_FILTERS);
  assert.equal(opened?.selected, 'd', 'the row the user was on, not z at the top');
  assert.deepEqual([...(opened?.skipped ?? [])], ['c'], 'with the skips');
  assert.equal(await openAtKeptPlace(places, DATASET, 'r2', () => newRun, DEFAULT_FILTERS), undefined, 'a new run consumes it once');
});

test('a panel opened again while the retraining still runs shows the place, and leaves it for the new run', async () => {
  const places = new PendingPlaces();
  places.keep(DATASET, kept);
  const oldRun = [row('a', 0.9, 'Sports'), row('b', 0.85, 'Sports'), row('c', 0.8), row('d', 0.7), row('e', 0.6)];
  assert.equal((await openAtKeptPlace(places, DATASET, 'r1', () => oldRun, DEFAULT_FILTERS))?.selected, 'd');
  assert.equal(places.peek(DATASET), kept, 'still waiting for run r2');
});

test('the place is the dataset\'s own, and a retraining that ended without a run forgets it', async () => {
  const places = new PendingPlaces();
  const forget = places.keep(DATASET, kept);
  let asked = false;
  const rows = () => {
    asked = true;
    return [row('d', 0.8)];
  };
  assert.equal(await openAtKeptPlace(places, 'file:///work/data/other.jsonl', 'r9', rows, DEFAULT_FILTERS), undefined);
  assert.equal(asked, false, 'no rows are built when no place waits');
  forget();
  assert.equal(await openAtKeptPlace(places, DATASET, 'r2', rows, DEFAULT_FILTERS), undefined);
});
