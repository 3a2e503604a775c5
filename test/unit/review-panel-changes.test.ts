/**
 * The Label Review panel (src/webview/labelReviewPanel.ts) while settings change and the dataset's document comes
 * and goes. The panel refreshed only on edits of the document: remapping `peerkd.fields.human` (or another field) in
 * the settings left it showing the rows as the old mapping read them, so a row whose new human field already held a
 * label was shown unreviewed and a decision wrote over that label; and a file opened again after it changed on disk
 * while closed kept showing the old text. With two workspace folders, two datasets of one name had the same title.
 * Showing another dataset and coming back started the first one's review afresh: nothing to undo, skips gone.
 * "Open in Label Review" on a row that the panel's filters hide left the row selected before selected, and so did
 * any "Open in Label Review" while the panel was in a background tab (the webview's saved state won when it came back).
 * Run against a stand-in for `vscode` (test/support/fakeEditorVscode.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { Emitter, fakeEditorVscode, FakeUri } from '../support/fakeEditorVscode';
import type { Prediction } from '../../src/training/types';
import type { RowView } from '../../src/review/protocol';

const fake = fakeEditorVscode();
stubVscodeModule(fake.module);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LabelReviewPanel, POPUP_SETTLE_MS } = require('../../src/webview/labelReviewPanel') as typeof import('../../src/webview/labelReviewPanel');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { decideRow } = require('../../src/commands/acceptSuggestion') as typeof import('../../src/commands/acceptSuggestion');

const log = { info() {}, warn() {}, error() {}, debug() {} };

function prediction(id: string, suggested: string): Prediction {
  return { id, line: 1, teacher: 'World', human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: { [suggested]: 0.9, World: 0.1 }, peer_probs: {}, vanilla_probs: {} };
}

const row = (id: string, extra: Record<string, string> = {}): string => JSON.stringify({ id, text: `text of ${id}`, teacher_label: 'World', ...extra });

/** A panel showing `uri` against a run flagging rows a and b, its webview ready; the rows as the webview last got them. */
async function openPanel(uri: FakeUri) {
  for (const key of Object.keys(fake.configuration)) delete fake.configuration[key];
  const runState = new RunState(log as never);
  const run = {
    runId: 'r1',
    runDir: '/nowhere',
    datasetUri: uri,
    labels: ['World', 'Business', 'Sports'],
    predictions: [prediction('a', 'Business'), prediction('b', 'Sports')],
    byKey: new Map(),
    trustSentence: 'Teacher ≈ 90% right.',
    explanations: new Map(),
  };
  const runEvents = new Emitter<unknown>();
  const state = { ensureRun: async () => run, currentRun: async () => run, onDidChangeRun: runEvents.event, indexOf: (document: never) => runState.indexOf(document), log };
  const services = { context: { extensionUri: new FakeUri('/extension') }, log };
  const show = (other: FakeUri, rowId?: string) => LabelReviewPanel.createOrShow(services as never, state as never, other as never, rowId, 2);
  await show(uri);
  const panel = fake.panels[fake.panels.length - 1];
  await panel.send({ type: 'ready', state: null });
  const shown = new Map<string, RowView>();
  const seen = () => {
    for (const message of panel.posted.splice(0)) {
      const rows = message.type === 'init' || message.type === 'rows' ? (message.rows as RowView[]) : [];
      for (const view of rows) shown.set(view.key, view);
    }
    return shown;
  };
  return { panel, seen, show, close: () => LabelReviewPanel.current?.dispose() };
}

test('peerkd.fields.human remapped while the panel is open: the panel shows the rows as the new mapping reads them', async () => {
  const uri = new FakeUri('/work/a/news.jsonl');
  fake.open(uri, [row('a', { gold: 'Sports' }), row('b')].join('\n'));
  const { seen, close } = await openPanel(uri);
  assert.equal(seen().get('a')?.human, null);
  fake.configure({ 'fields.human': 'gold' });
  assert.equal(seen().get('a')?.human, 'Sports', 'row a has a human label in the newly mapped field: shown reviewed, not open to a decision');
  close();
});

test('a setting outside peerkd.fields changes nothing in the panel', async () => {
  const uri = new FakeUri('/work/b/news.jsonl');
  fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, seen, close } = await openPanel(uri);
  seen();
  fake.configure({ 'teacher.model': 'other' });
  assert.deepEqual(panel.posted, []);
  close();
});

