/**
 * The hover on a label of a row in the run's doubtful queue (src/training/doubtful.ts). The panel shows such a row
 * suggesting the most likely label other than the teacher's; the hover marked the teacher's own label "(suggested)"
 * (the run's arg-max) and said nothing of the queue, so the two places disagreed on what the run suggests for the row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeDiagnosticsVscode } from '../support/fakeDiagnosticsVscode';
import { queueSuggestion } from '../../src/review/model';
import type { Prediction } from '../../src/training/types';

class FakeMarkdownString {
  value = '';
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
  appendText(text: string): this {
    this.value += text;
    return this;
  }
}

stubVscodeModule({ ...fakeDiagnosticsVscode().module, MarkdownString: FakeMarkdownString });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { probabilityHover } = require('../../src/editor/runDiagnostics') as typeof import('../../src/editor/runDiagnostics');

function prediction(id: string, teacher: string, p: number, flagged = false): Prediction {
  const other = teacher === 'neg' ? 'pos' : 'neg';
  const probs = { [teacher]: 1 - p, [other]: p };
  return { id, line: 1, teacher, human: null, suggested: flagged ? other : teacher, p_teacher_wrong: p, flagged, probs, peer_probs: {}, vanilla_probs: {} };
}

// Candidates' Σp = 0.45 + 0.3 + 0.1 × 3 = 1.05: the doubtful queue is the one row 'c'.
const predictions = [prediction('c', 'neg', 0.45), prediction('d', 'pos', 0.3), ...['e', 'f', 'g'].map((id) => prediction(id, 'neg', 0.1)), prediction('x', 'pos', 0.9, true)];

const hover = (row: Prediction) => (probabilityHover(row, row.teacher, null, predictions) as unknown as FakeMarkdownString).value;

test("a doubtful row's hover says so and marks the label the doubtful queue suggests, as the panel does", () => {
  const text = hover(predictions[0]);
  assert.match(text, /^\*\*PeerKD\*\* · p\(teacher wrong\) = 0\.45 · doubtful \(not flagged; Label Review's doubtful queue\)/);
  assert.equal(queueSuggestion(predictions[0], 'doubtful'), 'pos');
  assert.match(text, /\| \*\*pos\*\* \(suggested\) \|/);
  assert.doesNotMatch(text, /\*\*neg\*\* \(suggested\)/);
});

test('a row neither flagged nor doubtful, and a flagged row, hover as before', () => {
  const plain = hover(predictions[1]);
  assert.match(plain, /^\*\*PeerKD\*\* · p\(teacher wrong\) = 0\.30\n/);
  assert.match(plain, /\| \*\*pos\*\* \(suggested\) \|/);
  const flagged = hover(predictions[5]);
  assert.match(flagged, /^\*\*PeerKD\*\* · p\(teacher wrong\) = 0\.90 · flagged\n/);
  assert.match(flagged, /\| \*\*neg\*\* \(suggested\) \|/);
});
