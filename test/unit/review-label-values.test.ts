// A label typed in Label Review ("n", then a new label) that is a label of the set written another way: a run refuses
// a file holding both spellings (NFC/NFD, white space), and trains case variants as two labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelChoices } from '../../src/review/model';
import { newLabelConfirmation, newLabelProblem } from '../../src/review/session';
import { lookAlikeLabel } from '../../src/dataset/labels';

const NFC = 'Café'.normalize('NFC');
const NFD = 'Café'.normalize('NFD');
const SET = [NFC, 'Sci/Tech', 'World'];
const ROW = { teacher: 'World', suggested: NFC };

test('a typed label that only differs from a label of the set by Unicode form or inner white space is refused, naming the label to pick', () => {
  assert.equal(
    newLabelProblem(NFD, SET),
    `'${NFD}' is the label '${NFC}' of the run's label set written with other Unicode characters or white space: pick that label (a run refuses a file that holds both)`,
  );
  assert.equal(newLabelProblem('Sci / Tech', ['Sci / Tech']), undefined, 'a label of the set itself is fine');
  assert.equal(newLabelProblem('Sci  / Tech', ['Sci / Tech'])?.startsWith("'Sci  / Tech' is the label 'Sci / Tech'"), true);
  assert.equal(newLabelProblem('Brand new', SET), undefined);
  assert.equal(newLabelProblem('   ', SET), 'A label cannot be empty');
});

test('the picker names the label of the set that a typed label looks like', () => {
  const typed = labelChoices(SET, ROW, 'world').at(-1)!;
  assert.equal(typed.isNew, true);
  assert.equal(typed.description, "new label: differs from 'World' of the label set only by case (asks first)");
  assert.equal(labelChoices(SET, ROW, NFD).at(-1)!.description, `not usable: '${NFC}' of the label set written another way`);
  assert.equal(labelChoices(SET, ROW, 'Other').at(-1)!.description, 'new label, not in the label set (asks first)');
});

test('lookAlikeLabel: same to a reader, or only by case; a label of the set is no look-alike of itself', () => {
  assert.deepEqual(lookAlikeLabel(SET, NFD), { label: NFC, how: 'same' });
  assert.deepEqual(lookAlikeLabel(SET, ' World\n'), { label: 'World', how: 'same' });
  assert.deepEqual(lookAlikeLabel(SET, 'WORLD'), { label: 'World', how: 'case' });
  assert.equal(lookAlikeLabel(SET, 'World'), undefined);
  assert.equal(lookAlikeLabel(SET, 'Sports'), undefined);
});

test('a label with an invisible character (a zero-width space, a soft hyphen, a BOM pasted with it) is a look-alike too', () => {
  // 'World\u200b' shows as 'World' everywhere; it was a new label of its own, trained as a second class.
  assert.deepEqual(lookAlikeLabel(SET, 'World\u200b'), { label: 'World', how: 'same' });
  assert.deepEqual(lookAlikeLabel(SET, '\ufeffSci/\u00adTech'), { label: 'Sci/Tech', how: 'same' });
  assert.match(newLabelProblem('World\u200b', SET) ?? '', /^'World\\u200b' is the label 'World' of the run's label set/);
});

test('the zero-width joiners are no invisible characters for look-alikes: they change how emoji and scripts are drawn', () => {
  assert.equal(lookAlikeLabel(['👩\u200d💻'], '👩💻'), undefined);
  assert.equal(lookAlikeLabel(['\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645'], '\u0645\u06cc\u062e\u0648\u0627\u0647\u0645'), undefined);
});

test("Label Review's new-label dialog: the label, the run's set listed as the CLI lists it (a label holding a comma quoted), the case note only for a case variant", () => {
  assert.deepEqual(newLabelConfirmation(['Arts, Culture', 'Sports', 'World'], 'Science'), {
    message: "'Science' is not in the label set.",
    // Not "Arts, Culture, Sports, World": four labels to the eye for three.
    detail: `The run's labels are: "Arts, Culture", Sports, World. Write 'Science' as this row's human label anyway?`,
  });
  assert.deepEqual(newLabelConfirmation(SET, 'world'), {
    message: "'world' is not in the label set.",
    detail: `The run's labels are: ${NFC}, Sci/Tech, World. It differs from 'World' only by case: a run trains them as two labels. Write 'world' as this row's human label anyway?`,
  });
});
