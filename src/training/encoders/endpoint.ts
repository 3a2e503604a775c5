/**
 * The `endpoint` encoder: the `/embeddings` of an OpenAI-compatible endpoint (OpenAI text-embedding-3-*, Ollama
 * nomic-embed-text, vLLM, LM Studio, llama.cpp `--embeddings`), by default the teacher's base URL. It follows the
 * teacher client's rules (src/teacher/): the key only in memory and redacted from every message, same-origin
 * redirects and a capped body (http.ts guardedFetch), bounded concurrency (pool.ts), retries of 408/409/429/5xx and
 * lost connections with Retry-After honoured (backoff.ts), a per-request timeout that covers the whole body, and the
 * run's cancel aborting the requests in flight. Every answer is checked (count, `index` order, one size, finite
 * values) before a vector reaches the cache; an endpoint without embeddings fails at once with a message saying so.
 */
import type { EncoderEnvironment, TextEncoder } from '../encoder';
import type { EndpointEncoderSettings } from '../types';
import { retryDelayMs, sleep } from '../../teacher/backoff';
import { guardedFetch, RedirectRefusedError, ResponseTooLargeError, formatBytes } from '../../teacher/http';
import { ProxyError, ProxySettingError } from '../../teacher/proxy';
import { runPool } from '../../teacher/pool';
import { describeError, redactSecret } from '../../teacher/redact';
import { DEFAULT_TEACHER_SETTINGS } from '../../teacher/settings';
import { DEFAULT_BACKOFF } from '../../teacher/types';
import { UTF8_BYTES_PER_TOKEN } from '../../teacher/tokens';
import { isLoopbackHost, normaliseBaseUrl } from '../../teacher/url';

/**
 * The environment variable through which a host hands the API key to the training child process (client.ts forks it
 * with this variable set; workerRuntime.ts reads it once and removes it). Never argv, never the request or a file.
 */
export const ENCODER_API_KEY_ENV = 'PEERKD_ENCODER_API_KEY';
/** In the child: the key its host handed over, removed from the environment so that nothing started later inherits it. */
export function takeEncoderApiKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env[ENCODER_API_KEY_ENV] || undefined;
  delete env[ENCODER_API_KEY_ENV];
  return key;
}

/** For a host: the child's environment with the key under ENCODER_API_KEY_ENV (or without that variable when there is none). */
export function withEncoderApiKey(env: NodeJS.ProcessEnv, apiKey: string | undefined): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out[ENCODER_API_KEY_ENV];
  if (apiKey) out[ENCODER_API_KEY_ENV] = apiKey;
  return out;
}

export const DEFAULT_ENCODER_MODEL = 'text-embedding-3-small';
/** Texts per request: a batch of the cache (256) goes out as 8 requests, as many as the teacher's default concurrency. */
export const INPUTS_PER_REQUEST = 32;
/** The largest vector accepted (text-embedding-3-large: 3072; 4096-d models exist); it sizes the response cap. */
export const MAX_EMBEDDING_DIMS = 4096;
/** Bytes one value may take in a JSON answer (`-0.012345678901234567,` plus spacing). */
const BYTES_PER_JSON_VALUE = 24;
const PROBE_TEXT = 'PeerKD dimension probe';

/**
 * The cap on one answer: texts × MAX_EMBEDDING_DIMS values as JSON plus 64 KiB of envelope (3 MiB for 32 texts).
 * The teacher's 1 MiB (http.ts MAX_RESPONSE_BYTES) fits one chat answer, not 32 vectors of 3072 floats (about 2 MB).
 */
export function responseCapBytes(texts: number): number {
  return 64 * 1024 + texts * MAX_EMBEDDING_DIMS * BYTES_PER_JSON_VALUE;
}

/** The settings with their defaults: the teacher's base URL, concurrency, timeout and retries. */
export function endpointSettings(settings: Partial<EndpointEncoderSettings> = {}): Required<Omit<EndpointEncoderSettings, 'dimensions'>> & Pick<EndpointEncoderSettings, 'dimensions'> {
  return {
    baseUrl: normaliseBaseUrl(settings.baseUrl || DEFAULT_TEACHER_SETTINGS.baseUrl, "The endpoint encoder's base URL"),
    model: settings.model || DEFAULT_ENCODER_MODEL,
    dimensions: settings.dimensions,
    maxConcurrency: settings.maxConcurrency ?? DEFAULT_TEACHER_SETTINGS.maxConcurrency,
    requestTimeoutMs: settings.requestTimeoutMs ?? DEFAULT_TEACHER_SETTINGS.requestTimeoutMs,
    maxRetries: settings.maxRetries ?? DEFAULT_TEACHER_SETTINGS.maxRetries,
  };
}

