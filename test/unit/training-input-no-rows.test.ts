/**
 * A dataset with no row at all (an empty file, only blank lines) or whose every line is invalid: the run stops with a
 * message that says so, naming the file (and the first invalid line), instead of advising another label field, as if
 * the rows were there with their fields named otherwise. Both the editor's text and a file on disk.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { InputError, prepareTrainingInput, readTrainingInput, type InputSource } from '../../src/training/input';
import { inputError } from '../support/inputError';
import { tempFolder } from '../fixtures/training/build';

let folder: string;
before(async () => {
  folder = await tempFolder('no-rows');
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function source(file: string): InputSource {
  return { file, fields: DEFAULT_FIELDS, labels: [], folds: 2 };
}

/** The InputError of the editor's text and of the same text saved to a file: the same message (file and line). */
async function bothErrors(name: string, text: string): Promise<InputError[]> {
  const file = join(folder, name);
  await writeFile(file, text);
  const fromText = inputError(() => prepareTrainingInput(text, source(file)));
  const fromFile = await readTrainingInput(source(file)).then(
    () => assert.fail('expected an InputError'),
    (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      return error;
    },
  );
  assert.equal(fromFile.message, fromText.message);
  assert.equal(fromFile.line, fromText.line);
  return [fromText, fromFile];
}

test('an empty file, or one of blank lines only (CRLF too), is said to have no rows', async () => {
  for (const [name, text] of [['empty.jsonl', ''], ['blank.jsonl', '\n\n   \n'], ['blank-crlf.jsonl', '\r\n\r\n']]) {
    const [error] = await bothErrors(name, text);
    assert.equal(error.message, `${join(folder, name)}: the file has no rows (it is empty or holds only blank lines); a dataset has one JSON object per line`);
    assert.equal(error.line, undefined);
  }
});

test('a file whose every line is invalid names the first invalid line and how many there are', async () => {
  const [error] = await bothErrors('invalid.jsonl', '\nnot json\n{bad\n[1]\n');
  const file = join(folder, 'invalid.jsonl');
  assert.equal(
    error.message,
    `${file}:2: no line is a valid row: all 3 non-blank lines are invalid, the first: Invalid JSON at column 2: Unexpected character 'o' in 'null'`,
  );
  assert.equal(error.line, 2);
  const [one] = await bothErrors('one-invalid.jsonl', '{"id": 1,\n');
  assert.match(one.message, /one-invalid\.jsonl:1: no line is a valid row: the only non-blank line is invalid: /);
});

test('one valid row among invalid lines is not this error (the run goes on to its own checks)', async () => {
  const file = join(folder, 'mixed.jsonl');
  const error = inputError(() => prepareTrainingInput('not json\n{"id":"a","text":"t","teacher_label":"A"}\n', source(file)));
  assert.doesNotMatch(error.message, /no line is a valid row|has no rows/);
});
