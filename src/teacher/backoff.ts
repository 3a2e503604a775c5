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

/**
 * The wait the server asked for, or null when it asked for none or for nothing valid. `Retry-After` is delay-seconds
 * (digits) or an HTTP date still to come; anything else (`-5`, `1e9`, a past date) is ignored rather than guessed at:
 * Date.parse reads `-5` as the year −5, which made a retry at once, and a hostile server could so have every retry
 * sent without a pause.
 */
export function serverRequestedDelayMs(headers: { get(name: string): string | null } | undefined): number | null {
  if (!headers) {
    return null;
  }
  const millis = headers.get('retry-after-ms');
  if (millis !== null && /^\s*\d+(\.\d+)?\s*$/.test(millis)) {
    return Number.parseFloat(millis);
  }
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') {
    return null;
  }
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    return Number.parseFloat(value) * 1000;
  }
  // An HTTP date names a weekday and a month (RFC 9110 IMF-fixdate, and the obsolete RFC 850 and asctime forms).
  if (!/[a-z]{3}/i.test(value)) {
    return null;
  }
  // A date already past is ignored as a negative number is: taken as "now", a server whose clock runs behind (or one
  // that means harm) had every retry of a text sent at once, and a short outage failed the texts for good.
  const date = Date.parse(value);
  return Number.isNaN(date) || date <= Date.now() ? null : date - Date.now();
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
