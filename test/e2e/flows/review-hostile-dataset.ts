/**
 * Label Review on a dataset someone else wrote (a downloaded JSONL is untrusted): labels, ids and texts holding HTML,
 * script, markdown command links, `$(icon)` syntax, right-to-left text and bidirectional controls, ten labels named
 * like Object.prototype members and a 30,000-character line. Nothing from the data may run, load or become a link:
 * - the webview: no element the data describes (img, svg, script) exists, no handler ran, the CSP is strict;
 *   labels show as written on the buttons (the first nine, with their keys) and in the table, bidirectional
 *   controls as their escapes (as the hover shows them);
 * - the notification of a refused decision quotes the hostile id without a link;
 * - "Other label…" (n) lists all ten labels, `$(alert)` as text, and sets the tenth, which has no key;
 * - key 1 writes the label `__proto__`, and the file keeps every other byte;
 * - a 196-character label is cut on its button;
 * - the long row reaches the panel cut to MAX_ROW_TEXT_CHARS, with a note of how much more there is.
 */
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import { setFieldInLine } from '../../../src/dataset/edit';
import { MAX_ROW_TEXT_CHARS } from '../../../src/review/protocol';
import { resolveRunsDir, RunWriter } from '../../../src/training/artifacts';
import type { Prediction, RowExplanation } from '../../../src/training/types';
import { defineFlow, waitFor } from '../harness';
import { DATASET, REVIEW_COMMAND, writeFakeRunSettings } from '../reviewSupport';

const LABELS = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '<img src=x onerror="window.__pwned=1">',
  '"><svg onload=window.__pwned=2>',
  '[run](command:workbench.action.terminal.new)',
  '$(alert) icon',
  'W\u202eevil' + 'z'.repeat(190),
  'tenth',
];
const HOSTILE_ID = '[x](command:workbench.action.terminal.new)';
const ROWS: { id: string; text: string; teacher: string; suggested: string }[] = [
  { id: HOSTILE_ID, text: '<img src=x onerror="window.__pwned=3"> alpha beta', teacher: LABELS[1], suggested: LABELS[4] },
  { id: '</script><script>window.__pwned=4</script>', text: 'שלום עולם! alpha', teacher: LABELS[2], suggested: LABELS[5] },
  { id: '"><svg onload=window.__pwned=5>', text: 'zero\u200bwidth \u202eevil alpha ![](https://evil.example/p.png)', teacher: LABELS[6], suggested: LABELS[7] },
  { id: 'long', text: 'alpha '.repeat(5000), teacher: LABELS[8], suggested: LABELS[0] },
  ...Array.from({ length: 8 }, (_, i) => ({ id: `row-${i}`, text: `plain row ${i} alpha`, teacher: LABELS[i % 10], suggested: LABELS[(i + 1) % 10] })),
];

async function humanShown(frame: Frame, index: number): Promise<string | null> {
  return frame.locator(`#list .row[data-index="${index}"]`).first().getAttribute('data-human').catch(() => null);
}

