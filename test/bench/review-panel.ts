/**
 * Label Review panel benchmark: the host-side cost of preparing N flagged rows (join with the document, row views,
 * filter/sort/counts/confusion) and, in Chromium, the webview's time to first render and scroll frame times, using
 * the real media/review.css, the webview client bundle (dist/review.js: `npm run build` first) and the real toolkit,
 * with acquireVsCodeApi stubbed.
 *
 *   npm run build && node --import tsx test/bench/review-panel.ts [--rows 10000] [--json FILE]
 *
 * Prints measured figures; asserts nothing about speed.
 */
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { DocumentRowReader } from '../../src/review/documentRows';
import { DEFAULT_FILTERS, type DocumentRowState } from '../../src/review/model';
import { buildReviewRows } from '../../src/review/reviewRows';
import { ReviewSession, type ReviewDocument } from '../../src/review/session';
import { rerankQueue } from '../../src/review/queueRerank';
import { UndoStack } from '../../src/review/undo';
import { buildViewUpdate, toRowView } from '../../src/review/view';
import type { Prediction } from '../../src/training/types';
import { scrollThroughListScript, type ScrollTiming } from '../support/scrollTiming';

const root = resolve(__dirname, '..', '..');
const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, json: { type: 'string' } } });
const count = Number(values.rows);
const labels = ['Business', 'Sci/Tech', 'Sports', 'World'];

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function makeData(n: number): { predictions: Prediction[]; documentRows: Map<string, DocumentRowState> } {
  const random = seeded(42);
  const words = readFileSync(join(root, 'README.md'), 'utf8').split(/\s+/).filter((word) => /^[a-z]+$/i.test(word));
  const predictions: Prediction[] = [];
  const documentRows = new Map<string, DocumentRowState>();
  for (let i = 0; i < n; i++) {
    const teacher = labels[Math.floor(random() * 4)];
    let suggested = labels[Math.floor(random() * 4)];
    if (suggested === teacher) suggested = labels[(labels.indexOf(teacher) + 1) % 4];
    const p = 0.5 + random() * 0.5;
    const probs: Record<string, number> = {};
    for (const label of labels) probs[label] = label === suggested ? p : (1 - p) / 3;
    const id = `row-${i}`;
    const length = 20 + Math.floor(random() * 60);
    const text = Array.from({ length }, () => words[Math.floor(random() * words.length)]).join(' ');
    predictions.push({ id, line: i + 1, teacher, human: null, suggested, p_teacher_wrong: p, flagged: true, probs, peer_probs: probs, vanilla_probs: probs });
    documentRows.set(id, { line: i + 1, text, teacher, human: null });
  }
  return { predictions, documentRows };
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml' };

const PAGE = `<!DOCTYPE html><html><head><meta charset="UTF-8">
<link rel="stylesheet" href="/media/review.css">
<script>
  window.__posted = [];
  window.__state = undefined;
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => window.__state,
    setState: (s) => { window.__state = s; },
  });
</script></head><body>
<div id="app"></div>
<script type="module" src="/node_modules/@vscode/webview-ui-toolkit/dist/toolkit.min.js"></script>
<script type="module" src="/dist/review.js"></script>
</body></html>`;

/**
 * What one decision costs the extension host: the session writes the label, the document's change event re-reads its
 * rows (as src/editor/runState.ts does, with a DocumentRowReader) and rebuilds the rows, order, counts and table.
 * CPU time of each of 25 accepts on the top rows (wall time on a shared machine says more about the other jobs).
 */
async function decisionRefreshTimes(predictions: Prediction[], documentRows: Map<string, DocumentRowState>): Promise<number[]> {
  const lines = predictions.map((prediction) => {
    const row = documentRows.get(prediction.id)!;
    return JSON.stringify({ id: prediction.id, text: row.text, teacher_label: row.teacher });
  });
  const reader = new DocumentRowReader(DEFAULT_FIELDS);
  let read = reader.read(lines.join('\n'));
  const document: ReviewDocument = {
    open: async () => undefined,
    rows: () => read,
    lineText: (line) => lines[line - 1],
    writeRefusal: async () => null,
    replaceLines: async (writes) => {
      for (const write of writes) lines[write.line - 1] = write.text;
      read = reader.read(lines.join('\n'));
      session.documentChanged();
      return true;
    },
  };
  const session: ReviewSession = new ReviewSession({ predictions, labels }, document, { humanField: () => DEFAULT_FIELDS.human });
  const times: number[] = [];
  for (const key of session.view().order.slice(0, 25)) {
    const start = process.cpuUsage();
    await session.decide(key, { kind: 'accept' });
    times.push(process.cpuUsage(start).user / 1000);
  }
  return times;
}

async function main(): Promise<void> {
  const { predictions, documentRows } = makeData(count);

  const hostStart = performance.now();
  const rows = buildReviewRows(predictions, documentRows, { minProbability: 0 });
  const rowViews = rows.map(toRowView);
  const view = buildViewUpdate(rows, DEFAULT_FILTERS, new UndoStack(), labels);
  const init = {
    type: 'init',
    datasetName: 'bench.jsonl',
    datasetUri: 'file:///bench.jsonl',
    runId: 'bench',
    summary: 'Teacher ≈ 80% right (90% interval 72–88%). 10,000 rows flagged, about 7,400 of them wrong (90% interval 6,900–7,900).',
    labels,
    rows: rowViews,
    filters: DEFAULT_FILTERS,
    scrollTop: 0,
    selectedRowId: null,
    view,
  };
  const hostMs = performance.now() - hostStart;
  const initBytes = Buffer.byteLength(JSON.stringify(init));
  const filterStart = performance.now();
  const searched = buildViewUpdate(rows, { ...DEFAULT_FILTERS, search: 'review', minProbability: 0.7 }, new UndoStack(), labels);
  const filterMs = performance.now() - filterStart;

  // The review loop's re-rank (issue 10 §2): after 250 decisions on the top rows (the teacher kept on every 4th), refit
  // the review correction and re-score the queue (rerankQueue), then the new order, counts and table (buildViewUpdate):
  // what the panel does after every 25 decisions and on "Re-rank". Median of 5.
  const decided = new Map(rows.slice(0, 250).map((row, i) => [row.key, i % 4 === 0 ? (row.teacher ?? row.suggested) : row.suggested]));
  const keys = predictions.map((prediction) => prediction.id);
  const rerankTimes: number[] = [];
  const rerankViewTimes: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    const reranked = rerankQueue(predictions, keys, labels, (key) => decided.get(key) ?? null);
    rerankTimes.push(performance.now() - start);
    buildViewUpdate(rows, DEFAULT_FILTERS, new UndoStack(), labels, reranked);
    rerankViewTimes.push(performance.now() - start);
  }
  const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const decisionMs = await decisionRefreshTimes(predictions, documentRows);

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = join(root, decodeURIComponent(url.pathname));
    if (file !== join(root, 'dist', 'review.js') && !file.startsWith(join(root, 'media')) && !file.startsWith(join(root, 'node_modules', '@vscode', 'webview-ui-toolkit'))) {
      response.writeHead(404).end();
      return;
    }
    try {
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const browser = await chromium.launch({
    executablePath: process.env.PEERKD_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    // Browser-side code is passed as strings: this file is type-checked without the DOM library.
    await page.waitForFunction('window.__posted.some((m) => m.type === "ready")');
    // The message is delivered the way VS Code delivers it: a window `message` event carrying the object.
    await page.evaluate(`window.dispatchEvent(new MessageEvent('message', { data: ${JSON.stringify(init)} }))`);
    await page.waitForFunction('document.body.dataset.firstRenderMs !== undefined', undefined, { timeout: 60_000 });
    const firstRenderMs = Number(await page.evaluate('document.body.dataset.firstRenderMs'));
    const initScriptMs = Number(await page.evaluate('document.body.dataset.initScriptMs'));
    const domRows = Number(await page.evaluate("document.querySelectorAll('#list .row:not([hidden])').length"));
    // Scroll from top to bottom in 60 steps, one per frame, and record each frame's time.
    const frames = (await page.evaluate(scrollThroughListScript(60))) as ScrollTiming;
    // Keyboard: 200 presses of j, timed end to end.
    await page.evaluate("document.getElementById('list').focus()");
    const keyStart = Date.now();
    for (let i = 0; i < 200; i++) await page.keyboard.press('j');
    const keyMs = (Date.now() - keyStart) / 200;
    const sorted = [...frames.times].sort((a, b) => a - b);
    const result = {
      rows: count,
      hostPrepareMs: Number(hostMs.toFixed(1)),
      initMessageMB: Number((initBytes / 1e6).toFixed(2)),
      hostFilterMs: Number(filterMs.toFixed(1)),
      filteredRows: searched.order.length,
      rerankMs: Number(median(rerankTimes).toFixed(1)),
      rerankAndViewMs: Number(median(rerankViewTimes).toFixed(1)),
      decisionRefreshCpuMs: Number(median(decisionMs).toFixed(1)),
      firstRenderMs,
      initScriptMs,
      rowElementsAfterFirstRender: domRows,
      rowElementsAfterScrolling: frames.rowsInDom,
      scrollFrameMedianMs: Number(sorted[Math.floor(sorted.length / 2)].toFixed(1)),
      scrollFrameMaxMs: Number(sorted[sorted.length - 1].toFixed(1)),
      keyPressRoundTripMs: Number(keyMs.toFixed(1)),
      pageErrors: errors,
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
    if (errors.length > 0) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
