// The reviewed copy adds final_label and label_provenance: it must never write them over a field the user mapped
// (their human or teacher label, their text), and it says how many rows already had them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { exportReviewedText, type ExportOptions } from '../../src/review/export';

function options(fields = DEFAULT_FIELDS): ExportOptions {
  return { fields, predictionsByKey: null, runId: null, advice: null };
}

test('a mapped field named final_label or label_provenance is refused, naming the setting: the copy would write over it', () => {
  const text = '{"id":"a","text":"x","teacher_label":"World"}\n{"id":"b","text":"y","teacher_label":"Sports","final_label":"World"}\n';
  assert.throws(
    () => exportReviewedText(text, options({ ...DEFAULT_FIELDS, human: 'final_label' })),
    /^Error: the human label field \(setting peerkd\.fields\.human\) is 'final_label', the field the reviewed copy writes every row's final label into: it would be written over — map the human labels to another field, or rename it in the file$/,
  );
  assert.throws(() => exportReviewedText(text, options({ ...DEFAULT_FIELDS, teacher: 'label_provenance.source' })), /setting peerkd\.fields\.teacher\) is 'label_provenance\.source'/);
});

test('rows that already hold final_label or label_provenance are counted as replaced, and the rest of the line is kept byte for byte', () => {
  const text = [
    '{"id":"a","text":"x","teacher_label":"World","final_label":"Mine"}',
    '{"id":"b","text":"y","teacher_label":" Sports ","label_provenance":"hand"}',
    '{"id":"c","text":"z","teacher_label":"Café"}',
    '',
  ].join('\n');
  const { text: out, counts } = exportReviewedText(text, options());
  assert.equal(counts.replacedExisting, 2);
  const lines = out.split('\n');
  assert.equal(lines[1], '{"id":"b","text":"y","teacher_label":" Sports ","label_provenance":{"source":"teacher","run":null},"final_label":" Sports "}');
  assert.equal(lines[2], '{"id":"c","text":"z","teacher_label":"Café","final_label":"Café","label_provenance":{"source":"teacher","run":null}}');
});
