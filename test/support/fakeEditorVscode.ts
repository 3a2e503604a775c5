/**
 * A stand-in for the part of `vscode` that the Label Review glue uses (src/webview/labelReviewPanel.ts, the review's
 * document adapter src/editor/labelEdits.ts, src/editor/runState.ts): text documents that stay readable once closed
 * (as the editor's do), workspace edits applied with their change events, configuration with change events, and a
 * webview panel that records what the host posts to it. For stubVscodeModule; one instance per test file.
 */

type Listener<T> = (value: T) => void;
export class Emitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class FakeUri {
  readonly scheme = 'file';
  constructor(readonly path: string) {}
  static file(path: string): FakeUri {
    return new FakeUri(path);
  }
  static joinPath(base: FakeUri, ...segments: string[]): FakeUri {
    return new FakeUri([base.path, ...segments].join('/'));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `file://${this.path}`;
  }
}

export class FakeRange {
  constructor(
    readonly line: number,
    readonly startCharacter: number,
    readonly endCharacter: number,
  ) {}
  get start(): { line: number; character: number } {
    return { line: this.line, character: this.startCharacter };
  }
}

/** A text document as the editor gives it to extensions: closing it leaves its last text readable. */
export class FakeTextDocument {
  lines: string[];
  isClosed = false;
  constructor(
    readonly uri: FakeUri,
    text: string,
    public version = 1,
  ) {
    this.lines = text.split('\n');
  }
  getText(): string {
    return this.lines.join('\n');
  }
  lineAt(index: number): { text: string; range: FakeRange } {
    if (index < 0 || index >= this.lines.length) throw new Error(`Illegal line ${index}`);
    return { text: this.lines[index], range: new FakeRange(index, 0, this.lines[index].length) };
  }
}

export class FakeWorkspaceEdit {
  readonly replacements: { uri: FakeUri; range: FakeRange; text: string }[] = [];
  replace(uri: FakeUri, range: FakeRange, text: string): void {
    this.replacements.push({ uri, range, text });
  }
}

/** vscode.RelativePattern: a glob matched on paths relative to its base folder. */
export class FakeRelativePattern {
  readonly baseUri: FakeUri;
  constructor(
    base: FakeUri | string,
    readonly pattern: string,
  ) {
    this.baseUri = typeof base === 'string' ? new FakeUri(base) : base;
  }
}

/** A glob as VS Code matches it, for the few forms the extension watches: `**\/` (any folders), `*` (within a name). */
function globMatches(glob: string, relativePath: string): boolean {
  const source = glob
    .split(/(\*\*\/|\*)/)
    .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(relativePath);
}

/**
 * What VS Code reports to a file system watcher (workspace.createFileSystemWatcher): a glob string sees the files in the
 * workspace folders only; a RelativePattern the files under its base, wherever it is.
 */
function watcherSees(pattern: string | FakeRelativePattern, file: string, workspaceFolders: readonly { uri: FakeUri }[]): boolean {
  const under = (base: string) => (file.startsWith(`${base}/`) ? file.slice(base.length + 1) : undefined);
  if (typeof pattern !== 'string') {
    const relative = under(pattern.baseUri.fsPath);
    return relative !== undefined && globMatches(pattern.pattern, relative);
  }
  return workspaceFolders.some((folder) => {
    const relative = under(folder.uri.fsPath);
    return relative !== undefined && globMatches(pattern, relative);
  });
}

/** What a webview panel created through the fake received: the host's messages, and a way to send it the webview's. */
export interface FakeWebviewPanel {
  posted: { type: string; [key: string]: unknown }[];
  /** Sends a message from the webview to the host and lets the host's handler run. */
  send(message: unknown): Promise<void>;
  title: string;
  /** Another tab of its group is shown: the editor tears the webview down (it says `ready` again when shown). */
  hide(): void;
  /** Whether it is the active editor; `activate(false)`: the user made another editor active (clicked into it). */
  readonly active: boolean;
  activate(active: boolean): void;
}

/**
 * A quick pick the host showed (window.createQuickPick), answered by the test as a user would. As in VS Code, onDidHide
 * comes from the editor a moment after the host's hide() (the picker is gone from the screen by then), and a click
 * elsewhere hides it without an accept.
 */
export interface FakeQuickPick {
  title: string | undefined;
  placeholder: string | undefined;
  readonly items: readonly { label: string; value?: string }[];
  readonly visible: boolean;
  /** Types `value` into the filter and presses Enter: the active item (the first shown whose value is `value`, else the first). */
  accept(value?: string): void;
  /** Escape: hidden, nothing accepted. */
  escape(): void;
  /** The user clicked elsewhere: the focus left the picker, which hides (a click into another editor also makes it active). */
  blur(): void;
}

