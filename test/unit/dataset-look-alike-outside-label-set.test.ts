/**
 * A label outside the configured label set that reads as one of its labels: 'Wörld' in the file written NFC while
 * `--labels` (or peerkd.labels) wrote it NFD, or 'World ' with a trailing space. The run stopped with
 * "human label 'Wörld' (field human_label) is not in the label set: Business, Sci/Tech, Sports, Wörld", and the
 * Problems panel said the same of each row: two strings that look identical, with no word on how they differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookAlikeHint, parseDatasetText } from '../../src/dataset/index';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { checkTrainingInput } from '../../src/training/input';

const NFC = 'W\u00f6rld';
const NFD = 'Wo\u0308rld';
const LABELS = ['Business', 'Sports', NFD];

const row = (id: number, fields: Record<string, string>) => JSON.stringify({ id: `r${id}`, text: `row ${id}`, ...fields });

test('the run names the look-alike of a human label outside the configured set, and how it differs', () => {
  const lines = [
    row(1, { teacher_label: 'Business', human_label: 'Business' }),
    row(2, { teacher_label: 'Sports', human_label: 'Sprots' }),
    row(3, { teacher_label: 'Sports', human_label: NFC }),
    ...Array.from({ length: 6 }, (_, i) => row(4 + i, { teacher_label: ['Business', 'Sports'][i % 2] })),
  ];
  const source = { file: '/d.jsonl', fields: DEFAULT_FIELDS, labels: LABELS, folds: 2 };
  const finding = checkTrainingInput(parseDatasetText(lines.join('\n'), DEFAULT_FIELDS, { labels: LABELS }), source).findings.find((f) => f.check === 'human-outside-label-set');
  assert.equal(finding?.line, 2);
  assert.equal(
    finding?.message,
    `human label 'Sprots' (field human_label) is not in the label set: Business, Sports, ${NFD} (also on line 3); '${NFC}' (line 3) is the label '${NFD}' written with other Unicode characters or white space: write it as in the label set`,
  );
});

test("the Problems panel's unknown-label warning says the same of a label with other Unicode characters, white space or another case; a typo gets no hint", () => {
  const lines = [row(1, { teacher_label: 'Sports ' }), row(2, { teacher_label: NFC }), row(3, { teacher_label: 'Sprots' }), row(4, { teacher_label: 'sports' })];
  const problems = parseDatasetText(lines.join('\n'), DEFAULT_FIELDS, { labels: LABELS }).problems;
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.code, problem.message]),
    [
      [1, 'unknown-label', `Teacher label 'Sports ' (field teacher_label) is not in the label set: Business, Sports, ${NFD}; 'Sports ' is the label 'Sports' written with other Unicode characters or white space: write it as in the label set`],
      [2, 'unknown-label', `Teacher label '${NFC}' (field teacher_label) is not in the label set: Business, Sports, ${NFD}; '${NFC}' is the label '${NFD}' written with other Unicode characters or white space: write it as in the label set`],
      [3, 'unknown-label', `Teacher label 'Sprots' (field teacher_label) is not in the label set: Business, Sports, ${NFD}`],
      [4, 'unknown-label', `Teacher label 'sports' (field teacher_label) is not in the label set: Business, Sports, ${NFD}; 'sports' is the label 'Sports' written in other case: write it as in the label set`],
    ],
  );
  assert.equal(lookAlikeHint(LABELS, 'Sports'), undefined);
});

test("a label that differs from the configured set's only by case gets the same hint from the run as from the Problems panel", () => {
  const lines = [
    row(1, { teacher_label: 'Business', human_label: 'Business' }),
    row(2, { teacher_label: 'Sports', human_label: 'sports' }),
    row(3, { teacher_label: 'SPORTS' }),
    ...Array.from({ length: 6 }, (_, i) => row(4 + i, { teacher_label: ['Business', 'Sports'][i % 2] })),
  ];
  const source = { file: '/d.jsonl', fields: DEFAULT_FIELDS, labels: LABELS, folds: 2 };
  const parsed = parseDatasetText(lines.join('\n'), DEFAULT_FIELDS, { labels: LABELS });
  const findings = checkTrainingInput(parsed, source).findings;
  const hint = "'sports' is the label 'Sports' written in other case: write it as in the label set";
  assert.equal(
    findings.find((f) => f.check === 'human-outside-label-set')?.message,
    `human label 'sports' (field human_label) is not in the label set: Business, Sports, ${NFD}; ${hint}`,
  );
  assert.match(findings.find((f) => f.check === 'teacher-outside-label-set')?.message ?? '', /; 'SPORTS' \(line 3\) is the label 'Sports' written in other case: write it as in the label set$/);
  assert.ok(parsed.problems.some((problem) => problem.line === 2 && problem.message.endsWith(`; ${hint}`)));
  assert.equal(lookAlikeHint(LABELS, 'sports'), hint);
});
