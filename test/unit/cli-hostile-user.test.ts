/**
 * `peerkd` used the way a new user with a strong LLM teacher uses it: two labels, a few dozen human labels, some rows
 * the teacher left unlabelled. Each test runs the real CLI as a child process and checks what the user is told.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonl } from '../support/jsonl';
import { runCli, tempFolder } from '../fixtures/training/build';
import { SeededRandom } from '../../src/training/random';

let folder: string;

before(async () => {
  folder = await tempFolder('cli-hostile-user');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A sentiment dataset: `rows` rows, teacher labels `pos`/`neg`, the first `humans` rows with a human label `human(truth)`. */
function sentiment(rows: number, humans: number, human: (label: 'pos' | 'neg') => string): Record<string, unknown>[] {
  return Array.from({ length: rows }, (_, i) => {
    const label = i % 2 === 0 ? 'pos' : 'neg';
    const text = `${label === 'pos' ? 'a wonderful' : 'a dreadful'} film, review ${i}`;
    return { id: i, text, teacher_label: label, ...(i < humans ? { human_label: human(label) } : {}) };
  });
}

const DISTILL = ['--encoder', 'none', '--backend', 'cpu'];

test("distill: human labels spelt otherwise than the teacher's ('positive' beside 'pos') stop the run, naming the file, the line and both spellings", async () => {
  const file = await writeJsonl(folder, 'spelling.jsonl', sentiment(80, 40, (label) => (label === 'pos' ? 'positive' : 'negative')));
  const before = await readFile(file);
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL], folder);
  assert.equal(code, 1, stdout + stderr);
  const last = stderr.trim().split('\n').at(-1) ?? '';
  // Before: the run went on, said "Teacher ≈ 0% right", flagged every row and adopted the advice on all of them.
  assert.ok(last.startsWith(`peerkd distill: ${file}:1: no human label (field human_label) is a label the teacher uses (field teacher_label)`), last);
  assert.match(last, /'positive' \(20 rows, first on line 1\), 'negative' \(20 rows, first on line 2\)/);
  assert.match(last, /'positive' for 'pos'\?/);
  assert.doesNotMatch(stdout, /flagged/);
  assert.deepEqual(await readFile(file), before);
  assert.deepEqual(await readdir(folder).then((names) => names.filter((name) => name === '.peerkd')), []);
});

test('distill: a human label the teacher never uses, beside ones it does, is warned about with its rows', async () => {
  const file = await writeJsonl(folder, 'partial.jsonl', sentiment(80, 40, (label) => (label === 'pos' ? 'pos' : 'negative')));
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-partial`], folder);
  assert.equal(code, 0, stdout + stderr);
  assert.match(
    stderr,
    /warn: 1 human label\(s\) \(field human_label\) are on no teacher label \(field teacher_label\): 'negative' \(20 rows, first on line 2\) \('negative' for 'neg'\?\)/,
  );
});

test("distill: rows without an id that repeat a text are said as such, not as rows that 'repeat an earlier row's id'", async () => {
  const rows = sentiment(80, 30, (label) => label).map(({ id: _id, ...row }) => row);
  rows[40] = { ...rows[40], text: rows[2].text };
  rows[42] = { ...rows[42], text: rows[2].text };
  const file = await writeJsonl(folder, 'no-ids.jsonl', rows);
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-no-ids`], folder);
  assert.equal(code, 0, stdout + stderr);
  // Before: "2 row(s) repeat an earlier row's id, so their predictions share it (lines 41, 43)" in a file without ids.
  assert.doesNotMatch(stderr, /repeat an earlier row's id/);
  assert.match(stderr, /warn: 2 row\(s\) have no id \(field id\) and the text of an earlier row without one, so their predictions share its id, made from the text \(lines 41, 43\); give each row an id/);
});

