/**
 * `peerkd distill` and `peerkd predict` on a 200-row slice of NoisyAG-News. The distill run is the real CLI in a
 * real process (main.ts under tsx), which forks the real worker through the real client.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDistillCommand, formatSummary, type CliIo } from '../../src/cli/distill';
import { createPredictCommand } from '../../src/cli/predict';
import { createProgressRenderer, describeProgress, formatDuration } from '../../src/cli/progress';
import { readLatestRun } from '../../src/training/artifacts';
import type { RunSummary } from '../../src/training/protocol';
import { repoRoot, runCli as runCliIn, tempFolder } from '../fixtures/training/build';

let folder: string;
let dataset: string;

before(async () => {
  folder = await tempFolder('cli');
  dataset = join(folder, 'agnews-200.jsonl');
  await copyFile(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function capture(isTTY = false): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text), isTTY },
    stderr: { write: (text: string) => (err += text), isTTY },
    out: () => out,
    err: () => err,
  };
}

function runCli(args: string[]) {
  return runCliIn(args, folder);
}

test('peerkd distill runs the worker, prints progress lines, the artefacts folder and a summary; predict uses the model', async () => {
  const { code, stdout, stderr } = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--seed', '1']);
  assert.equal(code, 0, stderr);
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  assert.match(stdout, new RegExp(`Run ${latest.runId} complete\\.`));
  assert.ok(stdout.includes(`Artefacts: ${latest.runDir}`));
  // Every file the run folder holds, explanations.jsonl included (README's table of run artefacts).
  assert.ok(stdout.includes('\n  predictions.jsonl, explanations.jsonl, metrics.json, model/, run.log, settings.json (latest: '), stdout);
  assert.match(stdout, /rows\s+200\n/);
  assert.match(stdout, /human-labelled\s+20\n/);
  assert.match(stdout, new RegExp(`flagged as teacher errors\\s+${latest.predictions.filter((p) => p.flagged).length}\\n`));
  // The trust figures of the run, from its metrics.json, with their intervals (issue 9).
  const trust = (latest.metrics as { trust: { teacherAccuracy: { estimate: number; low: number; high: number } } }).trust;
  assert.ok(trust.teacherAccuracy.low <= trust.teacherAccuracy.estimate && trust.teacherAccuracy.estimate <= trust.teacherAccuracy.high);
  assert.match(stdout, new RegExp(`estimated teacher accuracy\\s+${trust.teacherAccuracy.estimate.toFixed(3)}\\n\\s+… 90 % interval\\s+${trust.teacherAccuracy.low.toFixed(3)} – ${trust.teacherAccuracy.high.toFixed(3)}\\n`));
  assert.match(stdout, new RegExp(`Teacher ≈ ${Math.round(trust.teacherAccuracy.estimate * 100)}% right \\(90% interval \\d+–\\d+%\\)\\.`));
  // Not a terminal: plain progress lines, no carriage returns.
  assert.match(stderr, /% peer · stage 1\/2 · fold 1\/2/);
  assert.ok(!stderr.includes('\r'));
  assert.equal(latest.predictions.length, 200);
  assert.equal(latest.settings.options.seed, 1);

  // predict, in process: the run folder is accepted, the run's field mapping is the default.
  const io = capture();
  assert.equal(await createPredictCommand(io).run([latest.runDir, dataset, '--backend', 'cpu']), 0, io.err());
  const lines = io.out().trim().split('\n').map((line) => JSON.parse(line) as { id: string; predicted: string; probs: Record<string, number> });
  assert.equal(lines.length, 200);
  assert.deepEqual(Object.keys(lines[0]), ['id', 'predicted', 'probs']);
  assert.equal(lines[0].id, 'ag-0');
  assert.deepEqual(Object.keys(lines[0].probs).sort(), latest.settings.labels);
  const probabilitySum = Object.values(lines[0].probs).reduce((sum, p) => sum + p, 0);
  assert.ok(Math.abs(probabilitySum - 1) < 1e-4);
  assert.match(io.err(), /Predicted 200 row\(s\)/);

  // --out FILE, a model/ folder given directly, and a broken line and a row without text in the input.
  const input = join(folder, 'new.jsonl');
  await writeFile(input, ['{"id": "n1", "text": "Stocks fall as oil prices rise"}', '{broken', '{"id": "n2"}', '{"text": "Team wins the cup final"}'].join('\n'));
  const out = join(folder, 'predicted.jsonl');
  const io2 = capture();
  assert.equal(await createPredictCommand(io2).run([join(latest.runDir, 'model'), input, '--out', out, '--backend', 'cpu']), 0, io2.err());
  const written = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { id: string });
  assert.deepEqual(written.map((row) => row.id.slice(0, 5)), ['n1', 'text:']);
  assert.match(io2.err(), /new\.jsonl:2: Invalid JSON/);
  assert.match(io2.err(), /Predicted 2 row\(s\), skipped 1 without text, left out 1 invalid line\(s\)/);

  // The pointer distill prints ("latest: …/.peerkd/runs/latest"), the runs folder holding it, and the dataset's own
  // pointer stand for the run they name; a folder holding none of these is named in the error.
  const runsDir = join(folder, '.peerkd', 'runs');
  for (const pointer of [join(runsDir, 'latest'), runsDir, join(runsDir, 'latest-by-dataset', (await readdir(join(runsDir, 'latest-by-dataset')))[0])]) {
    const io3 = capture();
    assert.equal(await createPredictCommand(io3).run([pointer, input, '--backend', 'cpu']), 0, `${pointer}: ${io3.err()}`);
    assert.equal(io3.out(), await readFile(out, 'utf8'), pointer);
  }
  const io4 = capture();
  assert.equal(await createPredictCommand(io4).run([join(folder, '.peerkd'), input, '--backend', 'cpu']), 1);
  assert.match(io4.err(), /\.peerkd: no model\.json here \(expected a run folder, its model\/ folder, or a run pointer such as \.peerkd\/runs\/latest\)/);
});

test('distill errors are one line with a non-zero exit code; usage errors print the help', async () => {
  const oneLabel = join(folder, 'one-label.jsonl');
  await writeFile(oneLabel, '{"text": "a", "teacher_label": "World"}\n{"text": "b", "teacher_label": "World"}\n');
  let io = capture();
  assert.equal(await createDistillCommand(io).run([oneLabel]), 1);
  assert.equal(io.err().trim().split('\n').at(-1), `peerkd distill: ${oneLabel}:1: every label in the dataset is 'World' (first on line 1); a label set needs at least two labels — add rows with other labels or configure the label set (setting peerkd.labels or --labels)`);

  // Fields named otherwise (issue 10 §3.10): the error names the setting, the flag and the field that looks right.
  const otherNames = join(folder, 'other-names.jsonl');
  await writeFile(otherNames, ['World', 'Sports', 'World', 'Sports'].map((label, i) => JSON.stringify({ sentence: `row ${i} is about ${label} news`, llm_label: label })).join('\n') + '\n');
  io = capture();
  assert.equal(await createDistillCommand(io).run([otherNames]), 1);
  assert.equal(
    io.err().trim().split('\n').at(-1),
    `peerkd distill: ${otherNames}: Missing text: none of the 4 rows has a field 'text'; set peerkd.fields.text (or --fields.text) to the field that holds it: 'sentence' looks like text`,
  );
  io = capture();
  assert.equal(await createDistillCommand(io).run([otherNames, '--fields.text', 'sentence']), 1);
  assert.match(io.err(), /no row with text has a teacher label \(field 'teacher_label'\).*set peerkd\.fields\.teacher \(or --fields\.teacher\).*'llm_label' looks like labels\n$/);

  io = capture();
  assert.equal(await createDistillCommand(io).run([join(folder, 'missing.jsonl')]), 1);
  assert.equal(io.err(), `peerkd distill: ${join(folder, 'missing.jsonl')}: file not found\n`);

  for (const args of [[], ['a.jsonl', 'b.jsonl'], [oneLabel, '--folds', 'x'], [oneLabel, '--backend', 'gpu'], [oneLabel, '--bogus']]) {
    io = capture();
    assert.equal(await createDistillCommand(io).run(args), 2, args.join(' '));
    assert.match(io.err(), /^peerkd distill: .+\n\nUsage: peerkd distill DATA\.jsonl/);
  }

  io = capture();
  assert.equal(await createPredictCommand(io).run([join(folder, 'no-model'), oneLabel]), 1);
  assert.match(io.err(), /^peerkd predict: .*no-model: folder not found\n$/);
  // A model folder, or the model.json named, that is a symbolic link to nothing: said as one, with where it leads, in
  // the words a dataset's path gets (it was "folder not found" for a name `ls` shows).
  await symlink('gone-model', join(folder, 'linked-model'));
  await mkdir(join(folder, 'dangling-json'), { recursive: true });
  await symlink(join(folder, 'gone', 'model.json'), join(folder, 'dangling-json', 'model.json'));
  for (const [given, target] of [
    [join(folder, 'linked-model'), join(folder, 'gone-model')],
    [join(folder, 'dangling-json', 'model.json'), join(folder, 'gone', 'model.json')],
  ]) {
    io = capture();
    assert.equal(await createPredictCommand(io).run([given, oneLabel]), 1);
    assert.equal(io.err(), `peerkd predict: ${given}: a symbolic link to ${target}, which does not exist\n`);
  }
  // The folder named, whose model.json (or model/model.json, as in a run folder) is a link to nothing: the file is
  // named as such, not "no model.json here" for a folder whose listing shows one.
  for (const inside of [[], ['model']]) {
    const run = join(folder, `run-with-dangling-model-${inside.length}`);
    await mkdir(join(run, ...inside), { recursive: true });
    await symlink(join(folder, 'gone', 'model.json'), join(run, ...inside, 'model.json'));
    io = capture();
    assert.equal(await createPredictCommand(io).run([run, oneLabel]), 1);
    assert.equal(io.err(), `peerkd predict: ${run}: ${join(run, ...inside, 'model.json')}: a symbolic link to ${join(folder, 'gone', 'model.json')}, which does not exist\n`);
  }
  io = capture();
  assert.equal(await createPredictCommand(io).run([folder, oneLabel]), 1);
  assert.match(io.err(), /no model\.json here/);
});

test('progress: a redrawn bar on a terminal, plain lines otherwise', () => {
  const progress = { phase: 'peer' as const, stage: 1, stages: 2, fold: 2, folds: 2, epoch: 3, epochs: 5, loss: 0.41234, rowsPerSecond: 1234.5, elapsedMs: 65_000, remainingMs: 3_723_000, fraction: 0.5 };
  assert.equal(describeProgress(progress), 'peer · stage 1/2 · fold 2/2 · epoch 3/5 · ~1:02:03 left · 1,235 rows/s · 1:05 elapsed · loss 0.412');
  assert.equal(formatDuration(0), '0:00');
  assert.equal(describeProgress({ phase: 'peer', elapsedMs: 5_000, remainingMs: 125_000, remainingMsLow: 65_000, fraction: 0.3 }), 'peer · ~1:05–2:05 left · 0:05 elapsed');
  assert.equal(
    describeProgress({ phase: 'featurize', encoder: 'use-lite', encoded: 2560, toEncode: 10_000, elapsedMs: 30_000, remainingMs: 95_000, fraction: 0.05 }),
    'encode use-lite 2,560/10,000 · ~1:35 left · 0:30 elapsed',
  );

  let time = 0;
  let tty = '';
  const bar = createProgressRenderer({ write: (text: string) => (tty += text), isTTY: true, columns: 200 }, () => time);
  bar.update(progress);
  time += 10;
  bar.update({ ...progress, epoch: 4 }); // within the redraw interval: not drawn
  time += 100;
  bar.update({ ...progress, epoch: 5, fraction: 0.6 });
  bar.line('warn: something');
  bar.finish();
  // Two bars drawn, the line above the bar (erase, line, bar again), the bar erased at the end.
  assert.equal(tty.split('\r\x1b[2K').length - 1, 5);
  assert.ok(tty.includes('[############------------]  50% peer'));
  assert.ok(!tty.includes('epoch 4/5'));
  assert.ok(tty.includes('warn: something\n\r\x1b[2K[##############----------]  60% peer'));

  let plain = '';
  const lines = createProgressRenderer({ write: (text: string) => (plain += text) });
  lines.update(progress);
  lines.update({ ...progress, epoch: 4, fraction: 0.55 }); // same fold, same tenth: no line
  lines.update({ ...progress, epoch: 5, fraction: 0.61 });
  lines.update({ ...progress, fold: 1, fraction: 0.62 });
  assert.equal(plain.split('\n').length - 1, 3);
  assert.ok(!plain.includes('\r'));
});

test('the summary table names each label so that a label holding a comma, quotes or white space at an end reads as one', () => {
  const labels = ['Arts, Culture', 'Sports', ' World', '"quoted"', '🙂 emoji', '-dash'];
  const table = formatSummary({
    runId: 'r', runDir: '/r', datasetPath: '/d.jsonl', labels,
    counts: { lines: 9, rows: 9, invalidLines: 0, skippedNoText: 0, teacherLabelled: 9, humanLabelled: 0, unlabelled: 0, teacherOutsideLabelSet: 0 },
    flagged: 0, estimatedTeacherAccuracy: null, teacherAgreementWithHumans: null, finalStudentHumanAccuracy: null, backend: 'wasm', backendSkipped: [], elapsedMs: 1,
  });
  const row = table.find((line) => /^\s+labels\s/.test(line))?.replace(/^\s+labels\s+/, '');
  // Before: `Arts, Culture, Sports,  World, "quoted", 🙂 emoji, -dash`, seven labels to a reader, and one that looked quoted.
  assert.equal(row, '"Arts, Culture", Sports, " World", "\\"quoted\\"", 🙂 emoji, -dash');
});

test('the summary table lists the counts and the estimates', () => {
  const table = formatSummary({
    runId: 'r',
    runDir: '/r',
    datasetPath: '/d.jsonl',
    labels: ['A', 'B'],
    counts: { lines: 12, rows: 10, invalidLines: 1, skippedNoText: 1, teacherLabelled: 9, humanLabelled: 2, unlabelled: 0, teacherOutsideLabelSet: 3 },
    flagged: 4,
    estimatedTeacherAccuracy: 0.81234,
    teacherAgreementWithHumans: null,
    finalStudentHumanAccuracy: 0.5,
    backend: 'wasm',
    backendSkipped: [],
    elapsedMs: 61_000,
    peakRssMb: 321,
    adopted: { labels: 37, weighting: 1 },
  }).join('\n');
  assert.match(table, /rows\s+10\n/);
  assert.match(table, /teacher labels outside the set\s+3\n/);
  assert.match(table, /estimated teacher accuracy\s+0\.812\n/);
  assert.match(table, /teacher agreement with humans\s+—\n/);
  // A share of 2 human labels is said to be one.
  assert.match(table, /student accuracy on humans \(cross-fitted\)\s+0\.500 \(on 2 human labels: too few to read\)\n/);
  assert.match(table, /time\s+1:01\n/);
  assert.match(table, /advice adopted by the engine\s+37 \(final student: rows weighted by how sure the advice is\)\n/);
  const none = formatSummary({ runId: 'r', runDir: '/r', datasetPath: '/d.jsonl', labels: ['A', 'B'], counts: { lines: 9, rows: 9, invalidLines: 0, skippedNoText: 0, teacherLabelled: 9, humanLabelled: 0, unlabelled: 0, teacherOutsideLabelSet: 0 }, flagged: 0, estimatedTeacherAccuracy: null, teacherAgreementWithHumans: null, finalStudentHumanAccuracy: null, backend: 'wasm', backendSkipped: [], elapsedMs: 1, adopted: { labels: 0, weighting: 0 } }).join('\n');
  assert.match(none, /advice adopted by the engine\s+0 \(final student = plain KD\)\n/);
  // Each share is marked by its own count: 200 human labels, 3 of them on rows the teacher labelled, the student read
  // on the 12 random ones (the others set in review).
  const own = formatSummary({ runId: 'r', runDir: '/r', datasetPath: '/d.jsonl', labels: ['A', 'B'], counts: { lines: 400, rows: 400, invalidLines: 0, skippedNoText: 0, teacherLabelled: 203, humanLabelled: 200, unlabelled: 0, teacherOutsideLabelSet: 0 }, flagged: 0, estimatedTeacherAccuracy: null, teacherAgreementWithHumans: 1, teacherAgreementRows: 3, finalStudentHumanAccuracy: 0.75, finalStudentHumanRows: 12, backend: 'wasm', backendSkipped: [], elapsedMs: 1 }).join('\n');
  assert.match(own, /teacher agreement with humans\s+1\.000 \(on 3 human labels: too few to read\)\n/);
  assert.match(own, /student accuracy on humans \(cross-fitted\)\s+0\.750 \(on 12 human labels: too few to read\)\n/);
  assert.match(table, /worker peak memory\s+321 MB$/);
});

test('distill --memory below the setting\'s minimum is a usage error naming it, as peerkd.training.memoryLimitMb is', async () => {
  const io = capture();
  assert.equal(await createDistillCommand(io).run([dataset, '--memory', '100']), 2);
  assert.match(io.err(), /--memory must be an integer from 256 to 1048576, got '100'/);
});

test('distill --memory above 1 TiB is a usage error (V8 read 9007199254740991 MB as a 47 MB heap)', async () => {
  const io = capture();
  assert.equal(await createDistillCommand(io).run([dataset, '--memory', '9007199254740991']), 2);
  assert.match(io.err(), /--memory must be an integer from 256 to 1048576, got '9007199254740991'/);
});

test('the summary table gives a figure whose interval is too wide as its range, as the closing sentence does, not as a point', () => {
  const summary = (trust: RunSummary['trust']): string =>
    formatSummary({
      runId: 'r', runDir: '/r', datasetPath: '/d.jsonl', labels: ['A', 'B'],
      counts: { lines: 400, rows: 400, invalidLines: 0, skippedNoText: 0, teacherLabelled: 400, humanLabelled: 4, unlabelled: 0, teacherOutsideLabelSet: 0 },
      flagged: 26, estimatedTeacherAccuracy: 0.9, teacherAgreementWithHumans: 1, finalStudentHumanAccuracy: 1, backend: 'wasm', backendSkipped: [], elapsedMs: 1, trust,
    }).join('\n');
  // Four human labels: the intervals span most of what they bound.
  const wide = summary({ teacherAccuracy: { estimate: 0.9, low: 0.4, high: 0.99 }, flaggedWrong: { estimate: 14, low: 3, high: 25 } });
  // Before: "estimated teacher accuracy 0.900" and "… of them probably wrong 14 (90 % interval 3 – 25)", above a
  // sentence saying there were too few human labels for one figure.
  assert.match(wide, /estimated teacher accuracy\s+not pinned down \(too few human labels\): see the interval\n/);
  assert.match(wide, /… 90 % interval\s+0\.400 – 0\.990\n/);
  assert.match(wide, /… of them probably wrong\s+3 – 25 \(90 % interval; too few human labels for one figure\)\n/);
  assert.match(wide, /26 rows flagged, 3–25 of them wrong \(90% interval; too few human labels for one figure\)\./);
  // Narrow intervals: the points, with their intervals.
  const narrow = summary({ teacherAccuracy: { estimate: 0.9, low: 0.85, high: 0.94 }, flaggedWrong: { estimate: 14, low: 10, high: 18 } });
  assert.match(narrow, /estimated teacher accuracy\s+0\.900\n/);
  assert.match(narrow, /… of them probably wrong\s+14 \(90 % interval 10 – 18\)\n/);
  // No human labels: no interval, said so.
  assert.match(summary({ teacherAccuracy: { estimate: 0.9, low: null, high: null }, flaggedWrong: { estimate: 14, low: null, high: null } }), /… of them probably wrong\s+14 \(no interval: no human labels to check against\)\n/);
});
