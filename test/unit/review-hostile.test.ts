/**
 * The Label Review session attacked as a hostile but realistic user would: the JSONL edited by hand while the panel
 * is open, the editor's own undo mixed with the panel's, bulk accept racing a hand edit, odd JSON lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { exportReviewedText } from '../../src/review/export';
import { ReviewSession } from '../../src/review/session';
import { humanFieldProblem } from '../../src/review/writes';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const LABELS = ['World', 'Sports', 'Business'];

function prediction(id: string, line: number, p: number, teacher: string | null, suggested: string, flagged = true): Prediction {
  return { id, line, teacher, human: null, suggested, p_teacher_wrong: p, flagged, probs: { [suggested]: p }, peer_probs: {}, vanilla_probs: {} };
}

const A = '{"id": "a", "text": "alpha", "teacher_label": "World"}';
const B = '{"id": "b", "text": "beta", "teacher_label": "World"}';
const C = '{"id": "c", "text": "gamma", "teacher_label": "Business"}';

function setup(lines = [A, B, C]): { document: FakeReviewDocument; session: ReviewSession } {
  const document = new FakeReviewDocument(lines.join('\n') + '\n');
  const session = new ReviewSession(
    { labels: LABELS, predictions: [prediction('a', 1, 0.9, 'World', 'Sports'), prediction('b', 2, 0.8, 'World', 'Business'), prediction('c', 3, 0.7, 'Business', 'Sports')] },
    document,
    { humanField: () => 'human_label' },
  );
  document.onChange = () => session.documentChanged();
  return { document, session };
}

/** The user's own edit of the whole text (paste, line moves, deletes). */
function retype(document: FakeReviewDocument, lines: string[]): void {
  document.lines = [...lines, ''];
  document.onChange();
}

test('lines inserted and deleted above, and reordered: the decision lands on the row by id', async () => {
  const { document, session } = setup();
  retype(document, ['{"id": "new", "text": "n"}', '', C, B, A]);
  assert.equal((await session.decide('b', { kind: 'accept' })).status, 'done');
  assert.equal(document.lines[3], '{"id": "b", "text": "beta", "teacher_label": "World", "human_label": "Business"}');
  assert.deepEqual([document.lines[0], document.lines[2], document.lines[4]], ['{"id": "new", "text": "n"}', C, A]);
  retype(document, document.lines.slice(2, 5));
  assert.equal(session.row('b')?.line, 2);
  const undone = await session.undo();
  assert.deepEqual(undone.conflicts, []);
  assert.deepEqual(document.lines.slice(0, 3), [C, B, A]);
});

test('a row whose id changed, that was deleted or duplicated is refused by name; nothing is written', async () => {
  const { document, session } = setup();
  retype(document, [A.replace('"a"', '"a2"'), B, C]);
  const changed = await session.decide('a', { kind: 'accept' });
  assert.equal(changed.status, 'refused');
  assert.match(changed.status === 'refused' ? changed.message : '', /row 'a' not labelled: the row is no longer in the file/);
  retype(document, [A, C]);
  assert.equal((await session.decide('b', { kind: 'accept' })).status, 'refused');
  retype(document, [A, B, B, C]);
  const duplicated = await session.decide('b', { kind: 'accept' });
  assert.match(duplicated.status === 'refused' ? duplicated.message : '', /id "b" is on lines 2, 3 now but on 1 row in the run/);
  assert.deepEqual(document.lines.slice(0, 4), [A, B, B, C]);
});

test('the text of a row with an id changed by hand: the decision still lands on it and keeps the new text', async () => {
  const { document, session } = setup();
  const edited = B.replace('beta', 'BETA edited');
  retype(document, [A, edited, C]);
  await session.decide('b', { kind: 'keep' });
  assert.equal(document.lines[1], edited.replace('}', ', "human_label": "World"}'));
});