/** The encoder's version (it keys the cache and is saved with a model): base URL, model and size; never the key. */
export function endpointVersion(baseUrl: string, model: string, dims: number): string {
  return `${baseUrl} ${model} ${dims}d`;
}

/** The base URL, model and size a version names (a saved model reopens its endpoint from it), or undefined. */
export function parseEndpointVersion(version: string): { baseUrl: string; model: string; dims: number } | undefined {
  const match = /^(\S+) (.+) (\d+)d$/.exec(version);
  return match ? { baseUrl: match[1], model: match[2], dims: Number(match[3]) } : undefined;
}

/** Tokens the texts will be billed for, roughly (teacher/tokens.ts: UTF-8 bytes / 4, as the teacher's estimate). */
export function estimateEmbeddingTokens(texts: readonly string[]): number {
  let bytes = 0;
  for (const text of texts) bytes += Buffer.byteLength(text, 'utf8');
  return Math.ceil(bytes / UTF8_BYTES_PER_TOKEN);
}

/** One line for the log, the CLI and the editor's confirmation, before anything is sent; a text on several rows is sent once (encodeTexts). */
export function formatEmbeddingEstimate(rows: readonly string[], baseUrl: string, model: string): string {
  const texts = [...new Set(rows)];
  const tokens = estimateEmbeddingTokens(texts);
  const requests = Math.ceil(texts.length / INPUTS_PER_REQUEST);
  return (
    `encoder endpoint: ${texts.length} text(s) to embed with ${model} at ${baseUrl}` +
    ' (texts already in the cache are not sent again)' +
    `: about ${tokens.toLocaleString('en-US')} tokens (${UTF8_BYTES_PER_TOKEN} bytes of UTF-8 a token) in ${requests} request(s)`
  );
}

/** A failure every further request would meet too, or an answer that is not usable; key-redacted, not yet prefixed. */
class EndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointError';
  }
}

/**
 * The words of an HTML page: head, style and script elements and every tag become a space. One pass: the regular
 * expressions this replaces (`<(head|style|script)[\s\S]*?<\/\1>`, `<[^>]*>`) took time quadratic in the number of
 * unclosed `<head` or `<` in the body, hours on a 3 MB error body, with the worker's event loop (and cancel) blocked.
 */
export function stripMarkup(html: string): string {
  const lower = html.toLowerCase();
  const unclosed = new Set<string>();
  let out = '';
  let at = 0;
  while (at < html.length) {
    const open = html.indexOf('<', at);
    if (open < 0) {
      out += html.slice(at);
      break;
    }
    out += html.slice(at, open);
    const element = /^<(head|style|script)[\s>]/.exec(lower.slice(open, open + 8))?.[1];
    if (element && !unclosed.has(element)) {
      const close = lower.indexOf(`</${element}>`, open);
      if (close >= 0) {
        out += ' ';
        at = close + element.length + 3;
        continue;
      }
      unclosed.add(element); // no closing tag after here, nor after any later position
    }
    const end = html.indexOf('>', open);
    if (end < 0) {
      out += html.slice(open); // an unterminated tag stays text
      break;
    }
    out += ' ';
    at = end + 1;
  }
  return out;
}

