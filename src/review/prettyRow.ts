/**
 * A JSONL row pretty-printed for a hover, from its own characters: numbers, escapes and key order stay exactly as
 * written (a JSON.parse round trip would round big numbers and drop repeated keys). Plain TypeScript.
 */

/** A hover shows at most this much of a row; the rest is counted. */
export const MAX_PRETTY_ROW_CHARS = 4000;

/** Re-indents one JSON value (two spaces); text that is not JSON comes back re-indented as far as it goes. */
export function prettyJson(text: string): string {
  let out = '';
  let depth = 0;
  const newline = (): string => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        j += text[j] === '\\' ? 2 : 1;
      }
      out += text.slice(i, j + 1);
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
        out += char + text[k];
        i = k;
        continue;
      }
      depth++;
      out += char + newline();
    } else if (char === '}' || char === ']') {
      depth = Math.max(0, depth - 1);
      out += newline() + char;
    } else if (char === ',') {
      out += ',' + newline();
    } else if (char === ':') {
      out += ': ';
    } else {
      out += char;
    }
  }
  return out;
}

/** Markdown: the row pretty-printed in a json code block whose fence no backtick run in the row can close. */
export function prettyRowMarkdown(lineText: string, maxChars = MAX_PRETTY_ROW_CHARS): string {
  let pretty = prettyJson(lineText);
  let note = '';
  if (pretty.length > maxChars) {
    note = `\n\n_… ${(pretty.length - maxChars).toLocaleString('en-US')} more characters_`;
    pretty = pretty.slice(0, maxChars);
  }
  const longestRun = Math.max(0, ...(pretty.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}json\n${pretty}\n${fence}${note}`;
}
