/**
 * Rows that share an id stay distinct in the review: each flagged duplicate is shown with its own line and text, a
 * decision writes into that row's line only, export gives each its own prediction, and when the rows sharing an id
 * changed since the run a decision is refused with a message instead of landing on another row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseDatasetText } from '../../src/dataset/parse';
import { rowTextsSha256 } from '../../src/dataset/rowTextsDigest';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { describeExport, exportReviewedBytes, exportReviewedText } from '../../src/review/export';
import { type DocumentRowState } from '../../src/review/model';
import { buildReviewRows } from '../../src/review/reviewRows';
import { assignRowKeys, idOfKey, keyRows, rowKey, unmatchedReason } from '../../src/review/rowKeys';
import { planLabelWrites } from '../../src/review/writes';
import type { Prediction } from '../../src/training/types';

const LINES = [
  '{"id":"dup","text":"first row","teacher_label":"A"}',
  '{"id":"dup","text":"second row","teacher_label":"A"}',
  '{"id":"u","text":"unique row","teacher_label":"B"}',
];

function prediction(id: string, line: number, flagged: boolean, suggested: string): Prediction {
  return { id, line, teacher: 'A', human: null, suggested, p_teacher_wrong: flagged ? 0.9 : 0.1, flagged, probs: { [suggested]: flagged ? 0.9 : 0.6 }, peer_probs: {}, vanilla_probs: {} };
}

/** The run: only the duplicate on line 2 is flagged. */
const PREDICTIONS = [prediction('dup', 1, false, 'A'), prediction('dup', 2, true, 'B'), prediction('u', 3, false, 'B')];

function documentIndex(lines: string[]) {
  const parsed = parseDatasetText(lines.join('\n') + '\n', DEFAULT_FIELDS);
  return keyRows(parsed.rows, (row): DocumentRowState => ({ line: row.line, text: row.text, teacher: row.teacher, human: row.human }));
}

test('row keys: a unique id is its own key, duplicates get distinct keys, and no key collides with a literal id', () => {
  const keys = assignRowKeys(['a', 'dup', 'b', 'dup', '\u0000x']);
  assert.equal(keys[0], 'a');
  assert.equal(keys[2], 'b');
  assert.notEqual(keys[1], keys[3]);
  assert.equal(new Set(keys).size, 5);
  assert.deepEqual(keys.map(idOfKey), ['a', 'dup', 'b', 'dup', '\u0000x']);
  // A literal id spelled like an encoded key is encoded itself, so it cannot be mistaken for the duplicate.
  assert.notEqual(assignRowKeys([keys[1]])[0], keys[1]);
  // The same id on a different number of rows gives different keys: the run and the document no longer match.
  assert.notEqual(rowKey('dup', 1, 2), rowKey('dup', 1, 1));
});

test('a flagged duplicate is shown with its own line and text, and Accept writes into that line only', () => {
  const index = documentIndex(LINES);
  const rows = buildReviewRows(PREDICTIONS, index.byKey, { minProbability: 0 });
  assert.equal(rows.length, 1);
  const [row] = rows;
  assert.equal(row.id, 'dup');
  assert.equal(row.line, 2);
  assert.equal(row.text, 'second row');

  const plan = planLabelWrites(index, (line) => LINES[line - 1], 'human_label', [{ rowId: row.key, label: row.suggested }]);
  assert.deepEqual(plan.failed, []);
  assert.deepEqual(plan.writes, [
    { rowId: row.key, line: 2, before: LINES[1], after: '{"id":"dup","text":"second row","teacher_label":"A","human_label":"B"}' },
  ]);
});

test('when the rows sharing an id changed since the run, the decision is refused with a message naming the lines', () => {
  const [row] = buildReviewRows(PREDICTIONS, documentIndex(LINES).byKey, { minProbability: 0 });
  // The user deleted line 1: the remaining 'dup' row could be either of the run's two.
  const edited = LINES.slice(1);
  const index = documentIndex(edited);
  const [shown] = buildReviewRows(PREDICTIONS, index.byKey, { minProbability: 0 });
  assert.equal(shown.line, null, 'the flagged row must not be matched to the other duplicate');
  const plan = planLabelWrites(index, (line) => edited[line - 1], 'human_label', [{ rowId: row.key, label: 'B' }]);
  assert.deepEqual(plan.writes, []);
  assert.equal(plan.failed.length, 1);
  assert.match(plan.failed[0].reason, /id "dup" is on line 1 now but on 2 rows in the run, so it cannot tell which one this is/);
  assert.equal(unmatchedReason('gone', index.linesById), 'the row is no longer in the file');
});

