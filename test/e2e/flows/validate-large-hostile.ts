/**
 * "PeerKD: Validate Dataset" from the Explorer on a 200,000-row .ndjson file that no editor shows, with hostile lines
 * deep in it (JSON cut off, bytes that are not UTF-8, a NUL character in a label): the file is streamed, the summary
 * names the file and its counts, each finding is in the Problems panel at its line, and the editor keeps working
 * while it runs.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor } from '../harness';

const FILE = 'big.ndjson';
const ROWS = 200_000;
const BROKEN_LINE = 150_000;
const NOT_UTF8_LINE = 180_000;
const NUL_LINE = 199_999;

export default defineFlow({
  name: 'validate: a 200,000-row .ndjson file with hostile lines, from the Explorer, findings at their lines',
  fixture: 'review',
  timeoutMs: 240_000,
  prepare(workspaceDir) {
    const example = readFileSync(join(repoRoot, 'examples', 'agnews-sample.jsonl'), 'utf8').split('\n').filter(Boolean);
    const parts: Buffer[] = [];
    for (let index = 0; index < ROWS; index++) {
      const line = index + 1;
      const row = JSON.parse(example[index % example.length]) as Record<string, unknown>;
      row.id = `r${index}`;
      row.text = String(row.text).slice(0, 80);
      delete row.human_label;
      let text = JSON.stringify(row);
      if (line === BROKEN_LINE) text = text.slice(0, 30);
      if (line === NUL_LINE) text = JSON.stringify({ ...row, teacher_label: 'World\u0000' });
      parts.push(Buffer.from(text + '\n', 'utf8'));
      if (line === NOT_UTF8_LINE) parts[parts.length - 1] = Buffer.concat([Buffer.from('{"id": "bad-bytes", "text": "caf'), Buffer.from([0xe9, 0xff]), Buffer.from('", "teacher_label": "World"}\n')]);
    }
    writeFileSync(join(workspaceDir, FILE), Buffer.concat(parts));
  },
  async run(workbench) {
    const page = workbench.page;
    // The Explorer's menu lists the extension's entries once its contributions have loaded: open it until it does.
    const entry = page.locator('.context-view .action-item', { hasText: 'Validate Dataset' }).first();
    // (isVisible does not wait: a menu still drawing was closed too early, and one left open blocked the next right
    // click for 30 s. Each try waits for the entry, and closes the menu for good before the next.)
    const menu = page.locator('.context-view .monaco-menu');
    await waitFor(
      async () => {
        await page.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE }).first().click({ button: 'right', timeout: 10_000 });
        if (await entry.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false)) return true;
        await page.keyboard.press('Escape');
        await menu.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
        return false;
      },
      { timeoutMs: 90_000, message: "PeerKD's entries in the Explorer's menu" },
    );
    await entry.hover();
    await page.keyboard.press('Enter');
    // The cut-off line is no row, so 199,999 rows.
    // The editor keeps working meanwhile: Quick Open opens another file.
    await workbench.openFile('.vscode/settings.json');
    // The summary's toast goes after 15 s, and under load opening the file can take that long: the notification centre
    // keeps it, and lists it if it comes while the centre is open.
    await workbench.runCommand('Notifications: Show Notifications');
    const summary = await workbench.waitForNotification(new RegExp(`^PeerKD: ${FILE.replace('.', '\\.')}: 199,999 rows, \\d+ errors?, [\\d,]+ warnings?\\.`), { timeoutMs: 120_000 });
    console.log(`Validate Dataset summary: ${summary.message}`);
    await workbench.openProblems();
    const problems = await workbench.waitForProblems(
      (entries) => [BROKEN_LINE, NOT_UTF8_LINE, NUL_LINE].every((line) => entries.some((entry) => entry.file === FILE && entry.line === line)),
      { timeoutMs: 30_000, message: `findings of ${FILE} at lines ${BROKEN_LINE}, ${NOT_UTF8_LINE} and ${NUL_LINE}` },
    );
    for (const line of [BROKEN_LINE, NOT_UTF8_LINE, NUL_LINE]) {
      console.log(`line ${line}: ${problems.filter((entry) => entry.line === line).map((entry) => `${entry.severity}: ${entry.message}`).join(' | ')}`);
    }
    assert.ok(problems.some((entry) => entry.line === BROKEN_LINE && entry.severity === 'error'), 'the cut-off line is an error');
    assert.ok(problems.some((entry) => entry.line === NOT_UTF8_LINE && /UTF-8/.test(entry.message)), 'the bytes that are not UTF-8 are named');
    await waitFor(async () => (await page.locator('.tabs-container .tab', { hasText: FILE }).count()) === 0, { message: 'the dataset not opened in an editor' });
  },
});