test('distill: rows that repeat an id are still said as such', async () => {
  const rows = sentiment(80, 30, (label) => label);
  rows[40] = { ...rows[40], id: 2 };
  const file = await writeJsonl(folder, 'repeated-ids.jsonl', rows);
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-repeated-ids`], folder);
  assert.equal(code, 0, stdout + stderr);
  assert.match(stderr, /warn: 1 row\(s\) repeat an earlier row's id, so their predictions share it \(lines 41\)/);
  assert.doesNotMatch(stderr, /have no id/);
});

const LABEL = ['--base-url', 'http://127.0.0.1:9/v1', '--model', 'm'];

test('label: a file without a row (empty, a JSON array, every line invalid) is an error naming the file and line, as in distill and predict', async () => {
  const cases: [string, string, RegExp][] = [
    ['empty.jsonl', '', /^peerkd label: empty\.jsonl: the file has no rows/],
    ['array.jsonl', '[{"text": "a fine film"}]\n', /^peerkd label: array\.jsonl:1: no line is a valid row: the only non-blank line is invalid: Line is an array/],
    ['broken.jsonl', 'text,label\n"a fine film",pos\n', /^peerkd label: broken\.jsonl:1: no line is a valid row: all 2 non-blank lines are invalid/],
  ];
  for (const [name, content, says] of cases) {
    const file = join(folder, name);
    await writeFile(file, content);
    const { code, stdout, stderr } = await runCli(['label', name, ...LABEL, '--labels', 'pos,neg'], folder);
    // Before: "Done: 0 labelled, 0 abstained, 0 failed requests … Wrote 0 rows to empty.jsonl." and exit 0.
    assert.equal(code, 1, `${name}: ${stdout}${stderr}`);
    assert.match(stderr.trim().split('\n').at(-1) ?? '', says);
    assert.doesNotMatch(stdout, /Wrote/);
    assert.equal(await readFile(file, 'utf8'), content);
  }
});

test('label: no label set to ask for is an error naming the file', async () => {
  await writeJsonl(folder, 'unlabelled.jsonl', [{ text: 'a fine film' }, { text: 'a dull film' }]);
  const { code, stderr } = await runCli(['label', 'unlabelled.jsonl', ...LABEL], folder);
  assert.equal(code, 1, stderr);
  assert.match(stderr.trim().split('\n').at(-1) ?? '', /^peerkd label: unlabelled\.jsonl: no label set: configure peerkd\.labels \(CLI: --labels A,B,C\)/);
});

/** 600 rows of three labels, every text its own, a 93 % teacher that abstains on 4 %: a student restarts on seed 0 (its loss climbs past its first 1,000 row updates). */
function threeLabels(): Record<string, unknown>[] {
  const random = new SeededRandom(1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random.next() * list.length)];
  const labels = ['a', 'b', 'c'];
  const fill = ['honestly', 'overall', 'frankly', 'really', 'quite'];
  return Array.from({ length: 600 }, (_, i) => {
    const y = pick(labels);
    const text = `${pick(fill)} topic ${y} ${Array.from({ length: 6 }, () => pick([`${y}x`, `${y}y`, `${y}z`, 'common', 'words', 'here'])).join(' ')} ${i}`;
    const teacher = random.next() < 0.04 ? undefined : random.next() < 0.93 ? y : pick(labels.filter((l) => l !== y));
    return { id: i, text, ...(teacher ? { teacher_label: teacher } : {}), ...(i < 60 ? { human_label: y } : {}) };
  });
}

test('distill: a student trained again at a lower rate is not blamed on repeated texts in a file where no text repeats', async () => {
  const file = await writeJsonl(folder, 'three.jsonl', threeLabels());
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-three`], folder);
  assert.equal(code, 0, stdout + stderr);
  // The restart this file makes (what the test is about) trained a student that learnt, in a file without repeated
  // texts: nothing for the user to do, so run.log says it and the terminal does not (it was a warning on every run).
  assert.doesNotMatch(stderr, /diverged/);
  const runs = join(folder, 'runs-three');
  const runDir = (await readdir(runs)).find((name) => name.includes('three'))!;
  const log = await readFile(join(runs, runDir, 'run.log'), 'utf8');
  assert.match(log, /INFO {2}a \w+ student's training diverged \(epoch mean loss [\d.]+\) and was trained again at learning rate 0\.075 instead of 0\.3; that training finished normally \(last epoch's mean loss [\d.]+\), nothing needs doing\n/);
  // Before: ": an input that fills much of the data under different labels (the same text on many rows) does this".
  assert.doesNotMatch(log, /same text on many rows/);
});

