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
import { normaliseBaseUrl } from './url';
import { ABSTENTION_REASONS, type AbstentionReason, type TeacherAnswer } from './types';

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

export class TeacherCache {
  private readonly entries = new Map<string, TeacherAnswer>();
  readonly file: string;
  private needsNewline = false;

  private constructor(
    directory: string,
    readonly configKey: string,
  ) {
    this.file = path.join(directory, `${configKey.slice(0, 24)}.jsonl`);
  }

  /** Opens (and reads) the cache for one teacher configuration under `directory`. */
  static open(directory: string, baseUrl: string, model: string, prompt: TeacherPrompt): TeacherCache {
    const cache = new TeacherCache(directory, cacheConfigKey(baseUrl, model, prompt));
    cache.load();
    return cache;
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
    // A crash mid-append leaves a partial last line: it is skipped, and the next append starts on a fresh line.
    this.needsNewline = content.length > 0 && !content.endsWith('\n');
    for (const line of content.split('\n')) {
      if (line.trim().length === 0) {
        continue;
      }
      let entry: CacheLine;
      try {
        entry = JSON.parse(line) as CacheLine;
      } catch {
        continue;
      }
      const answer = toAnswer(entry);
      if (answer) {
        this.entries.set(entry.k, answer);
      }
    }
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
        : { k, abstain: answer.reason, detail: answer.detail };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, `${this.needsNewline ? '\n' : ''}${JSON.stringify(line)}\n`);
    this.needsNewline = false;
  }
}

function toAnswer(entry: CacheLine): TeacherAnswer | undefined {
  if (typeof entry?.k !== 'string') {
    return undefined;
  }
  if (typeof entry.label === 'string') {
    const confidence = typeof entry.confidence === 'number' ? entry.confidence : null;
    return { kind: 'label', label: entry.label, confidence };
  }
  if (entry.abstain && ABSTENTION_REASONS.includes(entry.abstain)) {
    return { kind: 'abstain', reason: entry.abstain, detail: entry.detail ?? '' };
  }
  return undefined;
}
