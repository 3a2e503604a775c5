/**
 * One OpenAI-compatible chat-completions client for a labelling run: builds the request, retries what is worth
 * retrying, steps down to plainer requests when the endpoint rejects structured output or logprobs, and validates the
 * answer against the label set. The SDK's own retries are off so that pacing, counting and cancellation are ours.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { retryDelayMs, sleep } from './backoff';
import {
  buildLabelLookup,
  buildMessages,
  clip,
  labelProbability,
  labelResponseFormat,
  parseAnswer,
  toTeacherAnswer,
  validateAnswer,
} from './prompt';
import { printable } from '../dataset/jsonScan';
import { guardedFetch, RedirectRefusedError, ResponseTooLargeError } from './http';
import { describeError, errorChain, errorChainWithTried, redactSecret } from './redact';
import { ProxyError } from './proxy';
import { normaliseBaseUrl } from './url';
import {
  DEFAULT_BACKOFF,
  type BackoffOptions,
  type FewShotExample,
  type RequestMode,
  type TeacherAnswer,
  type TeacherEndpoint,
  type TokenUsage,
} from './types';

/** The longest error text of a failed request kept for the summary, the log and the terminal. */
export const MAX_ERROR_CHARS = 400;

/** What to check after a status that every request would meet (a server's own message may be empty or cryptic). */
const FATAL_HINTS: Readonly<Record<number, string>> = {
  401: ' (the endpoint refused the API key: check the key given for this base URL; CLI: --api-key-env, editor: PeerKD: Set Teacher API Key)',
  403: ' (the endpoint refused the API key or this model for it: check the key and its access to the model)',
  404: ' (check the base URL, usually ending in /v1, and the model or deployment name)',
};

/** What to check after HTTP 429 insufficient_quota. */
const QUOTA_HINT = ' (the account behind the API key has no quota or credit left: check its plan and billing; retrying does not help)';

/** HTTP 429 that says the account is out of quota or credit (OpenAI: code or type `insufficient_quota`), not a rate limit. */
function isQuotaExhausted(error: unknown): boolean {
  return error instanceof APIError && (error.code === 'insufficient_quota' || error.type === 'insufficient_quota');
}

/** Certificate checks that fail the same way for every request (Node's and OpenSSL's codes). */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * What to check when a request failed in TLS itself, or undefined when it did not: an https:// base URL at a port
 * that speaks plain http (OpenSSL's "wrong version number"), a certificate this machine does not trust. Found in the
 * causes of the SDK's connection error (fetch failed → the socket's error).
 */
export function tlsFailureHint(error: unknown): string | undefined {
  for (const cause of connectionErrorCauses(error)) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST') {
      return ' (the server does not speak TLS at this address: is the base URL http:// rather than https://?)';
    }
    if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
      return ` (the server's certificate is not trusted here, ${code}: check the base URL's host name; a certificate of a private CA is trusted with NODE_EXTRA_CA_CERTS=ca.pem)`;
    }
  }
  return undefined;
}

/** The SDK's connection error and its causes, outermost first (fetch failed → the socket's error), at most five; none for any other error. */
function connectionErrorCauses(error: unknown): Error[] {
  return error instanceof APIConnectionError ? errorChain(error) : [];
}

/**
 * Whether a connection error has `code` among its causes (the SDK's error → fetch failed → the socket's error; an
 * AggregateError of each address tried, where a name has several, such as localhost's ::1 and 127.0.0.1).
 */
function connectionFailedWith(error: unknown, code: string): boolean {
  return error instanceof APIConnectionError && errorChainWithTried(error).some((cause) => (cause as { code?: unknown } | null)?.code === code);
}

/** Whether a request failed because the base URL's host name does not resolve (DNS: no such name). */
function hostNotFound(error: unknown): boolean {
  return connectionFailedWith(error, 'ENOTFOUND');
}

