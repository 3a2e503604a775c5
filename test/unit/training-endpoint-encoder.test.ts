/**
 * Issue 13, the `endpoint` encoder against a real HTTP server on 127.0.0.1 (test/support/fakeOpenAiServer.ts):
 * vectors in input order by `data[i].index`, bounded concurrency, Retry-After, a clear error for an endpoint without
 * embeddings and for every malformed answer (each naming the endpoint), the response cap sized per request, cancel
 * aborting the requests in flight, the cache resuming after a failure with only the missing texts, and the key in no
 * message and no file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeTexts, resolveEncoder, type EncoderEnvironment, type TextEncoder } from '../../src/training/encoder';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { validateRequest } from '../../src/training/protocol';
import { encoderEndpointFromFlags } from '../../src/cli/encoderFlags';
import {
  endpointVersion,
  estimateEmbeddingTokens,
  formatEmbeddingEstimate,
  parseEndpointVersion,
  responseCapBytes,
  stripMarkup,
  takeEncoderApiKey,
  withEncoderApiKey,
  ENCODER_API_KEY_ENV,
} from '../../src/training/encoders/endpoint';
import { embeddingsHandler, embeddingsReply, hashedBagOfWords, startFakeOpenAi, type FakeOpenAiServer } from '../support/fakeOpenAiServer';

const KEY = 'sk-test-endpoint-secret-0123456789';
const FAST = { initialDelayMs: 1, maxDelayMs: 60_000 };

let server: FakeOpenAiServer;
let root: string;
before(async () => {
  server = await startFakeOpenAi(() => ({ status: 500 }));
  root = mkdtempSync(path.join(tmpdir(), 'peerkd-endpoint-'));
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function environment(extra: Partial<EncoderEnvironment> = {}, settings: Record<string, unknown> = {}): EncoderEnvironment {
  return { endpoint: { baseUrl: server.baseUrl, model: 'fake-embed', maxRetries: 0, ...settings }, apiKey: KEY, backoff: FAST, ...extra };
}

async function open(extra: Partial<EncoderEnvironment> = {}, settings: Record<string, unknown> = {}): Promise<TextEncoder> {
  const resolved = await resolveEncoder('endpoint', environment(extra, settings));
  assert.ok(resolved.encoder);
  return resolved.encoder;
}

const texts = (count: number, prefix = 'row') => Array.from({ length: count }, (_, i) => `${prefix} ${i} about ${['markets', 'football', 'chips', 'elections'][i % 4]} and word${i % 7}`);

function assertVectors(values: Float32Array, inputs: readonly string[], dims = 16): void {
  assert.equal(values.length, inputs.length * dims);
  inputs.forEach((text, r) => assert.deepEqual(Array.from(values.subarray(r * dims, (r + 1) * dims)), hashedBagOfWords(text, dims), text));
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught as Error,
  );
  assert.match(error.message, pattern);
  assert.ok(!error.message.includes(KEY), `the key leaked: ${error.message}`);
  return error.message;
}

test('endpoint: a probe gives the size; vectors come back in input order by data[i].index (float or base64), 32 texts a request, with the key as a Bearer token', async () => {
  server.requests.length = 0;
  let shuffled = false;
  server.setEmbeddingsHandler((request) => {
    const vectors = request.inputs.map((text) => hashedBagOfWords(text));
    const reply = embeddingsReply(vectors, { base64: request.index % 2 === 1 }) as { json: { data: { index: number }[] } };
    // Answer in reverse order: the client must sort by index, not trust the position.
    reply.json.data.reverse();
    shuffled = true;
    return reply;
  });
  const encoder = await open();
  assert.equal(encoder.name, 'endpoint');
  assert.equal(encoder.dims, 16);
  assert.equal(encoder.cacheable, true);
  assert.equal(encoder.version, endpointVersion(server.baseUrl, 'fake-embed', 16));
  assert.deepEqual(parseEndpointVersion(encoder.version), { baseUrl: server.baseUrl, model: 'fake-embed', dims: 16 });
  assert.ok(!encoder.version.includes(KEY));
  const inputs = texts(70);
  assertVectors(await encoder.encode(inputs), inputs);
  assert.ok(shuffled);
  const calls = server.embeddingsRequests();
  assert.equal(calls.length, 1 + 3, 'one probe, then 32 + 32 + 6 texts');
  for (const call of calls) {
    assert.equal(call.headers.authorization, `Bearer ${KEY}`);
    const body = JSON.parse(call.body) as { model: string; encoding_format: string; input: string[] };
    assert.equal(body.model, 'fake-embed');
    assert.equal(body.encoding_format, 'float');
  }
  assert.deepEqual(calls.slice(1).map((call) => (JSON.parse(call.body) as { input: string[] }).input.length), [32, 32, 6]);
  // embeddingsReply counts 10 tokens a text; the probe's request is counted too.
  assert.equal(encoder.describeUsage!(), 'encoder endpoint: 71 text(s) embedded in 4 request(s) (0 retried), 710 tokens as the server counted them');
  assert.match(await encoder.estimate!(inputs), new RegExp(`70 text\\(s\\) to embed with fake-embed at ${server.baseUrl.replace(/[.]/g, '\\.')}.*about ${estimateEmbeddingTokens(inputs)} tokens .* in 3 request\\(s\\)`));

  // A configured size is asked for and needs no probe.
  server.requests.length = 0;
  const sized = await open({}, { dimensions: 16 });
  assert.equal(server.embeddingsRequests().length, 0);
  await sized.encode(['one text']);
  assert.equal((JSON.parse(server.embeddingsRequests()[0].body) as { dimensions: number }).dimensions, 16);
});

test('endpoint: at most maxConcurrency requests in flight', async () => {
  let inFlight = 0;
  let most = 0;
  server.setEmbeddingsHandler(async (request) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 20));
    inFlight--;
    return embeddingsReply(request.inputs.map((text) => hashedBagOfWords(text)));
  });
  const encoder = await open({}, { maxConcurrency: 3 });
  const inputs = texts(256);
  assertVectors(await encoder.encode(inputs), inputs);
  assert.equal(most, 3);
});

test('endpoint: 429 with Retry-After is retried after the wait the server asked for; 503 is retried; retries run out with a clear error', async () => {
  const handler = embeddingsHandler();
  let calls = 0;
  server.setEmbeddingsHandler((request) => {
    calls++;
    if (calls === 2) return { status: 429, headers: { 'retry-after': '1' }, json: { error: { message: 'slow down' } } };
    if (calls === 3) return { status: 503, json: { error: { message: 'busy' } } };
    return handler(request);
  });
  const encoder = await open({}, { maxRetries: 2 });
  const started = Date.now();
  const inputs = texts(3);
  assertVectors(await encoder.encode(inputs), inputs);
  const waited = Date.now() - started;
  assert.ok(waited >= 950, `Retry-After: 1 honoured (waited ${waited} ms; the backoff alone would wait about 1 ms)`);
  assert.equal(calls, 4);
  assert.match(encoder.describeUsage!() ?? '', /in 2 request\(s\) \(2 retried\)/);

  server.setEmbeddingsHandler(() => ({ status: 503, json: { error: { message: 'still busy' } } }));
  await rejects(encoder.encode(['x']), new RegExp(`^encoder endpoint: ${server.baseUrl}/embeddings failed after 3 attempt\\(s\\): HTTP 503: still busy$`));
});

test('endpoint: a server without embeddings (404, 405, 501, 400 "does not support embeddings") fails at once with a message saying so, the key redacted', async () => {
  server.setEmbeddingsHandler(undefined); // the fake server's 404 for an unknown route
  server.requests.length = 0;
  const pattern = (status: number) =>
    new RegExp(`^encoder endpoint: ${server.baseUrl} does not serve /embeddings for model "chat-model" \\(POST ${server.baseUrl}/embeddings: HTTP ${status}.*choose another encoder$`);
  await rejects(resolveEncoder('endpoint', environment({}, { model: 'chat-model', maxRetries: 3 })), pattern(404));
  assert.equal(server.embeddingsRequests().length, 1, 'not retried');
  for (const [status, message] of [
    [405, 'Method Not Allowed'],
    [501, 'This server does not support embeddings. Start it with `--embeddings`'],
    [400, 'The model does not support Embeddings API'],
  ] as const) {
    server.setEmbeddingsHandler(() => ({ status, json: { error: { message } } }));
    await rejects(resolveEncoder('endpoint', environment({}, { model: 'chat-model' })), pattern(status));
  }
  // A server that echoes the Authorization header in its error: the key never reaches the message.
  server.setEmbeddingsHandler((request) => ({ status: 404, json: { error: { message: `no embeddings for ${String(request.headers.authorization)}` } } }));
  const shown = await rejects(resolveEncoder('endpoint', environment({}, { model: 'chat-model' })), pattern(404));
  assert.match(shown, /no embeddings for Bearer \[redacted\]/);
  // A plain web server's HTML error page: its words, not its markup.
  server.setEmbeddingsHandler(() => ({ status: 501, raw: '<!DOCTYPE HTML><html><head><title>Error response</title></head><body><h1>Error response</h1><p>Message: Unsupported method (\'POST\').</p></body></html>' }));
  assert.match(await rejects(resolveEncoder('endpoint', environment({}, { model: 'chat-model' })), pattern(501)), /HTTP 501: Error response Message: Unsupported method \('POST'\)\.\)/);
  server.setEmbeddingsHandler(() => ({ status: 401, json: { error: { message: 'Incorrect API key provided' } } }));
  await rejects(resolveEncoder('endpoint', environment()), /refused the API key \(HTTP 401: Incorrect API key provided\)/);
  server.setEmbeddingsHandler(() => ({ status: 400, json: { error: { message: 'input too long' } } }));
  await rejects(resolveEncoder('endpoint', environment()), /embeddings rejected the request \(HTTP 400: input too long\)/);
});

test('endpoint: wrong size, non-finite values, missing or repeated index, wrong count and non-JSON answers fail naming the endpoint', async () => {
  const good = embeddingsHandler();
  let bad: ((inputs: string[]) => unknown) | undefined;
  server.setEmbeddingsHandler((request) => (bad && request.index > 0 ? { raw: JSON.stringify(bad(request.inputs)).replace('"INF"', '1e999') } : good(request)));
  const encoder = await open();
  const url = `${server.baseUrl}/embeddings`.replace(/[.]/g, '\\.');
  const item = (index: number, embedding: unknown) => ({ object: 'embedding', index, embedding });
  const cases: [string, (inputs: string[]) => unknown, string][] = [
    ['wrong size', (inputs) => ({ data: inputs.map((text, i) => item(i, hashedBagOfWords(text, i === 1 ? 15 : 16))) }), 'a vector of 15 values where this encoder has 16 \\(index 1\\)'],
    ['infinite', (inputs) => ({ data: inputs.map((_, i) => item(i, i === 0 ? ['INF', ...new Array(15).fill(0)] : new Array(16).fill(0))) }), 'a value that is not a finite number \\(index 0, value 0\\)'],
    ['null value', (inputs) => ({ data: inputs.map((_, i) => item(i, [null, ...new Array(15).fill(0)])) }), 'an embedding holding null \\(index 0, value 0\\)'],
    ['NaN in base64', (inputs) => ({ data: inputs.map((_, i) => item(i, Buffer.from(Float32Array.from([NaN, ...new Array(15).fill(0)]).buffer).toString('base64'))) }), 'a value that is not a finite number \\(index 0, value 0\\)'],
    ['missing index', (inputs) => ({ data: inputs.map((_, i) => ({ object: 'embedding', embedding: new Array(16).fill(0), ...(i === 1 ? {} : { index: i }) })) }), 'an embedding without a valid "index" \\(item 1 has none; expected 0 to 1\\)'],
    ['index twice', (inputs) => ({ data: inputs.map(() => item(0, new Array(16).fill(0))) }), 'two embeddings with index 0'],
    ['wrong count', (inputs) => ({ data: inputs.slice(1).map((_, i) => item(i, new Array(16).fill(0))) }), '1 embedding\\(s\\) for 2 text\\(s\\)'],
    ['no data', () => ({ choices: [] }), 'an answer without a "data" list'],
    // Buffer.from(…, 'base64') skips the brackets: the old reader took this text for 16 zeros.
    ['vector as a non-base64 string', (inputs) => ({ data: inputs.map((_, i) => item(i, `[${Buffer.alloc(64).toString('base64')}]`)) }), 'an embedding that is a string but not base64 \\(index 0: "\\[AAAA'],
  ];
  for (const [what, answer, problem] of cases) {
    bad = answer;
    await rejects(encoder.encode(['first text', 'second text']), new RegExp(`^encoder endpoint: ${url} returned ${problem}`));
    void what;
  }
  bad = undefined;
  server.setEmbeddingsHandler((request) => (request.index >= 0 ? { raw: '{"data": [' } : good(request)));
  await rejects(encoder.encode(['x']), new RegExp(`^encoder endpoint: ${url} returned an answer that is not JSON$`));
});

test('endpoint: the response cap grows with the request (texts × 4096 values), and a larger answer is refused', async () => {
  assert.equal(responseCapBytes(32), 64 * 1024 + 32 * 4096 * 24);
  assert.ok(responseCapBytes(32) > 32 * 3072 * 20, '32 vectors of 3072 floats fit');
  const encoder = await open({}, { dimensions: 16 });
  server.setEmbeddingsHandler(() => ({ raw: JSON.stringify({ data: [{ index: 0, embedding: new Array(16).fill(0) }], padding: 'x'.repeat(responseCapBytes(1) + 10) }) }));
  await rejects(encoder.encode(['one']), /is larger than .* and was refused: 1 text\(s\) may take at most/);
});

test('endpoint: cancel aborts the requests in flight and sends no more; a hung server times out', async () => {
  const aborted: string[] = [];
  server.onAborted = (request) => aborted.push(request.body);
  let arrived = 0;
  server.setEmbeddingsHandler((request) => {
    if (request.index === 0) return embeddingsHandler()(request);
    arrived++;
    return { hang: true };
  });
  const controller = new AbortController();
  const encoder = await open({ signal: controller.signal }, { maxConcurrency: 2, requestTimeoutMs: 60_000 });
  server.requests.length = 0;
  const running = encoder.encode(texts(200));
  while (arrived < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = Date.now();
  controller.abort(new Error('cancelled by the test'));
  await assert.rejects(running, /cancelled by the test/);
  assert.ok(Date.now() - started < 1000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(server.embeddingsRequests().length, 2, 'no request after the cancel');
  assert.equal(aborted.length, 2, 'both requests in flight were dropped by the client');
  server.onAborted = undefined;

  // Nobody listening: the cause is named, not just "fetch failed".
  const closed = await startFakeOpenAi(() => ({ status: 500 }));
  await closed.close();
  await rejects(resolveEncoder('endpoint', { endpoint: { baseUrl: closed.baseUrl, model: 'm', maxRetries: 0 } }), /failed after 1 attempt\(s\): TypeError: fetch failed \(.*ECONNREFUSED/);

  const timed = await open({}, { dimensions: 16, requestTimeoutMs: 150, maxRetries: 1 });
  server.setEmbeddingsHandler(() => ({ hang: true }));
  await rejects(timed.encode(['x']), /failed after 2 attempt\(s\): no complete answer within 150 ms/);
});

test('endpoint + cache: a run that fails midway keeps what it got; the next run requests only the missing texts; no file holds the key', async () => {
  const cacheDir = path.join(root, 'cache');
  const inputs = texts(600, 'cached');
  const good = embeddingsHandler();
  // The probe and the first batch of 256 (8 requests) succeed, then the server breaks.
  server.setEmbeddingsHandler((request) => (request.index <= 8 ? good(request) : { status: 400, json: { error: { message: 'broken' } } }));
  const first = await open();
  await rejects(encodeTexts(first, inputs, EmbeddingCache.open(cacheDir, first)), /HTTP 400: broken/);
  const kept = EmbeddingCache.open(cacheDir, first);
  const missing = inputs.filter((text) => !kept.get(text));
  assert.equal(missing.length, 600 - 256);

  server.requests.length = 0;
  server.setEmbeddingsHandler(good);
  const second = await open();
  const { values, cached } = await encodeTexts(second, inputs, EmbeddingCache.open(cacheDir, second));
  assert.equal(cached, 256);
  assertVectors(values, inputs);
  const sent = server.embeddingsRequests().slice(1).flatMap((call) => (JSON.parse(call.body) as { input: string[] }).input);
  assert.deepEqual(sent.sort(), [...missing].sort(), 'only the texts the first run did not get');

  for (const file of readdirSync(cacheDir)) assert.ok(!readFileSync(path.join(cacheDir, file), 'utf8').includes(KEY), file);
});

test('endpoint key hand-over: the host puts it in the child environment, the child takes it out', () => {
  const env = withEncoderApiKey({ PATH: '/bin', [ENCODER_API_KEY_ENV]: 'stale' }, KEY);
  assert.equal(env[ENCODER_API_KEY_ENV], KEY);
  assert.equal(takeEncoderApiKey(env), KEY);
  assert.equal(env[ENCODER_API_KEY_ENV], undefined);
  assert.equal(withEncoderApiKey({ [ENCODER_API_KEY_ENV]: 'stale' }, undefined)[ENCODER_API_KEY_ENV], undefined);
});

test('endpoint: a cancel during the size probe stops it at once; the request refuses any endpoint field but the known ones (no key in settings.json)', async () => {
  server.setEmbeddingsHandler(() => ({ hang: true }));
  const controller = new AbortController();
  const opening = resolveEncoder('endpoint', environment({ signal: controller.signal }, { requestTimeoutMs: 60_000 }));
  while (server.embeddingsRequests().length === 0 || !server.embeddingsRequests().some((call) => call.body.includes('probe'))) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = Date.now();
  controller.abort(new Error('cancelled while probing'));
  await assert.rejects(opening, /cancelled while probing/);
  assert.ok(Date.now() - started < 1000);

  const request = {
    datasetPath: '/data.jsonl',
    fields: { text: 'text', teacher: 'teacher_label', human: 'human_label', id: 'id', teacherConfidence: 'teacher_confidence' },
    labels: [],
    options: { folds: 2, stages: 1, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: 'endpoint', encoderEndpoint: { baseUrl: 'http://x/v1', model: 'm' } },
  };
  assert.equal(validateRequest(request), undefined);
  assert.match(validateRequest({ ...request, options: { ...request.options, encoderEndpoint: { baseUrl: 'http://x/v1', model: 'm', apiKey: KEY } } }) ?? '', /request\.options\.encoderEndpoint has an unknown field "apiKey"/);
  assert.match(validateRequest({ ...request, options: { ...request.options, encoderEndpoint: { baseUrl: 'http://x/v1', model: '' } } }) ?? '', /encoderEndpoint\.model must be a non-empty string/);
  // The worker takes the bounds the CLI and the settings take: a request built elsewhere cannot run forever either.
  assert.match(validateRequest({ ...request, options: { ...request.options, encoderEndpoint: { baseUrl: 'http://x/v1', model: 'm', maxRetries: 1e9 } } }) ?? '', /encoderEndpoint\.maxRetries must be an integer from 0 to 20/);
  assert.match(validateRequest({ ...request, options: { ...request.options, stages: 100_000 } }) ?? '', /request\.options\.stages must be an integer from 1 to 10/);
});

test('endpoint reopened from a saved model: a foreign endpoint the user did not name gets no text and no key (a model folder is a file anyone can write); this machine still reopens', async () => {
  const sent: { url: string; authorization: string | null }[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') });
    return new Response(JSON.stringify(embeddingsReply([[1, 2, 3]]).json), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  try {
    const hostile = endpointVersion('https://peerkd-attacker.invalid/v1', 'exfil', 3);
    const error = await rejects(
      (async () => {
        const { encoder } = await resolveEncoder('endpoint', { apiKey: KEY, backoff: FAST, reopen: { version: hostile, dims: 3 } });
        await encoder!.encode(['a private text']);
      })(),
      /encoder endpoint: the model was trained with the endpoint https:\/\/peerkd-attacker\.invalid\/v1 \(model exfil\); PeerKD sends texts and the API key only to an endpoint you name: give --encoder-base-url https:\/\/peerkd-attacker\.invalid\/v1 --encoder-model exfil/,
    );
    assert.ok(!error.includes(KEY));
    assert.deepEqual(sent, [], 'nothing was sent to the endpoint the model names');
    // A version that names no endpoint at all: nothing is sent to the default one either (no probe, no key).
    await rejects(
      resolveEncoder('endpoint', { apiKey: KEY, backoff: FAST, reopen: { version: 'garbage', dims: 3 } }),
      /^encoder endpoint: the model names the endpoint encoder version "garbage", which is not "<base URL> <model> <size>d"; give --encoder-base-url/,
    );
    assert.deepEqual(sent, [], 'no probe went to the default endpoint');
  } finally {
    globalThis.fetch = realFetch;
  }
  // Named by the user, it is used; a saved model on this machine's server reopens without being named.
  const named = await resolveEncoder('endpoint', { ...environment(), reopen: { version: endpointVersion(server.baseUrl, 'fake-embed', 16), dims: 16 } });
  assert.equal(named.encoder?.dims, 16);
  server.setEmbeddingsHandler(embeddingsHandler());
  const local = await resolveEncoder('endpoint', { apiKey: KEY, backoff: FAST, reopen: { version: endpointVersion(server.baseUrl, 'fake-embed', 16), dims: 16 } });
  assertVectors(await local.encoder!.encode(['one text']), ['one text']);
});

test('endpoint: a key echoed where the error text is cut at 200 characters leaves no part of it in the message', async () => {
  for (let at = 180; at < 200; at += 3) {
    server.setEmbeddingsHandler(() => ({ status: 400, json: { error: { message: `${'x'.repeat(at)} ${KEY} tail` } } }));
    const shown = await rejects(resolveEncoder('endpoint', environment()), /embeddings rejected the request \(HTTP 400: x+/);
    assert.ok(!shown.includes(KEY.slice(0, 8)), `a part of the key is shown: ${shown.slice(-60)}`);
  }
});

test('endpoint: an HTML error body is reduced to its words in one pass, even 3 MB of unclosed tags', async () => {
  assert.equal(stripMarkup('<!DOCTYPE html><html><head><title>x</title></head><BODY><Style>p{}</style><p>Bad <b>gateway</b></p><script src=a></script>'), '      Bad  gateway   ');
  assert.equal(stripMarkup('a < b and <head without end'), 'a < b and <head without end');
  for (const unit of ['<head', '<', '<script>', '<style x']) {
    const body = unit.repeat(Math.floor(3_000_000 / unit.length));
    const started = performance.now();
    stripMarkup(body);
    assert.ok(performance.now() - started < 1000, `${unit}: ${Math.round(performance.now() - started)} ms`);
  }
  // Through the client: a 502 with such a body fails quickly, naming the status.
  // (160 KB: the cap of a one-text probe; the old expressions took about 35 s on it, hours on a 32-text request's 3 MB.)
  server.setEmbeddingsHandler(() => ({ status: 502, raw: '<head'.repeat(32_000) }));
  const started = performance.now();
  await rejects(resolveEncoder('endpoint', environment()), /embeddings failed after 1 attempt\(s\): HTTP 502/);
  assert.ok(performance.now() - started < 5000, `${Math.round(performance.now() - started)} ms`);
});

test('endpoint: a vector size beyond 4096 asked for is refused up front (flag, request, API), not met as an allocation mid-run', async () => {
  assert.throws(() => encoderEndpointFromFlags({ 'encoder-dimensions': '100000000' }, {}), /^Error: --encoder-dimensions must be an integer from 1 to 4096, got '100000000'$/);
  assert.equal(encoderEndpointFromFlags({ 'encoder-dimensions': '4096' }, {}).settings?.dimensions, 4096);
  const request = {
    datasetPath: '/data.jsonl',
    fields: { text: 'text', teacher: 'teacher_label', human: 'human_label', id: 'id', teacherConfidence: 'teacher_confidence' },
    labels: [],
    options: { folds: 2, stages: 1, seed: 0, backend: 'cpu', finalTargets: 'auto', student: 'fasttext', encoder: 'endpoint', encoderEndpoint: { baseUrl: 'http://x/v1', model: 'm', dimensions: 100_000_000 } },
  };
  assert.match(validateRequest(request) ?? '', /request\.options\.encoderEndpoint\.dimensions must be an integer from 1 to 4096/);
  server.requests.length = 0;
  await rejects(resolveEncoder('endpoint', environment({}, { dimensions: 100_000_000 })), /^encoder endpoint: the vector size asked for \(dimensions 100000000\) must be an integer from 1 to 4096$/);
  assert.equal(server.requests.length, 0);
});

test('endpoint: a same-origin redirect to a /files/…/content path does not lift the answer cap to a batch file\'s 256 MB', async () => {
  const body = 'x'.repeat(4 * 1024 * 1024); // over the 1-text probe's cap (160 KB), under a batch file's
  const hostile = http.createServer((request, response) => {
    if (request.url === '/v1/embeddings') {
      response.writeHead(307, { location: '/v1/files/file-1/content' }).end();
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  try {
    const baseUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/v1`;
    await rejects(resolveEncoder('endpoint', { endpoint: { baseUrl, model: 'm', maxRetries: 0 }, apiKey: KEY, backoff: FAST }), /is larger than 163840 bytes .*and was refused/);
  } finally {
    await new Promise((resolve) => hostile.close(resolve));
  }
});

test('endpoint: a 200 with an HTML page (a web UI at the base URL, not its API) says so and what to check; a server that does not answer says to check it runs', async () => {
  const encoder = await open({}, { dimensions: 16 });
  const page = '<!DOCTYPE html>\n<html><head><title>Open WebUI</title><style>body{}</style></head><body><div id="app">Loading…</div></body></html>';
  server.setEmbeddingsHandler(() => ({ raw: page, headers: { 'content-type': 'text/html; charset=utf-8' } }));
  const url = `${server.baseUrl}/embeddings`.replace(/[.]/g, '\\.');
  const base = server.baseUrl.replace(/[.]/g, '\\.');
  await rejects(
    encoder.encode(['x']),
    new RegExp(`^encoder endpoint: ${url} returned an HTML page, not JSON \\("Loading…"\\): check that ${base} is the base URL of the server's OpenAI-compatible API \\(usually ending in /v1\\)`),
  );

  const closed = await startFakeOpenAi(() => ({ status: 500 }));
  await closed.close();
  const closedBase = closed.baseUrl.replace(/[.]/g, '\\.');
  await rejects(
    resolveEncoder('endpoint', { endpoint: { baseUrl: closed.baseUrl, model: 'm', maxRetries: 0 } }),
    new RegExp(`failed after 1 attempt\\(s\\): TypeError: fetch failed \\(.*ECONNREFUSED.*\\); check that the server at ${closedBase} is running and reachable`),
  );
});

test('endpoint + cache: a model replaced behind the same name is caught by the size probe; its cached vectors are not mixed with new ones, and the cache file is left as it is', async () => {
  const cacheDir = path.join(root, 'replaced-model');
  const inputs = texts(40, 'replaced');
  server.setEmbeddingsHandler(embeddingsHandler());
  const first = await open();
  await encodeTexts(first, inputs, EmbeddingCache.open(cacheDir, first));
  const file = EmbeddingCache.open(cacheDir, first).file;
  const written = readFileSync(file);

  // Same base URL, model name and size (e.g. `ollama pull` fetched a new nomic-embed-text): other vectors.
  server.setEmbeddingsHandler(embeddingsHandler((text) => hashedBagOfWords(`${text} other model`, 16).reverse()));
  const replaced = await open();
  const fresh = [...inputs.slice(0, 20), ...texts(5, 'new')];
  const message = await rejects(encodeTexts(replaced, fresh, EmbeddingCache.open(cacheDir, replaced)), /^encoder endpoint: .* holds vectors of another model/);
  assert.ok(message.includes(file), message);
  assert.match(message, /move that file away \(or delete it\) to embed the texts again/);
  assert.deepEqual(readFileSync(file), written, 'the cache file is left as it was');

  // The same model, with the noise of a server that is not bit-for-bit deterministic: the cache is used.
  server.setEmbeddingsHandler(embeddingsHandler((text) => hashedBagOfWords(text, 16).map((x, d) => x + (d === 0 ? 1e-4 : 0))));
  const same = await open();
  const { cached } = await encodeTexts(same, inputs, EmbeddingCache.open(cacheDir, same));
  assert.equal(cached, 40);
});

test('endpoint: a text that occurs on several rows is sent (and billed) once, and each of its rows gets its vector', async () => {
  server.setEmbeddingsHandler(embeddingsHandler());
  const encoder = await open();
  server.requests.length = 0;
  const unique = texts(50, 'dup');
  const inputs = [...unique, ...unique, ...unique.slice(0, 10), unique[3]];
  const cacheDir = path.join(root, 'duplicates');
  const { values, cached } = await encodeTexts(encoder, inputs, EmbeddingCache.open(cacheDir, encoder));
  assertVectors(values, inputs);
  assert.equal(cached, 0);
  const sent = server.embeddingsRequests().flatMap((call) => (JSON.parse(call.body) as { input: string[] }).input);
  assert.deepEqual(sent.sort(), [...unique].sort(), 'each distinct text once');
  assert.equal(readFileSync(EmbeddingCache.open(cacheDir, encoder).file, 'utf8').trim().split('\n').length, 1 + 50, 'the probe and each text once in the cache');
  // The estimate shown before a run (the editor's, from every row of the file) counts each distinct text once too.
  assert.match(formatEmbeddingEstimate(inputs, server.baseUrl, 'fake-embed'), new RegExp(`^encoder endpoint: 50 text\\(s\\) to embed .*: about ${estimateEmbeddingTokens(unique)} tokens .* in 2 request\\(s\\)$`));
});

test('endpoint: a request refused for a text too long for the model names that text (its length and beginning), so that the row can be found', async () => {
  const encoder = await open({}, { dimensions: 16 });
  const long = `Breaking: ${'the markets moved again '.repeat(400)}`;
  server.setEmbeddingsHandler((request) =>
    request.inputs.some((text) => text.length > 1000)
      ? { status: 400, json: { error: { message: "This model's maximum context length is 8192 tokens, however you requested 9000 tokens.", type: 'invalid_request_error' } } }
      : embeddingsHandler()(request),
  );
  await rejects(
    encoder.encode([...texts(10, 'short'), long, ...texts(5, 'more')]),
    new RegExp(`rejected the request \\(HTTP 400: This model's maximum context length is 8192 tokens.*\\); the longest of its 16 text\\(s\\) has ${long.length.toLocaleString('en-US')} characters: ${JSON.stringify(`${long.slice(0, 60)}…`)}$`),
  );
});

test('the embedding cost estimate counts UTF-8 bytes as the teacher estimate does: CJK text is not estimated at a quarter', () => {
  assert.equal(estimateEmbeddingTokens(['abcdefgh']), 2);
  // 230 CJK characters are 690 bytes of UTF-8: about 173 tokens, not 58 (characters / 4).
  const cjk = '日本語のテキスト'.repeat(29).slice(0, 230);
  assert.equal(estimateEmbeddingTokens([cjk]), Math.ceil(Buffer.byteLength(cjk, 'utf8') / 4));
  assert.ok(estimateEmbeddingTokens([cjk]) > 170);
});

test("endpoint: the encoder's key is read as peerkd label reads it — trimmed, and one no request could carry refused naming the variable, never the key, only where the endpoint is used", () => {
  assert.equal(encoderEndpointFromFlags({}, { OPENAI_API_KEY: ' sk-abc123\r' }).apiKey, 'sk-abc123');
  assert.equal(encoderEndpointFromFlags({ 'api-key-env': 'MY_KEY' }, { MY_KEY: 'sk-mine\n' }).apiKey, 'sk-mine');
  // Two keys in one variable: without endpoint flags (a run that may not use the endpoint) it is no key, with its refusal.
  const two = encoderEndpointFromFlags({}, { OPENAI_API_KEY: 'sk-first sk-second' });
  assert.equal(two.apiKey, undefined);
  assert.match(two.apiKeyProblem ?? '', /^the API key in \$OPENAI_API_KEY .*\(the key is not shown\)$/);
  assert.doesNotMatch(two.apiKeyProblem ?? '', /sk-first|sk-second/);
  // With the flags that name an endpoint, refused at once.
  assert.throws(
    () => encoderEndpointFromFlags({ 'encoder-model': 'text-embedding-3-small' }, { OPENAI_API_KEY: 'sk-first\nsk-second' }),
    (error: Error) => /^the API key in \$OPENAI_API_KEY /.test(error.message) && !/sk-first|sk-second/.test(error.message),
  );
  assert.equal(encoderEndpointFromFlags({}, { OPENAI_API_KEY: '   ' }).apiKey, undefined);
});
