import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { DEFAULT_FILTERS } from '../../src/review/model';
import { ReviewSession, type SessionUpdate } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const LABELS = ['World', 'Sports', 'Business'];

function prediction(id: string, line: number, p: number, teacher: string | null, suggested: string, flagged = true): Prediction {
  return {
    id,
    line,
    teacher,
    human: null,
    suggested,
    p_teacher_wrong: p,
    flagged,
    probs: { [suggested]: p, ...(teacher ? { [teacher]: 1 - p } : {}) },
    peer_probs: {},
    vanilla_probs: {},
  };
}

function setup(): { document: FakeReviewDocument; session: ReviewSession; updates: SessionUpdate[] } {
  const document = new FakeReviewDocument(
    [
      '{"id": "a", "text": "alpha", "teacher_label": "World"}',
      '{"id": "b", "text": "beta", "teacher_label": "World"}',
      '{"id": "c", "text": "gamma"}',
      '{"id": "d", "text": "delta", "teacher_label": "Sports"}',
    ].join('\n'),
  );
  const updates: SessionUpdate[] = [];
  const session = new ReviewSession(
    {
      labels: LABELS,
      predictions: [
        prediction('a', 1, 0.9, 'World', 'Sports'),
        prediction('b', 2, 0.8, 'World', 'Business'),
        prediction('c', 3, 0.7, null, 'Sports'),
        prediction('d', 4, 0.1, 'Sports', 'Sports', false),
      ],
    },
    document,
    { humanField: () => 'human_label', onUpdate: (update) => updates.push(update) },
  );
  document.onChange = () => session.documentChanged();
  return { document, session, updates };
}

test('session rows: the flagged predictions joined with the document, highest p first', () => {
  const { session } = setup();
  assert.deepEqual(
    session.rows().map((row) => [row.key, row.line, row.teacher, row.suggested]),
    [
      ['a', 1, 'World', 'Sports'],
      ['b', 2, 'World', 'Business'],
      ['c', 3, null, 'Sports'],
    ],
  );
  assert.deepEqual(session.view().order, ['a', 'b', 'c']);
  assert.equal(session.view().counts.flagged, 3);
});

test('one decision refreshes the panel once, not twice (the write and its change event)', async () => {
  const { document, session, updates } = setup();
  const result = await session.decide('a', { kind: 'accept' });
  assert.deepEqual(result, { status: 'done', note: null });
  assert.equal(document.edits, 1);
  assert.equal(updates.length, 1, 'one refresh per document change');
  assert.deepEqual(
    updates[0].rows.map((row) => [row.key, row.human, row.outcome]),
    [['a', 'Sports', 'accepted']],
  );
  assert.equal(document.lines[0], '{"id": "a", "text": "alpha", "teacher_label": "World", "human_label": "Sports"}');
  assert.equal(updates[0].view.counts.reviewed, 1);
  assert.equal(updates[0].view.canUndo, true);
  assert.equal(updates[0].view.undoDescription, "Accept 'Sports'");
});

test('keep, set with a note, and keep where the teacher abstained', async () => {
  const { document, session, updates } = setup();
  assert.deepEqual(await session.decide('a', { kind: 'keep' }), { status: 'done', note: null });
  assert.match(document.lines[0], /"human_label": "World"/);
  assert.deepEqual(await session.decide('b', { kind: 'set', label: 'Business' }), {
    status: 'done',
    note: "'Business' is the suggested label: counted as accepted.",
  });
  assert.equal(session.view().undoDescription, "Accept 'Business'");
  const refused = await session.decide('c', { kind: 'keep' });
  assert.deepEqual(refused, { status: 'refused', message: "row 'c' has no teacher label to keep", noTeacher: true });
  assert.equal(document.edits, 2);
  assert.equal(updates.length, 2);
});

test('skip writes nothing, refreshes once, and undo clears the mark (again one refresh)', async () => {
  const { document, session, updates } = setup();
  await session.decide('b', { kind: 'skip' });
  assert.equal(document.edits, 0);
  assert.equal(updates.length, 1);
  assert.equal(session.row('b')?.skipped, true);
  assert.equal(updates[0].view.counts.skipped, 1);
  const undone = await session.undo();
  assert.equal(undone.description, 'Skip');
  assert.equal(undone.focusRowId, 'b');
  assert.equal(updates.length, 2);
  assert.equal(session.row('b')?.skipped, false);
  assert.equal(session.view().canUndo, false);
});

test('undo restores the exact line, refreshes once, and refuses a line edited since', async () => {
  const { document, session, updates } = setup();
  const original = [...document.lines];
  await session.decide('a', { kind: 'accept' });
  await session.decide('b', { kind: 'accept' });
  const undone = await session.undo();
  assert.deepEqual(undone, { undone: true, description: "Accept 'Business'", conflicts: [], applied: true, focusRowId: 'b', rows: 1, alreadyUndone: [] });
  assert.equal(document.lines[1], original[1]);
  assert.equal(updates.length, 3);
  document.type(1, document.lines[0].replace('alpha', 'ALPHA'));
  const conflict = await session.undo();
  assert.deepEqual(conflict.conflicts, [{ rowId: 'a', reason: 'line 1 was edited since' }]);
  assert.match(document.lines[0], /ALPHA.*"human_label": "Sports"/);
  assert.equal((await session.undo()).undone, false);
});

