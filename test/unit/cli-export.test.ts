/**
 * `peerkd export` as a pipeline runs it, each call a real child process (src/cli/main.ts): the reviewed copy after a
 * real `peerkd distill` run equals, byte for byte, what the review core writes for the editor's "Export Reviewed
 * Dataset" from the same run; a dataset without a run exports teacher labels and refuses advice; the advice threshold
 * is never a default; the dataset is never written over (under any name), nor anything in .peerkd or the runs
 * folder; hostile file names and bytes reach neither the terminal nor the copy changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { exportReviewedText, type ExportOptions } from '../../src/review/export';
import { keyedRun } from '../../src/review/keyedRun';
import { readRun, recordRunsDir } from '../../src/training/artifacts';
import { runCli, tempFolder } from '../fixtures/training/build';
import { NEWS_LABELS, NEWS_WORDS } from '../support/syntheticRows';
import { captureIo } from '../support/captureIo';
import { createExportCommand } from '../../src/cli/export';

let folder: string;

before(async () => {
  folder = await tempFolder('cli-export');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const LABELS = NEWS_LABELS;
const WORDS = NEWS_WORDS;

/**
 * 120 rows whose teacher field is `weak` (not the default, so the export must take the run's mapping): every tenth
 * teacher label is wrong (the run advises otherwise on some), every eighth row has a human label; CRLF line ends, one
 * broken line and one blank line, which the copy keeps as they are.
 */
function noisyLines(): string[] {
  const lines: string[] = [];
  for (let index = 0; index < 120; index++) {
    const label = LABELS[index % 4];
    const words = WORDS[label];
    const row: Record<string, unknown> = {
      id: `r${index}`,
      text: `${words[index % 4]} ${words[(index + 1) % 4]} ${words[(index + 2) % 4]} news`,
      weak: index % 10 === 7 ? LABELS[(index + 1) % 4] : label,
    };
    if (index % 8 === 0) row.human_label = label;
    lines.push(JSON.stringify(row));
    if (index === 20) lines.push('{"id": "broken", ');
    if (index === 30) lines.push('');
  }
  return lines;
}

/** The reviewed copy the review core writes for the editor from `text` and the dataset's latest run. */
async function editorCopy(text: string, runDir: string, advice: ExportOptions['advice']): Promise<string> {
  const run = keyedRun(await readRun(runDir));
  return exportReviewedText(text, { fields: { ...DEFAULT_FIELDS, ...run.fields }, predictionsByKey: run.byKey, runId: run.runId, advice }).text;
}

