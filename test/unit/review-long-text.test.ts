/**
 * Very long rows: the panel is sent the first MAX_ROW_TEXT_CHARS characters of each row's text (a dataset of
 * megabyte rows was copied whole into the webview's first message), never half a surrogate pair; the search still
 * reads the whole text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FILTERS } from '../../src/review/model';
import { MAX_ROW_TEXT_CHARS } from '../../src/review/protocol';
import { ReviewSession } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

function prediction(id: string, line: number): Prediction {
  return { id, line, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9 - line / 100, flagged: true, probs: { Sports: 0.9 }, peer_probs: {}, vanilla_probs: {} };
}

test('the panel gets the start of a megabyte row and its length; the search still finds a word past the start', () => {
  const long = 'x'.repeat(MAX_ROW_TEXT_CHARS - 1) + '😀' + 'y'.repeat(1_000_000) + ' needle';
  const lines = [JSON.stringify({ id: 'long', text: long, teacher_label: 'World' }), JSON.stringify({ id: 'short', text: 'short text', teacher_label: 'World' })];
  const document = new FakeReviewDocument(lines.join('\n') + '\n');
  const session = new ReviewSession({ labels: ['World', 'Sports'], predictions: [prediction('long', 1), prediction('short', 2)] }, document, { humanField: () => 'human_label' });
  const [longView, shortView] = session.rowViews();
  assert.equal(longView.textLength, long.length);
  // The cut falls inside the emoji's surrogate pair: it is left out whole.
  assert.equal(longView.text, 'x'.repeat(MAX_ROW_TEXT_CHARS - 1));
  assert.ok(JSON.stringify(session.rowViews()).length < 3 * MAX_ROW_TEXT_CHARS, 'the rows sent to the panel are small');
  assert.deepEqual([shortView.text, shortView.textLength], ['short text', 10]);
  assert.deepEqual(session.setFilters({ ...DEFAULT_FILTERS, search: 'needle' }).order, [longView.key]);
});
