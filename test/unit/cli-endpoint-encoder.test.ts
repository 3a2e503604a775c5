/**
 * Issue 13, the `endpoint` encoder through the CLI in real processes (src/cli/main.ts under tsx, which forks the real
 * worker) against a real HTTP server on 127.0.0.1: `distill --encoder endpoint` shows the cost first, hands the key to
 * the worker through its environment (it reaches the server, and no file of the run or the cache), `predict` reopens
 * the endpoint the model names and takes the rows it embedded from the cache; an endpoint without embeddings fails
 * with a clear message; Ctrl-C stops the requests in flight.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readLatestRun } from '../../src/training/artifacts';
import { endpointVersion } from '../../src/training/encoders/endpoint';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';
import { embeddingsHandler, hashedBagOfWords, startFakeOpenAi, type FakeOpenAiServer } from '../support/fakeOpenAiServer';

const KEY = 'sk-cli-endpoint-secret-9876543210';
let folder: string;
let dataset: string;
let server: FakeOpenAiServer;
/** Label of each fixture text (human, else teacher): the fake vectors carry it, so that the engine keeps them. */
const labelOf = new Map<string, string>();

before(async () => {
  folder = await tempFolder('cli-endpoint');
  dataset = join(folder, 'agnews-200.jsonl');
  await copyFile(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
  for (const line of (await readFile(dataset, 'utf8')).split('\n').filter(Boolean)) {
    const row = JSON.parse(line) as { text: string; teacher_label: string; human_label?: string | null };
    labelOf.set(row.text, row.human_label ?? row.teacher_label);
  }
  server = await startFakeOpenAi(() => ({ status: 500 }));
});

after(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

const env = { ...process.env, OPENAI_API_KEY: KEY };
const endpointArgs = (model = 'fake-embed') => ['--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', model];

function oracle(text: string): number[] {
  const labels = ['Business', 'Sci/Tech', 'Sports', 'World'];
  const label = labelOf.get(text);
  return [...labels.map((name) => (name === label ? 3 : 0)), ...hashedBagOfWords(text, 12)];
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(file)));
    else if ((await stat(file)).isFile()) out.push(file);
  }
  return out;
}

test('peerkd distill --encoder endpoint: cost shown first, key through the environment only, the engine keeps the vectors; predict reopens the endpoint and reads the cache', async () => {
  server.requests.length = 0;
  server.setEmbeddingsHandler(embeddingsHandler(oracle));
  const { code, stdout, stderr } = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--stages', '1', ...endpointArgs()], folder, env);
  assert.equal(code, 0, stderr);
  assert.match(stderr, new RegExp(`encoder endpoint: 200 text\\(s\\) to embed with fake-embed at ${server.baseUrl.replace(/[.]/g, '\\.')} \\(texts already in the cache are not sent again\\): about [\\d,]+ tokens`));
  const calls = server.embeddingsRequests();
  assert.ok(calls.every((call) => call.headers.authorization === `Bearer ${KEY}`), 'the key reached the server');
  assert.equal(calls.flatMap((call) => (JSON.parse(call.body) as { input: string[] }).input).length, 1 + 200, 'a probe, then every row once');

  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  assert.deepEqual(latest.settings.options.encoderEndpoint, { baseUrl: server.baseUrl, model: 'fake-embed' });
  const metrics = latest.metrics as { encoder: { candidate: { name: string; version: string }; used: string } };
  assert.deepEqual(metrics.encoder.candidate, { name: 'endpoint', version: endpointVersion(server.baseUrl, 'fake-embed', 16), dims: 16 });
  assert.equal(metrics.encoder.used, 'words+embedding', 'the vectors carry the labels: the engine keeps them (so predict needs them)');
  assert.match(stdout, /encoder\s+words \+ endpoint; asked endpoint\n/);
  const log = await readFile(join(latest.runDir, 'run.log'), 'utf8');
  assert.match(log, /encoder endpoint: 200 text\(s\) to embed/);
  assert.match(log, /encoder endpoint: 201 text\(s\) embedded in 8 request\(s\) \(0 retried\), 2,010 tokens as the server counted them/);
  const cacheDir = join(folder, '.peerkd', 'embedding-cache');
  const files = [...(await filesUnder(latest.runDir)), ...(await filesUnder(cacheDir))];
  assert.ok(files.some((file) => file.endsWith('run.log')) && files.some((file) => file.endsWith('metrics.json')) && files.some((file) => file.includes('embedding-cache')));
  for (const file of files) assert.ok(!(await readFile(file)).includes(KEY), `the key is in ${file}`);

  // predict: the endpoint the model names, and the rows the run embedded come from the cache (no probe, no request).
  server.requests.length = 0;
  const again = await runCli(['predict', latest.runDir, 'agnews-200.jsonl', '--backend', 'cpu'], folder, env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim().split('\n').length, 200);
  assert.equal(server.embeddingsRequests().length, 0, 'all 200 rows were in the cache');
  const input = join(folder, 'new.jsonl');
  const texts = ['Stocks fall as oil prices rise', 'Team wins the cup final after extra time', 'New chip doubles battery life of phones'];
  await writeFile(input, texts.map((text, i) => JSON.stringify({ id: `n${i}`, text })).join('\n') + '\n');
  const fresh = await runCli(['predict', latest.runDir, 'new.jsonl', '--backend', 'cpu'], folder, env);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(fresh.stdout.trim().split('\n').length, 3);
  // The witness first (a model replaced behind the name since the run is caught before its vectors are used), then the rows.
  assert.deepEqual(server.embeddingsRequests().map((call) => (JSON.parse(call.body) as { input: string[] }).input), [['PeerKD dimension probe'], texts]);
});