test('bulk accept never overwrites a human label typed after the rows were chosen (while the confirmation was open)', async () => {
  const { document, session } = setup();
  const rows = session.bulkAcceptRows(0);
  assert.deepEqual(rows.map((row) => row.key), ['a', 'b', 'c']);
  const typed = B.replace('}', ', "human_label": "Sports"}');
  document.type(2, typed);
  const result = await session.bulkAccept(rows);
  assert.equal(document.lines[1], typed, 'the label the user typed stays');
  assert.equal(result.written, 2);
  assert.match(document.lines[0], /"human_label": "Sports"/);
  assert.deepEqual(result.failed.map((failure) => failure.rowId), ['b']);
  assert.match(result.failed[0].reason, /human label 'Sports'/);
});

test('the editor\'s own undo took the decision back: the panel\'s undo is then no conflict and writes nothing', async () => {
  const { document, session } = setup();
  await session.decide('a', { kind: 'accept' });
  document.type(1, A); // Ctrl+Z in the editor
  const edits = document.edits;
  const undone = await session.undo();
  assert.equal(undone.undone, true);
  assert.deepEqual(undone.conflicts, []);
  assert.equal(document.edits, edits);
  assert.equal(document.lines[0], A);
});

test('undo after the decided row was duplicated says why it cannot tell the rows apart', async () => {
  const { document, session } = setup();
  await session.decide('a', { kind: 'accept' });
  const decided = document.lines[0];
  retype(document, [decided, decided, B, C]);
  const undone = await session.undo();
  assert.equal(undone.conflicts.length, 1);
  assert.match(undone.conflicts[0].reason, /id "a" is on lines 1, 2 now/);
  assert.deepEqual(document.lines.slice(0, 2), [decided, decided]);
});

test('rows that share an id, swapped by hand while the panel is open: a decision is refused, never written on the other row', async () => {
  const first = '{"id": "dup", "text": "first row", "teacher_label": "World"}';
  const second = '{"id": "dup", "text": "second row", "teacher_label": "World"}';
  const document = new FakeReviewDocument([first, second, C].join('\n') + '\n');
  const session = new ReviewSession(
    { labels: LABELS, predictions: [prediction('dup', 1, 0.1, 'World', 'World', false), prediction('dup', 2, 0.9, 'World', 'Sports'), prediction('c', 3, 0.7, 'Business', 'Sports')] },
    document,
    { humanField: () => 'human_label' },
  );
  document.onChange = () => session.documentChanged();
  const [flagged] = session.rows().filter((row) => row.id === 'dup');
  assert.equal(flagged.text, 'second row');
  retype(document, [second, first, C]);
  assert.equal(session.row(flagged.key)?.line, null, 'the panel no longer shows another row\'s text with this row\'s suggestion');
  const result = await session.decide(flagged.key, { kind: 'accept' });
  assert.equal(result.status, 'refused');
  assert.match(result.status === 'refused' ? result.message : '', /rows with id "dup" \(lines 1, 2\) were moved or edited since the review began, so it cannot tell which one this is/);
  assert.deepEqual(await session.bulkAccept(session.bulkAcceptRows(0)), { written: 1, failed: [] });
  assert.deepEqual(document.lines.slice(0, 2), [second, first]);
  // Put back in their order, the rows match again.
  retype(document, [first, second, document.lines[2]]);
  assert.equal((await session.decide(flagged.key, { kind: 'accept' })).status, 'done');
  assert.equal(document.lines[1], second.replace('}', ', "human_label": "Sports"}'));
});

test('an edit that arrives while the write is being prepared (the bytes check reads the file) is seen before anything is written', async () => {
  const { document, session } = setup();
  const typed = B.replace('}', ', "human_label": "Sports"}');
  document.writeRefusal = async () => {
    document.type(2, typed);
    return null;
  };
  const result = await session.bulkAccept(session.bulkAcceptRows(0));
  assert.equal(document.lines[1], typed);
  assert.deepEqual(result.failed.map((failure) => failure.rowId), ['b']);
  // A keep reads the teacher label as it is when the line is written.
  const moved = A.replace('"World"', '"Sports"');
  document.writeRefusal = async () => {
    retype(document, [C, moved, typed]);
    return null;
  };
  await session.undo();
  retype(document, [A, typed, C]);
  assert.equal((await session.decide('a', { kind: 'keep' })).status, 'done');
  assert.deepEqual(document.lines.slice(0, 3), [C, moved.replace('}', ', "human_label": "Sports"}'), typed]);
});

