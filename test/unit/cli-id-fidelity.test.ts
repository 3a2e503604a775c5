/**
 * What PeerKD writes back keeps each id's JSON type: a dataset whose rows say `{"id": 7, …}` got `"id":"7"` in the
 * run's predictions.jsonl, so a join of that file on the user's own ids (jq, pandas: 7 ≠ "7") matched nothing; an id
 * beyond 2^53 was written as a string of its digits. Now a number stays a number (its digits as written, never
 * rounded), a text id stays text ("7" is still written "7"), and every reader of the run (Label Review, `peerkd
 * export`, the next run's reviewed-row rule) still finds each row by its id: 7 and "7" are one id, as the dataset
 * parser's duplicate-id rule says; distinct big ids never collapse.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parseDatasetText } from '../../src/dataset/index';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { formatExplanation, formatPrediction, parseExplanations, parsePredictions, readRun } from '../../src/training/artifacts';
import type { RowExplanation } from '../../src/training/types';
import { PredictionTable } from '../../src/training/predictionTable';
import { readPreviousRun } from '../../src/training/reviewedRows';
import { keyedRun } from '../../src/review/keyedRun';
import { runCli, tempFolder } from '../fixtures/training/build';
import { NEWS_LABELS, NEWS_WORDS } from '../support/syntheticRows';

let folder: string;
/** The folder of the first test's run (a trained model for the predict tests after it). */
let trained: string | undefined;