test('peerkd predict with a model whose model.json names an endpoint the user did not: no text and no key go there, a clear error says how to name it', async () => {
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  // A copy of the run whose model names another host (0.0.0.0 reaches this machine's fake server, but is not loopback by name).
  const port = new URL(server.baseUrl).port;
  const hostile = join(folder, 'hostile-run');
  await cp(latest.runDir, hostile, { recursive: true });
  const modelJson = join(hostile, 'model', 'model.json');
  const model = JSON.parse(await readFile(modelJson, 'utf8')) as { userDefinedMetadata: { peerkd: { dense: { version: string } } } };
  model.userDefinedMetadata.peerkd.dense.version = endpointVersion(`http://0.0.0.0:${port}/v1`, 'fake-embed', 16);
  await writeFile(modelJson, JSON.stringify(model));
  const input = join(folder, 'private.jsonl');
  await writeFile(input, JSON.stringify({ id: 'p1', text: 'a private text never embedded before' }) + '\n');
  server.setEmbeddingsHandler(embeddingsHandler(oracle));
  server.requests.length = 0;
  const { code, stderr } = await runCli(['predict', hostile, 'private.jsonl', '--backend', 'cpu'], folder, env);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /the model was trained with the endpoint http:\/\/0\.0\.0\.0:\d+\/v1 \(model fake-embed\); PeerKD sends texts and the API key only to an endpoint you name: give --encoder-base-url/);
  assert.ok(!stderr.includes(KEY));
  assert.equal(server.requests.length, 0, 'nothing reached the endpoint the model names');
  // Named on the command line, it is used.
  const named = await runCli(['predict', hostile, 'private.jsonl', '--backend', 'cpu', '--encoder-base-url', `http://0.0.0.0:${port}/v1`, '--encoder-model', 'fake-embed'], folder, env);
  assert.equal(named.code, 0, named.stderr);
  assert.equal(server.embeddingsRequests().length, 2, 'the witness, then the row');
});

test('peerkd predict with a model whose endpoint is down: exit 1, the error names model.json and says to start the server or name another; no words-only prediction', async () => {
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  const down = await startFakeOpenAi(() => ({ status: 500 }));
  await down.close();
  const copy = join(folder, 'endpoint-down-run');
  await cp(latest.runDir, copy, { recursive: true });
  const modelJson = join(copy, 'model', 'model.json');
  const model = JSON.parse(await readFile(modelJson, 'utf8')) as { userDefinedMetadata: { peerkd: { dense: { version: string } } } };
  model.userDefinedMetadata.peerkd.dense.version = endpointVersion(down.baseUrl, 'fake-embed', 16);
  await writeFile(modelJson, JSON.stringify(model));
  await writeFile(join(folder, 'unseen.jsonl'), JSON.stringify({ id: 'u1', text: 'a text no run has embedded' }) + '\n');
  const { code, stdout, stderr } = await runCli(['predict', copy, 'unseen.jsonl', '--backend', 'cpu'], folder, env);
  assert.equal(code, 1, stderr);
  assert.equal(stdout, '', 'no prediction from the words alone');
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  assert.match(
    stderr,
    new RegExp(
      `^peerkd predict: ${escape(modelJson)}: the model's encoder endpoint \\(${escape(down.baseUrl)}, model fake-embed\\) could not embed the rows to predict: ` +
        `.*ECONNREFUSED.*; check that the server at ${escape(down.baseUrl)} is running and reachable .*; or give --encoder-base-url and --encoder-model of a server with the same model`,
    ),
  );
  assert.ok(!/^\s+at /m.test(stderr), `no stack frames: ${stderr}`);
  assert.ok(!stderr.includes(KEY));
});

