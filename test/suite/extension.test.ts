import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'peerkd.peerkd';

interface ContributedCommand {
  command: string;
}

async function activeExtension(): Promise<vscode.Extension<unknown>> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not installed in this extension host`);
  await extension.activate();
  return extension;
}

async function waitForDiagnostics(uri: vscode.Uri, minimum: number, timeoutMs = 15_000): Promise<vscode.Diagnostic[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diagnostics = vscode.languages.getDiagnostics(uri);
    if (diagnostics.length >= minimum || Date.now() > deadline) return diagnostics;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function workspaceFile(relativePath: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the suite needs a workspace folder (test/fixtures/e2e/suite)');
  return vscode.Uri.joinPath(folder.uri, relativePath);
}

suite('PeerKD extension host', () => {
  test('activates', async () => {
    const extension = await activeExtension();
    assert.equal(extension.isActive, true);
  });

  test('registers every command that package.json contributes', async () => {
    const extension = await activeExtension();
    const declared = (extension.packageJSON.contributes.commands as ContributedCommand[]).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((command) => !registered.has(command));
    assert.deepEqual(missing, [], `declared in package.json but not registered: ${missing.join(', ')}`);
  });

  test('reports diagnostics for a bad JSONL document, at the right lines and severities', async () => {
    await activeExtension();
    const uri = workspaceFile('bad.jsonl');
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    assert.equal(document.languageId, 'jsonl');
    // The lines' own problems (source PeerKD), and what a run would warn about in the file as a whole (PeerKD (run)).
    const all = await waitForDiagnostics(uri, 4);
    const diagnostics = all.filter((d) => d.source === 'PeerKD');
    assert.deepEqual(
      all.filter((d) => d.source === 'PeerKD (run)').map((d) => [d.range.start.line + 1, vscode.DiagnosticSeverity[d.severity]]),
      [[1, 'Warning'], [1, 'Warning']],
      `diagnostics were: ${JSON.stringify(all.map((d) => [d.range.start.line + 1, d.source, d.message]))}`,
    );
    const summary = diagnostics
      .map((d) => ({ line: d.range.start.line + 1, severity: vscode.DiagnosticSeverity[d.severity] }))
      .sort((a, b) => a.line - b.line);
    assert.deepEqual(summary, [
      { line: 2, severity: 'Error' },
      { line: 4, severity: 'Error' },
    ], `diagnostics were: ${JSON.stringify(diagnostics.map((d) => [d.range.start.line + 1, d.message]))}`);
    assert.match(diagnostics.find((d) => d.range.start.line === 3)?.message ?? '', /text/);
  });

  test('Validate Dataset validates a file that is not open and publishes its problems', async () => {
    await activeExtension();
    const uri = workspaceFile('closed.jsonl');
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString()), 'closed.jsonl is already open');
    const summary = (await vscode.commands.executeCommand('peerkd.validateDataset', uri)) as
      | { rows: number; errors: number; warnings: number }
      | undefined;
    assert.ok(summary, 'the command returned no summary');
    // A run would stop on it: its rows with text all have the label 'Business' (an error on line 1).
    assert.deepEqual({ rows: summary.rows, errors: summary.errors, warnings: summary.warnings }, { rows: 3, errors: 2, warnings: 1 });
    const diagnostics = await waitForDiagnostics(uri, 3);
    assert.deepEqual(
      diagnostics.map((d) => [d.range.start.line + 1, vscode.DiagnosticSeverity[d.severity], d.source]).sort(),
      [[1, 'Error', 'PeerKD (run)'], [2, 'Error', 'PeerKD'], [3, 'Warning', 'PeerKD']],
    );
  });

  test('updates diagnostics when the document is edited', async () => {
    await activeExtension();
    const uri = workspaceFile('bad.jsonl');
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document);
    await waitForDiagnostics(uri, 4);
    // Repair the broken JSON on line 2; the error there must go away without saving.
    const own = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'PeerKD');
    const line = document.lineAt(1);
    await editor.edit((edit) => edit.replace(line.range, '{"id": "b2", "text": "Repaired row", "teacher_label": "World"}'));
    const deadline = Date.now() + 15_000;
    let diagnostics = own();
    while (diagnostics.some((d) => d.range.start.line === 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      diagnostics = own();
    }
    assert.deepEqual(diagnostics.map((d) => d.range.start.line + 1), [4]);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });
});
