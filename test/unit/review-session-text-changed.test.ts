/**
 * A row whose text was edited since the run (its id kept): the run's suggestion, probability and advice are about its
 * old text. Where the run recorded each row's text digest (predictions.jsonl `text_digest`), the panel shows the row as
 * changed since the run and never accepts its suggestion (one decision or bulk); a run written before those digests
 * reads as it always did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ReviewSession } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

/** The first 16 hex digits of sha256 of the text, as predictions.jsonl records it. */
const digestOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);

function prediction(id: string, line: number, p: number, suggested: string, text: string | undefined): Prediction {
  return {
    id, line, teacher: 'World', human: null, suggested, p_teacher_wrong: p, flagged: true, probs: { [suggested]: p }, peer_probs: {}, vanilla_probs: {},
    ...(text === undefined ? {} : { text_digest: digestOf(text) }),
  };
}

function setup(withDigests: boolean): { document: FakeReviewDocument; session: ReviewSession } {
  const document = new FakeReviewDocument(
    [
      '{"id": "a", "text": "alpha", "teacher_label": "World"}',
      '{"id": "b", "text": "beta", "teacher_label": "World"}',
    ].join('\n'),
  );
  const session = new ReviewSession(
    {
      labels: ['World', 'Sports', 'Business'],
      predictions: [prediction('a', 1, 0.9, 'Sports', withDigests ? 'alpha' : undefined), prediction('b', 2, 0.8, 'Business', withDigests ? 'beta' : undefined)],
    },
    document,
    { humanField: () => 'human_label' },
  );
  document.onChange = () => session.documentChanged();
  return { document, session };
}

const EDITED = '{"id": "a", "text": "alpha, rewritten", "teacher_label": "World"}';

test('a row whose text was edited since the run shows as changed, and the old text\'s suggestion is not accepted', async () => {
  const { document, session } = setup(true);
  assert.equal(session.row('a')?.changedSinceRun, false, 'its text is the run\'s');
  document.type(1, EDITED);
  const row = session.row('a')!;
  assert.equal(row.changedSinceRun, true);
  assert.equal(row.textChangedSinceRun, true);
  const view = session.rowViews().find((candidate) => candidate.key === 'a')!;
  assert.equal(view.textChangedSinceRun, true, 'the webview is told, so it draws no probability and no Accept');

  const result = await session.decide('a', { kind: 'accept' });
  assert.equal(result.status, 'refused');
  assert.match(result.status === 'refused' ? result.message : '', /row 'a': its text changed since the run.*old text/);
  assert.equal(document.lines[0], EDITED, 'nothing written');
  assert.equal(document.edits, 0);

  // Bulk accept leaves it out too.
  assert.deepEqual(session.bulkAcceptRows(0).map((candidate) => candidate.key), ['b']);
  // Keep is the user's own judgement of the row as it is: written.
  assert.deepEqual(await session.decide('a', { kind: 'keep' }), { status: 'done', note: null });
  assert.equal(document.lines[0], '{"id": "a", "text": "alpha, rewritten", "teacher_label": "World", "human_label": "World"}');
});

test('bulk accept refuses a row whose text changed while its dialog was open', async () => {
  const { document, session } = setup(true);
  const rows = session.bulkAcceptRows(0);
  assert.deepEqual(rows.map((row) => row.key), ['a', 'b']);
  document.type(2, '{"id": "b", "text": "beta, rewritten", "teacher_label": "World"}');
  const result = await session.bulkAccept(rows);
  assert.equal(result.written, 1);
  assert.equal(result.failed.length, 1);
  assert.match(result.failed[0].reason, /row 'b': its text changed since the run/);
  assert.equal(document.lines[1], '{"id": "b", "text": "beta, rewritten", "teacher_label": "World"}');
  assert.equal(document.lines[0], '{"id": "a", "text": "alpha", "teacher_label": "World", "human_label": "Sports"}');
});

test('a text as the run read it (white space between fields aside) is accepted as before', async () => {
  const { document, session } = setup(true);
  document.type(1, '{"id":"a","text":"alpha","teacher_label":"World"}');
  assert.equal(session.row('a')?.changedSinceRun, false);
  assert.deepEqual(await session.decide('a', { kind: 'accept' }), { status: 'done', note: null });
  assert.match(document.lines[0], /"human_label": ?"Sports"/);
});

test('a run written before the rows\' text digests: an edited text reads as it always did (accepted)', async () => {
  const { document, session } = setup(false);
  document.type(1, EDITED);
  assert.equal(session.row('a')?.changedSinceRun, false);
  assert.equal(session.row('a')?.textChangedSinceRun, false);
  assert.deepEqual(await session.decide('a', { kind: 'accept' }), { status: 'done', note: null });
  assert.equal(document.lines[0], '{"id": "a", "text": "alpha, rewritten", "teacher_label": "World", "human_label": "Sports"}');
});