test('peerkd predict reports the damaged lines of the embedding cache it reads (file:line), as distill does, and still predicts', async () => {
  const latest = await readLatestRun(dataset);
  assert.ok(latest);
  const elsewhere = join(folder, 'damaged-cache');
  const cacheDir = join(elsewhere, '.peerkd', 'embedding-cache');
  await mkdir(cacheDir, { recursive: true });
  await cp(join(folder, '.peerkd', 'embedding-cache'), cacheDir, { recursive: true });
  // The cache of the model's endpoint (the folder also holds the one of the 0.0.0.0 test).
  const cacheFile = EmbeddingCache.open(cacheDir, { name: 'endpoint', version: endpointVersion(server.baseUrl, 'fake-embed', 16), dims: 16 }).file;
  const lines = (await readFile(cacheFile, 'utf8')).split('\n');
  lines.splice(2, 0, '{"k": "damaged');
  await writeFile(cacheFile, lines.join('\n'));
  const rows = (await readFile(dataset, 'utf8')).split('\n').filter(Boolean).slice(0, 5);
  await writeFile(join(elsewhere, 'rows.jsonl'), rows.join('\n') + '\n');
  server.setEmbeddingsHandler(embeddingsHandler(oracle));
  const { code, stdout, stderr } = await runCli(['predict', latest.runDir, 'rows.jsonl', '--backend', 'cpu'], elsewhere, env);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim().split('\n').length, 5);
  assert.ok(stderr.includes(`warning: ${cacheFile}:3: not valid JSON; entry ignored\n`), stderr);
});

test('peerkd distill --encoder endpoint against a server without embeddings: a clear error, exit 1, no run left, no key shown', async () => {
  server.setEmbeddingsHandler(undefined);
  const before = await readLatestRun(dataset);
  const { code, stderr } = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--stages', '1', ...endpointArgs()], folder, env);
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`encoder endpoint: ${server.baseUrl.replace(/[.]/g, '\\.')} does not serve /embeddings for model "fake-embed" \\(POST [^)]*: HTTP 404`));
  assert.ok(!stderr.includes(KEY));
  assert.equal((await readLatestRun(dataset))?.runId, before?.runId, 'no new run');

  // The endpoint's flags without --encoder endpoint say they are ignored (and nothing is sent).
  server.requests.length = 0;
  const ignored = await runCli(['distill', 'agnews-200.jsonl', '--backend', 'cpu', '--stages', '1', '--encoder', 'none', '--encoder-model', 'fake-embed'], folder, env);
  assert.equal(ignored.code, 0, ignored.stderr);
  assert.match(ignored.stderr, /warning: --encoder-\* flags are for --encoder endpoint; this run uses --encoder none, so they are ignored\./);
  assert.equal(server.requests.length, 0);
});

