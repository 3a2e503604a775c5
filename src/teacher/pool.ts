/**
 * Runs `work` over `items` with at most `concurrency` calls in flight (one until `widenAfter` settles). Stops taking new items once `signal` aborts;
 * calls already started finish (or abort through the same signal) before the returned promise settles.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
  /** Until this settles (or the signal aborts), only one call runs: the first. */
  widenAfter?: Promise<unknown>,
): Promise<void> {
  let next = 0;
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  const worker = async (_: unknown, index: number) => {
    if (index > 0 && widenAfter) await Promise.race([widenAfter, aborted]);
    while (next < items.length && !signal?.aborted) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  };
  const width = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length));
  await Promise.all(Array.from({ length: width }, worker));
}