/** The server's own words from an error body (`{"error": {"message"}}`, `{"error": "…"}`, or text), short. */
function serverMessage(text: string): string {
  let message = text;
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = body?.error;
    if (typeof error === 'string') message = error;
    else if (error && typeof (error as { message?: unknown }).message === 'string') message = (error as { message: string }).message;
    else if (typeof body?.message === 'string') message = body.message;
    else if (typeof body?.detail === 'string') message = body.detail;
  } catch {
    // Not JSON: the text itself, without the markup of an HTML error page.
    message = stripMarkup(text);
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/**
 * The longest text of a refused request, named by its length and beginning: a server refuses a whole request for one
 * text beyond its model's context (OpenAI: 8,191 tokens), and the user has to find that row.
 */
function longestText(texts: readonly string[]): string {
  if (texts.length === 0) return '';
  const longest = texts.reduce((a, b) => (b.length > a.length ? b : a));
  const start = longest.replace(/\s+/g, ' ').trim();
  return `; the longest of its ${texts.length} text(s) has ${longest.length.toLocaleString('en-US')} characters: ${JSON.stringify(start.length > 60 ? `${start.slice(0, 60)}…` : start)}`;
}

/** Whether a 400/422 says the model has no embeddings (vLLM, Ollama, LM Studio word it differently). */
function saysNoEmbeddings(message: string): boolean {
  return /embed/i.test(message) && /(not|n't|unsupported|no )/i.test(message);
}

/**
 * The vectors of an answer, in input order (by `data[i].index`), each checked, and the tokens the server counted
 * (`usage.prompt_tokens`; 0 when absent, as on many local servers); throws EndpointError naming the URL.
 */
export function parseEmbeddings(
  text: string,
  count: number,
  dims: number | undefined,
  url: string,
  /** Where `dims` came from, said when a vector has another size (the size asked for, a saved model's). */
  sizeNote = '',
): { vectors: Float32Array[]; promptTokens: number } {
  const fail = (problem: string) => new EndpointError(`${url} returned ${problem}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // A web UI at the base URL (Open WebUI, a proxy's login page) answers any path with a page and 200.
    if (/^\s*</.test(text)) {
      const words = stripMarkup(text).replace(/\s+/g, ' ').trim();
      const base = url.replace(/\/embeddings$/, '');
      throw fail(
        `an HTML page, not JSON (${JSON.stringify(words.length > 80 ? `${words.slice(0, 80)}…` : words)}): check that ${base} is the base URL of the server's ` +
          'OpenAI-compatible API (usually ending in /v1), in peerkd.encoder.baseUrl / --encoder-base-url',
      );
    }
    throw fail('an answer that is not JSON');
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw fail('an answer without a "data" list (not an embeddings response)');
  if (data.length !== count) throw fail(`${data.length} embedding(s) for ${count} text(s)`);
  const out: Float32Array[] = new Array(count);
  let size = dims;
  data.forEach((item: unknown, position) => {
    const { index, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      throw fail(`an embedding without a valid "index" (item ${position} has ${JSON.stringify(index) ?? 'none'}; expected 0 to ${count - 1})`);
    }
    if (out[index]) throw fail(`two embeddings with index ${index}`);
    let vector: Float32Array;
    if (typeof embedding === 'string') {
      // encoding_format base64: float32 little-endian. Buffer.from skips what is not base64, so a vector sent as the
      // text "[0.12, -0.5, …]" would decode its digits into other numbers: only strict base64 is read.
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(embedding) || embedding.length % 4 !== 0) {
        throw fail(`an embedding that is a string but not base64 (index ${index}: ${JSON.stringify(embedding.slice(0, 20))}${embedding.length > 20 ? '…' : ''})`);
      }
      const bytes = Buffer.from(embedding, 'base64');
      if (bytes.length % 4 !== 0) throw fail(`a base64 embedding of ${bytes.length} bytes, not a whole number of float32 (index ${index})`);
      vector = new Float32Array(bytes.length / 4);
      for (let d = 0; d < vector.length; d++) vector[d] = bytes.readFloatLE(d * 4);
    } else if (Array.isArray(embedding)) {
      vector = new Float32Array(embedding.length);
      for (let d = 0; d < embedding.length; d++) {
        const value = embedding[d] as unknown;
        if (typeof value !== 'number') throw fail(`an embedding holding ${value === null ? 'null' : typeof value} (index ${index}, value ${d})`);
        vector[d] = value;
      }
    } else {
      throw fail(`an item without an "embedding" list (index ${index})`);
    }
    if (vector.length === 0) throw fail(`an empty embedding (index ${index})`);
    if (vector.length > MAX_EMBEDDING_DIMS) throw fail(`vectors of ${vector.length} values; PeerKD takes at most ${MAX_EMBEDDING_DIMS}`);
    if (size === undefined) size = vector.length;
    if (vector.length !== size) {
      throw fail(`a vector of ${vector.length} values where ${dims === undefined ? 'the others have' : 'this encoder has'} ${size} (index ${index})${dims === undefined ? '' : sizeNote}`);
    }
    for (let d = 0; d < vector.length; d++) {
      if (!Number.isFinite(vector[d])) throw fail(`a value that is not a finite number (index ${index}, value ${d})`);
    }
    out[index] = vector;
  });
  const tokens = (body as { usage?: { prompt_tokens?: unknown } }).usage?.prompt_tokens;
  return { vectors: out, promptTokens: typeof tokens === 'number' && Number.isFinite(tokens) && tokens > 0 ? tokens : 0 };
}

