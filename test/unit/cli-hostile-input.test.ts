/**
 * `peerkd distill` and `peerkd predict` on degenerate inputs a careless user writes: labels that are numbers,
 * labels that differ only in Unicode normalisation, a predict input whose text field is named otherwise. Each
 * must end in one clear line naming the file (and the line), never a misleading message or a silent empty result.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDistillCommand } from '../../src/cli/distill';
import { captureIo as capture } from '../support/captureIo';
import { writeJsonl } from '../support/jsonl';
import { createPredictCommand } from '../../src/cli/predict';
import { createExportCommand } from '../../src/cli/export';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { prepareTrainingInput, readTrainingInput } from '../../src/training/input';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';

let folder: string;

before(async () => {
  folder = await tempFolder('cli-hostile');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const dataset = (name: string, rows: Record<string, unknown>[]): Promise<string> => writeJsonl(folder, name, rows);

test('distill: class ids written as numbers are named as such, not reported as a missing label field', async () => {
  const file = await dataset('numeric-labels.jsonl', Array.from({ length: 6 }, (_, i) => ({ text: `row ${i}`, teacher_label: i % 2 })));
  const io = capture();
  assert.equal(await createDistillCommand(io).run([file]), 1);
  const last = io.err().trim().split('\n').at(-1) ?? '';
  assert.match(last, new RegExp(`^peerkd distill: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: `));
  assert.match(last, /Teacher label 0 \(field teacher_label\) is not a string/);
  assert.match(last, /6 label\(s\).*write each label as a JSON string, e\.g\. "0" for 0/);
  assert.ok(!last.includes('no row with text has a teacher label'), last);
});

test('distill: two labels that differ only in Unicode normalisation (NFC vs NFD) are refused, naming both lines', async () => {
  const nfc = 'Café'.normalize('NFC');
  const nfd = 'Café'.normalize('NFD');
  assert.notEqual(nfc, nfd);
  const file = await dataset('nfd-labels.jsonl', [
    { text: 'coffee shop opens', teacher_label: nfc },
    { text: 'tea room closes', teacher_label: 'Other' },
    { text: 'espresso bar', teacher_label: nfd },
    { text: 'bakery', teacher_label: 'Other' },
  ]);
  const before = await readFile(file);
  const io = capture();
  assert.equal(await createDistillCommand(io).run([file]), 1);
  const last = io.err().trim().split('\n').at(-1) ?? '';
  assert.ok(last.startsWith(`peerkd distill: ${file}:3: `), last);
  assert.ok(last.includes(`labels '${nfc}' (line 1, NFC) and '${nfd}' (line 3, NFD) look the same but are written with different Unicode characters`), last);
  assert.match(last, /write them the same way/);
  // Nothing the user wrote is changed.
  assert.deepEqual(await readFile(file), before);
});

test('distill: labels that differ only by case are kept apart, with a warning', async () => {
  const text = ['World', 'Sports', 'world', 'Sports', 'World'].map((label, i) => JSON.stringify({ text: `row ${i}`, teacher_label: label })).join('\n');
  const input = prepareTrainingInput(text, { file: 'case.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 });
  assert.deepEqual(input.labels, ['Sports', 'World', 'world']);
  assert.ok(
    input.warnings.some((warning) => warning === "labels 'World' (line 1) and 'world' (line 3) differ only by case; they are trained as two labels — write them the same way if they are one"),
    input.warnings.join('\n'),
  );
});

test('predict: an input whose rows lack the text field is an error naming the field and the one that looks right', async () => {
  // A model folder is all locateModel asks for; the input is checked before the model is loaded.
  const model = join(folder, 'model');
  await mkdir(model, { recursive: true });
  await writeFile(join(model, 'model.json'), '{}');
  const file = await dataset('sentences.jsonl', [
    { id: 'a', sentence: 'Stocks fall as oil prices rise' },
    { id: 'b', sentence: 'Team wins the cup final' },
  ]);
  const out = join(folder, 'predicted.jsonl');
  const io = capture();
  assert.equal(await createPredictCommand(io).run([model, file, '--out', out, '--backend', 'cpu']), 1);
  assert.equal(
    io.err(),
    `peerkd predict: ${file}: Missing text: none of the 2 rows has a field 'text'; set peerkd.fields.text (or --fields.text) to the field that holds it: 'sentence' looks like text\n`,
  );
  await assert.rejects(readFile(out), { code: 'ENOENT' });
});

test('distill: a failure in the worker is reported without JavaScript stack frames', async () => {
  const file = await dataset('two-rows.jsonl', [
    { text: 'markets rally on rate cut', teacher_label: 'Business' },
    { text: 'team wins the final', teacher_label: 'Sports' },
  ]);
  // --out naming a folder inside a file: the worker cannot create the runs folder there (a failure after the worker
  // started; --out naming the file itself is refused before, cli-flags.test.ts).
  const { code, stderr } = await runCli(['distill', file, '--out', join(file, 'runs'), '--encoder', 'none', '--backend', 'cpu'], folder);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /peerkd distill: Distillation failed: cannot create the run folder in .*two-rows\.jsonl.*choose another output folder/);
  assert.doesNotMatch(stderr, /^\s*(\[error\]\s+)?at .+:\d+:\d+\)?$/m, stderr);
  // The message is said once, not again as the last log line.
  assert.equal(stderr.split('Distillation failed: cannot create').length - 1, 1, stderr);
});

test('distill: labels that differ only in white space around them are refused, naming both lines', async () => {
  const file = await dataset('spaced-labels.jsonl', [
    { text: 'team wins the final', teacher_label: 'Sports' },
    { text: 'markets rally', teacher_label: 'Business' },
    { text: 'striker scores twice', teacher_label: 'Sports\n' },
    { text: 'bank raises rates', teacher_label: 'Business ' },
  ]);
  const io = capture();
  assert.equal(await createDistillCommand(io).run([file]), 1);
  assert.equal(
    io.err().trim().split('\n').at(-1),
    `peerkd distill: ${file}:4: labels 'Business' (line 2) and 'Business ' (line 4) differ only in white space; write them the same way (e.g. without spaces or line breaks around the label) or they are trained as two labels`,
  );
});

test('distill: a --labels set that matches no teacher label says so, not that the rows are unlabelled', async () => {
  const file = await dataset('other-set.jsonl', Array.from({ length: 6 }, (_, i) => ({ text: `row ${i}`, teacher_label: i % 2 ? 'World' : 'Sports' })));
  const io = capture();
  assert.equal(await createDistillCommand(io).run([file, '--labels', 'Foo,Bar']), 1);
  assert.equal(
    io.err().trim().split('\n').at(-1),
    `peerkd distill: ${file}: only 0 row(s) have a teacher label (field teacher_label) or a human label (field human_label) in the label set, fewer than the 2 folds; 6 teacher label(s) are not in the configured label set (Foo, Bar), e.g. 'Sports' on line 1: check the label set (setting peerkd.labels or --labels)`,
  );
});

test('distill: a label on few rows is named in a warning that says what the engine does with it (keeps the teacher label there)', () => {
  const text = ['World', 'World', 'Sports', 'World', 'World', 'World'].map((label, i) => JSON.stringify({ text: `row ${i}`, teacher_label: label })).join('\n');
  const input = prepareTrainingInput(text, { file: 'rare.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 });
  assert.ok(
    input.warnings.includes(
      "1 label(s) are on too few rows for the peers to learn them: 'Sports' (1 row, line 3); a row with such a teacher label keeps it (P(teacher wrong) is the teacher's estimated error rate, moved by the human labels of rows with that teacher label; the engine never relabels it) — label at least 30 rows of each for the peers to judge them",
    ),
    input.warnings.join('\n'),
  );
  // Every label on one row (nothing rarer than the rest): the one-row warning.
  const ones = ['World', 'Sports', 'Business'].map((label, i) => JSON.stringify({ text: `row ${i}`, teacher_label: label })).join('\n');
  const single = prepareTrainingInput(ones, { file: 'ones.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 });
  assert.ok(
    single.warnings.includes(
      "3 label(s) are on one row only: 'Business' (line 3), 'Sports' (line 2), 'World' (line 1); the peer that judges that row never saw the label, so it cannot confirm it (whether the row is flagged rests on the teacher's estimated accuracy alone) — label more rows of it",
    ),
    single.warnings.join('\n'),
  );
  // Two rows of each label: nothing to say.
  const even = prepareTrainingInput(text.replace('"World"', '"Sports"'), { file: 'even.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 });
  assert.ok(!even.warnings.some((warning) => warning.includes('one row only') || warning.includes('too few rows')), even.warnings.join('\n'));
  // A rare label only a human uses has no teacher row to keep: not named.
  const humanOnly = ['World', 'World', 'World', 'World', 'World', 'World']
    .map((label, i) => JSON.stringify({ text: `row ${i}`, teacher_label: label, ...(i === 2 ? { human_label: 'Sports' } : {}) }))
    .concat(['Sports', 'Sports', 'Sports', 'Sports'].map((label, i) => JSON.stringify({ text: `other ${i}`, teacher_label: label })))
    .join('\n');
  const onlyHuman = prepareTrainingInput(humanOnly.replace(/"teacher_label":"Sports"/g, '"teacher_label":"World"').replace('"human_label":"Sports"', '"human_label":"Rare"'), { file: 'h.jsonl', fields: DEFAULT_FIELDS, labels: [], folds: 2 });
  assert.ok(!onlyHuman.warnings.some((warning) => warning.includes('too few rows')), onlyHuman.warnings.join('\n'));
});

test("predict: --out never writes over a file of the run whose model it uses (its predictions, settings, metrics)", async () => {
  const run = join(folder, 'run-1');
  await mkdir(join(run, 'model'), { recursive: true });
  await writeFile(join(run, 'model', 'model.json'), '{}');
  const artefacts: Record<string, string> = {
    'settings.json': '{"fields": {"text": "text"}}\n',
    'predictions.jsonl': '{"id": "a", "line": 1}\n',
    'metrics.json': '{"rows": 1}\n',
  };
  for (const [name, text] of Object.entries(artefacts)) await writeFile(join(run, name), text);
  const file = await dataset('new-rows.jsonl', [{ id: 'a', text: 'Stocks fall as oil prices rise' }]);
  // The run folder or its model/ folder as MODEL_DIR: either way the run's files are refused.
  for (const modelArg of [run, join(run, 'model')]) {
    for (const name of Object.keys(artefacts)) {
      const io = capture();
      assert.equal(await createPredictCommand(io).run([modelArg, file, '--out', join(run, name), '--backend', 'cpu']), 1, io.err());
      assert.equal(io.err(), `peerkd predict: ${join(run, name)} is the input file ${join(run, name)}: refusing to write over the input; choose another output file\n`);
    }
  }
  for (const [name, text] of Object.entries(artefacts)) assert.equal(await readFile(join(run, name), 'utf8'), text, name);
});

test("predict: --out never writes into PeerKD's own .peerkd folder (run pointers, caches)", async () => {
  const model = join(folder, 'model');
  await mkdir(model, { recursive: true });
  await writeFile(join(model, 'model.json'), '{}');
  const runs = join(folder, '.peerkd', 'runs');
  await mkdir(runs, { recursive: true });
  const pointer = join(runs, 'latest');
  await writeFile(pointer, '20260101-000000-data-abcdef\n');
  const file = await dataset('rows-for-pointer.jsonl', [{ id: 'a', text: 'Stocks fall as oil prices rise' }]);
  for (const out of [pointer, join(runs, 'new-file.jsonl')]) {
    const io = capture();
    assert.equal(await createPredictCommand(io).run([model, file, '--out', out, '--backend', 'cpu']), 1, io.err());
    assert.equal(io.err(), `peerkd predict: ${out}: inside PeerKD's own .peerkd folder (its runs and caches); choose an output file elsewhere\n`);
  }
  assert.equal(await readFile(pointer, 'utf8'), '20260101-000000-data-abcdef\n');
  await assert.rejects(readFile(join(runs, 'new-file.jsonl')), { code: 'ENOENT' });
});

test("distill --out a folder of the user's own: a file named 'latest' that is not a run pointer is never replaced", async () => {
  const own = join(folder, 'my-folder');
  await mkdir(own, { recursive: true });
  await writeFile(join(own, 'latest'), 'my notes\n');
  const file = await dataset('for-own-folder.jsonl', Array.from({ length: 8 }, (_, i) => ({ text: `row ${i} about ${i % 2 ? 'world' : 'sports'}`, teacher_label: i % 2 ? 'World' : 'Sports' })));
  const { code, stderr } = await runCli(['distill', file, '--out', own, '--encoder', 'none', '--backend', 'cpu'], folder);
  assert.equal(code, 1, stderr);
  assert.ok(stderr.includes(`${join(own, 'latest')} exists and is not a PeerKD run pointer, so it is not replaced`), stderr);
  assert.equal(await readFile(join(own, 'latest'), 'utf8'), 'my notes\n');
  // Nothing of the run is left behind in the user's folder.
  assert.deepEqual(await readdir(own), ['latest']);

  // A pointer PeerKD wrote (even to a run removed since) is replaced as before.
  await writeFile(join(own, 'latest'), '20260101-000000-old-abcdef\n');
  const again = await runCli(['distill', file, '--out', own, '--encoder', 'none', '--backend', 'cpu'], folder);
  assert.equal(again.code, 0, again.stderr);
  const id = (await readFile(join(own, 'latest'), 'utf8')).trim();
  assert.notEqual(id, '20260101-000000-old-abcdef');
  assert.ok((await readdir(own)).includes(id));
});

test("predict: a run whose settings.json maps a field to something that is not a name is an error naming the file, unless a flag overrides it", async () => {
  const run = join(folder, 'run-bad-settings');
  await mkdir(join(run, 'model'), { recursive: true });
  await writeFile(join(run, 'model', 'model.json'), '{}');
  const settingsFile = join(run, 'settings.json');
  await writeFile(settingsFile, JSON.stringify({ runId: 'r', datasetPath: '/d.jsonl', datasetSha256: 'x', labels: ['A', 'B'], fields: { text: 5 }, options: {} }));
  const file = await dataset('rows-bad-settings.jsonl', [{ id: 'a', text: 'Stocks fall as oil prices rise' }]);
  let io = capture();
  assert.equal(await createPredictCommand(io).run([run, file, '--backend', 'cpu']), 1);
  assert.equal(io.err(), `peerkd predict: ${settingsFile}: the run's field mapping 'fields.text' is 5, not a field name; correct it there, or give --fields.text\n`);
  // With the flag, the broken entry is not used: the run goes on to the model (a stub here, so it stops there).
  io = capture();
  assert.equal(await createPredictCommand(io).run([run, file, '--backend', 'cpu', '--fields.text', 'text']), 1);
  assert.match(io.err(), /model\.json: not a PeerKD model/);
});

test('a reader that stops early (peerkd predict … | head -1) ends the CLI quietly, not with an EPIPE stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const { pathToFileURL } = await import('node:url');
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(repoRoot, 'src/cli/main.ts'), 'predict', '--help'], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
  // The read end closed before the CLI writes: its first write fails with EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('distill: text that is not valid UTF-8 (a Latin-1 byte) is named in a warning with its line', async () => {
  const file = join(folder, 'latin1.jsonl');
  await writeFile(
    file,
    Buffer.concat([
      Buffer.from('{"text": "coffee shop", "teacher_label": "World"}\n{"text": "caf'),
      Buffer.from([0xe9]), // é in Latin-1
      Buffer.from('", "teacher_label": "Sports"}\n{"text": "tea", "teacher_label": "World"}\n{"text": "match", "teacher_label": "Sports"}\n'),
    ]),
  );
  const input = await readTrainingInput({ file, fields: DEFAULT_FIELDS, labels: [], folds: 2 });
  assert.ok(
    input.warnings.includes(`line 2 holds bytes that are not valid UTF-8 (later lines may too); they are read as U+FFFD, so the students see other text than the file holds — save the file as UTF-8`),
    input.warnings.join('\n'),
  );
  // A real U+FFFD, written as valid UTF-8, is no problem.
  const valid = join(folder, 'fffd.jsonl');
  await writeFile(valid, ['World', 'Sports', 'World', 'Sports'].map((label, i) => JSON.stringify({ text: `row ${i} \ufffd`, teacher_label: label })).join('\n') + '\n');
  assert.ok(!(await readTrainingInput({ file: valid, fields: DEFAULT_FIELDS, labels: [], folds: 2 })).warnings.some((warning) => warning.includes('UTF-8')));
});

test('distill: a label (not the text) that is not valid UTF-8 is named in the same warning, not only as a label of its own', async () => {
  // A Latin-1 byte in a teacher label: the run read 'Sp\ufffdrts' as a third label and said only that it was on too
  // few rows, never why.
  for (const field of ['teacher_label', 'human_label']) {
    const file = join(folder, `latin1-${field}.jsonl`);
    const rows = ['World', 'Sports', 'World', 'Sports', 'World', 'Sports'].map((label, i) => JSON.stringify({ text: `row ${i}`, teacher_label: label }));
    await writeFile(
      file,
      Buffer.concat([
        Buffer.from(rows.join('\n') + '\n'),
        Buffer.from(`{"text": "row 6", ${field === 'human_label' ? '"teacher_label": "Sports", ' : ''}"${field}": "Sp`),
        Buffer.from([0xf6]), // ö in Latin-1
        Buffer.from('rts"}\n'),
      ]),
    );
    const input = await readTrainingInput({ file, fields: DEFAULT_FIELDS, labels: [], folds: 2 });
    assert.ok(
      input.warnings.some((warning) => warning.startsWith('line 7 holds bytes that are not valid UTF-8')),
      `${field}: ${input.warnings.join('\n')}`,
    );
  }
});

test('distill: human labels under another field name are offered as a flag that reads them: quoted, and never a key holding a dot', async () => {
  const rows = (field: string) => Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `row ${i}`, teacher_label: i % 2 ? 'World' : 'Sports', [field]: i % 3 ? 'World' : 'Sports' })).join('\n') + '\n';
  const warningsOf = async (name: string, field: string) => {
    const file = join(folder, name);
    await writeFile(file, rows(field));
    return (await readTrainingInput({ file, fields: DEFAULT_FIELDS, labels: [], folds: 2 })).warnings.filter((warning) => warning.startsWith('no row has a human label'));
  };
  // A name with a space: pasted as it was said, --fields.human gold label set the field 'gold' (and 'label' was an extra path).
  const spaced = await warningsOf('gold-space.jsonl', 'gold label');
  assert.equal(spaced.length, 1, spaced.join('\n'));
  assert.ok(spaced[0].includes('(--fields.human "gold label")'), spaced[0]);
  // A key holding a dot cannot be named (--fields.human gold.label reads the member label of gold): offering it led to a
  // run that read no human label and offered the same flag again.
  assert.deepEqual(await warningsOf('gold-dot.jsonl', 'gold.label'), []);
});

test("distill and export: '-' is said to be standard input, which cannot be a dataset, not 'file not found'", async () => {
  // predict reads '-' as standard input; distill and export said "-: file not found".
  for (const [name, command, argv] of [
    ['distill', createDistillCommand, ['-']],
    ['export', createExportCommand, ['-', '--teacher-labels']],
  ] as const) {
    const io = capture();
    assert.equal(await command(io).run([...argv]), 1, io.err());
    assert.match(io.err(), new RegExp(`^peerkd ${name}: -: standard input cannot be a dataset .*save the rows as a \\.jsonl file and give its path\n$`));
  }
});

test('distill: a teacher label that is a label of the configured set written another way (NFD, a trailing newline) is named', () => {
  const nfd = 'Cafe\u0301';
  const text = [
    { text: 'row 0', teacher_label: 'Café' },
    { text: 'row 1', teacher_label: nfd },
    { text: 'row 2', teacher_label: 'Tea' },
    { text: 'row 3', teacher_label: 'Tea\n' },
    { text: 'row 4', teacher_label: 'Other' },
  ]
    .map((row) => JSON.stringify(row))
    .join('\n');
  const input = prepareTrainingInput(text, { file: 'set.jsonl', fields: DEFAULT_FIELDS, labels: ['Café', 'Tea'], folds: 2 });
  const warning = input.warnings.find((line) => line.includes('outside the label set'));
  assert.equal(
    warning,
    `3 teacher label(s) outside the label set were treated as missing (lines 2, 4, 5); '${nfd}' (line 2) is the label 'Café' written with other Unicode characters or white space: write it as in the label set`,
  );
  // Nothing alike: the plain warning.
  const plain = prepareTrainingInput(text.replace(nfd, 'Cake').replace('Tea\\n', 'Milk'), { file: 'set.jsonl', fields: DEFAULT_FIELDS, labels: ['Café', 'Tea'], folds: 2 });
  assert.equal(plain.warnings.find((line) => line.includes('outside the label set')), '3 teacher label(s) outside the label set were treated as missing (lines 2, 4, 5)');
});

test('predict: a run pointer naming a run that is gone says so, naming the pointer and the run; a pointer never leaves its runs folder', async () => {
  const peerkd = join(folder, 'stale', '.peerkd');
  const runs = join(peerkd, 'runs');
  await mkdir(join(runs, 'latest-by-dataset'), { recursive: true });
  await writeFile(join(runs, 'latest'), '20260101-000000-data-abcdef\n');
  await writeFile(join(runs, 'latest-by-dataset', 'data-0123'), '20260101-000000-data-abcdef\n');
  const file = await dataset('rows-for-stale.jsonl', [{ id: 'a', text: 'Stocks fall as oil prices rise' }]);
  const gone = (pointer: string) =>
    `peerkd predict: %GIVEN%: the run pointer ${pointer} names run '20260101-000000-data-abcdef', which is not in ${runs} (deleted?): name a run folder there, or run peerkd distill again\n`;
  for (const [given, pointer] of [
    [join(runs, 'latest'), join(runs, 'latest')],
    [runs, join(runs, 'latest')],
    [join(runs, 'latest-by-dataset', 'data-0123'), join(runs, 'latest-by-dataset', 'data-0123')],
  ]) {
    const io = capture();
    assert.equal(await createPredictCommand(io).run([given, file, '--backend', 'cpu']), 1, io.err());
    assert.equal(io.err(), gone(pointer).replace('%GIVEN%', given));
  }
  // `latest` naming a folder beside the runs folder (.peerkd/other, with a model.json) is not followed out of it.
  await mkdir(join(peerkd, 'other'), { recursive: true });
  await writeFile(join(peerkd, 'other', 'model.json'), '{}');
  await writeFile(join(runs, 'latest'), 'other\n');
  const io = capture();
  assert.equal(await createPredictCommand(io).run([join(runs, 'latest'), file, '--backend', 'cpu']), 1, io.err());
  assert.match(io.err(), /names run 'other', which is not in .*runs \(deleted\?\)/);
  // A small file that is no pointer (any name but latest, outside latest-by-dataset) is not read as one.
  await writeFile(join(folder, 'stale', 'notes.txt'), 'other\n');
  const notes = capture();
  assert.equal(await createPredictCommand(notes).run([join(folder, 'stale', 'notes.txt'), file, '--backend', 'cpu']), 1);
  assert.match(notes.err(), /notes\.txt: no model\.json here/);
});

test('a reader that stops early on both outputs (peerkd predict … 2>&1 | head -1) ends the CLI with its own exit code, not a crash in its error handler', async () => {
  const { spawnSync } = await import('node:child_process');
  const { pathToFileURL } = await import('node:url');
  const work = join(folder, 'head-both');
  await mkdir(work, { recursive: true });
  const labels = ['World', 'Sports'];
  const words: Record<string, string[]> = { World: ['summit', 'minister', 'vote'], Sports: ['match', 'goal', 'coach'] };
  const rows = Array.from({ length: 2000 }, (_, i) => ({ id: `r${i}`, text: `${words[labels[i % 2]][i % 3]} story ${i}`, teacher_label: labels[i % 2] }));
  const data = join(work, 'd.jsonl');
  await writeFile(data, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  const trained = await runCli(['distill', data, '--encoder', 'none', '--backend', 'cpu', '--folds', '2', '--stages', '1'], work);
  assert.equal(trained.code, 0, trained.stderr);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const cli = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(tsx)} ${JSON.stringify(join(repoRoot, 'src/cli/main.ts'))}`;
  // pipefail: the pipeline's status is the CLI's (head's is 0). Its summary goes to standard error after the reader left.
  const result = spawnSync('bash', ['-c', `set -o pipefail; ${cli} predict .peerkd/runs/latest d.jsonl --backend cpu 2>&1 | head -1 > /dev/null`], { cwd: work, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});

test('distill: labels that hold a comma are given to --labels as a JSON list and named whole in the summary; a malformed list is a usage error', async () => {
  // Before: --labels split on every comma, so 'Arts, Culture' could not be named at all ("Arts" and "Culture"), and the
  // summary listed the set as "Arts, Culture, Sports", three labels to a reader.
  const labels = ['Arts, Culture', 'Sports'];
  const words: Record<string, string[]> = { 'Arts, Culture': ['museum', 'painting', 'opera', 'gallery'], Sports: ['match', 'goal', 'team', 'coach'] };
  const rows = Array.from({ length: 40 }, (_, i) => {
    const label = labels[i % 2];
    return { id: `r${i}`, text: `${words[label][i % 4]} ${words[label][(i + 1) % 4]} story ${i}`, teacher_label: label, ...(i % 5 === 0 ? { human_label: label } : {}) };
  });
  const file = await dataset('comma-labels.jsonl', rows);
  const out = join(folder, 'runs-comma');
  const io = capture();
  const code = await createDistillCommand(io).run([file, '--labels', '["Arts, Culture", "Sports"]', '--encoder', 'none', '--backend', 'cpu', '--out', out]);
  assert.equal(code, 0, io.err());
  assert.match(io.out(), /^\s+labels\s+"Arts, Culture", Sports$/m);
  const runId = (await readFile(join(out, 'latest'), 'utf8')).trim();
  const settings = JSON.parse(await readFile(join(out, runId, 'settings.json'), 'utf8')) as { labels: string[] };
  assert.deepEqual(settings.labels, labels);
  for (const [spec, message] of [
    ['["Arts, Culture", Sports]', /--labels "\[\\"Arts, Culture\\", Sports\]": a list that starts with \[ is a JSON list of labels, each in double quotes/],
    ['[1, 2]', /--labels "\[1, 2\]": a list that starts with \[ is a JSON list of labels/],
    ['["Sports", "Sports"]', /--labels "\[\\"Sports\\", \\"Sports\\"\]": label "Sports" is listed twice/],
  ] as const) {
    const refused = capture();
    assert.equal(await createDistillCommand(refused).run([file, '--labels', spec]), 2, spec);
    assert.match(refused.err(), message);
  }
});

test('distill and export of w.json beside a w.jsonl: the rename suggested is to a free name (peerkd move refused the one taken: "both exist"), and the suggested move then works', async () => {
  const sub = join(folder, 'rename-taken');
  await mkdir(sub);
  const rows = [0, 1, 2, 3].map((i) => ({ text: `row ${i}`, teacher_label: i % 2 ? 'A' : 'B' }));
  await writeJsonl(sub, 'w.json', rows);
  await writeJsonl(sub, 'w.jsonl', rows);
  const kind = 'not a JSON Lines dataset (.jsonl or .ndjson), the files the editor reviews runs of';
  for (const command of ['distill', 'export']) {
    const refused = await runCli([command, 'w.json', ...(command === 'export' ? ['--teacher-labels'] : [])], sub);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stderr, `peerkd ${command}: w.json: ${kind}: rename it (w.jsonl is there already, so to another name: peerkd move w.json w-2.jsonl, which carries any runs made of it)\n`);
  }
  // The next numbered name when that one is taken too (a folder counts: move will not replace it either).
  await mkdir(join(sub, 'w-2.jsonl'));
  const next = await runCli(['distill', 'w.json'], sub);
  assert.match(next.stderr, /w\.jsonl is there already, so to another name: peerkd move w\.json w-3\.jsonl,/);
  // The advice is one that runs.
  const moved = await runCli(['move', 'w.json', 'w-3.jsonl'], sub);
  assert.equal(moved.code, 0, moved.stderr);
  assert.deepEqual((await readdir(sub)).sort(), ['w-2.jsonl', 'w-3.jsonl', 'w.jsonl']);
  // Every numbered name taken: the user is asked to choose one.
  await writeJsonl(sub, 'v.txt', rows);
  for (const name of ['v.jsonl', ...Array.from({ length: 9 }, (_, i) => `v-${i + 2}.jsonl`)]) await writeFile(join(sub, name), '');
  const none = await runCli(['distill', 'v.txt'], sub);
  assert.equal(none.stderr, `peerkd distill: v.txt: ${kind}: rename it to a .jsonl or .ndjson name that is free (v.jsonl is there already): peerkd move v.txt NEW, which carries any runs made of it\n`);
});

test('distill --labels with one label is a usage error before anything is read or run; a label set of two over rows of one label is refused as the rows alone are', async () => {
  const sub = join(folder, 'one-label');
  await mkdir(sub);
  const file = await writeJsonl(sub, 'world.jsonl', Array.from({ length: 12 }, (_, i) => ({ text: `summit talks ${i}`, teacher_label: 'World' })));
  // Before: "Run …: world.jsonl" and the featurize progress, then exit 1 from the run's check.
  for (const labels of ['World', '["World"]', 'World,']) {
    const single = await runCli(['distill', '--labels', labels, file], sub);
    assert.equal(single.code, 2, single.stderr);
    assert.doesNotMatch(single.stderr, /Run |featurize/, single.stderr);
  }
  const single = await runCli(['distill', '--labels', 'World', 'world.jsonl'], sub);
  assert.match(single.stderr, /^peerkd distill: --labels "World": one label; a label set needs at least two — give every label of the task \(--labels A,B,C\), or leave out --labels to take the labels the rows hold\n\nUsage: peerkd distill /);
  assert.deepEqual(await readdir(sub), ['world.jsonl'], 'no run was started');
  // Rows all 'World': without --labels "every label in the dataset is 'World'"; with --labels World,Sports the run
  // went on to "Teacher ≈ 100% right" with a warning that Sports is on no row.
  const bare = await runCli(['distill', 'world.jsonl'], sub);
  assert.equal(bare.code, 1, bare.stderr);
  assert.match(bare.stderr, /every label in the dataset is 'World'/);
  const two = await runCli(['distill', '--labels', 'World,Sports', 'world.jsonl'], sub);
  assert.equal(two.code, 1, two.stderr);
  assert.match(two.stderr, /peerkd distill: .*world\.jsonl:1: every label on the rows is 'World' \(first on line 1\), though the label set \(setting peerkd\.labels or --labels\) names 2: the peers cannot learn to tell labels apart from rows of one label — add rows with the other labels of the set\n$/);
  assert.doesNotMatch(two.stdout + two.stderr, /complete|Teacher ≈/);
});