test('export after a real distill run: the copy equals the editor export of the same run, teacher labels or advice above a chosen threshold', async () => {
  const work = join(folder, 'distilled');
  await mkdir(work);
  const text = noisyLines().join('\r\n') + '\r\n';
  await writeFile(join(work, 'data.jsonl'), text);
  const distilled = await runCli(['distill', 'data.jsonl', '--fields.teacher', 'weak', '--encoder', 'none', '--backend', 'cpu', '--stages', '1'], work);
  assert.equal(distilled.code, 0, distilled.stderr);
  const runId = (await readFile(join(work, '.peerkd', 'runs', 'latest'), 'utf8')).trim();
  const runDir = join(work, '.peerkd', 'runs', runId);

  // No field flag: the run's mapping (teacher field `weak`) is the export's.
  const teacher = await runCli(['export', 'data.jsonl', '--teacher-labels'], work);
  assert.equal(teacher.code, 0, teacher.stderr);
  assert.equal(teacher.stderr, '');
  const copy = await readFile(join(work, 'data.reviewed.jsonl'), 'utf8');
  assert.equal(copy, await editorCopy(text, runDir, null));
  assert.equal(
    teacher.stdout,
    `Latest run of data.jsonl: ${runId} (${runDir})\nWrote 120 rows to data.reviewed.jsonl with 'final_label' and 'label_provenance' (15 human, 105 teacher). 1 invalid line (line 22) was copied unchanged.\n`,
  );
  const rows = copy.split('\r\n').filter((line) => line.startsWith('{"id": "r') || line.startsWith('{"id":"r')).map((line) => JSON.parse(line) as { weak: string; final_label: string; label_provenance: { source: string; run: string } });
  assert.equal(rows.length, 120);
  assert.ok(rows.every((row) => row.label_provenance.run === runId));
  assert.equal(rows[7].final_label, 'World', 'the teacher label of field weak, wrong as it is');
  assert.equal(copy.split('\r\n')[21], '{"id": "broken", ');
  assert.equal(await readFile(join(work, 'data.jsonl'), 'utf8'), text, 'the dataset is not written');

  // Advice, at a threshold the user gives: the same copy as the editor's, each advised row with its probability.
  const advised = await runCli(['export', 'data.jsonl', '--advice-min-p', '50%', '--out', 'advised.jsonl'], work);
  assert.equal(advised.code, 0, advised.stderr);
  const advisedCopy = await readFile(join(work, 'advised.jsonl'), 'utf8');
  assert.equal(advisedCopy, await editorCopy(text, runDir, { minProbability: 0.5 }));
  const provenances = advisedCopy
    .split('\r\n')
    .filter((line) => line.includes('"source":"advised"'))
    .map((line) => (JSON.parse(line) as { label_provenance: { p_advised: number; advice_threshold: number } }).label_provenance);
  assert.ok(provenances.length > 0, advised.stdout);
  assert.ok(provenances.every((provenance) => provenance.advice_threshold === 0.5 && provenance.p_advised >= 0.5));
  assert.match(advised.stdout, new RegExp(`, ${provenances.length} advised with p ≥ 0\\.5[,)]`));

  // A field flag that maps a row otherwise than the run read it is said: such rows take nothing from the run.
  const remapped = await runCli(['export', 'data.jsonl', '--teacher-labels', '--fields.teacher', 'teacher_label', '--out', 'remapped.jsonl'], work);
  assert.equal(remapped.code, 0, remapped.stderr);
  assert.equal(
    remapped.stderr,
    `warning: --fields.teacher is 'teacher_label', but run ${runId} read the teacher field 'weak': rows that no longer read as the run saw them take no probability or advice from it\n`,
  );
});

