/**
 * The answer cache on disk: one append-only JSONL file per (base URL, model, prompt template, label set, few-shot set),
 * one line per text. Every answer is appended the moment it arrives, so a run that is cancelled, crashes or loses its
 * editor resumes where it stopped, and re-running pays for nothing twice. Abstentions are cached too: with the same
 * prompt the model would give the same answer again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PEERKD_FOLDER, fileError, linkedPeerkdFolder, linkedPeerkdFolderError } from '../dataset/files';
import type { TeacherPrompt } from './client';
import { buildLabelLookup, validateAnswer } from './prompt';
import { redactionOfLength, redactSecret } from './redact';
import { normaliseBaseUrl } from './url';
import type { AbstentionReason, TeacherAnswer } from './types';

export const CACHE_DIR_NAME = path.join(PEERKD_FOLDER, 'teacher-cache');

interface CacheLine {
  k: string;
  label?: string;
  confidence?: number | null;
  abstain?: AbstentionReason;
  detail?: string;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A text as a hash should read it. A hash reads a string as UTF-8, in which every lone surrogate becomes U+FFFD: texts
 * cut inside an emoji ("I love \ud83d" and "I love \ud83c") hashed alike, and the second got the first's answer
 * without being asked. Such a text is hashed by its JSON spelling, which keeps every code unit; a well-formed text is
 * hashed as it is, so existing keys stay valid.
 */
