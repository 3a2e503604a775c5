/**
 * A stand-in for the part of `vscode` the dataset and run diagnostics use (src/editor/): ranges, diagnostics, code
 * actions, a diagnostic collection that keeps what was last published, and workspace events that never fire. For
 * stubVscodeModule; `published()` is what the code under test set last.
 */
export class FakeRange {
  constructor(
    readonly startLine: number,
    readonly startCharacter: number,
    readonly endLine: number,
    readonly endCharacter: number,
  ) {}
  get start() {
    return { line: this.startLine, character: this.startCharacter };
  }
}

export class FakeDiagnostic {
  code: unknown;
  source: unknown;
  constructor(
    readonly range: FakeRange,
    readonly message: string,
    readonly severity: number,
  ) {}
}

export class FakeCodeAction {
  command: unknown;
  diagnostics: unknown;
  isPreferred = false;
  constructor(
    readonly title: string,
    readonly kind: string,
  ) {}
}

export function fakeDiagnosticsVscode(): { module: Record<string, unknown>; published: () => FakeDiagnostic[] } {
  let published: FakeDiagnostic[] = [];
  const disposable = { dispose() {} };
  const module = {
    Range: FakeRange,
    Diagnostic: FakeDiagnostic,
    CodeAction: FakeCodeAction,
    CodeActionKind: { QuickFix: 'quickfix' },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    languages: {
      createDiagnosticCollection: () => ({ set: (_uri: unknown, diagnostics: FakeDiagnostic[]) => (published = diagnostics), delete() {}, dispose() {} }),
    },
    workspace: {
      textDocuments: [],
      onDidOpenTextDocument: () => disposable,
      onDidChangeTextDocument: () => disposable,
      onDidCloseTextDocument: () => disposable,
      onDidChangeConfiguration: () => disposable,
      createFileSystemWatcher: () => ({ onDidCreate: () => disposable, onDidChange: () => disposable, dispose() {} }),
      getConfiguration: () => ({ get: () => undefined }),
    },
  };
  return { module, published: () => published };
}
