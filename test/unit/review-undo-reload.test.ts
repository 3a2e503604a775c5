/**
 * Label Review's undo after a window reload (Developer: Reload Window). The undo history lived only in the window, so
 * after a reload `u` did nothing for the decisions made before. It is kept in the host's workspace state, by dataset
 * (ReviewHistories with a store), bounded, and undo stays safe: a line is written back only where it still reads
 * exactly as the decision left it, else the user is told why and the line is left as it is.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { historyStoreKey, ReviewHistories, ReviewSession, undoMessage, type HistoryStore } from '../../src/review/session';
import type { ReviewLogEntry } from '../../src/review/reviewLog';
import { parseStoredUndo, STORED_UNDO_CHARS, STORED_UNDO_ENTRIES, storedUndo, type StoredLimits, type UndoEntry } from '../../src/review/undo';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const DATASET = 'file:///work/news.jsonl';
const LABELS = ['World', 'Sports', 'Business'];

function line(id: string, human?: string): string {
  return `{"id": "${id}", "text": "text of ${id}", "teacher_label": "World"${human === undefined ? '' : `, "human_label": "${human}"`}}`;
}

function prediction(id: string, lineNumber: number): Prediction {
  return { id, line: lineNumber, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9, flagged: true, probs: { Sports: 0.9 }, peer_probs: {}, vanilla_probs: {} };
}

/** The workspace state: what it keeps goes through JSON, as VS Code's does. */
class MemoryStore implements HistoryStore {
  readonly values = new Map<string, string>();
  get(key: string): unknown {
    const text = this.values.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }
  async update(key: string, value: unknown): Promise<void> {
    this.values.set(key, JSON.stringify(value));
  }
}

/** One window: its histories over the store, and a session of the dataset as the panel makes one. */
function openWindow(store: HistoryStore, document: FakeReviewDocument, ids: readonly string[], log: ReviewLogEntry[] = [], limits?: StoredLimits) {
  const histories = new ReviewHistories();
  histories.useStore(store, undefined, limits);
  const earlier = histories.get(DATASET);
  const session = new ReviewSession({ labels: LABELS, predictions: ids.map((id, index) => prediction(id, index + 1)) }, document, {
    humanField: () => 'human_label',
    reviewLog: async (entries) => void log.push(...entries),
    ...(earlier ? { continues: earlier } : {}),
  });
  document.onChange = () => session.documentChanged();
  histories.set(DATASET, session.carryOver().continues);
  return { histories, session };
}

test('after a window reload, u undoes the decisions made before it, newest first, restoring each line exactly', async () => {
  const store = new MemoryStore();
  const text = `${line('a')}\n${line('b')}\n`;
  const document = new FakeReviewDocument(text);
  const before = openWindow(store, document, ['a', 'b']).session;
  assert.equal((await before.decide('a', { kind: 'accept' })).status, 'done');
  assert.equal((await before.decide('b', { kind: 'set', label: 'Business' })).status, 'done');
  // The reload: a new window, the same document text (saved, or restored unsaved by the editor), the same workspace state.
  const reloaded = new FakeReviewDocument(document.lines.join('\n'));
  const after = openWindow(store, reloaded, ['a', 'b']).session;
  assert.equal(after.view().canUndo, true, 'Undo is enabled after the reload');
  const first = await after.undo();
  assert.deepEqual([first.undone, first.description, first.conflicts], [true, "Set 'Business'", []]);
  assert.equal(reloaded.lines[1], line('b'));
  assert.equal(reloaded.lines[0], line('a', 'Sports'), 'one decision per undo');
  const second = await after.undo();
  assert.deepEqual([second.description, second.conflicts], ["Accept 'Sports'", []]);
  assert.equal(reloaded.lines.join('\n'), text, 'every byte back as it was');
  assert.equal((await after.undo()).undone, false);
});