export default defineFlow({
  name: 'review: a hostile dataset (HTML, script, command links, $(icons), RTL, Object.prototype labels) shows as text, runs nothing',
  fixture: 'review',
  timeoutMs: 300_000,
  async prepare(workspaceDir) {
    const lines = ROWS.map((row) => JSON.stringify({ id: row.id, text: row.text, teacher_label: row.teacher }));
    const text = lines.join('\n') + '\n';
    const datasetPath = join(workspaceDir, DATASET);
    writeFileSync(datasetPath, text);
    const predictions: Prediction[] = ROWS.map((row, index) => {
      const probs = Object.fromEntries(LABELS.map((label) => [label, label === row.suggested ? 0.91 : 0.01]));
      return { id: row.id, line: index + 1, teacher: row.teacher, human: null, suggested: row.suggested, p_teacher_wrong: 0.99 - index * 0.01, flagged: true, probs, peer_probs: probs, vanilla_probs: probs };
    });
    const explanations: RowExplanation[] = ROWS.map((row, index) => ({
      row: index,
      id: row.id,
      towards: row.suggested,
      away: row.teacher,
      logit_difference: 2,
      bias: 0,
      dense: 0,
      words: [['alpha', 1.5], ['<b>x</b>', 0.2]],
      against: [['beta', -0.5]],
      other_words: 0.3,
      similar: [{ id: '<img src=x onerror="window.__pwned=6">', line: 2, label: LABELS[5], similarity: 0.5 }],
    }));
    const runId = '20260101-000000-hostile-12';
    const writer = await RunWriter.create(resolveRunsDir(datasetPath), runId);
    await writer.writePredictions(predictions);
    await writer.writeExplanations(explanations);
    await writer.writeJson('metrics.json', {
      trust: { teacherAccuracy: { estimate: 0.5, low: 0.4, high: 0.6 }, flaggedWrong: { estimate: 6, low: 5, high: 7 } },
    });
    await writeFakeRunSettings(writer, runId, datasetPath, text, LABELS);
    await writer.commit(datasetPath);
  },
  async run(workbench) {
    const original = workbench.readFile(DATASET);
    await workbench.openFile(DATASET);
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const page = workbench.page;

    // Select the hostile rows one after the other, so their details, explanations and similar rows are drawn.
    await frame.locator('#list .row[data-index="0"]').click();
    for (let i = 0; i < 4; i++) {
      await frame.locator('#why-flagged').waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('j');
    }
    await page.keyboard.press('Home');
    await frame.locator('#why-flagged').waitFor({ state: 'visible', timeout: 15_000 });
    const dom = (await frame.evaluate(`({
      pwned: window.__pwned,
      elements: document.querySelectorAll('img, svg, iframe, object, embed').length,
      scripts: [...document.querySelectorAll('script')].map((s) => s.outerHTML).filter((s) => s.includes('pwned')).length,
      csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '',
      buttons: [...document.querySelectorAll('#details [data-action^="set-"]')].map((b) => b.textContent),
      facts: [...document.querySelectorAll('#details .row-facts bdi')].map((b) => b.textContent),
      similar: document.querySelector('#why-flagged a.similar-row')?.textContent ?? '',
      marks: [...document.querySelectorAll('#row-text mark')].map((m) => m.textContent),
      headers: [...document.querySelectorAll('#confusion th')].map((th) => th.textContent),
      teacher: document.querySelector('#list .row[data-index="0"] .teacher')?.textContent,
      suggested: document.querySelector('#list .row[data-index="0"] .suggested')?.textContent,
      widestButtonRight: Math.max(...[...document.querySelectorAll('#details vscode-button')].map((b) => b.getBoundingClientRect().right)),
      panelWidth: document.documentElement.clientWidth,
      firstCellLeft: document.querySelector('#confusion td')?.getBoundingClientRect().left,
      text2: document.querySelector('#list .row[data-index="2"] .text')?.textContent,
      rowTextBidi: getComputedStyle(document.querySelector('#row-text')).unicodeBidi,
    })`)) as Record<string, unknown>;
    console.log(`hostile webview: ${JSON.stringify(dom)}`);
    assert.equal(dom.pwned, undefined, 'no handler or script from the data ran');
    assert.equal(dom.elements, 0, 'no element described by the data exists');
    assert.equal(dom.scripts, 0);
    // The CSP: nothing by default, scripts only by nonce, no inline or eval, images only from the extension or data:.
    const directives = new Map(String(dom.csp).split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.match((directives.get('script-src') ?? []).join(' '), /^'nonce-[A-Za-z0-9+/=]+'$/);
    assert.doesNotMatch(String(dom.csp), /unsafe-(inline|eval)/);
    assert.deepEqual(directives.get('img-src'), [...(directives.get('style-src') ?? []), 'data:']);
    // The first nine labels, as written, with their keys; a bidirectional control shows as its escape (as in the hover).
    // A 196-character label is cut on its button (the tooltip has it whole), and no button is wider than the panel.
    const cut = (label: string): string => (label.length <= 40 ? label : `${label.slice(0, 39)}…`);
    assert.deepEqual(dom.buttons, [...LABELS.slice(0, 8).map((label, i) => `${i + 1} ${cut(label)}`), `9 W\\u202eevil${'z'.repeat(33)}…`]);
    assert.ok(Number(dom.widestButtonRight) <= Number(dom.panelWidth), `buttons end at ${dom.widestButtonRight} px in a ${dom.panelWidth} px panel`);
    assert.match(String(dom.text2), /^zero\u200bwidth \\u202eevil alpha/, 'the right-to-left override in a text cannot reverse it unseen');
    assert.deepEqual(dom.facts, [HOSTILE_ID]);
    assert.equal(dom.similar, `line 2: '${LABELS[5]}'`);
    assert.ok((dom.marks as string[]).includes('alpha'));
    // The 196-character label does not push the counts out of the panel: its header is cut.
    assert.ok(Number(dom.firstCellLeft) < Number(dom.panelWidth) / 2, `the table's first count starts at ${dom.firstCellLeft} px`);
    for (const label of [LABELS[1], LABELS[4]]) assert.ok((dom.headers as string[]).some((header) => header.endsWith(label)), `the table shows ${label}`);
    assert.deepEqual([dom.teacher, dom.suggested], [LABELS[1], LABELS[4]]);
    assert.equal(dom.rowTextBidi, 'plaintext');

    // The 30,000-character row: the panel holds its start and says how much more there is.
    await frame.locator('#list .row[data-index="3"]').click();
    await frame.locator('#details .more-text').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal((await frame.locator('#row-text').textContent())?.length, MAX_ROW_TEXT_CHARS);
    assert.match(await frame.locator('#details .more-text').innerText(), /^… 26,000 more characters: Open line \(o\) shows the whole row\.$/);

    // A refused decision's notification quotes the hostile id: no link (a click would have run the command).
    writeFileSync(workbench.path(DATASET), original.split('\n').slice(1).join('\n'));
    await waitFor(async () => (await frame.locator('#list .row[data-index="0"] .line').innerText().catch(() => '')) === 'gone', {
      timeoutMs: 20_000,
      message: 'the panel to show the first row as gone from the file',
    });
    await frame.locator('#list .row[data-index="0"]').click();
    await page.keyboard.press('a');
    const refused = await workbench.waitForNotification('no longer in the file');
    console.log(`refused: ${refused.message}`);
    assert.ok(refused.message.includes("row '[x] (command:workbench.action.terminal.new)' not labelled"), refused.message);
    assert.equal(await page.locator('.notification-list-item-message a').count(), 0, 'the notification holds no link');
    writeFileSync(workbench.path(DATASET), original);
    await waitFor(async () => /^L\d+$/.test(await frame.locator('#list .row[data-index="0"] .line').innerText().catch(() => '')), {
      timeoutMs: 20_000,
      message: 'the first row to be back in the file',
    });

    // Key 1 writes the label '__proto__'.
    await frame.locator('#list .row[data-index="0"]').click();
    await page.keyboard.press('1');
    await waitFor(async () => (await humanShown(frame, 0)) === '__proto__', { timeoutMs: 15_000, message: "row 0's human label '__proto__'" });

    // "Other label…" lists the ten labels ($(alert) as text) and sets the tenth, which no key sets.
    await frame.locator('#list .row[data-index="1"]').click();
    await page.keyboard.press('n');
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await waitFor(async () => (await rows.count()) >= LABELS.length, { timeoutMs: 10_000, message: 'the label picker to list every label' });
    const names = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name').allInnerTexts();
    assert.ok(names.some((name) => name.includes('$(alert) icon')), names.join(' | '));
    assert.equal(await page.locator('.quick-input-widget .quick-input-list .codicon-alert').count(), 0, 'no icon from a label');
    // It opens on the row's suggestion (Enter at once is an accept), not on the set's first label.
    await waitFor(async () => (await page.locator('.quick-input-widget .quick-input-list .monaco-list-row.focused .label-name').innerText().catch(() => '')) === LABELS[5], {
      timeoutMs: 5_000,
      message: `the picker to open on the suggestion '${LABELS[5]}'`,
    });
    await page.keyboard.type('tenth');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await humanShown(frame, 1)) === 'tenth', { timeoutMs: 15_000, message: "row 1's human label 'tenth'" });
    await workbench.screenshot('review-hostile-dataset');

    await page.keyboard.press('o');
    await page.locator('.monaco-editor.focused').waitFor({ state: 'visible', timeout: 10_000 });
    await workbench.save().catch(async () => {
      await workbench.runCommand('File: Save');
    });
    await waitFor(() => workbench.readFile(DATASET) !== original, { timeoutMs: 10_000, message: 'the dataset to be saved' });
    const expected = original.split('\n');
    expected[0] = setFieldInLine(expected[0], 'human_label', '__proto__');
    expected[1] = setFieldInLine(expected[1], 'human_label', 'tenth');
    assert.equal(workbench.readFile(DATASET), expected.join('\n'), 'only the two human labels were added');
  },
});
