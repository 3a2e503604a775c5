/**
 * Label with Teacher (src/commands/labelWithTeacher.ts) with `peerkd.teacher.*` values settings.json cannot give it as
 * written: the confirmation the user answers before anything is sent says which settings were ignored and what runs
 * instead ("false" for useBatchApi was truthy and sent the job to the Batch API; "4" for maxConcurrency ran with 8,
 * unsaid). Against a stand-in for `vscode`, on a dataset in a temporary folder; the user answers no.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { FakeUri, recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';
import { writeJsonl } from '../support/jsonl';
import { tempFolder } from '../fixtures/training/build';

let settingValues: Record<string, unknown> = {};
let datasetText = '';
const dialogs: { text: string; detail?: string }[] = [];
const errors: string[] = [];
stubVscodeModule({
  Uri: FakeUri,
  workspace: {
    isTrusted: true,
    workspaceFolders: [],
    textDocuments: [],
    fs: { isWritableFileSystem: () => true },
    asRelativePath: (uri: FakeUri) => uri.fsPath.slice(uri.fsPath.lastIndexOf('/') + 1),
    getWorkspaceFolder: () => undefined,
    getConfiguration: () => ({ get: (key: string) => settingValues[key] }),
    openTextDocument: async (uri: FakeUri) => ({ uri, isClosed: false, getText: () => datasetText }),
  },
  window: {
    activeTextEditor: undefined,
    tabGroups: { activeTabGroup: { activeTab: undefined } },
    showInformationMessage: async (text: string, options?: { detail?: string }) => {
      dialogs.push({ text, detail: options?.detail });
      return undefined; // not "Label"
    },
    showWarningMessage: async (text: string) => void errors.push(`warning: ${text}`),
    showErrorMessage: async (text: string) => void errors.push(text),
  },
  commands: { registerCommand: (_id: string, handler: unknown) => handler },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { registerLabelWithTeacherCommand } = require('../../src/commands/labelWithTeacher') as typeof import('../../src/commands/labelWithTeacher');
const logged: { level: string; line: string }[] = [];
const labelWithTeacher = registerLabelWithTeacherCommand({
  context: { secrets: { get: async () => undefined }, globalStorageUri: { fsPath: '/nonexistent' } },
  log: recordingLog(logged),
} as never) as unknown as (target: unknown) => Promise<unknown>;

let folder: string;
after(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

test('teacher settings of the wrong type are named in the confirmation, before the user says Label, and in the log', async () => {
  folder = await tempFolder('teacher-notes');
  const rows = [{ text: 'a', teacher_label: 'World' }, { text: 'b', teacher_label: 'Sports' }, { text: 'c' }];
  const dataset = await writeJsonl(folder, 'data.jsonl', rows);
  datasetText = rows.map((row) => JSON.stringify(row)).join('\n');
  settingValues = { 'teacher.baseUrl': 'http://127.0.0.1:9/v1', 'teacher.useBatchApi': 'false', 'teacher.maxConcurrency': '4', 'training.folds': 'x' };
  assert.equal(await labelWithTeacher(new FakeUri(dataset)), undefined);
  assert.deepEqual(errors, []);
  assert.equal(dialogs.length, 1);
  const notes = [
    'setting peerkd.teacher.maxConcurrency "4" was ignored (a string, not a number): 8 is used instead',
    'setting peerkd.teacher.useBatchApi "false" was ignored (a string, not true or false): false is used instead',
  ];
  assert.match(dialogs[0].detail ?? '', /Endpoint: http:\/\/127\.0\.0\.1:9\/v1\n/);
  assert.doesNotMatch(dialogs[0].detail ?? '', /Batch API/, 'live requests, as the default says');
  assert.ok((dialogs[0].detail ?? '').endsWith(notes.map((note) => `\n\nNote: ${note}.`).join('')), dialogs[0].detail);
  // A training setting is not the teacher's business.
  assert.doesNotMatch(dialogs[0].detail ?? '', /training\.folds/);
  for (const note of notes) assert.ok(logged.some(({ level, line }) => level === 'warn' && line === `Teacher run on data.jsonl: ${note}`), note);
});

test('a dataset whose text field is named otherwise is refused naming the setting and the field, not "every row already has a label"', async () => {
  folder ??= await tempFolder('teacher-notes');
  const rows = [{ sentence: 'a match ends tonight' }, { sentence: 'a summit ends in talks' }, { sentence: 'shares fall on news' }];
  const dataset = await writeJsonl(folder, 'sentences.jsonl', rows);
  datasetText = rows.map((row) => JSON.stringify(row)).join('\n');
  settingValues = { 'teacher.baseUrl': 'http://127.0.0.1:9/v1', labels: ['Sports', 'World', 'Business'] };
  dialogs.length = 0;
  errors.length = 0;
  assert.equal(await labelWithTeacher(new FakeUri(dataset)), undefined);
  assert.deepEqual(dialogs, [], 'nothing to confirm: no row can be labelled');
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /^PeerKD: sentences\.jsonl:1: Missing text: none of the 3 rows has a field 'text'; set peerkd\.fields\.text .*'sentence' looks like text$/);
});

test('the confirmation lists a label set so that each label reads as one: a label holding a comma is quoted', async () => {
  folder ??= await tempFolder('teacher-notes');
  const rows = [{ text: 'a gallery opens', teacher_label: 'Arts, Culture' }, { text: 'a match ends', teacher_label: 'Sports' }, { text: 'a new play' }];
  const dataset = await writeJsonl(folder, 'comma-labels.jsonl', rows);
  datasetText = rows.map((row) => JSON.stringify(row)).join('\n');
  settingValues = { 'teacher.baseUrl': 'http://127.0.0.1:9/v1' };
  dialogs.length = 0;
  errors.length = 0;
  assert.equal(await labelWithTeacher(new FakeUri(dataset)), undefined);
  assert.deepEqual(errors, []);
  assert.equal(dialogs.length, 1);
  // Before: "Arts, Culture, Sports", three labels to the eye.
  assert.match(dialogs[0].detail ?? '', /\nLabels \([^)]*\): "Arts, Culture", Sports\n/, dialogs[0].detail);
});
