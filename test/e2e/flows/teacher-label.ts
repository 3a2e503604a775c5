/**
 * Teacher labelling (issue 4) in a real VS Code: "PeerKD: Label with Teacher" on a dataset whose last 20 rows have no
 * teacher label, against a local chat-completions server started by the flow. The confirmation shows the estimate,
 * the summary reports the count, the labels land in the buffer as one undoable edit, and a second run asks nothing.
 */
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor } from '../harness';
import { labelReply, startFakeOpenAi, type FakeOpenAiServer } from '../../support/fakeOpenAiServer';

const DATASET = 'teacher.jsonl';
const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
let server: FakeOpenAiServer | undefined;
let original = '';

/** The label the server gives a text: deterministic, so the flow can check every written row. */
function labelFor(text: string): string {
  return LABELS[text.length % LABELS.length];
}

export default defineFlow({
  name: 'teacher: label unlabelled rows from the palette, undoable, cached',
  fixture: 'teacher',
  timeoutMs: 240_000,
  async prepare(workspaceDir) {
    const lines = readFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), 'utf8').split('\n').slice(0, 30);
    original = lines.map((line, index) => (index < 10 ? line : line.replace(/, "teacher_label": "[^"]*"/, ''))).join('\n') + '\n';
    writeFileSync(join(workspaceDir, DATASET), original);
    server = await startFakeOpenAi((request) => labelReply(labelFor(request.text), 0.875));
    mkdirSync(join(workspaceDir, '.vscode'), { recursive: true });
    writeFileSync(
      join(workspaceDir, '.vscode', 'settings.json'),
      JSON.stringify({ 'peerkd.teacher.baseUrl': server.baseUrl, 'peerkd.teacher.model': 'fake-teacher', 'peerkd.labels': LABELS }, null, 2),
    );
  },
  async run(workbench) {
    try {
      assert.ok(server);
      await workbench.openFile(DATASET);
      await workbench.runCommand('PeerKD: Label with Teacher');
      const dialog = workbench.page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match((await dialog.innerText()).replace(/\s+/g, ' '), /20 rows need a teacher label: 20 distinct texts\. About 20 requests to fake-teacher/);
      await workbench.screenshot('teacher-confirmation');
      await dialog.getByRole('button', { name: 'Label', exact: true }).click();

      const summary = await workbench.waitForNotification(/Done: 20 labelled, 0 abstained, 0 failed requests/, { timeoutMs: 60_000 });
      assert.match(summary.message, /20 rows updated in teacher\.jsonl/);
      assert.equal(server.chatRequests().length, 20);
      await workbench.save();
      const saved = workbench.readFile(DATASET).split('\n');
      const before = original.split('\n');
      for (let index = 0; index < 30; index++) {
        if (index < 10) {
          assert.equal(saved[index], before[index], `line ${index + 1} already had a teacher label and must not change`);
        } else {
          const text = (JSON.parse(before[index]) as { text: string }).text;
          assert.equal(saved[index], `${before[index].slice(0, -1)}, "teacher_label": "${labelFor(text)}", "teacher_confidence": 0.875}`);
        }
      }

      // One Undo takes the whole run back (in the dataset's editor: the keys go there once it holds them, not wherever
      // the closed dialog and the summary left the focus).
      await workbench.focusEditor(DATASET);
      await workbench.page.keyboard.press('Control+Z');
      await workbench.save();
      await waitFor(() => workbench.readFile(DATASET) === original, { timeoutMs: 10_000, message: 'the undone file to be saved' });

      // Running again answers from the cache: no request reaches the server.
      await workbench.runCommand('PeerKD: Label with Teacher');
      await dialog.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match((await dialog.innerText()).replace(/\s+/g, ' '), /20 already answered in the cache\)\. About 0 requests/);
      await dialog.getByRole('button', { name: 'Label', exact: true }).click();
      await workbench.waitForNotification(/Done: 20 labelled/, { timeoutMs: 60_000 });
      assert.equal(server.chatRequests().length, 20);
    } finally {
      await server?.close();
    }
  },
});