test('bulk accept: the unreviewed rows at or above p, as one edit and one undo step', async () => {
  const { document, session, updates } = setup();
  await session.decide('a', { kind: 'keep' });
  const rows = session.bulkAcceptRows(0.7);
  assert.deepEqual(rows.map((row) => row.key), ['b', 'c']);
  assert.deepEqual(await session.bulkAccept(rows), { written: 2, failed: [] });
  assert.equal(document.edits, 2);
  assert.equal(updates.length, 2);
  assert.equal(session.view().undoDescription, 'Bulk accept (2 rows)');
  assert.equal(session.view().counts.reviewed, 3);
  await session.undo();
  assert.equal(session.view().counts.reviewed, 1);
});

test('a document that refuses writes is left untouched and the reason is given', async () => {
  const { document, session, updates } = setup();
  document.refuse = 'data.jsonl:2 holds bytes that are not valid UTF-8';
  const result = await session.decide('a', { kind: 'accept' });
  assert.deepEqual(result, { status: 'refused', message: "could not label row 'a': data.jsonl:2 holds bytes that are not valid UTF-8" });
  assert.equal(document.edits, 0);
  assert.equal(updates.length, 0);
  assert.equal(session.view().canUndo, false);
});

test('a row that cannot be found in a document that refuses writes: the document\'s reason is given, the one to fix first', async () => {
  const { document, session } = setup();
  document.type(3, '');
  document.refuse = 'data.jsonl:2 holds bytes that are not valid UTF-8';
  const invalid = "could not label row 'c': data.jsonl:2 holds bytes that are not valid UTF-8";
  assert.deepEqual(await session.decide('c', { kind: 'accept' }), { status: 'refused', message: invalid });
  // A keep on a row the teacher abstained on is refused for the document's reason too: no row can be written until it is fixed.
  document.type(3, '{"id": "c", "text": "gamma"}');
  assert.deepEqual(await session.decide('c', { kind: 'keep' }), { status: 'refused', message: invalid });
  // A human-field setting that names another field: its reason, not the missing row's.
  const fieldDocument = new FakeReviewDocument('{"id": "a", "text": "alpha", "teacher_label": "World"}');
  const fieldSession = new ReviewSession({ labels: LABELS, predictions: [prediction('a', 1, 0.9, 'World', 'Sports')] }, fieldDocument, {
    humanField: () => 'text',
    fields: () => ({ ...DEFAULT_FIELDS, human: 'text' }),
  });
  fieldDocument.type(1, '');
  const result = await fieldSession.decide('a', { kind: 'accept' });
  assert.match(result.status === 'refused' ? result.message : '', /^could not label row 'a': the human label field 'text' is also the text field \(peerkd\.fields\.text\)/);
  assert.equal(document.edits + fieldDocument.edits, 0);
});

test('quick fixes decide through the session on any predicted row; unknown or vanished rows are refused by name', async () => {
  const { document, session } = setup();
  assert.deepEqual(await session.decide('d', { kind: 'keep' }), { status: 'done', note: null });
  assert.match(document.lines[3], /"human_label": "Sports"/);
  assert.deepEqual(await session.decide('zz', { kind: 'accept' }), { status: 'refused', message: "the latest run has no prediction for row 'zz'" });
  document.type(3, '');
  assert.deepEqual(await session.decide('c', { kind: 'accept' }), {
    status: 'refused',
    message: "row 'c' not labelled: the row is no longer in the file",
  });
  assert.equal(session.row('c')?.line, null);
});

test('filters, selection and scroll have one owner: the session', () => {
  const { session } = setup();
  const view = session.setFilters({ ...DEFAULT_FILTERS, teacher: 'World' });
  assert.deepEqual(view.order, ['a', 'b']);
  session.setViewState({ scrollTop: 120, selectedRowId: 'b' });
  assert.equal(session.scrollTop, 120);
  assert.equal(session.selectedRowId, 'b');
  assert.deepEqual(session.filters, { ...DEFAULT_FILTERS, teacher: 'World' });
  assert.deepEqual(session.view().order, ['a', 'b']);
  assert.equal(session.probabilities('a')?.[0].label, 'Sports');
});

test('edits typed in the editor show up after one refresh', () => {
  const { document, session, updates } = setup();
  document.type(2, '{"id": "b", "text": "beta", "teacher_label": "World", "human_label": "Business"}');
  assert.equal(updates.length, 1);
  assert.equal(session.row('b')?.human, 'Business');
  assert.deepEqual(updates[0].rows.map((row) => row.key), ['b']);
});