/** Whether a request failed because nothing listens at the base URL's port (a local server not started). */
function connectionRefused(error: unknown): boolean {
  return connectionFailedWith(error, 'ECONNREFUSED');
}

/** Local servers (Ollama, vLLM, llama.cpp) need no key, but the SDK refuses to start without one. */
const PLACEHOLDER_API_KEY = 'no-key';

const MODE_LADDER: readonly RequestMode[] = ['json-schema+logprobs', 'plain+logprobs', 'plain'];

export { normaliseBaseUrl };

/** A request that failed after its retries; the message is key-redacted. */
export class TeacherRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** Failed on errors worth retrying (429, 5xx, timeouts, lost connections) after every retry: the endpoint, not the row. */
    readonly transient = false,
  ) {
    super(message);
    this.name = 'TeacherRequestError';
  }
}

/** An error that every further request would hit too (bad key, unknown model or URL): the run stops. */
export class TeacherFatalError extends TeacherRequestError {
  constructor(message: string, status: number | undefined) {
    super(message, status);
    this.name = 'TeacherFatalError';
  }
}

/**
 * A 200 response that is not a chat completion (`{}`, `[1,2,3]`, `null`, choices without a message): the server
 * misbehaved, the model did not answer. A failed request, retried like one, and never cached as an abstention.
 */
export class MalformedResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedResponseError';
  }
}

/** The run was cancelled while this request was waiting or in flight. */
export class TeacherCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'TeacherCancelledError';
  }
}

export interface TeacherPrompt {
  labels: readonly string[];
  template: string;
  fewShot: readonly FewShotExample[];
}

export interface TeacherClientOptions {
  backoff?: BackoffOptions;
  /**
   * The fetch under the guards of http.ts: the CLI's follows the proxy variables (proxyFetch.ts); absent, Node's (in the
   * editor VS Code's, which follows its http.proxy setting).
   */
  fetch?: typeof fetch;
  /** Start lower on the ladder, e.g. for an endpoint known not to support structured output. */
  initialMode?: RequestMode;
}

export interface TeacherClientStats {
  requests: number;
  retries: number;
  usage: TokenUsage;
}

export class TeacherClient {
  readonly stats: TeacherClientStats = { requests: 0, retries: 0, usage: { promptTokens: 0, completionTokens: 0 } };
  private readonly openai: OpenAI;
  private readonly lookup: Map<string, string>;
  private readonly backoff: BackoffOptions;
  private modeIndex: number;
  private openGate: () => void = () => undefined;
  /**
   * Resolves once a request of this client came back in a way that does not stop the run: an answer, or an error worth
   * a retry or confined to its text. Never on 401/403/404, a refused redirect or a cancel (the run stops instead).
   */
  readonly firstUsableResponse = new Promise<void>((resolve) => (this.openGate = resolve));
  /** Whether the endpoint was ever reached (see firstUsableResponse). */
  private reached = false;

  constructor(
    readonly endpoint: TeacherEndpoint,
    readonly prompt: TeacherPrompt,
    options: TeacherClientOptions = {},
  ) {
    this.lookup = buildLabelLookup(prompt.labels);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.modeIndex = Math.max(0, MODE_LADDER.indexOf(options.initialMode ?? MODE_LADDER[0]));
    this.openai = new OpenAI({
      apiKey: endpoint.apiKey || PLACEHOLDER_API_KEY,
      baseURL: normaliseBaseUrl(endpoint.baseUrl),
      maxRetries: 0,
      timeout: endpoint.requestTimeoutMs,
      // Same-origin redirects only, and the timeout and a size cap cover the whole response body (see http.ts).
      fetch: guardedFetch(options.fetch),
      // The SDK's logger would print request details to the console; PeerKD reports through its own channels.
      logLevel: 'off',
    });
  }

  /** The SDK client, for the Batch API (files and batches). */
  get sdk(): OpenAI {
    return this.openai;
  }

  get mode(): RequestMode {
    return MODE_LADDER[this.modeIndex];
  }