test("after a reload, undo leaves a line edited since as it is and says why; the undo history it leaves is kept too", async () => {
  const store = new MemoryStore();
  const document = new FakeReviewDocument(`${line('a')}\n${line('b')}\n`);
  const before = openWindow(store, document, ['a', 'b']).session;
  await before.decide('a', { kind: 'accept' });
  await before.decide('b', { kind: 'accept' });
  // Edited by the user or another tool after the reload: b's line holds another human label now.
  const reloaded = new FakeReviewDocument(document.lines.join('\n'));
  const window = openWindow(store, reloaded, ['a', 'b']);
  reloaded.type(2, line('b', 'Business'));
  const edited = reloaded.lines.join('\n');
  const result = await window.session.undo();
  assert.equal(result.undone, true);
  assert.equal(reloaded.lines.join('\n'), edited, "the user's newer edit is never overwritten");
  assert.deepEqual(undoMessage(result), {
    kind: 'warning',
    text: `could not undo "Accept 'Sports'": row 'b' no longer holds what the decision wrote (line 2 was edited since); it is left as it is.`,
  });
  // Another reload: the entry refused is gone from the kept history too; the decision before it is next.
  const again = new FakeReviewDocument(reloaded.lines.join('\n'));
  const third = openWindow(store, again, ['a', 'b']).session;
  const next = await third.undo();
  assert.deepEqual([next.description, next.conflicts, undoMessage(next)], ["Accept 'Sports'", [], null]);
  assert.equal(again.lines[0], line('a'));
  assert.equal(again.lines[1], line('b', 'Business'));
});

test('after a reload, undo of a decision whose line was reverted since says it was already undone, not nothing', async () => {
  const store = new MemoryStore();
  const document = new FakeReviewDocument(`${line('a')}\n${line('b')}\n`);
  const before = openWindow(store, document, ['a', 'b']).session;
  await before.decide('a', { kind: 'accept' });
  await before.decide('b', { kind: 'accept' });
  // Reverted after the reload (git checkout, Revert File): b's line holds again what it held before the decision.
  const reloaded = new FakeReviewDocument(document.lines.join('\n'));
  const window = openWindow(store, reloaded, ['a', 'b']);
  reloaded.type(2, line('b'));
  const edits = reloaded.edits;
  const result = await window.session.undo();
  assert.equal(reloaded.edits, edits, 'nothing written');
  assert.deepEqual(undoMessage(result), {
    kind: 'notice',
    text: `"Accept 'Sports'" already undone: line 2 holds what it held before the decision; nothing was written.`,
  });
  // The next u undoes the decision before it, as usual.
  const next = await window.session.undo();
  assert.deepEqual([next.description, undoMessage(next)], ["Accept 'Sports'", null]);
  assert.equal(reloaded.lines[0], line('a'));
});

test('undoMessage: a bulk entry with some rows edited since and the others already undone says both, never "undid"', () => {
  const result = {
    undone: true,
    description: 'Bulk accept (3 rows)',
    conflicts: [{ rowId: 'b', reason: 'line 2 was edited since' }],
    applied: true,
    focusRowId: 'a',
    rows: 3,
    alreadyUndone: [
      { rowId: 'a', line: 1 },
      { rowId: 'c', line: 3 },
    ],
  };
  assert.equal(
    undoMessage(result)?.text,
    `could not undo "Bulk accept (3 rows)": 1 of its 3 rows changed since (row 'b': line 2 was edited since), the other 2 already undone; they are left as they are.`,
  );
  assert.equal(undoMessage({ ...result, conflicts: [] }), null, 'the third row was written back: no word needed');
  const allBack = { ...result, conflicts: [], alreadyUndone: [...result.alreadyUndone, { rowId: 'b', line: 2 }] };
  assert.equal(undoMessage(allBack)?.text, `"Bulk accept (3 rows)" already undone: all 3 rows hold what they held before it (row 'a': line 1); nothing was written.`);
});

test('a skip is not kept across a reload (its mark is not either); the decision before it is', async () => {
  const store = new MemoryStore();
  const document = new FakeReviewDocument(`${line('a')}\n${line('b')}\n`);
  const before = openWindow(store, document, ['a', 'b']).session;
  await before.decide('a', { kind: 'accept' });
  await before.decide('b', { kind: 'skip' });
  const reloaded = new FakeReviewDocument(document.lines.join('\n'));
  const after = openWindow(store, reloaded, ['a', 'b']).session;
  assert.equal(after.row('b')?.skipped, false);
  assert.equal((await after.undo()).description, "Accept 'Sports'");
  assert.equal(reloaded.lines[0], line('a'));
});

