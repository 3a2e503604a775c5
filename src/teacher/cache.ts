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
import { REDACTED, redactSecret } from './redact';
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
    return sha256(`${this.configKey}\n${text}`);
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
    if (this.secret && (this.heldSecret || this.skippedLongLines)) replaceInFile(this.file, this.secret, REDACTED);
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
    if (!stat.isFile()) throw new Error(`${file}: not a regular file (a FIFO, socket or device), so it cannot be read as a cache; move it away`);
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

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
}

/**
 * Replaces every occurrence of `from` in the file by `to`, streaming: the other bytes are kept as they are (not decoded
 * and encoded again), whatever the file's size. The bytes go to a temporary file next to it, created afresh (never
 * through a link planted at its name) with the file's permissions, flushed to disk and renamed over the file only when
 * complete: a failure or a crash at any point leaves the file as it was, and a failure removes the temporary file. A
 * file without `from` is left alone.
 */
function replaceInFile(file: string, from: string, to: string): void {
  const needle = Buffer.from(from, 'utf8');
  const replacement = Buffer.from(to, 'utf8');
  const temporary = `${file}.${process.pid}.tmp`;
  const input = fs.openSync(file, 'r');
  let replaced = 0;
  let renamed = false;
  try {
    fs.rmSync(temporary, { force: true }); // a leftover of a crash (or a planted link): never written through
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    const output = fs.openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), fs.fstatSync(input).mode & 0o777);
    try {
      const chunk = Buffer.alloc(READ_CHUNK_BYTES);
      let carry = Buffer.alloc(0);
      for (;;) {
        const read = fs.readSync(input, chunk, 0, chunk.length, null);
        const data = Buffer.concat([carry, chunk.subarray(0, read)]);
        let at = 0;
        for (let hit = data.indexOf(needle, at); hit >= 0; hit = data.indexOf(needle, at)) {
          writeAll(output, data.subarray(at, hit));
          writeAll(output, replacement);
          at = hit + needle.length;
          replaced += 1;
        }
        // A match may straddle two chunks: the last needle.length − 1 bytes wait for the next one (none at the end).
        const keep = read === 0 ? 0 : Math.min(needle.length - 1, data.length - at);
        writeAll(output, data.subarray(at, data.length - keep));
        carry = Buffer.from(data.subarray(data.length - keep));
        if (read === 0) break;
      }
      if (replaced > 0) fs.fsyncSync(output); // on disk before the rename makes it the cache
    } finally {
      fs.closeSync(output);
    }
    if (replaced > 0) {
      fs.renameSync(temporary, file);
      renamed = true;
    }
  } finally {
    fs.closeSync(input);
    if (!renamed) {
      try {
        fs.rmSync(temporary, { force: true });
      } catch {
        // Not ours to remove (a folder at that name): the error that matters is the one already thrown.
      }
    }
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