export function fakeEditorVscode() {
  const textDocuments: FakeTextDocument[] = [];
  const events = {
    open: new Emitter<FakeTextDocument>(),
    close: new Emitter<FakeTextDocument>(),
    change: new Emitter<{ document: FakeTextDocument }>(),
    configuration: new Emitter<{ affectsConfiguration: (section: string, scope?: unknown) => boolean }>(),
    workspaceFolders: new Emitter<unknown>(),
    /** Files or folders renamed or moved (the Explorer's workspace.onDidRenameFiles, after the move on disk). */
    rename: new Emitter<{ files: { oldUri: FakeUri; newUri: FakeUri }[] }>(),
  };
  /** The file system watchers alive: their pattern and listeners. */
  const watchers = new Set<{ pattern: string | FakeRelativePattern; create: Emitter<FakeUri>; change: Emitter<FakeUri> }>();
  /** `peerkd.*` settings by key without the prefix (`fields.human`). */
  const configuration: Record<string, unknown> = {};
  const panels: FakeWebviewPanel[] = [];
  /** The workspace's folders (a test sets them). */
  const workspaceFolders: { name: string; uri: FakeUri }[] = [];
  const warnings: string[] = [];
  /** The buttons each warning offered (`Open Log`), by warning. */
  const warningItems: unknown[][] = [];
  /** What the user clicks on the next warnings, in turn (none: dismissed). */
  const answers: unknown[] = [];
  /** The quick picks shown, the newest last. */
  const quickPicks: FakeQuickPick[] = [];

  /** Applies an edit to the open document of its file, as the editor does, and fires its change event. */
  async function applyEdit(edit: FakeWorkspaceEdit): Promise<boolean> {
    for (const { uri, range, text } of edit.replacements) {
      const document = textDocuments.find((open) => open.uri.toString() === uri.toString());
      if (!document) return false;
      document.lines[range.line] = text;
      document.version += 1;
      events.change.fire({ document });
    }
    return true;
  }

  function createWebviewPanel() {
    const received = new Emitter<unknown>();
    const disposed = new Emitter<void>();
    const viewState = new Emitter<void>();
    let visible = true;
    let active = true;
    const record: FakeWebviewPanel = {
      posted: [],
      title: '',
      async send(message: unknown) {
        received.fire(message);
        // The host's handlers are async: let them (and what they await) finish.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      },
      hide() {
        visible = false;
        active = false;
        viewState.fire();
      },
      get active() {
        return active;
      },
      activate(value: boolean) {
        active = value;
        viewState.fire();
      },
    };
    panels.push(record);
    return {
      webview: {
        html: '',
        options: {},
        cspSource: 'fake:',
        asWebviewUri: (uri: FakeUri) => uri,
        onDidReceiveMessage: received.event,
        postMessage: async (message: { type: string }) => {
          record.posted.push(message);
          return true;
        },
      },
      get title() {
        return record.title;
      },
      set title(value: string) {
        record.title = value;
      },
      iconPath: undefined,
      get visible() {
        return visible;
      },
      get active() {
        return active;
      },
      viewColumn: 2,
      reveal() {
        visible = true;
        active = true;
        viewState.fire();
      },
      onDidDispose: disposed.event,
      onDidChangeViewState: viewState.event,
      dispose: () => disposed.fire(),
    };
  }

  function createQuickPick() {
    type Item = { label: string; value?: string };
    const accepted = new Emitter<void>();
    const hidden = new Emitter<void>();
    const changed = new Emitter<string>();
    let visible = false;
    // The editor hides the picker and tells the host so a moment later, as VS Code's round trip does.
    const hideLater = () => {
      if (!visible) return;
      visible = false;
      setImmediate(() => hidden.fire());
    };
    const pick = {
      title: undefined as string | undefined,
      placeholder: undefined as string | undefined,
      items: [] as Item[],
      activeItems: [] as Item[],
      selectedItems: [] as Item[],
      value: '',
      onDidAccept: accepted.event,
      onDidHide: hidden.event,
      onDidChangeValue: changed.event,
      show() {
        visible = true;
        quickPicks.push(record);
      },
      hide: hideLater,
      dispose() {},
    };
    const record: FakeQuickPick = {
      get title() {
        return pick.title;
      },
      get placeholder() {
        return pick.placeholder;
      },
      get items() {
        return pick.items;
      },
      get visible() {
        return visible;
      },
      accept(value?: string) {
        if (value !== undefined) {
          pick.value = value;
          changed.fire(value);
        }
        const item = pick.items.find((candidate) => candidate.value === value) ?? pick.activeItems[0] ?? pick.items[0];
        pick.activeItems = item ? [item] : [];
        pick.selectedItems = pick.activeItems;
        accepted.fire();
      },
      escape: hideLater,
      blur: hideLater,
    };
    return pick;
  }

  const module = {
    Uri: FakeUri,
    Range: FakeRange,
    RelativePattern: FakeRelativePattern,
    WorkspaceEdit: FakeWorkspaceEdit,
    EventEmitter: Emitter,
    ViewColumn: { One: 1, Two: 2, Beside: -2 },
    TabInputText: class {},
    workspace: {
      get textDocuments() {
        return textDocuments;
      },
      openTextDocument: async (uri: FakeUri) => {
        const open = textDocuments.find((document) => document.uri.toString() === uri.toString());
        if (!open) throw new Error(`cannot open ${uri.fsPath}`);
        return open;
      },
      applyEdit,
      get workspaceFolders() {
        return workspaceFolders;
      },
      /** The path inside the workspace folder holding `uri`, after that folder's name when asked (as the editor does). */
      asRelativePath: (uri: FakeUri, includeWorkspaceFolder?: boolean) => {
        const folder = workspaceFolders.find((candidate) => uri.path.startsWith(`${candidate.uri.path}/`));
        if (!folder) return uri.path;
        const inside = uri.path.slice(folder.uri.path.length + 1);
        return includeWorkspaceFolder ? `${folder.name}/${inside}` : inside;
      },
      onDidOpenTextDocument: events.open.event,
      onDidCloseTextDocument: events.close.event,
      onDidChangeTextDocument: events.change.event,
      onDidChangeConfiguration: events.configuration.event,
      onDidChangeWorkspaceFolders: events.workspaceFolders.event,
      onDidRenameFiles: events.rename.event,
      createFileSystemWatcher: (pattern: string | FakeRelativePattern) => {
        const watcher = { pattern, create: new Emitter<FakeUri>(), change: new Emitter<FakeUri>() };
        watchers.add(watcher);
        return { onDidCreate: watcher.create.event, onDidChange: watcher.change.event, dispose: () => watchers.delete(watcher) };
      },
      getConfiguration: () => ({ get: (key: string) => configuration[key] }),
    },
    window: {
      createWebviewPanel,
      createQuickPick,
      showWarningMessage: async (text: string, ...items: unknown[]) => {
        warnings.push(text);
        warningItems.push(items);
        return answers.shift();
      },
      showInformationMessage: async () => undefined,
      showErrorMessage: async (text: string) => {
        warnings.push(text);
        return undefined;
      },
      tabGroups: { all: [] },
      visibleTextEditors: [],
    },
    commands: { executeCommand: async () => undefined },
  };

  return {
    module,
    textDocuments,
    events,
    configuration,
    panels,
    warnings,
    warningItems,
    answers,
    quickPicks,
    workspaceFolders,
    /** Opens a file as a new document (its versions from `version`), as the editor does when a tab opens it. */
    open(uri: FakeUri, text: string, version = 1): FakeTextDocument {
      const document = new FakeTextDocument(uri, text, version);
      textDocuments.push(document);
      events.open.fire(document);
      return document;
    },
    /** Closes a document: it leaves the workspace's documents and stays readable with its last text. */
    close(document: FakeTextDocument): void {
      textDocuments.splice(textDocuments.indexOf(document), 1);
      document.isClosed = true;
      events.close.fire(document);
    },
    /** A user's own edit: replaces the document's lines and fires the change event. */
    type(document: FakeTextDocument, lines: string[]): void {
      document.lines = lines;
      document.version += 1;
      events.change.fire({ document });
    },
    /** The patterns of the file system watchers alive. */
    watchedPatterns(): (string | FakeRelativePattern)[] {
      return [...watchers].map((watcher) => watcher.pattern);
    },
    /** A file created (or changed) on disk: told to each watcher that VS Code would tell (watcherSees). */
    fileEvent(file: string, kind: 'create' | 'change' = 'create'): void {
      for (const watcher of [...watchers]) if (watcherSees(watcher.pattern, file, workspaceFolders)) watcher[kind].fire(new FakeUri(file));
    },
    /** Changes `peerkd.<key>` settings and fires the configuration event for them. */
    configure(values: Record<string, unknown>): void {
      Object.assign(configuration, values);
      const keys = Object.keys(values).map((key) => `peerkd.${key}`);
      events.configuration.fire({ affectsConfiguration: (section) => keys.some((key) => key === section || key.startsWith(`${section}.`)) });
    },
  };
}
