import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldValueRange } from '../../src/review/locate';

function valueAt(line: string, path: string): string | undefined {
  const range = fieldValueRange(line, path);
  return range && line.slice(range.start, range.end);
}

test('finds the exact characters of a top-level and a nested label value', () => {
  const line = '{"id": "a", "text": "x \\"quoted\\"", "teacher_label": "Sci/Tech", "meta": {"label": "World"}}';
  assert.equal(valueAt(line, 'teacher_label'), '"Sci/Tech"');
  assert.equal(valueAt(line, 'meta.label'), '"World"');
  assert.equal(valueAt(line, 'text'), '"x \\"quoted\\""');
});

test('a repeated key resolves to its last occurrence, like JSON.parse', () => {
  const line = '{"teacher_label":"A","teacher_label":"B"}';
  assert.equal(valueAt(line, 'teacher_label'), '"B"');
});

test('offsets account for a BOM and non-ASCII text before the value', () => {
  const line = '\ufeff{"text":"café 😀","teacher_label":"World"}';
  const range = fieldValueRange(line, 'teacher_label');
  assert.ok(range);
  assert.equal(line.slice(range.start, range.end), '"World"');
});

test('absent fields, invalid JSON and non-objects give undefined', () => {
  assert.equal(fieldValueRange('{"text":"x"}', 'teacher_label'), undefined);
  assert.equal(fieldValueRange('{"text":"x",', 'text'), undefined);
  assert.equal(fieldValueRange('["teacher_label"]', 'teacher_label'), undefined);
  assert.equal(fieldValueRange('{"meta":"flat"}', 'meta.label'), undefined);
});
