/**
 * `peerkd bench` on a small slice of the real NoisyAG-News data in ../shared/data (the CI run of the benchmark; the
 * full run is `npm run bench`). The CLI runs in its own process, as a user runs it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SettingFigures } from '../../src/cli/bench';
import { repoRoot, runCli as runCliIn, tempFolder } from '../fixtures/training/build';

const dataDir = join(repoRoot, '..', 'shared', 'data', 'agnews-noisy');
const TRAIN_ROWS = 400;
const HUMAN_ROWS = 30;

let folder: string;

before(async () => {
  folder = await tempFolder('bench');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function runCli(args: string[]) {
  return runCliIn(args, folder);
}

test('peerkd bench on a slice prints the table and writes figures consistent with the data', async () => {
  assert.ok(existsSync(join(dataDir, 'train.jsonl')), `the benchmark data is missing: ${dataDir} (see ../shared/data/README.md)`);
  const json = join(folder, 'bench.json');
  const { code, stdout, stderr } = await runCli([
    'bench',
    dataDir,
    '--limit',
    String(TRAIN_ROWS),
    '--test-limit',
    '300',
    '--seeds',
    '0',
    '--human',
    String(HUMAN_ROWS),
    '--backend',
    'cpu',
    '--json',
    json,
  ]);
  assert.equal(code, 0, stderr);
  for (const figure of ['teacher label accuracy (all rows)', 'vanilla KD (the run’s own vanilla student), test accuracy', 'ECE of p_teacher_wrong (10 bins)', 'estimated teacher accuracy', 'adopted − teacher', 'final − vanilla, test accuracy', 'PeerKD: precision@100 of the ranking', 'PeerKD: AUROC of the ranking']) {
    assert.match(stdout, new RegExp(`\\| ${figure.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\|`), `table row '${figure}'`);
  }

  const { settings } = JSON.parse(readFileSync(json, 'utf8')) as { settings: SettingFigures[] };
  assert.deepEqual(settings.map((setting) => setting.name), ['data']);
  const [{ results }] = settings;
  assert.equal(results.length, 1);
  const [figures] = results;
  assert.equal(figures.seed, 0);

  // Teacher accuracy recomputed here from the file itself.
  const train = readFileSync(join(dataDir, 'train.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .slice(0, TRAIN_ROWS)
    .map((line) => JSON.parse(line) as { teacher_label: string; gold_label: string });
  const teacherRight = train.filter((row) => row.teacher_label === row.gold_label).length;
  assert.equal(figures.teacherAccuracy, teacherRight / TRAIN_ROWS);
  const teacherErrors = TRAIN_ROWS - teacherRight;

  // The label-smoothing ablation runs beside the engine: the same peers (so the same ranking), another served student.
  const unsmoothed = figures.variants['PeerKD without label smoothing'];
  assert.ok(unsmoothed, `variants: ${Object.keys(figures.variants).join(', ')}`);
  assert.equal(unsmoothed.auroc, figures.variants.PeerKD.auroc, 'the peers are not smoothed, so the ranking is the same');
  // So does the final student's weighting: the same advice, only the final student's row weights differ.
  const unweighted = figures.variants['PeerKD without weighting the final student'];
  assert.ok(unweighted, `variants: ${Object.keys(figures.variants).join(', ')}`);
  assert.equal(unweighted.auroc, figures.variants.PeerKD.auroc);
  assert.equal(unweighted.advisedAccuracy, figures.variants.PeerKD.advisedAccuracy);
  for (const [name, variant] of Object.entries(figures.variants)) {
    assert.ok(variant.testConfidenceEce >= 0 && variant.testConfidenceEce <= 1, `${name}: served ECE ${variant.testConfidenceEce}`);
    for (const key of ['advisedAccuracy', 'peerAccuracy', 'precisionAt100', 'precisionAt500', 'auroc', 'testAccuracy'] as const) {
      assert.ok(variant[key] >= 0 && variant[key] <= 1, `${name}: ${key} = ${variant[key]}`);
    }
    // Peers trained on 400 teacher labels do better than chance on 4 classes (a wrong field read would give ~0.25).
    assert.ok(variant.peerAccuracy > 0.5, `${name}: peer out-of-fold accuracy ${variant.peerAccuracy}`);
    // Flag precision and recall must describe the same set of true positives.
    if (variant.flagged > 0) {
      const truePositives = variant.flagPrecision * variant.flagged;
      assert.ok(Math.abs(truePositives - Math.round(truePositives)) < 1e-6, `${name}: whole true positives`);
      assert.ok(truePositives <= teacherErrors, `${name}: no more true positives than teacher errors`);
    }
    assert.ok(variant.testAccuracy > 0.4, `${name}: test accuracy ${variant.testAccuracy} should be well above chance (0.25)`);
  }
  const peerKd = figures.variants.PeerKD;
  const c = peerKd.calibration;
  assert.ok(c.ece >= 0 && c.ece <= 1, `ECE ${c.ece}`);
  assert.ok(c.estimateLow <= c.estimate && c.estimate <= c.estimateHigh, `interval [${c.estimateLow}, ${c.estimateHigh}] holds ${c.estimate}`);
  assert.ok(c.flaggedWrongLow <= c.flaggedWrongExpected && c.flaggedWrongExpected <= c.flaggedWrongHigh, 'flagged-wrong interval holds its estimate');
  assert.equal(c.flaggedWrongActual, Math.round(peerKd.flagPrecision * peerKd.flagged), 'really wrong flagged rows agree with the flag precision');
  assert.ok(c.teacherErrors <= teacherErrors && c.teacherErrors >= teacherErrors - HUMAN_ROWS, `teacher errors ${c.teacherErrors} counted on the rows without a human label`);
  assert.ok(c.adoptedAccuracy >= c.teacherAccuracy, `adopted labels ${c.adoptedAccuracy} are never less accurate than the teacher's ${c.teacherAccuracy}`);
  assert.ok(peerKd, 'the PeerKD variant is reported');
  assert.ok(peerKd.auroc > 0.6, `PeerKD ranking AUROC ${peerKd.auroc} should find teacher errors`);
});

test('peerkd bench refuses a label smoothing outside [0, 1), naming the flag and the value', async () => {
  for (const value of ['1', '-0.1', 'abc', '']) {
    const { code, stderr } = await runCli(['bench', dataDir, `--label-smoothing=${value}`]);
    assert.notEqual(code, 0, value);
    assert.match(stderr, new RegExp(`--label-smoothing must be a number in \\[0, 1\\), got '${value}'`), stderr);
  }
});

test('peerkd bench refuses a final weighting that is not a finite number ≥ 0, naming the flag and the value', async () => {
  for (const value of ['-1', 'Infinity', 'abc', '']) {
    const { code, stderr } = await runCli(['bench', dataDir, `--final-weighting=${value}`]);
    assert.notEqual(code, 0, value);
    assert.match(stderr, new RegExp(`--final-weighting must be a finite number ≥ 0, got '${value}'`), stderr);
  }
});

test('peerkd bench checks every --settings entry before running the first, and lists confuse:A in its help', async () => {
  for (const value of ['data,confuse:0', 'data,confuse:1.5', 'data,confuse:x', 'data,confused:0.9']) {
    const { code, stderr } = await runCli(['bench', dataDir, '--limit', '50', '--seeds', '0', '--main-only', '--settings', value]);
    assert.notEqual(code, 0, value);
    const bad = value.split(',')[1];
    assert.match(stderr, new RegExp(`--settings: '${bad.replace('.', '\\.')}' is not data, hardest:A, llm:A or confuse:A with A in \\(0, 1\\]`), stderr);
    assert.doesNotMatch(stderr, /bench data:/, `${value}: the valid first setting must not run before the typo is found`);
    // A usage error, as in every command: the help follows, exit code 2.
    assert.equal(code, 2, value);
    assert.match(stderr, /^peerkd bench: --settings: .*\n\nUsage: peerkd bench DATA_DIR \[options\]/, stderr);
  }
  // A confuse:A the data cannot give (90 % of the rows in the confused class) is refused before the first setting runs.
  const skewed = join(folder, 'skewed');
  mkdirSync(skewed, { recursive: true });
  const rows = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ text: `row ${i}`, gold_label: i % 10 === 9 ? 'Y' : 'X', teacher_label: i % 10 === 9 ? 'Y' : 'X' })).join('\n') + '\n';
  writeFileSync(join(skewed, 'train.jsonl'), rows(100));
  writeFileSync(join(skewed, 'test.jsonl'), rows(20));
  const refused = await runCli(['bench', skewed, '--seeds', '0', '--main-only', '--settings', 'data,confuse:0.5']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /confuse:0\.5 needs 50 mistakes in 100 rows, but this data allows 45 \(35 of "X" into "Y", one on each of the 10 rows of the other labels\): ask for a higher accuracy/, refused.stderr);
  assert.doesNotMatch(refused.stderr, /bench data:/, 'the valid first setting must not run before the refusal');
  const { code, stdout } = await runCli(['bench', '--help']);
  assert.equal(code, 0);
  assert.match(stdout, /confuse:A {3}a simulated teacher right on a fraction A of the rows whose mistakes are systematic/);
});

test('peerkd bench refuses, naming the file, a label set of one label and a test label that no train row has', async () => {
  const write = (name: string, train: object[], testRows: object[]) => {
    const dir = join(folder, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'train.jsonl'), train.map((row) => JSON.stringify(row)).join('\n') + '\n');
    writeFileSync(join(dir, 'test.jsonl'), testRows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    return dir;
  };
  const sports = (k: number) => ({ text: `match ${k} ends in a draw`, teacher_label: 'Sports', gold_label: 'Sports' });
  const world = (k: number) => ({ text: `summit ${k} ends in a deal`, teacher_label: 'World', gold_label: 'World' });
  const one = write('one-label', [0, 1, 2, 3].map(sports), [sports(9)]);
  let run = await runCli(['bench', one, '--seeds', '0', '--main-only']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /one-label[/\\]train\.jsonl: the gold and teacher labels hold one label only \("Sports"\); a benchmark needs at least 2/, run.stderr);
  assert.doesNotMatch(run.stderr, /SFT/, 'refused before any training');
  const rare = write('test-only-label', [0, 1, 2, 3].flatMap((k) => [sports(k), world(k)]), [sports(9), world(9), { text: 'volcano erupts' }, { text: 'volcano erupts', gold_label: 'Rare' }]);
  run = await runCli(['bench', rare, '--seeds', '0', '--main-only']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /needs string fields text and gold_label/);
  assert.match(run.stderr, /test-only-label[/\\]test\.jsonl:3:/, 'the line of the row, counted in the file');
  writeFileSync(join(rare, 'test.jsonl'), [sports(9), world(9), { text: 'volcano erupts', gold_label: 'Rare' }].map((row) => `${JSON.stringify(row)}\n\n`).join(''));
  run = await runCli(['bench', rare, '--seeds', '0', '--main-only']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /test-only-label[/\\]test\.jsonl:5: gold_label "Rare" is not a label of .*train\.jsonl \("Sports", "World"\): no student could predict it/, run.stderr);
  // --limit: the label set is the first N rows'; the error says so.
  const late = write('late-label', [...Array.from({ length: 10 }, (_, k) => sports(k)), world(0), world(1)], [sports(9), world(9)]);
  run = await runCli(['bench', late, '--seeds', '0', '--main-only', '--limit', '10']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /the first 10 rows of .*late-label[/\\]train\.jsonl \(--limit\): the gold and teacher labels hold one label only/, run.stderr);
});

test('peerkd bench says, before any training, a count flag above the rows DATA_DIR holds: --human above the train rows leaves none to judge', async () => {
  const dir = join(folder, 'few-rows');
  mkdirSync(dir, { recursive: true });
  const row = (k: number) => JSON.stringify(k % 2 ? { text: `match ${k} ends in a draw`, teacher_label: 'Sports', gold_label: 'Sports' } : { text: `summit ${k} ends in a deal`, teacher_label: 'World', gold_label: 'World' });
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 12 }, (_, k) => row(k)).join('\n') + '\n');
  writeFileSync(join(dir, 'test.jsonl'), Array.from({ length: 4 }, (_, k) => row(k + 100)).join('\n') + '\n');
  const run = await runCli(['bench', dir, '--seeds', '0', '--main-only', '--backend', 'cpu', '--human', '1000', '--test-limit', '50']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stderr.split('\n');
  const warnings = lines.filter((line) => line.startsWith('warning: '));
  assert.deepEqual(warnings, [
    `warning: --test-limit 50 is more than the 4 rows of ${join(dir, 'test.jsonl')}: all 4 are used`,
    'warning: --human 1000 is more than the 12 train rows: every train row is human, so no row is left for the figures about the rows without a human label (flags, P@k, AUROC, calibration show —); give --human below 12 to measure them',
  ]);
  assert.ok(lines.indexOf(warnings[1]) < lines.findIndex((line) => /SFT/.test(line)), 'said before the first seed trains');
  assert.match(run.stderr, /12 train rows, 4 test rows, labels Sports, World, 12 human rows, seeds 0/);
});

test('peerkd bench names the missing file', async () => {
  const { code, stderr } = await runCli(['bench', join(folder, 'no-such-dir')]);
  assert.notEqual(code, 0);
  assert.match(stderr, /no-such-dir[/\\]train\.jsonl/);
});

test('peerkd bench --review-loop reviews 10 % of the rows, re-ranked and static, and prints the loop table', async () => {
  const json = join(folder, 'loop.json');
  const { code, stdout, stderr } = await runCli(['bench', dataDir, '--limit', String(TRAIN_ROWS), '--test-limit', '200', '--seeds', '0', '--human', String(HUMAN_ROWS), '--backend', 'cpu', '--main-only', '--review-loop', '--json', json]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /#### Review loop, setting `data`/);
  assert.match(stdout, /\| errors found in the first 1,000 reviewed, re-ranked \|/);
  assert.match(stdout, /\| re-ranked − all gold \|/);
  assert.match(stderr, /review loop: 40 reviewed: teacher errors found \d+ \(static \d+\)/);
  const { settings } = JSON.parse(readFileSync(json, 'utf8')) as { settings: SettingFigures[] };
  const loop = settings[0].results[0].reviewLoop!;
  assert.equal(loop.budget, TRAIN_ROWS / 10);
  assert.match(stdout, /\| errors found in the first 1,000 reviewed, re-ranked \+ retrained every 500 \|/);
  assert.match(stderr, /review loop: retrained after 40 reviewed/);
  // The loop's decisions reach the retrain through the review log, as Label Review's do: all 40 count as reviewed.
  assert.match(stderr, /review loop: 40 human label\(s\) count as reviewed by the simulated review log/);
  assert.ok(loop.retrainedStudentTestAccuracy! > 0.3 && loop.retrainedStudentTestAccuracy! <= 1);
  for (const steps of [loop.reranked, loop.static, loop.retrained!]) {
    assert.deepEqual(steps.map((step) => step.reviewed), [40]);
    assert.ok(steps[0].errorsFound >= 0 && steps[0].errorsFound <= 40);
    assert.ok(steps[0].fileAccuracy > 0.5 && steps[0].fileAccuracy <= 1);
  }
  for (const accuracy of [loop.rerankedStudentTestAccuracy, loop.staticStudentTestAccuracy, loop.goldStudentTestAccuracy]) assert.ok(accuracy > 0.3 && accuracy <= 1);
});

test('peerkd bench --embedding-cache: a slow encoder encodes each train and test row once across seeds, into DIR', async () => {
  const cacheDir = join(folder, 'embedding-cache');
  const json = join(folder, 'bench-use-lite.json');
  const { code, stderr } = await runCli(['bench', dataDir, '--limit', '120', '--test-limit', '40', '--seeds', '0,1', '--human', '20', '--backend', 'wasm', '--main-only', '--encoder', 'use-lite', '--encoder-keep', 'always', '--embedding-cache', cacheDir, '--json', json]);
  assert.equal(code, 0, stderr);
  const files = readdirSync(cacheDir);
  assert.equal(files.length, 1, files.join(', '));
  const keys = readFileSync(join(cacheDir, files[0]), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { k: string }).k);
  // 120 train + 40 test rows, each once although two seeds trained and predicted on them.
  assert.equal(keys.length, 160);
  assert.equal(new Set(keys).size, 160);
  const figures = JSON.parse(readFileSync(json, 'utf8')) as { settings: SettingFigures[] };
  assert.equal(figures.settings[0].results.length, 2);
});
