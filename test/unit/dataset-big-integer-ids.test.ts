/**
 * Ids written as integers beyond 2^53 (a tweet's or a database's 64-bit id: 1234567890123456001) are rounded by
 * JSON.parse, so 300 rows with distinct ids all had the id 1234567890123456000: each line was warned about as
 * "Duplicate id … line 1 has the same id" (it has not), predictions.jsonl and `peerkd predict` wrote the rounded id,
 * and Label Review told the rows apart only by their order. A row's identity is now the digits as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRowEditsToFile, parseDatasetText } from '../../src/dataset/index';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { exportReviewedText } from '../../src/review/export';
import { assignRowKeys } from '../../src/review/rowKeys';
import type { Prediction } from '../../src/training/types';

const LINES = [
  '{"id": 1234567890123456001, "text": "Stocks fall", "teacher_label": "Business"}',
  '{"id": 1234567890123456002, "text": "Team wins", "teacher_label": "Sports"}',
  '{"id":1234567890123456003,"text":"Chip is fast","teacher_label":"Sci/Tech"}',
  '{"meta": {"n": 9007199254740993}, "text": "Rain", "teacher_label": "World"}',
];

test('rows with distinct ids beyond 2^53 keep distinct identities: the digits as written; no duplicate-id warning', () => {
  const parsed = parseDatasetText(LINES.join('\n'), DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.rows.slice(0, 3).map((row) => row.id),
    ['1234567890123456001', '1234567890123456002', '1234567890123456003'],
  );
  assert.deepEqual(parsed.problems, []);
  // A nested id field (peerkd.fields.id = meta.n) too.
  const nested = parseDatasetText(LINES[3], { ...DEFAULT_FIELDS, id: 'meta.n' });
  assert.equal(nested.rows[0].id, '9007199254740993');
  // Ids within the safe range read as before (a number in decimal, the same id as its text).
  assert.deepEqual(parseDatasetText('{"id": 7, "text": "a"}\n{"id": 2.5, "text": "b"}', DEFAULT_FIELDS).rows.map((row) => row.id), ['7', '2.5']);
});

test('the same big id written twice is still a duplicate, named by its digits', () => {
  const parsed = parseDatasetText([LINES[0], LINES[0]].join('\n'), DEFAULT_FIELDS);
  assert.equal(parsed.problems.length, 1);
  assert.equal(parsed.problems[0].line, 2);
  assert.equal(parsed.problems[0].message, 'Duplicate id \'1234567890123456001\' (field id): line 1 has the same id (a number and its text count as one id: 1234567890123456001 and "1234567890123456001")');
});

test('a label written by id into a file of big ids lands on its row (the identity check reads the same digits)', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'peerkd-big-ids-'));
  try {
    const file = join(folder, 'data.jsonl');
    await writeFile(file, LINES.join('\n') + '\n');
    await applyRowEditsToFile(file, [{ line: 2, id: '1234567890123456002', field: 'human_label', value: 'Sports' }], DEFAULT_FIELDS);
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines[1], '{"id": 1234567890123456002, "text": "Team wins", "teacher_label": "Sports", "human_label": "Sports"}');
    assert.equal(lines[0], LINES[0]);
    // The row's neighbour's id is refused: the digits differ, though JSON.parse reads both as one number.
    await assert.rejects(
      applyRowEditsToFile(file, [{ line: 1, id: '1234567890123456002', field: 'human_label', value: 'x' }], DEFAULT_FIELDS),
      /data\.jsonl:1: expected the row with id '1234567890123456002' but found '1234567890123456001'/,
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("the export gives each big-id row its own run's figures", () => {
  const text = LINES.slice(0, 3).join('\n') + '\n';
  const ids = parseDatasetText(text, DEFAULT_FIELDS).rows.map((row) => row.id);
  const predictions: Prediction[] = ids.map((id, index) => ({
    id,
    line: index + 1,
    teacher: ['Business', 'Sports', 'Sci/Tech'][index],
    human: null,
    suggested: ['Business', 'Sports', 'Sci/Tech'][index],
    p_teacher_wrong: [0.1, 0.2, 0.3][index],
    flagged: false,
    probs: {},
    peer_probs: {},
    vanilla_probs: {},
  }));
  const keys = assignRowKeys(ids);
  const { text: exported } = exportReviewedText(text, {
    fields: DEFAULT_FIELDS,
    predictionsByKey: new Map(predictions.map((prediction, index) => [keys[index], prediction])),
    runId: 'r',
    advice: null,
  });
  assert.deepEqual(
    exported.trim().split('\n').map((line) => (JSON.parse(line) as { label_provenance: { p_teacher_wrong: number } }).label_provenance.p_teacher_wrong),
    [0.1, 0.2, 0.3],
  );
  // Keys are the ids themselves: no "#2" for rows that share nothing.
  assert.deepEqual(keys, ids);
});
