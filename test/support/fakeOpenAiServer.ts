/**
 * A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI API for the teacher: chat completions, and the
 * files + batches endpoints of the Batch API. Each test scripts the answers with a handler; the server records every
 * request it receives, so tests can count requests and inspect headers and bodies.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  /** Parsed request body. */
  body: {
    model?: string;
    messages?: { role: string; content: string }[];
    logprobs?: boolean;
    response_format?: { type: string; json_schema?: { schema?: { properties?: { label?: { enum?: string[] } } } } };
    temperature?: number;
  };
  /** The row text, taken from between the delimiters of the last user message. */
  text: string;
  headers: http.IncomingHttpHeaders;
  /** 0-based index of this chat request among all chat requests the server received. */
  index: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Body sent as JSON. */
  json?: unknown;
  /** Body sent as is (e.g. broken JSON). */
  raw?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the client must time out or abort). */
  hang?: boolean;
  /** Cut the connection without an answer. */
  destroy?: boolean;
  /** Body sent as these bytes (e.g. gzip-compressed, with a content-encoding header). */
  bytes?: Buffer;
  /** Send the headers at once, then the body one byte every `dripMs` milliseconds. */
  dripMs?: number;
  /** Send the headers and this many bytes of the body, then cut the connection (a reset mid-body). */
  cutAfterBytes?: number;
}

export type ChatHandler = (request: ChatRequest) => Reply | Promise<Reply>;

/** Sees every request before the routes do (see FakeOpenAiServer.setInterceptor). */
export type Interceptor = (request: RecordedRequest) => Reply | undefined | Promise<Reply | undefined>;

/** A request to `/v1/embeddings` (the endpoint encoder). */
export interface EmbeddingsRequest {
  body: { model?: string; input?: string | string[]; encoding_format?: string; dimensions?: number };
  /** The texts, as a list. */
  inputs: string[];
  headers: http.IncomingHttpHeaders;
  /** 0-based index among the embeddings requests since the handler was set. */
  index: number;
}

export type EmbeddingsHandler = (request: EmbeddingsRequest) => Reply | Promise<Reply>;

/**
 * A deterministic vector that carries the words' signal: each lower-cased word adds ±1 to a hashed coordinate
 * (FNV-1a), like a hashed bag of words.
 */
export function hashedBagOfWords(text: string, dims = 16): number[] {
  const vector = new Array<number>(dims).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193) >>> 0;
    vector[hash % dims] += hash & 0x10000 ? 1 : -1;
  }
  return vector;
}

/** An embeddings answer in the OpenAI shape; `base64` sends each vector as float32 little-endian. */
export function embeddingsReply(vectors: readonly (readonly number[])[], options: { base64?: boolean; model?: string } = {}): Reply {
  return {
    json: {
      object: 'list',
      model: options.model ?? 'fake-embedding',
      data: vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: options.base64 ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector,
      })),
      usage: { prompt_tokens: vectors.length * 10, total_tokens: vectors.length * 10 },
    },
  };
}

/** Serves hashedBagOfWords (or `vectorOf`) for every input, in order. */
export function embeddingsHandler(vectorOf: (text: string) => number[] = (text) => hashedBagOfWords(text)): EmbeddingsHandler {
  return (request) => embeddingsReply(request.inputs.map(vectorOf));
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeOpenAiServer {
  /** Base URL including `/v1`, as users configure it. */
  baseUrl: string;
  port: number;
  requests: RecordedRequest[];
  chatRequests(): RecordedRequest[];
  embeddingsRequests(): RecordedRequest[];
  /** Replace the handler while the server runs. */
  setHandler(handler: ChatHandler): void;
  /**
   * Answer any request (a batch's status, a file download) with this first: a Reply, or undefined to let the built-in
   * route answer. Undefined: no interceptor.
   */
  setInterceptor(interceptor: Interceptor | undefined): void;
  /** Serve `/v1/embeddings` with this handler (none: HTTP 404, as a server without embeddings). */
  setEmbeddingsHandler(handler: EmbeddingsHandler | undefined): void;
  /** Called when a client drops a request before its answer (cancel, timeout). */
  onAborted?: (request: RecordedRequest) => void;
  close(): Promise<void>;
  /** Dies like a crashed process: every open connection is cut, the port stops listening. */
  kill(): Promise<void>;
}

export interface CompletionOptions {
  /** Attach token logprobs; the tokens that spell `probabilityOf` share log(probability) between them. */
  logprobs?: { probabilityOf: string; probability: number };
  refusal?: string;
  finishReason?: string;
}

/** Splits like a tokenizer would, roughly: words and runs of other characters. */
export function fakeTokens(content: string): string[] {
  return content.match(/\w+|\W+/g) ?? [];
}

export function completion(content: string | null, options: CompletionOptions = {}): unknown {
  let logprobs: unknown = null;
  if (options.logprobs && content !== null) {
    const start = content.indexOf(options.logprobs.probabilityOf);
    const end = start + options.logprobs.probabilityOf.length;
    const tokens = fakeTokens(content);
    const spans: [number, number][] = [];
    let offset = 0;
    for (const token of tokens) {
      spans.push([offset, offset + token.length]);
      offset += token.length;
    }
    const inside = spans.filter(([from, to]) => start >= 0 && to > start && from < end).length;
    const share = inside > 0 ? Math.log(options.logprobs.probability) / inside : 0;
    logprobs = {
      content: tokens.map((token, index) => {
        const [from, to] = spans[index];
        const overlaps = start >= 0 && to > start && from < end;
        return { token, logprob: overlaps ? share : -0.0001, bytes: null, top_logprobs: [] };
      }),
      refusal: null,
    };
  }
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'fake-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: options.refusal ?? null },
        logprobs,
        finish_reason: options.finishReason ?? 'stop',
      },
    ],
    usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 },
  };
}