/**
 * Different texts of one request at or above which one vector for all of them is refused: an embedding model gives two
 * different texts the same vector only by accident, never ten in a row.
 */
export const SAME_VECTOR_MIN_TEXTS = 10;

/**
 * Refuses an answer that gives every text of the request the same vector (a server or proxy that embeds only the
 * first input of a list, or the empty string; or one that truncates texts sharing a long beginning): well-formed finite vectors, which would be cached, billed and trained
 * on, and which the engine would then report as "did not help this dataset".
 */
function assertVaried(vectors: readonly Float32Array[], texts: readonly string[], url: string): void {
  if (vectors.length < SAME_VECTOR_MIN_TEXTS || new Set(texts).size < SAME_VECTOR_MIN_TEXTS) return;
  const [first] = vectors;
  if (!vectors.every((vector) => vector.every((x, d) => x === first[d]))) return;
  throw new EndpointError(
    `${url} returned the same vector for all ${texts.length} different texts of a request: the server does not embed each input of a list ` +
      '(it embeds one of them, or none), or it cuts every text at its input limit and these differ only after it (a long beginning they share, ' +
      'such as a prompt template). Nothing of it is cached: check the server, or choose another encoder (--encoder, peerkd.training.encoder)',
  );
}

/** Whether a saved model's endpoint may be used without the user naming it: a loopback host, or the default endpoint. */
function mayReopenUnnamed(baseUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return false;
  }
  if (isLoopbackHost(url.hostname)) return true;
  return url.origin === new URL(DEFAULT_TEACHER_SETTINGS.baseUrl).origin;
}

