/**
 * The answer cache on disk: one append-only JSONL file per (base URL, model, prompt template, label set, few-shot set),
 * one line per text. Every answer is appended the moment it arrives, so a run that is cancelled, crashes or loses its
 * editor resumes where it stopped, and re-running pays for nothing twice. Abstentions are cached too: with the same
 * prompt the model would give the same answer again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TeacherPrompt } from './client';
import { buildLabelLookup, validateAnswer } from './prompt';
import { redactSecret } from './redact';
import { normaliseBaseUrl } from './url';
import type { AbstentionReason, TeacherAnswer } from './types';

export const CACHE_DIR_NAME = path.join('.peerkd', 'teacher-cache');

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

export class TeacherCache {
  private readonly entries = new Map<string, TeacherAnswer>();
  readonly file: string;
  /** Lines ignored on read because they are not valid answers (edited by hand, or written for another label set). */
  readonly problems: CacheProblem[] = [];
  private needsNewline = false;
  private readonly lookup: Map<string, string>;

  private constructor(
    directory: string,
    readonly configKey: string,
    labels: readonly string[],
    private readonly secret: string | undefined,
  ) {
    this.file = path.join(directory, `${configKey.slice(0, 24)}.jsonl`);
    this.lookup = buildLabelLookup(labels);
  }

  /** Opens (and reads) the cache for one teacher configuration under `directory`. */
  static open(directory: string, baseUrl: string, model: string, prompt: TeacherPrompt, options: CacheOptions = {}): TeacherCache {
    const cache = new TeacherCache(directory, cacheConfigKey(baseUrl, model, prompt), prompt.labels, options.secret);
    cache.load();
    return cache;
  }

  /** `file:line: message` for each ignored line, for the log. */
  describeProblems(): string[] {
    return this.problems.map((problem) => `${this.file}:${problem.line}: ${problem.message}; entry ignored`);
  }

  get size(): number {
    return this.entries.size;
  }

  private textKey(text: string): string {
    return sha256(`${this.configKey}\n${text}`);
  }

  private load(): void {
    let content: string;
    try {
      content = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return;
      }
      throw error;
    }
    // A cache written before answers were redacted may hold the key: scrub the file before anything else reads it.
    const scrubbed = redactSecret(content, this.secret);
    if (scrubbed !== content) {
      const temporary = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, scrubbed);
      fs.renameSync(temporary, this.file);
      content = scrubbed;
    }
    // A crash mid-append leaves a partial last line: it is skipped, and the next append starts on a fresh line.
    const read = parseAppendOnlyJsonl(content);
    this.needsNewline = read.needsNewline;
    this.problems.push(...read.problems);
    for (const { line, value } of read.entries) {
      const entry = value as CacheLine;
      if (typeof entry !== 'object' || entry === null || typeof entry.k !== 'string') {
        this.problems.push({ line, message: 'no text key' });
        continue;
      }
      // Exactly the validation a live answer passes: the cache is a file, and a file can be edited.
      const checked = validateAnswer(toAnswer(entry), this.lookup);
      if (checked.ok) {
        this.entries.set(entry.k, checked.answer);
      } else {
        this.problems.push({ line, message: checked.problem });
      }
    }
    this.problems.sort((a, b) => a.line - b.line); // in file order, whichever check found them
  }

  get(text: string): TeacherAnswer | undefined {
    return this.entries.get(this.textKey(text));
  }

  put(text: string, answer: TeacherAnswer): void {
    const k = this.textKey(text);
    this.entries.set(k, answer);
    const line: CacheLine =
      answer.kind === 'label'
        ? { k, label: answer.label, confidence: answer.confidence }
        : { k, abstain: answer.reason, detail: redactSecret(answer.detail, this.secret) };
    appendJsonlLine(this.file, line, this.needsNewline);
    this.needsNewline = false;
  }
}

/**
 * The lines of an append-only JSONL cache (shared with the embedding cache, src/training/embeddingCache.ts): parsed
 * values with their 1-based line numbers, lines that are not JSON as problems, and whether the file ends in a line cut
 * by a crash mid-append (that line is skipped silently, and the next append must start on a fresh line).
 */
export function parseAppendOnlyJsonl(content: string): { entries: { line: number; value: unknown }[]; problems: CacheProblem[]; needsNewline: boolean } {
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
export function appendJsonlLine(file: string, value: unknown, needsNewline: boolean): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${needsNewline ? '\n' : ''}${JSON.stringify(value)}\n`);
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
