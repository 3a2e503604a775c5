/**
 * `peerkd predict` on inputs a careless user gives it: a file with no row to predict (empty, only blank lines, a JSON
 * array, every row without text), rows without text among good ones, an --out that names a file of the user's own.
 * Each ends in one clear line naming the file (and the line), a non-zero exit, and no output; nothing the user wrote
 * is replaced.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captureIo as capture } from '../support/captureIo';
import { createPredictCommand } from '../../src/cli/predict';
import { datasetLines, runCli, tempFolder, writeDataset } from '../fixtures/training/build';

let folder: string;
/** A stub model folder: the input and --out are checked before the model is loaded. */
let stub: string;

before(async () => {
  folder = await tempFolder('cli-predict-hostile');
  stub = join(folder, 'stub-model');
  await mkdir(stub, { recursive: true });
  await writeFile(join(stub, 'model.json'), '{}');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function input(name: string, text: string): Promise<string> {
  const file = join(folder, name);
  await writeFile(file, text);
  return file;
}

test('predict: a file with no row to predict is an error naming the file (and its first line), not an empty output with exit 0', async () => {
  const cases: [string, string, string][] = [
    ['empty.jsonl', '', ': the file has no rows (it is empty or holds only blank lines); a dataset has one JSON object per line'],
    ['blank.jsonl', '\n  \r\n\n', ': the file has no rows (it is empty or holds only blank lines); a dataset has one JSON object per line'],
    [
      'array.jsonl',
      '[{"id": "a", "text": "Stocks fall"}, {"id": "b", "text": "Team wins"}]\n',
      ':1: no line is a valid row: the only non-blank line is invalid: Line is an array, not a JSON object: each line must be one row object',
    ],
    ['empty-text.jsonl', '{"id": "a", "text": ""}\n', ':1: no row has text to predict: Text (field text) is empty'],
    [
      'no-string-text.jsonl',
      '\n{"id": "a", "text": 42}\n{"id": "b", "text": ["x"]}\n{"id": "c", "text": null}\n{"id": "d", "text": "   "}\n',
      ':2: no row has text to predict: Text (field text) is 42, not a string (and 3 more row(s) without text)',
    ],
  ];
  for (const [name, text, message] of cases) {
    const file = await input(name, text);
    const out = join(folder, `${name}.out`);
    const io = capture();
    assert.equal(await createPredictCommand(io).run([stub, file, '--out', out, '--backend', 'cpu']), 1, `${name}: ${io.err()}`);
    assert.equal(io.err(), `peerkd predict: ${file}${message}\n`, name);
    assert.equal(io.out(), '', name);
    await assert.rejects(readFile(out), { code: 'ENOENT' }, name);
  }
});

/** A real run (distilled once, in its own process), for the tests that need a model that loads. */
let trained: Promise<string> | undefined;
function trainedRun(): Promise<string> {
  trained ??= (async () => {
    const data = await writeDataset(folder, 'train.jsonl', datasetLines(40));
    const distilled = await runCli(['distill', data, '--encoder', 'none', '--backend', 'cpu', '--stages', '1'], folder);
    assert.equal(distilled.code, 0, distilled.stderr);
    return join(folder, '.peerkd', 'runs', (await readFile(join(folder, '.peerkd', 'runs', 'latest'), 'utf8')).trim());
  })();
  return trained;
}

test('predict (child process): rows without text among good rows are each named with file:line; the good rows are predicted', async () => {
  await trainedRun();
  const file = await input(
    'mixed.jsonl',
    ['{"id": "a", "text": ""}', '{"id": "b", "text": "Stocks fall as oil prices rise"}', '{broken', '{"id": "c"}', '{"id": "d", "text": {"t": 1}}', ''].join('\n'),
  );
  const { code, stdout, stderr } = await runCli(['predict', join(folder, '.peerkd', 'runs', 'latest'), file, '--backend', 'cpu'], folder);
  assert.equal(code, 0, stderr);
  assert.deepEqual(
    stdout.trim().split('\n').map((line) => (JSON.parse(line) as { id: string }).id),
    ['b'],
  );
  assert.equal(
    stderr,
    [
      `warning: ${file}:1: Text (field text) is empty — row skipped`,
      `warning: ${file}:3: Invalid JSON at column 2: Expected a property name in double quotes but found character 'b' — line left out`,
      // The field predict reads and the flag that changes it (predict reads no setting).
      `warning: ${file}:4: Missing text: the row has no field text (the run's field mapping; give --fields.text to read another field) — row skipped`,
      `warning: ${file}:5: Text (field text) is an object, not a string — row skipped`,
      'Predicted 1 row(s), skipped 3 without text, left out 1 invalid line(s)',
      '',
    ].join('\n'),
  );
  // A text field given by the flag: the warning names the flag.
  const body = await input('body.jsonl', ['{"id": "a", "body": "Stocks fall as oil prices rise"}', '{"id": "b", "text": "no body"}', ''].join('\n'));
  const flagged = await runCli(['predict', join(folder, '.peerkd', 'runs', 'latest'), body, '--backend', 'cpu', '--fields.text', 'body'], folder);
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.equal(flagged.stderr.split('\n')[0], `warning: ${body}:2: Missing text: the row has no field body (--fields.text) — row skipped`);
  // Bytes that are not valid UTF-8 (a Latin-1 é) are named: the model labels U+FFFD in their place.
  const latin1 = join(folder, 'latin1.jsonl');
  await writeFile(latin1, Buffer.concat([Buffer.from('{"id": "a", "text": "Stocks fall"}\n{"id": "b", "text": "caf'), Buffer.from([0xe9]), Buffer.from(' prices rise"}\n')]));
  const read = await runCli(['predict', join(folder, '.peerkd', 'runs', 'latest'), latin1, '--backend', 'cpu'], folder);
  assert.equal(read.code, 0, read.stderr);
  assert.equal(read.stdout.trim().split('\n').length, 2);
  assert.ok(
    read.stderr.startsWith(`warning: ${latin1}:2: holds bytes that are not valid UTF-8 (later lines may too); they are read as U+FFFD, so the model labels other text than the file holds — save the file as UTF-8\n`),
    read.stderr,
  );
  // Nor any stack trace when there is nothing to predict.
  const none = await runCli(['predict', join(folder, '.peerkd', 'runs', 'latest'), await input('none.jsonl', '{"id": "a", "text": ""}\n'), '--backend', 'cpu'], folder);
  assert.equal(none.code, 1, none.stderr);
  assert.equal(none.stdout, '');
  assert.equal(none.stderr, `peerkd predict: ${join(folder, 'none.jsonl')}:1: no row has text to predict: Text (field text) is empty\n`);
});

test('predict (child process): an id written as a number comes back a number, so the predictions join back on it; text ids and rows without an id as before', async () => {
  await trainedRun();
  const file = await input(
    'numeric-ids.jsonl',
    ['{"id": 7, "text": "Stocks fall as oil prices rise"}', '{"id": "7", "text": "Team wins the cup"}', '{"id": 2.5, "text": "New chip is fast"}', '{"text": "Rain in the capital"}', ''].join('\n'),
  );
  const { code, stdout, stderr } = await runCli(['predict', join(folder, '.peerkd', 'runs', 'latest'), file, '--backend', 'cpu'], folder);
  assert.equal(code, 0, stderr);
  const ids = stdout.trim().split('\n').map((line) => (JSON.parse(line) as { id: unknown }).id);
  assert.deepEqual(ids.slice(0, 3), [7, '7', 2.5]);
  // A row without an id is known by a hash of its text, as in the run's predictions.jsonl.
  assert.equal(typeof ids[3], 'string');
});

test("predict: --out never replaces a file of the user's own (a dataset, notes); an earlier prediction file or an empty one is replaced", async () => {
  const file = await input('to-predict.jsonl', '{"id": "a", "text": "Stocks fall as oil prices rise"}\n');
  const own: Record<string, string> = {
    'train.jsonl': '{"id": "t1", "text": "Team wins the cup final", "teacher_label": "Sports"}\n',
    'notes.txt': 'my notes\nabout the run\n',
    'one-line-no-newline.jsonl': '{"id": "x", "predicted": "A"}',
    'array.json': '[{"id": "a", "predicted": "A", "probs": {"A": 1}}]\n',
  };
  for (const [name, text] of Object.entries(own)) {
    const out = await input(name, text);
    const io = capture();
    assert.equal(await createPredictCommand(io).run([stub, file, '--out', out, '--backend', 'cpu']), 1, `${name}: ${io.err()}`);
    assert.equal(
      io.err(),
      `peerkd predict: ${out} exists and is not an output of peerkd predict (its first row is not {"id", "predicted", "probs"}), so it is not replaced; choose another output file, or remove it first\n`,
      name,
    );
    assert.equal(await readFile(out, 'utf8'), text, name);
  }
  // Replaceable: the stub model is reached (and refused), so the output check let it through.
  for (const [name, text] of Object.entries({
    'earlier.jsonl': '{"id":"a","predicted":"World","probs":{"World":0.9,"Sports":0.1}}\n{"id":"b"',
    'empty.out': '',
    'blank.out': '\n\n',
    'crlf.jsonl': '\r\n{"id":"a","predicted":"World","probs":{}}\r\n',
  })) {
    const out = await input(name, text);
    const io = capture();
    assert.equal(await createPredictCommand(io).run([stub, file, '--out', out, '--backend', 'cpu']), 1, `${name}: ${io.err()}`);
    assert.match(io.err(), /model\.json: not a PeerKD model/, name);
  }
});

test('predict: an empty MODEL_DIR, DATA.jsonl or --out is a usage error naming it, not ": not a regular file"', async () => {
  const file = await input('one-row.jsonl', '{"id": "a", "text": "Stocks fall"}\n');
  for (const [args, name] of [
    [['', file], 'MODEL_DIR'],
    [[stub, ''], 'DATA.jsonl'],
    [[stub, file, '--out', ''], '--out'],
  ] as const) {
    const io = capture();
    assert.equal(await createPredictCommand(io).run([...args, '--backend', 'cpu']), 2, io.err());
    assert.ok(io.err().startsWith(`peerkd predict: ${name} is empty: give a path\n`), io.err());
  }
});

test("predict: the model's model.json named instead of its folder is its folder; a run pointer naming no run folder says so", async () => {
  const file = await input('for-model-json.jsonl', '{"id": "a", "text": "Stocks fall"}\n');
  const io = capture();
  assert.equal(await createPredictCommand(io).run([join(stub, 'model.json'), file, '--backend', 'cpu']), 1);
  // The stub is reached and refused as a model: located, not "no model.json here".
  assert.match(io.err(), /stub-model\/model\.json: not a PeerKD model/);

  const runs = join(folder, 'pointer', '.peerkd', 'runs');
  await mkdir(join(runs, 'latest-by-dataset'), { recursive: true });
  for (const [name, text] of [
    ['latest', ''],
    ['latest', '../../etc\n'],
    [join('latest-by-dataset', 'data-0123'), '.hidden\n'],
  ]) {
    await writeFile(join(runs, name), text);
    const pointer = capture();
    assert.equal(await createPredictCommand(pointer).run([join(runs, name), file, '--backend', 'cpu']), 1);
    assert.equal(
      pointer.err(),
      `peerkd predict: ${join(runs, name)}: this run pointer does not name a run folder beside it (it holds one run id, as peerkd distill writes it); name a run folder instead, or run peerkd distill again\n`,
      JSON.stringify(text),
    );
  }
  // A pointer naming a run folder that holds no model: the folder is named, not the pointer's text.
  await mkdir(join(runs, '20260101-000000-data-abcdef'));
  await writeFile(join(runs, 'latest'), '20260101-000000-data-abcdef\n');
  const noModel = capture();
  assert.equal(await createPredictCommand(noModel).run([join(runs, 'latest'), file, '--backend', 'cpu']), 1);
  assert.equal(
    noModel.err(),
    `peerkd predict: ${join(runs, 'latest')}: the run pointer ${join(runs, 'latest')} names run '20260101-000000-data-abcdef', whose folder ${join(runs, '20260101-000000-data-abcdef')} holds no model/model.json (removed?): name another run folder, or run peerkd distill again\n`,
  );
});

test("predict: a run's settings.json that is no JSON object is named in a warning (the run's field mapping is unknown), not passed over", async () => {
  const file = await input('for-settings.jsonl', '{"id": "a", "text": "Stocks fall"}\n');
  for (const [name, text, why] of [
    ['cut', '{"runId": "r", "fields": {"text": "bo', /invalid JSON \(.*\)/],
    ['array', '[]\n', /not a JSON object/],
  ] as const) {
    const run = join(folder, `run-settings-${name}`);
    await mkdir(join(run, 'model'), { recursive: true });
    await writeFile(join(run, 'model', 'model.json'), '{}');
    await writeFile(join(run, 'settings.json'), text);
    const io = capture();
    assert.equal(await createPredictCommand(io).run([run, file, '--backend', 'cpu']), 1);
    const [warning] = io.err().split('\n');
    assert.ok(warning.startsWith(`warning: ${join(run, 'settings.json')}: `), warning);
    assert.match(warning, why);
    assert.ok(warning.endsWith(", so the run's field mapping is not known; the default mapping is used (give --fields.text and --fields.id to choose)"), warning);
  }
});

test('predict: a run folder still being written (.tmp-<run-id>) is refused, naming it, whichever of its folders is given', async () => {
  const file = await input('for-temp-run.jsonl', '{"id": "a", "text": "Stocks fall"}\n');
  const temp = join(folder, 'temp', '.peerkd', 'runs', '.tmp-20260101-000000-data-abcdef');
  await mkdir(join(temp, 'model'), { recursive: true });
  await writeFile(join(temp, 'model', 'model.json'), '{}');
  for (const given of [temp, join(temp, 'model'), join(temp, 'model', 'model.json')]) {
    const io = capture();
    assert.equal(await createPredictCommand(io).run([given, file, '--backend', 'cpu']), 1);
    assert.equal(
      io.err(),
      `peerkd predict: ${given}: ${temp} is a run still being written, or one a killed run left behind, so its model may be incomplete; name a complete run (.peerkd/runs/latest), or wait for the run to end\n`,
    );
  }
});

test("predict (child process): a hand-edited model.json that TensorFlow.js refuses is one line naming the file, no stack trace", async () => {
  const run = await trainedRun();
  const copy = join(folder, 'edited-run');
  await cp(run, copy, { recursive: true });
  const modelJson = join(copy, 'model', 'model.json');
  const file = await input('for-edited-model.jsonl', '{"id": "a", "text": "Stocks fall"}\n');
  const original = await readFile(modelJson, 'utf8');
  const edits: [(layers: { class_name: string; config: { name: string } }[]) => void, string][] = [
    // TF.js refuses it over several lines of advice for its programmers.
    [(layers) => (layers[0].class_name = 'Lambda'), 'modelTopology.config.layers must hold exactly one Dense layer'],
    // TF.js printed its own warning about input shapes before failing.
    [(layers) => layers.push({ ...structuredClone(layers[0]), config: { ...structuredClone(layers[0].config), name: 'second' } }), 'modelTopology.config.layers must hold exactly one Dense layer'],
    // Within the single Dense layer: TF.js's own first line.
    [(layers) => ((layers[0] as unknown as { config: { units: number } }).config.units = 7), 'the TensorFlow.js model does not load: Shape mismatch: [32,7] vs. [32,4]'],
  ];
  for (const [edit, message] of edits) {
    const model = JSON.parse(original) as { modelTopology: { config: { layers: { class_name: string; config: { name: string } }[] } } };
    edit(model.modelTopology.config.layers);
    await writeFile(modelJson, JSON.stringify(model));
    const { code, stdout, stderr } = await runCli(['predict', copy, file, '--backend', 'cpu'], folder);
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr, `peerkd predict: ${modelJson}: ${message}\n`);
  }
});

test('predict (child process): DATA.jsonl given as - (or /dev/stdin) reads the rows piped to standard input; --help says so', async () => {
  await trainedRun();
  const latest = join(folder, '.peerkd', 'runs', 'latest');
  const piped = ['{"id": "a", "text": "Stocks fall as oil prices rise"}', '{broken', '{"id": "b", "text": "Team wins the cup final"}', ''].join('\n');
  for (const data of ['-', '/dev/stdin']) {
    const { code, stdout, stderr } = await runCli(['predict', latest, data, '--backend', 'cpu'], folder, undefined, piped);
    assert.equal(code, 0, `${data}: ${stderr}`);
    assert.deepEqual(stdout.trim().split('\n').map((line) => (JSON.parse(line) as { id: string }).id), ['a', 'b'], data);
    // `-` is named <stdin> in messages, not "-" (nor "file not found").
    const name = data === '-' ? '<stdin>' : data;
    assert.match(stderr, new RegExp(`^warning: ${name}:2: Invalid JSON at column 2: .* — line left out\nPredicted 2 row\\(s\\), left out 1 invalid line\\(s\\)\n$`), data);
  }
  // Nothing piped: said as a dataset without rows, naming standard input.
  const empty = await runCli(['predict', latest, '-', '--backend', 'cpu'], folder, undefined, '');
  assert.equal(empty.code, 1);
  assert.equal(empty.stderr, 'peerkd predict: <stdin>: the file has no rows (it is empty or holds only blank lines); a dataset has one JSON object per line\n');
  const io = capture();
  assert.equal(await createPredictCommand(io).run(['--help']), 0);
  assert.match(io.out(), /DATA\.jsonl may be - \(or \/dev\/stdin\) to read the rows from standard input/);
});

test('predict (child process): a model saved with another tokenizer version is refused in one line naming its model.json; one without a version predicts with a warning', async () => {
  const run = await trainedRun();
  const copy = join(folder, 'tokenizer-run');
  await cp(run, copy, { recursive: true });
  const modelJson = join(copy, 'model', 'model.json');
  const file = await input('for-tokenizer-model.jsonl', '{"id": "a", "text": "Stocks fall"}\n');
  const model = JSON.parse(await readFile(modelJson, 'utf8')) as { userDefinedMetadata: { peerkd: { tokenizerVersion?: number } } };
  const version = model.userDefinedMetadata.peerkd.tokenizerVersion!;
  assert.equal(typeof version, 'number', 'distill records the tokenizer version');
  model.userDefinedMetadata.peerkd.tokenizerVersion = version + 1;
  await writeFile(modelJson, JSON.stringify(model));
  const refused = await runCli(['predict', copy, file, '--backend', 'cpu'], folder);
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, new RegExp(`^peerkd predict: ${modelJson.replace(/[/\\.]/g, '\\$&')}: the model was saved with tokenizer version ${version + 1} .*\\n$`));
  assert.equal(refused.stderr.split('\n').length, 2, refused.stderr);
  delete model.userDefinedMetadata.peerkd.tokenizerVersion;
  await writeFile(modelJson, JSON.stringify(model));
  const older = await runCli(['predict', copy, file, '--backend', 'cpu'], folder);
  assert.equal(older.code, 0, older.stderr);
  assert.match(older.stderr, new RegExp(`^warning: ${modelJson.replace(/[/\\.]/g, '\\$&')}: records no tokenizer version`));
});
