/**
 * Issue 10 §3.10: a dataset whose fields are named otherwise (`sentence`, `llm_label`) shows one problem per missing
 * field (not one per row), each naming its `peerkd.fields.*` setting, and the quick fixes "Use 'sentence' as the text
 * field" and "Use 'llm_label' as the teacher label field" write the workspace settings, after which the problems go.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor, type Workbench } from '../harness';

const DATASET = 'data.jsonl';

async function applyQuickFix(workbench: Workbench, problemText: RegExp, fixTitle: string): Promise<void> {
  const page = workbench.page;
  await workbench.openProblems();
  // The line's own problem (source PeerKD), which carries the quick fix: the run's finding on the same line (source
  // 'PeerKD (run)', an error listed first) can say the same words once the run's checks of the file come in.
  await page.locator('.markers-panel .monaco-list-row').filter({ hasText: problemText }).filter({ hasNotText: 'PeerKD (run)' }).first().click();
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor.focused').waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Control+.');
  const menu = page.locator('.action-widget').first();
  await menu.waitFor({ state: 'visible', timeout: 15_000 });
  await waitFor(async () => (await menu.innerText()).includes(fixTitle), { message: `the quick fix '${fixTitle}'` });
  // Both problems sit on line 1, so both fixes may be listed: move the focus to this one and apply it by key (a
  // click can hit the context view's pointer block).
  for (let step = 0; step < 10; step++) {
    if ((await menu.locator('.monaco-list-row.focused').getAttribute('aria-label')) === fixTitle) break;
    await page.keyboard.press('ArrowDown');
  }
  assert.equal(await menu.locator('.monaco-list-row.focused').getAttribute('aria-label'), fixTitle);
  await page.keyboard.press('Enter');
}

export default defineFlow({
  name: 'fields: a dataset with other field names gets one problem per field and a quick fix that writes the setting',
  fixture: 'fields',
  async run(workbench) {
    await workbench.openFile(DATASET);
    const problems = await workbench.waitForProblems((entries) => entries.filter((e) => e.source === 'PeerKD').length >= 2, {
      message: 'the two field problems',
    });
    const ours = problems.filter((entry) => entry.source === 'PeerKD');
    assert.deepEqual(
      ours.map((entry) => [entry.line, entry.severity]),
      [
        [1, 'error'],
        [1, 'warning'],
      ],
      JSON.stringify(ours),
    );
    assert.match(ours[0].message, /none of the 40 rows has a field 'text'; set peerkd\.fields\.text .*'sentence' looks like text/);
    assert.match(ours[1].message, /set peerkd\.fields\.teacher .*'llm_label' looks like labels/);

    const textFix = "Use 'sentence' as the text field (workspace setting peerkd.fields.text)";
    await applyQuickFix(workbench, /none of the 40 rows/, textFix);
    await waitFor(() => /"peerkd\.fields\.text":\s*"sentence"/.test(workbench.readFile('.vscode/settings.json')), {
      message: 'peerkd.fields.text in the workspace settings',
    });
    await workbench.waitForProblems(
      (entries) => {
        const left = entries.filter((e) => e.source === 'PeerKD');
        return left.length === 1 && /llm_label/.test(left[0].message);
      },
      { message: 'only the label-field warning left' },
    );

    const labelFix = "Use 'llm_label' as the teacher label field (workspace setting peerkd.fields.teacher)";
    await applyQuickFix(workbench, /looks like labels/, labelFix);
    await waitFor(() => /"peerkd\.fields\.teacher":\s*"llm_label"/.test(workbench.readFile('.vscode/settings.json')), {
      message: 'peerkd.fields.teacher in the workspace settings',
    });
    await workbench.waitForProblems((entries) => !entries.some((e) => e.source === 'PeerKD'), { message: 'no PeerKD problem left' });
  },
});
