/**
 * Commands run from the palette with the wrong editor active (src/commands/datasetTarget.ts datasetProblem): an output
 * channel, the older side of a git diff, settings.json. Each says why and does nothing: Open Label Review opened a
 * review titled "settings.json", Retrain said the output channel "has no human label yet", Label with Teacher asked
 * for the teacher's go-ahead on a git view its labels could never be written to. Against a stand-in for `vscode`.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeUri, recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';

/** A URI of any scheme, as the commands read one. */
class AnyUri {
  constructor(
    readonly scheme: string,
    readonly path: string,
    private readonly text: string,
  ) {}
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return this.text;
  }
}

let active: { uri: AnyUri | FakeUri; languageId: string } | undefined;
let settingValues: Record<string, unknown> = {};
let openFailure = 'no document may be opened';
const errors: string[] = [];
const handlers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
const webviewsCreated: unknown[] = [];
stubVscodeModule({
  Uri: FakeUri,
  TabInputWebview: class {},
  TabInputText: class {},
  ViewColumn: { One: 1, Beside: -2 },
  workspace: {
    isTrusted: true,
    workspaceFolders: [],
    textDocuments: [],
    fs: { isWritableFileSystem: (scheme: string) => (scheme === 'file' ? true : scheme === 'git' ? false : undefined) },
    asRelativePath: (uri: { toString(): string }) => uri.toString(),
    getConfiguration: () => ({ get: (key: string) => settingValues[key] }),
    openTextDocument: async () => {
      throw new Error(openFailure);
    },
  },
  window: {
    get activeTextEditor() {
      return active && { document: active };
    },
    tabGroups: { activeTabGroup: { activeTab: undefined, viewColumn: 1 }, all: [] },
    visibleTextEditors: [],
    createWebviewPanel: (...args: unknown[]) => {
      webviewsCreated.push(args);
      throw new Error('no panel may open');
    },
    showErrorMessage: async (text: string) => {
      errors.push(text);
      return undefined;
    },
    showInformationMessage: async (text: string) => {
      errors.push(`information: ${text}`);
      return undefined;
    },
    showWarningMessage: async (text: string) => {
      errors.push(`warning: ${text}`);
      return undefined;
    },
  },
  commands: {
    registerCommand: (id: string, handler: (...args: unknown[]) => Promise<unknown>) => {
      handlers.set(id, handler);
      return { dispose: () => undefined };
    },
  },
});

/* eslint-disable @typescript-eslint/no-require-imports */
const { registerOpenLabelReviewCommand } = require('../../src/commands/openLabelReview') as typeof import('../../src/commands/openLabelReview');
const { registerRetrainWithMyLabelsCommand } = require('../../src/commands/retrainWithMyLabels') as typeof import('../../src/commands/retrainWithMyLabels');
const { registerLabelWithTeacherCommand } = require('../../src/commands/labelWithTeacher') as typeof import('../../src/commands/labelWithTeacher');
const { registerExportReviewedDatasetCommand } = require('../../src/commands/exportReviewedDataset') as typeof import('../../src/commands/exportReviewedDataset');
/* eslint-enable @typescript-eslint/no-require-imports */

const logged: { level: string; line: string }[] = [];
const services = { context: {}, log: recordingLog(logged) } as never;
const runState = {
  indexOf: () => {
    throw new Error('no document may be indexed');
  },
  ensureRun: async () => {
    throw new Error('no run may be looked up');
  },
  currentRun: async () => {
    throw new Error('no run may be looked up');
  },
  getRun: () => undefined,
} as never;
const manager = {
  run: async () => {
    throw new Error('no run may start');
  },
} as never;
registerOpenLabelReviewCommand(services, runState);
registerRetrainWithMyLabelsCommand(services, runState, manager);
registerLabelWithTeacherCommand(services);
registerExportReviewedDatasetCommand(services, runState);

beforeEach(() => {
  errors.length = 0;
  webviewsCreated.length = 0;
});

const output = { uri: new AnyUri('output', 'extension-output-peerkd.peerkd-#1-PeerKD', 'output:extension-output-peerkd.peerkd-#1-PeerKD'), languageId: 'log' };
const gitSide = { uri: new AnyUri('git', '/ws/data.jsonl', 'git:/ws/data.jsonl?%7B%22ref%22%3A%22HEAD%22%7D'), languageId: 'jsonl' };
const settingsJson = { uri: new FakeUri('/ws/.vscode/settings.json'), languageId: 'jsonc' };

