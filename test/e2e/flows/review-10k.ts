/**
 * Label Review at scale (issue 5): a run with 10,000 flagged rows. Measures, in code-server, the panel's time to first
 * render and that only the visible rows exist in the DOM while scrolling from the first row to the last; prints the
 * figures for docs/BENCHMARKS.md. The run is written with the engine's own RunWriter, so the flow needs no training.
 */
import * as assert from 'node:assert/strict';
import { defineFlow, waitFor } from '../harness';
import { DATASET, REVIEW_COMMAND, writeDatasetWithFlaggedRun } from '../reviewSupport';
import { scrollThroughListScript, type ScrollTiming } from '../../support/scrollTiming';

const ROWS = 10_000;

export default defineFlow({
  name: 'review: 10,000 flagged rows render fast and scroll with only the visible rows in the DOM',
  fixture: 'review',
  timeoutMs: 300_000,
  async prepare(workspaceDir) {
    await writeDatasetWithFlaggedRun(workspaceDir, ROWS);
  },
  async run(workbench) {
    await workbench.openFile(DATASET);
    const asked = Date.now();
    await workbench.runCommand(REVIEW_COMMAND);
    // Once in three full e2e runs (and once under heavy load) the palette click was lost and no panel opened; the
    // command is idempotent (it reveals the panel), so ask once more rather than fail on the harness's click.
    const frame = await workbench.webviewFrame({ selector: '#list .row', timeoutMs: 60_000 }).catch(async () => {
      await workbench.runCommand(REVIEW_COMMAND);
      return workbench.webviewFrame({ selector: '#list .row', timeoutMs: 120_000 });
    });
    const firstRenderMs = Number(
      await waitFor(() => frame.evaluate('document.body.dataset.firstRenderMs') as Promise<string | undefined>, {
        timeoutMs: 60_000,
        message: 'the first render',
      }),
    );
    const sinceCommand = Date.now() - asked;
    const flagged = (await frame.locator('[data-count="flagged"] b').innerText()).replace(/,/g, '');
    assert.equal(flagged, String(ROWS));
    const domRows = await frame.locator('#list .row').count();
    assert.ok(domRows < 100, `only the visible rows are in the DOM, found ${domRows}`);

    // Scroll through every row in 50 steps, each waiting for a frame; record the frame times.
    const frames = (await frame.evaluate(scrollThroughListScript(50))) as ScrollTiming;
    assert.ok(frames.rowsInDom < 100, `after scrolling, ${frames.rowsInDom} row elements`);
    const sorted = [...frames.times].sort((a, b) => a - b);
    // Focus the webview on something that does not move (pooled row elements are repositioned as the list scrolls).
    await frame.locator('#counts').click();
    await workbench.page.keyboard.press('End');
    await waitFor(async () => (await frame.locator('#list .row.selected').getAttribute('data-index')) === String(ROWS - 1), {
      message: 'End to select the last row',
    });
    // The host logs the webview's report with the time since the command asked for the panel (no harness polling).
    const logText = await workbench.outputChannelText('PeerKD', { contains: /first render of 10,000 flagged rows/ });
    const hostFigures = /first render of 10,000 flagged rows ([\d.]+) ms after the rows arrived; (\d+) ms after the panel was asked for/.exec(
      logText.replace(/\s+/g, ' '),
    );
    const prepared = /prepared 10,000 rows for the panel in (\d+) ms/.exec(logText.replace(/\s+/g, ' '));
    const ready = /webview ready (\d+) ms after the panel was asked for/.exec(logText.replace(/\s+/g, ' '));
    assert.ok(hostFigures, logText);
    console.log(
      `Label Review, ${ROWS} flagged rows in code-server: first render ${firstRenderMs.toFixed(1)} ms after the rows arrived, ` +
        `${hostFigures[2]} ms from the command to the rendered list (host log: webview ready after ${ready?.[1] ?? '?'} ms, rows prepared in ${prepared?.[1] ?? '?'} ms), ${sinceCommand} ms as the harness saw it; ` +
        `${domRows} row elements; scroll frames median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`,
    );
    await workbench.screenshot('review-10k');
  },
});
