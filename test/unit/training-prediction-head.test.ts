/**
 * readPreviousRun parses only the head of each predictions.jsonl line (headOfPrediction: the fields before the
 * probability records). For any ids and labels — quotes, backslashes, `,"probs":` itself inside them — the head must
 * give the same fields as the whole line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatPrediction } from '../../src/training/artifacts';
import { headOfPrediction } from '../../src/training/reviewedRows';
import type { Prediction } from '../../src/training/types';

const hostile = fc.oneof(fc.string(), fc.constantFrom(',"probs":', '","probs":{"a":1}}', '\\",\\"probs\\":', 'a"b\\c', '}'));

test('the head of a predictions.jsonl line holds the same id, teacher, human, flagged and p_teacher_wrong as the line', () => {
  // With and without the row's text digest (written last; runs made before it have none).
  const digest = fc.option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: undefined });
  fc.assert(
    fc.property(hostile, fc.option(hostile), fc.option(hostile), fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), digest, (id, teacher, human, flagged, p, textDigest) => {
      const labels = ['A', teacher ?? 'B'];
      const record = Object.fromEntries(labels.map((label) => [label, 0.5]));
      const prediction: Prediction = {
        id,
        line: 3,
        teacher,
        human,
        suggested: labels[0],
        p_teacher_wrong: p,
        flagged,
        probs: record,
        peer_probs: record,
        vanilla_probs: record,
        ...(textDigest === undefined ? {} : { text_digest: textDigest }),
      } as Prediction;
      const line = formatPrediction(prediction);
      const whole = JSON.parse(line) as Record<string, unknown>;
      const head = JSON.parse(headOfPrediction(line)) as Record<string, unknown>;
      for (const key of ['id', 'teacher', 'human', 'flagged', 'p_teacher_wrong']) assert.deepEqual(head[key], whole[key], key);
      assert.ok(headOfPrediction(line).length < line.length, 'the probability records are left unparsed');
      assert.equal(whole.text_digest, textDigest);
    }),
    { numRuns: 500 },
  );
});

test('a line without probability records is parsed whole, so a damaged line is still named', () => {
  assert.equal(headOfPrediction('{"id": 7, "flagged":true}'), '{"id": 7, "flagged":true}');
  assert.throws(() => JSON.parse(headOfPrediction('{"id": "r2", "line": 2, ')));
});
