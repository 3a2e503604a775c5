/**
 * Issue 10 §3.10: a dataset whose fields are named otherwise (`sentence`, `llm_label`) shows one problem per missing
 * field (not one per row), each naming its `peerkd.fields.*` setting, and the quick fixes "Use 'sentence' as the text
 * field" and "Use 'llm_label' as the teacher label field" write the workspace settings, after which the problems go.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor, type Workbench } from '../harness';

const DATASET = 'data.jsonl';

async function applyQuickFix(workbench: Workbench, fixTitle: string): Promise<void> {
  const page = workbench.page;
  // Both problems sit on line 1: the quick fixes there are asked with the line selected, by key (a pointer click on a
  // Problems row could land on the hover of the row above it, as CI runs under load showed).
  await workbench.focusEditor(DATASET);
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('Shift+End');
  // Under load Ctrl+. was answered "No code actions available" beside the lightbulb of these very fixes (3 of 13 runs
  // here, and an earlier CI failure's screenshot): openQuickFixes asks again then. Both problems sit on line 1, so both
  // fixes may be listed: the focus is moved to this one.
  const menu = await workbench.openQuickFixes(fixTitle);
  await workbench.applyQuickFix(menu, fixTitle, { moveTo: true });
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
    await applyQuickFix(workbench, textFix);
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
    // The run's check of the file (an error: no row has a label) is not listed again beside the warning with the fix.
    const runSays = (await workbench.problems()).filter((e) => e.source === 'PeerKD (run)' && /teacher label \(field/.test(e.message));
    assert.deepEqual(runSays, [], 'the run finding that repeats the label-field warning');

    const labelFix = "Use 'llm_label' as the teacher label field (workspace setting peerkd.fields.teacher)";
    await applyQuickFix(workbench, labelFix);
    await waitFor(() => /"peerkd\.fields\.teacher":\s*"llm_label"/.test(workbench.readFile('.vscode/settings.json')), {
      message: 'peerkd.fields.teacher in the workspace settings',
    });
    await workbench.waitForProblems((entries) => !entries.some((e) => e.source === 'PeerKD'), { message: 'no PeerKD problem left' });
  },
});
