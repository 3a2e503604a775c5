import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeMarkdown, explanationMarkdown } from '../../src/review/explanation';
import { parseWebviewMessage } from '../../src/review/protocol';
import type { RowExplanation } from '../../src/training/types';
import { parseExplanations } from '../../src/training/artifacts';

const EXPLANATION: RowExplanation = {
  row: 4,
  id: 'ag-7',
  towards: 'Sci/Tech',
  away: 'Business',
  logit_difference: 3.2,
  bias: -0.15,
  dense: 0.4,
  words: [
    ['gpu', 1.91],
    ['chip', 0.83],
  ],
  other_words: 0.21,
  similar: [
    { id: 'ag-[1]', line: 12, label: 'Sci/Tech', similarity: 0.61 },
    { id: 'ag-2', line: 40, label: 'Business', similarity: 0.33 },
  ],
};

test('the hover says which words push towards the suggestion, by how much, and the similar human-labelled rows', () => {
  const markdown = explanationMarkdown(EXPLANATION);
  assert.match(markdown, /scores 'Sci\/Tech' over 'Business' by \+3\.20 \(logit\)/);
  assert.match(markdown, /Words for 'Sci\/Tech': `gpu` \+1\.91 · `chip` \+0\.83/);
  assert.match(markdown, /\(other words \+0\.21, bias −0\.15, word vectors \+0\.40\)/);
  // Ids and labels are user data: markdown characters are escaped.
  assert.match(markdown, /line 12 \(ag\\-\\\[1\\\]\): 'Sci\/Tech', similarity 0\.61 · line 40 \(ag\\-2\): 'Business', similarity 0\.33/);
  const bare = explanationMarkdown({ ...EXPLANATION, words: [], dense: 0, similar: [] });
  assert.match(bare, /No word of the row pushes towards 'Sci\/Tech'\./);
  assert.doesNotMatch(bare, /word vectors/);
  assert.match(bare, /No row with a human label shares a word with this one\./);
});

test('the panel can ask why a row is flagged', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'explain', requestId: 3, rowId: 'ag-7' }), { type: 'explain', requestId: 3, rowId: 'ag-7' });
  assert.equal(parseWebviewMessage({ type: 'explain', rowId: 'ag-7' }), undefined, 'a request without its id gets no reply, so it is refused');
  assert.equal(parseWebviewMessage({ type: 'explain', requestId: 3, rowId: 7 }), undefined);
  assert.equal(parseWebviewMessage({ type: 'explain' }), undefined);
});

