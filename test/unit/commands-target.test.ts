import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { chooseDatasetTarget, datasetUriProblem, type DatasetResource } from '../../src/commands/targetChoice';

test('a command takes its argument, else the focused Label Review panel’s dataset, else the active editor (issue 10 §3.1)', () => {
  const none = { argument: undefined, panelFocused: false, panelDataset: undefined, activeEditor: undefined };
  assert.equal(chooseDatasetTarget({ ...none, argument: 'arg', panelFocused: true, panelDataset: 'panel', activeEditor: 'editor' }), 'arg');
  // The panel focused: no active text editor, and the panel's dataset is the one meant.
  assert.equal(chooseDatasetTarget({ ...none, panelFocused: true, panelDataset: 'panel' }), 'panel');
  assert.equal(chooseDatasetTarget({ ...none, panelFocused: true, panelDataset: 'panel', activeEditor: 'editor' }), 'panel');
  // The panel open but not focused: the editor the user is in.
  assert.equal(chooseDatasetTarget({ ...none, panelDataset: 'panel', activeEditor: 'editor' }), 'editor');
  assert.equal(chooseDatasetTarget({ ...none, panelDataset: 'panel' }), undefined);
  assert.equal(chooseDatasetTarget(none), undefined);
});

test('every command that acts on a dataset resolves it through the one shared resolver', () => {
  const dir = path.join(__dirname, '..', '..', 'src', 'commands');
  const users = ['exportReviewedDataset.ts', 'runDistillation.ts', 'openLabelReview.ts', 'labelWithTeacher.ts', 'validateDataset.ts', 'retrainWithMyLabels.ts'];
  for (const file of users) {
    assert.match(readFileSync(path.join(dir, file), 'utf8'), /datasetTarget\(/, `${file} uses datasetTarget`);
  }
  // Nothing else in src/commands reads the active editor to find a dataset (that is what missed the focused panel).
  const readers = readdirSync(dir).filter((file) => file !== 'datasetTarget.ts' && readFileSync(path.join(dir, file), 'utf8').includes('activeTextEditor'));
  assert.deepEqual(readers, []);
});

test('a command that writes into a dataset refuses a read-only view (git diff side, output channel), a non-dataset file, and an unsaved editor where it needs a file', () => {
  const file = (path: string): DatasetResource => ({ scheme: 'file', path, shown: `file://${path}`, writable: true });
  const strict = { untitled: false, needsDatasetName: true };
  assert.equal(datasetUriProblem(file('/ws/data.jsonl'), strict), undefined);
  assert.equal(datasetUriProblem(file('/ws/DATA.NDJSON'), strict), undefined);
  assert.equal(datasetUriProblem(file('/ws/.vscode/settings.json'), strict), 'settings.json is not a JSON Lines dataset (.jsonl or .ndjson)');
  assert.equal(datasetUriProblem(file('/ws/data.json'), { untitled: true, needsDatasetName: false }), undefined, 'a file shown as JSON Lines, for the teacher');
  // The older side of a git diff of data.jsonl: its name is a dataset's, but nothing written to it reaches the file.
  assert.equal(
    datasetUriProblem({ scheme: 'git', path: '/ws/data.jsonl', shown: 'git:/ws/data.jsonl?{"ref":"HEAD"}', writable: false }, strict),
    'git:/ws/data.jsonl?{"ref":"HEAD"} is not a file the editor can write (git: a view such as a diff or an output channel); open the dataset file itself',
  );
  // An output channel is no file system at all.
  assert.match(datasetUriProblem({ scheme: 'output', path: 'PeerKD', shown: 'output:PeerKD', writable: undefined }, strict) ?? '', /^output:PeerKD is not a file the editor can write \(output: a view/);
  const untitled: DatasetResource = { scheme: 'untitled', path: 'Untitled-1', shown: 'untitled:Untitled-1', writable: true };
  assert.equal(datasetUriProblem(untitled, strict), 'untitled:Untitled-1 is not saved; save it as a .jsonl or .ndjson file first');
  assert.equal(datasetUriProblem(untitled, { untitled: true, needsDatasetName: true }), undefined);
  // A writable file system other than the disk (a virtual workspace) is a dataset like a file.
  assert.equal(datasetUriProblem({ scheme: 'vscode-vfs', path: '/repo/data.jsonl', shown: 'vscode-vfs://github/repo/data.jsonl', writable: true }, strict), undefined);
});

test("Open Label Review, Retrain, Export and Label with Teacher check their dataset with datasetProblem before anything else; the editor title buttons show on files on disk (or a remote window's) only", () => {
  const dir = path.join(__dirname, '..', '..', 'src', 'commands');
  for (const file of ['openLabelReview.ts', 'retrainWithMyLabels.ts', 'exportReviewedDataset.ts', 'labelWithTeacher.ts']) {
    // Through usableDataset (datasetTarget.ts), which says the datasetProblem as '<refused>: <problem>'.
    assert.match(readFileSync(path.join(dir, file), 'utf8'), /usableDataset\([^;]*\{\s*untitled: (true|false),\s*needsDatasetName: (true|false),?\s*\}\s*,?\s*\);/, file);
  }
  assert.match(readFileSync(path.join(dir, 'datasetTarget.ts'), 'utf8'), /export function usableDataset\([^]*?datasetProblem\(uri, options\)/);
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { menus: Record<string, { command: string; when?: string }[]> } };
  // A file on disk: `file`, or `vscode-remote` as the window shows a remote (SSH, WSL, container) workspace's files.
  for (const entry of manifest.contributes.menus['editor/title']) {
    assert.ok((entry.when ?? '').startsWith('resourceScheme =~ /^(file|vscode-remote)$/ && '), `${entry.command}: ${entry.when}`);
  }
});
