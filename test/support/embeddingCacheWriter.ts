/**
 * A process that fills the embedding cache, for the tests of runs sharing one cache: `node --import tsx
 * embeddingCacheWriter.ts DIR ORDER` opens the cache in DIR, writes DIR/ready-ORDER and waits for a second writer's
 * ready file (so that both have read the cache before either appends), then encodes EMBEDDING_WRITER_TEXTS with
 * writerEncoder (in order, or reversed when ORDER is `reverse`), 16 texts a batch, appending each vector as it comes.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { encodeTexts, type TextEncoder } from '../../src/training/encoder';

export const EMBEDDING_WRITER_TEXTS = Array.from({ length: 1500 }, (_, i) => `text ${i} ${'x'.repeat(i % 50)}`);

/** 1,536-d vectors (a line of about 8 KB, as text-embedding-3-small's) that a text's length and position determine. */
export const writerEncoder: TextEncoder = {
  name: 'endpoint',
  version: 'writer 1536d',
  dims: 1536,
  cacheable: true,
  batchRows: 16,
  async encode(texts) {
    const out = new Float32Array(texts.length * 1536);
    texts.forEach((text, r) => {
      for (let d = 0; d < 1536; d++) out[r * 1536 + d] = text.length * 1000 + d;
    });
    return out;
  },
};

if (require.main === module) {
  const [dir, order] = process.argv.slice(2);
  const texts = order === 'reverse' ? [...EMBEDDING_WRITER_TEXTS].reverse() : EMBEDDING_WRITER_TEXTS;
  const cache = EmbeddingCache.open(dir, writerEncoder);
  writeFileSync(path.join(dir, `ready-${order}`), '');
  const started = Date.now();
  const wait = setInterval(() => {
    const ready = readdirSync(dir).filter((name) => name.startsWith('ready-')).length;
    if (ready < 2 && Date.now() - started < 30_000) return;
    clearInterval(wait);
    void encodeTexts(writerEncoder, texts, cache);
  }, 5);
}
