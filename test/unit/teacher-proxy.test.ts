/**
 * `peerkd label` (and the endpoint encoder in the training worker) behind a proxy: the variables read as curl reads
 * them (https_proxy/HTTPS_PROXY for https, http_proxy/HTTP_PROXY for http, all_proxy/ALL_PROXY else, no_proxy/NO_PROXY
 * exempting hosts), credentials in the proxy's URL sent as Proxy-Authorization and never shown, and a proxy that cannot
 * be reached or refuses named as the proxy. Against a real forward proxy and a real fake OpenAI server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runLabelCommand } from '../../src/cli/label';
import { proxyFor, proxyNote, ProxySettingError, withEditorProxySetting } from '../../src/teacher/proxy';
import { proxyAwareFetch } from '../../src/teacher/proxyFetch';
import { openEndpoint } from '../../src/training/encoders/endpoint';
import { repoRoot, runCli, tempFolder } from '../fixtures/training/build';
import { embeddingsHandler, labelReply, startFakeOpenAi, withFakeOpenAi } from '../support/fakeOpenAiServer';
import { closedPort, startForwardProxy, type ForwardProxy } from '../support/forwardProxy';
import { selfSignedCertificate } from '../support/selfSignedCertificate';
import { labelIo } from '../support/captureIo';
import { unlabelledDataset } from '../support/jsonl';

const LABELS = ['World', 'Sports'];

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const dataset = (rows: number) => unlabelledDataset(rows, 'peerkd-label-proxy-', tempDirs);


const io = (env: NodeJS.ProcessEnv) => labelIo(env);

async function withProxy(options: Parameters<typeof startForwardProxy>[0], body: (proxy: ForwardProxy) => Promise<void>): Promise<void> {
  const proxy = await startForwardProxy(options);
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

const labelArgs = (file: string, baseUrl: string) => [file, '--base-url', baseUrl, '--model', 'fake', '--labels', LABELS.join(',')];

describe('peerkd label behind a proxy', () => {
  it('goes through the proxy HTTP_PROXY names, saying so once', async () => {
    const { file } = dataset(3);
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      await withProxy({}, async (proxy) => {
        const run = io({ HTTP_PROXY: proxy.url });
        assert.equal(await runLabelCommand(labelArgs(file, server.baseUrl), run), 0, run.stderr.text);
        assert.equal(server.chatRequests().length, 3);
        // An http:// endpoint is forwarded as curl forwards it: the absolute URI, no tunnel.
        assert.deepEqual(
          proxy.requests.map((request) => `${request.method} ${request.target}`),
          Array.from({ length: 3 }, () => `POST ${server.baseUrl}/chat/completions`),
        );
        assert.ok(
          run.stderr.text.includes(
            `Proxy: requests to 127.0.0.1:${server.port} go through the proxy ${proxy.url} ($HTTP_PROXY); ` +
              "a proxy does not reach this machine's own servers: name 127.0.0.1 in NO_PROXY to go directly.\n",
          ),
          run.stderr.text,
        );
        assert.doesNotMatch(run.stderr.text, /warning/);
      });
    });
  });

  it('sends a --batch run (file upload, batch, polls, download) through the proxy', async () => {
    const { file } = dataset(2);
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      await withProxy({}, async (proxy) => {
        const run = io({ HTTP_PROXY: proxy.url });
        assert.equal(await runLabelCommand([...labelArgs(file, server.baseUrl), '--batch'], run), 0, run.stderr.text);
        assert.equal(proxy.requests.length, server.requests.length);
        assert.deepEqual(
          [...new Set(proxy.requests.map((request) => `${request.method} ${request.target.replace(/\/(batch|file)[-_]\w+/, '/ID')}`))],
          ['POST /files', 'POST /batches', 'GET /batches/ID', 'GET /files/ID/content'].map((route) => route.replace(' /', ` ${server.baseUrl}/`)),
        );
        assert.match(fs.readFileSync(file, 'utf8'), /"teacher_label":"World"[^]*"teacher_label":"World"/);
      });
    });
  });

  it('goes directly to a host NO_PROXY names, and through the proxy where NO_PROXY names another', async () => {
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      await withProxy({}, async (proxy) => {
        const other = io({ HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,.internal.example' });
        assert.equal(await runLabelCommand(labelArgs(dataset(2).file, server.baseUrl), other), 0, other.stderr.text);
        assert.equal(proxy.requests.length, 2, '127.0.0.1 is not localhost for NO_PROXY, as for curl');

        for (const noProxy of ['127.0.0.1', `127.0.0.1:${server.port}`, 'example.com, 127.0.0.1']) {
          proxy.requests.length = 0;
          server.requests.length = 0;
          const exempt = io({ HTTP_PROXY: proxy.url, no_proxy: noProxy });
          assert.equal(await runLabelCommand(labelArgs(dataset(2).file, server.baseUrl), exempt), 0, exempt.stderr.text);
          assert.equal(proxy.requests.length, 0, `NO_PROXY=${noProxy}`);
          assert.equal(server.chatRequests().length, 2);
          assert.doesNotMatch(exempt.stderr.text, /[Pp]roxy/);
        }
      });
    });
  });

  it("sends the proxy URL's user name and password as Proxy-Authorization, and shows them nowhere", async () => {
    const credentials = { user: 'alice', password: 'pr0xy s3cret:@/' };
    const proxyPassword = encodeURIComponent(credentials.password);
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      await withProxy({ credentials }, async (proxy) => {
        const { dir, file } = dataset(2);
        const proxyUrl = `http://${credentials.user}:${proxyPassword}@127.0.0.1:${proxy.port}`;
        const run = io({ http_proxy: proxyUrl });
        assert.equal(await runLabelCommand(labelArgs(file, server.baseUrl), run), 0, run.stderr.text);
        const header = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
        assert.deepEqual(proxy.requests.map((request) => request.proxyAuthorization), [header, header]);
        assert.ok(server.chatRequests().every((request) => request.headers['proxy-authorization'] === undefined), 'the header goes to the proxy only');
        assert.ok(run.stderr.text.includes(`go through the proxy http://***@127.0.0.1:${proxy.port} ($http_proxy); `), run.stderr.text);

        // Wrong credentials: the proxy's 407 stops the run at once, named as the proxy's, and the endpoint is never asked.
        proxy.requests.length = 0;
        server.requests.length = 0;
        const wrong = io({ HTTP_PROXY: `http://${credentials.user}:not-${proxyPassword}@127.0.0.1:${proxy.port}` });
        assert.equal(await runLabelCommand([...labelArgs(dataset(4).file, server.baseUrl), '--concurrency', '4'], wrong), 1);
        assert.match(
          wrong.stdout.text,
          new RegExp(`^Stopped on: TeacherFatalError: the proxy http://\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port} \\(\\$HTTP_PROXY\\) refused the request to 127\\.0\\.0\\.1:${server.port} with HTTP 407: it did not accept the user name and password in \\$HTTP_PROXY$`, 'm'),
        );
        assert.equal(proxy.requests.length, 1, 'no other request after the refusal');
        assert.equal(server.requests.length, 0);

        const everything = [run.stdout.text, run.stderr.text, wrong.stdout.text, wrong.stderr.text, ...fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8'))].join('\n');
        for (const secret of [credentials.password, proxyPassword, 'alice', header.slice('Basic '.length)]) assert.ok(!everything.includes(secret), `${secret} was shown`);
      });
    });
  });

  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-proxy-tls-'));
  tempDirs.push(tlsDir);
  const certificate = selfSignedCertificate(tlsDir);
  it('tunnels an https:// endpoint through the proxy HTTPS_PROXY names (CONNECT), with its credentials', { skip: certificate === undefined && 'no openssl to make a certificate' }, async () => {
    const tls = certificate!;
    const server = await startFakeOpenAi(() => labelReply('World'), 0, tls);
    try {
      await withProxy({ credentials: { user: 'dora', password: 'tunnel-pw' } }, async (proxy) => {
        const { dir } = dataset(3);
        // A child process: the test server's certificate is trusted through NODE_EXTRA_CA_CERTS, read at start.
        const env = { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile, HTTPS_PROXY: `http://dora:tunnel-pw@127.0.0.1:${proxy.port}`, NO_PROXY: '', OPENAI_API_KEY: '' };
        const { code, stdout, stderr } = await runCli(['label', 'data.jsonl', ...labelArgs('', server.baseUrl).slice(1)], dir, env);
        assert.equal(code, 0, stderr);
        assert.ok(server.baseUrl.startsWith('https://'));
        assert.equal(server.chatRequests().length, 3);
        assert.ok(proxy.requests.length >= 1 && proxy.requests.every((request) => request.method === 'CONNECT' && request.target === `127.0.0.1:${server.port}`), JSON.stringify(proxy.requests));
        assert.ok(proxy.requests.every((request) => request.proxyAuthorization === `Basic ${Buffer.from('dora:tunnel-pw').toString('base64')}`));
        assert.ok(stderr.includes(`go through the proxy http://***@127.0.0.1:${proxy.port} ($HTTPS_PROXY)`), stderr);
        assert.ok(!`${stdout}${stderr}`.includes('tunnel-pw'));
      });
    } finally {
      await server.close();
    }
  });

  it('names the proxy, not the endpoint, when the proxy cannot be reached', async () => {
    const port = await closedPort();
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      const { file, original } = dataset(5);
      const run = io({ ALL_PROXY: `http://bob:hunter2@127.0.0.1:${port}` });
      assert.equal(await runLabelCommand([...labelArgs(file, server.baseUrl), '--concurrency', '4'], run), 1);
      assert.match(
        run.stdout.text,
        new RegExp(`^Stopped on: TeacherFatalError: the proxy http://\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(\\$ALL_PROXY\\) could not be reached \\(ECONNREFUSED\\), so nothing was sent to 127\\.0\\.0\\.1:${server.port}: check \\$ALL_PROXY, or name 127\\.0\\.0\\.1 in NO_PROXY if it is reached without the proxy$`, 'm'),
      );
      assert.doesNotMatch(run.stdout.text, /nothing listens at/);
      assert.match(run.stdout.text, /^Requests: 1 sent \(0 retries\)/m, 'one request; no other text was sent');
      assert.equal(server.requests.length, 0);
      assert.ok(!`${run.stdout.text}${run.stderr.text}`.includes('hunter2'));
      assert.equal(fs.readFileSync(file, 'utf8'), original);
    });
  });

  it('says which proxy a remote endpoint goes through, masked, before any request; refuses a variable that is no http proxy', async () => {
    const { file, original } = dataset(3);
    const cancelled = new AbortController();
    cancelled.abort(); // nothing is sent: the run stops before its first request
    const run = { ...io({ HTTPS_PROXY: 'http://alice:proxy-password@proxy.corp.example:3128', NO_PROXY: 'localhost,.internal.example' }), signal: cancelled.signal };
    assert.equal(await runLabelCommand(labelArgs(file, 'https://teacher.example.test/v1'), run), 130);
    assert.ok(run.stderr.text.includes('Proxy: requests to teacher.example.test go through the proxy http://***@proxy.corp.example:3128 ($HTTPS_PROXY).\n'), run.stderr.text);
    assert.ok(!run.stderr.text.includes('proxy-password') && !run.stderr.text.includes('alice'));

    await assert.rejects(
      runLabelCommand(labelArgs(file, 'https://teacher.example.test/v1'), io({ HTTPS_PROXY: 'socks5://carol:pw@proxy.corp.example:1080' })),
      (error: Error) => error.message === '$HTTPS_PROXY names the proxy socks5://***@proxy.corp.example:1080, but PeerKD speaks to http:// and https:// proxies only (not socks5)',
    );
    assert.equal(fs.readFileSync(file, 'utf8'), original);
  });
});

describe('which proxy a URL goes through (curl rules)', () => {
  const route = (url: string, env: NodeJS.ProcessEnv) => {
    const found = proxyFor(new URL(url), env);
    return found && `${found.variable} ${found.shown}`;
  };

  it('takes the scheme\'s variable, lower case first, then ALL_PROXY; NO_PROXY exempts hosts, suffixes and ports', () => {
    const env = { HTTPS_PROXY: 'http://secure:3128', http_proxy: 'plain:8080', HTTP_PROXY: 'http://upper:8080', ALL_PROXY: 'http://all:1080', NO_PROXY: 'localhost, .internal.example,api.example.com:8443' };
    assert.equal(route('https://api.openai.com/v1', env), 'HTTPS_PROXY http://secure:3128');
    assert.equal(route('http://gpu.lan:8000/v1', env), 'http_proxy http://plain:8080', 'no scheme: http://, as curl reads it');
    assert.equal(route('http://gpu.lan:8000/v1', { ALL_PROXY: 'http://all:1080' }), 'ALL_PROXY http://all:1080');
    assert.equal(route('https://api.openai.com/v1', { HTTP_PROXY: 'http://upper:8080' }), undefined, 'HTTP_PROXY is for http');
    assert.equal(route('https://api.openai.com/v1', { HTTPS_PROXY: '  ' }), undefined, 'blank is unset');
    assert.equal(route('https://gpu.internal.example/v1', env), undefined);
    assert.equal(route('https://internal.example/v1', env), undefined);
    assert.equal(route('https://api.example.com:8443/v1', env), undefined);
    assert.equal(route('https://api.example.com/v1', env), 'HTTPS_PROXY http://secure:3128', 'another port than the one exempted');
    assert.equal(route('http://localhost:11434/v1', env), undefined);
    assert.equal(route('https://api.openai.com/v1', { ...env, NO_PROXY: '*' }), undefined);
    assert.equal(route('https://api.openai.com/v1', { ...env, no_proxy: 'openai.com', NO_PROXY: 'other.example' }), undefined, 'no_proxy first');
    assert.equal(route('https://api.openai.com/v1', { HTTPS_PROXY: 'https://u:p@secure:443' }), 'HTTPS_PROXY https://***@secure');
    assert.equal(proxyNote('https://api.openai.com/v1', {}), undefined);
    assert.throws(() => proxyFor(new URL('https://api.openai.com/v1'), { HTTPS_PROXY: 'http://us:er:pw@[bad' }), (error: Error) => error instanceof ProxySettingError && !error.message.includes('pw'));
  });
});

describe("the editor's http.proxy for the training worker", () => {
  it('becomes HTTPS_PROXY and HTTP_PROXY (http.noProxy NO_PROXY) where the environment names no proxy, and is left out with proxySupport off', () => {
    const http = { proxy: ' http://u:p@proxy.corp:3128 ', noProxy: ['localhost', '127.0.0.1', 5], proxySupport: 'override' };
    const env = withEditorProxySetting({ PATH: '/bin' }, http);
    assert.deepEqual(env, { PATH: '/bin', HTTPS_PROXY: 'http://u:p@proxy.corp:3128', HTTP_PROXY: 'http://u:p@proxy.corp:3128', NO_PROXY: 'localhost,127.0.0.1' });
    assert.equal(proxyFor(new URL('http://127.0.0.1:11434/v1'), env), undefined);
    assert.equal(proxyFor(new URL('https://api.openai.com/v1'), env)?.shown, 'http://***@proxy.corp:3128');
    const own = { PATH: '/bin', https_proxy: 'http://env-proxy:8080' };
    assert.equal(withEditorProxySetting(own, http), own, "the environment's own variable wins");
    assert.equal(withEditorProxySetting({ PATH: '/bin' }, { ...http, proxySupport: 'off' }).HTTPS_PROXY, undefined);
    assert.equal(withEditorProxySetting({ PATH: '/bin', NO_PROXY: 'corp.example' }, http).NO_PROXY, 'corp.example');
    assert.equal(withEditorProxySetting({ PATH: '/bin' }, { proxy: '' }).HTTPS_PROXY, undefined);
  });
});

describe('the endpoint encoder behind a proxy', () => {
  it('names the proxy when it cannot be reached, and stops at once on a variable that is no http proxy', async () => {
    const server = await startFakeOpenAi(() => ({ status: 500 }));
    server.setEmbeddingsHandler(embeddingsHandler());
    try {
      const port = await closedPort();
      const open = (env: NodeJS.ProcessEnv) =>
        openEndpoint({ endpoint: { baseUrl: server.baseUrl, model: 'fake-embed', maxRetries: 1 }, backoff: { initialDelayMs: 2, maxDelayMs: 20 }, fetch: proxyAwareFetch(env) });
      await assert.rejects(open({ HTTP_PROXY: `http://erin:pw-9@127.0.0.1:${port}` }), (error: Error) => {
        assert.equal(
          error.message,
          `${server.baseUrl}/embeddings failed after 2 attempt(s): the proxy http://***@127.0.0.1:${port} ($HTTP_PROXY) could not be reached (ECONNREFUSED), ` +
            `so nothing was sent to 127.0.0.1:${server.port}: check $HTTP_PROXY, or name 127.0.0.1 in NO_PROXY if it is reached without the proxy`,
        );
        return true;
      });
      await assert.rejects(open({ ALL_PROXY: 'socks5://proxy.corp.example:1080' }), /^Error: \$ALL_PROXY names the proxy socks5:\/\/proxy\.corp\.example:1080, but PeerKD speaks to http:\/\/ and https:\/\/ proxies only \(not socks5\)$/);
      assert.equal(server.requests.length, 0);
    } finally {
      await server.close();
    }
  });
});

describe('peerkd distill --encoder endpoint behind a proxy', () => {
  it('the training worker sends its embeddings requests through the proxy HTTP_PROXY names', async () => {
    const folder = await tempFolder('cli-endpoint-proxy');
    tempDirs.push(folder);
    fs.copyFileSync(path.join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), path.join(folder, 'data.jsonl'));
    const server = await startFakeOpenAi(() => ({ status: 500 }));
    server.setEmbeddingsHandler(embeddingsHandler());
    try {
      await withProxy({}, async (proxy) => {
        const env = { ...process.env, OPENAI_API_KEY: 'sk-proxy-test', HTTP_PROXY: proxy.url, NO_PROXY: '' };
        const args = ['distill', 'data.jsonl', '--backend', 'cpu', '--stages', '1', '--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'fake-embed'];
        const { code, stderr } = await runCli(args, folder, env);
        assert.equal(code, 0, stderr);
        const embeddings = server.embeddingsRequests().length;
        assert.ok(embeddings > 1, 'a probe and the rows');
        assert.equal(proxy.requests.filter((request) => request.target === `${server.baseUrl}/embeddings`).length, embeddings);
      });
    } finally {
      await server.close();
    }
  });
});
