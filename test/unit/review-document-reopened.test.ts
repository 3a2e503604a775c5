/**
 * The dataset's document closed and opened again while Label Review is open (its tab closed, then the file opened
 * again, or edited on disk meanwhile). The editor keeps a closed document readable with the text it had when it closed,
 * and the reopened file is a new document whose version numbers start again from 1. The review read the closed one
 * at every refresh, so edits made in the reopened document never showed; and the rows' index, cached by version
 * alone, answered the reopened document with the closed one's rows once their versions met: a decision then wrote its
 * label onto the line where the row WAS, another row. Run against a stand-in for the part of `vscode` the review's
 * document adapter (src/editor/labelEdits.ts) and the run state (src/editor/runState.ts) use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { fakeEditorVscode, FakeUri } from '../support/fakeEditorVscode';
import type { Prediction } from '../../src/training/types';

const fake = fakeEditorVscode();
stubVscodeModule(fake.module);
const { textDocuments, events } = fake;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunState } = require('../../src/editor/runState') as typeof import('../../src/editor/runState');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createReviewSession } = require('../../src/editor/labelEdits') as typeof import('../../src/editor/labelEdits');

const uri = new FakeUri('/work/data/news.jsonl');
const line = (id: string, text: string): string => JSON.stringify({ id, text, teacher_label: 'World' });
const A = line('a', 'Stocks rally as rates fall');
const B = line('b', 'Match ends in a draw');
const NEW = line('new', 'A row typed above the others');

function prediction(id: string, suggested: string): Prediction {
  return { id, line: 1, teacher: 'World', human: null, suggested, p_teacher_wrong: 0.9, flagged: true, probs: { [suggested]: 0.9, World: 0.1 }, peer_probs: {}, vanilla_probs: {} };
}

const log = { info() {}, warn() {}, error() {}, debug() {} };

const open = (text: string, version: number) => fake.open(uri, text, version);
const close = fake.close;

test('closed and opened again with a row inserted above: the panel shows the row on its new line, and a decision lands on it', async () => {
  textDocuments.length = 0;
  const runState = new RunState(log as never);
  const run = { runId: 'r1', labels: ['World', 'Business', 'Sports'], predictions: [prediction('a', 'Business'), prediction('b', 'Sports')] };
  const first = open([A, B].join('\n'), 3);
  const session = await createReviewSession(runState, uri as never, run as never);
  // The panel's wiring: every change of the dataset's document refreshes the session.
  const wiring = events.change.event(({ document }) => {
    if (document.uri.toString() === uri.toString()) session.documentChanged();
  });
  assert.equal(session.row('a')?.line, 1);

  // The tab is closed; the file is opened again (a new document, its versions from 1) and a row is typed at the top.
  close(first);
  const reopened = open([A, B].join('\n'), 1);
  reopened.lines.unshift(NEW);
  reopened.version = 3; // the closed document's version: the rows' index must not take one for the other
  events.change.fire({ document: reopened });

  assert.equal(session.row('a')?.line, 2, "the reopened document's rows, not the closed one's");
  assert.equal(session.row('b')?.line, 3);
  assert.deepEqual(await session.decide('a', { kind: 'accept' }), { status: 'done', note: null });
  assert.deepEqual(
    reopened.lines,
    [NEW, line('a', 'Stocks rally as rates fall').replace(/}$/, ',"human_label":"Business"}'), B],
    'the label is on row a, the row typed above is untouched',
  );
  assert.equal(session.row('a')?.human, 'Business');
  wiring.dispose();
  runState.dispose();
});

test("the rows' index tells two documents of one file apart even at the same version", () => {
  textDocuments.length = 0;
  const runState = new RunState(log as never);
  const closed = open([A, B].join('\n'), 2);
  assert.equal(runState.indexOf(closed as never).byKey.get('a')?.line, 1);
  close(closed);
  const reopened = open([NEW, A, B].join('\n'), 2);
  // Something still holding the closed document asks for its rows: they are its own, and not the reopened one's after.
  assert.equal(runState.indexOf(closed as never).byKey.get('a')?.line, 1);
  assert.equal(runState.indexOf(reopened as never).byKey.get('a')?.line, 2, 'the reopened text, not the index of the closed one');
  assert.equal(runState.indexOf(closed as never).byKey.get('a')?.line, 1);
  runState.dispose();
});
