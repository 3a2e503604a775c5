import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jumpRevealSpan } from '../../src/review/locate';
import { MAX_PRETTY_ROW_CHARS, prettyJson, prettyRowMarkdown } from '../../src/review/prettyRow';

test('a jump onto a flagged label reveals the row from its start to the label (issue 10 §3.7)', () => {
  const label = { line: 41, start: 612, end: 622 };
  // Problems panel / F8: the selection is the label (or the cursor at its start), set by a command.
  assert.deepEqual(jumpRevealSpan({ line: 41, start: 612, end: 622 }, [label], false), { line: 41, start: 0, end: 622 });
  assert.deepEqual(jumpRevealSpan({ line: 41, start: 612, end: 612 }, [label], false), { line: 41, start: 0, end: 622 });
  // The user's own keyboard or mouse moves are left alone, as are selections off a flagged label.
  assert.equal(jumpRevealSpan({ line: 41, start: 612, end: 612 }, [label], true), undefined);
  assert.equal(jumpRevealSpan({ line: 41, start: 100, end: 100 }, [label], false), undefined);
  assert.equal(jumpRevealSpan({ line: 40, start: 612, end: 612 }, [label], false), undefined);
  assert.equal(jumpRevealSpan({ line: 41, start: 0, end: 0 }, [label], false), undefined);
});

test('the hover pretty-prints the row from its own characters', () => {
  const line = '\ufeff{"id": "r1","text":"a, b: {c} [d] \\"q\\"","n":12345678901234567890,"tags":[ ],"m":{},"x":[1,{"y":true}]}';
  assert.equal(
    prettyJson(line),
    [
      '{',
      '  "id": "r1",',
      '  "text": "a, b: {c} [d] \\"q\\"",',
      '  "n": 12345678901234567890,',
      '  "tags": [],',
      '  "m": {},',
      '  "x": [',
      '    1,',
      '    {',
      '      "y": true',
      '    }',
      '  ]',
      '}',
    ].join('\n'),
  );
  // Re-indenting only moves whitespace: the row's own characters are all there, in order.
  assert.equal(prettyJson(line).replace(/\s/g, ''), line.replace(/[\s\ufeff]/g, ''));
  // A row holding ``` gets a longer fence, and a long row is cut with the count of what is left out.
  assert.match(prettyRowMarkdown('{"text":"``` x ````"}'), /^`````json\n[\s\S]*\n`````$/);
  const long = `{"text":"${'a'.repeat(MAX_PRETTY_ROW_CHARS + 500)}"}`;
  const markdown = prettyRowMarkdown(long);
  assert.ok(markdown.length < MAX_PRETTY_ROW_CHARS + 100);
  assert.match(markdown, /… 516 more characters_$/);
});

test('the hover row of a hostile line: nested 100,000 deep or 10 MB long, it costs one pass and stays within the limit', () => {
  const depth = 100_000;
  const deep = `{"text":"x","teacher_label":"a","deep":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
  const started = performance.now();
  const markdown = prettyRowMarkdown(deep);
  assert.ok(markdown.length < MAX_PRETTY_ROW_CHARS + 200, `${markdown.length} characters`);
  // Each of the 200,000 line breaks indents by its depth: about 2 × 10^10 characters, counted, never built.
  assert.match(markdown, /_… [\d,]{14,} more characters_$/);
  const huge = `{"text":"${'word '.repeat(2_000_000)}","teacher_label":"a"}`;
  const long = prettyRowMarkdown(huge);
  assert.ok(long.length < MAX_PRETTY_ROW_CHARS + 200);
  assert.match(long, /_… 9,996,0\d\d more characters_$/);
  assert.ok(performance.now() - started < 3000, `${Math.round(performance.now() - started)} ms`);
});

test('the hover row shows bidirectional controls as escapes, so they cannot reorder what the user reads', () => {
  const line = '{"text":"harmless \u202e lebal_rehcaet\u202c review","teacher_label":"a\u2066b\u2069"}';
  const markdown = prettyRowMarkdown(line);
  assert.doesNotMatch(markdown, /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/);
  assert.ok(markdown.includes('"harmless \\u202e lebal_rehcaet\\u202c review"'), markdown);
  assert.ok(markdown.includes('"a\\u2066b\\u2069"'), markdown);
});
