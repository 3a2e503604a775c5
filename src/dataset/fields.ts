import { createHash } from 'node:crypto';
import { locatePath, scanJson } from './jsonScan';
import type { FieldMapping } from './types';

/**
 * Field access by dotted path (`meta.label` is the `label` member of the `meta` object). Every segment is an
 * object key; a key that itself contains a dot cannot be named.
 */
export function splitFieldPath(dottedPath: string): string[] {
  const segments = dottedPath.split('.');
  if (segments.some((segment) => segment.length === 0)) {
    throw new Error(`Invalid field path '${dottedPath}': empty segment`);
  }
  return segments;
}

/** The value at a dotted path, or undefined when any step is missing or not an object. */
export function getField(obj: unknown, dottedPath: string): unknown {
  return getFieldAt(obj, splitFieldPath(dottedPath));
}

export function getFieldAt(obj: unknown, segments: readonly string[]): unknown {
  let current = obj;
  for (const segment of segments) {
    if (!isPlainObject(current) || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The prefix marking identities derived from the text rather than an id field. */
export const TEXT_IDENTITY_PREFIX = 'text:';
/** The identity of a row with neither an id nor a text: a hash of its whole value. */
export const VALUE_IDENTITY_PREFIX = 'row:';

/** Identity of a row without an id: a hash of its text, stable across edits that do not touch the text. */
export function textIdentity(text: string): string {
  return TEXT_IDENTITY_PREFIX + createHash('sha1').update(text, 'utf8').digest('hex').slice(0, 16);
}

/** The id field's value as a string, or null when it is absent, empty or not a string or finite number. */
export function idFieldValue(value: unknown): string | null {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/**
 * A row's stable identity: its id field when present (strings as they are, numbers in decimal; an integer beyond 2^53
 * as its digits are written, where the line is known), else the hash of
 * its text; a row with neither is identified by a hash of its whole value.
 */
export function rowIdentity(value: Record<string, unknown>, fields: FieldMapping): string {
  return identityOf(value, splitFieldPath(fields.id), splitFieldPath(fields.text));
}

/**
 * The identity of a row read from `lineText` (the line it was parsed from; without it, an id beyond 2^53 is read
 * rounded): see rowIdentity.
 */
export function identityOf(value: Record<string, unknown>, idPath: readonly string[], textPath: readonly string[], lineText?: string): string {
  const id = idIdentity(value, idPath, lineText);
  if (id !== null) return id;
  const text = getFieldAt(value, textPath);
  if (typeof text === 'string') return textIdentity(text);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    // Rows from the parser are never this deep (MAX_JSON_DEPTH); a value built elsewhere may be.
    if (error instanceof RangeError) throw new Error('The row is nested too deeply to identify it; give it an id field');
    throw error;
  }
  return VALUE_IDENTITY_PREFIX + createHash('sha1').update(json, 'utf8').digest('hex').slice(0, 16);
}

/**
 * The identity the id field gives a row (see identityOf), or null where it gives none (absent, empty, not a string or
 * finite number): a string as it is, a number in decimal, an integer beyond 2^53 as `lineText` writes its digits.
 */
export function idIdentity(value: Record<string, unknown>, idPath: readonly string[], lineText?: string): string | null {
  const written = getFieldAt(value, idPath);
  if (lineText !== undefined && typeof written === 'number' && Number.isInteger(written) && !Number.isSafeInteger(written)) {
    const digits = writtenNumber(lineText, idPath);
    if (digits !== null) return digits;
  }
  return idFieldValue(written);
}

/** A JSON number as written (`7`, `-2.5`, `1e+21`, `1234567890123456001`): what an id that is a number is written back as. */
export const JSON_NUMBER_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * Whether a row's id field holds a number, so that what PeerKD writes back (predictions.jsonl, `peerkd predict`) writes
 * its identity as that number, not as text: `{"id": 7}` stays 7 (a join on the user's own ids finds it), an id beyond
 * 2^53 its digits as written (never rounded). 7 and "7" stay one identity (the duplicate-id rule); only the JSON type
 * written back differs.
 */
export function idIsNumber(value: Record<string, unknown>, idPath: readonly string[], identity: string): boolean {
  const written = getFieldAt(value, idPath);
  return typeof written === 'number' && Number.isFinite(written) && JSON_NUMBER_TEXT.test(identity);
}

/** An id's JSON text as PeerKD writes it back: an identity from a number as that number, any other as a JSON string. */
export function idJson(identity: string, isNumber: boolean | undefined): string {
  return isNumber === true && JSON_NUMBER_TEXT.test(identity) ? identity : JSON.stringify(identity);
}

/**
 * An id written as an integer beyond 2^53 (a tweet's or a database's 64-bit id), as the line writes it: JSON.parse
 * rounds 1234567890123456001 to 1234567890123456000, so rows with distinct ids would share one. Null where the line
 * does not scan (the caller then uses the parsed number).
 */
function writtenNumber(lineText: string, idPath: readonly string[]): string | null {
  try {
    const scanned = scanJson(lineText);
    if (!scanned.object) return null;
    const location = locatePath(scanned.object, idPath);
    return location.found ? lineText.slice(location.member.valueStart, location.member.valueEnd) : null;
  } catch {
    return null;
  }
}

/** Field paths split once, so per-row access in a million-row file does no string splitting. */
export interface CompiledFields {
  mapping: FieldMapping;
  text: string[];
  teacher: string[];
  human: string[];
  id: string[];
  teacherConfidence: string[];
}

export function compileFields(fields: FieldMapping): CompiledFields {
  return {
    mapping: fields,
    text: splitFieldPath(fields.text),
    teacher: splitFieldPath(fields.teacher),
    human: splitFieldPath(fields.human),
    id: splitFieldPath(fields.id),
    teacherConfidence: splitFieldPath(fields.teacherConfidence),
  };
}
