/**
 * `peerkd distill` on the label and text values of a messy file: each run either works, saying what it left out and
 * where, or ends in one line naming the file and line — never a "malformed message" from the worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createDistillCommand } from '../../src/cli/distill';
import { captureIo as capture } from '../support/captureIo';
import { writeJsonl } from '../support/jsonl';
import { tempFolder } from '../fixtures/training/build';

let folder: string;

before(async () => {
  folder = await tempFolder('cli-label-values');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const dataset = (name: string, rows: Record<string, unknown>[]): Promise<string> => writeJsonl(folder, name, rows);

const LABELS = ['sport', 'money', 'tech', 'world'];

/** Rows whose words name their label (`sport3 sport7 …`): easy to learn. */
function rows(count: number, text: (i: number) => string | undefined = () => undefined): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const label = LABELS[i % 4];
    return { id: `r${i}`, text: text(i) ?? Array.from({ length: 8 }, (_, k) => `${label}${(i * 7 + k * 3) % 20}`).join(' '), teacher_label: label };
  });
}

test('distill: one text on half the rows under different labels trains (it diverged to a malformed worker message) and is named in a warning', async () => {
  const file = await dataset('deleted.jsonl', rows(100, (i) => (i % 2 === 0 ? '[deleted]' : undefined)));
  const io = capture();
  assert.equal(await createDistillCommand(io).run([file, '--encoder', 'none', '--out', join(folder, 'runs')]), 0, io.err());
  const err = io.err();
  assert.ok(!err.includes('malformed'), err);
  // The students whose loss climbed were trained again at a lower rate, and the terminal says so.
  assert.match(err, /warn: a (peer|vanilla) student's training diverged \(epoch mean loss [\d.]+\) and was trained again at learning rate 0\.075 instead of 0\.3/);
  // Once: every student of such a run diverges (5 of them here, 17 with 5 folds and 3 stages), each was a warning.
  assert.equal(err.match(/warn: a \w+ student's training diverged/g)?.length, 1, err);
  assert.match(err, /\(said once; run\.log names each student trained again\)/);
  assert.match(err, /1 text\(s\) are on several rows with different labels: line 1's text is also on lines 3, 5, 7, 9, 11, … \(49 in all\) \(labels 'sport', 'tech'\)/);
});

test('distill: the number 1 beside the string "1" is refused naming both lines; rows without text are named by line', async () => {
  const numbers = rows(8).map((row, i) => ({ ...row, teacher_label: i === 5 ? 1 : String(i % 2) }));
  const io = capture();
  assert.equal(await createDistillCommand(io).run([await dataset('numbers.jsonl', numbers), '--encoder', 'none', '--out', join(folder, 'runs')]), 1);
  assert.match(io.err(), /numbers\.jsonl:6: teacher label 1 \(field teacher_label\) is a number, while line 2 writes the label '1' as a string/);

  const noText = rows(40, (i) => (i === 3 ? '' : i === 7 ? '   ' : undefined));
  const ok = capture();
  assert.equal(await createDistillCommand(ok).run([await dataset('no-text.jsonl', noText), '--encoder', 'none', '--out', join(folder, 'runs')]), 0, ok.err());
  assert.match(ok.err(), /2 row\(s\) have no text \(field text: empty, blank, absent or not a string\) and were left out \(lines 4, 8\)/);
});
