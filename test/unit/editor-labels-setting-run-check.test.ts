/**
 * `peerkd.labels` written as no list (`"World, Sports"`): Run Distillation refuses the dataset ("no run of …"), but
 * the editor's diagnostics (and Validate Dataset, through the same runSource) checked the file with labels inferred
 * from it and showed no error, so a file validation passed was then refused. The run's words now show as an error.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeDiagnosticsVscode } from '../support/fakeDiagnosticsVscode';
import { recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';

const settingValues: Record<string, unknown> = { labels: 'World, Sports' };
const lines = ['{"text": "a", "teacher_label": "World"}', '{"text": "b", "teacher_label": "Sports"}'];
const { module, published } = fakeDiagnosticsVscode();
const document = {
  uri: { scheme: 'file', path: '/ws/data.jsonl', fsPath: '/ws/data.jsonl', toString: () => 'file:///ws/data.jsonl' },
  languageId: 'jsonl',
  version: 1,
  lineCount: lines.length,
  lineAt: (index: number) => ({ text: lines[index] }),
};
stubVscodeModule({
  ...module,
  workspace: {
    ...(module.workspace as Record<string, unknown>),
    textDocuments: [document],
    asRelativePath: () => 'data.jsonl',
    getConfiguration: () => ({ get: (key: string) => settingValues[key] }),
  },
  window: { showWarningMessage: async () => undefined },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DatasetDiagnostics } = require('../../src/editor/datasetDiagnostics') as typeof import('../../src/editor/datasetDiagnostics');

test('peerkd.labels that is no list shows as an error in the diagnostics, in the words the run refuses with', async () => {
  // The open document's validation is scheduled at once (a timer of 0 ms); a 2-line document is parsed in one slice.
  mock.timers.enable({ apis: ['setTimeout'] });
  const diagnostics = new DatasetDiagnostics({ log: recordingLog([]) } as never);
  mock.timers.tick(0);
  mock.timers.reset();
  const errors = published().filter((diagnostic) => diagnostic.severity === 0);
  assert.ok(
    errors.some((diagnostic) => /setting peerkd\.labels is a string, not a list/.test(diagnostic.message)),
    JSON.stringify(published().map((diagnostic) => [diagnostic.severity, diagnostic.message])),
  );
  diagnostics.dispose();
});
