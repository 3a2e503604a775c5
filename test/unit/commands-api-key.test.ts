/**
 * "PeerKD: Set Teacher API Key" (src/commands/setTeacherApiKey.ts) against a stand-in for `vscode`, as a careless user
 * meets it: a key pasted with a line break or typed as spaces, and a multi-root workspace whose folders name other
 * teacher endpoints (peerkd.teacher.baseUrl is machine-overridable: a folder may set its own).
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeUri, recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';

/** Settings per scope: the scope's fsPath (a folder or a file in it), '' for the window. */
let settingsByScope: Record<string, Record<string, unknown>> = {};
let folders: { name: string; uri: FakeUri }[] = [];
let activeDocument: { uri: FakeUri; languageId: string } | undefined;
let inputAnswer: string | undefined;
let pickAnswer: ((items: { label: string; description: string }[]) => { label: string } | undefined) | undefined;
const inputOptions: { prompt: string; validateInput: (value: string) => unknown }[] = [];
const picked: { label: string; description: string }[][] = [];
const shown: { kind: string; text: string }[] = [];
const secrets = new Map<string, string>();
const logged: { level: string; line: string }[] = [];
let storeFailure: string | undefined;

/** The settings of the folder that holds `scope` (longest path first), else the window's. */
function settingsOf(scope: FakeUri | undefined): Record<string, unknown> {
  const holder = scope && folders.filter((folder) => scope.fsPath.startsWith(folder.uri.fsPath)).sort((a, b) => b.uri.fsPath.length - a.uri.fsPath.length)[0];
  return { ...settingsByScope[''], ...(holder ? settingsByScope[holder.uri.fsPath] : {}) };
}