/** Opens the endpoint encoder: settings, then (when the size is not known yet) one probe request for it. */
export async function openEndpoint(environment: EncoderEnvironment): Promise<TextEncoder> {
  const saved = environment.reopen ? parseEndpointVersion(environment.reopen.version) : undefined;
  // A saved model reopens the endpoint it was trained with, unless the host names one. A model folder is a file anyone
  // can write: its endpoint gets the texts (and the key) only when it is this machine or the default endpoint, which
  // the key was given for; any other the user names first (--encoder-base-url, peerkd.encoder.baseUrl).
  if (!environment.endpoint && environment.reopen && !saved) {
    // Not a version this encoder writes: nothing says where the model's vectors came from, so nothing is sent anywhere.
    throw new Error(`the model names the endpoint encoder version ${JSON.stringify(environment.reopen.version.slice(0, 200))}, which is not "<base URL> <model> <size>d"; give --encoder-base-url and --encoder-model (editor: peerkd.encoder.baseUrl and peerkd.encoder.model)`);
  }
  if (!environment.endpoint && saved && !mayReopenUnnamed(saved.baseUrl)) {
    throw new Error(
      `the model was trained with the endpoint ${saved.baseUrl} (model ${saved.model}); PeerKD sends texts and the API key only to an endpoint you name: ` +
        `give --encoder-base-url ${saved.baseUrl} --encoder-model ${saved.model} (editor: peerkd.encoder.baseUrl and peerkd.encoder.model) if you trust it`,
    );
  }
  const settings = endpointSettings(environment.endpoint ?? (saved ? { baseUrl: saved.baseUrl, model: saved.model } : {}));
  if (settings.dimensions !== undefined && !(Number.isInteger(settings.dimensions) && settings.dimensions >= 1 && settings.dimensions <= MAX_EMBEDDING_DIMS)) {
    throw new Error(`the vector size asked for (dimensions ${settings.dimensions}) must be an integer from 1 to ${MAX_EMBEDDING_DIMS}`);
  }
  const client = new EmbeddingsClient(settings, environment);
  let dims = settings.dimensions;
  if (dims === undefined && saved && saved.baseUrl === settings.baseUrl && saved.model === settings.model) dims = saved.dims;
  let witness: { text: string; vector: Float32Array } | undefined;
  if (dims === undefined) {
    try {
      const [vector] = await client.embed([PROBE_TEXT], undefined, environment.signal);
      dims = vector.length;
      witness = { text: PROBE_TEXT, vector };
    } catch (error) {
      if (environment.signal?.aborted) throw error;
      throw new Error(client.redact(error instanceof EndpointError ? error.message : describeError(error, environment.apiKey)));
    }
  }
  const size = dims;
  const failure = (error: unknown) => new Error(`encoder endpoint: ${client.redact(error instanceof EndpointError ? error.message : describeError(error, environment.apiKey))}`);
  return {
    name: 'endpoint',
    version: endpointVersion(settings.baseUrl, settings.model, size),
    dims: size,
    cacheable: true,
    witness,
    // Opened without a probe (the size was known): the witness when texts are to be sent (encodeTexts checks it against the cache).
    probeWitness: witness
      ? undefined
      : async () => {
          try {
            const [vector] = await client.embed([PROBE_TEXT], size, environment.signal);
            return { text: PROBE_TEXT, vector };
          } catch (error) {
            if (environment.signal?.aborted) throw error;
            throw failure(error);
          }
        },
    estimate: async (texts) => formatEmbeddingEstimate(texts, settings.baseUrl, settings.model),
    describeUsage: () => {
      const { requests, retries, texts, tokens } = client.stats;
      if (requests === 0) return undefined;
      return `encoder endpoint: ${texts} text(s) embedded in ${requests} request(s) (${retries} retried)${tokens > 0 ? `, ${tokens.toLocaleString('en-US')} tokens as the server counted them` : ''}`;
    },
    async encode(texts) {
      const out = new Float32Array(texts.length * size);
      const chunks: number[] = [];
      for (let from = 0; from < texts.length; from += INPUTS_PER_REQUEST) chunks.push(from);
      // The first failure stops the other requests of this call; the run's cancel stops them all.
      const stop = new AbortController();
      const signals = [stop.signal, ...(environment.signal ? [environment.signal] : [])];
      const signal = AbortSignal.any(signals);
      let failed: unknown;
      await runPool(
        chunks,
        settings.maxConcurrency,
        async (from) => {
          try {
            const vectors = await client.embed(texts.slice(from, from + INPUTS_PER_REQUEST), size, signal);
            vectors.forEach((vector, i) => out.set(vector, (from + i) * size));
          } catch (error) {
            failed ??= error;
            stop.abort();
          }
        },
        signal,
      );
      if (environment.signal?.aborted) throw environment.signal.reason ?? new Error('cancelled');
      if (failed !== undefined) throw failure(failed);
      return out;
    },
  };
}

class EmbeddingsClient {
  private readonly url: string;
  /** Answered requests (texts in them, `usage.prompt_tokens` summed where the server reports it) and retries; the probe included. */
  readonly stats = { requests: 0, retries: 0, texts: 0, tokens: 0 };

  constructor(
    private readonly settings: ReturnType<typeof endpointSettings>,
    private readonly environment: EncoderEnvironment,
  ) {
    this.url = `${settings.baseUrl}/embeddings`;
  }

  /**
   * Why the vectors must have `dims` values, for the error when they do not: a size asked for that the server does not
   * give (it ignores `dimensions`, which only text-embedding-3-* take), or a saved model's, whose model changed size.
   */
  sizeNote(dims: number | undefined): string {
    if (dims === undefined) return '';
    if (this.settings.dimensions === dims) {
      return `: ${dims} is the size asked for (--encoder-dimensions, the request's "dimensions"), which ${this.settings.model} at this server does not give; leave it out to take the model's own size`;
    }
    if (this.environment.reopen?.dims === dims) {
      return `: the model was trained with vectors of ${dims} values, so ${this.settings.model} at this server is not the embedding model it was trained with; bring that one back, or train a new model with this one (peerkd distill)`;
    }
    return '';
  }

  redact(message: string): string {
    return redactSecret(message, this.environment.apiKey);
  }

