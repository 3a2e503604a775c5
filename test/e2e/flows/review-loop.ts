/**
 * Label Review's review loop, as the user sees it (issue 10 §2, §3.12):
 * - "Why flagged": selecting a row marks, in its text, the words that push the peers towards the suggestion and
 *   those that push back (two theme colours, the contribution in each word's tooltip), and lists the most similar
 *   human-labelled rows; clicking one opens its line in the editor. (The README's pictures of the panel come from a
 *   real run: distill-palette.ts.)
 * - The queue switch: "Flagged (N)" → "Doubtful (not flagged) (D)" → "No teacher label (M)" by `q`; the doubtful rows
 *   show the most likely other label and p(teacher wrong), the line under the toolbar says what the queue is, and
 *   Accept all ≥ p refuses that queue; the unlabelled rows show their advice and its p.
 * - Re-rank: after 25 decisions the header says "re-ranked after 25 decisions" and the selection stays on its row,
 *   each row's p unchanged; `r` and "PeerKD: Re-rank Review Queue" re-rank on demand.
 * - `o` opens the dataset in its own group (here group 2), not in column One where the panel sits.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { doubtfulPredictions } from '../../../src/training/doubtful';
import type { Prediction } from '../../../src/training/types';
import { defineFlow, waitFor } from '../harness';
import { completedRuns, DATASET, panelPictures, readPredictions, recordNotices, REVIEW_COMMAND, reviewOrder, writeDatasetWithFlaggedRun } from '../reviewSupport';

const OTHER_FILE = 'notes.txt';
const ROWS = 300;
const UNLABELLED = 12;
/** Teacher-labelled rows the run does not flag (p 0.30–0.45): it doubts round(Σp) of them. */
const UNFLAGGED = 8;