test('distill: human labels and no teacher label at all (no field that looks like one) is said, not only "0 rows flagged"', async () => {
  const rows = sentiment(80, 40, (label) => label).map(({ teacher_label: _teacher, ...row }) => row);
  const file = await writeJsonl(folder, 'no-teacher.jsonl', rows);
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-no-teacher`], folder);
  assert.equal(code, 0, stdout + stderr);
  assert.match(stderr, /warn: no row has a teacher label \(field teacher_label\), so the run has no teacher label to judge and flags nothing: it trains a student on the 40 human label\(s\) alone/);
  assert.match(stdout, /teacher-labelled +0\n/);
});

test('distill: a runs folder that cannot be made says which flag chooses another', async () => {
  const file = await writeJsonl(folder, 'out-under-file.jsonl', sentiment(40, 0, (label) => label));
  const { code, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${file}/runs`], folder);
  assert.equal(code, 1, stderr);
  // Before: "(choose another output folder)", naming neither --out nor the setting.
  assert.match(stderr, /cannot create the run folder in .*out-under-file\.jsonl\/runs: .*\(choose another output folder: setting peerkd\.training\.outputDir, or --out on the command line\)/);
});

test("distill: human labels in another field than the README's (gold_label) are named with the flag that reads them", async () => {
  const rows = sentiment(80, 30, (label) => label).map(({ human_label, ...row }) => (human_label === undefined ? row : { ...row, gold_label: human_label }));
  // Rows of another field that holds no labels (a source name) are not offered.
  rows[5] = { ...rows[5], source: 'imdb' };
  const file = await writeJsonl(folder, 'gold-field.jsonl', rows);
  const { code, stdout, stderr } = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-gold`], folder);
  assert.equal(code, 0, stdout + stderr);
  // Before: nothing but "Teacher ≈ 100% right (no human labels to check this against)" in the summary.
  assert.match(stderr, /warn: no row has a human label \(field human_label\), while field 'gold_label' holds labels of the label set on 30 row\(s\) \(first on line 1\): if those are your human labels, set peerkd\.fields\.human \(--fields\.human gold_label\)/);
  assert.doesNotMatch(stderr, /'source'/);
  const read = await runCli(['distill', file, ...DISTILL, '--out', `${folder}/runs-gold`, '--fields.human', 'gold_label'], folder);
  assert.equal(read.code, 0, read.stderr);
  assert.match(read.stdout, /human-labelled +30\n/);
  assert.doesNotMatch(read.stderr, /no row has a human label/);
});

test('label --out with every row already labelled says the copy holds the whole dataset, not "Wrote 0 rows" alone', async () => {
  const file = await writeJsonl(folder, 'labelled.jsonl', sentiment(6, 0, (label) => label));
  const { code, stdout, stderr } = await runCli(['label', 'labelled.jsonl', ...LABEL, '--out', 'labelled-copy.jsonl'], folder);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /Wrote 0 rows to labelled-copy\.jsonl \(a copy of labelled\.jsonl, its other rows as they are there\)\./);
  assert.deepEqual(await readFile(join(folder, 'labelled-copy.jsonl')), await readFile(file));
  const inPlace = await runCli(['label', 'labelled.jsonl', ...LABEL], folder);
  assert.equal(inPlace.code, 0, inPlace.stderr);
  assert.match(inPlace.stdout, /Wrote 0 rows to labelled\.jsonl \(left as it was\)\./);
});
