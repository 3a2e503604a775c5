/**
 * `peerkd label` given a key or a base URL as an unlucky user gives them: a key read from a CRLF file (white space
 * around it), two keys in one variable, a key in the base URL's query, a wrong key with a wide pool. Against a real
 * server on 127.0.0.1; the CLI as a child process where the environment is what is tested.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as dns } from 'node:dns';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../src/cli/command';
import { runLabelCommand } from '../../src/cli/label';
import { apiKeyProblem, redactSecret } from '../../src/teacher/redact';
import { normaliseBaseUrl } from '../../src/teacher/url';
import { labelReply, startFakeOpenAi, withFakeOpenAi, type ChatHandler } from '../support/fakeOpenAiServer';
import { closedPort } from '../support/forwardProxy';
import { selfSignedCertificate } from '../support/selfSignedCertificate';
import { labelIo } from '../support/captureIo';
import { unlabelledDataset } from '../support/jsonl';

const ROOT = path.join(__dirname, '..', '..');
const KEY = 'sk-proj-7f3a9c1e5b2d4680-GOOD';
const LABELS = ['World', 'Sports'];

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const dataset = (rows: number) => unlabelledDataset(rows, 'peerkd-label-key-', tempDirs);

/** A server that takes only KEY and, refusing any other, echoes the Authorization header it got (as some proxies do). */
const keyChecking: ChatHandler = (request) =>
  request.headers.authorization === `Bearer ${KEY}`
    ? labelReply('World')
    : { status: 401, json: { error: { message: `Incorrect API key provided: ${String(request.headers.authorization)}` } } };

/** Every file under `dir`, read as text. */
function everyFile(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');
}


const io = (env: NodeJS.ProcessEnv) => labelIo(env);