const message = (kind: string) => async (text: string) => {
  shown.push({ kind, text });
  return undefined;
};
stubVscodeModule({
  Uri: FakeUri,
  TabInputWebview: class {},
  TabInputText: class {},
  workspace: {
    get workspaceFolders() {
      return folders;
    },
    getConfiguration: (_section: string, scope?: FakeUri) => ({ get: (key: string) => settingsOf(scope)[key] }),
  },
  window: {
    get activeTextEditor() {
      return activeDocument && { document: activeDocument };
    },
    tabGroups: { activeTabGroup: { activeTab: undefined } },
    showInputBox: async (options: { prompt: string; validateInput: (value: string) => unknown }) => {
      inputOptions.push(options);
      return inputAnswer;
    },
    showQuickPick: async (items: { label: string; description: string }[]) => {
      picked.push(items);
      return pickAnswer?.(items);
    },
    showInformationMessage: message('information'),
    showWarningMessage: message('warning'),
    showErrorMessage: message('error'),
  },
  commands: { registerCommand: (_id: string, handler: (...args: unknown[]) => unknown) => handler },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { apiKeyInputProblem, registerSetTeacherApiKeyCommand, teacherApiKeySecret, teacherApiKeyOrAsk } = require('../../src/commands/setTeacherApiKey') as typeof import('../../src/commands/setTeacherApiKey');

const services = {
  context: {
    secrets: {
      get: async (name: string) => {
        if (storeFailure) throw new Error(storeFailure);
        return secrets.get(name);
      },
      store: async (name: string, value: string) => {
        if (storeFailure) throw new Error(storeFailure.replace('KEY', value));
        secrets.set(name, value);
      },
      delete: async (name: string) => void secrets.delete(name),
    },
  },
  log: recordingLog(logged),
} as never;
const setKey = registerSetTeacherApiKeyCommand(services) as unknown as (target?: unknown) => Promise<boolean>;

beforeEach(() => {
  settingsByScope = {};
  folders = [];
  activeDocument = undefined;
  inputAnswer = undefined;
  pickAnswer = undefined;
  inputOptions.length = 0;
  picked.length = 0;
  shown.length = 0;
  secrets.clear();
  logged.length = 0;
});

test('a key with a line break, a space, a non-ASCII character or of spaces only is refused in the box and never stored', async () => {
  assert.equal(apiKeyInputProblem('sk-abc123'), undefined);
  assert.equal(apiKeyInputProblem('  sk-abc123\n'), undefined, 'white space around the key is dropped, as before');
  assert.equal(apiKeyInputProblem(''), undefined, 'empty: removes the stored key');
  assert.equal(apiKeyInputProblem('sk-abc\nsk-def'), 'The key holds a line break or a space: paste one key only.');
  assert.equal(apiKeyInputProblem('sk-abc sk-def'), 'The key holds a line break or a space: paste one key only.');
  assert.equal(apiKeyInputProblem('sk-…'), 'The key holds the character U+2026: an API key is plain ASCII letters, digits and signs.');
  assert.equal(apiKeyInputProblem('   '), 'The key is only white space. Leave the box empty to remove the stored key.');

  secrets.set('peerkd.teacher.apiKey:https://api.openai.com/v1', 'sk-kept');
  for (const typed of ['sk-abc\nsk-def', '   ']) {
    inputAnswer = typed;
    shown.length = 0;
    assert.equal(await setKey(), false, JSON.stringify(typed));
    // The box validates as the user types; what it returns anyway is refused with the same reason.
    assert.equal(inputOptions.at(-1)!.validateInput(typed), apiKeyInputProblem(typed));
    assert.deepEqual(shown, [{ kind: 'error', text: `PeerKD: no key stored for https://api.openai.com/v1: ${apiKeyInputProblem(typed)}` }]);
    assert.equal(secrets.get('peerkd.teacher.apiKey:https://api.openai.com/v1'), 'sk-kept', 'the stored key is unchanged');
  }

  inputAnswer = ' sk-new\n';
  assert.equal(await setKey(), true);
  assert.equal(secrets.get('peerkd.teacher.apiKey:https://api.openai.com/v1'), 'sk-new');
  inputAnswer = '';
  assert.equal(await setKey(), true);
  assert.equal(secrets.has('peerkd.teacher.apiKey:https://api.openai.com/v1'), false, 'an empty box removes it');
});

test("multi-root: the key is stored for the active dataset's folder's teacher URL, the one Label with Teacher reads", async () => {
  folders = [
    { name: 'a', uri: new FakeUri('/ws/a') },
    { name: 'b', uri: new FakeUri('/ws/b') },
  ];
  settingsByScope = { '/ws/b': { 'teacher.baseUrl': 'http://gpu-box:8000/v1' } };
  activeDocument = { uri: new FakeUri('/ws/b/data.jsonl'), languageId: 'jsonl' };
  inputAnswer = 'sk-b';
  assert.equal(await setKey(), true);
  assert.deepEqual([...secrets.keys()], ['peerkd.teacher.apiKey:http://gpu-box:8000/v1']);
  assert.match(inputOptions[0].prompt, /^API key for http:\/\/gpu-box:8000\/v1 /);
  assert.deepEqual(picked, [], 'one endpoint: nothing to ask');
});

test('multi-root, no dataset open: folders that name different teacher URLs are offered, each with its folder', async () => {
  folders = [
    { name: 'a', uri: new FakeUri('/ws/a') },
    { name: 'b', uri: new FakeUri('/ws/b') },
    { name: 'c', uri: new FakeUri('/ws/c') },
  ];
  settingsByScope = { '/ws/b': { 'teacher.baseUrl': 'http://gpu-box:8000/v1' } };
  pickAnswer = (items) => items[1];
  inputAnswer = 'sk-b';
  assert.equal(await setKey(), true);
  assert.deepEqual(picked, [
    [
      { label: 'https://api.openai.com/v1', description: 'teacher (peerkd.teacher.baseUrl), folder a', setting: 'peerkd.teacher.baseUrl' },
      { label: 'http://gpu-box:8000/v1', description: 'teacher (peerkd.teacher.baseUrl), folder b', setting: 'peerkd.teacher.baseUrl' },
    ],
  ]);
  assert.deepEqual([...secrets.keys()], ['peerkd.teacher.apiKey:http://gpu-box:8000/v1']);
});

test('a teacher URL setting that is no string is said, naming the setting, before the key is stored for the default URL', async () => {
  settingsByScope = { '': { 'teacher.baseUrl': 8000 } };
  inputAnswer = 'sk-x';
  assert.equal(await setKey(), true);
  assert.deepEqual(shown[0], { kind: 'warning', text: 'PeerKD: setting peerkd.teacher.baseUrl 8000 was ignored (a number, not a string): "https://api.openai.com/v1" is used instead.' });
  assert.deepEqual([...secrets.keys()], ['peerkd.teacher.apiKey:https://api.openai.com/v1']);
});

test('a teacher or encoder URL that is not valid is reported naming its setting; no key is asked for', async () => {
  settingsByScope = { '': { 'teacher.baseUrl': 'localhost:11434/v1' } };
  assert.equal(await setKey(), false);
  assert.deepEqual(shown, [{ kind: 'error', text: "PeerKD: the setting peerkd.teacher.baseUrl 'localhost:11434/v1' must start with http:// or https://." }]);
  assert.deepEqual(inputOptions, []);

  shown.length = 0;
  settingsByScope = { '': { 'encoder.baseUrl': 'ftp://embed.example.com' } };
  pickAnswer = (items) => items.find((item) => item.label.startsWith('ftp:'));
  assert.equal(await setKey(), false);
  assert.deepEqual(shown, [{ kind: 'error', text: "PeerKD: the setting peerkd.encoder.baseUrl 'ftp://embed.example.com' must start with http:// or https://." }]);
});

test("the editor's secret storage failing (no OS keyring) is said naming the endpoint, never with the key", async () => {
  storeFailure = 'Cannot create an item in a locked collection (KEY)';
  inputAnswer = 'sk-secret-123';
  try {
    assert.equal(await setKey(), false);
  } finally {
    storeFailure = undefined;
  }
  assert.equal(shown.length, 1);
  assert.equal(shown[0].kind, 'error');
  assert.match(shown[0].text, /^PeerKD: the key for https:\/\/api\.openai\.com\/v1 could not be stored in the editor's secret storage: Cannot create an item in a locked collection/);
  assert.ok(![...shown.map((item) => item.text), ...logged.map((item) => item.line)].some((text) => text.includes('sk-secret-123')));
  assert.equal(secrets.size, 0);
});

test('the key a run uses (Label with Teacher, the endpoint encoder): the stored one; none on a remote server is asked about, naming the URL and what uses it', async () => {
  secrets.set(teacherApiKeySecret('https://teacher.example.com/v1'), 'sk-stored');
  assert.deepEqual(await teacherApiKeyOrAsk(services, 'https://teacher.example.com/v1'), { apiKey: 'sk-stored' });
  assert.deepEqual(await teacherApiKeyOrAsk(services, 'http://127.0.0.1:11434/v1'), { apiKey: undefined }, 'a server on this machine needs none');
  assert.deepEqual(shown, [], 'nothing asked');
  assert.equal(await teacherApiKeyOrAsk(services, 'https://other.example.com/v1', ', which the endpoint encoder (peerkd.training.encoder) uses'), undefined, 'the warning dismissed: stop');
  assert.deepEqual(shown, [{ kind: 'warning', text: 'PeerKD: no API key is stored for https://other.example.com/v1, which the endpoint encoder (peerkd.training.encoder) uses.' }]);
});
