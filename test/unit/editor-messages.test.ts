/**
 * A dataset's labels, ids, field names and file names reach notifications and quick-input prompts, where VS Code draws
 * `[text](command:…)` as a link whose click runs the command. Run against a stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { stubVscodeModule } from '../support/fakeVscodeModule';

/** VS Code 1.100's src/vs/base/common/linkedText.ts: what notifications and quick inputs turn into links. */
const VSCODE_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
/** VS Code's src/vs/base/browser/ui/iconLabel/iconLabels.ts: `$(name)` is an icon, `\$(name)` the text. */
const VSCODE_ICON = /(\\)?\$\(([A-Za-z0-9-]+(?:~[A-Za-z]+)?)\)/g;

function links(text: string): string[] {
  return [...text.matchAll(VSCODE_LINK)].map((match) => match[2]);
}
function icons(text: string): string[] {
  return [...text.matchAll(VSCODE_ICON)].filter((match) => !match[1]).map((match) => match[2]);
}

const statusItem: { text?: string; tooltip?: { value: string }; show(): void; hide(): void } = { show() {}, hide() {} };
const shown: { kind: string; text: string; rest: unknown[] }[] = [];
let registered: ((...args: unknown[]) => unknown) | undefined;
const fakeVscode = {
  window: {
    showInformationMessage: async (text: string, ...rest: unknown[]) => void shown.push({ kind: 'info', text, rest }),
    showWarningMessage: async (text: string, ...rest: unknown[]) => void shown.push({ kind: 'warning', text, rest }),
    showErrorMessage: async (text: string, ...rest: unknown[]) => void shown.push({ kind: 'error', text, rest }),
    createStatusBarItem: () => statusItem,
    withProgress: async (options: { title: string }, task: (progress: { report(step: { message?: string }): void }, token: unknown) => Promise<unknown>) => {
      shown.push({ kind: 'progress', text: options.title, rest: [options] });
      return task({ report: (step) => void shown.push({ kind: 'progress-step', text: step.message ?? '', rest: [step] }) }, {});
    },
  },
  ProgressLocation: { Notification: 15 },
  StatusBarAlignment: { Left: 1 },
  MarkdownString: class {
    constructor(readonly value: string) {}
  },
  commands: {
    registerCommand: (_id: string, handler: (...args: unknown[]) => unknown) => {
      registered = handler;
      return { dispose() {} };
    },
  },
  workspace: {
    workspaceFolders: [{ uri: { fsPath: '/w' } }],
    getWorkspaceFolder: () => ({ uri: { fsPath: '/w' } }),
    getConfiguration: () => ({ update: async () => undefined }),
  },
  ConfigurationTarget: { Workspace: 2 },
  CodeActionKind: { QuickFix: 'quickfix' },
};
stubVscodeModule(fakeVscode);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const messages = require('../../src/editor/messages') as typeof import('../../src/editor/messages');

const HOSTILE = [
  '[Open the row](command:workbench.action.terminal.new)',
  'see [x](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%20-rf%20~%5Cn%22%7D)',
  '[a](HTTPS://evil.example/x) [b](file:///etc/passwd) [c](http://e.example "title")',
  '[$(warning) Update](command:extension.x)',
];

test('data quoted in a notification never becomes a link VS Code would run or open; the text reads the same', () => {
  for (const data of HOSTILE) {
    assert.ok(links(`PeerKD: row '${data}' not labelled`).length > 0, `the oracle sees the link in ${data}`);
    const inert = messages.inertLinks(`PeerKD: row '${data}' not labelled`);
    assert.deepEqual(links(inert), [], inert);
    assert.equal(inert.replace(/\] \(/g, ']('), `PeerKD: row '${data}' not labelled`, 'only the space between ] and ( is added');
  }
  // Brackets that are no link stay as they are.
  assert.equal(messages.inertLinks("label 'a[1](2)' and [x](y)"), "label 'a[1](2)' and [x](y)");
});

