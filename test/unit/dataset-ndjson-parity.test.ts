/**
 * A dataset is a `.jsonl` or `.ndjson` file, in any letter case (src/dataset/types.ts DATASET_FILE_NAME). Every place
 * that decides whether a file is a dataset must say the same: package.json's menus (their `when` clauses), language
 * association and activation events, the live diagnostics, Label with Teacher's choice of the active editor. A
 * `.ndjson` file was reviewed, hovered and exported, and run by the CLI, but got no diagnostics, no menu entries and
 * no Label with Teacher from the palette.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DATASET_EXTENSIONS, DATASET_FILE_NAME, DATASET_GLOB } from '../../src/dataset/types';
import { reviewedFileName } from '../../src/review/export';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeDiagnosticsVscode } from '../support/fakeDiagnosticsVscode';

stubVscodeModule(fakeDiagnosticsVscode().module);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isJsonlDocument, looksLikeDataset } = require('../../src/editor/datasetDiagnostics') as typeof import('../../src/editor/datasetDiagnostics');

interface Manifest {
  activationEvents: string[];
  contributes: {
    languages: { id: string; extensions: string[] }[];
    menus: Record<string, { command: string; when?: string }[]>;
  };
}

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;

/** File names on both sides of the rule: each extension in several letter cases, and names that only look close. */
const NAMES = [
  'data.jsonl',
  'data.ndjson',
  'DATA.JSONL',
  'Data.NDJson',
  'a.b.jsonl',
  'data.json',
  'data.jsonl.bak',
  'data.txt',
  'jsonl',
  'data.xjsonl',
  'data.ndjsonl',
];

/** The regular expression a `when` clause applies to resourceExtname (`resourceExtname =~ /…/flags`). */
function extnameRegex(when: string): RegExp {
  const match = /resourceExtname\s*=~\s*\/((?:\\.|[^/\\])*)\/([a-z]*)/.exec(when);
  assert.ok(match, `a when clause that tests resourceExtname without a regular expression: ${when}`);
  return new RegExp(match[1], match[2]);
}

test('DATASET_FILE_NAME accepts exactly the DATASET_EXTENSIONS, in any letter case', () => {
  assert.deepEqual([...DATASET_EXTENSIONS], ['jsonl', 'ndjson']);
  assert.deepEqual(
    NAMES.filter((name) => DATASET_FILE_NAME.test(name)),
    ['data.jsonl', 'data.ndjson', 'DATA.JSONL', 'Data.NDJson', 'a.b.jsonl'],
  );
  assert.equal(DATASET_GLOB, '**/*.{jsonl,ndjson}');
});

test('every menu entry that tests the file extension shows for exactly the files DATASET_FILE_NAME accepts', () => {
  const entries = Object.entries(manifest.contributes.menus).flatMap(([menu, list]) => list.map((entry) => ({ menu, ...entry })));
  const byExtension = entries.filter((entry) => /resourceExtname/.test(entry.when ?? ''));
  // The Explorer's five commands and the editor title's three.
  assert.equal(byExtension.length, 8);
  for (const entry of byExtension) {
    const regex = extnameRegex(entry.when!);
    for (const name of NAMES) {
      // resourceExtname is the extension with its dot, as the file is named (`.JSONL` stays upper case).
      assert.equal(regex.test(path.extname(name)), DATASET_FILE_NAME.test(name), `${entry.menu} ${entry.command} on ${name}: ${entry.when}`);
    }
  }
});

test('the jsonl language, and so the activation on it, takes every dataset extension; a workspace with either activates', () => {
  const jsonl = manifest.contributes.languages.find((language) => language.id === 'jsonl');
  assert.deepEqual(jsonl?.extensions, DATASET_EXTENSIONS.map((extension) => `.${extension}`));
  assert.ok(manifest.activationEvents.includes('onLanguage:jsonl'));
  for (const extension of DATASET_EXTENSIONS) assert.ok(manifest.activationEvents.includes(`workspaceContains:**/*.${extension}`), extension);
});

test('the live diagnostics and Label with Teacher take a .ndjson file (any letter case) as a dataset, also when it is not shown as JSON Lines', () => {
  const document = (file: string, languageId = 'plaintext', scheme = 'file') => ({ languageId, uri: { scheme, path: `/w/${file}` } }) as never;
  for (const name of NAMES) {
    assert.equal(looksLikeDataset(document(name)), DATASET_FILE_NAME.test(name), name);
    assert.equal(isJsonlDocument(document(name)), DATASET_FILE_NAME.test(name), name);
  }
  // Shown as JSON Lines (an untitled editor, a file of another name the user set to JSON Lines): a dataset too.
  assert.equal(isJsonlDocument(document('Untitled-1', 'jsonl', 'untitled')), true);
  // A git diff's older side is never validated, whatever its name.
  assert.equal(isJsonlDocument(document('data.ndjson', 'jsonl', 'git')), false);
});

test('the reviewed copy of a .ndjson dataset keeps its extension', () => {
  assert.equal(reviewedFileName('data.ndjson'), 'data.reviewed.ndjson');
  assert.equal(reviewedFileName('DATA.NDJSON'), 'DATA.reviewed.NDJSON');
  assert.equal(reviewedFileName('data.jsonl'), 'data.reviewed.jsonl');
});