  requestBody(text: string, mode: RequestMode = this.mode): ChatCompletionCreateParamsNonStreaming {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.endpoint.model,
      temperature: this.endpoint.temperature,
      messages: buildMessages(this.prompt.template, this.prompt.labels, this.prompt.fewShot, text, mode),
    };
    if (mode !== 'plain') {
      body.logprobs = true;
    }
    if (mode === 'json-schema+logprobs') {
      body.response_format = labelResponseFormat(this.prompt.labels);
    }
    return body;
  }

  /**
   * Validates one chat-completion response body (from a live request or a Batch API output line). Throws
   * MalformedResponseError when the body is not a chat completion at all; server text in the answer is key-redacted.
   */
  answerFrom(completion: unknown): TeacherAnswer {
    const choice = chatChoice(completion, (text) => this.redact(text));
    const rawContent = typeof choice.message.content === 'string' ? choice.message.content : null;
    // A server that echoes the Authorization header must not get the key into an abstention's detail (and the cache).
    const content = rawContent === null ? null : this.redact(rawContent);
    const refusal = typeof choice.message.refusal === 'string' ? this.redact(choice.message.refusal) : null;
    const toolCalls = choice.message.tool_calls;
    if ((content === null || content.trim() === '') && !refusal && Array.isArray(toolCalls) && toolCalls.length > 0) {
      // No tool was offered: a tool call is not the empty answer it would otherwise be counted as.
      return { kind: 'abstain', reason: 'malformed', detail: 'answered with a tool call instead of text' };
    }
    const parsed = parseAnswer(content, refusal, this.lookup);
    const confidence =
      parsed.kind === 'label' && content !== null
        ? labelProbability(content, parsed.span, choice.logprobs?.content)
        : null;
    const checked = validateAnswer(toTeacherAnswer(parsed, confidence), this.lookup);
    if (!checked.ok) throw new MalformedResponseError(`the answer failed validation: ${checked.problem}`);
    return checked.answer;
  }

  recordUsage(completion: unknown): void {
    const usage = (completion as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
    // The server's counts, when they are counts: a string ("100") was concatenated into the total, a negative or
    // infinite one made it meaningless.
    const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
    this.stats.usage.promptTokens += count(usage?.prompt_tokens);
    this.stats.usage.completionTokens += count(usage?.completion_tokens);
  }

  redact(message: string): string {
    return redactSecret(message, this.endpoint.apiKey);
  }

  /**
   * Asks the teacher for the label of one text. Resolves with a label or an abstention; rejects with
   * TeacherRequestError (after retries), TeacherFatalError or TeacherCancelledError.
   */
  async classify(text: string, signal?: AbortSignal): Promise<TeacherAnswer> {
    // This request's rung of the ladder: it starts where the run stands and steps down on its own; the run follows
    // only once a plainer request was answered (see below).
    let modeIndex = this.modeIndex;
    for (let attempt = 0; ; ) {
      if (signal?.aborted) {
        throw new TeacherCancelledError();
      }
      modeIndex = Math.max(modeIndex, this.modeIndex);
      const mode = MODE_LADDER[modeIndex];
      try {
        this.stats.requests += 1;
        const completion = await this.openai.chat.completions.create(this.requestBody(text, mode), {
          signal,
          timeout: this.endpoint.requestTimeoutMs,
          maxRetries: 0,
        });
        this.recordUsage(completion);
        this.reached = true;
        this.openGate();
        const answer = this.answerFrom(completion);
        // A plainer request was answered where a richer one got 400/422: the endpoint lacks the feature, so the
        // whole run steps down. A 400 that every rung meets (a text over the context length) says nothing about the
        // endpoint and must not cost every later row its structured output and logprobs.
        this.modeIndex = Math.max(this.modeIndex, modeIndex);
        return answer;
      } catch (error) {
        if (signal?.aborted || error instanceof APIUserAbortError) {
          throw new TeacherCancelledError();
        }
        const status = error instanceof APIError ? error.status : undefined;
        if ((status === 400 || status === 422) && modeIndex < MODE_LADDER.length - 1) {
          // The endpoint may reject structured output or logprobs: this request steps down and is sent again at once.
          modeIndex += 1;
          continue;
        }
        // The SDK wraps what our fetch refuses (http.ts) as a connection error: report the refusal itself.
        const cause = error instanceof APIConnectionError ? (error as { cause?: unknown }).cause : undefined;
        const refused = cause instanceof RedirectRefusedError || cause instanceof ResponseTooLargeError ? cause : undefined;
        // The proxy could not be reached or refused the request (proxyFetch.ts): said of the proxy, not of the endpoint,
        // which was never asked (its refused connection or unknown host would blame the base URL below).
        const proxy = cause instanceof ProxyError ? cause : undefined;
        // Cut after the key is masked: a server's error text can be up to the response cap (1 MiB) long.
        const message = proxy
          ? clip(redactSecret(proxy.message, this.endpoint.apiKey), MAX_ERROR_CHARS)
          : `${this.endpoint.baseUrl}: ${clip(describeError(refused ?? explained(error), this.endpoint.apiKey), MAX_ERROR_CHARS)}`;
        if (status === 401 || status === 403 || status === 404 || refused instanceof RedirectRefusedError || proxy?.fatal) {
          // A redirect elsewhere, or a proxy that refuses (407), would meet every request: stop the run rather than
          // send anything there.
          throw new TeacherFatalError(message + (status === undefined ? '' : FATAL_HINTS[status]), status);
        }
        if (proxy && !this.reached) {
          // Before the endpoint was ever reached, a proxy that cannot be reached is a wrong variable (or a proxy down):
          // every request meets it alike.
          throw new TeacherFatalError(message, status);
        }
        if (!this.reached && hostNotFound(error)) {
          // Before the endpoint was ever reached, a name that does not resolve is a typo in the base URL, not an outage
          // (a lost network says EAI_AGAIN, which is retried; so is ENOTFOUND once the endpoint has answered).
          throw new TeacherFatalError(`${message} (the host name does not resolve: check the base URL)`, status);
        }
        const tls = tlsFailureHint(error);
        if (tls !== undefined) {
          // Met by every request alike: retried as a lost connection, it cost (retries + 1) attempts a text until the run
          // blamed the endpoint as down or overloaded.
          throw new TeacherFatalError(message + tls, status);
        }
        if (status === 429 && isQuotaExhausted(error)) {
          // Not a rate limit: no wait makes the account pay. Retried like one, every text was asked (retries + 1) times
          // before the run stopped on "the endpoint seems down or overloaded".
          throw new TeacherFatalError(message + QUOTA_HINT, status);
        }
        const retryable =
          refused === undefined &&
          (status === undefined || status === 408 || status === 409 || status === 429 || status >= 500 ||
            error instanceof APIConnectionError);
        // Before the endpoint ever answered, a refused connection is a server not started (Ollama not running) or a
        // wrong port: this request's retries give a server that is starting its chance, and no other text is sent
        // meanwhile; then the run stops. Retried as an outage, every text was asked (retries + 1) times until the run
        // said the endpoint seemed down. Once it has answered, a refused connection is a restart, retried as before.
        const refusedBeforeReached = !this.reached && connectionRefused(error);
        this.reached ||= status !== undefined;
        if (!refusedBeforeReached) this.openGate();
        if (!retryable || attempt >= this.endpoint.maxRetries) {
          if (refusedBeforeReached) {
            throw new TeacherFatalError(
              `${message} (nothing listens at ${this.endpoint.baseUrl}: start the server, or fix the base URL, --base-url or peerkd.teacher.baseUrl)`,
              status,
            );
          }
          throw new TeacherRequestError(message, status, retryable);
        }
        attempt += 1;
        this.stats.retries += 1;
        const headers = error instanceof APIError ? error.headers : undefined;
        try {
          await sleep(retryDelayMs(attempt, this.backoff, headers), signal);
        } catch {
          throw new TeacherCancelledError();
        }
      }
    }
  }
}

