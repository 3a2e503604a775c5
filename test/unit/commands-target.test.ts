import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { chooseDatasetTarget } from '../../src/commands/targetChoice';

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
