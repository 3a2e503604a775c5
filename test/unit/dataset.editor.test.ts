/**
 * The editor glue (diagnostics and "PeerKD: Validate Dataset") against a small in-process stand-in for the parts of
 * the `vscode` API it uses. The real editor is exercised by the code-server end-to-end test; this one checks the
 * behaviour that is hard to see there: debouncing, incremental updates, clearing on close, settings changes.
 */
import { test, mock, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { EventLoopTurns } from '../support/eventLoopTurns';

// ---- a minimal vscode --------------------------------------------------------------------------------------------

type Listener<T> = (value: T) => void;
class Emitter<T> {
  listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const listener of this.listeners) listener(value);
  }
}

class Uri {
  constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}
class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
    this.start = new Position(startLine, startCharacter);
    this.end = new Position(endLine, endCharacter);
  }
}
enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
}
class Diagnostic {
  source?: string;
  code?: string;
  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: DiagnosticSeverity,
  ) {}
}

/** A text document whose lines are split as the editor splits them, with edits reported as change events. */
class FakeDocument {
  lines: string[];
  version = 1;
  constructor(
    readonly uri: Uri,
    text: string,
    readonly languageId = 'jsonl',
  ) {
    this.lines = text.split(/\r\n|\r|\n/);
  }
  get lineCount(): number {
    return this.lines.length;
  }
  lineAt(index: number): { text: string } {
    if (index < 0 || index >= this.lines.length) throw new Error(`Illegal line ${index}`);
    return { text: this.lines[index] };
  }
  getText(): string {
    return this.lines.join('\n');
  }
  /** Replaces a range and tells the listeners, as the editor does after each keystroke. */
  edit(startLine: number, startChar: number, endLine: number, endChar: number, text: string): void {
    const before = this.lines[startLine].slice(0, startChar);
    const afterText = this.lines[endLine].slice(endChar);
    const inserted = (before + text + afterText).split('\n');
    this.lines.splice(startLine, endLine - startLine + 1, ...inserted);
    this.version++;
    workspaceEvents.change.fire({
      document: this,
      contentChanges: [{ range: new Range(startLine, startChar, endLine, endChar), text }],
    });
  }
}

const published = new Map<string, Diagnostic[]>();
const configuration: Record<string, unknown> = {};
const messages: { kind: string; text: string; items: string[] }[] = [];
const executed: string[] = [];
const commands = new Map<string, (...args: unknown[]) => unknown>();
const workspaceEvents = {
  open: new Emitter<FakeDocument>(),
  close: new Emitter<FakeDocument>(),
  change: new Emitter<{ document: FakeDocument; contentChanges: { range: Range; text: string }[] }>(),
  configuration: new Emitter<{ affectsConfiguration: (section: string) => boolean }>(),
};
const textDocuments: FakeDocument[] = [];
let activeTextEditor: { document: FakeDocument } | undefined;
class TabInputWebview {
  constructor(readonly viewType: string) {}
}
class TabInputText {
  constructor(readonly uri: Uri) {}
}
/** The active tab's input (a focused Label Review panel is a webview tab, and leaves no active text editor). */
let activeTabInput: unknown;
let openDialogResult: Uri[] | undefined;
/** The progress notifications shown (their options), and the cancellation token the next one hands its task. */
const progressShown: { title?: string; cancellable?: boolean }[] = [];
let progressToken = { isCancellationRequested: false };

const fakeVscode = {
  Uri,
  Range,
  Position,
  Diagnostic,
  DiagnosticSeverity,
  TabInputWebview,
  TabInputText,
  ProgressLocation: { Notification: 15 },
  languages: {
    createDiagnosticCollection: () => ({
      set: (uri: Uri, diagnostics: Diagnostic[]) => published.set(uri.toString(), diagnostics),
      delete: (uri: Uri) => published.delete(uri.toString()),
      dispose: () => published.clear(),
    }),
  },
  workspace: {
    onDidOpenTextDocument: workspaceEvents.open.event,
    onDidCloseTextDocument: workspaceEvents.close.event,
    onDidChangeTextDocument: workspaceEvents.change.event,
    onDidChangeConfiguration: workspaceEvents.configuration.event,
    get textDocuments() {
      return textDocuments;
    },
    getConfiguration: () => ({ get: (key: string) => configuration[key] }),
    asRelativePath: (uri: Uri) => uri.path.split('/').pop(),
    fs: { readFile: async () => new Uint8Array() },
  },
  window: {
    get activeTextEditor() {
      return activeTextEditor;
    },
    tabGroups: {
      get activeTabGroup() {
        return { activeTab: activeTabInput === undefined ? undefined : { input: activeTabInput } };
      },
    },
    showOpenDialog: async () => openDialogResult,
    withProgress: async (options: { title?: string; cancellable?: boolean }, task: (progress: unknown, token: unknown) => Promise<unknown>) => {
      progressShown.push(options);
      return task({ report: () => undefined }, progressToken);
    },
    showInformationMessage: async (text: string, ...items: string[]) => {
      messages.push({ kind: 'info', text, items });
      return undefined;
    },
    showWarningMessage: async (text: string, ...items: string[]) => {
      messages.push({ kind: 'warning', text, items });
      return items[0];
    },
    showErrorMessage: async (text: string, ...items: string[]) => {
      messages.push({ kind: 'error', text, items });
      return items[0];
    },
  },
  commands: {
    registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
      commands.set(id, handler);
      return { dispose: () => commands.delete(id) };
    },
    executeCommand: async (id: string) => {
      executed.push(id);
    },
  },
};