/** A reply with `{"label": label}` content, as a structured-output endpoint answers. */
/**
 * When each row text's requests arrived (ms), for tests of retries and waits: `record(text)` (in a handler) adds now
 * and returns that text's times so far (1 long on its first request); `get(text)` reads them afterwards.
 */
export class RequestTimes {
  private readonly times = new Map<string, number[]>();

  record(text: string): number[] {
    const times = this.times.get(text) ?? [];
    times.push(Date.now());
    this.times.set(text, times);
    return times;
  }

  get(text: string): number[] | undefined {
    return this.times.get(text);
  }
}

export function labelReply(label: string, probability?: number): Reply {
  const content = JSON.stringify({ label });
  return {
    json: completion(content, probability === undefined ? {} : { logprobs: { probabilityOf: label, probability } }),
  };
}

export function rowTextOf(body: ChatRequest['body']): string {
  const last = [...(body.messages ?? [])].reverse().find((message) => message.role === 'user');
  const match = /^<text>\n([\s\S]*)\n<\/text>$/.exec(last?.content ?? '');
  return match ? match[1] : (last?.content ?? '');
}

interface StoredBatch {
  id: string;
  status: string;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
}

/**
 * `tls`: serve https with this key and certificate (PEM), e.g. a self-signed one the client must refuse to trust.
 */
