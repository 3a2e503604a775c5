/**
 * The one place where the CLI writes to a terminal. Text from the data (labels, ids, file names, error messages that
 * quote them) can hold control characters: ESC sequences that clear the screen or set the window title, carriage
 * returns and newlines that forge or break lines. Every human-readable line goes through `line`, which shows each
 * such character escaped (`\x1b`, `\n`, `\u202e`), so no command can forget it; the lint rule in eslint.config.mjs
 * keeps `.write(` out of src/cli/ except here. Machine-readable output (JSON) goes through `data`, unchanged:
 * JSON.stringify already escapes the C0 controls, and the bytes must stay what the consumer parses.
 */

/** C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides that reorder shown text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/**
 * The UNSAFE characters JSON.stringify leaves raw (it escapes only U+0000–U+001F). In JSON they can only stand inside
 * a string, where `\uXXXX` means the same character, so escaping them changes no parsed value.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every character that could act on a terminal shown as an escape instead. */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const named = NAMED[char];
    if (named) return named;
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** What a terminal sink writes to: process.stdout / process.stderr, or a test's capture. */
export interface TextOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class Terminal {
  constructor(private readonly output: TextOutput) {}

  get isTTY(): boolean {
    return this.output.isTTY === true;
  }

  get columns(): number | undefined {
    return this.output.columns;
  }

  /** One line of text for a person, escaped. */
  line(text: string): void {
    this.output.write(escapeForTerminal(text) + '\n');
  }

  /** Several lines (a table, a help text split on its newlines), each escaped. */
  lines(texts: readonly string[]): void {
    if (texts.length) this.output.write(texts.map(escapeForTerminal).join('\n') + '\n');
  }

  /** Replaces the current line of a terminal with `text` (a progress bar), escaped; no newline. */
  redraw(text: string): void {
    this.output.write(`\r\x1b[2K${escapeForTerminal(text)}`);
  }

  /** Erases the line `redraw` drew. */
  clearLine(): void {
    this.output.write('\r\x1b[2K');
  }

  /** Ends the line `redraw` drew, keeping it. */
  endLine(): void {
    this.output.write('\n');
  }

  /** Machine-readable output (JSON text): the same JSON values, with the characters above that it left raw escaped. */
  data(text: string): void {
    this.output.write(text.replace(UNSAFE_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
  }
}