const logged: string[] = [];
const services = {
  context: {},
  log: {
    info: (text: string) => logged.push(`info ${text}`),
    error: (text: string) => logged.push(`error ${text}`),
    warn: (text: string) => logged.push(`warn ${text}`),
    debug: (text: string) => logged.push(`debug ${text}`),
  },
};

stubVscodeModule(fakeVscode);

// ---- the tests ---------------------------------------------------------------------------------------------------

type Glue = typeof import('../../src/editor/datasetDiagnostics.js');
type Command = typeof import('../../src/commands/validateDataset.js');
let glue: Glue;
let command: Command;
let diagnostics: ReturnType<Glue['registerDatasetDiagnostics']>;
let dir: string;

before(async () => {
  glue = await import('../../src/editor/datasetDiagnostics.js');
  command = await import('../../src/commands/validateDataset.js');
  dir = mkdtempSync(join(tmpdir(), 'peerkd-editor-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout'] });
  published.clear();
  messages.length = 0;
  executed.length = 0;
  textDocuments.length = 0;
  activeTextEditor = undefined;
  for (const key of Object.keys(configuration)) delete configuration[key];
  configuration.labels = ['World', 'Sports'];
});

afterEach(() => {
  mock.timers.reset();
});

function start(): void {
  diagnostics?.dispose();
  diagnostics = glue.registerDatasetDiagnostics(services as never);
}

function open(document: FakeDocument): void {
  textDocuments.push(document);
  workspaceEvents.open.fire(document);
}

/** Each diagnostic shown: its range, code, severity and words. */
function shownWithMessages(uri: Uri): [number, number, number, string | undefined, string, string][] {
  return (published.get(uri.toString()) ?? []).map((d) => [d.range.start.line, d.range.start.character, d.range.end.character, d.code, d.message, DiagnosticSeverity[d.severity]]);
}

function shown(uri: Uri): [number, number, number, string | undefined, string, string | undefined][] {
  return (published.get(uri.toString()) ?? []).map((d) => [
    d.range.start.line,
    d.range.start.character,
    d.range.end.character,
    d.code,
    DiagnosticSeverity[d.severity],
    d.source,
  ]);
}

test('an opened JSONL document gets diagnostics with code, severity, source and the value’s range', () => {
  start();
  const uri = Uri.file('/data/a.jsonl');
  open(new FakeDocument(uri, '{"id": 1, "text": "ok", "teacher_label": "Sprots"}\n{"id": 1, "text": ""}\n[1]\n'));
  assert.equal(published.has(uri.toString()), false); // validation is scheduled, not run inside the event
  mock.timers.tick(0);
  assert.deepEqual(shown(uri), [
    [0, 41, 49, 'unknown-label', 'Warning', 'PeerKD'],
    [1, 18, 20, 'empty-text', 'Error', 'PeerKD'],
    [1, 7, 8, 'duplicate-id', 'Warning', 'PeerKD'],
    [2, 0, 3, 'not-an-object', 'Error', 'PeerKD'],
    // What a run would say of the file as a whole, on the first row the message names (here: the first row).
    [0, 0, 50, 'run-check', 'Warning', 'PeerKD (run)'],
    [0, 0, 50, 'run-check', 'Error', 'PeerKD (run)'],
  ]);
  assert.equal(
    published.get(uri.toString())?.[0].message,
    "Teacher label 'Sprots' (field teacher_label) is not in the label set: World, Sports",
  );
  assert.deepEqual(
    published.get(uri.toString())?.slice(4).map((d) => d.message),
    [
      "2 label(s) of the configured label set (setting peerkd.labels or --labels) are on no row: 'World', 'Sports'; the students never see them, so no row is ever suggested one",
      "only 0 row(s) have a teacher label (field teacher_label) or a human label (field human_label) in the label set, fewer than the 2 folds; 1 teacher label(s) are not in the configured label set (World, Sports), e.g. 'Sprots' on line 1: check the label set (setting peerkd.labels or --labels)",
    ],
  );
});

