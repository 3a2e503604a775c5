/**
 * Property test of the review session (fast-check): random sequences of the user's own edits in the editor (lines
 * inserted, deleted, moved, duplicated; a row's text, id or human label typed by hand; the editor's Ctrl+Z) mixed with
 * the panel's decisions, skips, bulk accepts (with a label typed while the confirmation is open) and undos, against
 * a fake document. After every step: a decision changed exactly the line of the row it was taken on (matched by key
 * in the document as it was), by the dataset core's edit of that line, or nothing and said why; an undo only put
 * back lines that still read as the panel left them; a bulk accept never touched a row with a human label; and the
 * session's rows agree with the document. Kept to a few seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { setFieldInLine } from '../../src/dataset/edit';
import type { Decision } from '../../src/review/model';
import { assignRowKeys, isSharedKey } from '../../src/review/rowKeys';
import { ReviewSession } from '../../src/review/session';
import type { Prediction } from '../../src/training/types';
import { FakeReviewDocument } from '../support/fakeReviewDocument';

const LABELS = ['World', 'Sports', 'Business'];
const HUMAN = 'human_label';

/** Rows as users write them: other key orders, extra fields, spacing, unicode escapes, a trailing CR, no teacher. */
const INITIAL = [
  '{"id": "r0", "text": "alpha", "teacher_label": "World"}',
  '{"text":"beta","teacher_label":"World","id":"r1","meta":{"src":"x"}}',
  '{ "teacher_label" : "Sports" , "id" : "r2" , "text" : "caf\\u00e9 \\"q\\"" }',
  '{"id": "r3", "text": "delta", "teacher_label": "Business", "n": [1, 2, {"k": null}]}\r',
  '{"id":"r4","text":"epsilon"}',
  '{"id": "r5", "text": "zeta \\ud83d\\ude00", "teacher_label": "World", "human_label": null}',
  // Two rows sharing an id: told apart by their order and, while the session runs, by their text.
  '{"id": "d", "text": "dup one", "teacher_label": "Sports"}',
  '{"id": "d", "text": "dup two", "teacher_label": "Sports"}',
];
const INITIAL_ROWS = INITIAL.map((line) => JSON.parse(line) as { id: string; text: string; teacher_label?: string });
/** The row keys (src/review/rowKeys.ts), in file order. */
const IDS = assignRowKeys(INITIAL_ROWS.map((row) => row.id));

function predictions(): Prediction[] {
  return INITIAL_ROWS.map(({ id, teacher_label }, index) => {
    const teacher = teacher_label ?? null;
    const suggested = LABELS[(index + 1) % 3];
    const p = 0.95 - index * 0.1;
    return { id, line: index + 1, teacher, human: null, suggested, p_teacher_wrong: p, flagged: teacher !== null, probs: { [suggested]: p }, peer_probs: {}, vanilla_probs: {} };
  });
}

type Op =
  | { kind: 'decide'; row: number; decision: Decision }
  | { kind: 'bulk'; min: number; typeOn: number | null }
  | { kind: 'undo' }
  | { kind: 'editorUndo' }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number }
  | { kind: 'move'; from: number; to: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'editText'; at: number }
  | { kind: 'changeId'; at: number }
  | { kind: 'typeHuman'; at: number; label: string }
  | { kind: 'respace'; at: number };

