/**
 * Labels from a dataset in the editor's plain-text places: the flagged-row diagnostic (Problems panel) and its quick
 * fix titles. A label with a line break or a bidirectional control (Trojan Source) must not break the message or
 * reorder the words around it. Run against a stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeDiagnosticsVscode, FakeRange } from '../support/fakeDiagnosticsVscode';

const fake = fakeDiagnosticsVscode();
stubVscodeModule(fake.module);
const disposable = { dispose() {} };
const Range = FakeRange;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunDiagnostics, FlaggedRowCodeActions } = require('../../src/editor/runDiagnostics') as typeof import('../../src/editor/runDiagnostics');

const TEACHER = 'World\u202e\nstroperS';
const SUGGESTED = 'Sports\u2066\u0007';
const LINE = JSON.stringify({ id: 'a', text: 't', teacher_label: TEACHER });
const document = {
  uri: { toString: () => 'file:///w/data.jsonl', path: '/w/data.jsonl', fsPath: '/w/data.jsonl', scheme: 'file' },
  lineCount: 1,
  isClosed: false,
  lineAt: () => ({ text: LINE, firstNonWhitespaceCharacterIndex: 0 }),
};
const prediction = { id: 'a', line: 1, teacher: TEACHER, human: null, suggested: SUGGESTED, p_teacher_wrong: 0.9, flagged: true, probs: {}, peer_probs: {}, vanilla_probs: {} };
const row = { id: 'a', line: 1, teacher: TEACHER, human: null };
const runState = {
  onDidChangeRun: () => disposable,
  getRun: () => ({ byKey: new Map([['a', prediction]]) }),
  indexOf: () => ({ byKey: new Map([['a', row]]), keyByLine: new Map([[1, 'a']]) }),
  ensureRun: async () => undefined,
};

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

test('a flagged label with a line break or bidirectional controls shows them as escapes in the Problems panel', () => {
  const diagnostics = new RunDiagnostics(runState as never);
  diagnostics.update(document as never);
  assert.equal(fake.published().length, 1);
  assert.doesNotMatch(fake.published()[0].message, CONTROLS);
  assert.equal(fake.published()[0].message, "Teacher label 'World\\u202e\\u000astroperS' may be wrong: peers suggest 'Sports\\u2066\\u0007' (p = 0.90)");
  diagnostics.dispose();
});

test('the quick fix titles show the labels with the same escapes; the fix still writes the label itself', () => {
  const actions = new FlaggedRowCodeActions(runState as never).provideCodeActions(document as never, undefined as never, {
    diagnostics: [{ code: 'peerkd-flagged-label', range: new Range(0, 0, 0, 1) }],
  } as never);
  assert.deepEqual(
    actions.map((action) => action.title),
    ["Accept 'Sports\\u2066\\u0007'", "Keep 'World\\u202e\\u000astroperS'", 'Open in Label Review'],
  );
  // The command names the row; the label written is the run's, not the escaped title.
  assert.deepEqual((actions[0].command as { arguments: unknown[] }).arguments[1], 'a');
});

test('a label of invisible characters only is shown as their escapes (it would look empty); visible text keeps its joiners', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { shownLabel } = require('../../src/editor/messages') as typeof import('../../src/editor/messages');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { showInvisible } = require('../../src/review/prettyRow') as typeof import('../../src/review/prettyRow');
  assert.equal(shownLabel('\u200b'), '\\u200b');
  assert.equal(shownLabel('\u200b\ufeff\u{e0001}'), '\\u200b\\ufeff\\u{e0001}');
  assert.equal(shownLabel('\u00a0'), '\\u00a0');
  // Text with a visible character is left as written (a zero-width joiner belongs to emoji and many scripts).
  assert.equal(shownLabel('👩\u200d💻'), '👩\u200d💻');
  assert.equal(showInvisible('ab\u200cc'), 'ab\u200cc');
  assert.equal(showInvisible(''), '');
});