function spawnLabel(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'label', ...args], {
      cwd: ROOT,
      env: { ...process.env, OPENAI_API_KEY: '', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('peerkd label: the API key as it is found in the environment', () => {
  it('a key with white space around it (a line of a CRLF file) is sent trimmed, and masked when a server echoes it', async () => {
    const wrong = 'sk-proj-0000aaaa1111bbbb-WRONG';
    const { dir, file, original } = dataset(5);
    await withFakeOpenAi(keyChecking, async (server) => {
      const refused = await spawnLabel([file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--api-key-env', 'TEACHER_KEY'], {
        TEACHER_KEY: ` ${wrong}\r\n`,
      });
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /^Stopped on: .*401 Incorrect API key provided: Bearer \[redacted\]/m);
      assert.ok(!refused.output.includes(wrong), `the key is never printed:\n${refused.output}`);
      assert.ok(!everyFile(dir).includes(wrong), 'nor written');
      assert.equal(fs.readFileSync(file, 'utf8'), original);

      const good = await spawnLabel([file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--api-key-env', 'TEACHER_KEY'], {
        TEACHER_KEY: `${KEY}\r`,
      });
      assert.equal(good.code, 0, good.output);
      assert.match(good.output, /^Done: 5 labelled/m);
      assert.equal(server.chatRequests().at(-1)?.headers.authorization, `Bearer ${KEY}`);
    });
  });

  it('redactSecret masks a key given with white space around it', () => {
    assert.equal(redactSecret(`got Bearer ${KEY}.`, `\t${KEY}\r\n`), 'got Bearer [redacted].');
  });

  it('a variable holding two keys or a character no header carries is refused before any request, naming it and not the key', async () => {
    const { file, original } = dataset(30);
    await withFakeOpenAi(keyChecking, async (server) => {
      for (const [value, problem] of [
        [`${KEY}\nsk-proj-second-key-9999`, /the API key in \$TEACHER_KEY holds a line break or a space/],
        [`${KEY} sk-proj-second-key-9999`, /the API key in \$TEACHER_KEY holds a line break or a space/],
        [`${KEY}\u2026`, /the API key in \$TEACHER_KEY holds the character U\+2026/],
      ] as const) {
        const run = io({ TEACHER_KEY: value });
        await assert.rejects(
          runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--api-key-env', 'TEACHER_KEY', '--max-retries', '1'], run),
          (error: Error) => {
            assert.match(error.message, problem);
            assert.ok(!error.message.includes(KEY) && !error.message.includes('second-key'), error.message);
            return true;
          },
        );
        assert.equal(run.stdout.text + run.stderr.text, '', 'nothing was started');
      }
      assert.equal(server.requests.length, 0, 'no request was sent with it');
      assert.equal(fs.readFileSync(file, 'utf8'), original);
    });
    // The rule the editor's key box applies (commands-api-key.test.ts), and nothing else.
    assert.equal(apiKeyProblem(KEY), undefined);
  });

  it('a wrong key stops the run after one refused request, whatever the concurrency', async () => {
    for (const status of [401, 403]) {
      const { file, original } = dataset(300);
      await withFakeOpenAi(
        () => ({ status, json: { error: { message: 'no access' } } }),
        async (server) => {
          const run = io({ TEACHER_KEY: 'sk-proj-wrong-key-1234' });
          const code = await runLabelCommand(
            [file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--api-key-env', 'TEACHER_KEY', '--concurrency', '64'],
            run,
          );
          assert.equal(code, 1);
          assert.match(run.stdout.text, new RegExp(`^Stopped: 0 labelled, 0 abstained, 0 failed requests, 300 rows not attempted`, 'm'));
          assert.match(run.stdout.text, new RegExp(`^Stopped on: .*${status} no access \\(the endpoint refused the API key`, 'm'));
          assert.equal(server.chatRequests().length, 1, `HTTP ${status}: one request, not one per slot of the pool`);
          assert.equal(fs.readFileSync(file, 'utf8'), original);
        },
      );
    }
  });

  it('a first text whose requests hang holds the others back by one timeout, not through all its retries', { timeout: 120_000 }, async () => {
    const { file } = dataset(10);
    await withFakeOpenAi(
      (request) => (request.text === 'row 0' ? { hang: true } : labelReply('Sports')),
      async (server) => {
        const controller = new AbortController();
        const run = { ...io({}), signal: controller.signal };
        const labelling = runLabelCommand(
          [file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--concurrency', '4', '--timeout-ms', '1000', '--max-retries', '20'],
          run,
        );
        // Every answer is cached the moment it arrives: wait for the other nine there.
        const cacheDir = path.join(path.dirname(file), '.peerkd', 'teacher-cache');
        const cached = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((name) => name.endsWith('.jsonl')) : []).reduce((sum, name) => sum + fs.readFileSync(path.join(cacheDir, name), 'utf8').split('\n').filter(Boolean).length, 0);
        while (cached() < 9) await new Promise((resolve) => setTimeout(resolve, 10));
        controller.abort();
        assert.equal(await labelling, 130);
        // The first text was still being retried when every other one had its answer.
        assert.match(run.stdout.text, /^Cancelled: 9 labelled, 0 abstained, 0 failed requests, 1 rows not attempted/m);
      },
    );
  });

  it('an account out of quota (HTTP 429 insufficient_quota) stops after one request, saying so; a rate limit is still waited out', async () => {
    const { file, original } = dataset(100);
    let quotaLeft = false;
    const quota = { status: 429, json: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } };
    const rateLimited = new Set<string>();
    await withFakeOpenAi(
      (request) => {
        if (!quotaLeft) return quota;
        // A rate limit: each text's first request is told to wait.
        if (!rateLimited.has(request.text)) {
          rateLimited.add(request.text);
          return { status: 429, headers: { 'retry-after-ms': '1' }, json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } };
        }
        return labelReply('Sports');
      },
      async (server) => {
        const run = io({ OPENAI_API_KEY: KEY });
        assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(',')], run), 1);
        assert.match(run.stdout.text, /^Stopped on: .*429 You exceeded your current quota.*\(the account behind the API key has no quota or credit left: check its plan and billing; retrying does not help\)$/m);
        assert.doesNotMatch(run.stdout.text, /seems down or overloaded/);
        assert.equal(server.chatRequests().length, 1, 'neither retried nor asked for the other texts');
        assert.equal(fs.readFileSync(file, 'utf8'), original);

        quotaLeft = true;
        const again = io({ OPENAI_API_KEY: KEY });
        assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(',')], again), 0, again.stdout.text);
        assert.match(again.stdout.text, /^Done: 100 labelled, 0 abstained, 0 failed requests/m);
        assert.match(again.stdout.text, /^Requests: 200 sent \(100 retries\)/m);
      },
    );
  });
});

