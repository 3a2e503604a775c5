/**
 * PeerKD: Export Reviewed Dataset (src/commands/exportReviewedDataset.ts) against real files, with a stand-in for
 * `vscode`: bytes of the dataset that are not valid UTF-8 reach the copy unchanged; a target that is the dataset
 * under another name, inside `.peerkd`, a folder, a read-only file or in a folder that is gone is refused with a
 * message naming it, and nothing is written.
 */
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempFolder } from '../fixtures/training/build';
import { parseDatasetText, rowTextsSha256 } from '../../src/dataset/index';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { keyedRun, type KeyedRun } from '../../src/review/keyedRun';
import { recordRunsDir, type RunArtefacts } from '../../src/training/artifacts';
import type { Prediction } from '../../src/training/types';
import { FakeUri, recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';

class Uri extends FakeUri {
  static joinPath(base: FakeUri, ...parts: string[]): FakeUri {
    return new FakeUri(join(base.fsPath, ...parts));
  }
}

const errors: string[] = [];
const infos: string[] = [];
let saveTo: FakeUri | undefined;
let saveDialogs = 0;
/** Settings under `peerkd.` the stand-in returns (`fields.human`, …); none by default. */
const settings = new Map<string, unknown>();
const documents: { uri: FakeUri; getText: () => string; isDirty: boolean }[] = [];
let handler: ((argument?: unknown) => Promise<void>) | undefined;
/** The threshold boxes shown, with what they say while the user types. */
const inputBoxes: { validateInput?: (value: string) => unknown }[] = [];
stubVscodeModule({
  Uri,
  InputBoxValidationSeverity: { Info: 'info' },
  workspace: {
    getConfiguration: () => ({ get: (key: string) => settings.get(key) }),
    get textDocuments() {
      return documents;
    },
    openTextDocument: async () => {
      throw new Error('the test opens its documents itself');
    },
  },
  commands: {
    registerCommand: (_id: string, callback: (argument?: unknown) => Promise<void>) => {
      handler = callback;
      return { dispose() {} };
    },
  },
  window: {
    showErrorMessage: async (text: string) => void errors.push(text),
    showInformationMessage: async (text: string) => void infos.push(text),
    showSaveDialog: async () => {
      saveDialogs += 1;
      return saveTo;
    },
    // With a run: "Advised label", then the threshold 0.5 (the tests without a run are asked neither).
    showQuickPick: async (items: readonly unknown[]) => items[1],
    showInputBox: async (options: { validateInput?: (value: string) => unknown }) => {
      inputBoxes.push(options);
      return '0.5';
    },
  },
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { registerExportReviewedDatasetCommand } = require('../../src/commands/exportReviewedDataset') as typeof import('../../src/commands/exportReviewedDataset');

let folder: string;
const log: { level: string; line: string }[] = [];

/**
 * Registers the command with `file` open as `text` in the editor; `run`: the latest run the editor loaded (none: rows
 * keep their human or teacher label).
 */
function exportCommand(file: string, text: string, isDirty = false, run?: KeyedRun): (argument?: unknown) => Promise<void> {
  documents.length = 0;
  documents.push({ uri: new FakeUri(file), getText: () => text, isDirty });
  registerExportReviewedDatasetCommand({ log: recordingLog(log) } as never, { ensureRun: async () => run, currentRun: async () => run, runProblem: () => undefined } as never);
  assert.ok(handler);
  return handler;
}

beforeEach(async () => {
  folder ??= await tempFolder('export-command');
  errors.length = 0;
  infos.length = 0;
  log.length = 0;
});

after(async () => {
  if (folder) {
    await chmod(join(folder, 'read-only.jsonl'), 0o644).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
  }
});

/** A dataset whose line 2 holds a Latin-1 é (0xe9), not valid UTF-8: the editor shows it as U+FFFD. */
const LATIN1 = Buffer.concat([
  Buffer.from('{"id": "a", "text": "coffee", "teacher_label": "World"}\r\n{"id": "b", "text": "caf'),
  Buffer.from([0xe9]),
  Buffer.from('", "teacher_label": "Sports", "n": 1e400}\r\n{"id": "c", "text": "tea", "teacher_label": "World"}'),
]);

test('export: bytes of the dataset that are not valid UTF-8 are copied as they are, not as U+FFFD', async () => {
  const file = join(folder, 'latin1.jsonl');
  await writeFile(file, LATIN1);
  saveTo = new FakeUri(join(folder, 'latin1.reviewed.jsonl'));
  await exportCommand(file, LATIN1.toString('utf8'))(new Uri(file));
  assert.deepEqual(errors, []);
  const copy = await readFile(saveTo.fsPath);
  const provenance = (label: string) => `, "final_label": "${label}", "label_provenance": {"source": "teacher", "run": null}}`;
  const expected = Buffer.concat([
    Buffer.from(`{"id": "a", "text": "coffee", "teacher_label": "World"${provenance('World')}\r\n{"id": "b", "text": "caf`),
    Buffer.from([0xe9]),
    Buffer.from(`", "teacher_label": "Sports", "n": 1e400${provenance('Sports')}\r\n{"id": "c", "text": "tea", "teacher_label": "World"${provenance('World')}`),
  ]);
  assert.equal(copy.toString('latin1'), expected.toString('latin1'));
  assert.deepEqual(await readFile(file), LATIN1);
  assert.equal(infos.length, 1);
  assert.match(infos[0], /^PeerKD: wrote 3 rows to latin1\.reviewed\.jsonl/);
  assert.doesNotMatch(infos[0], /holds no label/);

  // With unsaved edits the editor's text is all there is: exported, and the message says those bytes are U+FFFD.
  const dirty = LATIN1.toString('utf8').replace('coffee', 'coffee, edited');
  infos.length = 0;
  saveTo = new FakeUri(join(folder, 'latin1.dirty.jsonl'));
  await exportCommand(file, dirty, true)(new Uri(file));
  assert.deepEqual(errors, []);
  assert.ok((await readFile(saveTo.fsPath, 'utf8')).includes('coffee, edited'));
  assert.match(infos[0], /Line 2 \(and maybe others\) holds bytes that are not valid UTF-8: with unsaved edits the copy is made from the editor's text, which has U\+FFFD in their place\./);
});

test('export: a target that is the dataset under another name, inside .peerkd, a folder, read-only, or in a folder that is gone is refused, naming it', async () => {
  const text = '{"id": "a", "text": "coffee", "teacher_label": "World"}\n';
  const file = join(folder, 'data.jsonl');
  await writeFile(file, text);
  await symlink(file, join(folder, 'link-to-data.jsonl'));
  await mkdir(join(folder, '.peerkd', 'runs'), { recursive: true });
  await mkdir(join(folder, 'a folder'));
  await writeFile(join(folder, 'read-only.jsonl'), 'mine\n');
  await chmod(join(folder, 'read-only.jsonl'), 0o444);
  await writeFile(join(folder, '.peerkd', 'runs', 'latest'), '20260101-000000-data-abcdef\n');
  await symlink(join(folder, '.peerkd', 'runs', 'latest'), join(folder, 'link-into-peerkd.jsonl'));
  // A runs folder the dataset used before (peerkd.training.outputDir or --out changed since): listed in
  // .peerkd/runs-folders, its runs and review log are read by the next run. It was no protected target.
  await mkdir(join(folder, 'old-runs'));
  await recordRunsDir(file, join(folder, 'old-runs'));
  const cases: [string, RegExp][] = [
    [join(folder, 'old-runs', 'copy.jsonl'), /copy\.jsonl: inside the runs folder .*old-runs \(its run artefacts\); choose an output file elsewhere/],
    [join(folder, 'link-to-data.jsonl'), /is the input file .*data\.jsonl: refusing to write over the input/],
    [`${folder}/no-such-folder/../data.jsonl`, /is the input file .*data\.jsonl: refusing to write over the input/],
    [join(folder, '.peerkd', 'runs', 'copy.jsonl'), /inside PeerKD's own \.peerkd folder/],
    [join(folder, 'link-into-peerkd.jsonl'), /link-into-peerkd\.jsonl: inside PeerKD's own \.peerkd folder/],
    [join(folder, 'a folder'), /a folder: a folder, not a file; give the path of the file to write/],
    [join(folder, 'read-only.jsonl'), /read-only\.jsonl: the file is read-only, so PeerKD does not write to it/],
    [join(folder, 'gone', 'copy.jsonl'), /copy\.jsonl: the folder .*gone does not exist/],
  ];
  const before = await readdir(folder);
  for (const [target, message] of cases) {
    errors.length = 0;
    saveTo = new FakeUri(target);
    await exportCommand(file, text)(new Uri(file));
    assert.equal(errors.length, 1, target);
    assert.match(errors[0], message, target);
    assert.match(errors[0], /^PeerKD: (no export|the reviewed copy was not written): /, target);
  }
  assert.deepEqual(infos, []);
  assert.equal(await readFile(file, 'utf8'), text);
  assert.equal(await readFile(join(folder, 'read-only.jsonl'), 'utf8'), 'mine\n');
  assert.deepEqual(await readdir(folder), before);
  assert.deepEqual(await readdir(join(folder, '.peerkd', 'runs')), ['latest']);
  assert.equal(await readFile(join(folder, '.peerkd', 'runs', 'latest'), 'utf8'), '20260101-000000-data-abcdef\n');
});

test("export: the message names the rows whose human field holds no label (a class id written as a number)", async () => {
  const text = '{"id": "a", "text": "coffee", "teacher_label": "World", "human_label": 2}\n{"id": "b", "text": "tea", "teacher_label": "World", "human_label": 1}\n';
  const file = join(folder, 'numeric-human.jsonl');
  await writeFile(file, text);
  saveTo = new FakeUri(join(folder, 'numeric-human.reviewed.jsonl'));
  await exportCommand(file, text)(new Uri(file));
  assert.deepEqual(errors, []);
  assert.match(infos[0], /\(0 human, 2 teacher, 2 whose 'human_label' holds no label \(a number, an object or white space; line 1 first\) exported without it: write the label as text there\)/);
});

test('export: rows whose teacher label is a number (a class id) are named in the message, not counted silently among the rows without a label', async () => {
  const text = [
    '{"id": "a", "text": "coffee", "teacher_label": "World"}',
    '{"id": "b", "text": "tea", "teacher_label": 1}',
    '{"id": "c", "text": "milk"}',
    '{"id": "d", "text": "juice", "teacher_label": 2}',
    '',
  ].join('\n');
  const file = join(folder, 'numeric-teacher.jsonl');
  await writeFile(file, text);
  saveTo = new FakeUri(join(folder, 'numeric-teacher.reviewed.jsonl'));
  await exportCommand(file, text)(new Uri(file));
  assert.deepEqual(errors, []);
  assert.match(infos[0], /\(0 human, 1 teacher, 3 without a label, 2 of them because 'teacher_label' holds no label \(a number, an object or white space; line 2 first\): write the label as text there\)/);
  // The copy keeps the user's value and writes no label beside it, as the run reads it (no label).
  const copied = (await readFile(saveTo.fsPath, 'utf8')).split('\n');
  assert.equal(copied[1], '{"id": "b", "text": "tea", "teacher_label": 1, "final_label": null, "label_provenance": {"source": "none", "run": null}}');
});

test('export: a field mapping the copy would write over (fields.human = final_label) is refused before the save dialog, naming the setting', async () => {
  // It was refused only after the user had picked where to save (and chosen a threshold): all of it for nothing.
  const text = '{"id": "a", "text": "coffee", "teacher_label": "World", "final_label": "Sports"}\n';
  const file = join(folder, 'mapped-final.jsonl');
  await writeFile(file, text);
  saveTo = new FakeUri(join(folder, 'mapped-final.reviewed.jsonl'));
  saveDialogs = 0;
  settings.set('fields.human', 'final_label');
  try {
    await exportCommand(file, text)(new Uri(file));
  } finally {
    settings.clear();
  }
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^PeerKD: no export: the human label field \(setting peerkd\.fields\.human\) is 'final_label', the field the reviewed copy writes every row's final label into/);
  assert.equal(saveDialogs, 0, 'no save dialog');
  await assert.rejects(readFile(join(folder, 'mapped-final.reviewed.jsonl')), { code: 'ENOENT' });
});

test("export with advice: two rows sharing an id whose texts were swapped since the run keep their labels, named file:line (the core peerkd export uses)", async () => {
  const rows = ['{"id": "d", "text": "stocks fall", "teacher_label": "World"}', '{"id": "d", "text": "team wins", "teacher_label": "World"}', '{"id": "u", "text": "rates rise", "teacher_label": "World"}'];
  const text = rows.join('\n') + '\n';
  const file = join(folder, 'duplicates.jsonl');
  await writeFile(file, text);
  // The run advised Business for "stocks fall" (the first 'd'), Sports for "team wins" (the second), Business for 'u'.
  const prediction = (id: string, line: number, suggested: string): Prediction => ({ id, line, teacher: 'World', human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: { [suggested]: 0.9 }, peer_probs: {}, vanilla_probs: {} });
  const run = keyedRun({
    runId: 'r1',
    runDir: join(folder, '.peerkd', 'runs', 'r1'),
    predictions: [prediction('d', 1, 'Business'), prediction('d', 2, 'Sports'), prediction('u', 3, 'Business')],
    metrics: {},
    settings: { labels: ['Business', 'Sports', 'World'], fields: DEFAULT_FIELDS, rowTextsSha256: rowTextsSha256(parseDatasetText(text, DEFAULT_FIELDS).rows) },
  } as unknown as RunArtefacts);
  const finals = async () => (await readFile(saveTo!.fsPath, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { final_label: string }).final_label);

  saveTo = new FakeUri(join(folder, 'duplicates.one.jsonl'));
  await exportCommand(file, text, false, run)(new Uri(file));
  assert.deepEqual(errors, []);
  assert.deepEqual(await finals(), ['Business', 'Sports', 'Business'], 'as the run read them, each duplicate takes its own advice');

  // The texts swapped in the editor (unsaved): each took the advice the run gave the other text.
  infos.length = 0;
  inputBoxes.length = 0;
  saveTo = new FakeUri(join(folder, 'duplicates.two.jsonl'));
  await exportCommand(file, [rows[1], rows[0], rows[2]].join('\n') + '\n', true, run)(new Uri(file));
  assert.deepEqual(errors, []);
  assert.deepEqual(await finals(), ['World', 'World', 'Business']);
  // The threshold box counted as the copy advised: one row, the two sharing an id left out.
  assert.equal(
    (inputBoxes[0].validateInput?.('0.5') as { message: string }).message,
    '1 row without a human label would take the label run r1 advises (0 of them without a teacher label). Left out, although their advice reaches it: 2 rows sharing an id with another row (which of them is which cannot be told since the run).',
  );
  assert.ok(infos[0].includes("2 rows sharing an id with another row (duplicates.jsonl:1, duplicates.jsonl:2) exported with the label they hold, without the run's probability or advice: the file's texts changed since run r1"), infos[0]);
});

test('export with advice: a row whose text was edited (unsaved) since a run that recorded its text digest keeps its labels, named file:line; the threshold box counted it out, and said so', async () => {
  const { createHash } = await import('node:crypto');
  const digest = (rowText: string) => createHash('sha256').update(rowText, 'utf8').digest('hex').slice(0, 16);
  const text = '{"id": "a", "text": "stocks fall", "teacher_label": "World"}\n{"id": "b", "text": "rates rise", "teacher_label": "World"}\n';
  const file = join(folder, 'edited-text.jsonl');
  await writeFile(file, text);
  const prediction = (id: string, line: number, rowText: string): Prediction => ({ id, line, teacher: 'World', human: null, suggested: 'Business', p_teacher_wrong: 0.9, flagged: true, probs: { Business: 0.9 }, peer_probs: {}, vanilla_probs: {}, text_digest: digest(rowText) });
  const run = keyedRun({
    runId: 'r2',
    runDir: join(folder, '.peerkd', 'runs', 'r2'),
    predictions: [prediction('a', 1, 'stocks fall'), prediction('b', 2, 'rates rise')],
    metrics: {},
    settings: { labels: ['Business', 'Sports', 'World'], fields: DEFAULT_FIELDS, rowTextsSha256: rowTextsSha256(parseDatasetText(text, DEFAULT_FIELDS).rows) },
  } as unknown as RunArtefacts);
  saveTo = new FakeUri(join(folder, 'edited-text.reviewed.jsonl'));
  inputBoxes.length = 0;
  await exportCommand(file, text.replace('stocks fall', 'the team wins the cup'), true, run)(new Uri(file));
  assert.deepEqual(errors, []);
  const finals = (await readFile(saveTo.fsPath, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { final_label: string }).final_label);
  assert.deepEqual(finals, ['World', 'Business'], "a keeps its teacher label: Business was the old text's advice");
  assert.ok(infos[0].includes("1 row whose text changed since run r2 kept its labels, without the run's probability or advice (about the old text; 1 of them advised with p ≥ 0.5, not taken): edited-text.jsonl:1"), infos[0]);
  // While the user typed the threshold, the box said 2 rows "would take the advised label"; the copy advised 1.
  assert.equal(inputBoxes.length, 1);
  assert.deepEqual(inputBoxes[0].validateInput?.('0.9'), {
    message: '1 row without a human label would take the label run r2 advises (0 of them without a teacher label). Left out, although their advice reaches it: 1 row whose text changed since the run (its advice is about the old text).',
    severity: 'info',
  });
});

test('export: a document without a single row (empty, blank lines, one pretty-printed object) is refused naming the file and line, and no copy is written', async () => {
  // Before: "wrote 0 rows to …", an empty copy (peerkd export already refused these).
  for (const [name, text, says] of [
    ['empty.jsonl', '', /^PeerKD: no export: empty\.jsonl: the file has no rows \(it is empty or holds only blank lines\); a dataset has one JSON object per line; no copy was written$/],
    ['blank.jsonl', '\n  \n\n', /^PeerKD: no export: blank\.jsonl: the file has no rows/],
    ['pretty.jsonl', '{\n  "id": "a",\n  "text": "coffee"\n}\n', /^PeerKD: no export: pretty\.jsonl:1: no line is a valid row: all 4 non-blank lines are invalid, the first: .*; no copy was written$/],
  ] as const) {
    errors.length = 0;
    infos.length = 0;
    const file = join(folder, name);
    await writeFile(file, text);
    saveTo = new FakeUri(join(folder, `${name}.reviewed.jsonl`));
    await exportCommand(file, text)(new Uri(file));
    assert.equal(errors.length, 1, name);
    assert.match(errors[0], says, name);
    assert.deepEqual(infos, [], name);
    assert.equal(existsSync(saveTo.fsPath), false, `${name}: no copy`);
  }
});
