/**
 * The flagged-row diagnostics of a run whose dataset changed while it ran or since (src/editor/runDiagnostics.ts):
 * a row whose teacher label is no longer the one the run judged (edited, or the file replaced by one with the same
 * ids and other labels) gets no "Teacher label 'Z' may be wrong (p = 0.90)": that probability is about another
 * label. Rows that only moved keep theirs, on their new line. Run against a stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeDiagnosticsVscode } from '../support/fakeDiagnosticsVscode';

const fake = fakeDiagnosticsVscode();
stubVscodeModule(fake.module);
const disposable = { dispose() {} };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunDiagnostics } = require('../../src/editor/runDiagnostics') as typeof import('../../src/editor/runDiagnostics');

function flagged(id: string, teacher: string, suggested: string) {
  return { id, line: 1, teacher, human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: {}, peer_probs: {}, vanilla_probs: {} };
}

/** /w/data.jsonl open in the editor, holding `lines`. */
function datasetDocument(lines: string[]) {
  return {
    uri: { toString: () => 'file:///w/data.jsonl', path: '/w/data.jsonl', fsPath: '/w/data.jsonl', scheme: 'file' },
    lineCount: lines.length,
    isClosed: false,
    lineAt: (index: number) => ({ text: lines[index], firstNonWhitespaceCharacterIndex: 0 }),
  };
}

/** The editor's run state with `run` (predictions by key) for the document's `rows` (id and line each). */
function fakeRunState(rows: { id: string; line: number }[], run: Map<string, unknown>) {
  return {
    onDidChangeRun: () => disposable,
    getRun: () => ({ byKey: run }),
    indexOf: () => ({ byKey: new Map(rows.map((row) => [row.id, row])), keyByLine: new Map(rows.map((row) => [row.line, row.id])) }),
    ensureRun: async () => undefined,
  };
}

test('after the run: a row moved keeps its diagnostic on its new line; a teacher label edited to another label, or to the suggestion, has none', () => {
  // The run saw a: World (suggested Sports), b: World (suggested Sports), c: Business (suggested Sci/Tech).
  const run = new Map([
    ['a', flagged('a', 'World', 'Sports')],
    ['b', flagged('b', 'World', 'Sports')],
    ['c', flagged('c', 'Business', 'Sci/Tech')],
  ]);
  // Since: a line was inserted above (a moved to line 2), b's teacher label replaced by 'Business', c's by the suggestion.
  const rows = [
    { id: 'new', line: 1, teacher: 'World', human: null },
    { id: 'a', line: 2, teacher: 'World', human: null },
    { id: 'b', line: 3, teacher: 'Business', human: null },
    { id: 'c', line: 4, teacher: 'Sci/Tech', human: null },
  ];
  const lines = rows.map((row) => JSON.stringify({ id: row.id, text: 't', teacher_label: row.teacher }));
  const document = datasetDocument(lines);
  const runState = fakeRunState(rows, run);
  const diagnostics = new RunDiagnostics(runState as never);
  diagnostics.update(document as never);
  assert.deepEqual(
    fake.published().map((diagnostic) => [diagnostic.range.startLine + 1, diagnostic.message]),
    [[2, "Teacher label 'World' may be wrong: peers suggest 'Sports' (p = 0.90)"]],
  );
  diagnostics.dispose();
});

test('after the run: a row whose text was edited has no diagnostic where the run recorded its text digest; a run without the digests warns as before', async () => {
  const { createHash } = await import('node:crypto');
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
  // The run read a: "stocks fall", b: "rates rise"; a's text is rewritten since.
  const rows = [
    { id: 'a', line: 1, text: 'the team wins the cup', teacher: 'World', human: null },
    { id: 'b', line: 2, text: 'rates rise', teacher: 'World', human: null },
  ];
  const lines = rows.map((row) => JSON.stringify({ id: row.id, text: row.text, teacher_label: row.teacher }));
  const document = datasetDocument(lines);
  const published = (withDigests: boolean) => {
    const run = new Map([
      ['a', { ...flagged('a', 'World', 'Sports'), ...(withDigests ? { text_digest: digest('stocks fall') } : {}) }],
      ['b', { ...flagged('b', 'World', 'Business'), line: 2, ...(withDigests ? { text_digest: digest('rates rise') } : {}) }],
    ]);
    const runState = fakeRunState(rows, run);
    const diagnostics = new RunDiagnostics(runState as never);
    diagnostics.update(document as never);
    const result = fake.published().map((diagnostic) => [diagnostic.range.startLine + 1, diagnostic.message]);
    diagnostics.dispose();
    return result;
  };
  assert.deepEqual(published(true), [[2, "Teacher label 'World' may be wrong: peers suggest 'Business' (p = 0.90)"]], 'a: the advice is about its old text');
  assert.deepEqual(published(false), [
    [1, "Teacher label 'World' may be wrong: peers suggest 'Sports' (p = 0.90)"],
    [2, "Teacher label 'World' may be wrong: peers suggest 'Business' (p = 0.90)"],
  ]);
});
