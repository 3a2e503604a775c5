/**
 * The dataset a palette command acts on when the active tab has no text editor (src/commands/datasetTarget.ts): a
 * dataset over the editor's 50 MB limit for extensions shows "not displayed in the text editor because it is very
 * large" in its tab, and extensions see no active text editor; a tab just opened has none until its text is loaded.
 * "Run Peer-Advised Distillation" from the palette said "open a .jsonl or .ndjson dataset" with the dataset's tab in
 * front. Run against a small stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeUri, stubVscodeModule } from '../support/fakeVscodeModule';

class TabInputText {
  constructor(readonly uri: FakeUri) {}
}
class TabInputWebview {
  constructor(readonly viewType: string) {}
}
const window = {
  activeTextEditor: undefined as { document: { uri: FakeUri; languageId: string } } | undefined,
  tabGroups: { activeTabGroup: { activeTab: undefined as { input: unknown } | undefined } },
};
stubVscodeModule({ TabInputText, TabInputWebview, Uri: FakeUri, window, workspace: {}, EventEmitter: class {} });

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { datasetTarget, setLabelReviewDatasetSource } = require('../../src/commands/datasetTarget') as typeof import('../../src/commands/datasetTarget');

test("no text editor active (a dataset over the editor's limit, a tab still loading): a command takes the active tab's dataset file", () => {
  const big = new FakeUri('/ws/big.jsonl');
  window.activeTextEditor = undefined;
  window.tabGroups.activeTabGroup.activeTab = { input: new TabInputText(big) };
  assert.equal(datasetTarget(undefined)?.toString(), big.toString());
  // Only a file with a dataset's name: a tab of another file without a text editor is no dataset to guess.
  window.tabGroups.activeTabGroup.activeTab = { input: new TabInputText(new FakeUri('/ws/big.json')) };
  assert.equal(datasetTarget(undefined), undefined);
  // The Label Review panel in front: its dataset when it has focus (as before), never a tab behind it.
  setLabelReviewDatasetSource('peerkd.labelReview', () => new FakeUri('/ws/reviewed.jsonl') as never);
  window.tabGroups.activeTabGroup.activeTab = { input: new TabInputWebview('mainThreadWebview-peerkd.labelReview') };
  assert.equal(datasetTarget(undefined)?.toString(), 'file:///ws/reviewed.jsonl');
  setLabelReviewDatasetSource('peerkd.labelReview', () => undefined);
  assert.equal(datasetTarget(undefined), undefined);
});

test('a text editor active: its document decides, as before, even where the command does not take it', () => {
  const data = new FakeUri('/ws/data.jsonl');
  window.tabGroups.activeTabGroup.activeTab = { input: new TabInputText(data) };
  window.activeTextEditor = { document: { uri: data, languageId: 'jsonl' } };
  assert.equal(datasetTarget(undefined)?.toString(), data.toString());
  assert.equal(datasetTarget(undefined, () => false), undefined, 'an editor the command refuses is not replaced by its tab');
});