test('a new run of the dataset (the CLI in a terminal, a retrain) keeps the panel\'s undo history and skips: decisions are lines of the file', async () => {
  const { document, session } = setup();
  await session.decide('a', { kind: 'accept' });
  await session.decide('b', { kind: 'skip' });
  const next = new ReviewSession(
    { labels: LABELS, predictions: [prediction('b', 2, 0.8, 'World', 'Business'), prediction('c', 3, 0.6, 'Business', 'World')] },
    document,
    { humanField: () => 'human_label', ...session.carryOver() },
  );
  document.onChange = () => next.documentChanged();
  assert.equal(next.view().canUndo, true);
  assert.equal(next.row('b')?.skipped, true);
  assert.equal((await next.undo()).description, 'Skip');
  assert.equal(next.row('b')?.skipped, false);
  const undone = await next.undo();
  assert.deepEqual([undone.description, undone.conflicts], ["Accept 'Sports'", []]);
  assert.equal(document.lines[0], A);
});

test('the dataset cannot be opened any more (deleted or renamed while closed): decisions are refused with why, and undo keeps its entry', async () => {
  const { document, session } = setup();
  await session.decide('a', { kind: 'accept' });
  const decided = [...document.lines];
  document.open = async () => {
    throw new Error("cannot open file:///w/data.jsonl. Detail: Unable to resolve nonexistent file '/w/data.jsonl'");
  };
  const refused = await session.decide('b', { kind: 'accept' });
  assert.equal(refused.status, 'refused');
  assert.match(refused.status === 'refused' ? refused.message : '', /could not label row 'b': cannot open file:\/\/\/w\/data\.jsonl.*nonexistent/);
  const bulk = await session.bulkAccept(session.bulkAcceptRows(0));
  assert.equal(bulk.written, 0);
  assert.match(bulk.failed[0].reason, /nonexistent file/);
  await assert.rejects(session.undo(), /nonexistent file/);
  assert.deepEqual(document.lines, decided);
  document.open = async () => undefined;
  assert.equal(session.view().undoDescription, "Accept 'Sports'", 'the undo entry survives the failed undo');
  assert.deepEqual((await session.undo()).conflicts, []);
  assert.equal(document.lines[0], A);
});

test('decisions in quick succession (a key held down) each land: the editor refuses an edit planned on an older version', async () => {
  const { document, session } = setup();
  // As VS Code's applyEdit: the edit is applied a moment later, and refused when the document changed meanwhile.
  let version = 0;
  const apply = document.replaceLines.bind(document);
  document.replaceLines = async (writes) => {
    const planned = version;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (version !== planned) return false;
    version += 1;
    return apply(writes);
  };
  const results = await Promise.all([
    session.decide('a', { kind: 'accept' }),
    session.decide('b', { kind: 'skip' }),
    session.decide('c', { kind: 'keep' }),
    session.undo(),
    session.decide('b', { kind: 'accept' }),
  ]);
  assert.deepEqual(results.map((result) => ('status' in result ? result.status : result.description)), ['done', 'done', 'done', "Keep 'Business'", 'done']);
  assert.match(document.lines[0], /"human_label": "Sports"/);
  assert.match(document.lines[1], /"human_label": "Business"/);
  assert.equal(document.lines[2], C);
  assert.equal(session.row('b')?.skipped, true);
});

