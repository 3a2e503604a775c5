/**
 * A JSONL row pretty-printed for a hover, from its own characters: numbers, escapes and key order stay exactly as
 * written (a JSON.parse round trip would round big numbers and drop repeated keys). Plain TypeScript.
 */

/** The first `max` UTF-16 units of a text, one fewer where the cut would split a surrogate pair (no lone half, shown as �). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Characters that change the display order of the text around them (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM). */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

/** The text with its bidirectional controls written as JSON escapes (`\u202e`), so they cannot reorder what is shown. */
export function showBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Data as text for the user: bidirectional controls as escapes (showBidiControls), and a text with no visible
 * character at all (a label of zero-width spaces, which a button would show empty) as the escapes of every character.
 */
export function showInvisible(text: string): string {
  if (text !== '' && /^[\p{White_Space}\p{Cf}]+$/u.test(text)) {
    return [...text]
      .map((char) => {
        const code = char.codePointAt(0)!;
        return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
      })
      .join('');
  }
  return showBidiControls(text);
}

/** A hover shows at most this much of a row; the rest is counted. */
export const MAX_PRETTY_ROW_CHARS = 4000;

/** Re-indents one JSON value (two spaces); text that is not JSON comes back re-indented as far as it goes. */
export function prettyJson(text: string): string {
  return prettyJsonUpTo(text, Infinity).text;
}

/**
 * prettyJson's first `limit` characters and the length of the whole: past the limit the rest is only counted, so a
 * 10 MB row or one nested 100,000 deep (whose indentation alone would be billions of characters) costs one pass over
 * the row, not the whole re-indented text.
 */
export function prettyJsonUpTo(text: string, limit: number): { text: string; length: number } {
  let out = '';
  let length = 0;
  let depth = 0;
  const emit = (piece: string): void => {
    length += piece.length;
    if (out.length < limit) out += piece;
  };
  const newline = (): void => {
    if (out.length < limit) out += `\n${'  '.repeat(Math.min(depth, limit))}`;
    length += 1 + 2 * depth;
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        j += text[j] === '\\' ? 2 : 1;
      }
      emit(text.slice(i, j + 1));
      i = j;
      continue;
    }
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\ufeff') {
      continue;
    }
    if (char === '{' || char === '[') {
      let k = i + 1;
      while (k < text.length && /\s/.test(text[k])) k++;
      if (text[k] === (char === '{' ? '}' : ']')) {
        emit(char + text[k]);
        i = k;
        continue;
      }
      depth++;
      emit(char);
      newline();
    } else if (char === '}' || char === ']') {
      depth = Math.max(0, depth - 1);
      newline();
      emit(char);
    } else if (char === ',') {
      emit(',');
      newline();
    } else if (char === ':') {
      emit(': ');
    } else {
      emit(char);
    }
  }
  return { text: out.length > limit ? out.slice(0, limit) : out, length };
}

/** Markdown: the row pretty-printed in a json code block whose fence no backtick run in the row can close. */
export function prettyRowMarkdown(lineText: string, maxChars = MAX_PRETTY_ROW_CHARS): string {
  const { text, length } = prettyJsonUpTo(lineText, maxChars);
  // Bidirectional controls (Trojan Source) would reorder what the hover shows, e.g. put a label where the text seems
  // to be: shown as their JSON escapes, which stand for the same string.
  const pretty = showBidiControls(text);
  const note = length > maxChars ? `\n\n_… ${(length - maxChars).toLocaleString('en-US')} more characters_` : '';
  const longestRun = Math.max(0, ...(pretty.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}json\n${pretty}\n${fence}${note}`;
}