test('a label problem on every row (every teacher label a number) is one diagnostic for the file, not one per row', () => {
  start();
  const uri = Uri.file('/data/numbers.jsonl');
  const text = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i}`, teacher_label: i % 2 })).join('\n') + '\n';
  open(new FakeDocument(uri, text));
  mock.timers.tick(0);
  assert.deepEqual(shown(uri).filter(([, , , code]) => code !== 'run-check'), [[0, 42, 43, 'label-not-string', 'Warning', 'PeerKD']]);
  assert.match(published.get(uri.toString())?.[0].message ?? '', /and so is every teacher label of the file \(20 rows; shown once\): write each label as a JSON string$/);
  // A run refuses such a file: said as it says it, as an error.
  assert.match(published.get(uri.toString())?.[1].message ?? '', /^no teacher label \(field teacher_label\) is a string: 20 are numbers/);
  assert.equal(published.get(uri.toString())?.[1].severity, DiagnosticSeverity.Error);
});

test('documents that are not JSONL, or not in a file the user edits, are left alone', () => {
  start();
  open(new FakeDocument(Uri.file('/data/a.json'), '[1]', 'json'));
  open(new FakeDocument(new Uri('git', '/data/a.jsonl'), '[1]'));
  open(new FakeDocument(Uri.file('/data/b.txt'), '[1]', 'jsonl')); // languageId jsonl counts
  mock.timers.tick(0);
  assert.deepEqual([...published.keys()], ['file:///data/b.txt']);
});

test('typing is debounced: diagnostics update 300 ms after the last change, re-parsing only the changed lines', () => {
  start();
  const uri = Uri.file('/data/typing.jsonl');
  // Both labels of the set, so that a run has nothing to say of the file as a whole (no run-check line is read).
  const rows = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i, text: `row ${i}`, teacher_label: i === 2 || i % 2 === 1 ? 'World' : 'Sports' }));
  const document = new FakeDocument(uri, rows.join('\n'));
  open(document);
  mock.timers.tick(0);
  assert.deepEqual(shown(uri), []);
  const lineAt = mock.method(document, 'lineAt');

  // Type a typo into line 3's label, one character at a time ("World" -> "Wrld" -> "Wxrld").
  const line = document.lines[2];
  const o = line.indexOf('World') + 1;
  document.edit(2, o, 2, o + 1, '');
  mock.timers.tick(200);
  document.edit(2, o, 2, o, 'x');
  mock.timers.tick(299);
  assert.deepEqual(shown(uri), []); // still within the debounce of the last keystroke
  mock.timers.tick(1);
  assert.deepEqual(
    shown(uri).map(([lineNumber, , , code]) => [lineNumber, code]),
    [[2, 'unknown-label']],
  );
  assert.equal(lineAt.mock.callCount(), 1, 'only the edited line is read and parsed again');

  // Insert a line at the top: the warning moves down with its row; the inserted line duplicates id 0.
  lineAt.mock.resetCalls();
  document.edit(0, 0, 0, 0, '{"id": 0, "text": "new"}\n');
  mock.timers.tick(300);
  assert.deepEqual(
    shown(uri).map(([lineNumber, , , code]) => [lineNumber, code]),
    [
      [1, 'duplicate-id'],
      [3, 'unknown-label'],
    ],
  );
  // The two lines touched by the edit, plus the repeated row's line read again to place its warning.
  assert.equal(lineAt.mock.callCount(), 3);
});

test('closing a document clears its diagnostics and stops a pending validation', () => {
  start();
  const uri = Uri.file('/data/close.jsonl');
  const document = new FakeDocument(uri, '[1]');
  open(document);
  mock.timers.tick(0);
  // The line, and a run's error: no line is a row.
  assert.deepEqual(shown(uri).map(([, , , code]) => code), ['not-an-object', 'run-check']);
  document.edit(0, 0, 0, 3, '[2]');
  workspaceEvents.close.fire(document);
  assert.equal(published.has(uri.toString()), false);
  mock.timers.tick(1000);
  assert.equal(published.has(uri.toString()), false);
});

test('changing peerkd.labels or peerkd.fields re-validates open documents; other settings do not', () => {
  start();
  const uri = Uri.file('/data/settings.jsonl');
  const document = new FakeDocument(uri, '{"body": "x", "teacher_label": "Business"}');
  open(document);
  mock.timers.tick(0);
  assert.deepEqual(
    shown(uri).map(([, , , code]) => code),
    ['missing-text-field', 'unknown-label'],
  );
  configuration['fields.text'] = 'body';
  configuration.labels = [];
  workspaceEvents.configuration.fire({ affectsConfiguration: (section) => section === 'peerkd.teacher' });
  mock.timers.tick(0);
  assert.equal(shown(uri).length, 2);
  workspaceEvents.configuration.fire({ affectsConfiguration: (section) => section === 'peerkd.fields' });
  mock.timers.tick(0);
  // The row's own problems are gone; a run would still stop on the file's one label.
  assert.deepEqual(shown(uri).map(([, , , code, severity]) => [code, severity]), [['run-check', 'Error']]);
  assert.match(published.get(uri.toString())?.[0].message ?? '', /^every label in the dataset is 'Business' \(first on line 1\)/);
  // peerkd.training.folds is what a run checks the labelled rows against: changing it validates again. A row of the
  // set's other label first: under a label set of two, rows of one label are refused as without it ('every label on
  // the rows is …'), before the folds are counted.
  document.edit(0, 42, 0, 42, '\n{"body": "y", "teacher_label": "World"}');
  configuration.labels = ['Business', 'World'];
  configuration['training.folds'] = 3;
  workspaceEvents.configuration.fire({ affectsConfiguration: (section) => section === 'peerkd.training.folds' });
  mock.timers.tick(0);
  assert.match(published.get(uri.toString())?.map((d) => d.message).join('\n') ?? '', /fewer than the 3 folds/);
  // An invalid field path is logged, and the last good settings stay in force.
  configuration['fields.text'] = 'a..b';
  workspaceEvents.configuration.fire({ affectsConfiguration: (section) => section === 'peerkd.fields' });
  mock.timers.tick(0);
  assert.match(logged[logged.length - 1], /Invalid peerkd.fields setting: Invalid field path 'a..b'/);
});

test('Validate Dataset streams a file that is not open, publishes its problems and offers the Problems view', async () => {
  start();
  mock.timers.reset();
  const registration = command.registerValidateDatasetCommand(services as never, diagnostics);
  const path = join(dir, 'closed.jsonl');
  writeFileSync(path, '{"id": "a", "text": "one", "teacher_label": "World"}\r\n{"id": "a", "text": ""}\r\n{broken\r\n');
  // The label set the test before left (said here): its rows are of one label of it, which a run refuses as it
  // refuses them without a label set (it counted the folds instead, and went on where there were enough rows).
  configuration.labels = ['Business', 'World'];
  const summary = await commands.get('peerkd.validateDataset')?.(Uri.file(path));
  // The lines' problems, then what a run would say of the file (rows of one label: it stops there).
  assert.deepEqual(summary, { uri: `file://${path}`, rows: 2, errors: 3, warnings: 1 });
  assert.deepEqual(
    shown(Uri.file(path)).map(([lineNumber, column, , code, severity]) => [lineNumber, column, code, severity]),
    [
      [1, 20, 'empty-text', 'Error'],
      [1, 7, 'duplicate-id', 'Warning'],
      [2, 1, 'invalid-json', 'Error'],
      [0, 0, 'run-check', 'Error'],
    ],
  );
  assert.match(published.get(Uri.file(path).toString())?.[3].message ?? '', /^every label on the rows is 'World' \(first on line 1\), though the label set \(setting peerkd\.labels or --labels\) names 2/);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(messages, [{ kind: 'error', text: 'PeerKD: closed.jsonl: 2 rows, 3 errors, 1 warning.', items: ['Open Problems'] }]);
  assert.deepEqual(executed, ['workbench.actions.view.problems']);
  registration.dispose();
});