test('a label in the label picker (a quick pick item) shows bidi controls and an invisible label as escapes, $( as text; a plain label as written', () => {
  assert.equal(messages.pickLabel('W\u202eevil $(bug)'), 'W\\u202eevil \\$(bug)');
  assert.equal(messages.pickLabel('\u200b'), '\\u200b');
  assert.equal(messages.pickLabel('Sci/Tech [x](y) «été»'), 'Sci/Tech [x](y) «été»');
  // The panel's picker uses it, for the items and the row's labels in the placeholder.
  const panel = readFileSync(path.join(__dirname, '..', '..', 'src', 'webview', 'labelReviewPanel.ts'), 'utf8');
  assert.match(panel, /label: pickLabel\(choice\.label\)/);
  assert.match(panel, /pick\.placeholder = `\$\{row\.teacher === null \? 'No teacher label' : `Teacher '\$\{shownLabel\(row\.teacher\)\}'`\}, suggested '\$\{shownLabel\(row\.suggested\)\}'/);
});

test("a quick pick item shows $(…) in a label as text, not as an icon", () => {
  const label = messages.iconsAsText('$(sync~spin) World $(x)');
  assert.deepEqual(icons(label), []);
  assert.equal(label, '\\$(sync~spin) World \\$(x)');
});

test('the notification functions break the links of the message they show; a modal dialog (plain text) is left as written', async () => {
  shown.length = 0;
  await messages.showErrorMessage(`PeerKD: ${HOSTILE[0]}`, 'Open Log');
  await messages.showWarningMessage(`PeerKD: ${HOSTILE[1]}`);
  await messages.showInformationMessage(`PeerKD: ${HOSTILE[2]}`, { modal: false }, 'OK');
  await messages.showWarningMessage(`'${HOSTILE[0]}' is not in the label set.`, { modal: true, detail: 'd' }, 'Use New Label');
  assert.deepEqual(shown.map((entry) => [entry.kind, links(entry.text).length, entry.rest]), [
    ['error', 0, ['Open Log']],
    ['warning', 0, []],
    ['info', 0, [{ modal: false }, 'OK']],
    ['warning', 1, [{ modal: true, detail: 'd' }, 'Use New Label']],
  ]);
});

test('a bidirectional control quoted in a notification or a modal dialog shows as its escape', async () => {
  shown.length = 0;
  await messages.showWarningMessage("PeerKD: row 'a\u202eb' not labelled.");
  await messages.showWarningMessage("'x\u2067y' is not in the label set.", { modal: true, detail: "Write 'x\u2067y' anyway?" }, 'Use New Label');
  assert.deepEqual(
    shown.map((entry) => [entry.text, entry.rest]),
    [
      ["PeerKD: row 'a\\u202eb' not labelled.", []],
      ["'x\\u2067y' is not in the label set.", [{ modal: true, detail: "Write 'x\\u2067y' anyway?" }, 'Use New Label']],
    ],
  );
});

test("a field name from the dataset ('Use … as the text field') is quoted in the notification without becoming a link", async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { registerUseFieldCommand } = require('../../src/editor/fieldFixes') as typeof import('../../src/editor/fieldFixes');
  registerUseFieldCommand();
  shown.length = 0;
  const field = '[Reload](command:workbench.action.terminal.new)';
  assert.equal(await registered!({ fsPath: '/w/data.jsonl' }, { field: 'text', path: field, title: 't' }), true);
  assert.equal(shown.length, 1);
  assert.match(shown[0].text, /peerkd\.fields\.text is now '\[Reload\] \(command:workbench\.action\.terminal\.new\)'/);
  assert.deepEqual(links(shown[0].text), []);
});

test("a progress notification's title and messages (the file name, the encoder a setting names) are guarded as a notification's", async () => {
  shown.length = 0;
  const result = await messages.withNotificationProgress({ title: `PeerKD: distilling ${HOSTILE[0]}.jsonl`, cancellable: true }, async (progress) => {
    progress.report({ message: 'Encoding rows with static:[x](command:workbench.action.terminal.new)/\u202eevil · 1/2', increment: 5 });
    progress.report({ increment: 1 });
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(shown.map((entry) => [entry.kind, links(entry.text).length]), [
    ['progress', 0],
    ['progress-step', 0],
    ['progress-step', 0],
  ]);
  assert.deepEqual(shown[0].rest, [{ location: 15, title: 'PeerKD: distilling [Open the row] (command:workbench.action.terminal.new).jsonl', cancellable: true }]);
  assert.deepEqual(shown[1].rest, [{ message: 'Encoding rows with static:[x] (command:workbench.action.terminal.new)/\\u202eevil · 1/2', increment: 5 }]);
  assert.deepEqual(shown[2].rest, [{ increment: 1 }]);
});

test('no editor module calls VS Code\'s notification functions but through src/editor/messages.ts', () => {
  const root = path.join(__dirname, '..', '..', 'src');
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const file = path.join(dir, name);
      return statSync(file).isDirectory() ? files(file) : file.endsWith('.ts') ? [file] : [];
    });
  const direct = files(root)
    .filter((file) => !file.endsWith(path.join('editor', 'messages.ts')))
    .filter((file) => /\bwindow\s*\.\s*(show(Information|Warning|Error)Message|withProgress)\b/.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(root, file));
  assert.deepEqual(direct, []);
});

test("the status bar's tooltip (markdown) shows a dataset's file name as text: no link, image or emphasis from the name", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DistillationStatusBar } = require('../../src/editor/statusBar') as typeof import('../../src/editor/statusBar');
  const bar = new DistillationStatusBar();
  bar.start('k', '![x](command:a.b) [y](command:c.d) **bold**.jsonl');
  bar.start('k2', '$(bug) data.jsonl');
  assert.equal(statusItem.text, '$(sync~spin) PeerKD: \\$(bug) data.jsonl (+1)');
  assert.deepEqual(icons(statusItem.text!), ['sync~spin'], 'only the spinner is an icon');
  bar.finish('k2');
  const tooltip = statusItem.tooltip!.value;
  assert.ok(tooltip.startsWith('**\\!\\[x\\]\\(command:a\\.b\\) \\[y\\]\\(command:c\\.d\\) \\*\\*bold\\*\\*\\.jsonl**: starting…'), tooltip);
  // The progress names the encoder, a setting's text (static:<folder>, the endpoint's model): text in markdown too.
  bar.update('k', { phase: 'featurize', fraction: 0.1, encoder: 'static:![](https://evil.example/p.png)', encoded: 1, toEncode: 2 } as never);
  assert.doesNotMatch(statusItem.tooltip!.value, /!\[\]\(/);
  assert.ok(statusItem.tooltip!.value.includes(String.raw`Encoding rows with static:\!\[\]\(https://evil\.example/p\.png\) · 1/2`), statusItem.tooltip!.value);
});