test('a dataset without a run: teacher labels are exported, advice is refused naming the way out; no choice at all is a usage error', async () => {
  const work = join(folder, 'no-run');
  await mkdir(work);
  const text = '{"id": "a", "text": "t1", "teacher_label": "A"}\n{"id": "b", "text": "t2", "teacher_label": "B", "human_label": "A"}\n{"id": "c", "text": "t3", "teacher_label": 1}\n';
  await writeFile(join(work, 'data.ndjson'), text);

  const none = await runCli(['export', 'data.ndjson'], work);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /^peerkd export: say what rows without a human label take: --teacher-labels \(the teacher label\), or --advice-min-p P .*there is no default\)\n\nUsage: peerkd export /);
  for (const [argv, message] of [
    [['--teacher-labels', '--advice-min-p', '0.9'], 'give either --teacher-labels or --advice-min-p P, not both'],
    [['--advice-min-p', '0'], "--advice-min-p '0': Give the least probability of the advised label, between 0 and 1 (e.g. 0.9) or as a percentage (90%)."],
    [['--advice-min-p', '1.5'], "--advice-min-p '1.5': Give the least probability"],
    [['--advice-min-p', ''], "--advice-min-p '': Give the least probability"],
    [['--teacher-labels', '--fields.human', 'final_label'], "the human label field (--fields.human) is 'final_label', the field the reviewed copy writes every row's final label into"],
  ] as const) {
    // In this process (the usage errors of every command are parsed alike): exit 2, the message, then the help.
    const io = captureIo();
    assert.equal(await createExportCommand(io).run([join(work, 'data.ndjson'), ...argv]), 2, `${argv.join(' ')}: ${io.err()}`);
    assert.ok(io.err().startsWith(`peerkd export: ${message}`), io.err());
    assert.ok(io.err().includes('\n\nUsage: peerkd export '), io.err());
  }
  // A flag naming a field the copy writes over is a usage error before any file is read (it was 'file not found', exit
  // 1, for a dataset path with a typo): the README's rule for every command's flags.
  const io = captureIo();
  assert.equal(await createExportCommand(io).run([join(work, 'no-such.ndjson'), '--teacher-labels', '--fields.text', 'label_provenance.text']), 2, io.err());
  assert.ok(io.err().startsWith("peerkd export: the text field (--fields.text) is 'label_provenance.text', the field the reviewed copy writes every row's label provenance into"), io.err());

  const advice = await runCli(['export', 'data.ndjson', '--advice-min-p', '0.9'], work);
  assert.equal(advice.code, 1, advice.stderr);
  assert.equal(
    advice.stderr,
    `peerkd export: data.ndjson: no run of this dataset in ${join(work, '.peerkd', 'runs')}, so there is no advice to export; run peerkd distill data.ndjson first (or give --runs DIR, the folder it wrote its runs into), or export with --teacher-labels\n`,
  );
  await assert.rejects(stat(join(work, 'data.reviewed.ndjson')), { code: 'ENOENT' });

  const teacher = await runCli(['export', 'data.ndjson', '--teacher-labels'], work);
  assert.equal(teacher.code, 0, teacher.stderr);
  const copy = await readFile(join(work, 'data.reviewed.ndjson'), 'utf8');
  assert.equal(copy, exportReviewedText(text, { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null }).text);
  assert.deepEqual(
    copy.trim().split('\n').map((line) => (JSON.parse(line) as { final_label: string | null; label_provenance: unknown }).final_label),
    ['A', 'A', null],
  );
  assert.match(teacher.stdout, /^No run of data\.ndjson in .*: rows keep their human or teacher label, without a probability\n/);
  assert.match(teacher.stdout, /\(1 human, 1 teacher, 1 without a label, all of them because 'teacher_label' holds no label \(a number, an object or white space; line 3 first\): write the label as text there\)\.\n$/);

  // A --runs folder that is not there is said, not read as "no run".
  const gone = await runCli(['export', 'data.ndjson', '--teacher-labels', '--runs', 'no-such-runs', '--out', 'x.jsonl'], work);
  assert.equal(gone.code, 1, gone.stderr);
  assert.equal(gone.stderr, 'peerkd export: --runs no-such-runs: folder not found\n');

  // The distill it advises can be pasted into a shell: a name with a space and a $ is quoted, one that starts with '-'
  // goes after -- (it was 'run peerkd distill -my $rows.ndjson first': an unknown option, and $rows expanded).
  const odd = '-my $rows.ndjson';
  await writeFile(join(work, odd), text);
  const oddAdvice = await runCli(['export', '--advice-min-p', '0.9', '--', odd], work);
  assert.equal(oddAdvice.code, 1, oddAdvice.stderr);
  assert.ok(oddAdvice.stderr.includes("; run peerkd distill -- '-my $rows.ndjson' first (or give --runs DIR"), oddAdvice.stderr);
  // And the runs folder it names for a --runs that is a run pointer, a folder with a space in its name.
  await mkdir(join(work, 'my runs'));
  await writeFile(join(work, 'my runs', 'latest'), 'x\n');
  const pointer = await runCli(['export', 'data.ndjson', '--teacher-labels', '--runs', 'my runs/latest', '--out', 'x.jsonl'], work);
  assert.equal(pointer.code, 1, pointer.stderr);
  assert.ok(pointer.stderr.endsWith(': give --runs "my runs"\n'), pointer.stderr);
});

