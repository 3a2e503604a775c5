/**
 * Restricted Mode (issue 10 §3.9): a command that needs trust says why and offers "Manage Workspace Trust", which
 * opens VS Code's trust editor; in a trusted workspace it says nothing. Run against a stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';

let trusted = false;
let answer: string | undefined;
const warnings: { text: string; items: string[] }[] = [];
const executed: string[] = [];
const fakeVscode = {
  workspace: {
    get isTrusted() {
      return trusted;
    },
  },
  window: {
    showWarningMessage: async (text: string, ...items: string[]) => {
      warnings.push({ text, items });
      return answer;
    },
  },
  commands: {
    executeCommand: async (id: string) => {
      executed.push(id);
    },
  },
};

stubVscodeModule(fakeVscode);

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('in Restricted Mode the command explains itself and "Manage Workspace Trust" opens the trust editor', async () => {
  const { requireTrust } = await import('../../src/editor/trust.js');
  const { UNTRUSTED_REASON } = await import('../../src/editor/contextKeys.js');

  trusted = false;
  answer = 'Manage Workspace Trust';
  assert.equal(requireTrust(UNTRUSTED_REASON.runDistillation), false);
  await settle();
  assert.deepEqual(warnings, [
    {
      text: 'PeerKD: Restricted Mode: training runs code in a child process, so it needs a trusted workspace.',
      items: ['Manage Workspace Trust'],
    },
  ]);
  assert.deepEqual(executed, ['workbench.trust.manage']);

  // Dismissed: nothing opens.
  answer = undefined;
  assert.equal(requireTrust(UNTRUSTED_REASON.labelWithTeacher), false);
  await settle();
  assert.equal(warnings.length, 2);
  assert.deepEqual(executed, ['workbench.trust.manage']);

  trusted = true;
  assert.equal(requireTrust(UNTRUSTED_REASON.runDistillation), true);
  await settle();
  assert.equal(warnings.length, 2);
});
