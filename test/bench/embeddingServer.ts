/**
 * A local OpenAI-compatible `/v1/embeddings` server that serves real vectors: the use-lite vectors of an embedding
 * cache (`peerkd bench --encoder use-lite --embedding-cache DIR` wrote them), looked up by text. It shows the
 * `endpoint` encoder's path end to end (issue 13) without a network: the bench posts every text over HTTP to
 * 127.0.0.1 and gets back the same vectors use-lite computed, so the endpoint row of the table must match use-lite's.
 *
 *   node --import tsx test/bench/embeddingServer.ts [--cache DIR] [--port N] [--compute-missing] [-- COMMAND ARGS...]
 *
 * --cache DIR        folder holding the use-lite cache file (default $PEERKD_USE_LITE_CACHE, else
 *                    ../shared/data/agnews-noisy/.peerkd/embedding-cache, where the bench keeps it by default)
 * --port N           port on 127.0.0.1 (default 0: any free port). The endpoint encoder's cache is keyed by its base
 *                    URL, so a fixed port lets a second run reuse the endpoint cache.
 * --compute-missing  a text the cache lacks is encoded by use-lite in this process (TF.js, seconds for the first)
 *                    instead of refused; the endpoint encoder's one probe text ("PeerKD dimension probe") needs it
 *                    unless the client passes --encoder-dimensions 512.
 * -- COMMAND ARGS    run COMMAND with `{url}` in ARGS replaced by the base URL (also in $PEERKD_EMBEDDINGS_URL),
 *                    stop the server when it exits, and exit with its status.
 * Without COMMAND it prints the base URL and serves until SIGINT / SIGTERM. Either way it prints at the end what it
 * served (requests, texts, tokens, refused texts) on stderr.
 *
 * A text not in the cache (without --compute-missing) gets HTTP 400 naming the text and the cache file, like a
 * server that refuses an input, so a bench that sends other texts fails at once instead of training on made-up vectors.
 * `usage.prompt_tokens` counts use-lite's own sentencepiece tokens of each text (at most its 512 that the model reads).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { openUseLite } from '../../src/training/encoders/useLite';
import { embeddingsReply, startFakeOpenAi, type Reply } from '../support/fakeOpenAiServer';

const DEFAULT_CACHE = path.join(__dirname, '..', '..', '..', 'shared', 'data', 'agnews-noisy', '.peerkd', 'embedding-cache');

function refuse(status: number, message: string): Reply {
  return { status, json: { error: { message, type: 'invalid_request_error' } } };
}

async function main(): Promise<number> {
  const separator = process.argv.indexOf('--');
  const own = separator < 0 ? process.argv.slice(2) : process.argv.slice(2, separator);
  const command = separator < 0 ? [] : process.argv.slice(separator + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      cache: { type: 'string', default: process.env.PEERKD_USE_LITE_CACHE || DEFAULT_CACHE },
      port: { type: 'string', default: '0' },
      'compute-missing': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0 to 65535, got '${values.port}'`);
  const useLite = openUseLite();
  const cache = EmbeddingCache.open(values.cache, useLite);
  for (const problem of cache.describeProblems()) console.error(problem);
  if (cache.size === 0 && !values['compute-missing']) {
    throw new Error(`${cache.file}: no use-lite vectors (${existsSync(cache.file) ? 'empty file' : 'no such file'}); run peerkd bench --encoder use-lite --embedding-cache ${values.cache} first, or pass --compute-missing`);
  }
  console.error(`embedding server: ${cache.size.toLocaleString('en-US')} use-lite vectors of ${useLite.dims} values from ${cache.file}`);

  const stats = { requests: 0, texts: 0, tokens: 0, computed: 0, refused: 0 };
  const server = await startFakeOpenAi(() => refuse(404, 'this server serves /v1/embeddings only'), port);
  server.setEmbeddingsHandler(async (request) => {
    const { body, inputs } = request;
    if (typeof body.input !== 'string' && !Array.isArray(body.input)) return refuse(400, '"input" must be a string or a list of strings');
    if (inputs.length === 0) return refuse(400, '"input" is empty');
    if (inputs.some((text) => typeof text !== 'string')) return refuse(400, 'every "input" must be a string (token ids are not served)');
    if (body.dimensions !== undefined && body.dimensions !== useLite.dims) {
      return refuse(400, `"dimensions": ${JSON.stringify(body.dimensions)} is not served; this model has ${useLite.dims}`);
    }
    if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
      return refuse(400, `"encoding_format": ${JSON.stringify(body.encoding_format)} is not served (float or base64)`);
    }
    const vectors: Float32Array[] = [];
    const missing: number[] = [];
    inputs.forEach((text, i) => {
      const vector = cache.get(text);
      if (vector) vectors[i] = vector;
      else missing.push(i);
    });
    if (missing.length > 0) {
      if (!values['compute-missing']) {
        stats.refused += missing.length;
        const first = inputs[missing[0]];
        const shown = first.length > 80 ? `${first.slice(0, 80)}…` : first;
        return refuse(
          400,
          `${missing.length} of ${inputs.length} input(s) have no use-lite vector in ${cache.file} (input ${missing[0]}: ${JSON.stringify(shown)}); ` +
            'this test server serves only the texts that cache holds (start it with --compute-missing to encode others)',
        );
      }
      const computed = await useLite.encode(missing.map((i) => inputs[i]));
      missing.forEach((i, j) => (vectors[i] = computed.slice(j * useLite.dims, (j + 1) * useLite.dims)));
      stats.computed += missing.length;
    }
    const tokens = inputs.reduce((sum, text) => sum + useLite.tokenize(text).length, 0);
    stats.requests += 1;
    stats.texts += inputs.length;
    stats.tokens += tokens;
    const reply = embeddingsReply(
      vectors.map((vector) => Array.from(vector)),
      { base64: body.encoding_format === 'base64', model: body.model ?? 'use-lite' },
    );
    (reply.json as { usage: unknown }).usage = { prompt_tokens: tokens, total_tokens: tokens };
    return reply;
  });
  const summary = () =>
    console.error(
      `embedding server: served ${stats.requests} request(s), ${stats.texts.toLocaleString('en-US')} text(s), ` +
        `${stats.tokens.toLocaleString('en-US')} token(s); ${stats.computed} computed by use-lite, ${stats.refused} refused`,
    );


  if (command.length === 0) {
    console.log(server.baseUrl);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    summary();
    return 0;
  }
  const args = command.slice(1).map((arg) => arg.replaceAll('{url}', server.baseUrl));
  console.error(`embedding server: ${server.baseUrl}; running ${[command[0], ...args].join(' ')}`);
  const child = spawn(command[0], args, { stdio: 'inherit', env: { ...process.env, PEERKD_EMBEDDINGS_URL: server.baseUrl } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
  });
  await server.close();
  summary();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`embedding server: ${(error as Error).message}`);
    process.exit(1);
  },
);