  /** One request, retried where a retry can help; the vectors in input order. */
  async embed(texts: readonly string[], dims: number | undefined, signal?: AbortSignal): Promise<Float32Array[]> {
    const { settings, environment, url } = this;
    const cap = responseCapBytes(texts.length);
    const fetcher = guardedFetch(environment.fetch, { maxResponseBytes: cap });
    const body = JSON.stringify({ model: settings.model, input: texts, encoding_format: 'float', ...(settings.dimensions ? { dimensions: settings.dimensions } : {}) });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (environment.apiKey) headers.authorization = `Bearer ${environment.apiKey}`;
    const backoff = environment.backoff ?? DEFAULT_BACKOFF;
    const noEmbeddings = (status: number, message: string) =>
      new EndpointError(
        `${settings.baseUrl} does not serve /embeddings for model ${JSON.stringify(settings.model)} (POST ${url}: HTTP ${status}${message ? `: ${message}` : ''}); ` +
          'set peerkd.encoder.baseUrl / --encoder-base-url to a server that does and peerkd.encoder.model / --encoder-model to an embedding model ' +
          `(e.g. ${DEFAULT_ENCODER_MODEL}, nomic-embed-text), or choose another encoder`,
      );
    for (let attempt = 0; ; ) {
      if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
      const timeout = AbortSignal.timeout(settings.requestTimeoutMs);
      let response: Response | undefined;
      let problem: string;
      let viaProxy = false;
      try {
        response = await fetcher(url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        const text = await response.text();
        if (response.ok) {
          const { vectors, promptTokens } = parseEmbeddings(text, texts.length, dims, url, this.sizeNote(dims));
          assertVaried(vectors, texts, url);
          this.stats.requests += 1;
          this.stats.texts += texts.length;
          this.stats.tokens += promptTokens;
          return vectors;
        }
        // Redacted before serverMessage cuts it at 200 characters: a cut key would no longer match the redaction.
        const message = serverMessage(this.redact(text));
        const status = response.status;
        if (status === 404 || status === 405 || status === 501 || ((status === 400 || status === 422) && saysNoEmbeddings(message))) throw noEmbeddings(status, message);
        if (status === 401 || status === 403) {
          throw new EndpointError(`${url} refused the API key (HTTP ${status}${message ? `: ${message}` : ''}); set it with PeerKD: Set Teacher API Key (editor) or the variable --api-key-env names (CLI)`);
        }
        problem = `HTTP ${status}${message ? `: ${message}` : ''}`;
        if (!(status === 408 || status === 409 || status === 429 || status >= 500)) throw new EndpointError(`${url} rejected the request (${problem})${longestText(texts)}`);
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
        if (error instanceof EndpointError) throw error;
        if (error instanceof ResponseTooLargeError) {
          throw new EndpointError(`${error.message}: ${texts.length} text(s) may take at most ${formatBytes(responseCapBytes(texts.length))} (${MAX_EMBEDDING_DIMS} values each)`);
        }
        // A redirect elsewhere, a proxy that refuses (407) or a proxy variable that is no proxy: every request meets it.
        if (error instanceof RedirectRefusedError || error instanceof ProxySettingError || (error instanceof ProxyError && error.fatal)) throw new EndpointError(this.redact(error.message));
        // fetch says only "fetch failed": the cause (connection refused, DNS, TLS) is what the user can act on.
        const cause = (error as { cause?: unknown } | null)?.cause;
        // A proxy that could not be reached is said as such (proxy.ts): the endpoint was never asked.
        viaProxy = error instanceof ProxyError;
        problem = timeout.aborted
          ? `no complete answer within ${settings.requestTimeoutMs} ms`
          : error instanceof ProxyError
            ? error.message
            : `${describeError(error, environment.apiKey)}${cause instanceof Error ? ` (${describeError(cause, environment.apiKey)})` : ''}`;
      }
      if (attempt >= settings.maxRetries) {
        // No answer at all (refused, unknown host, timed out): the server is down or the URL wrong, which the user can check.
        const check = response === undefined && !viaProxy ? `; check that the server at ${settings.baseUrl} is running and reachable (peerkd.encoder.baseUrl / --encoder-base-url)` : '';
        throw new EndpointError(`${url} failed after ${attempt + 1} attempt(s): ${this.redact(problem)}${check}`);
      }
      attempt += 1;
      this.stats.retries += 1;
      await sleep(retryDelayMs(attempt, backoff, response?.headers), signal);
    }
  }
}
