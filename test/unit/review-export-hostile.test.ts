/**
 * Export Reviewed Dataset on a dataset a careless user changed since the run, and on lines JSON.parse + stringify
 * would rewrite: the copy carries no probability or advice about a label the row no longer has, and every byte the
 * user wrote outside the two exported fields is kept.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { adviceAt, adviceOutlook, assertExportTarget, describeExport, exportReviewedText, type ExportOptions } from '../../src/review/export';
import type { Prediction } from '../../src/training/types';

function prediction(id: string, teacher: string | null, suggested: string, p: number, human: string | null = null): Prediction {
  return { id, line: 0, teacher, human, suggested, p_teacher_wrong: p, flagged: p > 0.5, probs: { [suggested]: p }, peer_probs: {}, vanilla_probs: {} };
}

function options(predictions: Prediction[], minProbability: number | null): ExportOptions {
  return {
    fields: DEFAULT_FIELDS,
    predictionsByKey: new Map(predictions.map((p) => [p.id, p])),
    runId: 'run-1',
    advice: minProbability === null ? null : { minProbability },
  };
}

function provenances(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const { final_label, label_provenance } = JSON.parse(line) as { final_label: unknown; label_provenance: unknown };
      return { final_label, label_provenance };
    });
}

test("export: a row whose teacher label changed since the run gets neither the run's advice nor its probability about the old label", () => {
  // The run judged 'World' on every row and advised 'Sports' with p 0.95.
  const predictions = ['a', 'b', 'c'].map((id) => prediction(id, 'World', 'Sports', 0.95));
  const text = [
    '{"id": "a", "text": "match report", "teacher_label": "World"}', // unchanged: advised
    '{"id": "b", "text": "match report", "teacher_label": "Business"}', // the teacher label was changed by hand
    '{"id": "c", "text": "match report", "teacher_label": "Business", "human_label": "Sci/Tech"}', // changed, and labelled
  ].join('\n') + '\n';
  const { text: exported, counts } = exportReviewedText(text, options(predictions, 0.9));
  assert.deepEqual(provenances(exported), [
    { final_label: 'Sports', label_provenance: { source: 'advised', run: 'run-1', p_teacher_wrong: 0.95, p_advised: 0.95, advice_threshold: 0.9 } },
    { final_label: 'Business', label_provenance: { source: 'teacher', run: 'run-1' } },
    { final_label: 'Sci/Tech', label_provenance: { source: 'human', run: 'run-1' } },
  ]);
  assert.equal(counts.advised, 1);
  assert.equal(counts.changedSinceRun, 2);
  // Without advice too: no probability about a label the row no longer has.
  assert.deepEqual(provenances(exportReviewedText(text, options(predictions, null)).text)[1], {
    final_label: 'Business',
    label_provenance: { source: 'teacher', run: 'run-1' },
  });
});

test('export: advice goes only to rows the run judged without a human label, as many as the threshold prompt counted', () => {
  // Row h had a human label at run time that the user removed since: the run trained on it.
  const predictions = [prediction('h', 'World', 'Sports', 0.95, 'Sports'), prediction('n', 'World', 'Sports', 0.95)];
  const text = '{"id":"h","text":"x","teacher_label":"World"}\n{"id":"n","text":"y","teacher_label":"World"}\n';
  const { text: exported, counts } = exportReviewedText(text, options(predictions, 0.9));
  assert.equal(counts.advised, adviceAt(adviceOutlook(text, options(predictions, null)), 0.9).rows);
  assert.deepEqual(
    provenances(exported).map((row) => (row as { final_label: string }).final_label),
    ['World', 'Sports'],
  );
});

test('export keeps what JSON.parse + stringify would rewrite: huge and long numbers, \\u escapes, duplicate keys, key order, spacing, BOM, CRLF, no final newline', () => {
  const lines = [
    '\ufeff{"id": "a", "n": 1e400, "big": 12345678901234567890, "z": "\\u0000\\u00e9", "text": "x", "teacher_label": "World", "k": {"b": 1, "a": 2}}',
    '{"id":"b","text":"y","teacher_label":"World","text":"dup key","x":-0.0}',
    '   ',
    '// a comment line',
    `{"id":"c","text":"${'long '.repeat(100_000)}","teacher_label":"Sports"}`,
  ];
  const text = lines.join('\r\n');
  const { text: exported, counts } = exportReviewedText(text, options([], null));
  const out = exported.split('\r\n');
  assert.equal(out.length, lines.length);
  assert.ok(!exported.endsWith('\n'));
  assert.equal(out[0], lines[0].replace(/}$/, ', "final_label": "World", "label_provenance": {"source": "teacher", "run": "run-1"}}'));
  assert.equal(out[1], lines[1].replace(/}$/, ',"final_label":"World","label_provenance":{"source":"teacher","run":"run-1"}}'));
  assert.equal(out[2], lines[2]);
  assert.equal(out[3], lines[3]);
  assert.ok(out[4].startsWith(lines[4].slice(0, -1)));
  assert.deepEqual(counts, { rows: 3, human: 0, teacher: 3, advised: 0, none: 0, adviceBelowThreshold: 0, invalidLines: 1, invalidLineNumbers: [4], changedSinceRun: 0, textChangedLines: [], textChangedAdvice: 0, notInRun: 3, humanNotLabelLines: [], teacherNotLabelLines: [], replacedExisting: 0, sharedIdUncertainLines: [], sharedIdsWhy: null });
});

test('export: advice with a threshold the user cannot have chosen (NaN, 0, below 0, above 1) is refused, not taken for every row', () => {
  const predictions = [prediction('a', 'World', 'Sports', 0.2)];
  const text = '{"id":"a","text":"x","teacher_label":"World"}\n';
  for (const minProbability of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY]) {
    assert.throws(() => exportReviewedText(text, options(predictions, minProbability)), /the least probability of the advised label must be above 0 and at most 1/, String(minProbability));
  }
  assert.equal(exportReviewedText(text, options(predictions, 1)).counts.advised, 0);
  assert.equal(exportReviewedText(text, options(predictions, 0.2)).counts.advised, 1);
});

test('export: a human field that holds no label (a class id written as a number, an object, empty text) is counted with its line, not passed over', () => {
  const text = [
    '{"id":"a","text":"x","teacher_label":"World","human_label":3}',
    '{"id":"b","text":"y","teacher_label":"World","human_label":"Sports"}',
    '{"id":"c","text":"z","teacher_label":"World","human_label":null}',
    '{"id":"d","text":"w","teacher_label":"World","human_label":{"label":"Sports"}}',
    '{"id":"e","text":"v","teacher_label":"World","human_label":" "}',
  ].join('\n');
  const { counts } = exportReviewedText(text, options([], null));
  assert.deepEqual(counts.humanNotLabelLines, [1, 4, 5]);
  assert.equal(counts.human, 1);
});

test('export: an empty human label ("") is a row not reviewed yet, as a converted spreadsheet writes it: not named as a field holding no label', () => {
  // Every unreviewed row of such a file was named, with the advice to "write the label as text there".
  const text = [
    '{"id":"a","text":"x","teacher_label":"World","human_label":""}',
    '{"id":"b","text":"y","teacher_label":"World","human_label":"Sports"}',
    '{"id":"c","text":"z","teacher_label":"World","human_label":""}',
    '{"id":"d","text":"w","teacher_label":"World","human_label":7}',
  ].join('\n');
  const { counts } = exportReviewedText(text, options([], null));
  assert.deepEqual(counts.humanNotLabelLines, [4]);
  assert.equal(counts.teacher, 3);
});

test('export: a teacher field that holds no label (a number, an object, a boolean, white space) on a row left without a label is counted with its line', () => {
  const text = [
    '{"id":"a","text":"x","teacher_label":1}',
    '{"id":"b","text":"y","teacher_label":"World"}',
    '{"id":"c","text":"z","teacher_label":null}',
    '{"id":"d","text":"w","teacher_label":{"label":"Sports"}}',
    '{"id":"e","text":"v","teacher_label":"  "}',
    '{"id":"f","text":"u","teacher_label":true}',
    '{"id":"g","text":"t"}',
    // A human label decides the row: its teacher value is no loss.
    '{"id":"h","text":"s","teacher_label":2,"human_label":"World"}',
  ].join('\n');
  const { text: out, counts } = exportReviewedText(text, options([], null));
  assert.deepEqual(counts.teacherNotLabelLines, [1, 4, 5, 6]);
  assert.equal(counts.none, 6);
  assert.equal(out.split('\n')[0], '{"id":"a","text":"x","teacher_label":1,"final_label":null,"label_provenance":{"source":"none","run":"run-1"}}');
});

test('export target: a symbolic link elsewhere to a file in the runs folder (a custom one, outside .peerkd) is refused like the file itself', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-export-link-'));
  try {
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(data, '{"text":"a"}\n');
    const runs = path.join(dir, 'my-runs');
    fs.mkdirSync(runs);
    fs.writeFileSync(path.join(runs, 'latest'), 'run-1\n');
    fs.symlinkSync(path.join(runs, 'latest'), path.join(dir, 'copy.jsonl'));
    await assert.rejects(assertExportTarget(data, path.join(dir, 'copy.jsonl'), runs), /copy\.jsonl: inside the runs folder .*my-runs/);
    assert.equal(fs.readFileSync(path.join(runs, 'latest'), 'utf8'), 'run-1\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("export: rows the run did not score (an id renamed, a row added, an id now shared by two rows) are counted and said, not exported without the run's advice in silence", () => {
  const run = options([prediction('a', 'World', 'Sports', 0.95), prediction('b', 'World', 'Sports', 0.95)], 0.9);
  const text = [
    '{"id": "a-renamed", "text": "match", "teacher_label": "World"}',
    '{"id": "b", "text": "goal", "teacher_label": "World"}',
    '{"id": "b", "text": "goal again", "teacher_label": "World"}',
    '{"id": "blank", "text": " ", "teacher_label": "World"}',
  ].join('\n');
  const { counts } = exportReviewedText(text, run);
  assert.equal(counts.advised, 0);
  assert.equal(counts.notInRun, 3);
  assert.match(describeExport(counts, run).details, /, 3 not in run run-1 \(added since, or their id changed, or how many rows share it\) exported without its probability or advice$/);
});