/**
 * The SDK's words for a failure, with what they leave out: a lost connection is only "Connection error." (the reset,
 * the corrupt gzip stream or the refused port is in its causes), a body that is not JSON only the parser's message.
 */
function explained(error: unknown): unknown {
  if (error instanceof APIConnectionError) {
    // Its first three causes (redact.ts errorChain: the error itself first).
    const causes = errorChain(error)
      .slice(1, 4)
      .map((cause) => cause.message);
    return causes.length > 0 ? new Error(`${error.message.replace(/\.$/, '')} (${causes.map(printable).join(': ')})`) : error;
  }
  if (error instanceof SyntaxError) {
    return new Error(`the response body is not valid JSON (${error.message})`);
  }
  return error;
}

interface ChatChoice {
  message: { content?: unknown; refusal?: unknown; tool_calls?: unknown };
  logprobs?: { content?: { token: string; logprob: number }[] | null } | null;
}

/** The first choice of a chat completion, or MalformedResponseError when the body is not shaped like one. */
function chatChoice(completion: unknown, redact: (text: string) => string): ChatChoice {
  if (typeof completion === 'string') {
    // The SDK hands over a body that is not JSON as text: a web page where the API was expected, most often.
    const page = /^\s*</.test(completion) ? ' (a web page: is the base URL the API itself, usually ending in /v1?)' : '';
    throw new MalformedResponseError(`the server answered with text, not JSON${page}: ${quote(completion.trim(), redact)}`);
  }
  const choices = (completion as { choices?: unknown } | null)?.choices;
  const error = (completion as { error?: unknown } | null)?.error;
  if (!Array.isArray(choices) && error != null) {
    // HTTP 200 with an error object (some proxies and servers report failures so): say what the server said.
    const said = typeof error === 'string' ? error : (error as { message?: unknown }).message;
    throw new MalformedResponseError(
      `the server answered HTTP 200 with an error instead of a completion: ${typeof said === 'string' ? quote(said, redact) : describeShape(error)}`,
    );
  }
  if (typeof completion !== 'object' || completion === null || Array.isArray(completion) || !Array.isArray(choices)) {
    throw new MalformedResponseError(`the response is not a chat completion (no "choices" list): ${describeShape(completion)}`);
  }
  const choice = choices[0] as Partial<ChatChoice> | undefined;
  const message = choice?.message;
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new MalformedResponseError('the response is not a chat completion (its first choice has no message)');
  }
  const { refusal } = message;
  const content = textOfParts(message.content);
  if ((content != null && typeof content !== 'string') || (refusal != null && typeof refusal !== 'string')) {
    throw new MalformedResponseError('the response is not a chat completion (message content or refusal is not text)');
  }
  const logprobs = Array.isArray(choice?.logprobs?.content) ? choice.logprobs : null;
  return { message: { ...message, content }, logprobs };
}

/**
 * Content given as a list of parts (`[{"type": "text", "text": "Sports"}]`, as some servers and reasoning models
 * answer, with `thinking` parts beside the text): the text parts joined. Anything else is returned as it is.
 */
function textOfParts(content: unknown): unknown {
  if (!Array.isArray(content) || content.length === 0) return content;
  const parts = content as { type?: unknown; text?: unknown }[];
  if (!parts.every((part) => typeof part === 'object' && part !== null && typeof part.type === 'string')) return content;
  const texts = parts.filter((part) => part.type === 'text');
  return texts.every((part) => typeof part.text === 'string') ? texts.map((part) => part.text as string).join('') : content;
}

/** Server text for a message: the key masked before the text is cut, so that a cut cannot leave half a key readable. */
function quote(text: string, redact: (text: string) => string): string {
  return clip(printable(redact(text)));
}

function describeShape(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? `an object with ${Object.keys(value).length} keys` : typeof value;
}
