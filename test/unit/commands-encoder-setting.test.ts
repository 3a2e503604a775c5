/**
 * `peerkd.training.encoder` in the editor (src/editor/settings.ts encoderSetting, src/commands/runDistillation.ts):
 * the setting goes through the one parser of encoder choices, so it accepts exactly what the CLI's `--encoder` does;
 * a value neither can parse (`glov`, `static:`, a number) runs as `auto`, and the user is told which value was ignored
 * and what ran instead, in the PeerKD log, in the run's run.log (the real worker runtime, driven by the scripted
 * engine of test/fixtures/training/scripted-worker.ts, forked by the real client) and in the summary notification.
 * The run's other settings refused before the worker starts (a static:<folder> without its model, `.peerkd` as
 * peerkd.training.outputDir) go through the same seam.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeUri, recordingLog, stubVscodeModule } from '../support/fakeVscodeModule';
import { encoderOption, UsageError } from '../../src/cli/command';
import { readLatestRun } from '../../src/training/artifacts';
import { ENCODER_CHOICES_TEXT } from '../../src/training/types';
import { bundleWorker, datasetLines, tempFolder, writeDataset } from '../fixtures/training/build';

let settingValues: Record<string, unknown> = {};
const informations: string[] = [];
const logged: { level: string; line: string }[] = [];
const fakeVscode = {
  Uri: FakeUri,
  ProgressLocation: { Notification: 15 },
  workspace: {
    isTrusted: true,
    textDocuments: [],
    getConfiguration: () => ({ get: (key: string) => settingValues[key] }),
    /** A run follows renames of its dataset (runDistillation.ts); none happens in these tests. */
    onDidRenameFiles: () => ({ dispose: () => undefined }),
  },
  window: {
    showInformationMessage: async (text: string) => {
      informations.push(text);
      return undefined;
    },
    showWarningMessage: async () => undefined,
    showErrorMessage: async (text: string) => {
      informations.push(`error: ${text}`);
      return undefined;
    },
    withProgress: (_options: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) =>
      task({ report: () => undefined }, { onCancellationRequested: () => undefined }),
  },
  commands: { executeCommand: async () => undefined },
};
stubVscodeModule(fakeVscode);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { encoderSetting, ENDPOINT_ENCODER_SETTINGS, ignoredSettings, labelsSetting, readSettings, RUN_SETTINGS } = require('../../src/editor/settings') as typeof import('../../src/editor/settings');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DistillationManager } = require('../../src/commands/runDistillation') as typeof import('../../src/commands/runDistillation');

let folder: string;
let workerPath: string;