test('the copy never goes over the dataset (under any name), into .peerkd or the runs folder, nor over an existing file without --force', async () => {
  const work = join(folder, 'targets');
  await mkdir(join(work, 'sub'), { recursive: true });
  await mkdir(join(work, 'runs'));
  const text = '{"id": "a", "text": "t1", "teacher_label": "A"}\n';
  await writeFile(join(work, 'data.jsonl'), text);
  await symlink(join(work, 'data.jsonl'), join(work, 'link.jsonl'));
  await link(join(work, 'data.jsonl'), join(work, 'hard.jsonl'));
  for (const out of ['data.jsonl', 'sub/../data.jsonl', 'link.jsonl', 'hard.jsonl']) {
    const result = await runCli(['export', 'data.jsonl', '--teacher-labels', '--out', out], work);
    assert.equal(result.code, 1, `${out}: ${result.stderr}`);
    assert.equal(result.stderr, `peerkd export: ${out} is the input file data.jsonl: refusing to write over the input; choose another output file\n`);
  }
  const peerkd = await runCli(['export', 'data.jsonl', '--teacher-labels', '--out', '.peerkd/copy.jsonl'], work);
  assert.equal(peerkd.code, 1);
  assert.match(peerkd.stderr, /^peerkd export: \.peerkd\/copy\.jsonl: inside PeerKD's own \.peerkd folder/);
  const runs = await runCli(['export', 'data.jsonl', '--teacher-labels', '--runs', 'runs', '--out', 'runs/copy.jsonl'], work);
  assert.equal(runs.code, 1);
  assert.match(runs.stderr, /^peerkd export: runs\/copy\.jsonl: inside the runs folder .*runs \(its run artefacts\); choose an output file elsewhere\n$/);
  // A runs folder the dataset used before (listed in .peerkd/runs-folders: a later run reads its runs and review log):
  // refused too, with --runs naming another folder or not.
  await mkdir(join(work, 'old-runs'));
  await recordRunsDir(join(work, 'data.jsonl'), join(work, 'old-runs'));
  for (const flags of [[], ['--runs', join(work, 'runs')]]) {
    const io = captureIo();
    const code = await createExportCommand(io).run([join(work, 'data.jsonl'), '--teacher-labels', ...flags, '--out', join(work, 'old-runs', 'copy.jsonl')]);
    assert.equal(code, 1, io.err());
    assert.equal(io.err(), `peerkd export: ${join(work, 'old-runs', 'copy.jsonl')}: inside the runs folder ${join(work, 'old-runs')} (its run artefacts); choose an output file elsewhere\n`, flags.join(' '));
  }
  assert.equal(await readFile(join(work, 'data.jsonl'), 'utf8'), text);

  // An existing file (a copy the user edited since, another dataset) is replaced only with --force.
  await writeFile(join(work, 'data.reviewed.jsonl'), 'my edits\n');
  const kept = await runCli(['export', 'data.jsonl', '--teacher-labels'], work);
  assert.equal(kept.code, 1);
  assert.equal(kept.stderr, 'peerkd export: data.reviewed.jsonl exists, so it is not replaced: add --force to replace it (a copy exported before), or choose another --out\n');
  assert.equal(await readFile(join(work, 'data.reviewed.jsonl'), 'utf8'), 'my edits\n');
  const forced = await runCli(['export', 'data.jsonl', '--teacher-labels', '--force'], work);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(await readFile(join(work, 'data.reviewed.jsonl'), 'utf8'), /"final_label": "A"/);
});

test('hostile names and bytes: control characters in a file name are escaped on the terminal, invalid UTF-8 is copied byte for byte and named with its line', async () => {
  const work = join(folder, 'hostile');
  await mkdir(work);
  const name = 'ev\x1b]0;owned\x07il\nname\u202e.jsonl';
  await writeFile(join(work, name), '{"id": "a", "text": "t1", "teacher_label": "A"}\n');
  const result = await runCli(['export', name, '--teacher-labels'], work);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!['\x1b', '\x07', '\u202e', 'il\nname'].some((raw) => result.stdout.includes(raw)), result.stdout);
  assert.ok(result.stdout.includes('Wrote 1 rows to ev\\x1b]0;owned\\x07il\\nname\\u202e.reviewed.jsonl'), result.stdout);
  assert.match(await readFile(join(work, 'ev\x1b]0;owned\x07il\nname\u202e.reviewed.jsonl'), 'utf8'), /"final_label": "A"/);

  // A file name that is no dataset, and one that starts with '-' (after --).
  await writeFile(join(work, 'notes.txt'), 'x\n');
  const txt = await runCli(['export', 'notes.txt', '--teacher-labels'], work);
  assert.equal(txt.code, 1);
  assert.equal(txt.stderr, 'peerkd export: notes.txt: not a JSON Lines dataset (.jsonl or .ndjson), the files the editor reviews runs of: rename it (peerkd move notes.txt notes.jsonl, which carries any runs made of it)\n');
  // The rename suggested is run where the export was: it keeps the path's folder (it said 'peerkd move notes.txt
  // notes.jsonl' for sub/notes.txt, a file not there), and is quoted where a shell would split it, '--' before a '-'.
  await mkdir(join(work, 'sub'));
  for (const [given, suggested, moveArgs] of [
    ['sub/notes.txt', 'peerkd move sub/notes.txt sub/notes.jsonl', ['sub/notes.txt', 'sub/notes.jsonl']],
    ['my notes.txt', 'peerkd move "my notes.txt" "my notes.jsonl"', ['my notes.txt', 'my notes.jsonl']],
    ['-notes.json', 'peerkd move -- -notes.json -notes.jsonl', ['--', '-notes.json', '-notes.jsonl']],
  ] as const) {
    await writeFile(join(work, given), '{"id": "a", "text": "t1", "teacher_label": "A"}\n');
    const refused = await runCli(['export', '--teacher-labels', '--', given], work);
    assert.equal(refused.code, 1, refused.stderr);
    assert.ok(refused.stderr.includes(`rename it (${suggested}, which carries`), refused.stderr);
    const moved = await runCli(['move', ...moveArgs], work);
    assert.equal(moved.code, 0, moved.stderr);
    await stat(join(work, moveArgs.at(-1)!));
  }
  await writeFile(join(work, '-x.JSONL'), '{"text": "t", "teacher_label": "A"}\n');
  const dash = await runCli(['export', '--teacher-labels', '--', '-x.JSONL'], work);
  assert.equal(dash.code, 0, dash.stderr);
  await stat(join(work, '-x.reviewed.JSONL'));

  // A Latin-1 byte on line 2: the copy keeps it (the editor's saved-file export does too), and the warning names the line.
  const latin1 = Buffer.concat([Buffer.from('{"id": "a", "text": "coffee", "teacher_label": "World"}\n{"id": "b", "text": "caf'), Buffer.from([0xe9]), Buffer.from('", "teacher_label": "Sports"}\n')]);
  await writeFile(join(work, 'latin1.jsonl'), latin1);
  const bytes = await runCli(['export', 'latin1.jsonl', '--teacher-labels'], work);
  assert.equal(bytes.code, 0, bytes.stderr);
  assert.equal(bytes.stderr, "warning: latin1.jsonl:2: holds bytes that are not valid UTF-8 (later lines may too); they are copied byte for byte, and read as U+FFFD in labels and ids, as the run read them\n");
  const copy = await readFile(join(work, 'latin1.reviewed.jsonl'));
  assert.ok(copy.includes(Buffer.concat([Buffer.from('"text": "caf'), Buffer.from([0xe9]), Buffer.from('", "teacher_label": "Sports", "final_label": "Sports"')])), copy.toString('latin1'));
});

