/**
 * `peerkd distill` and `peerkd predict` as a new user meets them, without having read the code: a second Ctrl-C while
 * the run is stopping, `--out` typed onto a run folder, files that are no JSON Lines (UTF-16 from PowerShell, gzip, a
 * pretty-printed JSON document), a device named as a dataset, ids that are objects. Each is said in one line that
 * names the file, with a non-zero exit and no stack trace, and leaves the user's files as they were.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDistillCommand } from '../../src/cli/distill';
import { createExportCommand } from '../../src/cli/export';
import { createLabelCommand } from '../../src/cli/label';
import { createMoveCommand } from '../../src/cli/move';
import { createPredictCommand } from '../../src/cli/predict';
import { DEFAULT_FIELDS, readDatasetFile } from '../../src/dataset';
import { noRowsError, prepareTrainingInput } from '../../src/training/input';
import { inputError } from '../support/inputError';
import { jsonlText } from '../support/jsonl';
import { RunWriter } from '../../src/training/artifacts';
import { captureIo } from '../support/captureIo';
import { waitFor } from '../support/waitFor';
import { datasetLines, repoRoot, runCli, tempFolder, writeDataset } from '../fixtures/training/build';

let folder: string;

before(async () => {
  folder = await tempFolder('cli-new-user');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Whether process `pid` still runs (a zombie, waiting for a parent to reap it, runs no more). */
