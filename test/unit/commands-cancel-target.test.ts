/**
 * Cancel Distillation given a dataset (src/commands/cancelDistillation.ts): it stops that dataset's run, and only
 * that one. Given a dataset that is not running while another is, it used to fall back to "the only run" and stop
 * the other dataset's. Run against a stand-in for `vscode`.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeUri, stubVscodeModule } from '../support/fakeVscodeModule';

const shown: string[] = [];
const picks: unknown[] = [];
let handler: ((argument?: unknown) => Promise<void>) | undefined;
stubVscodeModule({
  Uri: FakeUri,
  workspace: { workspaceFolders: undefined },
  commands: {
    registerCommand: (_id: string, callback: (argument?: unknown) => Promise<void>) => {
      handler = callback;
      return { dispose() {} };
    },
  },
  window: {
    showInformationMessage: async (text: string) => void shown.push(text),
    showQuickPick: async (items: unknown) => void picks.push(items),
  },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { registerCancelDistillationCommand } = require('../../src/commands/cancelDistillation') as typeof import('../../src/commands/cancelDistillation');

const cancelled: string[] = [];
function running(...files: string[]) {
  const runs = files.map((file) => ({ datasetUri: new FakeUri(file), run: { cancel: async () => void cancelled.push(file) }, finished: Promise.resolve() }));
  registerCancelDistillationCommand({ activeRuns: () => runs } as never);
  assert.ok(handler);
  return handler;
}

beforeEach(() => {
  shown.length = 0;
  picks.length = 0;
  cancelled.length = 0;
});

test('given a dataset that is not running while another is: nothing is cancelled, and the message names it', async () => {
  await running('/w/a.jsonl')(new FakeUri('/w/b.jsonl'));
  assert.deepEqual(cancelled, []);
  assert.deepEqual(shown, ['PeerKD: no distillation of b.jsonl is running.']);
});

test('given the running dataset: that run is cancelled; no dataset and one run: that run', async () => {
  await running('/w/a.jsonl', '/w/b.jsonl')(new FakeUri('/w/b.jsonl'));
  assert.deepEqual(cancelled, ['/w/b.jsonl']);
  cancelled.length = 0;
  await running('/w/a.jsonl')();
  assert.deepEqual(cancelled, ['/w/a.jsonl']);
  assert.deepEqual(picks, []);
});