test("the run's field mapping is the default; an entry of its settings.json that is no field name, or one the copy writes over, is named", async () => {
  const work = join(folder, 'run-fields');
  const runDir = join(work, '.peerkd', 'runs', '20260101-000000-data-abcdef');
  await mkdir(runDir, { recursive: true });
  const data = join(work, 'data.jsonl');
  await writeFile(data, '{"id": "a", "text": "t1", "teacher_label": "A", "weak": "B"}\n');
  await writeFile(join(runDir, 'metrics.json'), '{}');
  await writeFile(join(runDir, 'predictions.jsonl'), '');
  const settings = (fields: Record<string, unknown>) =>
    writeFile(join(runDir, 'settings.json'), JSON.stringify({ runId: '20260101-000000-data-abcdef', datasetPath: data, datasetSha256: 'x', labels: ['A', 'B'], fields, options: {} }));
  const run = async (...argv: string[]) => {
    const io = captureIo();
    const code = await createExportCommand(io).run([data, '--teacher-labels', '--force', ...argv]);
    return { code, out: io.out(), err: io.err() };
  };
  await settings({ text: 'text', teacher: 7, human: 'human_label', id: 'id' });
  const broken = await run();
  assert.equal(broken.code, 1, broken.err);
  assert.equal(broken.err, `peerkd export: ${join(runDir, 'settings.json')}: the run's field mapping 'fields.teacher' is 7, not a field name; correct it there, or give --fields.teacher\n`);
  const given = await run('--fields.teacher', 'weak');
  assert.equal(given.code, 0, given.err);
  assert.match(await readFile(join(work, 'data.reviewed.jsonl'), 'utf8'), /"final_label": "B"/);

  await settings({ text: 'text', teacher: 'weak', human: 'final_label', id: 'id' });
  const over = await run();
  assert.equal(over.code, 1, over.err);
  assert.ok(over.err.startsWith("peerkd export: the human label field (fields.human of run 20260101-000000-data-abcdef; give --fields.human) is 'final_label', the field the reviewed copy writes"), over.err);
  const fromRun = await run('--fields.human', 'human_label');
  assert.equal(fromRun.code, 0, fromRun.err);
  assert.match(await readFile(join(work, 'data.reviewed.jsonl'), 'utf8'), /"final_label": "B"/, "the run's teacher field, weak");

  // A settings.json cut off, and no latest pointer: whose run it is cannot be told, so it may be the latest run. It was
  // passed over (a copy without any run, exit 0); it is said, naming the file, as an unreadable latest run is.
  await writeFile(join(runDir, 'settings.json'), '{"runId": "20260101-000000-data-abcdef", "datas');
  const cut = await run();
  assert.equal(cut.code, 1, cut.err);
  assert.ok(cut.err.startsWith(`peerkd export: ${join(runDir, 'settings.json')}: invalid JSON (`), cut.err);
  assert.ok(cut.err.endsWith(`; no latest pointer names a run of ${data} there, so run 20260101-000000-data-abcdef may be its latest run: repair the file or remove the run folder ${runDir}\n`), cut.err);
});