export async function startFakeOpenAi(initialHandler: ChatHandler, port = 0, tls?: { key: string; cert: string }): Promise<FakeOpenAiServer> {
  let handler = initialHandler;
  let interceptor: Interceptor | undefined;
  let embeddings: EmbeddingsHandler | undefined;
  let embeddingsIndex = 0;
  let chatIndex = 0;
  const requests: RecordedRequest[] = [];
  const files = new Map<string, string>();
  const batches = new Map<string, StoredBatch>();
  let nextId = 1;

  const send = (response: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
  };

  /** Sends a scripted reply (delayed, hung, cut, dripped or whole). */
  const sendReply = async (request: http.IncomingMessage, response: http.ServerResponse, reply: Reply): Promise<void> => {
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (reply.hang) return;
    if (reply.destroy) {
      request.socket.destroy();
      return;
    }
    if (reply.bytes || reply.dripMs || reply.cutAfterBytes !== undefined) {
      const body = reply.bytes ?? Buffer.from(reply.raw ?? JSON.stringify(reply.json ?? {}));
      response.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      if (reply.cutAfterBytes !== undefined) {
        // Chunked, so the client cannot know the body is short until the connection goes.
        response.write(body.subarray(0, reply.cutAfterBytes));
        await new Promise((resolve) => setTimeout(resolve, 20));
        request.socket.destroy();
        return;
      }
      if (!reply.dripMs) {
        response.end(body);
        return;
      }
      response.flushHeaders();
      for (let offset = 0; offset < body.length && !response.destroyed; offset += 1) {
        response.write(body.subarray(offset, offset + 1));
        await new Promise((resolve) => setTimeout(resolve, reply.dripMs));
      }
      response.end();
      return;
    }
    send(response, reply.status ?? 200, reply.raw ?? reply.json ?? {}, reply.headers);
  };

  const answerChat = async (body: ChatRequest['body'], headers: http.IncomingHttpHeaders) => {
    const request: ChatRequest = { body, text: rowTextOf(body), headers, index: chatIndex };
    chatIndex += 1;
    return handler(request);
  };

  const runBatch = async (batch: StoredBatch, headers: http.IncomingHttpHeaders) => {
    const input = files.get(batch.input_file_id) ?? '';
    const output: string[] = [];
    for (const line of input.split('\n').filter((candidate) => candidate.trim().length > 0)) {
      const item = JSON.parse(line) as { custom_id: string; body: ChatRequest['body'] };
      const reply = await answerChat(item.body, headers);
      const status = reply.status ?? 200;
      output.push(
        JSON.stringify({
          id: `batch_req_${nextId++}`,
          custom_id: item.custom_id,
          response: { status_code: status, request_id: 'req', body: reply.json ?? reply.raw ?? null },
          error: null,
        }),
      );
      batch.request_counts.total += 1;
      if (status === 200) batch.request_counts.completed += 1;
      else batch.request_counts.failed += 1;
    }
    const outputId = `file-${nextId++}`;
    files.set(outputId, output.join('\n') + '\n');
    batch.output_file_id = outputId;
    batch.status = 'completed';
  };

  const listener: http.RequestListener = (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = (request.url ?? '').replace(/\?.*$/, '');
      requests.push({ method: request.method ?? '', path, headers: request.headers, body: raw.toString('utf8') });
      void (async () => {
        const intercepted = await interceptor?.(requests[requests.length - 1]);
        if (intercepted) {
          await sendReply(request, response, intercepted);
          return;
        }
        const embeddingsCall = request.method === 'POST' && path === '/v1/embeddings' && embeddings !== undefined;
        if (embeddingsCall || (request.method === 'POST' && path === '/v1/chat/completions')) {
          let reply: Reply;
          if (embeddingsCall) {
            const body = JSON.parse(raw.toString('utf8')) as EmbeddingsRequest['body'];
            const inputs = Array.isArray(body.input) ? body.input : typeof body.input === 'string' ? [body.input] : [];
            const recorded = requests[requests.length - 1];
            response.on('close', () => {
              if (!response.writableFinished) result.onAborted?.(recorded);
            });
            reply = await embeddings!({ body, inputs, headers: request.headers, index: embeddingsIndex++ });
          } else {
            reply = await answerChat(JSON.parse(raw.toString('utf8')) as ChatRequest['body'], request.headers);
          }
          await sendReply(request, response, reply);
          return;
        }
        if (request.method === 'POST' && path === '/v1/files') {
          const form = await new Request('http://fake/v1/files', {
            method: 'POST',
            headers: { 'content-type': request.headers['content-type'] ?? '' },
            body: raw,
          }).formData();
          const file = form.get('file') as Blob;
          const id = `file-${nextId++}`;
          files.set(id, await file.text());
          send(response, 200, { id, object: 'file', bytes: file.size, created_at: 0, filename: 'input.jsonl', purpose: form.get('purpose'), status: 'processed' });
          return;
        }
        const fileContent = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
        if (request.method === 'GET' && fileContent) {
          const content = files.get(fileContent[1]);
          if (content === undefined) send(response, 404, { error: { message: 'no such file' } });
          else {
            response.writeHead(200, { 'content-type': 'application/octet-stream' });
            response.end(content);
          }
          return;
        }
        if (request.method === 'POST' && path === '/v1/batches') {
          const body = JSON.parse(raw.toString('utf8')) as { input_file_id: string };
          const batch: StoredBatch = {
            id: `batch_${nextId++}`,
            status: 'in_progress',
            input_file_id: body.input_file_id,
            output_file_id: null,
            error_file_id: null,
            request_counts: { total: 0, completed: 0, failed: 0 },
          };
          batches.set(batch.id, batch);
          void runBatch(batch, request.headers);
          send(response, 200, batchJson(batch));
          return;
        }
        const batchPath = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
        if (batchPath) {
          const batch = batches.get(batchPath[1]);
          if (!batch) send(response, 404, { error: { message: 'no such batch' } });
          else {
            if (batchPath[2] && batch.status !== 'completed') batch.status = 'cancelled';
            send(response, 200, batchJson(batch));
          }
          return;
        }
        send(response, 404, { error: { message: `no route ${request.method} ${path}` } });
      })().catch((error: unknown) => send(response, 500, { error: { message: String(error) } }));
    });
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  let closed = false;
  const shutdown = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const result: FakeOpenAiServer = {
    baseUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${address.port}/v1`,
    port: address.port,
    requests,
    chatRequests: () => requests.filter((request) => request.path === '/v1/chat/completions'),
    embeddingsRequests: () => requests.filter((request) => request.path === '/v1/embeddings'),
    setHandler: (next) => {
      handler = next;
    },
    setInterceptor: (next) => {
      interceptor = next;
    },
    setEmbeddingsHandler: (next) => {
      embeddings = next;
      embeddingsIndex = 0;
    },
    close: shutdown,
    kill: shutdown,
  };
  return result;
}

function batchJson(batch: StoredBatch): unknown {
  return {
    id: batch.id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: batch.input_file_id,
    completion_window: '24h',
    status: batch.status,
    output_file_id: batch.output_file_id,
    error_file_id: batch.error_file_id,
    created_at: 0,
    request_counts: batch.request_counts,
  };
}

/** Runs `body` against a fresh server and always closes it, even when the body throws. */
export async function withFakeOpenAi(handler: ChatHandler, body: (server: FakeOpenAiServer) => Promise<void>): Promise<void> {
  const server = await startFakeOpenAi(handler);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}
