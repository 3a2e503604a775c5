/**
 * The embedding cache on disk (`.peerkd/embedding-cache/`): one append-only JSONL file per encoder name + version,
 * one line per text, `{"k": sha256(key + text), "v": base64 of the float32 LE vector}`. Every vector is appended as
 * soon as it is computed, so a cancelled or crashed run resumes where it stopped; lines that do not decode to a
 * vector of the encoder's size with finite values are ignored and reported (file:line), never rewritten.
 * The file format rules (partial last line, fresh line after a crash) are the teacher cache's (src/teacher/cache.ts).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendJsonlLine, parseAppendOnlyJsonl, type CacheProblem } from '../teacher/cache';
import type { TextEncoder } from './encoder';

export const EMBEDDING_CACHE_DIR_NAME = path.join('.peerkd', 'embedding-cache');

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class EmbeddingCache {
  readonly file: string;
  readonly problems: CacheProblem[] = [];
  private readonly key: string;
  private readonly entries = new Map<string, Float32Array>();
  private needsNewline = false;

  private constructor(
    directory: string,
    readonly encoder: Pick<TextEncoder, 'name' | 'version' | 'dims'>,
  ) {
    this.key = sha256(JSON.stringify({ name: encoder.name, version: encoder.version, dims: encoder.dims }));
    this.file = path.join(directory, `${encoder.name.replace(/[^a-z0-9-]/gi, '_')}-${this.key.slice(0, 16)}.jsonl`);
  }

  static open(directory: string, encoder: Pick<TextEncoder, 'name' | 'version' | 'dims'>): EmbeddingCache {
    const cache = new EmbeddingCache(directory, encoder);
    cache.load();
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  describeProblems(): string[] {
    return this.problems.map((problem) => `${this.file}:${problem.line}: ${problem.message}; entry ignored`);
  }

  private textKey(text: string): string {
    return sha256(`${this.key}\n${text}`);
  }

  private load(): void {
    let content: string;
    try {
      content = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const read = parseAppendOnlyJsonl(content);
    this.needsNewline = read.needsNewline;
    this.problems.push(...read.problems);
    const bytes = this.encoder.dims * 4;
    for (const { line, value } of read.entries) {
      const entry = value as { k?: unknown; v?: unknown };
      if (typeof entry !== 'object' || entry === null || typeof entry.k !== 'string' || typeof entry.v !== 'string') {
        this.problems.push({ line, message: 'not an embedding line ({"k": text hash, "v": base64 vector})' });
        continue;
      }
      const buffer = Buffer.from(entry.v, 'base64');
      if (buffer.length !== bytes) {
        this.problems.push({ line, message: `vector has ${buffer.length} bytes, expected ${bytes} (${this.encoder.dims} float32)` });
        continue;
      }
      const vector = new Float32Array(this.encoder.dims);
      let finite = true;
      for (let d = 0; d < vector.length; d++) {
        vector[d] = buffer.readFloatLE(d * 4);
        if (!Number.isFinite(vector[d])) finite = false;
      }
      if (!finite) {
        this.problems.push({ line, message: 'vector holds a value that is not a finite number' });
        continue;
      }
      this.entries.set(entry.k, vector);
    }
    this.problems.sort((a, b) => a.line - b.line); // in file order, whichever check found them
  }

  get(text: string): Float32Array | undefined {
    return this.entries.get(this.textKey(text));
  }

  put(text: string, vector: Float32Array): void {
    if (vector.length !== this.encoder.dims) throw new Error(`embedding has ${vector.length} values, expected ${this.encoder.dims}`);
    const k = this.textKey(text);
    const copy = Float32Array.from(vector);
    this.entries.set(k, copy);
    appendJsonlLine(this.file, { k, v: Buffer.from(copy.buffer).toString('base64') }, this.needsNewline);
    this.needsNewline = false;
  }
}
