/**
 * Speed of the `static:<folder>` encoder (issue 13): `node --import tsx test/bench/staticEncoder.ts`.
 *
 * Writes a Model2Vec folder of the size of minishlab/potion-base-8M (30,000 WordPiece tokens learnt crudely from the
 * rows, 256 F32 dims: 30 MB; the real model cannot be downloaded here), then times on the first 10,000 rows of
 * ../shared/data/agnews-noisy/train.jsonl: opening the folder (read, check, hash), encoding the rows (best of --reps),
 * and, to decide `cacheable`, reading the same vectors back from the embedding cache.
 *
 * Options: --rows N (default 10000), --vocab N (default 30000), --dims N (default 256), --reps N (default 3).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { encodeTexts } from '../../src/training/encoder';
import { readStaticModel, staticEncoder } from '../../src/training/encoders/static';
import { seededValues, vocabularyFrom, writeModel2Vec } from '../support/model2vec';

const SOURCE = join(__dirname, '..', '..', '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, vocab: { type: 'string', default: '30000' }, dims: { type: 'string', default: '256' }, reps: { type: 'string', default: '3' } } });
  const rows = Number(values.rows);
  const dims = Number(values.dims);
  const texts = readFileSync(SOURCE, 'utf8')
    .trim()
    .split('\n')
    .slice(0, rows)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  const folder = mkdtempSync(join(tmpdir(), 'peerkd-static-bench-'));
  try {
    // The rows have fewer distinct words than potion-base-8M has tokens: the rest are BERT-style unused tokens.
    const vocab = vocabularyFrom(texts, Number(values.vocab));
    for (let i = 0; vocab.length < Number(values.vocab); i++) vocab.push(`[unused${i}]`);
    const random = seededValues(1);
    const vectors = new Float32Array(vocab.length * dims);
    for (let i = 0; i < vectors.length; i++) vectors[i] = random();
    writeModel2Vec(join(folder, 'model'), { vocab, vectors, dims });

    const rssBefore = process.memoryUsage().rss;
    let start = performance.now();
    const model = await readStaticModel(join(folder, 'model'));
    const openMs = performance.now() - start;
    const encoder = staticEncoder(model);
    console.log(`model: ${model.rows} tokens × ${model.dims} dims ${model.dtype} (${((model.rows * model.dims * 4) / 1e6).toFixed(1)} MB), ${model.tokenizer.describe}`);
    console.log(`open (read, check, SHA-256): ${openMs.toFixed(0)} ms, RSS +${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(0)} MB`);

    // Wall and CPU time: on a shared machine the CPU time is the figure that repeats.
    let best = Infinity;
    let bestCpu = Infinity;
    for (let rep = 0; rep < Number(values.reps); rep++) {
      start = performance.now();
      const cpu = process.cpuUsage();
      await encoder.encode(texts);
      const used = process.cpuUsage(cpu);
      best = Math.min(best, performance.now() - start);
      bestCpu = Math.min(bestCpu, (used.user + used.system) / 1000);
    }
    start = performance.now();
    let tokens = 0;
    for (const text of texts) tokens += model.tokenizer.encode(text).length;
    const tokenizeMs = performance.now() - start;
    console.log(
      `encode ${texts.length} rows (${(tokens / texts.length).toFixed(1)} tokens a row): best ${best.toFixed(0)} ms wall = ${Math.round(texts.length / (best / 1000))} texts/s; ` +
        `best ${bestCpu.toFixed(0)} ms CPU = ${Math.round(texts.length / (bestCpu / 1000))} texts per CPU-second; tokenizing alone ${tokenizeMs.toFixed(0)} ms wall (word cache warm)`,
    );

    // The cache's read-back speed: what caching these vectors would cost on a rerun.
    const cached = { ...encoder, cacheable: true };
    const cacheDir = join(folder, 'cache');
    await encodeTexts(cached, texts, EmbeddingCache.open(cacheDir, cached));
    start = performance.now();
    const cpu = process.cpuUsage();
    const again = await encodeTexts(cached, texts, EmbeddingCache.open(cacheDir, cached));
    const used = process.cpuUsage(cpu);
    console.log(`rerun from the embedding cache (open + ${again.cached} hits): ${(performance.now() - start).toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
