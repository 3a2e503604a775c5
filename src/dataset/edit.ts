import { promises as fsp } from 'node:fs';
import { compileFields, identityOf, isPlainObject, splitFieldPath } from './fields';
import { fileError, writeFileAtomic } from './files';
import { JsonScanError, locatePath, printable, scanJson, tooDeepOffset, TOO_DEEP_MESSAGE, type ScannedObject } from './jsonScan';
import { forEachLine } from './lines';
import type { FieldMapping } from './types';

export { writeFileAtomic } from './files';

/**
 * Sets one field of one JSONL line, changing only the characters of that field's value. When the field is absent
 * it is inserted as the object's last member (creating nested objects for a dotted path), in the separator style
 * the line already uses. Key order, unknown fields, spacing and a trailing CR stay as they were.
 * Throws when the line is not a JSON object or a segment of the path is not an object.
 */
export function setFieldInLine(lineText: string, dottedPath: string, value: unknown): string {
  return setField(lineText, false, dottedPath, value);
}

/**
 * setFieldInLine on the bytes of a line: every byte outside the field's value stays as it was, invalid UTF-8
 * included (decoding to text and encoding back would turn such bytes into U+FFFD). Column numbers in errors
 * count bytes.
 */
export function setFieldInLineBytes(line: Uint8Array, dottedPath: string, value: unknown): Buffer {
  // One character per byte: JSON's structure is ASCII, so the scanner finds the same positions, and the
  // characters map back to exactly the original bytes.
  const text = Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('latin1');
  return Buffer.from(setField(text, true, dottedPath, value), 'latin1');
}

const UTF8_BOM_AS_LATIN1 = '\u00ef\u00bb\u00bf';

function setField(lineText: string, bytes: boolean, dottedPath: string, value: unknown): string {
  const path = splitFieldPath(dottedPath);
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error(`Cannot write ${String(value)} to field ${dottedPath}: not a JSON value`);
  const encode = (text: string): string => (bytes ? Buffer.from(text, 'utf8').toString('latin1') : text);
  const offset = bytes ? (lineText.startsWith(UTF8_BOM_AS_LATIN1) ? 3 : 0) : lineText.charCodeAt(0) === 0xfeff ? 1 : 0;
  const body = offset === 0 ? lineText : lineText.slice(offset);
  let root: ScannedObject | undefined;
  try {
    root = scanJson(body, bytes).object;
  } catch (error) {
    if (error instanceof JsonScanError) {
      throw new Error(`Cannot set field ${dottedPath}: the line is not valid JSON (column ${error.offset + 1 + offset}: ${error.message})`);
    }
    throw error;
  }
  if (root === undefined) throw new Error(`Cannot set field ${dottedPath}: the line is not a JSON object`);
  const style = separatorStyle(body, root);
  // An object or array value is spaced like the line it goes into (`{"source": "human", "run": null}` in a line
  // spaced `", "`), not compact inside a spaced line.
  const serialized = encode(stringifyInStyle(value, style) ?? json);
  const location = locatePath(root, path);
  if (location.found) {
    const { valueStart, valueEnd } = location.member;
    return lineText.slice(0, offset + valueStart) + serialized + lineText.slice(offset + valueEnd);
  }
  let member = serialized;
  for (let i = location.missing.length - 1; i >= 0; i--) {
    const key = encode(JSON.stringify(location.missing[i])) + style.colon + member;
    member = i === 0 ? key : `{${key}}`;
  }
  const parent = location.parent;
  const last = parent.members[parent.members.length - 1];
  const insertAt = offset + (last === undefined ? parent.start + 1 : last.valueEnd);
  const inserted = last === undefined ? member : style.comma + member;
  return lineText.slice(0, insertAt) + inserted + lineText.slice(insertAt);
}