test('Validate Dataset of a file that is not open says which field or label setting it could not use (a list written as one string)', async () => {
  start();
  mock.timers.reset();
  const registration = command.registerValidateDatasetCommand(services as never, diagnostics);
  const path = join(dir, 'closed-settings.jsonl');
  writeFileSync(path, '{"text": "one", "teacher_label": "World"}\n');
  configuration.labels = 'World, Sports';
  configuration['fields.id'] = 42;
  messages.length = 0;
  logged.length = 0;
  try {
    await commands.get('peerkd.validateDataset')?.(Uri.file(path));
  } finally {
    delete configuration.labels;
    delete configuration['fields.id'];
    registration.dispose();
  }
  const expected = [
    'setting peerkd.fields.id 42 was ignored (a number, not a string): "id" is used instead',
    'setting peerkd.labels is a string, not a list — write the labels as a JSON list of strings (["World","Sports"])',
  ];
  assert.deepEqual(messages.filter((message) => message.kind === 'warning').map((message) => message.text), expected.map((line) => `PeerKD: ${line}.`));
  assert.deepEqual(logged.filter((line) => line.startsWith('warn ')), expected.map((line) => `warn ${line}`));
});

test('Validate Dataset uses the active editor (unsaved text included), else asks for a file', async () => {
  start();
  mock.timers.reset();
  const registration = command.registerValidateDatasetCommand(services as never, diagnostics);
  const uri = Uri.file('/data/open.jsonl');
  // Over 30 rows of each label: a file a run has nothing to say about as a whole (a smaller one has too few rows per label).
  const more = Array.from({ length: 61 }, (_, i) => JSON.stringify({ text: `row ${i} words`, teacher_label: i < 30 ? 'Sports' : 'World' }));
  const document = new FakeDocument(uri, ['{"text": "fine", "teacher_label": "Sports"}', ...more, ''].join('\n'));
  open(document);
  activeTextEditor = { document };
  // An unsaved edit whose debounced validation has not run yet: the command validates it at once.
  document.edit(0, 10, 0, 14, '');
  const summary = await commands.get('peerkd.validateDataset')?.();
  assert.deepEqual(summary, { uri: uri.toString(), rows: 62, errors: 1, warnings: 0 });
  assert.deepEqual(shown(uri).map(([, , , code]) => code), ['empty-text']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(messages, [{ kind: 'error', text: 'PeerKD: open.jsonl: 62 rows, 1 error, 0 warnings.', items: ['Open Problems'] }]);

  document.edit(0, 10, 0, 10, 'fine');
  messages.length = 0;
  assert.deepEqual(await commands.get('peerkd.validateDataset')?.(), { uri: uri.toString(), rows: 62, errors: 0, warnings: 0 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(messages, [{ kind: 'info', text: 'PeerKD: open.jsonl: 62 rows, 0 errors, 0 warnings. No problems found.', items: [] }]);

  activeTextEditor = undefined;
  openDialogResult = undefined; // the user cancels the picker
  assert.equal(await commands.get('peerkd.validateDataset')?.(), undefined);

  // With the Label Review panel focused (issue 10 §3.1), the command takes the panel's dataset, not the picker.
  const datasetTarget = await import('../../src/commands/datasetTarget.js');
  datasetTarget.setLabelReviewDatasetSource('peerkd.labelReview', () => uri as never);
  activeTabInput = new TabInputWebview('mainThreadWebview-peerkd.labelReview');
  openDialogResult = [Uri.file('/elsewhere.jsonl')];
  assert.deepEqual(await commands.get('peerkd.validateDataset')?.(), { uri: uri.toString(), rows: 62, errors: 0, warnings: 0 });
  activeTabInput = new TabInputWebview('mainThreadWebview-other.view');
  openDialogResult = undefined;
  assert.equal(await commands.get('peerkd.validateDataset')?.(), undefined, 'another webview focused: the picker asks');
  activeTabInput = undefined;
  datasetTarget.setLabelReviewDatasetSource('peerkd.labelReview', () => undefined);

  const missing = join(dir, 'missing.jsonl');
  openDialogResult = [Uri.file(missing)];
  assert.equal(await commands.get('peerkd.validateDataset')?.(), undefined);
  await new Promise((resolve) => setImmediate(resolve));
  assert.match(messages[messages.length - 1].text, /^PeerKD could not validate missing.jsonl: ENOENT/);
  assert.match(logged[logged.length - 1], /^error Could not validate missing.jsonl: ENOENT/);
  registration.dispose();
});

test('Validate Dataset of a large open document streams its text under a cancellable progress, giving the event loop back', async () => {
  start();
  const registration = command.registerValidateDatasetCommand(services as never, diagnostics);
  const uri = Uri.file('/data/big-open.jsonl');
  const rows = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: i, text: i === 12_345 ? '' : `row ${i} words`, teacher_label: i % 2 ? 'World' : 'Sports' }));
  const document = new FakeDocument(uri, rows.join('\n'));
  open(document);
  activeTextEditor = { document };
  // Counts the turns of the event loop while the command runs (the document's own validation waits on a mocked timer).
  const loop = new EventLoopTurns();
  try {
    progressShown.length = 0;
    loop.start();
    const summary = await commands.get('peerkd.validateDataset')?.();
    const turns = loop.stop();
    assert.deepEqual(summary, { uri: uri.toString(), rows: 20_000, errors: 1, warnings: 0 });
    assert.deepEqual(progressShown, [{ location: 15, title: 'Validating big-open.jsonl', cancellable: true }]);
    assert.ok(turns >= 10, `the event loop turned ${turns} times while 20,000 rows were validated`);
    assert.deepEqual(shown(uri), [[12_345, 19, 21, 'empty-text', 'Error', 'PeerKD']]);

    // Cancelled from the notification: nothing is summed up.
    messages.length = 0;
    logged.length = 0;
    progressToken = { isCancellationRequested: false };
    const token = progressToken;
    setImmediate(() => (token.isCancellationRequested = true));
    assert.equal(await commands.get('peerkd.validateDataset')?.(), undefined);
    assert.deepEqual(logged, ['info Validation of big-open.jsonl cancelled']);
    progressToken = { isCancellationRequested: false };

    // Edited while it runs: the summary is of the text it started on; what it found is not shown over the new text
    // (the document's own validation after the edit shows that).
    published.clear();
    setImmediate(() => document.edit(0, 0, 0, 0, '[]\n'));
    assert.deepEqual(await commands.get('peerkd.validateDataset')?.(), { uri: uri.toString(), rows: 20_000, errors: 1, warnings: 0 });
    assert.equal(published.has(uri.toString()), false);
  } finally {
    loop.stop();
    progressToken = { isCancellationRequested: false };
    activeTextEditor = undefined;
    registration.dispose();
    // Clears the document's own validations, still waiting on mocked timers.
    diagnostics.dispose();
  }
});