before(async () => {
  folder = await tempFolder('encoder-setting');
  workerPath = await bundleWorker('test/fixtures/training/scripted-worker.ts', folder, 'scripted-worker');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

beforeEach(() => {
  settingValues = {};
  informations.length = 0;
  logged.length = 0;
});

test('peerkd.training.encoder and --encoder accept exactly the same values (one parser); the CLI refusal names the flag and the choices', () => {
  const values: unknown[] = ['auto', 'none', 'glove', 'use-lite', 'endpoint', 'static:models/potion', 'static:/abs/potion', 'glov', 'static:', 'static', 'static: ', 'glove:x', 'GLOVE', '', ' auto', 5, null, true, ['glove'], { name: 'glove' }];
  for (const value of values) {
    const fromSetting = encoderSetting(value);
    let cliError: unknown;
    try {
      encoderOption(value, 'auto');
    } catch (error) {
      cliError = error;
    }
    assert.equal(fromSetting.ignored !== undefined, cliError !== undefined, `${JSON.stringify(value)}: setting ${fromSetting.ignored ?? 'accepted'}, CLI ${cliError ? String(cliError) : 'accepted'}`);
    if (cliError) {
      assert.ok(cliError instanceof UsageError);
      assert.equal(fromSetting.choice, 'auto');
      assert.match(cliError.message, /^--encoder /, 'the CLI names its flag');
    } else {
      assert.equal(fromSetting.choice, value, 'an accepted value is used as written (a relative folder resolves against the dataset folder in the worker)');
    }
  }
  assert.equal(cliMessage('glov'), `--encoder must be one of ${ENCODER_CHOICES_TEXT}, got "glov"`);
  assert.equal(cliMessage('static:'), '--encoder static needs an argument after the colon: static:<folder>');

  // The setting's note: the value as written, why, and what runs instead.
  assert.equal(encoderSetting('glov').ignored, `setting peerkd.training.encoder "glov" was ignored (must be one of ${ENCODER_CHOICES_TEXT}, got "glov"): this run uses auto instead`);
  assert.equal(encoderSetting('static:').ignored, 'setting peerkd.training.encoder "static:" was ignored (static needs an argument after the colon: static:<folder>): this run uses auto instead');
  assert.equal(encoderSetting(5).ignored, `setting peerkd.training.encoder 5 was ignored (must be one of ${ENCODER_CHOICES_TEXT}): this run uses auto instead`);
  assert.equal(encoderSetting(`static:${'x'.repeat(500)}`).ignored, undefined, 'a long folder is a folder');
  assert.ok((encoderSetting({ folder: 'y'.repeat(500) }).ignored ?? '').length < 300, 'a huge value is quoted cut');
  // Not set at all (VS Code gives the default; a host without it gives undefined): auto, nothing to say.
  assert.deepEqual(encoderSetting(undefined), { choice: 'auto' });

  settingValues = { 'training.encoder': 'glov' };
  const settings = readSettings();
  assert.equal(settings.training.encoder, 'auto');
  assert.equal(settings.training.encoderIgnored, encoderSetting('glov').ignored);
  settingValues = { 'training.encoder': 'glove' };
  assert.equal(readSettings().training.encoderIgnored, undefined);
});

/** The CLI's message for a value of --encoder (encoderOption throws it), or `accepted`. */
function cliMessage(value: unknown): string {
  try {
    encoderOption(value, 'auto');
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
}

function manager() {
  const log = recordingLog(logged);
  const services = { context: { asAbsolutePath: () => workerPath }, log } as never;
  const runState = { loadRun: async () => undefined, getRun: () => undefined } as never;
  const statusBar = { start: () => undefined, update: () => undefined, finish: () => undefined } as never;
  return new DistillationManager(services, runState, statusBar);
}

test('a peerkd.training.encoder the editor cannot parse runs as auto, and the log, run.log and the summary say which value was ignored', async () => {
  const dataset = await writeDataset(folder, 'data.jsonl', datasetLines(40));
  settingValues = { 'training.encoder': 'glov' };
  await manager().run(new FakeUri(dataset));
  const note = `setting peerkd.training.encoder "glov" was ignored (must be one of ${ENCODER_CHOICES_TEXT}, got "glov"): this run uses auto instead`;
  assert.ok(!informations.some((text) => text.startsWith('error:')), informations.join('\n'));

  // The PeerKD log: a warning when the run is requested.
  assert.ok(logged.some(({ level, line }) => level === 'warn' && line === `[data.jsonl] ${note}`), JSON.stringify(logged, null, 1));
  // run.log: the worker writes it as a warning, next to the options it ran with (encoder auto).
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  assert.equal(latest.settings.options.encoder, 'auto');
  const runLog = await readFile(join(latest.runDir, 'run.log'), 'utf8');
  assert.match(runLog, new RegExp(`WARN  ${note.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`), runLog);
  // The summary notification at the end of the run.
  assert.equal(informations.length, 1, informations.join('\n'));
  assert.match(informations[0], /^PeerKD: data\.jsonl done\. /);
  assert.ok(informations[0].endsWith(` Note: ${note}.`), informations[0]);

  // A value it can parse: nothing of the kind anywhere.
  logged.length = 0;
  informations.length = 0;
  settingValues = { 'training.encoder': 'none' };
  await manager().run(new FakeUri(dataset));
  const again = await readLatestRun(dataset);
  assert.notEqual(again?.runId, latest.runId);
  assert.equal(again?.settings.options.encoder, 'none');
  // (40 rows: the run's own warning that its labels are on few rows may be there; no word of the setting.)
  assert.ok(!logged.some(({ level, line }) => level === 'warn' && /encoder/.test(line)), JSON.stringify(logged, null, 1));
  assert.doesNotMatch(await readFile(join(again!.runDir, 'run.log'), 'utf8'), /peerkd\.training\.encoder/);
  assert.doesNotMatch(informations[0], /Note:/);
});

test('peerkd.labels with an entry that is no string ([0, 1]) is refused naming the entry; it was dropped and the set inferred', async () => {
  assert.deepEqual(labelsSetting(['World', 'Sports']), { labels: ['World', 'Sports'] });
  assert.deepEqual(labelsSetting(undefined), { labels: [] });
  assert.equal(labelsSetting(['0', 1]).labelsProblem, 'setting peerkd.labels: entry 2 is the number 1, not a string — write each label as a JSON string ("1")');
  assert.equal(labelsSetting([null]).labelsProblem, 'setting peerkd.labels: entry 1 is null, not a string — write each label as a JSON string');

  const dataset = await writeDataset(folder, 'numbers.jsonl', datasetLines(40));
  settingValues = { labels: [0, 1] };
  informations.length = 0;
  await manager().run(new FakeUri(dataset));
  assert.deepEqual(informations, ['error: PeerKD: no run of numbers.jsonl: setting peerkd.labels: entry 1 is the number 0, not a string — write each label as a JSON string ("0").']);
  assert.equal(await readLatestRun(dataset), undefined, 'no run was made');
});

test('settings.json values of the wrong type or beyond their bounds run as the defaults, and the log, run.log and summary name each one', async () => {
  const dataset = await writeDataset(folder, 'typed.jsonl', datasetLines(40));
  // A string for a number, a fraction for an integer, an unknown choice, a number for a field name; a teacher setting
  // (not read by this run) is not mentioned.
  settingValues = { 'training.folds': '3', 'training.stages': 1.5, 'training.backend': 'gpu', 'fields.human': 7, 'teacher.maxConcurrency': 0 };
  logged.length = 0;
  informations.length = 0;
  await manager().run(new FakeUri(dataset));
  const notes = [
    'setting peerkd.fields.human 7 was ignored (a number, not a string): "human_label" is used instead',
    'setting peerkd.training.folds "3" was ignored (a string, not a number): 2 is used instead',
    'setting peerkd.training.stages 1.5 was ignored (not a whole number): 2 is used instead',
    'setting peerkd.training.backend "gpu" was ignored (not one of auto, tensorflow-gpu, tensorflow, wasm, cpu): "auto" is used instead',
  ];
  assert.ok(!informations.some((text) => text.startsWith('error:')), informations.join('\n'));
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  assert.deepEqual([latest.settings.options.folds, latest.settings.options.stages, latest.settings.options.backend], [2, 2, 'auto']);
  // The PeerKD log: when the run is requested (then the worker's own run.log lines, under the run id).
  assert.deepEqual(logged.filter(({ level, line }) => level === 'warn' && line.startsWith('[typed.jsonl] ')).map(({ line }) => line), notes.map((note) => `[typed.jsonl] ${note}`));
  const runLog = await readFile(join(latest.runDir, 'run.log'), 'utf8');
  for (const note of notes) assert.ok(runLog.includes(`WARN  ${note}\n`), note);
  assert.ok(informations[0].endsWith(notes.map((note) => ` Note: ${note}.`).join('')), informations[0]);
  assert.doesNotMatch(informations[0], /maxConcurrency/);
});

test('peerkd.fields.human set to the teacher field is refused naming both settings; the run read every teacher label as a human one and flagged nothing', async () => {
  const dataset = await writeDataset(folder, 'same-field.jsonl', datasetLines(40));
  settingValues = { 'fields.human': 'teacher_label' };
  informations.length = 0;
  await manager().run(new FakeUri(dataset));
  assert.deepEqual(informations, [
    "error: PeerKD: no run of same-field.jsonl: the human label field 'teacher_label' is also the teacher field (peerkd.fields.teacher), so a label written there would overwrite it; set peerkd.fields.human to a field of its own.",
  ]);
  assert.equal(await readLatestRun(dataset), undefined, 'no run was made');
});

test('each command is told of the ignored settings it reads: the run of the training ones, the endpoint encoder of its server and request limits only', () => {
  settingValues = { 'teacher.model': '', 'teacher.maxRetries': -1, 'encoder.model': 5, 'training.seed': -1, 'diagnostics.severity': 'x' };
  const settings = readSettings();
  assert.deepEqual(ignoredSettings(settings, ...RUN_SETTINGS), ['setting peerkd.training.seed -1 was ignored (below the least, 0): 0 is used instead']);
  assert.deepEqual(ignoredSettings(settings, ...ENDPOINT_ENCODER_SETTINGS), [
    'setting peerkd.teacher.maxRetries -1 was ignored (below the least, 0): 5 is used instead',
    'setting peerkd.encoder.model 5 was ignored (a number, not a string): "text-embedding-3-small" is used instead',
  ]);
  // A name is a name, not a prefix: peerkd.teacher.model is not peerkd.teacher.modelX's.
  assert.deepEqual(ignoredSettings(settings, 'peerkd.teacher.mode'), []);
  settingValues = {};
});

test('peerkd.training.encoder static:<folder> without its model is refused before the worker starts, naming the folder and what is missing', async () => {
  // It failed only once the run had started ("Distillation failed: encoder static: folder … not found").
  const dataset = await writeDataset(folder, 'static.jsonl', datasetLines(40));
  const hint = '(download a Model2Vec model, e.g. tokenizer.json and model.safetensors of https://huggingface.co/minishlab/potion-base-8M)';
  await mkdir(join(folder, 'models', 'no-model'), { recursive: true });
  await writeFile(join(folder, 'models', 'no-model', 'tokenizer.json'), '{}');
  // A relative folder is the dataset folder's, as the worker resolves it.
  const cases: [string, string][] = [
    ['static:models/potion', `folder ${join(folder, 'models', 'potion')} not found ${hint}`],
    ['static:models/no-model', `${join(folder, 'models', 'no-model', 'model.safetensors')} not found: the folder ${join(folder, 'models', 'no-model')} is not a Model2Vec model ${hint}`],
  ];
  for (const [value, says] of cases) {
    settingValues = { 'training.encoder': value };
    informations.length = 0;
    logged.length = 0;
    await manager().run(new FakeUri(dataset));
    assert.deepEqual(informations, [`error: PeerKD: no run of static.jsonl: setting peerkd.training.encoder "${value}": ${says}.`]);
    assert.ok(!logged.some(({ line }) => line.includes('requested')), 'the worker was not started');
  }
  assert.equal(await readLatestRun(dataset), undefined, 'no run was made');
});

test('peerkd.training.outputDir ".peerkd" (PeerKD\'s own folder) is refused before the worker starts, in the words of distill --out', async () => {
  // It failed only once the run had started (the worker's RunWriter.create refused it).
  const dataset = await writeDataset(folder, 'own-folder.jsonl', datasetLines(40));
  for (const value of ['.peerkd', '.peerkd/']) {
    settingValues = { 'training.outputDir': value };
    informations.length = 0;
    logged.length = 0;
    await manager().run(new FakeUri(dataset));
    const runs = join(value, 'runs');
    assert.deepEqual(informations, [
      `error: PeerKD: no run of own-folder.jsonl: setting peerkd.training.outputDir "${value}": PeerKD's own .peerkd folder (its caches), not a runs folder: the runs go into ${runs} inside it; leave it empty, or set it to "${runs}".`,
    ]);
    assert.ok(!logged.some(({ line }) => line.includes('requested')), 'the worker was not started');
  }
  assert.equal(await readLatestRun(dataset), undefined, 'no run was made');
});
