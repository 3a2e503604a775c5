/**
 * The Label Review keys: ONE table that drives the webview's key dispatch (keys.ts), its help overlay (render.ts)
 * and the key table in README.md (test/unit/review-keymap.test.ts checks that the README says exactly this). Plain
 * TypeScript without the DOM, so the unit tests read it too.
 */
import { QUEUE_NAMES, REVIEW_QUEUES } from '../../review/model';

export type KeyAction =
  | 'next'
  | 'previous'
  | 'pageDown'
  | 'pageUp'
  | 'first'
  | 'last'
  | 'accept'
  | 'keep'
  | 'setDigit'
  | 'newLabel'
  | 'skip'
  | 'open'
  | 'undo'
  | 'expand'
  | 'probabilities'
  | 'search'
  | 'queue'
  | 'rerank'
  | 'back'
  | 'help'
  | 'toList'
  | 'cellMove'
  | 'cellFilter';

/**
 * Where a key works: in the list (focus anywhere but a text field), or inside a filter's text field. `control`: the
 * focus is on a button or link of the panel (reached with Tab): Enter and Space press it, as everywhere else; the other
 * keys act on the list as they do there. Enter, the list's accept key, had accepted the selected row's suggestion
 * whatever the button said ('Keep', 'Skip', 'Undo'). `table`: the focus is on a cell of the confusion table (one Tab stop,
 * roving tabindex): the arrows move between its cells, Enter and Space filter on the cell, and the row keys (digits,
 * a, t, s, u …) do nothing, since they would act on a list row the user is not looking at.
 */
export type KeyContext = 'list' | 'textField' | 'control' | 'table';

/** Elements whose keys are their own: typing in them (textField), or Enter and Space pressing them (control). */
const TEXT_FIELD_TAGS = new Set(['VSCODE-TEXT-FIELD', 'VSCODE-TEXT-AREA', 'INPUT', 'TEXTAREA', 'VSCODE-DROPDOWN', 'SELECT']);
const CONTROL_TAGS = new Set(['VSCODE-BUTTON', 'BUTTON', 'A', 'SUMMARY']);
const CONTROL_KEYS = new Set(['Enter', ' ']);
/** How ui.ts keyContextOf names a cell of the confusion table (role gridcell) on a key event's path. */
export const GRID_CELL_TAG = 'GRIDCELL';

/** The context of a key event from the tag names on its path (composedPath, innermost first; ui.ts keyContextOf). */
export function keyContextOfTags(tags: readonly string[]): KeyContext {
  if (tags.some((tag) => TEXT_FIELD_TAGS.has(tag))) return 'textField';
  if (tags.includes(GRID_CELL_TAG)) return 'table';
  if (tags.some((tag) => CONTROL_TAGS.has(tag))) return 'control';
  return 'list';
}

export interface KeyBinding {
  /** KeyboardEvent.key values that trigger the action (no Ctrl, Alt or Meta). */
  keys: readonly string[];
  /** How the keys are written for the user, one entry per key or key range. */
  shown: readonly string[];
  action: KeyAction;
  description: string;
  /** Where the keys work: one context, or several (help and search work in the list and the table). */
  when: KeyContext | readonly KeyContext[];
}

/** The contexts a binding works in. */
export function contextsOf(binding: KeyBinding): readonly KeyContext[] {
  return typeof binding.when === 'string' ? [binding.when] : binding.when;
}

const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