describe('peerkd label --out stopped on a wrong key', () => {
  it('says what to run next, and what it says runs: again with --force, or the copy labelled in place reading the same cache', async () => {
    const { dir, file } = dataset(10);
    const out = path.join(dir, 'labelled', 'copy.jsonl');
    fs.mkdirSync(path.dirname(out));
    // The first five texts are answered with the key that works; after those, the key is refused (revoked mid-run).
    let revoked = true;
    await withFakeOpenAi(
      (request) => (!revoked || Number(/row (\d+)/.exec(request.text)?.[1]) < 5 ? labelReply('World') : { status: 401, json: { error: { message: 'revoked' } } }),
      async (server) => {
        const args = [file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--concurrency', '1', '--out', out];
        const stopped = io({ OPENAI_API_KEY: KEY });
        assert.equal(await runLabelCommand(args, stopped), 1);
        assert.match(stopped.stdout.text, /^Stopped: 5 labelled, 0 abstained, 0 failed requests, 5 rows not attempted/m);
        const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
        assert.ok(
          stopped.stderr.text.includes(
            `Rows left without an answer: run the same command again with --force to retry them (${out} now holds this run's copy), ` +
              `or label ${out} in place with --cache-dir ${cacheDir} (the cache keeps every answer received).`,
          ),
          stopped.stderr.text,
        );
        revoked = false;
        // The same command is refused for the copy it wrote (which is what the advice is about) ...
        await assert.rejects(runLabelCommand(args, io({ OPENAI_API_KEY: KEY })), /copy\.jsonl exists, so it is not replaced/);
        // ... and the copy labelled in place, with the cache the advice names, asks only for the five rows left.
        const before = server.chatRequests().length;
        const inPlace = io({ OPENAI_API_KEY: KEY });
        assert.equal(await runLabelCommand([out, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--cache-dir', cacheDir], inPlace), 0, inPlace.stderr.text);
        assert.match(inPlace.stdout.text, /^Done: 5 labelled, 0 abstained, 0 failed requests/m);
        assert.equal(server.chatRequests().length - before, 5);
        // --force as advised works too, from the cache alone.
        const forced = io({ OPENAI_API_KEY: KEY });
        assert.equal(await runLabelCommand([...args, '--force'], forced), 0, forced.stderr.text);
        assert.match(forced.stdout.text, /^Requests: 0 sent \(0 retries\), 10 answers from the cache/m);
      },
    );
  });
});

describe('peerkd label: a base URL with a query or a fragment', () => {
  it('is refused before any request, never showing the query (a key as often as not)', async () => {
    const { file, original } = dataset(3);
    await withFakeOpenAi(keyChecking, async (server) => {
      for (const suffix of [`?api-key=${KEY}`, `/?api-key=${KEY}`, `#${KEY}`, '?']) {
        const run = io({});
        await assert.rejects(
          runLabelCommand([file, '--base-url', server.baseUrl + suffix, '--model', 'fake', '--labels', LABELS.join(',')], run),
          (error: Error) => {
            assert.ok(error instanceof UsageError, String(error));
            assert.equal(
              error.message,
              `The teacher base URL '${server.baseUrl}' is followed by a query (?…) or a fragment (#…); requests add their own path ` +
                '(/chat/completions) to the base URL, so it must end with its path. Give the URL without it, and a key as the API key ' +
                '(environment variable or PeerKD: Set Teacher API Key).',
            );
            return true;
          },
        );
      }
      assert.equal(server.requests.length, 0);
      assert.equal(fs.readFileSync(file, 'utf8'), original);
    });
    // The editor's settings are read through the same check, naming the setting.
    assert.throws(() => normaliseBaseUrl(`https://example.test/openai/v1?api-key=${KEY}`, 'the setting peerkd.teacher.baseUrl'), (error: Error) => {
      assert.match(error.message, /^the setting peerkd\.teacher\.baseUrl 'https:\/\/example\.test\/openai\/v1' is followed by a query/);
      assert.ok(!error.message.includes(KEY));
      return true;
    });
  });

  it('paths and trailing slashes still work as before', async () => {
    const { file } = dataset(2);
    await withFakeOpenAi(keyChecking, async (server) => {
      const run = io({ OPENAI_API_KEY: KEY });
      assert.equal(await runLabelCommand([file, '--base-url', `${server.baseUrl}//`, '--model', 'fake', '--labels', LABELS.join(',')], run), 0, run.stderr.text);
      assert.deepEqual(
        server.chatRequests().map((request) => request.path),
        ['/v1/chat/completions', '/v1/chat/completions'],
      );
    });
  });
});

/** A self-signed certificate for 127.0.0.1 (openssl), or undefined where there is no openssl. */
function certificateInTempDir(): { key: string; cert: string } | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-tls-'));
  tempDirs.push(dir);
  return selfSignedCertificate(dir);
}

describe('peerkd label: http and https', () => {
  it('https:// to a server that speaks http stops after one request, saying to check the scheme', async () => {
    const { file, original } = dataset(40);
    await withFakeOpenAi(keyChecking, async (server) => {
      const run = io({ OPENAI_API_KEY: KEY });
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl.replace('http:', 'https:'), '--model', 'fake', '--labels', LABELS.join(',')], run), 1);
      assert.match(run.stdout.text, /^Stopped: 0 labelled, 0 abstained, 0 failed requests, 40 rows not attempted/m);
      assert.match(run.stdout.text, /^Stopped on: .*wrong version number.*\(the server does not speak TLS at this address: is the base URL http:\/\/ rather than https:\/\/\?\)$/m);
      assert.match(run.stdout.text, /^Requests: 1 sent \(0 retries\)/m);
      assert.equal(server.requests.length, 0, 'nothing readable reached the server');
      assert.equal(fs.readFileSync(file, 'utf8'), original);
    });
  });

  const certificate = certificateInTempDir();
  it('a certificate this machine does not trust stops after one request, naming the check', { skip: certificate === undefined && 'no openssl to make a certificate' }, async () => {
    const { file, original } = dataset(40);
    const server = await startFakeOpenAi(keyChecking, 0, certificate);
    try {
      assert.match(server.baseUrl, /^https:/);
      const run = io({ OPENAI_API_KEY: KEY });
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', '--labels', LABELS.join(',')], run), 1);
      assert.match(run.stdout.text, /^Stopped on: .*\(the server's certificate is not trusted here, DEPTH_ZERO_SELF_SIGNED_CERT: .*NODE_EXTRA_CA_CERTS=ca\.pem\)$/m);
      assert.match(run.stdout.text, /^Requests: 1 sent \(0 retries\)/m);
      assert.equal(server.requests.length, 0, 'the key was not sent to it');
      assert.ok(!run.stdout.text.includes(KEY) && !run.stderr.text.includes(KEY));
      assert.equal(fs.readFileSync(file, 'utf8'), original);
    } finally {
      await server.close();
    }
  });
});

describe('peerkd label: a base URL whose host name does not resolve', () => {
  it('stops after one request, saying to check the base URL, rather than retrying every text as an outage', async (t) => {
    // .invalid never resolves (RFC 6761); where there is no resolver at all the lookup fails otherwise (EAI_AGAIN).
    const host = 'peerkd-teacher-typo.invalid';
    const code = await dns.lookup(host).then(() => 'resolved', (error: NodeJS.ErrnoException) => error.code);
    if (code !== 'ENOTFOUND') return t.skip(`the lookup of ${host} gives ${code} here`);
    const { file, original } = dataset(40);
    const run = io({ OPENAI_API_KEY: KEY });
    assert.equal(await runLabelCommand([file, '--base-url', `https://${host}/v1`, '--model', 'fake', '--labels', LABELS.join(',')], run), 1);
    assert.match(run.stdout.text, /^Stopped on: .*ENOTFOUND peerkd-teacher-typo\.invalid.*\(the host name does not resolve: check the base URL\)$/m);
    assert.match(run.stdout.text, /^Requests: 1 sent \(0 retries\)/m);
    assert.equal(fs.readFileSync(file, 'utf8'), original);
  });
});

describe('peerkd label: a base URL where nothing listens (a local server not started)', () => {
  it("stops after the first request's retries, saying nothing listens there, rather than retrying every text as an outage", async () => {
    const port = await closedPort();
    const { file, original } = dataset(40);
    const run = io({});
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    assert.equal(await runLabelCommand([file, '--base-url', baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--max-retries', '2', '--concurrency', '4'], run), 1);
    const escaped = baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(run.stdout.text, new RegExp(`^Stopped on: .*ECONNREFUSED.*\\(nothing listens at ${escaped}: start the server, or fix the base URL, --base-url or peerkd\\.teacher\\.baseUrl\\)$`, 'm'));
    assert.match(run.stdout.text, /^Requests: 3 sent \(2 retries\)/m, 'one text, with its retries; no other was sent');
    assert.equal(fs.readFileSync(file, 'utf8'), original);
  });

  it('once the endpoint has answered, a refused connection (a server restarting) is retried as an outage, not a stop', async () => {
    const { file } = dataset(3);
    const run = io({});
    let server: { close(): Promise<void> } | undefined;
    await withFakeOpenAi(
      (request) => {
        if (request.index === 0) return labelReply('World', 0.9);
        // The server goes away: this request's connection is cut, and every later one is refused.
        void server?.close();
        return { hang: true };
      },
      async (started) => {
        server = started;
        const code = await runLabelCommand([file, '--base-url', started.baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--max-retries', '2', '--concurrency', '1'], run);
        assert.equal(code, 1, run.stdout.text + run.stderr.text);
      },
    );
    assert.doesNotMatch(run.stdout.text, /nothing listens/);
    assert.doesNotMatch(run.stdout.text, /^Stopped on:/m);
    // The answered text, then the other two each with every retry.
    assert.match(run.stdout.text, /^Requests: 7 sent \(4 retries\)/m);
    assert.match(fs.readFileSync(file, 'utf8'), /"teacher_label":"World"/);
  });
});
