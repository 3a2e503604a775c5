import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compileFields, identityOf, isPlainObject, splitFieldPath } from './fields';
import { JsonScanError, locatePath, scanJson, type ScannedObject } from './jsonScan';
import type { FieldMapping } from './types';

/**
 * Sets one field of one JSONL line, changing only the bytes of that field's value. When the field is absent it is
 * inserted as the object's last member (creating nested objects for a dotted path), in the separator style the
 * line already uses. Key order, unknown fields, spacing and a trailing CR stay as they were.
 * Throws when the line is not a JSON object or a segment of the path is not an object.
 */
export function setFieldInLine(lineText: string, dottedPath: string, value: unknown): string {
  const path = splitFieldPath(dottedPath);
  const serialized = JSON.stringify(value);
  if (serialized === undefined) throw new Error(`Cannot write ${String(value)} to field ${dottedPath}: not a JSON value`);
  const offset = lineText.charCodeAt(0) === 0xfeff ? 1 : 0;
  const body = offset === 0 ? lineText : lineText.slice(offset);
  let root: ScannedObject | undefined;
  try {
    root = scanJson(body).object;
  } catch (error) {
    if (error instanceof JsonScanError) {
      throw new Error(`Cannot set field ${dottedPath}: the line is not valid JSON (column ${error.offset + 1 + offset}: ${error.message})`);
    }
    throw error;
  }
  if (root === undefined) throw new Error(`Cannot set field ${dottedPath}: the line is not a JSON object`);
  const location = locatePath(root, path);
  if (location.found) {
    const { valueStart, valueEnd } = location.member;
    return lineText.slice(0, offset + valueStart) + serialized + lineText.slice(offset + valueEnd);
  }
  const style = separatorStyle(body, root);
  let member = serialized;
  for (let i = location.missing.length - 1; i >= 0; i--) {
    const key = JSON.stringify(location.missing[i]) + style.colon + member;
    member = i === 0 ? key : `{${key}}`;
  }
  const parent = location.parent;
  const last = parent.members[parent.members.length - 1];
  const insertAt = offset + (last === undefined ? parent.start + 1 : last.valueEnd);
  const inserted = last === undefined ? member : style.comma + member;
  return lineText.slice(0, insertAt) + inserted + lineText.slice(insertAt);
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
  const data = await fsp.readFile(path);
  const lineStarts = [0];
  for (let index = data.indexOf(0x0a); index !== -1; index = data.indexOf(0x0a, index + 1)) lineStarts.push(index + 1);
  const byLine = new Map<number, RowEdit[]>();
  for (const edit of edits) {
    const list = byLine.get(edit.line);
    if (list) list.push(edit);
    else byLine.set(edit.line, [edit]);
  }
  const replaced = new Map<number, Buffer>();
  for (const [line, lineEdits] of byLine) {
    const start = lineStarts[line - 1];
    if (!Number.isInteger(line) || line < 1 || start === undefined || (start >= data.length && line > 1)) {
      throw new Error(`${path}:${line}: the file has no line ${line}; it changed since the edit was made`);
    }
    let end = line < lineStarts.length ? lineStarts[line] - 1 : data.length; // exclusive, before LF
    if (end > start && data[end - 1] === 0x0d) end--;
    const original = data.toString('utf8', start, end);
    const bom = line === 1 && original.charCodeAt(0) === 0xfeff ? 1 : 0;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bom ? original.slice(1) : original);
    } catch {
      throw new Error(`${path}:${line}: expected the row with id '${lineEdits[0].id}' but the line is not valid JSON; the file changed since the edit was made`);
    }
    if (!isPlainObject(parsed)) {
      throw new Error(`${path}:${line}: expected the row with id '${lineEdits[0].id}' but the line is not a JSON object`);
    }
    const actual = identityOf(parsed, compiled.id, compiled.text);
    for (const edit of lineEdits) {
      if (edit.id !== actual) {
        throw new Error(`${path}:${line}: expected the row with id '${edit.id}' but found '${actual}'; the file changed since the edit was made`);
      }
    }
    let text = original;
    for (const edit of lineEdits) {
      try {
        text = setFieldInLine(text, edit.field, edit.value);
      } catch (error) {
        throw new Error(`${path}:${line}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    replaced.set(line, Buffer.from(text, 'utf8'));
  }
  const parts: Buffer[] = [];
  let copiedUpTo = 0;
  for (const line of [...replaced.keys()].sort((a, b) => a - b)) {
    const start = lineStarts[line - 1];
    let end = line < lineStarts.length ? lineStarts[line] - 1 : data.length;
    if (end > start && data[end - 1] === 0x0d) end--;
    parts.push(data.subarray(copiedUpTo, start), replaced.get(line) as Buffer);
    copiedUpTo = end;
  }
  parts.push(data.subarray(copiedUpTo));
  await writeFileAtomic(path, Buffer.concat(parts));
}

/**
 * Replaces a file so that a reader sees either the old or the new content, never a torn one: write a temporary
 * file in the same directory, flush it to disk, then rename it over the target. The original's permissions are
 * kept. On any failure the temporary file is removed and the original is untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let mode: number | undefined;
  try {
    mode = (await fsp.stat(path)).mode & 0o7777;
  } catch {
    mode = undefined; // a new file
  }
  let handle: Awaited<ReturnType<typeof fsp.open>> | undefined;
  try {
    handle = await fsp.open(temporary, 'wx', mode ?? 0o666);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (mode !== undefined) await fsp.chmod(temporary, mode);
    await fsp.rename(temporary, path);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fsp.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  // Make the rename itself durable; not every platform lets a directory be opened for this.
  try {
    const dir = await fsp.open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Best effort.
  }
}
