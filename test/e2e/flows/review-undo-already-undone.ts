/**
 * A decision of Label Review undone in the dataset's editor itself (Ctrl+Z there), then `u` in the panel: the panel's
 * undo entry finds its line already back as it was before the decision (src/review/undo.ts planUndo alreadyUndone), so
 * it says so, naming the line, and writes nothing (src/review/session.ts undoMessage). The entry is used up: a second
 * `u` has nothing left to undo. The same after File: Revert File instead of Ctrl+Z.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, readPredictions, recordNotices, REVIEW_COMMAND, reviewOrder, writeDatasetWithFlaggedRun } from '../reviewSupport';

export default defineFlow({
  name: 'review: a decision undone in the editor with Ctrl+Z, or the file reverted, then u in the panel says it was already undone and writes nothing',
  fixture: 'review',
  timeoutMs: 180_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, 12);
  },
  async run(workbench) {
    const page = workbench.page;
    const [runId] = completedRuns(workbench);
    const [row, second] = reviewOrder(readPredictions(workbench, runId));
    assert.ok(row && second, 'the run flags two rows');
    const original = readFileSync(workbench.path(DATASET));
    await workbench.openFile(DATASET);
    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    const rowLocator = frame.locator(`#list .row[data-id="${row.id}"]`).first();
    const human = () => rowLocator.getAttribute('data-human').catch(() => null);
    const dirtyTab = page.locator(`.tabs-container .tab.dirty[data-resource-name="${DATASET}"]`);
    // The panel's notes go after 5 s: the page records each as it appears (under load a wait begun later missed them).
    const notes = await recordNotices(frame);

    // Accept the suggestion in the panel: the editor's buffer gets the label (unsaved).
    await rowLocator.click();
    await page.keyboard.press('a');
    await waitFor(async () => (await human()) === row.suggested, { message: `the accepted label on row ${row.id}` });
    await waitFor(async () => (await dirtyTab.count()) > 0, { message: 'the dataset tab dirty with the decision' });

    // Ctrl+Z in the dataset's editor takes the decision back there: the buffer is the file again, the panel sees it.
    await workbench.focusEditor(DATASET);
    await page.keyboard.press('Control+Z');
    await waitFor(async () => (await human()) === '', { message: 'the panel to see the label undone in the editor' });
    await waitFor(async () => (await dirtyTab.count()) === 0, { message: 'the dataset tab clean again after Ctrl+Z' });
    const undoButton = frame.locator('header [data-action="undo"]');
    assert.equal(await undoButton.getAttribute('title'), `Undo: Accept '${row.suggested}' (u)`, "the panel's undo still offers the decision");
    const beforeU = readFileSync(workbench.path(DATASET));
    assert.ok(beforeU.equals(original), 'the file on disk is the original');

    // u in the panel: the entry is already undone; the notice names the line, and nothing is written.
    await rowLocator.click();
    await page.keyboard.press('u');
    const expected = `"Accept '${row.suggested}'" already undone: line ${row.line} holds what it held before the decision; nothing was written.`;
    await notes.next(expected, 'the u on an entry already undone');
    assert.equal(await human(), '', 'the row still has no human label');
    assert.equal(await dirtyTab.count(), 0, 'the u wrote nothing into the editor');
    // Saved now, the file is byte for byte what it was before the u.
    await workbench.focusEditor(DATASET);
    await workbench.save();
    assert.ok(readFileSync(workbench.path(DATASET)).equals(beforeU), 'the file on disk is unchanged by the u');
    assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: 'could not undo' }).count(), 0, 'no conflict warning');

    // The entry was used up: a second u has nothing left.
    await rowLocator.click();
    await page.keyboard.press('u');
    await notes.next('Nothing to undo.', 'the second u to find nothing to undo');

    // The same with the file reverted (File: Revert File) instead of Ctrl+Z.
    const secondLocator = frame.locator(`#list .row[data-id="${second.id}"]`).first();
    await secondLocator.click();
    await page.keyboard.press('a');
    await waitFor(async () => (await secondLocator.getAttribute('data-human')) === second.suggested, { message: `the accepted label on row ${second.id}` });
    await workbench.focusEditor(DATASET);
    await workbench.runCommand('File: Revert File');
    await waitFor(async () => (await secondLocator.getAttribute('data-human')) === '', { message: 'the panel to see the file reverted' });
    await waitFor(async () => (await dirtyTab.count()) === 0, { message: 'the dataset tab clean after the revert' });
    await secondLocator.click();
    await page.keyboard.press('u');
    const reverted = `"Accept '${second.suggested}'" already undone: line ${second.line} holds what it held before the decision; nothing was written.`;
    await notes.next(reverted, 'the u on an entry the revert undid');
    assert.equal(await secondLocator.getAttribute('data-human'), '', 'the reverted row still has no human label');
    assert.equal(await dirtyTab.count(), 0, 'the u wrote nothing into the reverted editor');
    assert.ok(readFileSync(workbench.path(DATASET)).equals(original), 'the file on disk is the original');
  },
});
