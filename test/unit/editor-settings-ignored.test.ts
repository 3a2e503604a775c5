/**
 * The diagnostics read settings on every edit (src/editor/datasetDiagnostics.ts): a value they cannot use
 * (`peerkd.diagnostics.severity: "Critical"`, a number for a field) is said once, in the log and as a warning naming
 * the setting, when a dataset opens and when the setting changes; it was silently replaced (severity, threshold) or,
 * for a number in `peerkd.encoder.baseUrl`, threw while the extension activated.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeDiagnosticsVscode } from '../support/fakeDiagnosticsVscode';
import { recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';

let settingValues: Record<string, unknown> = {};
const warnings: string[] = [];
let configurationListener: ((event: { affectsConfiguration: (section: string) => boolean }) => void) | undefined;
const { module } = fakeDiagnosticsVscode();
const workspace = module.workspace as Record<string, unknown>;
const document = {
  uri: { scheme: 'file', path: '/ws/data.jsonl', fsPath: '/ws/data.jsonl', toString: () => 'file:///ws/data.jsonl' },
  languageId: 'jsonl',
  version: 1,
  lineCount: 1,
  lineAt: () => ({ text: '{"text": "a", "teacher_label": "A"}' }),
};
stubVscodeModule({
  ...module,
  workspace: {
    ...workspace,
    textDocuments: [document],
    asRelativePath: () => 'data.jsonl',
    getConfiguration: () => ({ get: (key: string) => settingValues[key] }),
    onDidChangeConfiguration: (listener: typeof configurationListener) => {
      configurationListener = listener;
      return { dispose() {} };
    },
  },
  window: {
    showWarningMessage: async (text: string) => {
      warnings.push(text);
      return undefined;
    },
  },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DatasetDiagnostics } = require('../../src/editor/datasetDiagnostics') as typeof import('../../src/editor/datasetDiagnostics');

const logged: { level: string; line: string }[] = [];
const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  warnings.length = 0;
  logged.length = 0;
});

test('a dataset opens with settings the diagnostics cannot use: each is said once, naming it; nothing throws', async () => {
  settingValues = { 'diagnostics.severity': 'Critical', 'fields.text': 5, 'encoder.baseUrl': 11434, 'diagnostics.minProbability': '0.9' };
  const diagnostics = new DatasetDiagnostics({ log: recordingLog(logged) } as never);
  await settle();
  const expected = [
    'setting peerkd.fields.text 5 was ignored (a number, not a string): "text" is used instead',
    'setting peerkd.diagnostics.severity "Critical" was ignored (not one of Error, Warning, Information, Hint): "Warning" is used instead',
    'setting peerkd.diagnostics.minProbability "0.9" was ignored (a string, not a number): 0 is used instead',
  ];
  assert.deepEqual(warnings, expected.map((line) => `PeerKD: ${line}.`));
  assert.deepEqual(logged.filter(({ level }) => level === 'warn').map(({ line }) => line), expected);

  // Changed again to the same values: not said twice. Another value: said.
  warnings.length = 0;
  configurationListener!({ affectsConfiguration: (section) => section === 'peerkd.diagnostics' || section === 'peerkd' });
  assert.deepEqual(warnings, []);
  settingValues = { ...settingValues, 'diagnostics.severity': 'error' };
  configurationListener!({ affectsConfiguration: (section) => section === 'peerkd.diagnostics' || section === 'peerkd' });
  await settle();
  assert.deepEqual(warnings, ['PeerKD: setting peerkd.diagnostics.severity "error" was ignored (not one of Error, Warning, Information, Hint): "Warning" is used instead.']);
  diagnostics.dispose();
});

test('the dataset checks (diagnostics, Validate Dataset) say the ignored settings they read and an unusable peerkd.labels through one helper, each once', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readSettings, warnDatasetSettingsOnce } = require('../../src/editor/settings') as typeof import('../../src/editor/settings');
  settingValues = { 'fields.human': 7, 'teacher.model': 3, labels: 'World, Sports' };
  const settings = readSettings();
  const log = recordingLog(logged);
  warnDatasetSettingsOnce(log, settings, 'peerkd.fields.');
  warnDatasetSettingsOnce(log, settings, 'peerkd.fields.');
  const expected = [
    'setting peerkd.fields.human 7 was ignored (a number, not a string): "human_label" is used instead',
    'setting peerkd.labels is a string, not a list — write the labels as a JSON list of strings (["World","Sports"])',
  ];
  // The teacher's setting is not one a dataset check reads: not said here (Label with Teacher says it).
  assert.deepEqual(logged.filter(({ level }) => level === 'warn').map(({ line }) => line), expected);
  assert.deepEqual(warnings, expected.map((line) => `PeerKD: ${line}.`));
});
