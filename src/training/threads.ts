/**
 * Worker threads of the training process: how many to start, where a thread's entry lies (next to the bundle, or
 * the TypeScript source under tsx) and how to start one. Used by the student pool (studentPool.ts) and the use-lite
 * encoder (encoders/useLite.ts), so that both read the one thread setting (EngineTuning.threads) the same way.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Threads to start: `wanted` (0 = one per available core), at most `cap` (what the work can use, or its memory allows). */
export function threadCount(wanted: number, cap: number): number {
  return Math.max(1, Math.min(wanted > 0 ? wanted : availableParallelism(), cap));
}

/** `<base>.js` (in the bundles' dist/) or `<base>.ts` (the sources, under tsx) in `directory`; null if neither is there. */
export function threadEntry(directory: string, base: string): string | null {
  for (const name of [`${base}.js`, `${base}.ts`]) {
    const file = path.join(directory, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** Starts a thread on `entry` with `workerData`. */
export function startThread(entry: string, workerData: unknown): Worker {
  if (entry.endsWith('.ts')) {
    // The sources under tsx (unit tests, benchmarks): the thread loads tsx's require hook, then the entry.
    const tsx = createRequire(entry).resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, { eval: true, workerData });
  }
  return new Worker(entry, { workerData });
}
