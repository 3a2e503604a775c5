/**
 * The fetch the teacher's OpenAI client uses. Plain `fetch` trusts the server too much for a client that sends
 * dataset rows: it follows a redirect to any host (re-POSTing the prompt there), and the SDK's timeout only covers the
 * headers while the body may be dripped or decompress to gigabytes. This wrapper
 * - follows redirects only within the configured origin (a redirect elsewhere is refused: nothing is sent there);
 * - reads the whole body before the SDK sees the response, so the SDK's request timeout covers the full response;
 * - caps the (decompressed) body size, so an over-size answer or a gzip bomb fails the request instead of the process.
 */

/** An answer is a few hundred bytes; this leaves a wide margin (logprobs, verbose servers) and still bounds memory. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Batch API output files hold one answer per request (up to 50,000): they get their own, larger cap. */
export const MAX_BATCH_FILE_BYTES = 256 * 1024 * 1024;

/** Same-origin redirects followed before giving up (fetch's own limit is 20). */
export const MAX_REDIRECTS = 5;

/** The server redirected to another origin (or too often): the request is not sent there. Fatal for a run. */
export class RedirectRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedirectRefusedError';
  }
}

/** The response body is larger than the cap (after decompression). The request fails without retry. */
export class ResponseTooLargeError extends Error {
  constructor(readonly url: string, readonly limit: number) {
    super(`the response from ${url} is larger than ${formatBytes(limit)} (after decompression) and was refused`);
    this.name = 'ResponseTooLargeError';
  }
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Statuses a Response may not be constructed with a body for. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

type Fetch = typeof fetch;

function urlOf(input: Parameters<Fetch>[0]): URL {
  if (input instanceof URL) return new URL(input.href);
  if (typeof input === 'string') return new URL(input);
  return new URL(input.url);
}

/** Batch API file downloads (`GET /files/{id}/content`) are streamed with the larger cap; everything else is buffered. */
function isFileDownload(url: URL): boolean {
  return /\/files\/[^/]+\/content$/.test(url.pathname);
}

export interface GuardedFetchLimits {
  /**
   * Cap of a buffered response body; default MAX_RESPONSE_BYTES. A caller whose answers grow with the request (the
   * endpoint encoder: texts × dims floats) sizes it per request instead of raising it for every request.
   */
  maxResponseBytes?: number;
}

/** A fetch for the OpenAI SDK (`new OpenAI({ fetch })`) with the guards above. `inner` is the real fetch. */
export function guardedFetch(inner: Fetch = globalThis.fetch, limits: GuardedFetchLimits = {}): Fetch {
  const maxResponseBytes = limits.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  return async (input, init) => {
    let url = urlOf(input);
    const origin = url.origin;
    // Which cap applies is decided by the URL asked for: a redirect to a /files/…/content path would otherwise lift an
    // embeddings or chat answer's cap (a few MB) to a batch file's (256 MB).
    const download = isFileDownload(url);
    let request: RequestInit = { ...init, redirect: 'manual' };
    for (let hop = 0; ; hop += 1) {
      const response = await inner(url, request);
      if (!REDIRECT_STATUSES.has(response.status)) {
        return download
          ? limitStream(response, url, MAX_BATCH_FILE_BYTES)
          : await buffered(response, url, maxResponseBytes, init?.signal ?? undefined);
      }
      const location = response.headers.get('location');
      await response.body?.cancel().catch(() => undefined);
      if (location === null) {
        throw new RedirectRefusedError(`${url.origin} answered HTTP ${response.status} without a Location header`);
      }
      let target: URL;
      try {
        target = new URL(location, url);
      } catch {
        throw new RedirectRefusedError(`${url.origin} redirected to an invalid location`);
      }
      if (target.origin !== origin) {
        // Only the origin is named: the rest of the location may carry tokens.
        throw new RedirectRefusedError(
          `${origin} redirected the request to another origin (${target.origin}); PeerKD sends rows only to the configured ` +
            'base URL, so it did not follow. Configure the final URL as the base URL if that server is intended.',
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new RedirectRefusedError(`${origin} redirected more than ${MAX_REDIRECTS} times`);
      }
      const method = (request.method ?? 'GET').toUpperCase();
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        // As fetch does: the follow-up is a GET without the body.
        request = { ...request, method: 'GET', body: undefined };
      }
      url = target;
    }
  };
}

/** Reads the whole body (under the caller's signal, i.e. the SDK's timeout) and hands the SDK a finished response. */
async function buffered(response: Response, url: URL, limit: number, signal: AbortSignal | undefined): Promise<Response> {
  const declared = Number(response.headers.get('content-length'));
  if (response.headers.get('content-encoding') === null && Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(url.origin + url.pathname, limit);
  }
  const chunks: Uint8Array[] = [];
  if (response.body) {
    const reader = response.body.getReader();
    const onAbort = () => void reader.cancel(signal?.reason).catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let total = 0;
      for (;;) {
        if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
        const { done, value } = await reader.read();
        if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
        if (done) break;
        total += value.byteLength;
        if (total > limit) {
          await reader.cancel().catch(() => undefined);
          throw new ResponseTooLargeError(url.origin + url.pathname, limit);
        }
        chunks.push(value);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
  const headers = new Headers(response.headers);
  // The body below is already decoded.
  headers.delete('content-encoding');
  headers.delete('content-length');
  const body = response.body === null || NULL_BODY_STATUSES.has(response.status) ? null : Buffer.concat(chunks);
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** Passes a large download through as a stream that errors once more than `limit` bytes went by. */
function limitStream(response: Response, url: URL, limit: number): Response {
  if (!response.body) return response;
  let total = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > limit) controller.error(new ResponseTooLargeError(url.origin + url.pathname, limit));
      else controller.enqueue(chunk);
    },
  });
  const headers = new Headers(response.headers);
  headers.delete('content-encoding');
  headers.delete('content-length');
  return new Response(response.body.pipeThrough(counter), { status: response.status, statusText: response.statusText, headers });
}