const label = fc.constantFrom(...LABELS, 'Other "quoted"', 'é\\');
const index = fc.nat({ max: 9 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('decide' as const), row: fc.nat({ max: IDS.length - 1 }), decision: fc.oneof(fc.constant({ kind: 'accept' as const }), fc.constant({ kind: 'keep' as const }), fc.constant({ kind: 'skip' as const }), label.map((l) => ({ kind: 'set' as const, label: l }))) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bulk' as const), min: fc.constantFrom(0, 0.5, 0.8), typeOn: fc.option(fc.nat({ max: IDS.length - 1 })) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'undo' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'editorUndo' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: index, text: fc.constantFrom('', '{"id": "new", "text": "n"}', 'not json', '{"text": "no id"}') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), from: index, to: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('editText' as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('changeId' as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('typeHuman' as const), at: index, label }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('respace' as const), at: index }) },
);

class Harness {
  readonly document = new FakeReviewDocument(INITIAL.join('\n') + '\n');
  readonly session: ReviewSession;
  /** The editor's undo history: the document's lines before each change. */
  private readonly history: string[][] = [];

  constructor() {
    this.session = new ReviewSession({ labels: LABELS, predictions: predictions() }, this.document, { humanField: () => HUMAN });
    this.document.onChange = () => this.session.documentChanged();
    const replace = this.document.replaceLines.bind(this.document);
    this.document.replaceLines = async (writes) => {
      this.history.push([...this.document.lines]);
      return replace(writes);
    };
  }

  /** The user's own edit: the whole line list, as the editor would have it after the edit. */
  userEdit(lines: string[]): void {
    this.history.push([...this.document.lines]);
    this.document.lines = [...lines];
    this.document.onChange();
  }

  editorUndo(): void {
    const previous = this.history.pop();
    if (previous) {
      this.document.lines = previous;
      this.document.onChange();
    }
  }

  keyOfLine(lines: string[], line: number): string | undefined {
    const document = new FakeReviewDocument(lines.join('\n'));
    for (const [key, row] of document.rows().byKey) if (row.line === line) return key;
    return undefined;
  }

  rowsOf(lines: string[]): ReturnType<FakeReviewDocument['rows']>['byKey'] {
    return new FakeReviewDocument(lines.join('\n')).rows().byKey;
  }
}

function changedLines(before: string[], after: string[]): number[] {
  assert.equal(after.length, before.length, 'the panel never adds or removes a line');
  return before.flatMap((line, i) => (line === after[i] ? [] : [i]));
}

/** A line the user edits: `at` modulo the document's lines (the last, empty line after the final newline excluded). */
function lineIndex(lines: string[], at: number): number | null {
  const count = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
  return count === 0 ? null : at % count;
}

async function step(h: Harness, operation: Op, stack: { changes: { key: string; before: string; after: string }[] }[]): Promise<void> {
  const { document, session } = h;
  const before = [...document.lines];
  const rowsBefore = h.rowsOf(before);
  switch (operation.kind) {
    case 'decide': {
      const key = IDS[operation.row];
      const result = await session.decide(key, operation.decision);
      const changed = changedLines(before, document.lines);
      if (operation.decision.kind === 'skip') {
        assert.deepEqual(changed, []);
        if (result.status === 'done') stack.push({ changes: [] });
        return;
      }
      // A row sharing its id is decided only while it reads as the session first saw it (here: as at the start).
      const row = isSharedKey(key) && rowsBefore.get(key)?.text !== INITIAL_ROWS[operation.row].text ? undefined : rowsBefore.get(key);
      const teacher = row?.teacher ?? null;
      if (!row || (operation.decision.kind === 'keep' && teacher === null)) {
        assert.equal(result.status, 'refused', 'a row not in the file (or a keep without teacher) is refused');
        assert.deepEqual(changed, []);
        return;
      }
      assert.equal(result.status, 'done', result.status === 'refused' ? result.message : '');
      const labelWritten = operation.decision.kind === 'accept' ? predictions()[operation.row].suggested : operation.decision.kind === 'keep' ? teacher! : operation.decision.label;
      const expected = setFieldInLine(before[row.line - 1], HUMAN, labelWritten);
      if (expected === before[row.line - 1]) {
        assert.deepEqual(changed, []);
      } else {
        assert.deepEqual(changed, [row.line - 1], 'only the decided row\'s line changes');
        assert.equal(document.lines[row.line - 1], expected);
        stack.push({ changes: [{ key, before: before[row.line - 1], after: expected }] });
      }
      return;
    }
    case 'bulk': {
      const rows = session.bulkAcceptRows(operation.min);
      let lines = before;
      if (operation.typeOn !== null) {
        // The user types a human label while the confirmation is open.
        const typedRow = h.rowsOf(before).get(IDS[operation.typeOn]);
        if (typedRow) {
          lines = [...before];
          lines[typedRow.line - 1] = setFieldInLine(lines[typedRow.line - 1], HUMAN, 'Typed');
          h.userEdit(lines);
        }
      }
      const rowsNow = h.rowsOf(lines);
      const result = await session.bulkAccept(rows);
      const changed = changedLines(lines, document.lines);
      const changes: { key: string; before: string; after: string }[] = [];
      for (const i of changed) {
        const key = h.keyOfLine(lines, i + 1);
        const chosen = rows.find((row) => row.key === key);
        assert.ok(chosen, `bulk accept changed line ${i + 1}, a row it did not choose`);
        assert.equal(rowsNow.get(key!)?.human, null, 'bulk accept never overwrites a human label');
        if (isSharedKey(key!)) assert.equal(rowsNow.get(key!)?.text, INITIAL_ROWS[IDS.indexOf(key!)].text, 'a row sharing its id is written only while it reads as first seen');
        assert.equal(document.lines[i], setFieldInLine(lines[i], HUMAN, chosen.suggested));
        changes.push({ key: key!, before: lines[i], after: document.lines[i] });
      }
      assert.equal(result.written, changed.length);
      if (changes.length > 0) stack.push({ changes });
      return;
    }
    case 'undo': {
      const entry = stack.pop();
      const result = await session.undo();
      assert.equal(result.undone, entry !== undefined);
      const changed = changedLines(before, document.lines);
      for (const i of changed) {
        const change = entry?.changes.find((c) => c.key === h.keyOfLine(before, i + 1));
        assert.ok(change, `undo changed line ${i + 1}, which its decision did not write`);
        assert.equal(before[i], change.after, 'undo only restores a line that still reads as the decision left it');
        assert.equal(document.lines[i], change.before);
      }
      return;
    }
    case 'editorUndo':
      h.editorUndo();
      return;
    default:
      break;
  }
  const lines = [...before];
  const at = lineIndex(lines, 'at' in operation ? operation.at : 'from' in operation ? operation.from : 0);
  if (at === null && operation.kind !== 'insert') return;
  const i = at ?? 0;
  switch (operation.kind) {
    case 'insert':
      lines.splice(i, 0, operation.text);
      break;
    case 'delete':
      lines.splice(i, 1);
      break;
    case 'move': {
      const [line] = lines.splice(i, 1);
      lines.splice(lineIndex(lines, operation.to) ?? 0, 0, line);
      break;
    }
    case 'duplicate':
      lines.splice(i, 0, lines[i]);
      break;
    case 'editText':
      lines[i] = lines[i].replace(/"text"(\s*):(\s*)"/, '"text"$1:$2"edited ');
      break;
    case 'changeId':
      lines[i] = lines[i].replace(/"id"(\s*):(\s*)"/, '"id"$1:$2"x');
      break;
    case 'typeHuman':
      try {
        lines[i] = setFieldInLine(lines[i], HUMAN, operation.label);
      } catch {
        return; // Not a JSON object: nothing to type into.
      }
      break;
    case 'respace':
      lines[i] = lines[i].replace(/,/g, ' ,');
      break;
  }
  h.userEdit(lines);
}

test('random hand edits, editor undos, decisions, bulk accepts and undos: every write lands on its own row or is refused', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
      const h = new Harness();
      const stack: { changes: { key: string; before: string; after: string }[] }[] = [];
      for (const operation of ops) {
        await step(h, operation, stack);
        // The session's rows agree with the document after every change (one refresh per change).
        const rows = h.document.rows().byKey;
        for (const row of h.session.rows()) {
          const now = isSharedKey(row.key) && rows.get(row.key)?.text !== INITIAL_ROWS[IDS.indexOf(row.key)].text ? undefined : rows.get(row.key);
          assert.equal(row.line, now?.line ?? null, `row ${row.key}`);
          if (now) assert.equal(row.human, now.human, `row ${row.key}`);
        }
      }
    }),
    { numRuns: 300, seed: 20261206 },
  );
});