test('a dataset that is a FIFO is refused naming it, as a run refuses it, not waited on for ever', { skip: process.platform === 'win32', timeout: 30_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const work = join(folder, 'fifo');
  await mkdir(work);
  const fifo = join(work, 'data.jsonl');
  execFileSync('mkfifo', [fifo]);
  const io = captureIo();
  // It waited for a writer: the command never returned (the README's limit: a dataset is a regular file).
  assert.equal(await createExportCommand(io).run([fifo, '--teacher-labels']), 1, io.err());
  assert.equal(io.err(), `peerkd export: ${fifo}: not a regular file (a FIFO, socket or device), so it cannot be read as a dataset\n`);
  await assert.rejects(stat(join(work, 'data.reviewed.jsonl')), { code: 'ENOENT' });
});

test('--out /dev/stdout on a pipe is refused as no regular file, not with a bare "ENOENT ... realpath" naming no file', { skip: process.platform !== 'linux' }, async () => {
  const work = join(folder, 'stdout');
  await mkdir(work);
  await writeFile(join(work, 'data.jsonl'), '{"id": "a", "text": "t1", "teacher_label": "A"}\n');
  const result = await runCli(['export', 'data.jsonl', '--teacher-labels', '--out', '/dev/stdout'], work);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr, 'peerkd export: /dev/stdout: not a regular file, so it is not replaced\n');
  assert.equal(result.stdout, '');
});

