/**
 * Teacher labelling throughput: rows/s through the whole client (prompt, request, validation, logprob confidence)
 * against a local chat-completions server (its own process) that answers each request after a fixed delay, at several
 * concurrencies.
 *
 *   npm run bench:teacher [-- --delay-ms 50 --concurrency 1,8,32 --seconds 4]
 *
 * Each concurrency labels enough distinct rows to keep the pool busy for about --seconds at the ideal rate; the
 * ideal (concurrency x 1000 / delay) is printed beside the measured figure, and the client's own CPU time per row
 * (user + system of this process), which does not depend on how busy the machine is.
 */
import { fork } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDatasetText } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { DEFAULT_PROMPT_TEMPLATE } from '../../src/teacher/prompt';
import { planLabelRun, runLabelling } from '../../src/teacher/run';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'delay-ms': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '1,8,32' },
      seconds: { type: 'string', default: '4' },
    },
  });
  const delayMs = Number(values['delay-ms']);
  const levels = values.concurrency.split(',').map(Number);
  const seconds = Number(values.seconds);
  const child = fork(path.join(__dirname, 'teacherServer.ts'), [String(delayMs)], { execArgv: ['--import', 'tsx'] });
  const server = await new Promise<{ baseUrl: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { baseUrl: string }));
    child.once('exit', (code) => reject(new Error(`the benchmark server exited with code ${code}`)));
  });
  const fewShot = LABELS.map((label, index) => ({ text: `An example headline about ${label} number ${index}.`, label }));
  console.log(`Node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((load) => load.toFixed(1)).join(' ')}`);
  console.log(`server (separate process) answers after ${delayMs} ms; ${fewShot.length} few-shot examples; structured output + logprobs`);
  console.log('| concurrency | rows | seconds | rows/s | ideal rows/s | client CPU ms/row |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  try {
    let batch = 0;
    // The first pass (40 rows, not reported) loads the SDK and warms the JIT, so the first level is not charged for it.
    for (const [index, concurrency] of [8, ...levels].entries()) {
      const ideal = (concurrency * 1000) / delayMs;
      const rows = index === 0 ? 40 : Math.max(20, Math.round(ideal * seconds));
      batch += 1;
      const body = Array.from({ length: rows }, (_, index) =>
        JSON.stringify({ id: `b${batch}-${index}`, text: `Benchmark row ${batch}-${index}: ${'markets and matches '.repeat(1 + (index % 7))}` }),
      ).join('\n');
      const plan = planLabelRun(parseDatasetText(body, DEFAULT_FIELDS).rows, false);
      const cpuBefore = process.cpuUsage();
      const { summary } = await runLabelling(plan, {
        endpoint: { baseUrl: server.baseUrl, model: 'bench', temperature: 0, maxConcurrency: concurrency, requestTimeoutMs: 30_000, maxRetries: 0 },
        prompt: { labels: LABELS, template: DEFAULT_PROMPT_TEMPLATE, fewShot },
      });
      if (summary.labelled !== rows) throw new Error(`expected ${rows} labels, got ${summary.labelled} (failed ${summary.failedRequests})`);
      const cpu = process.cpuUsage(cpuBefore);
      const elapsed = summary.elapsedMs / 1000;
      const cpuPerRow = (cpu.user + cpu.system) / 1000 / rows;
      if (index === 0) continue;
      console.log(`| ${concurrency} | ${rows} | ${elapsed.toFixed(2)} | ${(rows / elapsed).toFixed(1)} | ${ideal.toFixed(0)} | ${cpuPerRow.toFixed(2)} |`);
    }
  } finally {
    child.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
