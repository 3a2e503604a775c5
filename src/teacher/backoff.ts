import type { BackoffOptions } from './types';

/**
 * The wait before retry number `attempt` (1-based): exponential with full jitter, unless the server named a wait with
 * `Retry-After` / `retry-after-ms`, which is honoured (capped by maxDelayMs so that a hostile header cannot stall a run).
 */
export function retryDelayMs(
  attempt: number,
  options: BackoffOptions,
  headers: { get(name: string): string | null } | undefined,
  random: () => number = Math.random,
): number {
  const fromServer = serverRequestedDelayMs(headers);
  if (fromServer !== null) {
    return Math.min(options.maxDelayMs, fromServer);
  }
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function serverRequestedDelayMs(headers: { get(name: string): string | null } | undefined): number | null {
  if (!headers) {
    return null;
  }
  const millis = headers.get('retry-after-ms');
  if (millis !== null && Number.isFinite(Number.parseFloat(millis))) {
    return Math.max(0, Number.parseFloat(millis));
  }
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') {
    return null;
  }
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    return Math.max(0, Number.parseFloat(value) * 1000);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** Resolves after `ms`, or rejects as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
