/**
 * The quick fix "Use 'sentence' as the text field" (src/editor/fieldFixes.ts) in a multi-root workspace: it writes the
 * dataset's folder's settings, where a value already there would otherwise win over the one written to the
 * .code-workspace file (the fix changed nothing and said it had), and which leave the other folders' datasets alone.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';

const ConfigurationTarget = { Global: 1, Workspace: 2, WorkspaceFolder: 3 };
let workspaceFile: { fsPath: string } | undefined;
const updates: { scope: unknown; key: string; value: unknown; target: number }[] = [];
const shown: string[] = [];
let handler: ((...args: unknown[]) => Promise<boolean>) | undefined;
const folderA = { name: 'a', uri: { fsPath: '/ws/a' } };
const folderB = { name: 'b', uri: { fsPath: '/ws/b' } };
stubVscodeModule({
  ConfigurationTarget,
  CodeActionKind: { QuickFix: 'quickfix' },
  commands: {
    registerCommand: (_id: string, registered: (...args: unknown[]) => Promise<boolean>) => {
      handler = registered;
      return { dispose() {} };
    },
  },
  window: {
    showInformationMessage: async (text: string) => void shown.push(text),
    showWarningMessage: async (text: string) => void shown.push(`warning: ${text}`),
  },
  workspace: {
    get workspaceFile() {
      return workspaceFile;
    },
    get workspaceFolders() {
      return workspaceFile ? [folderA, folderB] : [folderA];
    },
    getWorkspaceFolder: (uri: { fsPath: string }) => [folderA, folderB].find((folder) => uri.fsPath.startsWith(`${folder.uri.fsPath}/`)),
    getConfiguration: (_section: string, scope: unknown) => ({
      update: async (key: string, value: unknown, target: number) => void updates.push({ scope, key, value, target }),
    }),
  },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { registerUseFieldCommand } = require('../../src/editor/fieldFixes') as typeof import('../../src/editor/fieldFixes');
registerUseFieldCommand();

beforeEach(() => {
  updates.length = 0;
  shown.length = 0;
});

test("multi-root: 'Use sentence as the text field' writes the dataset's folder's settings and says which folder", async () => {
  workspaceFile = { fsPath: '/ws/project.code-workspace' };
  const dataset = { fsPath: '/ws/b/data.jsonl' };
  assert.equal(await handler!(dataset, { field: 'text', path: 'sentence', title: 't' }), true);
  assert.deepEqual(updates, [{ scope: dataset, key: 'fields.text', value: 'sentence', target: ConfigurationTarget.WorkspaceFolder }]);
  assert.deepEqual(shown, ["PeerKD: peerkd.fields.text is now 'sentence' in the settings of folder b."]);
});

test("one folder opened as a folder: the workspace's settings are the folder's, written as before", async () => {
  workspaceFile = undefined;
  assert.equal(await handler!({ fsPath: '/ws/a/data.jsonl' }, { field: 'teacher', path: 'llm_label', title: 't' }), true);
  assert.equal(updates[0].target, ConfigurationTarget.Workspace);
  assert.deepEqual(shown, ["PeerKD: peerkd.fields.teacher is now 'llm_label' in this workspace's settings."]);
});

test('multi-root, a dataset outside every folder: the workspace settings (the ones it reads)', async () => {
  workspaceFile = { fsPath: '/ws/project.code-workspace' };
  assert.equal(await handler!({ fsPath: '/elsewhere/data.jsonl' }, { field: 'text', path: 'sentence', title: 't' }), true);
  assert.equal(updates[0].target, ConfigurationTarget.Workspace);
});
