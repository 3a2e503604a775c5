/**
 * `peerkd export` as a hostile user drives it: the rules of what it replaces, where it writes and what it says of a
 * dataset or a run changed since, each through the command itself (in process, captureIo).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExportCommand } from '../../src/cli/export';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { exportReviewedFile } from '../../src/review/export';
import { prepareTrainingInput } from '../../src/training/input';
import { captureIo } from '../support/captureIo';
import { writeLatestPointer, writeRun } from '../support/runFolder';
import { tempFolder } from '../fixtures/training/build';

let folder: string;

before(async () => {
  folder = await tempFolder('export-fidelity');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function exportCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await createExportCommand(io).run(args);
  return { code, out: io.out(), err: io.err() };
}

test('an existing EMPTY file is refused without --force like any other existing file (it was replaced silently)', async () => {
  const work = join(folder, 'empty-target');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  await writeFile(data, '{"id": "a", "text": "t1", "teacher_label": "A"}\n');
  const target = join(work, 'data.reviewed.jsonl');
  await writeFile(target, '');
  const before = await stat(target);
  const refused = await exportCli([data, '--teacher-labels']);
  assert.equal(refused.code, 1, refused.err);
  assert.equal(refused.err, `peerkd export: ${target} exists, so it is not replaced: add --force to replace it (a copy exported before), or choose another --out\n`);
  // Left as it was: the same file (not a new one in its place), still empty.
  const after = await stat(target);
  assert.equal(after.ino, before.ino);
  assert.equal(after.size, 0);
  const forced = await exportCli([data, '--teacher-labels', '--force']);
  assert.equal(forced.code, 0, forced.err);
  assert.match(await readFile(target, 'utf8'), /"final_label": "A"/);
  assert.deepEqual((await readdir(work)).sort(), ['data.jsonl', 'data.reviewed.jsonl']);
});

test('a dataset edited since its run: the export says so (a row whose text changed takes the advice given to its old text); unchanged, nothing is said', async () => {
  const work = join(folder, 'edited-since');
  const runsDir = join(work, '.peerkd', 'runs');
  await mkdir(runsDir, { recursive: true });
  const data = join(work, 'data.jsonl');
  const text = '{"id": "a", "text": "stocks fall", "teacher_label": "World"}\n{"id": "b", "text": "team wins", "teacher_label": "Sports"}\n';
  await writeFile(data, text);
  const runId = '20260101-000000-data-abcdef';
  const runDir = await writeRun(runsDir, runId, data);
  // The run as the worker writes it: the dataset's digest, and the advice Business for row a.
  const settingsFile = join(runDir, 'settings.json');
  const settings = JSON.parse(await readFile(settingsFile, 'utf8')) as Record<string, unknown>;
  await writeFile(settingsFile, JSON.stringify({ ...settings, datasetSha256: createHash('sha256').update(text).digest('hex'), labels: ['Business', 'Sports', 'World'] }));
  const prediction = (id: string, line: number, teacher: string, suggested: string) =>
    JSON.stringify({ id, line, teacher, human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: { Business: 0.9, Sports: 0.05, World: 0.05 }, peer_probs: {}, vanilla_probs: {} });
  await writeFile(join(runDir, 'predictions.jsonl'), `${prediction('a', 1, 'World', 'Business')}\n${prediction('b', 2, 'Sports', 'Sports')}\n`);
  await writeLatestPointer(runsDir, runId, data);

  const unchanged = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'one.jsonl')]);
  assert.equal(unchanged.code, 0, unchanged.err);
  assert.equal(unchanged.err, '');
  assert.match(await readFile(join(work, 'one.jsonl'), 'utf8'), /"final_label": "Business"/);

  // Row a's text is rewritten since the run: its advice is the old text's, and nothing told the user.
  await writeFile(data, text.replace('stocks fall', 'the team wins the cup'));
  const edited = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'two.jsonl')]);
  assert.equal(edited.code, 0, edited.err);
  assert.equal(
    edited.err,
    `warning: ${data} changed since run ${runId} read it: rows are matched to the run by id (without one, by text) and take the labels they hold now, but a row with an id of its own whose text you edited since takes the probability and advice the run gave its old text; run peerkd distill again for advice on the file as it is\n`,
  );
  const teacherOnly = await exportCli([data, '--teacher-labels', '--out', join(work, 'three.jsonl')]);
  assert.match(teacherOnly.err, /takes the probability the run gave its old text; run peerkd distill again for figures of the file as it is\n$/);

  // Labels written since (Label Review's human labels, a teacher label changed), the file saved with CRLF and its
  // fields spaced otherwise: the texts are the run's, and nothing is said.
  await writeFile(data, '{"id":"a","text":"stocks fall","teacher_label":"World","human_label":"Business"}\r\n{ "id": "b", "text": "team wins", "teacher_label": "World" }\r\n');
  const labelled = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'four.jsonl')]);
  assert.equal(labelled.code, 0, labelled.err);
  assert.equal(labelled.err, '');
  // A run made before the rows' digest was recorded: the file's bytes are compared, as before.
  const { rowTextsSha256: _recorded, ...older } = JSON.parse(await readFile(settingsFile, 'utf8')) as Record<string, unknown>;
  assert.equal(typeof _recorded, 'string', 'writeRun records the digest of the rows, as the worker does');
  await writeFile(settingsFile, JSON.stringify(older));
  const olderRun = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'five.jsonl')]);
  assert.match(olderRun.err, /changed since run/);
  // Its predictions have no text digests either: the edited row takes its old text's advice, as it always did.
  assert.doesNotMatch(edited.out, /whose text changed/);
  assert.match(await readFile(join(work, 'two.jsonl'), 'utf8'), /"final_label": "Business"/);
});

test('peerkd export: a row whose text was edited since a run that recorded its text digest keeps its labels, named file:line; the other rows take the advice', async () => {
  const work = join(folder, 'edited-row-digest');
  const runsDir = join(work, '.peerkd', 'runs');
  await mkdir(runsDir, { recursive: true });
  const data = join(work, 'data.jsonl');
  const text = '{"id": "a", "text": "stocks fall", "teacher_label": "World"}\n{"id": "b", "text": "rates rise", "teacher_label": "World"}\n';
  await writeFile(data, text);
  const runId = '20260101-000000-data-rowdig';
  const runDir = await writeRun(runsDir, runId, data);
  const settingsFile = join(runDir, 'settings.json');
  const settings = JSON.parse(await readFile(settingsFile, 'utf8')) as Record<string, unknown>;
  await writeFile(settingsFile, JSON.stringify({ ...settings, labels: ['Business', 'Sports', 'World'] }));
  // The run as it writes predictions.jsonl now: each line with the digest of its row's text (16 hex digits of sha256).
  const digest = (rowText: string) => createHash('sha256').update(rowText, 'utf8').digest('hex').slice(0, 16);
  const prediction = (id: string, line: number, rowText: string) =>
    JSON.stringify({ id, line, teacher: 'World', human: null, suggested: 'Business', p_teacher_wrong: 0.9, flagged: true, probs: { Business: 0.9, Sports: 0.05, World: 0.05 }, peer_probs: {}, vanilla_probs: {}, text_digest: digest(rowText) });
  await writeFile(join(runDir, 'predictions.jsonl'), `${prediction('a', 1, 'stocks fall')}\n${prediction('b', 2, 'rates rise')}\n`);
  await writeLatestPointer(runsDir, runId, data);
  const finals = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { final_label: string; label_provenance: Record<string, unknown> });

  const asRun = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'one.jsonl')]);
  assert.equal(asRun.code, 0, asRun.err);
  assert.deepEqual((await finals(join(work, 'one.jsonl'))).map((row) => row.final_label), ['Business', 'Business']);

  // Row a's text rewritten since the run: the advice Business was given to "stocks fall", not to this text.
  await writeFile(data, text.replace('stocks fall', 'the team wins the cup'));
  const edited = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'two.jsonl')]);
  assert.equal(edited.code, 0, edited.err);
  const rows = await finals(join(work, 'two.jsonl'));
  assert.deepEqual(rows.map((row) => row.final_label), ['World', 'Business'], 'a keeps its teacher label; b, unchanged, is advised');
  assert.deepEqual(rows[0].label_provenance, { source: 'teacher', run: runId }, 'nor the probability the run gave the old text');
  assert.ok(edited.out.includes(`1 row whose text changed since run ${runId} kept its labels, without the run's probability or advice (about the old text; 1 of them advised with p ≥ 0.5, not taken): ${data}:1`), edited.out);
  assert.equal(edited.err, '', 'the rows are named: no vague warning that some text changed');
});

test('peerkd export: two rows sharing an id whose texts were swapped since the run do not take each other\'s advice; the lines left are named', async () => {
  const work = join(folder, 'swapped-duplicates');
  const runsDir = join(work, '.peerkd', 'runs');
  await mkdir(runsDir, { recursive: true });
  const data = join(work, 'data.jsonl');
  const rows = ['{"id": "d", "text": "stocks fall", "teacher_label": "World"}', '{"id": "d", "text": "team wins", "teacher_label": "World"}', '{"id": "u", "text": "rates rise", "teacher_label": "World"}'];
  await writeFile(data, rows.join('\n') + '\n');
  const runId = '20260101-000000-data-dup000';
  const runDir = await writeRun(runsDir, runId, data);
  const settingsFile = join(runDir, 'settings.json');
  const settings = JSON.parse(await readFile(settingsFile, 'utf8')) as Record<string, unknown>;
  await writeFile(settingsFile, JSON.stringify({ ...settings, labels: ['Business', 'Sports', 'World'] }));
  // The run: Business for "stocks fall" (the first 'd'), Sports for "team wins" (the second), Business for 'u'.
  const prediction = (id: string, line: number, suggested: string) =>
    JSON.stringify({ id, line, teacher: 'World', human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: { [suggested]: 0.9 }, peer_probs: {}, vanilla_probs: {} });
  await writeFile(join(runDir, 'predictions.jsonl'), [prediction('d', 1, 'Business'), prediction('d', 2, 'Sports'), prediction('u', 3, 'Business')].join('\n') + '\n');
  await writeLatestPointer(runsDir, runId, data);
  const finals = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { final_label: string }).final_label);

  const asRun = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'one.jsonl')]);
  assert.equal(asRun.code, 0, asRun.err);
  assert.deepEqual(await finals(join(work, 'one.jsonl')), ['Business', 'Sports', 'Business'], 'unchanged, each duplicate takes its own advice');

  // The two texts swapped: "team wins" on line 1 took Business (the advice for "stocks fall"), and the other way round.
  await writeFile(data, [rows[1], rows[0], rows[2]].join('\n') + '\n');
  const swapped = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'two.jsonl')]);
  assert.equal(swapped.code, 0, swapped.err);
  assert.deepEqual(await finals(join(work, 'two.jsonl')), ['World', 'World', 'Business'], 'they keep their teacher label; the row with its own id is advised');
  const named = `2 rows sharing an id with another row (${data}:1, ${data}:2) exported with the label they hold, without the run's probability or advice: the file's texts changed since run ${runId}`;
  assert.ok(swapped.out.includes(named), swapped.out);
  assert.match(swapped.err, /changed since run/);
});

test('peerkd export with a run that recorded text digests: rows sharing an id are each compared with their own text; swapped texts keep their labels, an unchanged one keeps its advice', async () => {
  const work = join(folder, 'swapped-digests');
  const runsDir = join(work, '.peerkd', 'runs');
  await mkdir(runsDir, { recursive: true });
  const data = join(work, 'data.jsonl');
  const rows = ['{"id": "d", "text": "stocks fall", "teacher_label": "World"}', '{"id": "d", "text": "team wins", "teacher_label": "World"}', '{"id": "e", "text": "oil up", "teacher_label": "World"}', '{"id": "e", "text": "oil down", "teacher_label": "World"}'];
  await writeFile(data, rows.join('\n') + '\n');
  const runId = '20260101-000000-data-dupdig';
  const runDir = await writeRun(runsDir, runId, data);
  const settingsFile = join(runDir, 'settings.json');
  const settings = JSON.parse(await readFile(settingsFile, 'utf8')) as Record<string, unknown>;
  await writeFile(settingsFile, JSON.stringify({ ...settings, labels: ['Business', 'Sports', 'World'] }));
  const digest = (rowText: string) => createHash('sha256').update(rowText, 'utf8').digest('hex').slice(0, 16);
  const prediction = (id: string, line: number, rowText: string, suggested: string) =>
    JSON.stringify({ id, line, teacher: 'World', human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: { [suggested]: 0.9 }, peer_probs: {}, vanilla_probs: {}, text_digest: digest(rowText) });
  await writeFile(join(runDir, 'predictions.jsonl'), [prediction('d', 1, 'stocks fall', 'Business'), prediction('d', 2, 'team wins', 'Sports'), prediction('e', 3, 'oil up', 'Business'), prediction('e', 4, 'oil down', 'Business')].join('\n') + '\n');
  await writeLatestPointer(runsDir, runId, data);
  const finals = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { final_label: string }).final_label);

  // The d texts swapped; the e rows as the run read them.
  await writeFile(data, [rows[1], rows[0], rows[2], rows[3]].join('\n') + '\n');
  const swapped = await exportCli([data, '--advice-min-p', '0.5', '--out', join(work, 'one.jsonl')]);
  assert.equal(swapped.code, 0, swapped.err);
  assert.deepEqual(await finals(join(work, 'one.jsonl')), ['World', 'World', 'Business', 'Business'], 'the swapped rows keep their label; the e rows, unchanged, take their advice');
  assert.ok(swapped.out.includes(`2 rows whose text changed since run ${runId} kept their labels, without the run's probability or advice (about the old text; 2 of them advised with p ≥ 0.5, not taken): ${data}:1, ${data}:2`), swapped.out);
  assert.doesNotMatch(swapped.out, /sharing an id/);
  assert.equal(swapped.err, '');
});

test("the digest of the rows' ids and texts: a run's (prepareTrainingInput) equals export's of the same file, and only an id or a text changes it", async () => {
  const work = join(folder, 'row-texts');
  await mkdir(work, { recursive: true });
  const rows = [
    '\ufeff{"id": "a", "text": "caf\\u00e9 \u00e9t\u00e9", "teacher_label": "World"}',
    '{"id": 7, "text": "numbers are ids too", "teacher_label": "Sports"}',
    'not json at all',
    '{"id": "c", "teacher_label": "World"}',
    '{"text": "no id: its text is its key", "teacher_label": "Sports"}',
    '{"id": "d", "text": "  white space kept  ", "teacher_label": "World", "human_label": "World"}',
  ];
  const digestOf = async (lines: string[], name: string) => {
    const file = join(work, `${name}.jsonl`);
    await writeFile(file, lines.join('\r\n'));
    const exported = await exportReviewedFile(file, join(work, `${name}.out.jsonl`), { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null });
    return { run: prepareTrainingInput(lines.join('\r\n'), { file, fields: DEFAULT_FIELDS, labels: [], folds: 2 }).rowTextsSha256, exported: exported.rowTextsSha256 };
  };
  const base = await digestOf(rows, 'base');
  assert.equal(base.run, base.exported, 'the run and the export read the same rows');
  // The teacher's labels swapped, and a human label written on the first row.
  const swapped = rows.map((line) =>
    line.replace('"teacher_label": "World"', '"teacher_label": "@"').replace('"teacher_label": "Sports"', '"teacher_label": "World"').replace('"teacher_label": "@"', '"teacher_label": "Sports"'),
  );
  swapped[0] = swapped[0].replace('"teacher_label"', '"human_label": "World", "teacher_label"');
  const relabelled = await digestOf(swapped, 'relabelled');
  assert.deepEqual(relabelled, base, 'labels leave the digest as it was');
  const retexted = await digestOf(rows.map((line) => line.replace('numbers are ids too', 'numbers are ids, too')), 'retexted');
  assert.notEqual(retexted.run, base.run);
  assert.equal(retexted.run, retexted.exported);
  const reordered = await digestOf([rows[0], rows[4], rows[1], rows[2], rows[3], rows[5]], 'reordered');
  assert.notEqual(reordered.run, base.run, 'rows in another order are another file');
  const reId = await digestOf(rows.map((line) => line.replace('"id": 7', '"id": 8')), 'reid');
  assert.notEqual(reId.run, base.run);
});
