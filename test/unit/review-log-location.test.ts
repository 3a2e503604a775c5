/**
 * Where Label Review and the quick fixes log their decisions (src/review/reviewLog.ts reviewLogTarget; wired in
 * src/editor/labelEdits.ts). The log belongs to the dataset's runs folder, not to the run: a review over a run whose
 * folder was deleted logged nothing at all, silently (logging was tied to the run folder being on disk, so that panel
 * tests with made-up run folders did not write a log into `/`), and the next run counted the labels it wrote as the
 * random sample. Now such decisions go to the runs folder; where no sane runs folder exists, nothing is written
 * anywhere else and the user is told once (a warning naming the file, and a line per decision in the log channel).
 * Run against a stand-in for `vscode` (test/support/fakeEditorVscode.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeEditorVscode, FakeUri } from '../support/fakeEditorVscode';
import { reviewLogFile, reviewLogTarget } from '../../src/review/reviewLog';
import { knownRunsDirs, LATEST_BY_DATASET_DIR, resolveRunsDir } from '../../src/training/artifacts';
import type { Prediction } from '../../src/training/types';
import { tempFolder } from '../fixtures/training/build';

const fake = fakeEditorVscode();
stubVscodeModule(fake.module);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { decideRow } = require('../../src/commands/acceptSuggestion') as typeof import('../../src/commands/acceptSuggestion');

const row = (id: string): string => JSON.stringify({ id, text: `text of ${id}`, teacher_label: 'World' });
const prediction = (id: string): Prediction => ({ id, line: 1, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9, flagged: true, probs: { Sports: 0.9, World: 0.1 }, peer_probs: {}, vanilla_probs: {} });

/** "Keep Teacher Label" on rows of `dataset` (open in the editor) against run r1 in `runDir`; what the log channel got. */
async function keep(dataset: string, runDir: string, ids: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = { info() {}, warn: (line: string) => void lines.push(line), error() {}, debug() {} };
  const uri = new FakeUri(dataset);
  const document = fake.open(uri, [row('a'), row('b')].join('\n'));
  const runState = new RunState(log as never);
  const run = { runId: 'r1', runDir, datasetUri: uri, labels: ['World', 'Sports'], predictions: [prediction('a'), prediction('b')], byKey: new Map(), explanations: new Map() };
  const state = { ensureRun: async () => run, currentRun: async () => run, indexOf: (opened: never) => runState.indexOf(opened), log };
  for (const id of ids) assert.equal(await decideRow(state as never, uri, id, { kind: 'keep' }), true, `the label of ${id} is written`);
  fake.close(document);
  return lines;
}

const loggedKeys = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);

test('a run folder deleted while its review is open: the decisions are still logged, in the runs folder', async () => {
  const folder = await tempFolder('log-deleted-run');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, [row('a'), row('b')].join('\n'));
    const runsDir = resolveRunsDir(dataset);
    // The runs folder keeps its pointers; the run folder itself is gone.
    await mkdir(join(runsDir, LATEST_BY_DATASET_DIR), { recursive: true });
    const warned = await keep(dataset, join(runsDir, 'r1'), ['a']);
    assert.deepEqual(await loggedKeys(reviewLogFile(runsDir, dataset)), ['a'], 'the quick fix on a deleted run is logged');
    assert.deepEqual(warned, []);
    // The whole runs folder deleted: the dataset's runs folder (as the settings name it) is made again for the log.
    await rm(runsDir, { recursive: true });
    await keep(dataset, join(runsDir, 'r1'), ['b']);
    assert.deepEqual(await loggedKeys(reviewLogFile(runsDir, dataset)), ['b']);
    assert.deepEqual(fake.warnings, []);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('no runs folder can be had (a made-up run, a dataset file not on disk): nothing is written elsewhere, and the user is told once', async () => {
  fake.warnings.length = 0;
  const lines = await keep('/nowhere-peerkd/news.jsonl', '/nowhere-peerkd-run', ['a', 'b']);
  assert.equal(existsSync('/review-log'), false, 'no log in /');
  assert.equal(existsSync('/nowhere-peerkd'), false);
  assert.equal(fake.warnings.length, 1, 'one warning for two decisions');
  assert.match(fake.warnings[0], /review log \/review-log\/news-[0-9a-f]+\.jsonl could not be: the runs folder of run nowhere-peerkd-run \(\/\) is gone and the dataset file is not on disk/);
  assert.match(fake.warnings[0], /counts this label .* as a random sample/);
  assert.equal(lines.length, 2, 'the log channel names each decision not logged');
  assert.match(lines[1], /^Review log \/review-log\/news-[0-9a-f]+\.jsonl: 1 decision\(s\) not logged/);
});

test('reviewLogTarget: the run\'s runs folder while it is one, else the dataset\'s runs folder now; never a folder that is no runs folder', async () => {
  const folder = await tempFolder('log-target');
  try {
    const dataset = join(folder, 'data.jsonl');
    await writeFile(dataset, row('a'));
    const runsDir = join(folder, 'runs');
    await mkdir(join(runsDir, 'r1'), { recursive: true });
    await writeFile(join(runsDir, 'r1', 'settings.json'), '{}');
    assert.deepEqual(reviewLogTarget(join(runsDir, 'r1'), dataset), { file: reviewLogFile(runsDir, dataset) });
    // A folder that merely exists is no run folder (a run made up at the top of a folder): its parent gets no log.
    await mkdir(join(folder, 'plain', 'r2'), { recursive: true });
    assert.deepEqual(reviewLogTarget(join(folder, 'plain', 'r2'), dataset), { file: reviewLogFile(resolveRunsDir(dataset), dataset) });
    // The run folder made up in a folder that is no runs folder: the dataset's runs folder (default, or the setting).
    assert.deepEqual(reviewLogTarget(join(folder, 'r9'), dataset), { file: reviewLogFile(resolveRunsDir(dataset), dataset) });
    assert.deepEqual(reviewLogTarget(join(folder, 'r9'), dataset, 'elsewhere'), { file: reviewLogFile(join(folder, 'elsewhere'), dataset) });
    // The dataset file gone too (its folder is still there): nowhere; the problem names what is missing.
    await rm(dataset);
    const target = reviewLogTarget(join(folder, 'r9'), dataset, 'elsewhere');
    assert.deepEqual(target, { file: reviewLogFile(folder, dataset), problem: `the runs folder of run r9 (${folder}) is gone and the dataset file is not on disk` });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('peerkd.training.outputDir changed and the run reviewed gone: the decision is logged in the runs folder named now, which is recorded beside the dataset for the next run', async () => {
  const folder = await tempFolder('log-new-setting');
  try {
    const dataset = join(folder, 'news.jsonl');
    await writeFile(dataset, [row('a'), row('b')].join('\n'));
    fake.configuration['training.outputDir'] = 'runs-now';
    await keep(dataset, join(folder, 'old-runs', 'r1'), ['a']);
    assert.deepEqual(await loggedKeys(reviewLogFile(join(folder, 'runs-now'), dataset)), ['a']);
    assert.deepEqual(await knownRunsDirs(dataset), [resolveRunsDir(dataset), join(folder, 'runs-now')], 'a run with the setting back at its default reads that log too');
  } finally {
    delete fake.configuration['training.outputDir'];
    await rm(folder, { recursive: true, force: true });
  }
});
