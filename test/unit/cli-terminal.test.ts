/**
 * Control characters from the data (labels, ids, messages quoting them) never reach the terminal raw: every CLI line
 * goes through src/cli/terminal.ts. The JSON outputs (--json, predictions) keep the exact values.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeForTerminal, Terminal } from '../../src/cli/terminal';
import { readLatestRun } from '../../src/training/artifacts';
import { runCli, tempFolder } from '../fixtures/training/build';
import { writeJsonl } from '../support/jsonl';

const TITLE = 'World\x1b]0;pwned\x07';
const CLEAR = 'Spo\nrts\x1b[2J\x1b[H';
const LABELS = [TITLE, CLEAR];

let folder: string;
let dataset: string;

before(async () => {
  folder = await tempFolder('terminal');
  dataset = join(folder, 'evil.jsonl');
  const lines: string[] = [];
  for (let index = 0; index < 40; index++) {
    const label = LABELS[index % 2];
    const row: Record<string, unknown> = { id: `r${index}\x1b[31m`, text: `${index % 2 ? 'match goal team' : 'election minister vote'} ${index}`, teacher_label: label };
    if (index % 8 === 0) row.human_label = label;
    lines.push(JSON.stringify(row));
  }
  await writeFile(dataset, lines.join('\n') + '\n');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** No control character but the line ends, and no bidi override, anywhere in a terminal output. */
function assertClean(text: string, what: string): void {
  // eslint-disable-next-line no-control-regex -- looking for them is the point
  const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/.exec(text);
  assert.equal(raw, null, `${what} holds a raw control character ${JSON.stringify(raw?.[0])} in ${JSON.stringify(text.slice(0, 400))}`);
}

test('escapeForTerminal shows every control character as an escape and leaves other text alone', () => {
  assert.equal(escapeForTerminal('a\x1b[2Jb\nc\r\td\x07\x7f\u009b\u202e\u2028é日本 \\'), 'a\\x1b[2Jb\\nc\\r\\td\\x07\\x7f\\x9b\\u202e\\u2028é日本 \\');
  let out = '';
  const terminal = new Terminal({ write: (text: string) => (out += text) });
  terminal.lines(['x\ny', 'z']);
  terminal.data('{"a":"\\u001b"}\n');
  assert.equal(out, 'x\\ny\nz\n{"a":"\\u001b"}\n');
});

test('machine-readable output keeps the parsed values but shows no raw C1 control or bidi override to a terminal', () => {
  // JSON.stringify escapes C0 controls only: DEL, C1 (U+009B is an 8-bit CSI), U+2028 and the bidi overrides stay raw.
  const value = { id: 'r\u009b2J\u007f', predicted: 'bi\u202edi\u2066', probs: { 'a\u2028b': 1 } };
  let out = '';
  new Terminal({ write: (text: string) => (out += text) }).data(JSON.stringify(value) + '\n');
  assertClean(out, 'data');
  assert.doesNotMatch(out, /[\u2028\u2029\u2066-\u2069]/);
  assert.deepEqual(JSON.parse(out), value);
});

test('distill: labels with ESC sequences and newlines are escaped in the summary table, progress and verbose log; --json keeps them', async () => {
  const { code, stdout, stderr } = await runCli(['distill', 'evil.jsonl', '--backend', 'cpu', '--verbose'], folder);
  assert.equal(code, 0, stderr);
  assertClean(stdout, 'stdout');
  assertClean(stderr, 'stderr');
  const labelsLine = stdout.split('\n').find((line) => /^\s+labels\s/.test(line));
  assert.ok(labelsLine, stdout);
  // The table keeps one line per row, with the labels shown escaped (sorted as inferred).
  assert.match(labelsLine, /labels\s+Spo\\nrts\\x1b\[2J\\x1b\[H, World\\x1b\]0;pwned\\x07$/);
  assert.match(stdout, /\n\s+backend\s+\S+\n/);

  const json = await runCli(['distill', 'evil.jsonl', '--backend', 'cpu', '--json'], folder);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { summary: { labels: string[] } };
  assert.deepEqual(parsed.summary.labels, [CLEAR, TITLE]);
  assertClean(json.stderr, 'stderr of --json');

  // predict: the predictions on stdout are JSON with the exact labels and ids; the lines for people are escaped.
  const run = await readLatestRun(dataset);
  assert.ok(run);
  const predicted = await runCli(['predict', run.runDir, 'evil.jsonl', '--backend', 'cpu'], folder);
  assert.equal(predicted.code, 0, predicted.stderr);
  const rows = predicted.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: string; predicted: string });
  assert.equal(rows[0].id, 'r0\x1b[31m');
  assert.ok(LABELS.includes(rows[0].predicted));
  assertClean(predicted.stderr, 'stderr of predict');
});

test('error messages that quote the data are escaped', async () => {
  const bad = join(folder, 'bad\x1b[2J.jsonl');
  await writeFile(bad, `${JSON.stringify({ text: 'a', teacher_label: 'A', human_label: 'B\x1b]0;x\x07' })}\n${JSON.stringify({ text: 'b', teacher_label: 'A' })}\n`);
  const { code, stdout, stderr } = await runCli(['distill', bad, '--labels', 'A,C', '--backend', 'cpu'], folder);
  assert.equal(code, 1);
  assertClean(stdout + stderr, 'output');
  assert.match(stderr, /bad\\x1b\[2J\.jsonl:1: human label 'B\\u001b\]0;x\\u0007' \(field human_label\) is not in the label set: A, C/);

  // A newline in the quoted label must not split the message into a forged second line.
  const split = join(folder, 'split.jsonl');
  await writeFile(split, `${JSON.stringify({ text: 'a', teacher_label: 'A', human_label: 'B\nforged: all good' })}\n`);
  const forged = await runCli(['distill', split, '--labels', 'A,C', '--backend', 'cpu'], folder);
  assert.equal(forged.code, 1);
  assert.ok(!forged.stderr.split('\n').some((line) => line.startsWith('forged')), forged.stderr);
  assert.match(forged.stderr, /split\.jsonl:1: human label 'B\\u000aforged: all good' \(field human_label\) is not in the label set/);

  const unknown = await runCli(['no\x1b[2Jsuch'], folder);
  assert.equal(unknown.code, 2);
  assertClean(unknown.stderr, 'unknown command');
  assert.match(unknown.stderr, /unknown command 'no\\x1b\[2Jsuch'/);
});

test('label: an error that quotes labels from the data keeps each on one line', async () => {
  const rows = [
    { id: '1', text: 'a', human_label: 'Sports\nforged: OK' },
    { id: '2', text: 'b', human_label: 'sports\nforged: OK' },
    { id: '3', text: 'c' },
  ];
  await writeJsonl(folder, 'case.jsonl', rows);
  const { code, stderr } = await runCli(['label', 'case.jsonl', '--base-url', 'http://127.0.0.1:1/v1', '--model', 'm'], folder);
  assert.equal(code, 1, stderr);
  assert.ok(!stderr.split('\n').some((line) => line.startsWith('forged')), stderr);
  assert.match(stderr, /case\.jsonl: labels 'Sports\\u000aforged: OK' and 'sports\\u000aforged: OK' differ only in case or spacing/);

  await writeJsonl(folder, 'one.jsonl', [rows[0], rows[2]]);
  const one = await runCli(['label', 'one.jsonl', '--base-url', 'http://127.0.0.1:1/v1', '--model', 'm'], folder);
  assert.equal(one.code, 1, one.stderr);
  assert.ok(!one.stderr.split('\n').some((line) => line.startsWith('forged')), one.stderr);
});