test('odd but valid rows (key order, extra fields, escapes, spacing, a trailing CR, a BOM, a long line): a decision changes only the label\'s bytes', async () => {
  const long = 'x'.repeat(200_000);
  const lines = [
    '\ufeff{ "teacher_label" :"World" ,"text":"caf\\u00e9 \\"q\\"",  "id":"a" ,"meta":{"human_label":"nested"}}\r',
    `{"id":"b","text":"${long}","teacher_label":"World","human_label":null}`,
    '{"id":"c","human\\u005flabel":"Old","text":"t","teacher_label":"Business"}',
  ];
  const { document, session } = setup(lines);
  await session.decide('a', { kind: 'accept' });
  await session.decide('b', { kind: 'set', label: 'Sp"o\\rts\u2028' });
  await session.decide('c', { kind: 'keep' });
  assert.deepEqual(document.lines.slice(0, 3), [
    '\ufeff{ "teacher_label" :"World" ,"text":"caf\\u00e9 \\"q\\"",  "id":"a" ,"meta":{"human_label":"nested"} ,"human_label" :"Sports"}\r',
    `{"id":"b","text":"${long}","teacher_label":"World","human_label":"Sp\\"o\\\\rts\u2028"}`,
    '{"id":"c","human\\u005flabel":"Business","text":"t","teacher_label":"Business"}',
  ]);
  await session.undo();
  await session.undo();
  await session.undo();
  assert.deepEqual(document.lines.slice(0, 3), lines);
});

test('a human field whose parent is not an object is refused naming the line; the other rows of a bulk accept are written', async () => {
  const document = new FakeReviewDocument([A.replace('}', ', "review": "todo"}'), B].join('\n'));
  const session = new ReviewSession(
    { labels: LABELS, predictions: [prediction('a', 1, 0.9, 'World', 'Sports'), prediction('b', 2, 0.8, 'World', 'Business')] },
    document,
    { humanField: () => 'review.human' },
  );
  const refused = await session.decide('a', { kind: 'accept' });
  assert.match(refused.status === 'refused' ? refused.message : '', /could not label row 'a': line 1: 'review' is not an object, so 'review.human' cannot be set inside it/);
  const result = await session.bulkAccept(session.bulkAcceptRows(0));
  assert.equal(result.written, 1);
  assert.equal(document.lines[1], B.replace('}', ', "review": {"human": "Business"}}'));
});

test('export after a decision and a hand edit of the decided row: the label now in the text, every other byte as typed', async () => {
  const { document, session } = setup();
  await session.decide('a', { kind: 'accept' });
  document.type(1, document.lines[0].replace('"Sports"', '"Business"').replace('alpha', 'alpha, edited'));
  const text = document.lines.join('\r\n');
  const predictionsByKey = new Map(['a', 'b', 'c'].map((key, i) => [key, prediction(key, i + 1, 0.9, 'World', 'Sports')]));
  const exported = exportReviewedText(text, { fields: DEFAULT_FIELDS, predictionsByKey, runId: 'r', advice: null });
  const [first] = exported.text.split('\r\n');
  assert.equal(first, '{"id": "a", "text": "alpha, edited", "teacher_label": "World", "human_label": "Business", "final_label": "Business", "label_provenance": {"source": "human", "run": "r", "p_teacher_wrong": 0.9}}');
  assert.equal(exported.text.split('\r\n').length, text.split('\r\n').length);
});

test('a decision on a row whose human label was typed by hand replaces it as asked, and the panel\'s undo gives the typed label back', async () => {
  const { document, session } = setup();
  const typed = A.replace('}', ', "human_label": "My own"}');
  document.type(1, typed);
  assert.equal(session.row('a')?.human, 'My own');
  await session.decide('a', { kind: 'accept' });
  assert.equal(document.lines[0], A.replace('}', ', "human_label": "Sports"}'));
  await session.undo();
  assert.equal(document.lines[0], typed);
});