export function hashableText(text: string): string {
  return LONE_SURROGATE.test(text) ? `\u0000lone-surrogates:${JSON.stringify(text)}` : text;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Hash of everything but the text that decides the teacher's answer. */
export function cacheConfigKey(baseUrl: string, model: string, prompt: TeacherPrompt): string {
  return sha256(
    JSON.stringify({
      baseUrl: normaliseBaseUrl(baseUrl),
      model,
      template: prompt.template,
      labels: [...prompt.labels],
      fewShot: prompt.fewShot.map((example) => [example.text, example.label]),
    }),
  );
}

export interface CacheOptions {
  /** The API key: redacted from everything the cache writes (and from what an older version wrote). */
  secret?: string;
}

/** A cache line that was ignored on read, with its 1-based line number in `TeacherCache.file`. */
export interface CacheProblem {
  line: number;
  message: string;
}

/**
 * An append-only JSONL cache keyed by text (shared by the teacher's answers and the embedding cache,
 * src/training/embeddingCache.ts): one line per text, `k` = sha256(configuration key + text). Reading parses every
 * line through `decode`; a line that is not JSON, or that `decode` refuses, is a problem with its line number, ignored
 * and never rewritten. A crash mid-append leaves a partial last line: it is skipped, and the next append starts on a
 * fresh line.
 */
export abstract class AppendOnlyCache<T> {
  protected readonly entries = new Map<string, T>();
  /** Lines ignored on read, with their 1-based line numbers in `file`. */
  readonly problems: CacheProblem[] = [];
  private needsNewline = false;
  /** Whether a line was too long to be read (MAX_CACHE_LINE_BYTES): beforeParse never saw it. */
  protected skippedLongLines = false;

  protected constructor(
    readonly file: string,
    /** Hash of everything but the text that decides an entry. */
    readonly configKey: string,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** `file:line: message` for each ignored line, for the log. */
  describeProblems(): string[] {
    return this.problems.map((problem) => `${this.file}:${problem.line}: ${problem.message}; entry ignored`);
  }

  get(text: string): T | undefined {
    return this.entries.get(this.textKey(text));
  }

  protected textKey(text: string): string {
    return sha256(`${this.configKey}\n${hashableText(text)}`);
  }

  /** An entry from one parsed line: its key and value, or why the line is not one. */
  protected abstract decode(value: unknown): { k: string; value: T } | string;

  /** A line's text before it is parsed (the teacher cache scrubs an API key an older version wrote). */
  protected beforeParse(line: string): string {
    return line;
  }

  protected load(): void {
    // A `.peerkd` folder (or the cache folder in it) that is a link would take the cache's files anywhere.
    const link = linkedPeerkdFolder(this.file);
    if (link) throw linkedPeerkdFolderError(link);
    const read = readAppendOnlyJsonl(this.file, (line) => this.beforeParse(line));
    if (!read) return; // no file yet
    this.needsNewline = read.needsNewline;
    this.skippedLongLines = read.skippedLongLines;
    this.problems.push(...read.problems);
    for (const { line, value } of read.entries) {
      const decoded = this.decode(value);
      if (typeof decoded === 'string') this.problems.push({ line, message: decoded });
      else this.entries.set(decoded.k, decoded.value);
    }
    this.problems.sort((a, b) => a.line - b.line); // in file order, whichever check found them
  }

  /** Keeps the entry and appends its line (`line.k` is its key). */
  protected append<L extends { k: string }>(value: T, line: L): void {
    this.entries.set(line.k, value);
    appendJsonlLine(this.file, line, this.needsNewline);
    this.needsNewline = false;
  }
}

export class TeacherCache extends AppendOnlyCache<TeacherAnswer> {
  private readonly lookup: Map<string, string>;

  private constructor(
    directory: string,
    configKey: string,
    labels: readonly string[],
    private readonly secret: string | undefined,
  ) {
    super(path.join(directory, `${configKey.slice(0, 24)}.jsonl`), configKey);
    this.lookup = buildLabelLookup(labels);
  }

  /** Opens (and reads) the cache for one teacher configuration under `directory`. */
  static open(directory: string, baseUrl: string, model: string, prompt: TeacherPrompt, options: CacheOptions = {}): TeacherCache {
    const cache = new TeacherCache(directory, cacheConfigKey(baseUrl, model, prompt), prompt.labels, options.secret);
    cache.load();
    return cache;
  }

  /** Set when a line read held the key. */
  private heldSecret = false;

  protected override beforeParse(line: string): string {
    const scrubbed = redactSecret(line, this.secret);
    if (scrubbed !== line) this.heldSecret = true;
    return scrubbed;
  }

  protected override load(): void {
    super.load();
    // A cache written before answers were redacted may hold the key: scrub the file too, not only what was read. A line
    // too long to be read was never seen by beforeParse, so the file is searched for the key then too.
    if (this.secret && (this.heldSecret || this.skippedLongLines)) overwriteInPlace(this.file, this.secret);
  }

  protected decode(value: unknown): { k: string; value: TeacherAnswer } | string {
    const entry = value as CacheLine;
    if (typeof entry !== 'object' || entry === null || typeof entry.k !== 'string') return 'no text key';
    // Exactly the validation a live answer passes: the cache is a file, and a file can be edited.
    const checked = validateAnswer(toAnswer(entry), this.lookup);
    return checked.ok ? { k: entry.k, value: checked.answer } : checked.problem;
  }

  put(text: string, answer: TeacherAnswer): void {
    const k = this.textKey(text);
    const line: CacheLine =
      answer.kind === 'label'
        ? { k, label: answer.label, confidence: answer.confidence }
        : { k, abstain: answer.reason, detail: redactSecret(answer.detail, this.secret) };
    this.append(answer, line);
  }
}

/**
 * The longest line read (bytes): a vector of 4,096 float32 is 21,848 base64 characters, a teacher answer far less. A
 * longer line is no entry (it is reported and skipped), so that garbage without line breaks costs no more memory.
 */
export const MAX_CACHE_LINE_BYTES = 64 * 1024 * 1024;
const READ_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The lines of an append-only JSONL cache (each through `prepare` first): parsed values with their 1-based line numbers,
 * lines that are not JSON as problems, and whether the file ends in a line cut by a crash mid-append (that line is
 * skipped silently, and the next append must start on a fresh line); undefined when there is no file. Read in chunks, a
 * line at a time: a cache can outgrow the longest string V8 makes (2^29 − 24 characters: 65,000 vectors of 1,536
 * floats), which read at once made the cache unreadable, turned it off and had every text encoded (and billed) again.
 * A line break never falls inside a UTF-8 character, so the bytes are cut at line breaks and decoded a line at a time.
 */
function readAppendOnlyJsonl(
  file: string,
  prepare: (line: string) => string,
): { entries: { line: number; value: unknown }[]; problems: CacheProblem[]; needsNewline: boolean; skippedLongLines: boolean } | undefined {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO (a cloned repository can ship one in place of a cache file) would wait for a writer.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw fileError(file, { code: 'EISDIR' });
    if (!stat.isFile()) throw notRegularFile(file);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  const entries: { line: number; value: unknown }[] = [];
  const problems: CacheProblem[] = [];
  let pieces: Buffer[] = [];
  let pending = 0;
  let tooLong = false;
  let lineNumber = 0;
  let skippedLongLines = false;
  const endLine = (terminated: boolean) => {
    lineNumber += 1;
    if (tooLong) {
      skippedLongLines = true;
      // A cut last line is skipped silently, as any cut line.
      if (terminated) problems.push({ line: lineNumber, message: `longer than ${MAX_CACHE_LINE_BYTES.toLocaleString('en-US')} bytes, not a cache line` });
    } else {
      const text = prepare((pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, pending)).toString('utf8'));
      if (text.trim().length > 0) {
        try {
          entries.push({ line: lineNumber, value: JSON.parse(text) });
        } catch {
          if (terminated) problems.push({ line: lineNumber, message: 'not valid JSON' });
        }
      }
    }
    pieces = [];
    pending = 0;
    tooLong = false;
  };
  try {
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      let start = 0;
      while (start < read) {
        const newline = chunk.indexOf(0x0a, start);
        const end = newline < 0 || newline >= read ? read : newline;
        if (!tooLong) {
          if (pending + end - start > MAX_CACHE_LINE_BYTES) {
            tooLong = true;
            pieces = [];
            pending = 0;
          } else if (end > start) {
            // A piece that goes on in the next chunk is copied (the chunk is read into again); one that ends here is read at once.
            pieces.push(end === read ? Buffer.from(chunk.subarray(start, end)) : chunk.subarray(start, end));
            pending += end - start;
          }
        }
        if (end === read) break;
        endLine(true);
        start = end + 1;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  const needsNewline = pending > 0 || tooLong;
  if (needsNewline) endLine(false);
  return { entries, problems, needsNewline, skippedLongLines };
}

function notRegularFile(file: string): Error {
  return new Error(`${file}: not a regular file (a FIFO, socket or device), so it cannot be read as a cache; move it away`);
}

/**
 * Overwrites every occurrence of `secret` in the file, in place, by a mark of the same length in bytes
 * (redactionOfLength): nothing else in the file moves, so the file is never replaced. A rewrite through a temporary
 * file renamed over the cache lost any line another process (a second `peerkd label` on the same cache) appended
 * between the rewrite's last read and the rename, and no re-check before the rename can close that gap, nor reach a
 * line written through a descriptor opened before it; a lock file would hold only if every writer, older versions
 * included, took it, and a crashed holder's lock must be guessed stale. Here an appender writes at the end, which the
 * scrub never writes, on Linux, macOS and Windows alike, with nothing but positioned writes. Each mark is ASCII without
 * quotes or backslashes written over a key inside a JSON string, so at any point, a crash included, every line is the
 * line it was or the same line with one more key masked; the next open finishes the job. Only the bytes there at the
 * start are searched: a line appended since was written by a run that redacts (or by an older version, which the next
 * open scrubs). Never through a symbolic link (it would write outside the cache).
 */
function overwriteInPlace(file: string, secret: string): void {
  const needle = Buffer.from(secret, 'utf8');
  const mark = Buffer.from(redactionOfLength(needle.length), 'utf8');
  const { O_RDWR, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error(`${file}: a symbolic link in place of a cache file, holding the API key; it is not written through: replace it with the file itself or remove it`);
    }
    throw fileError(file, error);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw notRegularFile(file);
    const end = stat.size;
    const chunk = Buffer.alloc(Math.max(READ_CHUNK_BYTES, 2 * needle.length));
    let masked = 0;
    for (let position = 0; position < end; ) {
      const read = fs.readSync(fd, chunk, 0, Math.min(chunk.length, end - position), position);
      if (read === 0) break; // shorter than at the start (truncated by someone else): nothing more to search
      const data = chunk.subarray(0, read);
      for (let hit = data.indexOf(needle); hit >= 0; hit = data.indexOf(needle, hit + needle.length)) {
        for (let at = 0; at < mark.length; ) at += fs.writeSync(fd, mark, at, mark.length - at, position + hit + at);
        masked += 1;
      }
      if (position + read >= end) break;
      // A key may straddle two chunks: the next one starts needle.length − 1 bytes back (a key found here is masked
      // already, so it is not found twice).
      position += read - (needle.length - 1);
    }
    if (masked > 0) fs.fsyncSync(fd); // the key off the disk now, not at the system's leisure
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends one JSON line, first ending a line cut by a crash (`needsNewline` from readAppendOnlyJsonl). */
function appendJsonlLine(file: string, value: unknown, needsNewline: boolean): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Never through a symbolic link (ELOOP instead): a cache file replaced by a link (a checked-out repository can ship
  // one) would otherwise have the line appended to whatever file it points at, outside the cache.
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0), 0o666);
  try {
    fs.appendFileSync(fd, `${needsNewline ? '\n' : ''}${JSON.stringify(value)}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

/** The answer a cache line claims to hold, unchecked (validateAnswer decides whether it is one). */
function toAnswer(entry: CacheLine): unknown {
  if (entry.label !== undefined) {
    return { kind: 'label', label: entry.label, confidence: entry.confidence ?? null };
  }
  if (entry.abstain !== undefined) {
    return { kind: 'abstain', reason: entry.abstain, detail: entry.detail ?? '' };
  }
  return undefined;
}