test('peerkd distill --encoder endpoint: Ctrl-C aborts the requests in flight and sends no more', async () => {
  let arrived = 0;
  const aborted: string[] = [];
  server.onAborted = (request) => aborted.push(request.body);
  server.setEmbeddingsHandler((request) => {
    if (request.inputs.length === 1) return embeddingsHandler()(request); // the probe
    arrived++;
    return { hang: true };
  });
  server.requests.length = 0;
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(repoRoot, 'src/cli/main.ts'), 'distill', 'agnews-200.jsonl', '--backend', 'cpu', ...endpointArgs('uncached-model'), '--encoder-concurrency', '2'], {
    cwd: folder,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Another model: nothing of it is cached, so the rows are requested.
  const deadline = Date.now() + 60_000;
  while (arrived < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(arrived, 2, stderr);
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(aborted.length, 2, 'both requests in flight were dropped');
  assert.equal(server.embeddingsRequests().length, 3, 'the probe and the two requests in flight, nothing after');
  server.onAborted = undefined;
});

test('peerkd bench --encoder endpoint: every seed and variant reads the vectors from the cache in DATA_DIR, each text is sent once', async () => {
  const source = join(repoRoot, '..', 'shared', 'data', 'agnews-noisy');
  const dataDir = join(folder, 'bench-data');
  await mkdir(dataDir);
  const firstLines = async (file: string, count: number) => (await readFile(join(source, file), 'utf8')).split('\n').filter(Boolean).slice(0, count).join('\n') + '\n';
  await writeFile(join(dataDir, 'train.jsonl'), await firstLines('train.jsonl', 160));
  await writeFile(join(dataDir, 'test.jsonl'), await firstLines('test.jsonl', 40));
  server.setEmbeddingsHandler(embeddingsHandler());
  server.requests.length = 0;
  const json = join(folder, 'bench.json');
  const { code, stderr } = await runCli(['bench', dataDir, '--seeds', '0,1', '--human', '20', '--main-only', '--backend', 'cpu', '--stages', '1', '--encoder-keep', 'always', '--json', json, ...endpointArgs('bench-model')], folder, env);
  assert.equal(code, 0, stderr);
  const sent = server.embeddingsRequests().flatMap((call) => (JSON.parse(call.body) as { input: string[] }).input);
  const probes = sent.filter((text) => text === 'PeerKD dimension probe').length;
  assert.equal(probes, 3, 'each seed opens the encoder (one probe of its size), and the saved model asks for its witness before seed 0 sends the test texts');
  assert.equal(sent.length - probes, 160 + 40, 'each train and test text once for both seeds');
  assert.ok(server.embeddingsRequests().every((call) => call.headers.authorization === `Bearer ${KEY}`));
  assert.match(stderr, /encoder: .*endpoint/);
  // The bench log says what the endpoint cost, as a distill's run.log does: the estimate before, the usage after
  // (the probe counts: 1 + 160 texts in 1 + 5 requests), and on the next seed that every row came from the cache.
  assert.match(stderr, /seed 0: PeerKD: encoder endpoint: 160 text\(s\) to embed with bench-model at .*: about [\d,]+ tokens .* in 5 request\(s\)/);
  assert.match(stderr, /seed 0: PeerKD: encoder endpoint: 161 text\(s\) embedded in 6 request\(s\) \(0 retried\), [\d,]+ tokens as the server counted them/);
  assert.match(stderr, /seed 0: PeerKD: encoder: .*; encoded in [\d.]+ s, 0 of 160 rows from the cache/);
  assert.match(stderr, /seed 1: PeerKD: encoder: .*; encoded in [\d.]+ s, 160 of 160 rows from the cache/);
  assert.doesNotMatch(stderr, /seed 1: PeerKD: encoder endpoint: \d+ text\(s\) to embed/, 'nothing left to send on seed 1');
  const figures = (JSON.parse(await readFile(json, 'utf8')) as { settings: { results: { variants: { PeerKD: { encodeSeconds: number; cachedRows: number } } }[] }[] }).settings[0].results.map((result) => result.variants.PeerKD);
  assert.deepEqual(figures.map((figure) => figure.cachedRows), [0, 160]);
  assert.ok(figures.every((figure) => figure.encodeSeconds > 0 && figure.encodeSeconds <= 60), JSON.stringify(figures));
});

test('a bad --encoder-base-url is refused naming the flag the user gave (not "the teacher base URL"), before anything runs', async () => {
  const cases: [string, RegExp][] = [
    ['not a url', /^peerkd distill: --encoder-base-url 'not a url' is not a valid URL \(expected e\.g\. http:\/\/localhost:11434\/v1\)\.$/m],
    ['ftp://embed.example.com/v1', /^peerkd distill: --encoder-base-url 'ftp:\/\/embed\.example\.com\/v1' must start with http:\/\/ or https:\/\/\.$/m],
    ['https://user:pw@embed.example.com/v1', /^peerkd distill: --encoder-base-url 'https:\/\/embed\.example\.com\/v1' holds a user name or password; /m],
  ];
  for (const [url, expected] of cases) {
    const { code, stderr } = await runCli(['distill', 'agnews-200.jsonl', '--encoder', 'endpoint', '--encoder-base-url', url], folder, env);
    assert.equal(code, 2, stderr);
    assert.match(stderr, expected);
    assert.doesNotMatch(stderr, /teacher base URL/);
    assert.ok(!stderr.includes('pw@'), 'the password is not shown');
  }
});
