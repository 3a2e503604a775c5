/**
 * The embedding cache on disk (`.peerkd/embedding-cache/`): one append-only JSONL file per encoder name + version,
 * one line per text, `{"k": sha256(key + text), "v": base64 of the float32 LE vector, "c": checksum of k and v}`. Every
 * vector is appended as soon as it is computed, so a cancelled or crashed run resumes where it stopped; lines that do
 * not decode to a vector of the encoder's size with finite values, or whose vector no longer matches its checksum, are
 * ignored and reported (file:line), never rewritten. The checksum catches what the other checks cannot: a character of
 * `v` changed to another base64 character (a flipped bit on disk, an edit) decodes to a vector of the right size with
 * finite values, another text's. Lines without one (written before it existed) are read as before.
 * The file format rules (partial last line, fresh line after a crash) are the teacher cache's (src/teacher/cache.ts).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { PEERKD_FOLDER } from '../dataset/files';
import { AppendOnlyCache } from '../teacher/cache';
import type { TextEncoder } from './encoder';

export const EMBEDDING_CACHE_DIR_NAME = path.join(PEERKD_FOLDER, 'embedding-cache');

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A line's checksum: the first 16 hex digits of SHA-256 over its text key and its base64 vector, as written. */
export function embeddingLineChecksum(k: string, v: string): string {
  return sha256(`${k}\n${v}`).slice(0, 16);
}

export class EmbeddingCache extends AppendOnlyCache<Float32Array> {
  private constructor(
    directory: string,
    readonly encoder: Pick<TextEncoder, 'name' | 'version' | 'dims'>,
    key: string,
  ) {
    super(path.join(directory, `${encoder.name.replace(/[^a-z0-9-]/gi, '_').slice(0, 40)}-${key.slice(0, 16)}.jsonl`), key);
  }

  /** Why the cache is off (unreadable, unwritable, a link), once set: the run goes on without it. */
  private off: string | undefined;

  /**
   * Opens (and reads) the cache. A cache that cannot be read (a folder in its place, no permission) or written (a
   * read-only folder, a symbolic link) is off for the run, which goes on and says so (describeProblems): a cache only
   * saves work, so it never fails a run.
   */
  static open(directory: string, encoder: Pick<TextEncoder, 'name' | 'version' | 'dims'>): EmbeddingCache {
    const key = sha256(JSON.stringify({ name: encoder.name, version: encoder.version, dims: encoder.dims }));
    const cache = new EmbeddingCache(directory, encoder, key);
    try {
      cache.load();
    } catch (error) {
      cache.turnOff('cannot be read', error);
    }
    return cache;
  }

  private turnOff(what: string, error: unknown): void {
    this.off ??= `${this.file}: ${what} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the embedding cache is off for this run (vectors are computed, not kept)`;
  }

  override describeProblems(): string[] {
    return [...super.describeProblems(), ...(this.off ? [this.off] : [])];
  }

  protected decode(value: unknown): { k: string; value: Float32Array } | string {
    const entry = value as { k?: unknown; v?: unknown; c?: unknown };
    if (typeof entry !== 'object' || entry === null || typeof entry.k !== 'string' || typeof entry.v !== 'string') {
      return 'not an embedding line ({"k": text hash, "v": base64 vector})';
    }
    if (entry.c !== undefined && entry.c !== embeddingLineChecksum(entry.k, entry.v)) return 'the line does not match its checksum (changed after it was written)';
    const bytes = this.encoder.dims * 4;
    const buffer = Buffer.from(entry.v, 'base64');
    if (buffer.length !== bytes) return `vector has ${buffer.length} bytes, expected ${bytes} (${this.encoder.dims} float32)`;
    // The bytes as they are (float32 little-endian, as every host Node runs on), then checked.
    const vector = new Float32Array(this.encoder.dims);
    new Uint8Array(vector.buffer).set(buffer);
    for (let d = 0; d < vector.length; d++) {
      if (!Number.isFinite(vector[d])) return 'vector holds a value that is not a finite number';
    }
    return { k: entry.k, value: vector };
  }

  put(text: string, vector: Float32Array): void {
    if (vector.length !== this.encoder.dims) throw new Error(`embedding has ${vector.length} values, expected ${this.encoder.dims}`);
    const copy = Float32Array.from(vector);
    const k = this.textKey(text);
    if (this.off) {
      this.entries.set(k, copy);
      return;
    }
    try {
      const v = Buffer.from(copy.buffer).toString('base64');
      this.append(copy, { k, v, c: embeddingLineChecksum(k, v) });
    } catch (error) {
      this.turnOff('cannot be written', error);
    }
  }
}