test('export gives each of two rows sharing an id its own prediction', () => {
  // Row 'u' has teacher label B in the file: so it had in the run (a run's advice on a changed label is not exported).
  const predictions = PREDICTIONS.map((p) => (p.id === 'u' ? { ...p, teacher: 'B' } : p));
  const byKey = new Map(assignRowKeys(predictions.map((p) => p.id)).map((key, i) => [key, predictions[i]]));
  const runDigests = { rowTextsSha256: rowTextsDigestOf(LINES) };
  const { text } = exportReviewedText(LINES.join('\n') + '\n', { fields: DEFAULT_FIELDS, predictionsByKey: byKey, runId: 'r', advice: { minProbability: 0.5 }, runDigests });
  const finals = text.trim().split('\n').map((line) => (JSON.parse(line) as { final_label: string; label_provenance: { p_teacher_wrong: number } }));
  assert.deepEqual(finals.map((row) => row.final_label), ['A', 'B', 'B']);
  assert.deepEqual(finals.map((row) => row.label_provenance.p_teacher_wrong), [0.1, 0.9, 0.1]);
});

function rowTextsDigestOf(lines: readonly string[]): string {
  return rowTextsSha256(parseDatasetText(lines.join('\n') + '\n', DEFAULT_FIELDS).rows);
}

type Exported = { final_label: string | null; label_provenance: { source: string; run: string | null; p_teacher_wrong?: number; p_advised?: number } };

test('rows sharing an id whose texts were swapped since the run take neither advice: each keeps its label, and the message names file:line', () => {
  // The run advised B for the row with text "second row" (the second 'dup'), A (its teacher label) for "first row".
  const predictions = PREDICTIONS.map((p) => (p.id === 'u' ? { ...p, teacher: 'B' } : p));
  const byKey = new Map(assignRowKeys(predictions.map((p) => p.id)).map((key, i) => [key, predictions[i]]));
  const runDigests = { rowTextsSha256: rowTextsDigestOf(LINES) };
  // The user swapped the two texts (and nothing else): line 2 now holds "first row", which the run did not advise B for.
  const swapped = [LINES[1], LINES[0], LINES[2]];
  const options = { fields: DEFAULT_FIELDS, predictionsByKey: byKey, runId: 'r', advice: { minProbability: 0.5 }, runDigests };
  const text = swapped.join('\n') + '\n';
  const fromText = exportReviewedText(text, options);
  const fromBytes = exportReviewedBytes(Buffer.from(text), options);
  assert.equal(fromBytes.data.toString('utf8'), fromText.text, 'the editor exports the text or the bytes alike');
  const finals = fromText.text.trim().split('\n').map((line) => JSON.parse(line) as Exported);
  // Before: line 1 ("second row") took A, line 2 ("first row") the advice B meant for "second row".
  assert.deepEqual(finals.map((row) => row.final_label), ['A', 'A', 'B']);
  assert.deepEqual(finals.map((row) => row.label_provenance.source), ['teacher', 'teacher', 'teacher']);
  assert.equal(finals[1].label_provenance.p_teacher_wrong, undefined, "no probability of the run's other row either");
  assert.equal(finals[1].label_provenance.p_advised, undefined);
  assert.equal(finals[2].label_provenance.p_teacher_wrong, 0.1, 'a row with an id of its own is matched as before');
  assert.deepEqual(fromText.counts.sharedIdUncertainLines, [1, 2]);
  assert.equal(fromText.counts.sharedIdsWhy, 'changed');
  const { details } = describeExport(fromText.counts, options, 'data.jsonl');
  assert.match(
    details,
    /2 rows sharing an id with another row \(data\.jsonl:1, data\.jsonl:2\) exported with the label they hold, without the run's probability or advice: the file's texts changed since run r, so which of them is which cannot be told; run peerkd distill again, or give each row its own id/,
  );

  // A run that recorded no digest of its texts: nothing tells that they are the run's, so the same.
  const unknown = exportReviewedText(text, { ...options, runDigests: null });
  assert.deepEqual(unknown.counts.sharedIdUncertainLines, [1, 2]);
  assert.equal(unknown.counts.sharedIdsWhy, 'unknown');
  assert.match(describeExport(unknown.counts, options).details, /\(lines 1, 2\).*run r recorded no digest of the texts it read/);
  // An older run's digest of the file's bytes, when they are the same: matched by their order, as before.
  const olderRun = exportReviewedText(LINES.join('\n') + '\n', { ...options, runDigests: { datasetSha256: createHash('sha256').update(LINES.join('\n') + '\n').digest('hex') } });
  assert.deepEqual(olderRun.counts.sharedIdUncertainLines, []);
  assert.deepEqual(olderRun.text.trim().split('\n').map((line) => (JSON.parse(line) as Exported).final_label), ['A', 'B', 'B']);
});
