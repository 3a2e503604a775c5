/**
 * Encoder cost (issue 13): `node --import tsx test/bench/encoder.ts [--encoder use-lite] [--backend wasm]
 * [--rows 10000] [--data FILE] [--cache DIR]`.
 *
 * Encodes the first N texts of FILE (default ../shared/data/agnews-noisy/train.jsonl; where that is absent, the
 * 200-row fixture repeated with a row number so that every text differs) through encodeTexts and the disk cache in
 * DIR (default a fresh temporary folder), twice: the first pass computes every vector, the second reads them all from
 * the cache (a new cache object, as a rerun does). Prints one JSON line: backend, wall and CPU seconds (user + system
 * of this process) of each pass, rows/s, load average and cores.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../../src/training/backend';
import { encodeTexts, resolveEncoder } from '../../src/training/encoder';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { parseEncoderChoice, type BackendPreference } from '../../src/training/types';

const DEFAULT_DATA = join(__dirname, '..', '..', '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
const FIXTURE = join(__dirname, '..', 'fixtures', 'training', 'agnews-200.jsonl');

function texts(file: string | undefined, rows: number): { source: string; texts: string[] } {
  const source = file ?? (existsSync(DEFAULT_DATA) ? DEFAULT_DATA : FIXTURE);
  const all = readFileSync(source, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => String((JSON.parse(line) as { text: unknown }).text));
  const out: string[] = [];
  for (let i = 0; out.length < rows; i++) out.push(i < all.length ? all[i] : `${all[i % all.length]} (${i})`);
  return { source: all.length >= rows ? source : `${source} repeated`, texts: out };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      encoder: { type: 'string', default: 'use-lite' },
      backend: { type: 'string', default: 'auto' },
      rows: { type: 'string', default: '10000' },
      data: { type: 'string' },
      cache: { type: 'string' },
    },
  });
  const parsed = parseEncoderChoice(values.encoder);
  if ('error' in parsed) throw new Error(`--encoder ${parsed.error}`);
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got ${values.rows}`);
  const data = texts(values.data, rows);
  const cacheDir = values.cache ?? mkdtempSync(join(tmpdir(), 'peerkd-encoder-bench-'));
  const backend = await selectBackend(values.backend as BackendPreference);
  const first = (await resolveEncoder(parsed.choice)).encoder;
  if (!first) throw new Error('encoder none encodes nothing');
  const encoder = first;
  const pass = async (encoder: NonNullable<typeof first>) => {
    // Opening the cache (reading its file) counts: a rerun pays it.
    const cpu = process.cpuUsage();
    const started = performance.now();
    const cache = EmbeddingCache.open(cacheDir, encoder);
    const { cached } = await encodeTexts(encoder, data.texts, cache, undefined, undefined, (line) => console.error(line));
    const wallS = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return { wallS: +wallS.toFixed(2), cpuS: +((used.user + used.system) / 1e6).toFixed(2), cached, rowsPerS: Math.round(rows / wallS) };
  };
  const load = loadavg().map((x) => +x.toFixed(2));
  const computed = await pass(first);
  // The second pass must not profit from the encoder's in-process memo: a freshly opened encoder, as a rerun has.
  const fromCache = await pass((await resolveEncoder(parsed.choice)).encoder!);
  console.log(
    JSON.stringify({
      encoder: `${encoder.name} ${encoder.version}`,
      backend: `${backend.name} (${backend.source})`,
      skipped: backend.skipped,
      rows,
      data: data.source,
      computed,
      fromCache,
      loadBefore: load,
      loadAfter: loadavg().map((x) => +x.toFixed(2)),
      cores: cpus().length,
    }),
  );
  if (!values.cache) rmSync(cacheDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