/** JSON.stringify with the line's colon and comma between members (no other whitespace); undefined as JSON.stringify. */
function stringifyInStyle(value: unknown, style: { colon: string; comma: string }): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => stringifyInStyle(item, style) ?? 'null').join(style.comma)}]`;
  if (isPlainObject(value)) {
    const members: string[] = [];
    for (const [key, member] of Object.entries(value)) {
      const text = stringifyInStyle(member, style);
      if (text !== undefined) members.push(JSON.stringify(key) + style.colon + text);
    }
    return `{${members.join(style.comma)}}`;
  }
  return JSON.stringify(value);
}

/** `": "` or `":"`, `", "` or `","`: copied from the line's first member and first separator. */
function separatorStyle(text: string, root: ScannedObject): { colon: string; comma: string } {
  const [first, second] = root.members;
  const colon = first === undefined ? '' : text.slice(first.keyEnd, first.valueStart);
  const comma = first === undefined || second === undefined ? '' : text.slice(first.valueEnd, second.keyStart);
  const compact = colon === ':';
  return {
    colon: /^[ \t]*:[ \t]*$/.test(colon) ? colon : ': ',
    // A one-member line shows no comma: follow the colon's spacing.
    comma: /^[ \t]*,[ \t]*$/.test(comma) ? comma : compact ? ',' : ', ',
  };
}

export interface RowEdit {
  /** 1-based line number. */
  line: number;
  /** The identity (see rowIdentity) the row on that line must still have. */
  id: string;
  /** Dotted field path, e.g. the mapping's `human` field. */
  field: string;
  value: unknown;
}

/**
 * Applies field edits to a JSONL file on disk. Every edited line must still hold the row the edit was made for
 * (same identity), else nothing is written and the error names the file and line. All bytes outside the edited
 * values (other lines, line endings, a BOM, the final newline, even invalid UTF-8 elsewhere) are kept as they are.
 * The file is replaced atomically.
 */
export async function applyRowEditsToFile(path: string, edits: readonly RowEdit[], fields: FieldMapping): Promise<void> {
  if (edits.length === 0) return;
  const compiled = compileFields(fields);
  let data: Buffer;
  try {
    data = await fsp.readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
  // [start, end) of each line without its terminator; LF, CRLF and a lone CR each end a line, as in the editor.
  const lineStarts: number[] = [];
  const lineEnds: number[] = [];
  forEachLine(data, (start, end) => {
    lineStarts.push(start);
    lineEnds.push(end);
  });
  const byLine = new Map<number, RowEdit[]>();
  for (const edit of edits) {
    const list = byLine.get(edit.line);
    if (list) list.push(edit);
    else byLine.set(edit.line, [edit]);
  }
  const replaced = new Map<number, Buffer>();
  for (const [line, lineEdits] of byLine) {
    if (!Number.isInteger(line) || line < 1 || line > lineStarts.length) {
      throw new Error(`${path}:${line}: the file has no line ${line}; it changed since the edit was made`);
    }
    const start = lineStarts[line - 1];
    const end = lineEnds[line - 1];
    const original = data.toString('utf8', start, end);
    const bom = line === 1 && original.charCodeAt(0) === 0xfeff ? 1 : 0;
    const json = bom ? original.slice(1) : original;
    if (tooDeepOffset(json) !== -1) {
      throw new Error(`${path}:${line}: expected the row with id '${printable(lineEdits[0].id)}' but the line is not a row (${TOO_DEEP_MESSAGE})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new Error(`${path}:${line}: expected the row with id '${printable(lineEdits[0].id)}' but the line is not valid JSON; the file changed since the edit was made`);
    }
    if (!isPlainObject(parsed)) {
      throw new Error(`${path}:${line}: expected the row with id '${printable(lineEdits[0].id)}' but the line is not a JSON object`);
    }
    const actual = identityOf(parsed, compiled.id, compiled.text, json);
    for (const edit of lineEdits) {
      if (edit.id !== actual) {
        throw new Error(`${path}:${line}: expected the row with id '${printable(edit.id)}' but found '${printable(actual)}'; the file changed since the edit was made`);
      }
    }
    let bytes: Buffer = data.subarray(start, end);
    for (const edit of lineEdits) {
      try {
        bytes = setFieldInLineBytes(bytes, edit.field, edit.value);
      } catch (error) {
        throw new Error(`${path}:${line}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    replaced.set(line, bytes);
  }
  const parts: Buffer[] = [];
  let copiedUpTo = 0;
  for (const line of [...replaced.keys()].sort((a, b) => a - b)) {
    parts.push(data.subarray(copiedUpTo, lineStarts[line - 1]), replaced.get(line) as Buffer);
    copiedUpTo = lineEnds[line - 1];
  }
  parts.push(data.subarray(copiedUpTo));
  await writeFileAtomic(path, Buffer.concat(parts));
}