/**
 * Ticks the mocked timers and gives the event loop turns until `done`. The file's bytes are read in the thread pool,
 * which takes as long as the machine makes it: bounded by time (a deadline that only keeps a broken run from hanging),
 * not by a count of turns (2,000 turns passed before the read on a loaded CI machine, and the test failed there).
 */
async function tickUntil(done: () => boolean, deadlineMs = 30_000): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!done() && performance.now() < deadline) {
    mock.timers.tick(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('Validate Dataset of an open file without unsaved edits names bytes that are not UTF-8, as for the closed file; of an edited one, not', async () => {
  start();
  const registration = command.registerValidateDatasetCommand(services as never, diagnostics);
  const path = join(dir, 'latin1-open.jsonl');
  const rows = Array.from({ length: 61 }, (_, i) => JSON.stringify({ text: `row ${i} words`, teacher_label: i < 30 ? 'Sports' : 'World' }));
  writeFileSync(path, Buffer.concat([Buffer.from(rows.slice(0, 3).join('\n') + '\n{"text": "caf'), Buffer.from([0xe9]), Buffer.from(`", "teacher_label": "World"}\n${rows.slice(3).join('\n')}\n`)]));
  const closed = await commands.get('peerkd.validateDataset')?.(Uri.file(path));
  const closedShown = shownWithMessages(Uri.file(path));
  assert.match(closedShown.map((d) => d[4]).join('\n'), /line 4 holds bytes that are not valid UTF-8/);
  // Open, the editor shows the byte as U+FFFD: the same findings, the line of the bytes named.
  const document = Object.assign(new FakeDocument(Uri.file(path), readFileSync(path, 'utf8')), { isDirty: false });
  published.delete(Uri.file(path).toString());
  open(document);
  try {
    // The document's own diagnostics say it too (the file read once for it), as Validate Dataset and a run do.
    await tickUntil(() => /not valid UTF-8/.test(shownWithMessages(Uri.file(path)).map((d) => d[4]).join('\n')));
    assert.deepEqual(shownWithMessages(Uri.file(path)), closedShown);
    assert.deepEqual(await commands.get('peerkd.validateDataset')?.(Uri.file(path)), closed);
    assert.match(published.get(Uri.file(path).toString())?.map((d) => d.message).join('\n') ?? '', /line 4 holds bytes that are not valid UTF-8/);
    // With unsaved edits the text is no longer the file's: its bytes are not read.
    document.isDirty = true;
    const edited = (await commands.get('peerkd.validateDataset')?.(Uri.file(path))) as { warnings: number };
    assert.equal(edited.warnings, (closed as { warnings: number }).warnings - 1);
    assert.doesNotMatch(published.get(Uri.file(path).toString())?.map((d) => d.message).join('\n') ?? '', /not valid UTF-8/);
  } finally {
    registration.dispose();
    diagnostics.dispose();
  }
});

test("an open document whose file on disk has bytes that are not UTF-8 past the document's end (not reloaded yet) keeps the run's other findings", async () => {
  start();
  const path = join(dir, 'grown-on-disk.jsonl');
  const uri = Uri.file(path);
  // The document: a real U+FFFD in a text, and a row without a word (a run finding). The file: more lines since, the
  // last with a byte that is not UTF-8.
  const rows = Array.from({ length: 61 }, (_, i) => JSON.stringify({ text: i === 60 ? '!!! ???' : `row ${i} words \ufffd`, teacher_label: i < 30 ? 'Sports' : 'World' }));
  writeFileSync(path, Buffer.concat([Buffer.from(rows.join('\n') + '\n' + rows.join('\n') + '\n{"text": "caf'), Buffer.from([0xe9]), Buffer.from('", "teacher_label": "World"}\n')]));
  open(Object.assign(new FakeDocument(uri, rows.join('\n')), { isDirty: false }));
  try {
    const messages = () => shownWithMessages(uri).map((d) => d[4]).join('\n');
    await tickUntil(() => /not valid UTF-8/.test(messages()));
    assert.match(messages(), /line 123 holds bytes that are not valid UTF-8/);
    assert.match(messages(), /1 row\(s\) have no word in their text/);
    assert.deepEqual(logged.filter((line) => line.startsWith('error')), []);
  } finally {
    diagnostics.dispose();
  }
});

test('Validate Dataset of a file whose every teacher label differs from peerkd.labels by case or white space: one finding, closed as open', async () => {
  start();
  const registration = command.registerValidateDatasetCommand(services as never, diagnostics);
  const path = join(dir, 'look-alike-labels.jsonl');
  const uri = Uri.file(path);
  // peerkd.labels is World, Sports: every teacher label is one of them written otherwise.
  const rows = Array.from({ length: 61 }, (_, i) => JSON.stringify({ text: `row ${i} words`, teacher_label: i < 30 ? 'sports' : 'World ' }));
  writeFileSync(path, rows.join('\n') + '\n');
  // Line, columns, code, severity, source and words (a run's finding marks its line's text, open or closed).
  const findings = () =>
    (published.get(uri.toString()) ?? []).map((d) => [d.range.start.line, d.code, DiagnosticSeverity[d.severity], d.source, d.message, d.range.start.character, d.range.end.line, d.range.end.character]);
  const closedSummary = await commands.get('peerkd.validateDataset')?.(uri);
  const closed = findings();
  const labelFindings = closed.filter(([, code]) => code === 'unknown-label');
  assert.equal(labelFindings.length, 1, 'one finding for the 61 rows, not one per row');
  assert.match(String(labelFindings[0][4]), /^Teacher label 'sports' \(field teacher_label\) is not in the label set: World, Sports.* — and so is every teacher label of the file \(61 rows; shown once\)/);
  // The run's findings (source PeerKD run check) mark their line's text, not a point at its start.
  const runFindings = closed.filter(([, code]) => code === 'run-check');
  assert.ok(runFindings.length > 0);
  for (const [line, , , , , start, endLine, end] of runFindings) assert.deepEqual([start, endLine, end], [0, line, rows[Number(line)].length]);
  const document = Object.assign(new FakeDocument(uri, readFileSync(path, 'utf8')), { isDirty: false });
  open(document);
  try {
    // The open document's own diagnostics, then Validate Dataset of it: what the closed file showed.
    published.delete(uri.toString());
    mock.timers.tick(0);
    for (let i = 0; i < 5 && !published.has(uri.toString()); i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(findings(), closed);
    published.delete(uri.toString());
    assert.deepEqual(await commands.get('peerkd.validateDataset')?.(uri), closedSummary);
    assert.deepEqual(findings(), closed);
  } finally {
    registration.dispose();
    diagnostics.dispose();
  }
});

test('a large document is validated in slices that yield to the event loop; an edit meanwhile restarts from where it was', async () => {
  start();
  const uri = Uri.file('/data/large.jsonl');
  const rows = Array.from({ length: 25_000 }, (_, i) => (i === 24_000 ? '{"id": "x", "text": ""}' : `{"id": ${i}, "text": "r"}`));
  const document = new FakeDocument(uri, rows.join('\n'));
  open(document);
  mock.timers.tick(0);
  assert.equal(published.has(uri.toString()), false, 'the first slice is parsed, then the extension host gets the event loop back');
  const lineAt = mock.method(document, 'lineAt');
  // An edit between slices: that run stops; the debounced one finishes the job without re-reading parsed lines.
  document.edit(0, 0, 0, 0, '[]\n');
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(published.has(uri.toString()), false);
  mock.timers.tick(300);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    shown(uri).map(([lineNumber, , , code]) => [lineNumber, code]),
    [
      [0, 'not-an-object'],
      [24_001, 'empty-text'],
    ],
  );
  // 15,002 lines parsed, plus the first 200 rows read again (once per validation) by the check for a label field
  // under another name (dataset/fieldGuess.ts), which runs because no row here has a label field.
  const read = lineAt.mock.callCount();
  assert.ok(read <= 15_002 + 200 + 1, `read ${read} lines; the first 10,000 were already parsed`);
  // Over 10,000 rows, a run's checks of the whole file follow in slices of rows that yield to the event loop, with no
  // timer: the configured labels are on no row, and no row has a label (fewer than the folds); shown on the first row.
  await settle(() => shown(uri).length > 2);
  assert.deepEqual(
    shown(uri).map(([lineNumber, , , code, severity]) => [lineNumber, code, severity]),
    [
      [0, 'not-an-object', 'Error'],
      [24_001, 'empty-text', 'Error'],
      [1, 'run-check', 'Warning'],
      [1, 'run-check', 'Error'],
    ],
  );
});

/** Gives the event loop back (setImmediate, which the mocked timers leave alone) until `done`, at most 100 times. */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}

test('an edit of a document over 50,000 lines: the walk over its parsed lines gives the event loop back too; a newer edit abandons it', async () => {
  start();
  const uri = Uri.file('/data/walk.jsonl');
  const document = new FakeDocument(uri, Array.from({ length: 60_000 }, (_, i) => `{"id": ${i}, "text": "r", "teacher_label": "World"}`).join('\n'));
  open(document);
  mock.timers.tick(0);
  await settle(() => published.has(uri.toString()));
  assert.ok(published.has(uri.toString()), 'every line parsed and published');
  // One line changed: it alone is parsed again, then the 60,000 cached lines are walked (duplicates, counts) in steps.
  published.delete(uri.toString());
  document.edit(5, 19, 5, 20, '');
  mock.timers.tick(300);
  assert.equal(published.has(uri.toString()), false, 'the walk gave the event loop back before it was done');
  await settle(() => published.has(uri.toString()));
  assert.deepEqual(shown(uri).filter(([, , , code]) => code !== 'run-check').map(([line, , , code]) => [line, code]), [[5, 'empty-text']]);
  // Edited again while a walk is under way: that walk publishes nothing; the next validation shows both edits.
  published.delete(uri.toString());
  document.edit(7, 19, 7, 20, '');
  mock.timers.tick(300);
  document.edit(9, 19, 9, 20, '');
  await settle(() => false);
  assert.equal(published.has(uri.toString()), false, 'the walk of the text before the last edit was abandoned');
  mock.timers.tick(300);
  await settle(() => published.has(uri.toString()));
  assert.deepEqual(shown(uri).filter(([, , , code]) => code !== 'run-check').map(([line, , , code]) => [line, code]), [[5, 'empty-text'], [7, 'empty-text'], [9, 'empty-text']]);
});

test("over 10,000 rows, a run's checks follow the validation in slices, with no second's wait; an edit meanwhile abandons them", async () => {
  start();
  configuration.labels = [];
  const uri = Uri.file('/data/large-run.jsonl');
  const rows = Array.from({ length: 12_000 }, (_, i) => JSON.stringify({ id: i, text: i === 11_000 ? '!!! ???' : `row number ${i}`, teacher_label: i % 2 ? 'World' : 'Sports' }));
  const document = new FakeDocument(uri, rows.join('\n'));
  open(document);
  mock.timers.tick(0);
  await settle(() => published.has(uri.toString()));
  const runChecks = () => (published.get(uri.toString()) ?? []).filter((d) => d.code === 'run-check').map((d) => [d.range.start.line + 1, d.message.slice(0, 40)]);
  assert.deepEqual(runChecks(), [], 'the lines first; the run checks are fed a slice of rows at a time');
  await settle(() => runChecks().length > 0);
  assert.deepEqual(runChecks(), [[11_001, '1 row(s) have no word in their text (fie']]);

  // An edit: its validation 300 ms later shows the lines at once and feeds the run checks again; a second edit before
  // they are done abandons them (nothing is published for a text that is gone), and its own validation has them anew.
  document.edit(0, 0, 0, 0, JSON.stringify({ id: 'a', text: 'new row a', teacher_label: 'World' }) + '\n');
  mock.timers.tick(300);
  await settle(() => false);
  document.edit(0, 0, 0, 0, JSON.stringify({ id: 'b', text: 'new row b', teacher_label: 'World' }) + '\n');
  mock.timers.tick(300);
  published.delete(uri.toString());
  document.edit(0, 0, 0, 0, JSON.stringify({ id: 'c', text: '???', teacher_label: 'Sports' }) + '\n');
  await settle(() => false);
  assert.equal(published.has(uri.toString()), false, 'the checks of the text before the last edit were abandoned');
  mock.timers.tick(300);
  await settle(() => runChecks().length > 0 && runChecks()[0][0] === 1);
  assert.deepEqual(runChecks(), [[1, '2 row(s) have no word in their text (fie']]);
  assert.match(published.get(uri.toString())!.find((d) => d.code === 'run-check')!.message, /\(lines 1, 11004\)/);
});
