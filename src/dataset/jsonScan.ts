/**
 * A small JSON scanner that keeps source positions, for the two jobs JSON.parse cannot do:
 * saying exactly where a line stops being valid JSON, and finding the bytes of one field's value so that an edit
 * replaces only those bytes. Offsets are UTF-16 code units into the scanned string (what VS Code calls characters).
 * JSON.parse stays the fast path; this runs only for invalid lines, problem ranges and edits.
 */

export class JsonScanError extends Error {
  constructor(
    message: string,
    /** Offset of the first character that makes the text invalid (the text's length when it ends too early). */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JsonScanError';
  }
}

export interface ScannedMember {
  key: string;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
  /** Set when the value is itself an object, so dotted paths can walk into it. */
  object?: ScannedObject;
}

export interface ScannedObject {
  /** Offset of `{`. */
  start: number;
  /** Offset of the closing `}`. */
  closeBrace: number;
  /** Members in source order; a repeated key appears twice (the last one is the one JSON.parse keeps). */
  members: ScannedMember[];
}

export type JsonValueKind = 'object' | 'array' | 'string' | 'number' | 'literal';

interface ScannedValue {
  kind: JsonValueKind;
  start: number;
  end: number;
  object?: ScannedObject;
}

/**
 * The deepest nesting of objects and arrays PeerKD reads in one line. A deeper line is reported (file and line)
 * and left out where the data comes in, so nothing that walks a row (JSON.stringify, this scanner) can exhaust the
 * stack. Real rows are a few levels deep.
 */
export const MAX_JSON_DEPTH = 1000;

/** The message for a line nested deeper than MAX_JSON_DEPTH. */
export const TOO_DEEP_MESSAGE = `Nesting is deeper than ${MAX_JSON_DEPTH} levels of objects and arrays, the most PeerKD reads`;

/**
 * Where `text` first nests deeper than MAX_JSON_DEPTH (brackets inside strings do not count), or -1. No recursion;
 * a text shorter than 2 × MAX_JSON_DEPTH characters cannot be that deep and is not scanned.
 */
