/**
 * `peerkd.fields.*` remapped after the run while its review is open. A remapped id field gives every row another
 * identity, so no row of the run is found: decisions and undo said "the row is no longer in the file" of rows that
 * were all there. A remapped teacher field makes every teacher label read as changed, and an accept was refused as
 * "its teacher label changed since the run". Both now name the setting, its value then and now, and what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { ReviewSession } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

function prediction(id: string): Prediction {
  return { id, line: 1, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9, flagged: true, probs: { Sports: 0.9, World: 0.1 }, peer_probs: {}, vanilla_probs: {} };
}

function setup() {
  const document = new FakeReviewDocument(
    [
      '{"id": "a", "uid": "u1", "text": "alpha", "teacher_label": "World", "llm": "Business"}',
      '{"id": "b", "uid": "u2", "text": "beta", "teacher_label": "World", "llm": "Business"}',
    ].join('\n'),
  );
  const session = new ReviewSession({ labels: ['World', 'Sports', 'Business'], predictions: [prediction('a'), prediction('b')], fields: DEFAULT_FIELDS }, document, {
    humanField: () => document.fields.human,
    fields: () => document.fields,
  });
  document.onChange = () => session.documentChanged();
  return { document, session };
}

test('the id field remapped since the run: a decision names the setting instead of saying the row left the file', async () => {
  const { document, session } = setup();
  document.fields = { ...DEFAULT_FIELDS, id: 'uid' };
  session.documentChanged();
  const result = await session.decide('a', { kind: 'keep' });
  assert.equal(result.status, 'refused');
  assert.match(result.status === 'refused' ? result.message : '', /peerkd\.fields\.id is 'uid' now, but the run read the id field 'id'.*set it back to review this run, or run again/);
  assert.equal(document.edits, 0);
});

test('a decision, then the id field remapped: undo names the setting and leaves the line as it is', async () => {
  const { document, session } = setup();
  assert.equal((await session.decide('a', { kind: 'accept' })).status, 'done');
  const decided = document.lines[0];
  document.fields = { ...DEFAULT_FIELDS, id: 'uid' };
  session.documentChanged();
  const undo = await session.undo();
  assert.equal(undo.conflicts.length, 1);
  assert.match(undo.conflicts[0].reason, /peerkd\.fields\.id is 'uid' now/);
  assert.equal(document.lines[0], decided);
});

test("the teacher field remapped since the run: an accept is refused naming the setting; keep takes the new field's label", async () => {
  const { document, session } = setup();
  document.fields = { ...DEFAULT_FIELDS, teacher: 'llm' };
  session.documentChanged();
  const accept = await session.decide('a', { kind: 'accept' });
  assert.match(accept.status === 'refused' ? accept.message : '', /peerkd\.fields\.teacher is 'llm' now, but the run read the teacher field 'teacher_label'/);
  assert.equal((await session.decide('a', { kind: 'keep' })).status, 'done');
  assert.match(document.lines[0], /"human_label": ?"Business"}$/);
});

test('with the run\'s mapping, a row that really left the file is still said to be gone', async () => {
  const { document, session } = setup();
  document.type(1, '{"id": "c", "text": "alpha", "teacher_label": "World"}');
  const result = await session.decide('a', { kind: 'keep' });
  assert.match(result.status === 'refused' ? result.message : '', /no longer in the file/);
});
