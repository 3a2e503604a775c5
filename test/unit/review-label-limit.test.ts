/**
 * One label length limit, checked where labels enter (the dataset, --labels, peerkd.labels), and the same one in
 * the panel protocol: a label that trains can always be set and filtered on in the panel. An explicit label list
 * with no label, an empty entry or a duplicate is an error, not a silent fallback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { labelListProblem, MAX_LABEL_LENGTH, parseDatasetText, parseLabelList } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { DEFAULT_FILTERS } from '../../src/review/model';
import { parseWebviewMessage } from '../../src/review/protocol';
import { InputError, prepareTrainingInput } from '../../src/training/input';
import { runCli, tempFolder, writeDataset } from '../fixtures/training/build';

const LONGEST = 'L'.repeat(MAX_LABEL_LENGTH);
const TOO_LONG = 'L'.repeat(MAX_LABEL_LENGTH + 1);

function lines(longLabel: string): string[] {
  return [
    JSON.stringify({ id: 'a', text: 'one', teacher_label: 'A' }),
    JSON.stringify({ id: 'b', text: 'two', teacher_label: 'B' }),
    JSON.stringify({ id: 'c', text: 'three', teacher_label: longLabel }),
    JSON.stringify({ id: 'd', text: 'four', teacher_label: 'A', human_label: 'A' }),
  ];
}

const source = { file: 'data.jsonl', fields: DEFAULT_FIELDS, labels: [] as string[], folds: 2 };

test('every label the protocol refuses is refused where the data enters, with file and line', () => {
  // The longest label that trains is one the panel accepts, for a decision and for the teacher filter.
  assert.doesNotThrow(() => prepareTrainingInput(lines(LONGEST).join('\n'), source));
  assert.ok(parseWebviewMessage({ type: 'decide', rowId: 'c', decision: { kind: 'set', label: LONGEST } }));
  assert.ok(parseWebviewMessage({ type: 'setFilters', requestId: 1, filters: { ...DEFAULT_FILTERS, teacher: LONGEST } }));
  // One character more: the panel would drop the message, so the dataset is refused before training.
  assert.equal(parseWebviewMessage({ type: 'decide', rowId: 'c', decision: { kind: 'set', label: TOO_LONG } }), undefined);
  assert.throws(
    () => prepareTrainingInput(lines(TOO_LONG).join('\n'), source),
    (error: unknown) =>
      error instanceof InputError &&
      error.line === 3 &&
      error.message.startsWith('data.jsonl:3: Teacher label (field teacher_label): label "LLLL') &&
      error.message.includes(`is ${MAX_LABEL_LENGTH + 1} characters long; labels are at most ${MAX_LABEL_LENGTH}`),
  );
  // The editor shows it as an error on the label.
  const problem = parseDatasetText(lines(TOO_LONG).join('\n'), DEFAULT_FIELDS).problems.find((p) => p.code === 'label-too-long');
  assert.ok(problem);
  assert.equal(problem.severity, 'error');
  assert.equal(problem.line, 3);
});

test('an explicit label list must name labels, each once, each within the limit', () => {
  assert.equal(labelListProblem(['A', 'B']), undefined);
  assert.equal(labelListProblem([]), 'the label list names no label');
  assert.equal(labelListProblem(['', ' ']), 'the label list names no label');
  assert.equal(labelListProblem(['A', '', 'B']), 'label 2 of the list is empty');
  assert.equal(labelListProblem(['A', 'B', 'A']), 'label "A" is listed twice');
  assert.match(labelListProblem(['A', TOO_LONG]) ?? '', /is 201 characters long; labels are at most 200/);
  assert.deepEqual(parseLabelList(' A, B ,C', '--labels'), ['A', 'B', 'C']);
  assert.throws(() => parseLabelList(',,,', '--labels'), /^Error: --labels ",,,": the label list names no label$/);
  // peerkd.labels reaches training as the request's labels: refused there too, naming the setting.
  assert.throws(
    () => prepareTrainingInput(lines('B').join('\n'), { ...source, labels: ['A', 'B', 'A'] }),
    /data\.jsonl: the configured label set \(setting peerkd\.labels or --labels\): label "A" is listed twice/,
  );
  assert.throws(() => prepareTrainingInput(lines('B').join('\n'), { ...source, labels: ['A', TOO_LONG] }), /labels are at most 200/);
});

let folder: string;
before(async () => {
  folder = await tempFolder('label-limit');
  await writeDataset(folder, 'data.jsonl', lines('B'));
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('peerkd distill --labels ,,, and --labels A,B,A are usage errors, not a fallback to the inferred set', async () => {
  for (const [spec, message] of [
    [',,,', '--labels ",,,": the label list names no label'],
    ['A,B,A', '--labels "A,B,A": label "A" is listed twice'],
  ]) {
    const { code, stdout, stderr } = await runCli(['distill', 'data.jsonl', '--labels', spec, '--backend', 'cpu'], folder);
    assert.equal(code, 2, stdout + stderr);
    assert.ok(stderr.includes(message), stderr);
  }
});
