/**
 * The answer cache on disk: one append-only JSONL file per (base URL, model, prompt template, label set, few-shot set),
 * one line per text. Every answer is appended the moment it arrives, so a run that is cancelled, crashes or loses its
 * editor resumes where it stopped, and re-running pays for nothing twice. Abstentions are cached too: with the same
 * prompt the model would give the same answer again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PEERKD_FOLDER, linkedPeerkdFolder, linkedPeerkdFolderError } from '../dataset/files';
import type { TeacherPrompt } from './client';
import { buildLabelLookup, validateAnswer } from './prompt';
import { redactSecret } from './redact';
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

  /** The file's text before it is parsed (the teacher cache scrubs an API key an older version wrote). */
  protected beforeParse(content: string): string {
    return content;
  }

  protected load(): void {
    // A `.peerkd` folder (or the cache folder in it) that is a link would take the cache's files anywhere.
    const link = linkedPeerkdFolder(this.file);
    if (link) throw linkedPeerkdFolderError(link);
    let content: string;
    try {
      content = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return;
      }
      throw error;
    }
    const read = parseAppendOnlyJsonl(this.beforeParse(content));
    this.needsNewline = read.needsNewline;
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

  protected override beforeParse(content: string): string {
    // A cache written before answers were redacted may hold the key: scrub the file before anything else reads it.
    const scrubbed = redactSecret(content, this.secret);
    if (scrubbed !== content) {
      const temporary = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, scrubbed);
      fs.renameSync(temporary, this.file);
    }
    return scrubbed;
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
 * The lines of an append-only JSONL cache: parsed values with their 1-based line numbers, lines that are not JSON as
 * problems, and whether the file ends in a line cut by a crash mid-append (that line is skipped silently, and the next
 * append must start on a fresh line).
 */
function parseAppendOnlyJsonl(content: string): { entries: { line: number; value: unknown }[]; problems: CacheProblem[]; needsNewline: boolean } {
  const needsNewline = content.length > 0 && !content.endsWith('\n');
  const lines = content.split('\n');
  const entries: { line: number; value: unknown }[] = [];
  const problems: CacheProblem[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.trim().length === 0) continue;
    try {
      entries.push({ line: index + 1, value: JSON.parse(line) });
    } catch {
      if (!(index === lines.length - 1 && needsNewline)) problems.push({ line: index + 1, message: 'not valid JSON' });
    }
  }
  return { entries, problems, needsNewline };
}

/** Appends one JSON line, first ending a line cut by a crash (`needsNewline` from parseAppendOnlyJsonl). */
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