test('Open Label Review from the palette on an output channel, a git diff side or settings.json says why and opens no panel', async () => {
  const open = handlers.get('peerkd.openLabelReview')!;
  for (const [editor, expected] of [
    [output, 'PeerKD: no Label Review: output:extension-output-peerkd.peerkd-#1-PeerKD is not a file the editor can write (output: a view such as a diff or an output channel); open the dataset file itself.'],
    [gitSide, 'PeerKD: no Label Review: git:/ws/data.jsonl?%7B%22ref%22%3A%22HEAD%22%7D is not a file the editor can write (git: a view such as a diff or an output channel); open the dataset file itself.'],
    [settingsJson, 'PeerKD: no Label Review: settings.json is not a JSON Lines dataset (.jsonl or .ndjson).'],
  ] as const) {
    active = editor;
    errors.length = 0;
    await open();
    assert.deepEqual(errors, [expected]);
  }
  assert.deepEqual(webviewsCreated, []);
});

test('Retrain with My Labels and Export Reviewed Dataset on an output channel or settings.json say why, not "no human label yet"', async () => {
  active = output;
  await handlers.get('peerkd.retrainWithMyLabels')!();
  assert.match(errors[0], /^PeerKD: no retraining: output:.* is not a file the editor can write/);
  active = settingsJson;
  errors.length = 0;
  await handlers.get('peerkd.exportReviewedDataset')!();
  assert.deepEqual(errors, ['PeerKD: no export: settings.json is not a JSON Lines dataset (.jsonl or .ndjson).']);
});

test('Label with Teacher on the older side of a git diff of a .jsonl refuses before reading settings, asking or sending anything', async () => {
  active = gitSide;
  assert.equal(await handlers.get('peerkd.labelWithTeacher')!(), undefined);
  assert.deepEqual(errors, ['PeerKD: no teacher labelling: git:/ws/data.jsonl?%7B%22ref%22%3A%22HEAD%22%7D is not a file the editor can write (git: a view such as a diff or an output channel); open the dataset file itself.']);
});

test('Label with Teacher with a peerkd.teacher.baseUrl that is no URL names the setting (it said "The teacher base URL")', async () => {
  active = { uri: new FakeUri('/ws/data.jsonl'), languageId: 'jsonl' };
  settingValues = { 'teacher.baseUrl': 'localhost:11434/v1' };
  assert.equal(await handlers.get('peerkd.labelWithTeacher')!(), undefined);
  assert.deepEqual(errors, ["PeerKD: the setting peerkd.teacher.baseUrl 'localhost:11434/v1' must start with http:// or https://."]);
  settingValues = {};
});

test('a dataset the editor will not open (over its 50 MB limit for extensions): Label Review, Retrain, Export and Label with Teacher say so, naming the file, before any question or panel', async () => {
  openFailure = 'Files above 50MB cannot be synchronized with extensions.';
  active = { uri: new FakeUri('/ws/huge.jsonl'), languageId: 'jsonl' };
  for (const [command, refused] of [
    ['peerkd.openLabelReview', 'no Label Review'],
    ['peerkd.retrainWithMyLabels', 'no retraining'],
    ['peerkd.exportReviewedDataset', 'no export'],
    ['peerkd.labelWithTeacher', 'no teacher labelling'],
  ]) {
    errors.length = 0;
    await handlers.get(command)!();
    assert.deepEqual(errors, [`PeerKD: ${refused}: huge.jsonl could not be opened in the editor (Files above 50MB cannot be synchronized with extensions.).`], command);
  }
  assert.deepEqual(webviewsCreated, []);
  openFailure = 'no document may be opened';
});

test('with no dataset open, each command says to open a .jsonl or .ndjson dataset (it said ".jsonl" only, while .ndjson files are datasets too)', async () => {
  active = undefined;
  for (const [command, expected] of [
    ['peerkd.openLabelReview', 'PeerKD: open a .jsonl or .ndjson dataset to review its labels.'],
    ['peerkd.retrainWithMyLabels', 'PeerKD: open a .jsonl or .ndjson dataset (or its Label Review) to retrain with its human labels.'],
    ['peerkd.labelWithTeacher', 'PeerKD: open a .jsonl or .ndjson dataset (or pick one in the Explorer) to label it with the teacher.'],
    ['peerkd.exportReviewedDataset', 'PeerKD: open a .jsonl or .ndjson dataset (or select one in the Explorer) to export it.'],
  ] as const) {
    errors.length = 0;
    await handlers.get(command)!();
    assert.deepEqual(errors, [expected], command);
  }
  assert.deepEqual(webviewsCreated, []);
});