before(async () => {
  folder = await tempFolder('id-fidelity');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const LABELS = NEWS_LABELS;
const WORDS = NEWS_WORDS;

/** The id written on row `index`: numbers, text that looks like a number, big integers, text, none. */
function idText(index: number): string | undefined {
  switch (index % 5) {
    case 0:
      return String(index); // a number: 0, 5, 10, …
    case 1:
      return JSON.stringify(`${index}`); // text that looks like a number: "1", "6", …
    case 2:
      return `12345678901234560${String(index).padStart(2, '0')}`; // beyond 2^53, distinct digits JSON.parse rounds together
    case 3:
      return JSON.stringify(`r${index}`);
    default:
      return undefined;
  }
}

function datasetText(): string {
  const lines: string[] = [];
  for (let index = 0; index < 80; index++) {
    const label = LABELS[index % 4];
    const words = WORDS[label];
    const text = JSON.stringify(`${words[index % 4]} ${words[(index + 1) % 4]} ${words[(index + 2) % 4]} news ${index}`);
    const teacher = JSON.stringify(index % 10 === 7 ? LABELS[(index + 1) % 4] : label);
    const human = index % 8 === 0 ? `, "human_label": ${JSON.stringify(label)}` : '';
    const id = idText(index);
    lines.push(`{${id === undefined ? '' : `"id": ${id}, `}"text": ${text}, "teacher_label": ${teacher}${human}}`);
  }
  return lines.join('\n') + '\n';
}

test("a run's predictions.jsonl writes each id with the JSON type the dataset gives it; export and the next run still find every row", async () => {
  const work = join(folder, 'run');
  await mkdir(work);
  const text = datasetText();
  await writeFile(join(work, 'data.jsonl'), text);
  const distilled = await runCli(['distill', 'data.jsonl', '--encoder', 'none', '--backend', 'cpu', '--stages', '1'], work);
  assert.equal(distilled.code, 0, distilled.stderr);
  const runId = (await readFile(join(work, '.peerkd', 'runs', 'latest'), 'utf8')).trim();
  const runDir = join(work, '.peerkd', 'runs', runId);
  trained = work;
  const predictionLines = (await readFile(join(runDir, 'predictions.jsonl'), 'utf8')).trimEnd().split('\n');
  assert.equal(predictionLines.length, 80);
  // The id as each line writes it, read from the text (JSON.parse would round the big ones).
  const written = predictionLines.map((line) => /^\{"id":("(?:[^"\\]|\\.)*"|[^,]+),"line":/.exec(line)?.[1]);
  for (let index = 0; index < 80; index++) {
    const id = idText(index);
    const expected = id === undefined ? written[index] : id; // a row without an id: its text's hash, as before
    assert.equal(written[index], expected, `line ${index + 1}: ${predictionLines[index].slice(0, 60)}`);
  }
  assert.match(written[4]!, /^"text:[0-9a-f]{16}"$/);
  // The big ids keep their own digits: no two rows share one.
  assert.equal(new Set(written).size, 80);

  // explanations.jsonl writes the same ids the same way: the flagged row's and its similar rows'.
  const explanationLines = (await readFile(join(runDir, 'explanations.jsonl'), 'utf8')).trimEnd().split('\n');
  assert.ok(explanationLines.length > 0);
  const byIdentity = new Map(written.map((text, index) => [text, index]));
  for (const line of explanationLines) {
    const ids = [...line.matchAll(/"id":("(?:[^"\\]|\\.)*"|[^,]+),/g)].map((match) => match[1]);
    assert.ok(ids.length >= 1, line);
    // Each id is written as predictions.jsonl writes that row's id (so a number as a number).
    for (const id of ids) assert.ok(byIdentity.has(id), `${id} in ${line.slice(0, 80)}`);
  }
  assert.ok(explanationLines.some((line) => /"id":12345678901234560\d\d,/.test(line)), 'a flagged row with a big id');

  // Label Review reads the run back with each row's identity as the dataset core reads it.
  const run = keyedRun(await readRun(runDir));
  const identities = parseDatasetText(text, DEFAULT_FIELDS).rows.map((row) => row.id);
  assert.deepEqual([...run.byKey.keys()].sort(), [...identities].sort());
  assert.equal(run.byKey.get('0')?.numericId, true);
  assert.equal(run.byKey.get('1')?.numericId, undefined);
  assert.equal(run.byKey.get('1234567890123456002')?.numericId, true);
  // Its explanations too: each is its row's (the id read back as the prediction's identity).
  assert.equal(run.explanations.size, explanationLines.length);
  const similarIds = [...run.explanations.values()].flatMap((explanation) => explanation.similar.map((entry) => entry.id));
  assert.ok(similarIds.length > 0 && similarIds.every((id) => identities.includes(id)), similarIds.join(', '));

  // The next run's reviewed-row rule reads the same file: it read only text ids ("not a prediction" on a number).
  const previous = await readPreviousRun(join(work, 'data.jsonl'), { runsDirs: [join(work, '.peerkd', 'runs')] }, new Set(identities));
  assert.equal(previous?.seen?.size, 80);
  const again = await runCli(['distill', 'data.jsonl', '--encoder', 'none', '--backend', 'cpu', '--stages', '1'], work);
  assert.equal(again.code, 0, again.stderr);

  // The export matches every row to the run by its id: none is "not in run".
  const exported = await runCli(['export', 'data.jsonl', '--advice-min-p', '0.5'], work);
  assert.equal(exported.code, 0, exported.stderr);
  assert.doesNotMatch(exported.stdout, /not in run/);
  const copy = (await readFile(join(work, 'data.reviewed.jsonl'), 'utf8')).trimEnd().split('\n');
  assert.ok(copy.every((line) => /"p_teacher_wrong":/.test(line)), 'every row has the run probability');
  // The copy writes each line's id as the dataset does (byte for byte).
  text.trimEnd().split('\n').forEach((line, index) => assert.ok(copy[index].startsWith(line.slice(0, -1)), copy[index]));

  // `peerkd predict` writes the same ids the same way.
  const predicted = await runCli(['predict', '.peerkd/runs/latest', 'data.jsonl'], work);
  assert.equal(predicted.code, 0, predicted.stderr);
  const predictedIds = predicted.stdout.trimEnd().split('\n').map((line) => /^\{"id":("(?:[^"\\]|\\.)*"|[^,]+),"predicted":/.exec(line)?.[1]);
  assert.deepEqual(predictedIds, written);

  // An id field that is no identity (an object, a list, null, "", a boolean) is written back as the row writes it:
  // it was replaced by a hash of the text, which no join on the user's file matches. 1.0 is the number 1.
  const odd = ['{"id": {"a": 1}, "text": "goal team"}', '{"id": [1, 2], "text": "stocks bank"}', '{"id": null, "text": "chip space"}', '{"id": "", "text": "vote summit"}', '{"id": true, "text": "goal match"}', '{"id": 1.0, "text": "bank profit"}', '{"text": "robot chip"}'];
  await writeFile(join(work, 'odd.jsonl'), odd.join('\n') + '\n');
  const oddPredicted = await runCli(['predict', '.peerkd/runs/latest', 'odd.jsonl'], work);
  assert.equal(oddPredicted.code, 0, oddPredicted.stderr);
  const oddIds = oddPredicted.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { id: unknown }).id);
  assert.deepEqual(oddIds.slice(0, 6), [{ a: 1 }, [1, 2], null, '', true, 1]);
  assert.match(oddIds[6] as string, /^text:[0-9a-f]{16}$/);
});

test('the one line writer and reader: a numeric id round-trips with its type and digits; a string that looks like a number stays a string', () => {
  const rows = [
    { id: '7', numericId: true as const, line: 1, text: 't1', teacher: 'A', human: null },
    { id: '7', line: 2, text: 't2', teacher: 'A', human: null },
    { id: '1234567890123456001', numericId: true as const, line: 3, text: 't3', teacher: 'A', human: null },
    { id: '1234567890123456002', numericId: true as const, line: 4, text: 't4', teacher: 'A', human: null },
    { id: '-2.5', numericId: true as const, line: 5, text: 't5', teacher: 'A', human: null },
  ];
  const n = rows.length;
  const table = new PredictionTable({
    rows,
    labels: ['A', 'B'],
    suggested: new Int32Array(n),
    pTeacherWrong: new Float32Array(n),
    flagged: new Uint8Array(n),
    probs: new Float32Array(n * 2).fill(0.5),
    peerProbs: new Float32Array(n * 2).fill(0.5),
    vanillaProbs: new Float32Array(n * 2).fill(0.5),
  });
  const lines = rows.map((_, index) => table.line(index));
  assert.deepEqual(
    lines.map((line) => line.slice(0, line.indexOf(',"line"'))),
    ['{"id":7', '{"id":"7"', '{"id":1234567890123456001', '{"id":1234567890123456002', '{"id":-2.5'],
  );
  // The object writer writes the same bytes as the table's.
  assert.deepEqual(rows.map((_, index) => formatPrediction(table.get(index))), lines);
  // Read back: identities as the dataset core has them, distinct big ids kept apart, the type remembered.
  const read = parsePredictions(lines.join('\n'), 'predictions.jsonl');
  assert.deepEqual(read.map((prediction) => [prediction.id, prediction.numericId]), [
    ['7', true],
    ['7', undefined],
    ['1234567890123456001', true],
    ['1234567890123456002', true],
    ['-2.5', true],
  ]);
  assert.deepEqual(read.map(formatPrediction), lines);
  // explanations.jsonl: the same rule, for the row's id and its similar rows' (a text id written as before, byte for byte).
  const explanation = (id: string, numericId: true | undefined, similarId: string, similarNumeric: true | undefined): RowExplanation => ({
    row: 0,
    id,
    ...(numericId ? { numericId } : {}),
    towards: 'B',
    away: 'A',
    logit_difference: 1,
    bias: 0,
    dense: 0,
    words: [['w', 1]],
    other_words: 0,
    against: [],
    similar: [{ id: similarId, ...(similarNumeric ? { numericId: similarNumeric } : {}), line: 4, label: 'B', similarity: 0.5 }, { id: 'x', line: 9, label: 'B', similarity: 0.25 }],
  });
  const textual = explanation('7', undefined, '1234567890123456002', undefined);
  assert.equal(formatExplanation(textual), JSON.stringify(textual));
  const numeric = explanation('1234567890123456001', true, '1234567890123456002', true);
  const numericLine = formatExplanation(numeric);
  assert.match(numericLine, /^\{"row":0,"id":1234567890123456001,"towards":"B",.*"similar":\[\{"id":1234567890123456002,"line":4,.*\{"id":"x","line":9/);
  // Every other field as before: the line with its numbers quoted is the text ids' line.
  assert.equal(numericLine.replace(/:(1234567890123456\d+)/g, ':"$1"'), formatExplanation(explanation('1234567890123456001', undefined, '1234567890123456002', undefined)));
  const readBack = parseExplanations(numericLine, 'explanations.jsonl', 1).get(0)!;
  assert.deepEqual([readBack.id, readBack.numericId, readBack.similar.map((entry) => [entry.id, entry.numericId])], ['1234567890123456001', true, [['1234567890123456002', true], ['x', undefined]]]);
  assert.equal(formatExplanation(readBack), numericLine);

  // An id that is no id (null, an object, a list, an empty string, a boolean) is refused naming the file and line.
  for (const id of ['null', '{}', '[7]', '""', 'true']) {
    assert.throws(() => parsePredictions(lines[0].replace('"id":7', `"id":${id}`), 'predictions.jsonl'), {
      message: "predictions.jsonl:1: 'id' must be a non-empty string or a number",
    });
  }
});

test('predict --out: a file that appears while the rows are predicted is never replaced (it was, silently)', async () => {
  assert.ok(trained, 'the first test trained a model');
  const work = trained;
  const out = join(work, 'fresh.predictions.jsonl');
  // The rows come on standard input, which predict reads only once --out was checked (not there then). Once the pipe
  // has taken the first 4 MB, predict is reading them: the user's file appears at --out, then the rows end.
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(__dirname, '..', '..', 'src', 'cli', 'main.ts'), 'predict', '.peerkd/runs/latest', '-', '--out', out], { cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const row = (index: number) => `${JSON.stringify({ id: index, text: `goal team coach match news ${index} `.repeat(8) })}\n`;
  const first = Array.from({ length: 16_000 }, (_, index) => row(index)).join('');
  assert.ok(first.length > 4_000_000);
  await new Promise<void>((resolve, reject) => child.stdin.write(first, (error) => (error ? reject(error) : resolve())));
  await writeFile(out, 'my own notes\n');
  child.stdin.end(row(16_000));
  assert.equal(await closed, 1, stderr);
  assert.equal(stderr.trim().split('\n').at(-1), `peerkd predict: ${out} appeared while the rows were predicted, so it is not replaced; choose another output file, or remove it and predict again`);
  assert.equal(await readFile(out, 'utf8'), 'my own notes\n');
  assert.ok(!(await readdir(work)).some((name) => name.endsWith('.tmp')), 'no temporary file left');
});
