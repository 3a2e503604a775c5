import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionForKey, KEY_MAP, keyContextOfTags, keyTableMarkdown, keyTableRows, type KeyContext } from '../../src/webview/client/keymap';
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
      assert.equal(actionForKey(key, binding.when), binding.action, `${key} in ${binding.when}`);
      assert.ok(!seen.has(`${binding.when}:${key}`), `${key} is bound twice in ${binding.when}`);
      seen.add(`${binding.when}:${key}`);
    }
  }
  // Keys the map does not name do nothing, and list keys do not fire inside a text field (typing 'a' in the search).
  const contexts: KeyContext[] = ['list', 'textField'];
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
  for (const binding of KEY_MAP.filter((candidate) => candidate.when === 'list')) {
    for (const key of binding.keys.filter((candidate) => candidate !== 'Enter')) assert.equal(actionForKey(key, 'control'), binding.action, key);
  }
});