export function tooDeepOffset(text: string): number {
  if (text.length <= 2 * MAX_JSON_DEPTH) return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return i;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/**
 * Data shown in a message with its control characters (C0, DEL, C1, line and paragraph separators, bidirectional
 * overrides) and the characters that show as nothing (zero-width space, soft hyphen, BOM: INVISIBLE_CHARACTERS) escaped as \uXXXX, so a NUL or an escape sequence from a file never reaches a terminal or a log raw.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

class Scanner {
  pos = 0;

  /** `bytes`: the text is bytes, one per character (latin1), so keys are decoded as UTF-8 before comparing. */
  constructor(
    private readonly text: string,
    private readonly bytes = false,
  ) {}

  fail(message: string, offset = this.pos): never {
    throw new JsonScanError(message, offset);
  }

  describeHere(): string {
    if (this.pos >= this.text.length) return 'end of line';
    return `character '${printable(this.text[this.pos])}'`;
  }

  skipWhitespace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) this.pos++;
      else break;
    }
  }

  value(depth: number): ScannedValue {
    this.skipWhitespace();
    const start = this.pos;
    const char = this.text[this.pos];
    switch (char) {
      case '{': {
        if (depth >= MAX_JSON_DEPTH) this.fail(TOO_DEEP_MESSAGE);
        const object = this.object(depth);
        return { kind: 'object', start, end: this.pos, object };
      }
      case '[':
        if (depth >= MAX_JSON_DEPTH) this.fail(TOO_DEEP_MESSAGE);
        this.array(depth);
        return { kind: 'array', start, end: this.pos };
      case '"':
        this.string();
        return { kind: 'string', start, end: this.pos };
      case 't':
        return this.literal('true', start);
      case 'f':
        return this.literal('false', start);
      case 'n':
        return this.literal('null', start);
      default:
        if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
          this.number();
          return { kind: 'number', start, end: this.pos };
        }
        return this.fail(`Expected a JSON value but found ${this.describeHere()}`);
    }
  }

  literal(word: string, start: number): ScannedValue {
    for (let i = 0; i < word.length; i++) {
      if (this.text[start + i] !== word[i]) this.fail(`Unexpected ${this.describeAt(start + i)} in '${word}'`, start + i);
    }
    this.pos = start + word.length;
    return { kind: 'literal', start, end: this.pos };
  }

  describeAt(offset: number): string {
    return offset >= this.text.length ? 'end of line' : `character '${printable(this.text[offset])}'`;
  }

  number(): void {
    const text = this.text;
    const digits = (): number => {
      const from = this.pos;
      while (this.pos < text.length && text[this.pos] >= '0' && text[this.pos] <= '9') this.pos++;
      return this.pos - from;
    };
    if (text[this.pos] === '-') this.pos++;
    if (text[this.pos] === '0') {
      this.pos++;
    } else if (digits() === 0) {
      this.fail(`Expected a digit but found ${this.describeHere()}`);
    }
    if (text[this.pos] === '.') {
      this.pos++;
      if (digits() === 0) this.fail(`Expected a digit after the decimal point but found ${this.describeHere()}`);
    }
    if (text[this.pos] === 'e' || text[this.pos] === 'E') {
      this.pos++;
      if (text[this.pos] === '+' || text[this.pos] === '-') this.pos++;
      if (digits() === 0) this.fail(`Expected a digit in the exponent but found ${this.describeHere()}`);
    }
  }

  string(): void {
    const text = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    for (;;) {
      if (this.pos >= text.length) this.fail('Unterminated string', start);
      const code = text.charCodeAt(this.pos);
      if (code === 0x22) {
        this.pos++;
        return;
      }
      if (code === 0x5c) {
        const escape = text[this.pos + 1];
        if (escape === 'u') {
          for (let i = 2; i < 6; i++) {
            if (!/[0-9a-fA-F]/.test(text[this.pos + i] ?? '')) this.fail('Invalid \\u escape: expected 4 hex digits', this.pos);
          }
          this.pos += 6;
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
          this.pos += 2;
        } else {
          this.fail(`Invalid escape '\\${escape ?? ''}' in string`, this.pos);
        }
        continue;
      }
      if (code < 0x20) this.fail('Control character in string (it must be escaped)');
      this.pos++;
    }
  }

  object(depth: number): ScannedObject {
    const start = this.pos;
    this.pos++; // {
    const members: ScannedMember[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { start, closeBrace: this.pos - 1, members };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail(`Expected a property name in double quotes but found ${this.describeHere()}`);
      const keyStart = this.pos;
      this.string();
      const keyEnd = this.pos;
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail(`Expected ':' after a property name but found ${this.describeHere()}`);
      this.pos++;
      const value = this.value(depth + 1);
      members.push({
        key: this.key(keyStart, keyEnd),
        keyStart,
        keyEnd,
        valueStart: value.start,
        valueEnd: value.end,
        object: value.object,
      });
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next === ',') {
        this.pos++;
        continue;
      }
      if (next === '}') {
        this.pos++;
        return { start, closeBrace: this.pos - 1, members };
      }
      this.fail(`Expected ',' or '}' after a property value but found ${this.describeHere()}`);
    }
  }

  key(start: number, end: number): string {
    const raw = this.text.slice(start, end);
    return JSON.parse(this.bytes ? Buffer.from(raw, 'latin1').toString('utf8') : raw) as string;
  }

  array(depth: number): void {
    this.pos++; // [
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next === ',') {
        this.pos++;
        continue;
      }
      if (next === ']') {
        this.pos++;
        return;
      }
      this.fail(`Expected ',' or ']' after an array element but found ${this.describeHere()}`);
    }
  }

  document(): ScannedValue {
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail(`Unexpected ${this.describeHere()} after the end of the JSON value`);
    return value;
  }
}

/** Scans a whole JSON text; throws JsonScanError at the first character that makes it invalid. */
export function scanJson(text: string, bytes = false): { kind: JsonValueKind; start: number; end: number; object?: ScannedObject } {
  return new Scanner(text, bytes).document();
}

/** Where `text` stops being valid JSON, or null when it is valid. */
export function findJsonSyntaxError(text: string): JsonScanError | null {
  try {
    scanJson(text);
    return null;
  } catch (error) {
    if (error instanceof JsonScanError) return error;
    if (error instanceof RangeError) return new JsonScanError(TOO_DEEP_MESSAGE, 0);
    throw error;
  }
}

export type PathLocation =
  | { found: true; member: ScannedMember }
  | {
      found: false;
      /** The deepest object on the path that exists, and the path segments still missing below it. */
      parent: ScannedObject;
      missing: string[];
    };

/**
 * Finds the member a dotted path names. A repeated key resolves to its last occurrence, as JSON.parse does.
 * Throws when a segment on the way exists but is not an object (nothing can be created inside it).
 */
export function locatePath(root: ScannedObject, path: readonly string[]): PathLocation {
  let object = root;
  for (let i = 0; i < path.length; i++) {
    const member = lastMember(object, path[i]);
    if (member === undefined) return { found: false, parent: object, missing: path.slice(i) };
    if (i === path.length - 1) return { found: true, member };
    if (member.object === undefined) {
      throw new Error(`'${path.slice(0, i + 1).join('.')}' is not an object, so '${path.join('.')}' cannot be set inside it`);
    }
    object = member.object;
  }
  throw new Error('An empty field path names no field');
}

function lastMember(object: ScannedObject, key: string): ScannedMember | undefined {
  for (let i = object.members.length - 1; i >= 0; i--) {
    if (object.members[i].key === key) return object.members[i];
  }
  return undefined;
}