test('a hostile explanations.jsonl cannot inject markdown into the hover: words stay code, labels and ids stay text', () => {
  const link = '[click](https://evil.example/?q=1) ![](https://evil.example/pixel.png)';
  const markdown = explanationMarkdown({
    ...EXPLANATION,
    towards: 'Sci\n===',
    words: [
      [`x\` ${link} \`y`, 1.5],
      ['``', 0.5],
      ['two\n\nparagraphs', 0.2],
    ],
    similar: [{ id: 'id\n\n# heading', line: 3, label: link, similarity: 0.5 }],
  });
  // The word with single backticks sits in a double-backtick span, the one made of backticks in a padded triple one.
  assert.ok(markdown.includes(`\`\`x\` ${link} \`y\`\` +1.50`), markdown);
  assert.ok(markdown.includes('``` `` ``` +0.50'), markdown);
  assert.ok(markdown.includes('`two  paragraphs` +0.20'), markdown);
  // Outside the code spans, no link, image, heading or line break the data brought.
  const outside = markdown.replace(/(`+)[^`]*?(?:`(?!\1)[^`]*?)*\1/g, '');
  assert.doesNotMatch(outside.replace(/\\[[\]()!]/g, ''), /\]\(|!\[/);
  assert.doesNotMatch(markdown, /^#|^===/m);
  assert.match(markdown, /scores 'Sci \\=\\=\\=' over/);
});

test('a hostile explanations.jsonl cannot make the hover huge: more words or similar rows than the engine writes are refused (file:line), long strings are cut', () => {
  const line = (extra: Partial<RowExplanation>) => JSON.stringify({ ...EXPLANATION, row: 0, ...extra });
  const manyWords = Array.from({ length: 9 }, (_, i): [string, number] => [`w${i}`, 1]);
  assert.throws(() => parseExplanations(`${line({})}\n${line({ words: manyWords })}\n`, 'run/explanations.jsonl', 1), /^RunArtefactError: run\/explanations\.jsonl:2: 'words' must hold at most 8 entries$/);
  const manySimilar = Array.from({ length: 100_000 }, (_, i) => ({ id: `r${i}`, line: i, label: 'x', similarity: 0.1 }));
  assert.throws(() => parseExplanations(line({ similar: manySimilar }), 'run/explanations.jsonl', 1), /explanations\.jsonl:1: 'similar' must hold at most 3 entries/);
  const huge = 'y'.repeat(1_000_000);
  const markdown = explanationMarkdown({ ...EXPLANATION, towards: huge, words: [[huge, 1]], similar: [{ id: huge, line: 1, label: huge, similarity: 0.5 }, ...manySimilar] });
  assert.ok(markdown.length < 2000, `${markdown.length} characters`);
  assert.ok(markdown.includes(`\`${'y'.repeat(80)}…\``));
  // A cut never leaves half a surrogate pair (shown as �): an emoji across the 80th unit goes whole or not at all.
  const emoji = 'y'.repeat(79) + '😀'.repeat(5);
  const cut = explanationMarkdown({ ...EXPLANATION, words: [[emoji, 1]] });
  assert.ok(cut.includes(`\`${'y'.repeat(79)}…\``), cut);
  assert.doesNotMatch(cut, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, 'no lone surrogate');
});

test('labels, ids and words in the hover show bidirectional controls as escapes', () => {
  const markdown = explanationMarkdown({ ...EXPLANATION, towards: 'Sci\u202eceT', words: [['gp\u2066u', 1]], similar: [{ id: 'a\u200fb', line: 1, label: 'x\u202dy', similarity: 0.5 }] });
  assert.doesNotMatch(markdown, /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/);
  assert.ok(markdown.includes("'Sci\\u202eceT'") && markdown.includes('`gp\\u2066u`') && markdown.includes('a\\u200fb') && markdown.includes("'x\\u202dy'"), markdown);
});

test("the words for the teacher's label (against) are held like the others: code spans nothing closes, cut, escaped, at most 8", () => {
  const link = '[click](https://evil.example/?q=1) ![](https://evil.example/pixel.png)';
  const markdown = explanationMarkdown({ ...EXPLANATION, against: [[`x\` ${link} \`y`, -1.5], ['two\n\n# heading', -0.4], ['gp\u2066u', -0.2]] });
  assert.ok(markdown.includes(`Words for 'Business': \`\`x\` ${link} \`y\`\` −1.50 · \`two  # heading\` −0.40 · \`gp\\u2066u\` −0.20`), markdown);
  const outside = markdown.replace(/(`+)[^`]*?(?:`(?!\1)[^`]*?)*\1/g, '');
  assert.doesNotMatch(outside.replace(/\\[[\]()!]/g, ''), /\]\(|!\[/);
  assert.doesNotMatch(markdown, /^#/m);
  assert.doesNotMatch(markdown, /[\u202a-\u202e\u2066-\u2069]/);

  const huge = 'y'.repeat(1_000_000);
  const many = Array.from({ length: 100_000 }, (_, i): [string, number] => [`${huge}${i}`, -1]);
  const long = explanationMarkdown({ ...EXPLANATION, against: many });
  assert.ok(long.length < 2000, `${long.length} characters`);
  assert.ok(long.includes(`\`${'y'.repeat(80)}…\` −1.00`));

  const line = (extra: Partial<RowExplanation>) => JSON.stringify({ ...EXPLANATION, row: 0, ...extra });
  const nine = Array.from({ length: 9 }, (_, i): [string, number] => [`w${i}`, -1]);
  assert.throws(() => parseExplanations(line({ against: nine }), 'run/explanations.jsonl', 1), /^RunArtefactError: run\/explanations\.jsonl:1: 'against' must hold at most 8 entries$/);
  assert.equal(parseExplanations(line({ against: nine.slice(0, 8) }), 'run/explanations.jsonl', 1).size, 1);
});

test("a hostile explanations.jsonl cannot inject markdown through the words against the suggestion ('against') either", () => {
  const link = '[x](command:workbench.action.terminal.new) ![](https://e.example/p.png)';
  const markdown = explanationMarkdown({ ...EXPLANATION, against: [[`x\` ${link} \`y`, -1.5], ['z'.repeat(1000), -0.5]] });
  assert.ok(markdown.includes(`Words for 'Business': \`\`x\` ${link} \`y\`\` −1.50 · \`${'z'.repeat(80)}…\` −0.50`), markdown);
  const outside = markdown.replace(/(`+)[^`]*?(?:`(?!\1)[^`]*?)*\1/g, '');
  assert.doesNotMatch(outside.replace(/\\[[\]()!]/g, ''), /\]\(|!\[/);
  const many = Array.from({ length: 9 }, (_, i): [string, number] => [`w${i}`, -1]);
  assert.throws(() => parseExplanations(JSON.stringify({ ...EXPLANATION, row: 0, against: many }), 'run/explanations.jsonl', 1), /explanations\.jsonl:1: 'against' must hold at most 8 entries/);
});

test('a label or id of invisible characters only shows in the hover as their escapes, not as an empty cell', () => {
  assert.equal(escapeMarkdown('\u200b'), '\\u200b');
  const markdown = explanationMarkdown({ ...EXPLANATION, towards: '\u200b\u200b', similar: [{ id: '\ufeff', line: 3, label: 'Sci/Tech', similarity: 0.5 }] });
  assert.ok(markdown.includes("scores '\\u200b\\u200b' over 'Business'") && markdown.includes('line 3 (\\ufeff)'), markdown);
});