test('the file changed on disk while its document was closed: opened again, the panel shows its rows as they are now', async () => {
  const uri = new FakeUri('/work/c/news.jsonl');
  const first = fake.open(uri, [row('a'), row('b')].join('\n'));
  const { seen, close } = await openPanel(uri);
  assert.equal(seen().get('b')?.line, 2);
  fake.close(first);
  // `git checkout` of another version while the tab was closed: b moved to the top and has a human label.
  fake.open(uri, [row('b', { human_label: 'Sports' }), row('a')].join('\n'));
  const rows = seen();
  assert.equal(rows.get('b')?.line, 1);
  assert.equal(rows.get('b')?.human, 'Sports');
  assert.equal(rows.get('a')?.line, 2);
  close();
});

test('two datasets of one name in two workspace folders: the panel names the one it shows by its folder', async () => {
  fake.workspaceFolders.push({ name: 'north', uri: new FakeUri('/work/north') }, { name: 'south', uri: new FakeUri('/work/south') });
  const north = new FakeUri('/work/north/train.jsonl');
  const south = new FakeUri('/work/south/train.jsonl');
  fake.open(north, [row('a'), row('b')].join('\n'));
  fake.open(south, [row('a'), row('b')].join('\n'));
  const first = await openPanel(north);
  assert.equal(first.panel.title, 'Label Review: north/train.jsonl');
  const init = first.panel.posted.find((message) => message.type === 'init');
  assert.equal(init?.datasetName, 'north/train.jsonl');
  first.close();
  const second = await openPanel(south);
  assert.equal(second.panel.title, 'Label Review: south/train.jsonl');
  second.close();
  fake.workspaceFolders.length = 0;
});

test('another dataset shown and the first one shown again: its skips and its undo history are still there', async () => {
  const first = new FakeUri('/work/d/first.jsonl');
  const second = new FakeUri('/work/d/second.jsonl');
  const firstDocument = fake.open(first, [row('a'), row('b')].join('\n'));
  fake.open(second, [row('a'), row('b')].join('\n'));
  const { panel, seen, show, close } = await openPanel(first);
  await panel.send({ type: 'decide', rowId: 'a', decision: { kind: 'skip' } });
  await panel.send({ type: 'decide', rowId: 'b', decision: { kind: 'accept' } });
  assert.equal(seen().get('a')?.skipped, true);
  assert.match(firstDocument.lines[1], /"human_label":"Sports"/);
  // A quick fix's "Open in Label Review" on the other dataset, then back to the first.
  await show(second);
  await show(first);
  await panel.send({ type: 'ready', state: null });
  assert.equal(seen().get('a')?.skipped, true, 'the skip is kept');
  await panel.send({ type: 'undo' });
  assert.equal(firstDocument.lines[1], row('b'), "u undoes the first dataset's last decision");
  await panel.send({ type: 'undo' });
  assert.equal(seen().get('a')?.skipped, false, 'then its skip');
  close();
});

test('"Open in Label Review" on a row the filters hide: the filters are cleared and that row is selected', async () => {
  const uri = new FakeUri('/work/e/news.jsonl');
  fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, show, close } = await openPanel(uri);
  // The user shows only the rows suggested 'Sports' (b), and is on b.
  await panel.send({ type: 'setFilters', requestId: 1, filters: { queue: 'flagged', teacher: '', suggested: 'Sports', minProbability: 0, status: 'all', search: '' } });
  await panel.send({ type: 'viewState', scrollTop: 0, selectedRowId: 'b' });
  panel.posted.length = 0;
  // The quick fix on row a's warning.
  await show(uri, 'a');
  const init = panel.posted.find((message) => message.type === 'init') as { filters: { suggested: string }; selectedRowId: string; view: { order: string[] } } | undefined;
  assert.equal(init?.selectedRowId, 'a');
  assert.equal(init?.filters.suggested, '', 'the filter that hid row a is cleared');
  assert.ok(init?.view.order.includes('a'), 'row a is in the list');
  assert.deepEqual(panel.posted.find((message) => message.type === 'select'), { type: 'select', rowId: 'a' });
  close();
});