test('a human-label field mapped onto the text, teacher or id field (or inside it) is refused before it overwrites what the user wrote', async () => {
  for (const [human, named] of [['text', 'text'], ['teacher_label', 'teacher'], ['id', 'id'], ['text.human', 'text']] as const) {
    const document = new FakeReviewDocument([A, B].join('\n'));
    const session = new ReviewSession(
      { labels: LABELS, predictions: [prediction('a', 1, 0.9, 'World', 'Sports'), prediction('b', 2, 0.8, 'World', 'Business')] },
      document,
      { humanField: () => human, fields: () => ({ ...DEFAULT_FIELDS, human }) },
    );
    const result = await session.decide('a', { kind: 'accept' });
    assert.equal(result.status, 'refused', human);
    assert.match(result.status === 'refused' ? result.message : '', new RegExp(`the human label field '${human}' (is also|is inside) the ${named} field \\(peerkd\\.fields\\.${named}\\)`));
    assert.equal((await session.bulkAccept(session.bulkAcceptRows(0))).written, 0);
    assert.deepEqual(document.lines, [A, B]);
  }
  assert.equal(humanFieldProblem(DEFAULT_FIELDS), null);
  assert.equal(humanFieldProblem({ ...DEFAULT_FIELDS, human: 'a..b' }), "peerkd.fields.human: Invalid field path 'a..b': empty segment");
  assert.equal(
    humanFieldProblem({ ...DEFAULT_FIELDS, human: 'meta', text: 'meta.text' }),
    "the human label field 'meta' holds the text field 'meta.text' (peerkd.fields.text), so a label written there would overwrite it; set peerkd.fields.human to a field of its own",
  );
  // A human field of its own, nested or named like the others' prefix, is fine.
  const document = new FakeReviewDocument(A);
  const session = new ReviewSession({ labels: LABELS, predictions: [prediction('a', 1, 0.9, 'World', 'Sports')] }, document, {
    humanField: () => 'text_review.human',
    fields: () => ({ ...DEFAULT_FIELDS, human: 'text_review.human' }),
  });
  assert.equal((await session.decide('a', { kind: 'accept' })).status, 'done');
  assert.equal(document.lines[0], A.replace('}', ', "text_review": {"human": "Sports"}}'));
});

test('a row without an id is known by its text: after its text is edited, a decision says so instead of "no longer in the file"', async () => {
  const line = '{"text": "alpha", "teacher_label": "World"}';
  const document = new FakeReviewDocument(line);
  const key = document.rows().byKey.keys().next().value as string;
  const session = new ReviewSession({ labels: LABELS, predictions: [prediction(key, 1, 0.9, 'World', 'Sports')] }, document, { humanField: () => 'human_label' });
  document.onChange = () => session.documentChanged();
  document.type(1, line.replace('alpha', 'alpha!'));
  const result = await session.decide(key, { kind: 'accept' });
  assert.match(
    result.status === 'refused' ? result.message : '',
    /not labelled: no row has its text any more \(a row without an id field is known by its text, so a row whose text was edited counts as a new row; give rows ids to edit their text\)/,
  );
});

test('a human field that holds something other than a label (a number, an array) is never written over, by a decision or a bulk accept', async () => {
  const numeric = A.replace('}', ', "human_label": 2}');
  const listed = B.replace('}', ', "human_label": ["World", "Sports"]}');
  const { document, session } = setup([numeric, listed, C]);
  assert.equal(session.row('a')?.human, null, 'the parser ignores such a value (and reports it)');
  const result = await session.decide('a', { kind: 'accept' });
  assert.equal(result.status, 'refused');
  assert.match(result.status === 'refused' ? result.message : '', /line 1: the human label field 'human_label' holds 2, which is not a label \(a string\); a decision does not write over it, edit the line by hand/);
  const bulk = await session.bulkAccept(session.bulkAcceptRows(0));
  assert.equal(bulk.written, 1);
  assert.deepEqual(bulk.failed.map((failure) => failure.rowId), ['a', 'b']);
  assert.match(bulk.failed[1].reason, /holds \["World", "Sports"\], which is not a label/);
  assert.deepEqual(document.lines.slice(0, 2), [numeric, listed]);
});