test('undo after a reload logs the label the row had from the review before (a row decided twice stays reviewed)', async () => {
  const store = new MemoryStore();
  const document = new FakeReviewDocument(`${line('a')}\n`);
  const before = openWindow(store, document, ['a']).session;
  await before.decide('a', { kind: 'accept' });
  await before.decide('a', { kind: 'set', label: 'Business' });
  const log: ReviewLogEntry[] = [];
  const reloaded = new FakeReviewDocument(document.lines.join('\n'));
  const after = openWindow(store, reloaded, ['a'], log).session;
  await after.undo();
  assert.equal(reloaded.lines[0], line('a', 'Sports'));
  assert.deepEqual(log.map(({ key, label, action }) => ({ key, label, action })), [{ key: 'a', label: 'Sports', action: 'undo' }]);
  await after.undo();
  assert.deepEqual(log.at(-1)?.label, null);
});

test('the kept history is bounded: the newest decisions only, and undo says when the older ones were not kept', async () => {
  assert.ok(STORED_UNDO_ENTRIES > 0 && STORED_UNDO_ENTRIES <= 500 && STORED_UNDO_CHARS > 0, 'bounds that hold in the workspace state');
  // The README says the bounds as they are.
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
  assert.ok(readme.includes(`the newest ${STORED_UNDO_ENTRIES} decisions, within ${STORED_UNDO_CHARS / 1e6} million characters of lines`), 'README states the bounds');
  const limits = { entries: 3, chars: STORED_UNDO_CHARS };
  const store = new MemoryStore();
  const ids = ['r0', 'r1', 'r2', 'r3', 'r4'];
  const document = new FakeReviewDocument(`${ids.map((id) => line(id)).join('\n')}\n`);
  const before = openWindow(store, document, ids, [], limits).session;
  for (const id of ids) await before.decide(id, { kind: 'accept' });
  const stored = parseStoredUndo(store.get(historyStoreKey(DATASET)));
  assert.deepEqual(stored?.entries.map((entry) => entry.changes[0].rowId), ['r2', 'r3', 'r4']);
  assert.equal(stored?.dropped, 2);
  const reloaded = new FakeReviewDocument(document.lines.join('\n'));
  const after = openWindow(store, reloaded, ids, [], limits).session;
  for (let index = 0; index < 3; index++) assert.equal((await after.undo()).undone, true);
  assert.equal(reloaded.lines[2], line('r2'), 'the newest decisions undone');
  assert.equal(reloaded.lines[1], line('r1', 'Sports'), 'an older one not kept stays');
  const nothing = await after.undo();
  assert.equal(nothing.undone, false);
  assert.equal(undoMessage(nothing)?.text, 'Nothing more to undo: 2 older decisions were not kept across the window reload (only the newest are).');
  // A decision after the reload: kept with what is left, still counting the older ones not kept.
  await after.decide('r0', { kind: 'set', label: 'Business' });
  assert.equal(parseStoredUndo(store.get(historyStoreKey(DATASET)))?.dropped, 2);
});

test('an entry over the size bound ends the kept history there: undo never skips a decision to reach an older one', () => {
  const entry = (rowId: string, size: number): UndoEntry => ({ description: rowId, changes: [{ rowId, before: 'x'.repeat(size), after: 'y'.repeat(size) }], skippedRowIds: [] });
  const stored = storedUndo([entry('old', 1), entry('big', 100), entry('new', 2)], new Map(), { entries: 10, chars: 50 });
  assert.deepEqual(stored.entries.map((kept) => kept.description), ['new']);
  assert.equal(stored.dropped, 2);
});

test('a damaged or foreign kept history gives no history, never a partial one', () => {
  const good = storedUndo([{ description: 'Accept', changes: [{ rowId: 'a', before: 'b', after: 'c' }], skippedRowIds: [] }]);
  assert.ok(parseStoredUndo(JSON.parse(JSON.stringify(good))));
  for (const bad of [
    null,
    'text',
    { ...good, version: 2 },
    { ...good, entries: [{ description: 'Accept', changes: [{ rowId: 'a', before: 'one\ntwo', after: 'c' }] }] },
    { ...good, entries: [{ description: 'Accept', changes: [{ rowId: 1, before: 'b', after: 'c' }] }] },
    { ...good, entries: [{ description: 'Accept', changes: [] }] },
    { ...good, logged: [['a', [1]]] },
  ]) {
    assert.equal(parseStoredUndo(bad), undefined, JSON.stringify(bad));
  }
  const histories = new ReviewHistories();
  const store = new MemoryStore();
  store.values.set(historyStoreKey(DATASET), '{"version": 1, "entries": "oops"}');
  histories.useStore(store);
  assert.equal(histories.get(DATASET), undefined);
});