export const KEY_MAP: readonly KeyBinding[] = [
  { keys: ['ArrowDown', 'j'], shown: ['↓', 'j'], action: 'next', description: 'next row', when: 'list' },
  { keys: ['ArrowUp', 'k'], shown: ['↑', 'k'], action: 'previous', description: 'previous row', when: 'list' },
  { keys: ['PageDown'], shown: ['PgDn'], action: 'pageDown', description: 'a page down', when: 'list' },
  { keys: ['PageUp'], shown: ['PgUp'], action: 'pageUp', description: 'a page up', when: 'list' },
  { keys: ['Home'], shown: ['Home'], action: 'first', description: 'first row', when: 'list' },
  { keys: ['End'], shown: ['End'], action: 'last', description: 'last row', when: 'list' },
  { keys: ['Enter', 'a'], shown: ['Enter', 'a'], action: 'accept', description: 'accept the suggested label (Enter on a button or link reached with Tab presses that instead)', when: 'list' },
  { keys: ['t'], shown: ['t'], action: 'keep', description: "keep the teacher's label", when: 'list' },
  {
    keys: DIGITS,
    shown: ['1–9'],
    action: 'setDigit',
    description:
      "set the n-th label of the run's label set; where labels are written as digits (0/1, ratings 1–10), the label of that digit, the other labels taking the keys left in order (the digit of the suggested or teacher's label counts as accepting or keeping it, and the panel says so)",
    when: 'list',
  },
  { keys: ['n'], shown: ['n'], action: 'newLabel', description: 'pick any label of the set (type to filter; opens on the suggestion) or type a new one (confirmed first)', when: 'list' },
  { keys: ['s'], shown: ['s'], action: 'skip', description: 'skip (writes nothing)', when: 'list' },
  { keys: ['o'], shown: ['o'], action: 'open', description: "open the row's line in the editor (in the dataset's group)", when: 'list' },
  {
    keys: ['u'],
    shown: ['u'],
    action: 'undo',
    description: "undo the last decision on the dataset, the panel's or a quick fix's (restores the line exactly; refuses if you edited it since)",
    when: 'list',
  },
  { keys: ['e'], shown: ['e'], action: 'expand', description: 'expand / clip the text', when: 'list' },
  { keys: ['p'], shown: ['p'], action: 'probabilities', description: "show / hide every label's probability", when: 'list' },
  { keys: ['/'], shown: ['/'], action: 'search', description: 'focus the text search (also #123 for line 123, or an id)', when: ['list', 'table'] },
  {
    keys: ['q'],
    shown: ['q'],
    action: 'queue',
    description: `next queue: ${[...REVIEW_QUEUES, REVIEW_QUEUES[0]].map((queue) => QUEUE_NAMES[queue]).join(' → ')} (doubtful: the rows the run ranks first among those it did not flag; no bulk accept there)`,
    when: 'list',
  },
  {
    keys: ['r'],
    shown: ['r'],
    action: 'rerank',
    description: "re-rank the queue with your decisions so far (also after every 25; only the order changes, the probabilities stay the run's)",
    when: 'list',
  },
  { keys: ['Escape'], shown: ['Esc'], action: 'back', description: 'close the help overlay', when: 'list' },
  { keys: ['?'], shown: ['?'], action: 'help', description: 'show / hide the help overlay (these keys)', when: ['list', 'table'] },
  {
    keys: ['Enter', 'Escape'],
    shown: ['Enter', 'Esc'],
    action: 'toList',
    description: 'in a filter field: back to the list (Enter never decides; a search still being typed is sent)',
    when: 'textField',
  },
  {
    keys: ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'],
    shown: ['←', '→', '↑', '↓', 'Home', 'End'],
    action: 'cellMove',
    description:
      'in the confusion table (one Tab stop, after the line that folds it): move between its cells (Home / End: first / last of the row); only these keys, ?, / and Esc act there, no row key decides',
    when: 'table',
  },
  {
    keys: ['Enter', ' '],
    shown: ['Enter', 'Space'],
    action: 'cellFilter',
    description: "in the confusion table: show the rows of the cell's teacher label and suggestion (on the cell filtered: all rows again)",
    when: 'table',
  },
  { keys: ['Escape'], shown: ['Esc'], action: 'toList', description: 'in the confusion table: back to the list', when: 'table' },
];

/** The action of a key pressed in a context, or undefined when the key does nothing there. */
export function actionForKey(key: string, when: KeyContext): KeyAction | undefined {
  if (when === 'control') {
    if (CONTROL_KEYS.has(key)) return undefined;
    when = 'list';
  }
  return KEY_MAP.find((binding) => contextsOf(binding).includes(when) && binding.keys.includes(key))?.action;
}

/** The help overlay's and the README's rows: the keys as shown, and what they do. */
export function keyTableRows(): { keys: string; description: string }[] {
  return KEY_MAP.map((binding) => ({ keys: binding.shown.join(' / '), description: binding.description }));
}

/** The README's key table, as Markdown (a cell's keys in backticks). */
export function keyTableMarkdown(): string {
  return [
    '| key | action |',
    '| --- | --- |',
    ...KEY_MAP.map((binding) => `| ${binding.shown.map((key) => `\`${key}\``).join(' / ')} | ${binding.description} |`),
  ].join('\n');
}