test('"Open in Label Review" while the panel is in a background tab: shown again, it selects that row, not the one saved', async () => {
  const uri = new FakeUri('/work/f/news.jsonl');
  fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, show, close } = await openPanel(uri);
  const filters = { queue: 'flagged', teacher: '', suggested: 'Sports', minProbability: 0, status: 'all', search: '' };
  await panel.send({ type: 'setFilters', requestId: 1, filters });
  await panel.send({ type: 'viewState', scrollTop: 0, selectedRowId: 'b' });
  panel.hide();
  await show(uri, 'a');
  panel.posted.length = 0;
  // The webview loads again and says ready with the state it saved before it was torn down.
  await panel.send({ type: 'ready', state: { datasetUri: uri.toString(), filters, scrollTop: 0, selectedRowId: 'b' } });
  const init = panel.posted.find((message) => message.type === 'init') as { filters: { suggested: string }; selectedRowId: string } | undefined;
  assert.equal(init?.selectedRowId, 'a');
  assert.equal(init?.filters.suggested, '');
  close();
});

test('the panel closed and opened again on the same dataset: u still undoes the last decisions, never a line edited since', async () => {
  const uri = new FakeUri('/work/g/news.jsonl');
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const first = await openPanel(uri);
  await first.panel.send({ type: 'decide', rowId: 'a', decision: { kind: 'accept' } });
  await first.panel.send({ type: 'decide', rowId: 'b', decision: { kind: 'accept' } });
  assert.match(document.lines[0], /"human_label":"Business"/);
  assert.match(document.lines[1], /"human_label":"Sports"/);
  // The user closes the panel, then opens Label Review on the same dataset again (a new panel, same window).
  first.close();
  const second = await openPanel(uri);
  const init = second.panel.posted.find((message) => message.type === 'init') as { view: { canUndo: boolean } } | undefined;
  assert.equal(init?.view.canUndo, true, 'the Undo button is enabled');
  await second.panel.send({ type: 'undo' });
  assert.equal(document.lines[1], row('b'), "u undoes the last decision taken before the panel was closed");
  // Row a's line typed over by hand meanwhile: the undo that guards against outside edits still refuses to write it.
  const typed = row('a', { human_label: 'World' });
  fake.type(document, [typed, document.lines[1]]);
  fake.warnings.length = 0;
  await second.panel.send({ type: 'undo' });
  assert.equal(document.lines[0], typed, 'a line edited since is left as it is');
  assert.match(fake.warnings.join('\n'), /line 1 was edited since/);
  second.close();
});

test('a panel closed on one dataset leaves no undo history to another dataset', async () => {
  const first = new FakeUri('/work/h/one.jsonl');
  const other = new FakeUri('/work/h/two.jsonl');
  fake.open(first, [row('a'), row('b')].join('\n'));
  const otherDocument = fake.open(other, [row('a'), row('b')].join('\n'));
  const opened = await openPanel(first);
  await opened.panel.send({ type: 'decide', rowId: 'a', decision: { kind: 'accept' } });
  opened.close();
  const next = await openPanel(other);
  const init = next.panel.posted.find((message) => message.type === 'init') as { view: { canUndo: boolean } } | undefined;
  assert.equal(init?.view.canUndo, false);
  await next.panel.send({ type: 'undo' });
  assert.equal(otherDocument.lines[0], row('a'));
  next.close();
});

test('a quick fix taken while the panel is closed: the panel opened again undoes it with u first, then the panel decision before it', async () => {
  const uri = new FakeUri('/work/q/news.jsonl');
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const first = await openPanel(uri);
  await first.panel.send({ type: 'decide', rowId: 'a', decision: { kind: 'accept' } });
  first.close();
  // "Keep Teacher Label" on row b's warning in the editor, no panel open.
  const runState = new RunState(log as never);
  const run = { runId: 'r1', runDir: '/nowhere', datasetUri: uri, labels: ['World', 'Business', 'Sports'], predictions: [prediction('a', 'Business'), prediction('b', 'Sports')], byKey: new Map(), explanations: new Map() };
  const state = { ensureRun: async () => run, currentRun: async () => run, indexOf: (opened: never) => runState.indexOf(opened), log };
  assert.equal(await decideRow(state as never, uri, 'b', { kind: 'keep' }), true);
  assert.match(document.lines[1], /"human_label":"World"/);
  const decidedA = document.lines[0];
  const second = await openPanel(uri);
  await second.panel.send({ type: 'undo' });
  assert.equal(document.lines[1], row('b'), 'u undoes the quick fix, the last decision on the dataset');
  assert.equal(document.lines[0], decidedA, 'the panel decision before it stays');
  await second.panel.send({ type: 'undo' });
  assert.equal(document.lines[0], row('a'));
  second.close();
});

