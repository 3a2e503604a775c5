/**
 * use-lite encoding time on one thread and on several (issue 13: 10,000 AG News rows in ≤ 150 s wall on 2 cores):
 * encodeTexts as the run calls it (estimate line, batches, no cache), per thread count the wall and CPU seconds (the
 * whole process, threads included), peak RSS, the load average before and after (the machine may be shared), and
 * whether the vectors are identical to the first count's bit for bit.
 *
 *   node --import tsx test/bench/useLiteThreads.ts [--data FILE.jsonl] [--rows 2000] [--threads 1,2]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../../src/training/backend';
import { encodeTexts } from '../../src/training/encoder';
import { openUseLite } from '../../src/training/encoders/useLite';

const { values: flags } = parseArgs({
  options: {
    data: { type: 'string', default: path.join('/work', 'shared', 'data', 'agnews-noisy', 'train.jsonl') },
    rows: { type: 'string', default: '2000' },
    threads: { type: 'string', default: '1,2' },
  },
});
const rows = Number(flags.rows);
const texts = readFileSync(flags.data, 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .slice(0, rows)
  .map((line) => (JSON.parse(line) as { text: string }).text);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main() {
  const backend = await selectBackend('wasm');
  const simd = await backend.tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threaded = await backend.tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  console.log(`${texts.length} rows of ${flags.data}; wasm SIMD ${simd}, wasm multithreading ${threaded}`);
  let first: Float32Array | undefined;
  for (const threads of flags.threads.split(',').map(Number)) {
    const encoder = openUseLite({ threads });
    const lines: string[] = [];
    const loadBefore = load();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const { values } = await encodeTexts(encoder, texts, undefined, undefined, undefined, (line) => lines.push(line));
    const wall = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const same = first ? Buffer.from(values.buffer).equals(Buffer.from(first.buffer)) : true;
    first ??= values;
    console.log(
      `threads ${threads}: wall ${wall.toFixed(1)} s, CPU ${((used.user + used.system) / 1e6).toFixed(1)} s, ` +
        `${(texts.length / wall).toFixed(1)} rows/s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, ` +
        `load ${loadBefore} → ${load()}; identical to the first: ${same}\n  ${lines.join('\n  ')}\n  ${encoder.describeUsage() ?? 'one thread'}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