function running(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

test('distill (child process): a second Ctrl-C while the worker has not answered the first ends at once, killing the worker and leaving no .tmp- run folder', { skip: process.platform !== 'linux' }, async () => {
  const dir = join(folder, 'second-signal');
  await mkdir(dir);
  const dataset = await writeDataset(dir, 'data.jsonl', datasetLines(400));
  const before = readFileSync(dataset, 'utf8');
  const runs = join(dir, '.peerkd', 'runs');
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(repoRoot, 'src/cli/main.ts'), 'distill', 'data.jsonl', '--encoder', 'none', '--backend', 'cpu'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let workerPid: number | undefined;
  try {
    // The command knows its run folder (it prints the run once the worker said where it writes it), and that folder
    // names its writer, the training worker.
    await waitFor('the run to start', () => (/^Run \S+: /m.test(stderr) ? true : undefined));
    workerPid = await waitFor('the run folder being written', async () => {
      const temp = (await readdir(runs).catch(() => [] as string[])).find((name) => name.startsWith('.tmp-'));
      if (temp === undefined) return undefined;
      try {
        return (JSON.parse(readFileSync(join(runs, temp, '.owner.json'), 'utf8')) as { pid: number }).pid;
      } catch {
        return undefined; // not written yet
      }
    });
    // A worker that does not answer the cancel (stuck, or busy in a long synchronous step): the user presses Ctrl-C again.
    process.kill(workerPid, 'SIGSTOP');
    child.kill('SIGINT');
    await waitFor('the first Ctrl-C to be taken', () => (/Cancelling…/.test(stderr) ? true : undefined));
    child.kill('SIGINT');
    const ended = await exited;
    assert.deepEqual(ended, { code: null, signal: 'SIGINT' }, stderr);
    const left = (await readdir(runs).catch(() => [] as string[])).filter((name) => name !== 'latest-by-dataset');
    assert.deepEqual(left, [], `the command is over: no half-written run outlives it (${left.join(', ')})`);
    await waitFor('the worker to be gone', () => (running(workerPid!) ? undefined : true), 10_000);
    assert.equal(readFileSync(dataset, 'utf8'), before, 'the dataset is untouched');
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  } finally {
    child.kill('SIGKILL');
    if (workerPid !== undefined && running(workerPid)) process.kill(workerPid, 'SIGKILL');
  }
});

/** Every file under `dir` with its bytes, to compare a folder before and after a command. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = join(entry.parentPath, entry.name);
      files[file.slice(dir.length)] = (await readFile(file)).toString('base64');
    }
  }
  return files;
}

test("distill --out onto a run's own folder, its model/ or a folder below (also through a link) is refused, naming the run folder; the run is left as it was", async () => {
  const dir = join(folder, 'out-in-run');
  await mkdir(dir);
  await writeDataset(dir, 'data.jsonl', datasetLines(120));
  const first = await runCli(['distill', 'data.jsonl', '--encoder', 'none', '--backend', 'cpu'], dir);
  assert.equal(first.code, 0, first.stderr);
  const runs = join(dir, '.peerkd', 'runs');
  const runId = (await readFile(join(runs, 'latest'), 'utf8')).trim();
  const run = join(runs, runId);
  await symlink(join(run, 'model'), join(dir, 'model-link'));
  const before = await snapshot(run);
  for (const out of [run, join(run, 'model'), join(run, 'model', 'new', 'deeper'), 'model-link'].map((out) => out.replace(dir + '/', ''))) {
    const io = captureIo();
    const code = await createDistillCommand(io).run([join(dir, 'data.jsonl'), '--encoder', 'none', '--backend', 'cpu', '--out', join(dir, out)]);
    const result = { code, stderr: io.err() };
    assert.equal(result.code, 1, `--out ${out}: ${result.stderr}`);
    assert.ok(result.stderr.includes(run === join(dir, out) ? "it is a run's own folder" : `it is inside the run folder ${run}`), result.stderr);
    assert.match(result.stderr, /runs written there would be deleted with it/);
    assert.match(result.stderr, /; choose another --out$/m);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
  // The editor's peerkd.training.outputDir reaches the worker without the CLI's check: the worker refuses it too.
  await assert.rejects(RunWriter.create(join(run, 'model'), 'next-run', join(dir, 'data.jsonl')), /it is inside the run folder .*runs written there would be deleted with it/);
  assert.deepEqual(await snapshot(run), before, 'the run folder holds what its run wrote, nothing more');
  assert.equal((await readFile(join(runs, 'latest'), 'utf8')).trim(), runId, 'no other run became the latest');
});

test('a file that is no JSON Lines (UTF-16 from PowerShell, gzip, ZIP, pretty-printed JSON) is said as such on its line 1, by distill and by the check predict and label share', async () => {
  const dir = join(folder, 'not-jsonl');
  await mkdir(dir);
  const rows = datasetLines(60).join('\n') + '\n';
  const pretty = JSON.stringify(datasetLines(3).map((line) => JSON.parse(line) as unknown), null, 2);
  const cases: [string, Buffer, RegExp][] = [
    ['utf16le.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(rows, 'utf16le')]), /the file looks UTF-16 encoded \(as PowerShell's > and Out-File write\); save it as UTF-8$/],
    ['utf16be.jsonl', Buffer.from(rows, 'utf16le').swap16(), /the file looks UTF-16 encoded .*; save it as UTF-8$/],
    ['gzip.jsonl', gzipSync(rows), /the file is gzip-compressed; decompress it first \(gunzip\)$/],
    ['zip.jsonl', Buffer.from('PK\u0003\u0004\u0014\u0000rest of an xlsx\n'), /the file is a ZIP archive/],
    ['array.jsonl', Buffer.from(pretty), /line 1 opens one JSON document spread over many lines \(pretty-printed JSON\); a dataset has one JSON object per line \(jq -c '\.\[\]' data\.json > data\.jsonl\)$/],
    ['object.jsonl', Buffer.from(JSON.stringify({ rows: [1, 2] }, null, 2)), /pretty-printed JSON.*\(jq -c \. data\.json > data\.jsonl\)$/],
  ];
  for (const [name, bytes, says] of cases) {
    const file = join(dir, name);
    await writeFile(file, bytes);
    const error = noRowsError(name, await readDatasetFile(file, DEFAULT_FIELDS));
    assert.ok(error, name);
    assert.match(error.message, new RegExp(`^${name.replace('.', '\\.')}:1: no line is a valid row: `));
    assert.match(error.message, says, name);
  }
  // The whole command: one line naming the file and its line 1, exit 1, the file untouched.
  const io = captureIo();
  const code = await createDistillCommand(io).run([join(dir, 'utf16le.jsonl'), '--encoder', 'none', '--backend', 'cpu']);
  assert.equal(code, 1, io.err());
  assert.match(io.err(), /^peerkd distill: .*utf16le\.jsonl:1: no line is a valid row: .*the file looks UTF-16 encoded .*save it as UTF-8\n$/m);
  assert.deepEqual(await readFile(join(dir, 'utf16le.jsonl')), cases[0][1]);
  // A line 1 that is no JSON for another reason gets no such hint; nor does a later line.
  await writeFile(join(dir, 'csv.jsonl'), 'id,text,teacher_label\n1,"a film",pos\n');
  assert.doesNotMatch(noRowsError('csv.jsonl', await readDatasetFile(join(dir, 'csv.jsonl'), DEFAULT_FIELDS))!.message, / — /);
});

test('distill and export: a device, a FIFO or a missing file named as a dataset is said as such, not given a name to rename it to', { skip: process.platform === 'win32' }, async () => {
  const dir = join(folder, 'not-a-file');
  await mkdir(dir);
  await symlink('/dev/zero', join(dir, 'zero.jsonl'));
  execFileSync('mkfifo', [join(dir, 'fifo.jsonl')]);
  for (const [given, says] of [
    ['/dev/zero', 'not a regular file (a FIFO, socket or device), so it cannot be read as a dataset'],
    [join(dir, 'zero.jsonl'), 'not a regular file (a FIFO, socket or device), so it cannot be read as a dataset'],
    [join(dir, 'fifo.jsonl'), 'not a regular file (a FIFO, socket or device), so it cannot be read as a dataset'],
    [join(dir, 'missing.txt'), 'file not found'],
  ]) {
    for (const [name, command, flags] of [
      ['distill', createDistillCommand, ['--encoder', 'none']],
      ['export', createExportCommand, ['--teacher-labels']],
    ] as const) {
      const io = captureIo();
      const code = await command(io).run([given, ...flags]);
      // Before: "/dev/zero: not a JSON Lines dataset …: rename it (peerkd move /dev/zero /dev/zero.jsonl, …)".
      assert.equal(code, 1, io.err());
      assert.equal(io.err(), `peerkd ${name}: ${given}: ${says}\n`);
    }
  }
});

test('distill: an id that is an object, an array or a boolean is named with its lines, not silently replaced by a hash of the text', async () => {
  const dir = join(folder, 'object-ids');
  await mkdir(dir);
  const odd: Record<number, unknown> = { 2: { a: 1 }, 6: ['x'], 8: true };
  const lines = datasetLines(120).map((line, index) => (index in odd ? JSON.stringify({ ...(JSON.parse(line) as object), id: odd[index] }) : line));
  const dataset = await writeDataset(dir, 'data.jsonl', lines);
  const before = await readFile(dataset);
  const io = captureIo();
  assert.equal(await createDistillCommand(io).run([dataset, '--encoder', 'none', '--backend', 'cpu']), 0, io.err());
  // Before: nothing said; predictions.jsonl gave these rows "text:…" ids.
  assert.match(io.err(), /^warn: 3 row\(s\) have an id \(field id\) that is not a string or number \(an object, array or boolean\): it is ignored, .* \(lines 3, 7, 9\); write each id as a string$/m);
  assert.deepEqual(await readFile(dataset), before);

  // predictions.jsonl: the rows known by their text, each named above.
  const runs = join(dir, '.peerkd', 'runs');
  const predictions = (await readFile(join(runs, (await readFile(join(runs, 'latest'), 'utf8')).trim(), 'predictions.jsonl'), 'utf8')).trim().split('\n');
  const ids = predictions.map((row) => (JSON.parse(row) as { id: unknown }).id);
  assert.match(String(ids[2]), /^text:/);
  assert.equal(ids[3], 'r3');
  // The parser's own problem on each line, as the diagnostics show it.
  const parsed = await readDatasetFile(dataset, DEFAULT_FIELDS);
  assert.deepEqual(
    parsed.problems.filter((problem) => problem.code === 'invalid-id').map((problem) => [problem.line, problem.message]),
    [[3, 'an object'], [7, 'an array'], [9, 'true']].map(([line, what]) => [line, `The id (field id) is ${what}, not a string or number, so it is ignored: the row is known by its text`]),
  );
});

test('labels that are no strings: the fix said fits the value (no \'"1" for 1\' beside an object, the field inside it named), each line named once, the flag beside the setting', () => {
  const src = { file: '/data/set.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 };
  const rows = (teacher: (i: number) => unknown, human?: (i: number) => unknown) =>
    jsonlText(Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, text: `story ${i}`, teacher_label: teacher(i), ...(human ? { human_label: human(i) } : {}) })));
  // Labels nested in an object: the field inside is the way out (before: 'write each label as a JSON string, e.g. "1" for 1').
  const nested = inputError(() => prepareTrainingInput(rows((i) => ({ name: ['World', 'Sports'][i % 2] }), (i) => (i < 2 ? ['World', 'Sports'][i] : undefined)), src));
  assert.match(nested.message, /write each label as a JSON string, or, if the label is the 'name' inside it, set peerkd\.fields\.teacher \(--fields\.teacher\) to teacher_label\.name$/);
  assert.doesNotMatch(nested.message, /for 1\b/);
  // Class ids on both sides of a row: each line once (before: "lines 1, 1, 2, 2, …").
  const numbers = inputError(() => prepareTrainingInput(rows((i) => i % 2, (i) => i % 2), src));
  assert.match(numbers.message, /12 label\(s\) are numbers, objects, arrays or booleans \(lines 1, 2, 3, 4, 5, … \(6 in all\)\); write each label as a JSON string, e.g. "0" for 0$/);
  // One label: the CLI's flag beside the setting (before: "configure peerkd.labels" alone).
  const one = inputError(() => prepareTrainingInput(rows(() => 'World'), src));
  assert.match(one.message, /configure the label set \(setting peerkd\.labels or --labels\)$/);
});

test('distill: --fields.text naming the teacher label field (or a field inside it, or around it) is a usage error, not a run whose students read the labels', async () => {
  const dir = join(folder, 'text-is-label');
  await mkdir(dir);
  const dataset = await writeDataset(dir, 'data.jsonl', datasetLines(40));
  for (const [flags, says] of [
    [['--fields.text', 'teacher_label'], "the text field 'teacher_label' is also the teacher label field (--fields.teacher)"],
    [['--fields.text', 'label', '--fields.teacher', 'label'], "the text field 'label' is also the teacher label field (--fields.teacher)"],
    [['--fields.text', 'meta', '--fields.teacher', 'meta.label'], "the text field 'meta' holds the teacher label field 'meta.label' (--fields.teacher)"],
  ] as const) {
    const io = captureIo();
    // Before: a run that finished, 0 rows flagged, the students having learnt the teacher's labels from the text.
    assert.equal(await createDistillCommand(io).run([dataset, '--encoder', 'none', ...flags]), 2, io.err());
    assert.ok(io.err().startsWith(`peerkd distill: ${says}, so the students would read the labels they are to judge and agree with the teacher everywhere; set --fields.text to the field that holds the text\n`), io.err());
  }
  assert.equal(existsSync(join(dir, '.peerkd')), false, 'no run was started');
});

test('distill, predict, export, label and move: a wrong number of paths names the ones too many, and options given after -- are said as such', async () => {
  const cases: [string, (io: ReturnType<typeof captureIo>) => { run(argv: string[]): Promise<number> }, string[], string][] = [
    // `-- -x.jsonl --encoder none`: before, "expected exactly one dataset file", with no word of --encoder.
    ['distill', createDistillCommand, ['--', '-x.jsonl', '--encoder', 'none'], 'expected DATA.jsonl only, got 2 more: "--encoder", "none": after --, every argument is taken as a path; give the options before --'],
    ['distill', createDistillCommand, [], 'missing DATA.jsonl'],
    ['predict', createPredictCommand, ['model'], 'missing DATA.jsonl'],
    ['predict', createPredictCommand, ['model', 'a.jsonl', 'b.jsonl'], 'expected MODEL_DIR and DATA.jsonl only, got 1 more: "b.jsonl"'],
    ['export', createExportCommand, ['--teacher-labels', 'a.jsonl', 'b.jsonl'], 'expected DATA.jsonl only, got 1 more: "b.jsonl"'],
    // label and move had checks of their own: before, "expected exactly one DATA.jsonl file" and "expected OLD and NEW
    // only", with no word of what was too many.
    ['label', (io) => createLabelCommand({ ...io, env: {} }), ['a.jsonl', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--', '--out', 'b.jsonl'], 'expected DATA.jsonl only, got 2 more: "--out", "b.jsonl": after --, every argument is taken as a path; give the options before --'],
    ['label', (io) => createLabelCommand({ ...io, env: {} }), [], 'missing DATA.jsonl'],
    ['move', createMoveCommand, ['a.jsonl', 'b.jsonl', 'c.jsonl'], 'expected OLD and NEW only, got 1 more: "c.jsonl"'],
  ];
  for (const [name, command, argv, says] of cases) {
    const io = captureIo();
    assert.equal(await command(io).run(argv), 2, io.err());
    assert.equal(io.err().split('\n')[0], `peerkd ${name}: ${says}`);
  }
});

test("predict: rows whose labels are none of the model's (the model of another dataset, by `latest`) get a warning naming both label sets and the dataset the model was trained on", async () => {
  const dir = join(folder, 'other-label-set');
  await mkdir(dir);
  const trained = await writeDataset(dir, 'news.jsonl', datasetLines(60));
  const io = captureIo();
  assert.equal(await createDistillCommand(io).run([trained, '--encoder', 'none', '--backend', 'cpu']), 0, io.err());
  const latest = join(dir, '.peerkd', 'runs', 'latest');
  const reviews = await writeDataset(dir, 'reviews.jsonl', [
    JSON.stringify({ id: 'a', text: 'a fine film', teacher_label: 'pos' }),
    JSON.stringify({ id: 'b', text: 'a dull film', teacher_label: 'neg', human_label: 'neg' }),
  ]);
  const other = captureIo();
  // Before: two predictions of news labels, exit 0, not a word.
  assert.equal(await createPredictCommand(other).run([latest, reviews]), 0, other.err());
  assert.ok(
    other.err().includes(`warning: ${reviews}: none of its labels ('pos', 'neg') is one of the model's ('Business', 'Sci/Tech', 'Sports', 'World'), trained on ${trained}: is ${latest} the run you meant? (a runs folder's latest is the newest run of any dataset in it)\n`),
    other.err(),
  );
  assert.equal(other.out().trim().split('\n').length, 2, 'the rows are still predicted');
  // Rows with one label of the model, or with no label at all, are no sign of another model.
  await writeFile(reviews, JSON.stringify({ text: 'a summit', teacher_label: 'World' }) + '\n' + JSON.stringify({ text: 'a film', teacher_label: 'pos' }) + '\n' + JSON.stringify({ text: 'no label' }) + '\n');
  const same = captureIo();
  assert.equal(await createPredictCommand(same).run([latest, reviews]), 0, same.err());
  assert.doesNotMatch(same.err(), /none of its labels/);
});