test("the bulk accept's question answered, by Escape or by Accept: the panel's page is told to take the keys back after it", async () => {
  const uri = new FakeUri('/work/k/news.jsonl');
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, close } = await openPanel(uri);
  panel.posted.splice(0);
  // Dismissed (Escape): nothing written, and VS Code gave the keys to the webview's frame only (the page takes them).
  const asked = fake.warnings.length;
  await panel.send({ type: 'bulkAccept', minProbability: 0.5 });
  assert.match(fake.warnings[asked] ?? '', /^Accept the suggested label on 2 rows\?$/);
  assert.deepEqual(panel.posted.map((message) => message.type), ['takeKeys']);
  assert.equal(document.lines[0], row('a'));
  panel.posted.splice(0);
  fake.answers.push('Accept 2');
  await panel.send({ type: 'bulkAccept', minProbability: 0.5 });
  assert.match(document.lines[0], /"human_label":"Business"/);
  assert.equal(panel.posted.filter((message) => message.type === 'takeKeys').length, 1);
  close();
});

test("a new label's question (the label picker's typed label) answered: the panel's page is told to take the keys back", async () => {
  const uri = new FakeUri('/work/l/news.jsonl');
  fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, close } = await openPanel(uri);
  const asked = fake.warnings.length;
  await panel.send({ type: 'decide', rowId: 'a', decision: { kind: 'set', label: 'Arts' } });
  assert.match(fake.warnings[asked] ?? '', /^'Arts' is not in the label set\.$/);
  assert.ok(panel.posted.some((message) => message.type === 'takeKeys'), JSON.stringify(panel.posted.map((message) => message.type)));
  close();
});

/** Lets the panel settle after a popup hid (LabelReviewPanel.afterPopup waits POPUP_SETTLE_MS) and what follows finish. */
async function afterPopupSettled(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, POPUP_SETTLE_MS * 3));
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The label picker (key n) opened on row `rowId`, as the page asks for it. */
async function openPicker(panel: (typeof fake.panels)[number], rowId: string) {
  const shown = fake.quickPicks.length;
  await panel.send({ type: 'newLabel', rowId });
  const pick = fake.quickPicks[shown];
  assert.ok(pick?.visible, 'the label picker is shown');
  panel.posted.splice(0);
  return pick;
}

const takeKeysCount = (panel: (typeof fake.panels)[number]) => panel.posted.filter((message) => message.type === 'takeKeys').length;

test("the label picker answered with a label: the row gets it and the panel's page is told to take the keys back", async () => {
  const uri = new FakeUri('/work/m/news.jsonl');
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, close } = await openPanel(uri);
  const pick = await openPicker(panel, 'a');
  pick.accept('Sports');
  await afterPopupSettled();
  assert.match(document.lines[0], /"human_label":"Sports"/);
  // VS Code gave the keys back to the webview's frame only when the picker stayed open a moment (under load, always).
  assert.ok(takeKeysCount(panel) >= 1, JSON.stringify(panel.posted.map((message) => message.type)));
  close();
});

test("the label picker dismissed with Escape: nothing written, and the keys are left where VS Code put them (a dismissal may be a click into the terminal)", async () => {
  const uri = new FakeUri('/work/n/news.jsonl');
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, close } = await openPanel(uri);
  const pick = await openPicker(panel, 'a');
  pick.escape();
  await afterPopupSettled();
  assert.equal(document.lines[0], row('a'));
  assert.equal(takeKeysCount(panel), 0, JSON.stringify(panel.posted.map((message) => message.type)));
  close();
});

test('the label picker hidden by a click into another editor: the panel leaves the keys there, also when VS Code says so just after the hide', async () => {
  const uri = new FakeUri('/work/o/news.jsonl');
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const { panel, close } = await openPanel(uri);
  // The dataset's editor made active, then the picker hides (the order VS Code tells them in).
  let pick = await openPicker(panel, 'a');
  panel.activate(false);
  pick.blur();
  await afterPopupSettled();
  assert.equal(takeKeysCount(panel), 0, 'no takeKeys: the page would pull the focus out of the editor the user clicked');
  assert.equal(document.lines[0], row('a'));
  // The other order: the hide is told first, the other editor's activation a moment later.
  panel.activate(true);
  pick = await openPicker(panel, 'a');
  pick.blur();
  await new Promise((resolve) => setImmediate(resolve));
  panel.activate(false);
  await afterPopupSettled();
  assert.equal(takeKeysCount(panel), 0, 'no takeKeys when the activation of the other editor comes just after the hide');
  close();
});
