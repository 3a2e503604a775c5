import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionForKey, contextsOf, GRID_CELL_TAG, KEY_MAP, keyContextOfTags, keyTableMarkdown, keyTableRows, type KeyContext } from '../../src/webview/client/keymap';
import { confusionCellName } from '../../src/review/model';
import { nextQueue, QUEUE_NAMES, REVIEW_QUEUES, type ReviewQueue } from '../../src/review/model';

/** The key table of README.md: the lines from its `| key | action |` header to the first line that is no table row. */
function readmeKeyTable(): string[] {
  const lines = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim() === '| key | action |');
  assert.ok(start >= 0, 'README.md has a "| key | action |" table');
  const table: string[] = [];
  for (let i = start; i < lines.length && lines[i].trim().startsWith('|'); i++) {
    table.push(lines[i].trim());
  }
  return table;
}

test("README's key table is the key map, row for row", () => {
  assert.deepEqual(readmeKeyTable(), keyTableMarkdown().split('\n'));
});

test('the help overlay shows the same rows as the README, in the same order', () => {
  const readmeRows = readmeKeyTable()
    .slice(2)
    .map((line) => line.split(' | '))
    .map(([keys, description]) => ({ keys: keys.replace(/^\| /, '').replace(/`/g, ''), description: description.replace(/ \|$/, '') }));
  assert.deepEqual(keyTableRows(), readmeRows);
});

test('key dispatch follows the map: every key of a binding triggers its action, and no key is bound twice', () => {
  const seen = new Set<string>();
  for (const binding of KEY_MAP) {
    assert.equal(binding.keys.length > 0 && binding.shown.length > 0, true, binding.action);
    for (const key of binding.keys) {
      for (const when of contextsOf(binding)) {
        assert.equal(actionForKey(key, when), binding.action, `${key} in ${when}`);
        assert.ok(!seen.has(`${when}:${key}`), `${key} is bound twice in ${when}`);
        seen.add(`${when}:${key}`);
      }
    }
  }
  // Keys the map does not name do nothing, and list keys do not fire inside a text field (typing 'a' in the search).
  const contexts: KeyContext[] = ['list', 'textField', 'table'];
  for (const context of contexts) {
    assert.equal(actionForKey('x', context), undefined);
  }
  assert.equal(actionForKey('a', 'textField'), undefined);
  assert.equal(actionForKey('Enter', 'textField'), 'toList');
  assert.equal(actionForKey('Enter', 'list'), 'accept');
  assert.deepEqual(['1', '5', '9'].map((key) => actionForKey(key, 'list')), ['setDigit', 'setDigit', 'setDigit']);
  assert.equal(actionForKey('0', 'list'), undefined);
});

test('q is described as the cycle it dispatches: the queues in nextQueue order, as README and help show it', () => {
  const binding = KEY_MAP.find((candidate) => candidate.action === 'queue')!;
  assert.deepEqual(binding.keys, ['q']);
  let queue: ReviewQueue = REVIEW_QUEUES[0];
  const cycle = [queue];
  for (let i = 0; i < REVIEW_QUEUES.length; i++) cycle.push((queue = nextQueue(queue)));
  assert.deepEqual(cycle, ['flagged', 'doubtful', 'unlabelled', 'flagged']);
  assert.ok(binding.description.startsWith(`next queue: ${cycle.map((name) => QUEUE_NAMES[name]).join(' → ')} `), binding.description);
  const readme = readmeKeyTable().find((line) => line.startsWith('| `q` |'));
  assert.equal(readme, `| \`q\` | ${binding.description} |`);
  assert.deepEqual(keyTableRows().find((row) => row.keys === 'q'), { keys: 'q', description: binding.description });
});

test("Enter or Space on a focused button or link of the panel presses it: Enter on 'Keep' wrote the suggestion (the list's accept key), other keys still act on the list", () => {
  // Where the focus is, from the tags on the key event's path (innermost first), as ui.ts keyContextOf reads it.
  assert.equal(keyContextOfTags(['DIV', 'BODY', 'HTML']), 'list');
  assert.equal(keyContextOfTags(['BUTTON', 'VSCODE-BUTTON', 'DIV', 'SECTION', 'BODY']), 'control');
  assert.equal(keyContextOfTags(['A', 'DIV', 'SECTION']), 'control');
  assert.equal(keyContextOfTags(['SUMMARY', 'DETAILS']), 'control');
  assert.equal(keyContextOfTags(['INPUT', 'VSCODE-TEXT-FIELD', 'LABEL']), 'textField');
  assert.equal(keyContextOfTags(['VSCODE-DROPDOWN', 'LABEL']), 'textField');
  for (const key of ['Enter', ' ']) assert.equal(actionForKey(key, 'control'), undefined, `${JSON.stringify(key)} is the control's`);
  for (const binding of KEY_MAP.filter((candidate) => contextsOf(candidate).includes('list'))) {
    for (const key of binding.keys.filter((candidate) => candidate !== 'Enter')) assert.equal(actionForKey(key, 'control'), binding.action, key);
  }
});

test('a confusion-table cell with the focus: the arrows, Enter / Space and Esc are the table\'s, ? and / still work, and no row key fires (a digit or a key pressed there decided a list row out of sight)', () => {
  // ui.ts keyContextOf names a cell (role gridcell) GRIDCELL on the path; the table sits in the fold (DETAILS), whose
  // SUMMARY is a control: the cell wins.
  assert.equal(keyContextOfTags([GRID_CELL_TAG, 'TR', 'TBODY', 'TABLE', 'DETAILS', 'DIV', 'BODY']), 'table');
  assert.equal(keyContextOfTags(['TD', 'TR', 'TABLE', 'DIV']), 'list', 'a cell of another table (the help overlay) is no grid cell');
  for (const key of ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End']) assert.equal(actionForKey(key, 'table'), 'cellMove', key);
  for (const key of ['Enter', ' ']) assert.equal(actionForKey(key, 'table'), 'cellFilter', JSON.stringify(key));
  assert.equal(actionForKey('Escape', 'table'), 'toList');
  assert.equal(actionForKey('?', 'table'), 'help');
  assert.equal(actionForKey('/', 'table'), 'search');
  const rowKeys = KEY_MAP.filter((binding) => contextsOf(binding).includes('list') && !contextsOf(binding).includes('table')).flatMap((binding) => binding.keys);
  assert.ok(rowKeys.includes('a') && rowKeys.includes('1') && rowKeys.includes('u') && rowKeys.includes('s'));
  for (const key of rowKeys) {
    const action = actionForKey(key, 'table');
    assert.ok(action === undefined || action === 'cellMove' || action === 'cellFilter' || action === 'toList', `${key} does ${action} in the table`);
  }
  // The help overlay and README say it, from the same map.
  assert.ok(keyTableRows().some((row) => row.keys === '← / → / ↑ / ↓ / Home / End' && row.description.includes('no row key decides')));
  assert.ok(keyTableRows().some((row) => row.keys === 'Enter / Space' && row.description.startsWith('in the confusion table')));
});

test('a confusion-table cell is named for a screen reader: teacher, suggestion, rows, and whether the list is filtered on it', () => {
  assert.equal(confusionCellName('Business', 'Sports', 12, false), 'Teacher Business, suggested Sports: 12 rows');
  assert.equal(confusionCellName('Business', 'Sports', 1, true), 'Teacher Business, suggested Sports: 1 row (the list shows these; Enter shows all rows)');
  assert.equal(confusionCellName(null, 'World', 1234, false), 'No teacher label, suggested World: 1,234 rows');
  // A label written '∅' is a label, not the rows without one.
  assert.equal(confusionCellName('∅', 'World', 2, false), 'Teacher ∅, suggested World: 2 rows');
});
