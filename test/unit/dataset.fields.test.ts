import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS, getField, parseDatasetText, rowIdentity, splitFieldPath, textIdentity } from '../../src/dataset/index';

test('getField reads top-level and dotted paths, undefined when any step is missing or not an object', () => {
  const row = { text: 'a', meta: { label: 'World', deep: { x: 0 }, list: [1, 2] }, nil: null };
  assert.equal(getField(row, 'text'), 'a');
  assert.equal(getField(row, 'meta.label'), 'World');
  assert.equal(getField(row, 'meta.deep.x'), 0);
  assert.deepEqual(getField(row, 'meta.list'), [1, 2]);
  assert.equal(getField(row, 'nil'), null);
  assert.equal(getField(row, 'missing'), undefined);
  assert.equal(getField(row, 'meta.missing'), undefined);
  assert.equal(getField(row, 'text.length'), undefined); // strings are not objects
  assert.equal(getField(row, 'meta.list.0'), undefined); // arrays are not walked
  assert.equal(getField(row, 'nil.x'), undefined);
  assert.equal(getField({ toString: 1 }, 'toString'), 1);
  assert.equal(getField({}, 'toString'), undefined); // inherited properties are not fields
  assert.equal(getField('not an object', 'text'), undefined);
});

test('splitFieldPath rejects empty segments', () => {
  assert.deepEqual(splitFieldPath('a.b'), ['a', 'b']);
  assert.throws(() => splitFieldPath(''), /Invalid field path ''/);
  assert.throws(() => splitFieldPath('a..b'), /Invalid field path 'a..b'/);
  assert.throws(() => splitFieldPath('.a'), /empty segment/);
});

test('rowIdentity: the id field when present (strings as they are, numbers in decimal)', () => {
  assert.equal(rowIdentity({ id: 'ag-7', text: 'x' }, DEFAULT_FIELDS), 'ag-7');
  assert.equal(rowIdentity({ id: 7, text: 'x' }, DEFAULT_FIELDS), '7');
  assert.equal(rowIdentity({ id: 7.5, text: 'x' }, DEFAULT_FIELDS), '7.5');
  assert.equal(rowIdentity({ meta: { uid: 'u1' }, text: 'x' }, { ...DEFAULT_FIELDS, id: 'meta.uid' }), 'u1');
});

test('rowIdentity falls back to a stable hash of the text when the id is absent, empty, null or not a scalar', () => {
  // `printf %s 'Same headline' | sha1sum`: the hash must never change between versions, or saved runs stop mapping.
  const expected = 'text:cd402e727c0bff05';
  assert.equal(textIdentity('Same headline'), expected);
  for (const id of [undefined, null, '', true, { nested: 1 }, Number.NaN]) {
    assert.equal(rowIdentity({ id, text: 'Same headline', teacher_label: 'World' }, DEFAULT_FIELDS), expected, `id ${String(id)}`);
  }
  // Editing anything but the text (a label, a new field, key order) keeps the identity.
  assert.equal(rowIdentity({ human_label: 'Sports', text: 'Same headline', extra: 1 }, DEFAULT_FIELDS), expected);
  assert.notEqual(rowIdentity({ text: 'Same headline!' }, DEFAULT_FIELDS), expected);
});

test('textIdentity is sha1 of the UTF-8 text, first 16 hex digits', () => {
  // Reference values from `printf %s 'hello' | sha1sum` and `printf %s 'é' | sha1sum`.
  assert.equal(textIdentity('hello'), 'text:aaf4c61ddcc5e8a2');
  assert.equal(textIdentity('é'), 'text:bf15be717ac1b080');
});

test('a row with neither id nor text still gets a stable identity', () => {
  const a = rowIdentity({ teacher_label: 'World' }, DEFAULT_FIELDS);
  assert.match(a, /^row:[0-9a-f]{16}$/);
  assert.equal(a, rowIdentity({ teacher_label: 'World' }, DEFAULT_FIELDS));
  assert.notEqual(a, rowIdentity({ teacher_label: 'Sports' }, DEFAULT_FIELDS));
});

test('the parser and rowIdentity agree, so run results map back to rows after the file is edited', () => {
  const before = parseDatasetText('{"text": "alpha"}\n{"id": 5, "text": "beta"}', DEFAULT_FIELDS);
  const after = parseDatasetText(
    '{"text": "new row"}\n\n{"text": "alpha", "human_label": "World"}\n{"text": "beta", "id": 5}',
    DEFAULT_FIELDS,
  );
  const lineOf = new Map(after.rows.map((row) => [row.id, row.line]));
  assert.deepEqual(
    before.rows.map((row) => lineOf.get(row.id)),
    [3, 4],
  );
  for (const row of after.rows) assert.equal(row.id, rowIdentity(row.value, DEFAULT_FIELDS));
});