export default defineFlow({
  name: 'review: why flagged marks the words, queue switch, re-rank after 25 decisions and on demand, o opens the dataset in its group',
  fixture: 'review',
  timeoutMs: 300_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, ROWS, undefined, UNLABELLED, UNFLAGGED);
    writeFileSync(join(workspaceDir, OTHER_FILE), 'Another file, open in the first editor group.\n');
    // "Why flagged" as a run writes it: the row's first long word pushes towards the suggestion, its last one back.
    const runDir = join(workspaceDir, '.peerkd', 'runs', readdirSync(join(workspaceDir, '.peerkd', 'runs')).find((name) => /^\d{8}-/.test(name))!);
    const predictions = readFileSync(join(runDir, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Prediction);
    const texts = readFileSync(join(workspaceDir, DATASET), 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
    writeFileSync(
      join(runDir, 'explanations.jsonl'),
      predictions
        .map((p, row) => ({ p, row, words: (texts[row].toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => word.length > 5) }))
        .filter(({ p, words }) => p.flagged && words.length >= 2)
        .map(({ p, row, words }) =>
          JSON.stringify({
            row,
            id: p.id,
            towards: p.suggested,
            away: p.teacher,
            logit_difference: 2.5,
            bias: 0.25,
            dense: 0,
            words: [[words[0], 1.75]],
            other_words: 0.5,
            against: [[words[words.length - 1], -0.4]],
            similar: [{ id: predictions[1].id, line: 2, label: 'World', similarity: 0.42 }],
          }),
        )
        .join('\n') + '\n',
    );
  },
  async run(workbench) {
    const page = workbench.page;
    // The other file in group 1, the dataset in group 2: Label Review then opens beside the dataset, in group 1.
    await workbench.openFile(OTHER_FILE);
    // The second file from the Explorer: Quick Open right after the first can still pick the recent notes.txt on Enter.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: DATASET }).first().dblclick();
    await page.locator(`.tabs-container .tab.active[data-resource-name="${DATASET}"]`).waitFor({ state: 'visible', timeout: 15_000 });
    await workbench.runCommand('View: Move Editor into Right Group');
    await waitFor(async () => (await page.locator('.editor-group-container').count()) === 2, { message: 'two editor groups' });
    await page.locator('.editor-group-container').nth(1).locator(`.tab.active[data-resource-name="${DATASET}"]`).waitFor({ state: 'visible', timeout: 15_000 });
    const [runId] = completedRuns(workbench);
    const order = reviewOrder(readPredictions(workbench, runId));
    const first = order[0];

    await workbench.runCommand(REVIEW_COMMAND);
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 });
    await frame.locator('#list .row[data-index="0"]').click();

    // Why flagged: the words marked in the row's text, each with its contribution in its tooltip.
    const towards = frame.locator('#row-text mark.word-towards').first();
    await towards.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match((await towards.getAttribute('title')) ?? '', new RegExp(`\\+1\\.75 to the logit difference '${first.suggested.replace('/', '\\/')}'`));
    const away = frame.locator('#row-text mark.word-away').first();
    assert.match((await away.getAttribute('title')) ?? '', /−0\.40 .*pushes towards '/);
    assert.match(await frame.locator('#why-flagged').innerText(), /Why flagged: .*\+2\.50 \(logit\)[\s\S]*Similar rows with a human label: line 2: 'World'/);
    // The panel's editor group maximised, a row selected with its explanation, in both themes.
    // The marks take the theme's diff colours in the dark theme.
    await panelPictures(workbench, frame, 'review-loop-panel');

    // Clicking a similar row opens its line in the dataset's editor.
    await frame.locator('#why-flagged a.similar-row').first().click();
    await waitFor(async () => /^Ln 2, Col 1\b/.test(await page.locator('.statusbar-item[id="status.editor.selection"]').innerText().catch(() => '')), {
      message: 'the similar row (line 2) to be shown in the editor',
    });
    assert.equal(await page.locator('.editor-group-container').count(), 2, 'no third editor group');

    // The queue switch, by key: first the doubtful rows (not flagged), each suggesting the most likely other label.
    const predictions = readPredictions(workbench, runId);
    const doubtful = doubtfulPredictions(predictions).rows.map((index) => predictions[index]);
    assert.ok(doubtful.length >= 2, `the run doubts unflagged rows (${doubtful.length})`);
    await frame.locator('#list .row.selected').click();
    await page.keyboard.press('q');
    await waitFor(async () => (await frame.locator('[data-count="rows"] b').innerText().catch(() => '')) === String(doubtful.length), {
      message: `the doubtful queue (${doubtful.length} rows)`,
    });
    assert.match(await frame.locator('#queue-note').innerText(), new RegExp(`^Doubtful: not flagged — .* these ${doubtful.length} rows hold about \\d+ of the \\d+ errors`));
    await frame.locator('#list .row[data-index="0"]').click();
    await waitFor(async () => (await frame.locator('#details .row-facts').innerText().catch(() => '')).includes(`id ${doubtful[0].id}`), { message: 'the first doubtful row selected' });
    assert.match(await frame.locator('#details .row-facts').innerText(), new RegExp(`not flagged · p\\(teacher wrong\\) = ${doubtful[0].p_teacher_wrong.toFixed(2)}`));
    const other = Object.entries(doubtful[0].probs).filter(([label]) => label !== doubtful[0].teacher).sort((a, b) => b[1] - a[1])[0][0];
    assert.equal((await frame.locator('#details vscode-button[data-action="accept"]').innerText()).trim(), `Accept '${other}'`);
    // The panel's notes go after 5 s: the page records each as it appears, from before the action that shows it.
    const notes = await recordNotices(frame);
    await frame.locator('vscode-button[data-action="bulk-accept"]').click();
    await notes.next(/does not act on the doubtful queue/, 'bulk accept to refuse the doubtful queue');
    // Then the rows without a teacher label, with their advice and its probability.
    await frame.locator('#list .row.selected').click();
    await page.keyboard.press('q');
    await waitFor(async () => (await frame.locator('[data-count="rows"] b').innerText().catch(() => '')) === String(UNLABELLED), {
      message: `the queue without teacher labels (${UNLABELLED} rows)`,
    });
    assert.match(await frame.locator('#details .row-facts').innerText(), /no teacher label · advice '[^']+', p = 0\.\d\d/);
    assert.equal(await frame.locator('#why-flagged').count(), 0, 'no "why flagged" for a row nobody flagged');
    await page.keyboard.press('q');
    await waitFor(async () => (await frame.locator('[data-count="flagged"] b').innerText().catch(() => '')) === String(order.length), {
      message: 'the flagged queue again',
    });

    // 25 decisions: the queue is re-ranked, the header says so, the selection stays on its row, p unchanged.
    await frame.locator('#list .row[data-index="0"]').click();
    const pOf = async (id: string) => (await frame.locator(`#list .row[data-id="${id}"] .p`).innerText()).trim();
    // One decision at a time, as a reader decides: each waits for the panel to count it.
    for (let n = 1; n <= 24; n++) {
      await page.keyboard.press('a');
      await waitFor(async () => (await frame.locator('[data-count="reviewed"] b').innerText()) === String(n), { message: `${n} decisions counted` });
    }
    assert.equal(await frame.locator('#rerank-note').innerText(), '');
    const next = order[25];
    await page.keyboard.press('a');
    await waitFor(async () => (await frame.locator('#rerank-note').innerText()) === 're-ranked after 25 decisions', { message: 'the header to say the queue was re-ranked' });
    assert.equal(await frame.locator('#list .row.selected').getAttribute('data-id'), next.id, 'the selection stayed on its row');
    assert.equal(await pOf(next.id), next.p_teacher_wrong.toFixed(2), "the probability shown is still the run's");
    await workbench.screenshot('review-reranked');

    // Each decision is appended to the dataset's review log beside its runs (src/review/reviewLog.ts): the next run
    // counts exactly these labels as reviewed, and no other label on a flagged row.
    const logDir = workbench.path(join('.peerkd', 'runs', 'review-log'));
    const logged = await waitFor(() => {
      try {
        const files = readdirSync(logDir);
        const lines = files.length === 1 ? readFileSync(join(logDir, files[0]), 'utf8').split('\n').filter(Boolean) : [];
        return lines.length === 25 ? lines.map((line) => JSON.parse(line) as { key: string; label: string; queue: string; action: string }) : false;
      } catch {
        return false;
      }
    }, { message: 'the 25 decisions in the review log' });
    assert.deepEqual([...new Set(logged.map((entry) => `${entry.queue} ${entry.action}`))], ['flagged decide']);
    assert.ok(logged.every((entry) => typeof entry.label === 'string'), 'each entry holds the label written');

    // On demand: the key and the palette command.
    // Each its own note: the command's is a note shown after the key's (which could still be on screen).
    await page.keyboard.press('r');
    await notes.next(/Re-ranked on your 25 decisions/, "the re-rank key's note");
    await workbench.runCommand('PeerKD: Re-rank Review Queue');
    await notes.next(/Re-ranked on your 25 decisions/, "the command's note");

    // `o`: the dataset opens in its own group (group 2), not in column One where the panel is.
    await frame.locator('#list .row.selected').click();
    await page.keyboard.press('o');
    // The dataset's editor in group 2 takes the focus (the tab there was active already, so wait for the focus).
    await page.locator('.editor-group-container').nth(1).locator('.monaco-editor.focused').waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('.editor-group-container').nth(1).locator(`.tab.active[data-resource-name="${DATASET}"]`).waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await page.locator('.editor-group-container').nth(0).locator('.tab.active', { hasText: 'Label Review' }).count(), 1, 'the panel stays shown in group 1');
    assert.equal(await page.locator('.editor-group-container').count(), 2, 'no third editor group');
  },
});
