import { readFileSync } from 'node:fs';
import { cpuUsage } from 'node:process';
import { selectBackend } from '../../src/training/backend';
import { openUseLite } from '../../src/training/encoders/useLite';
import { encodeTexts } from '../../src/training/encoder';
const n = Number(process.argv[2] ?? 2000);
const texts = readFileSync('/work/shared/data/agnews-noisy/train.jsonl', 'utf8').trim().split('\n').slice(0, n).map((l) => JSON.parse(l).text as string);
(async () => {
  await selectBackend('wasm');
  const results: Float32Array[] = [];
  for (const threads of process.argv.slice(3).map(Number)) {
    const enc = openUseLite({ threads });
    const t = performance.now(); const c = cpuUsage();
    const lines: string[] = [];
    const r = await encodeTexts(enc, texts, undefined, undefined, undefined, (l) => lines.push(l));
    const cu = cpuUsage(c);
    results.push(r.values);
    console.log(`threads ${threads}: wall s ${((performance.now() - t) / 1000).toFixed(1)} process cpu s ${((cu.user + cu.system) / 1e6).toFixed(1)} | ${lines.join(' | ')} | ${enc.describeUsage()}`);
  }
  for (const r of results.slice(1)) {
    let diff = 0; for (let i = 0; i < r.length; i++) diff = Math.max(diff, Math.abs(r[i] - results[0][i]));
    console.log('max |diff| vs first', diff, 'identical', Buffer.compare(Buffer.from(r.buffer), Buffer.from(results[0].buffer)) === 0);
  }
})();