test('--out an existing folder is said to be a folder, with the path of the copy to give in it (it was "not a regular file, so it is not replaced")', async () => {
  const work = join(folder, 'out-folder');
  await mkdir(join(work, 'out'), { recursive: true });
  await mkdir(join(work, 'my copies'));
  await writeFile(join(work, 'data.jsonl'), '{"id": "a", "text": "t1", "teacher_label": "A"}\n');
  for (const [out, copy] of [['out', 'out/data.reviewed.jsonl'], ['out/', 'out/data.reviewed.jsonl'], ['my copies', '"my copies/data.reviewed.jsonl"']]) {
    const result = await runCli(['export', 'data.jsonl', '--teacher-labels', '--out', out], work);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, `peerkd export: ${out}: a folder, not a file; give the path of the file to write (e.g. ${copy})\n`);
  }
  // The path it names is one export takes.
  const given = await runCli(['export', 'data.jsonl', '--teacher-labels', '--out', 'out/data.reviewed.jsonl'], work);
  assert.equal(given.code, 0, given.stderr);
  await stat(join(work, 'out', 'data.reviewed.jsonl'));
});

test('export: a file with no row (empty, blank lines, UTF-16, gzip, one pretty-printed document) is refused naming what it is, and no copy is written', async () => {
  // Before: "Wrote 0 rows to x.reviewed.jsonl … 4 invalid lines were copied unchanged", exit 0, a copy of nothing.
  const work = join(folder, 'no-rows');
  await mkdir(work, { recursive: true });
  const row = JSON.stringify({ id: 'a', text: 'summit vote', teacher_label: 'World' });
  const files: [string, Buffer, RegExp][] = [
    ['empty.jsonl', Buffer.alloc(0), /^peerkd export: .*empty\.jsonl: the file has no rows \(it is empty or holds only blank lines\); a dataset has one JSON object per line; no copy was written$/m],
    ['blank.jsonl', Buffer.from('\n  \n\n'), /^peerkd export: .*blank\.jsonl: the file has no rows/m],
    ['utf16.jsonl', Buffer.from(`\ufeff${row}\r\n${row}\r\n`, 'utf16le'), /^peerkd export: .*utf16\.jsonl:1: no line is a valid row: .*the file looks UTF-16 encoded .*; no copy was written$/m],
    ['pretty.jsonl', Buffer.from(JSON.stringify([JSON.parse(row)], null, 2) + '\n'), /^peerkd export: .*pretty\.jsonl:1: no line is a valid row: all 7 non-blank lines are invalid, the first: .*pretty-printed JSON/m],
    ['gzip.jsonl', gzipSync(`${row}\n`), /^peerkd export: .*gzip\.jsonl:1: no line is a valid row: .*the file is gzip-compressed; decompress it first \(gunzip\); no copy was written$/m],
  ];
  for (const [name, bytes, message] of files) {
    const file = join(work, name);
    await writeFile(file, bytes);
    const io = captureIo();
    assert.equal(await createExportCommand(io).run([file, '--teacher-labels']), 1, `${name}: ${io.err()}`);
    assert.match(io.err(), message, name);
    await assert.rejects(stat(join(work, name.replace('.jsonl', '.reviewed.jsonl'))), { code: 'ENOENT' }, `${name}: no copy`);
    assert.deepEqual(await readFile(file), bytes, `${name} is left as it was`);
  }
  // One row among invalid lines is a dataset: its copy is written, the invalid lines copied unchanged.
  const mixed = join(work, 'mixed.jsonl');
  await writeFile(mixed, `{broken\n${row}\n`);
  const io = captureIo();
  assert.equal(await createExportCommand(io).run([mixed, '--teacher-labels']), 0, io.err());
  assert.match(io.out(), /Wrote 1 rows to .*mixed\.reviewed\.jsonl .*1 invalid line \(line 1\) was copied unchanged\./);
});
