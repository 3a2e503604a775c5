import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../src/cli/command';
import { runLabelCommand } from '../../src/cli/label';
import { completion, labelReply, withFakeOpenAi, type ChatHandler } from '../support/fakeOpenAiServer';
import { labelIo } from '../support/captureIo';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'teacher', 'agnews-sample.jsonl');
const GOLD = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'teacher', 'agnews-sample.gold.json'), 'utf8')) as Record<string, string>;
const ROOT = path.join(__dirname, '..', '..');
const SECRET = 'sk-cli-0a1b2c3d4e5f-SECRET';
const LABEL_FLAGS = ['--labels', 'World,Sports,Business,Sci/Tech'];

interface FixtureRow {
  id: string;
  text: string;
  teacher_label?: string;
  human_label?: string;
  teacher_confidence?: number;
}

const fixtureLines = fs.readFileSync(FIXTURE, 'utf8').split('\n').filter(Boolean);
const goldByText = new Map(
  fixtureLines.map((line) => JSON.parse(line) as FixtureRow).filter((row) => GOLD[row.id]).map((row) => [row.text, GOLD[row.id]]),
);

/** A teacher that knows the gold label of every row the CLI must fill. */
const oracle: ChatHandler = (request) => {
  const label = goldByText.get(request.text);
  return label ? labelReply(label, 0.83) : { status: 500, json: { error: { message: `unexpected text ${request.text.slice(0, 30)}` } } };
};

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A teacher that answers the first ten requests and then hangs; answerAll() makes it answer every later one. */
function answerTen(): { handler: ChatHandler; answerAll: () => void } {
  let answered = 0;
  return {
    handler: (request) => {
      if (answered >= 10) return { hang: true };
      answered += 1;
      return oracle(request);
    },
    answerAll: () => {
      answered = -1000;
    },
  };
}

/** `peerkd label FILE` as a child process, returned once it has sent 12 requests (10 answered, 2 hanging). */
async function labelChildMidway(
  server: { baseUrl: string; chatRequests: () => readonly unknown[] },
  file: string,
  flags: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ kill: (signal: NodeJS.Signals) => void; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; output: () => { stdout: string; stderr: string } }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'label', file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--concurrency', '2', ...flags],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 20_000;
  while (server.chatRequests().length < 12 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return { kill: (signal) => child.kill(signal), exited, output: () => ({ stdout, stderr }) };
}

function labelledLines(file: string): number {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('"teacher_label"')).length;
}

function copyFixture(): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-cli-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'train.jsonl');
  fs.copyFileSync(FIXTURE, file);
  return { dir, file };
}


const io = (env: NodeJS.ProcessEnv = {}, tty = false) => labelIo(env, { ttyErr: tty, maxDelayMs: 100 });

describe('peerkd label', () => {
  it('fills the unlabelled rows in place, byte-preserving, and a second run makes zero requests', async () => {
    const { file } = copyFixture();
    await withFakeOpenAi(oracle, async (server) => {
      const first = io();
      const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--concurrency', '4'], first);
      assert.equal(code, 0, first.stderr.text + first.stdout.text);
      assert.equal(server.chatRequests().length, 24);
      assert.match(first.stdout.text, /^Done: 24 labelled, 0 abstained, 0 failed requests/m);
      assert.match(first.stdout.text, /Skipped: 16 rows already labelled/);
      assert.match(first.stdout.text, /Wrote 24 rows/);
      assert.match(first.stderr.text, /24 rows need a teacher label: 24 distinct texts\. About 24 requests to fake/);
      assert.match(first.stderr.text, /^24\/24 texts: 24 labelled/m, 'plain progress lines off a terminal');
      assert.ok(!first.stderr.text.includes('\r'));

      const after = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(after.length, fixtureLines.length);
      for (const [index, line] of after.entries()) {
        const row = JSON.parse(line) as FixtureRow;
        if (GOLD[row.id]) {
          assert.equal(line, `${fixtureLines[index].slice(0, -1)}, "teacher_label": "${GOLD[row.id]}", "teacher_confidence": 0.83}`);
        } else {
          assert.equal(line, fixtureLines[index], 'labelled rows are left exactly as they were');
        }
      }
      // The few-shot examples came from the human-labelled rows, one per label first.
      const firstBody = JSON.parse(server.chatRequests()[0].body) as { messages: { role: string; content: string }[] };
      assert.equal(firstBody.messages.filter((message) => message.role === 'assistant').length, 8);

      const second = io();
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS], second), 0);
      assert.equal(server.chatRequests().length, 24, 'nothing asked twice');
      assert.match(second.stdout.text, /Skipped: 40 rows already labelled/);
      assert.match(second.stdout.text, /Wrote 0 rows/);
    });
  });

  it('writes to --out and leaves the input untouched; relabels only when asked; draws a bar on a terminal', async () => {
    const { dir, file } = copyFixture();
    const out = path.join(dir, 'labelled.jsonl');
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      const run = io({}, true);
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', out, '--relabel'], run), 0);
      assert.equal(fs.readFileSync(file, 'utf8'), fixtureLines.join('\n') + '\n');
      const rows = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FixtureRow);
      assert.ok(rows.every((row) => row.teacher_label === 'World'));
      assert.equal(rows.filter((row) => row.human_label !== undefined).length, 8, 'human labels are never touched');
      assert.ok(run.stderr.text.includes(`\r\x1b[2K[${'#'.repeat(24)}] 40/40 texts`), run.stderr.text);
    });
  });

  it('--out never replaces an existing file of the user\'s unless --force, and asks the endpoint nothing first', async () => {
    const { dir, file } = copyFixture();
    const out = path.join(dir, 'curated.jsonl');
    fs.writeFileSync(out, '{"id": "mine", "text": "edited by hand", "teacher_label": "Sports"}\n');
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      await assert.rejects(
        runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', out], io()),
        (error: Error) => error.message.startsWith(`${out} exists, so it is not replaced`) && error.message.includes('--force'),
      );
      assert.equal(fs.readFileSync(out, 'utf8'), '{"id": "mine", "text": "edited by hand", "teacher_label": "Sports"}\n', 'the file is as it was');
      assert.equal(server.chatRequests().length, 0, 'refused before any request is paid for');
      // An empty file is no one's work: written. --force replaces a file on purpose.
      const empty = path.join(dir, 'empty.jsonl');
      fs.writeFileSync(empty, '');
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', empty], io()), 0);
      assert.equal(fs.readFileSync(empty, 'utf8').split('\n').filter(Boolean).length, fixtureLines.length);
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', out, '--force'], io()), 0);
      assert.equal(fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).length, fixtureLines.length);
    });
  });

  it('a file whose fields are named otherwise is said with the flags typed: no text field stops before any request, teacher labels under another name are warned about', async () => {
    const { dir } = copyFixture();
    const renamed = (from: string, to: string) => fixtureLines.map((line) => line.replace(`"${from}":`, `"${to}":`)).join('\n') + '\n';
    const sentences = path.join(dir, 'sentences.jsonl');
    fs.writeFileSync(sentences, renamed('text', 'sentence'));
    const weak = path.join(dir, 'weak.jsonl');
    const labels = LABEL_FLAGS[1].split(',');
    const weakRows = fixtureLines.map((line, index) => {
      const { teacher_label: _teacher, ...row } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify({ ...row, llm_label: labels[index % labels.length] });
    });
    fs.writeFileSync(weak, weakRows.join('\n') + '\n');
    await withFakeOpenAi(oracle, async (server) => {
      // It ended "Done: 0 labelled … 1000 rows without text", exit 0, the file rewritten unchanged.
      await assert.rejects(runLabelCommand([sentences, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--text-field', 'text'], io()), (error: Error) => {
        assert.match(error.message, new RegExp(`^${sentences.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: Missing text: none of the [\\d,]+ rows has a field 'text'; set peerkd\\.fields\\.text \\(or --text-field\\) to the field that holds it: 'sentence' looks like text$`));
        return true;
      });
      assert.equal(server.chatRequests().length, 0);
      assert.equal(fs.readFileSync(sentences, 'utf8'), renamed('text', 'sentence'));
      const run = io();
      await runLabelCommand([weak, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', path.join(dir, 'weak.out.jsonl')], run);
      assert.match(run.stderr.text, /^warning: .*weak\.jsonl:1: .*set peerkd\.fields\.teacher \(or --fields\.teacher\) to the field of the teacher's labels: 'llm_label' looks like labels$/m);
    });
  });

  it('--out: requests that failed are retried by what the run says to run, which --out no longer refuses', async () => {
    // The advice was "run the same command again", which the refusal of an existing --out then stopped.
    const { dir, file } = copyFixture();
    const out = path.join(dir, 'labelled.jsonl');
    let failing = true;
    await withFakeOpenAi(
      (request) => (failing ? { status: 500, json: { error: { message: 'overloaded' } } } : oracle(request)),
      async (server) => {
        const args = [file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--max-retries', '0', '--concurrency', '16', '--out', out];
        const first = io();
        assert.equal(await runLabelCommand(args, first), 1);
        const advice = /requests failed: (.*)$/m.exec(first.stderr.text)?.[1] ?? '';
        assert.match(advice, /run the same command again with --force to retry them/, first.stderr.text);
        failing = false;
        const again = io();
        assert.equal(await runLabelCommand([...args, '--force'], again), 0, again.stderr.text);
        assert.match(again.stdout.text, /Wrote 24 rows/);
      },
    );
  });

  it('a failure every request meets alike is said once at the end, distinct failures each once', async () => {
    // A server that answered every request with the same error printed "Failure: … overloaded" five times.
    const { dir, file } = copyFixture();
    await withFakeOpenAi(
      (request) => ({ status: 500, json: { error: { message: request.index % 3 === 0 ? 'overloaded' : 'model crashed' } } }),
      async (server) => {
        const run = io();
        const args = [file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--max-retries', '0', '--concurrency', '1', '--out', path.join(dir, 'out.jsonl')];
        assert.equal(await runLabelCommand(args, run), 1);
        const said = run.stdout.text + run.stderr.text;
        const failures = said.split('\n').filter((line) => line.startsWith('Failure: '));
        assert.equal(failures.length, 2, said);
        assert.equal(failures.filter((line) => /overloaded/.test(line)).length, 1, said);
        assert.equal(failures.filter((line) => /model crashed/.test(line)).length, 1, said);
      },
    );
  });

  it("--out never writes into PeerKD's own .peerkd folder (its teacher cache and runs), and asks the endpoint nothing", async () => {
    const { dir, file } = copyFixture();
    const before = fs.readFileSync(file);
    await withFakeOpenAi(() => labelReply('World'), async (server) => {
      for (const out of [path.join(dir, '.peerkd', 'labelled.jsonl'), path.join(dir, '.peerkd', 'teacher-cache', 'x.jsonl')]) {
        await assert.rejects(
          runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', out], io()),
          (error: Error) => error.message === `${out}: inside PeerKD's own .peerkd folder (its runs and caches); choose an output file elsewhere`,
        );
        assert.equal(fs.existsSync(out), false);
      }
      assert.equal(server.chatRequests().length, 0, 'refused before any request is paid for');
    });
    assert.deepEqual(fs.readFileSync(file), before);
  });

  it('--batch uploads the requests as one Batch API job and writes the validated answers', async () => {
    const { file } = copyFixture();
    await withFakeOpenAi(oracle, async (server) => {
      const run = io();
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--batch'], run), 0, run.stderr.text + run.stdout.text);
      assert.equal(server.requests.filter((request) => request.path === '/v1/files').length, 1);
      assert.equal(server.requests.filter((request) => request.path === '/v1/chat/completions').length, 0, 'no live requests');
      assert.match(run.stderr.text, /Uploaded 24 requests as batch/);
      assert.match(run.stdout.text, /^Done: 24 labelled, 0 abstained, 0 failed requests/m);
      const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FixtureRow);
      for (const row of rows) if (GOLD[row.id]) assert.equal(row.teacher_label, GOLD[row.id]);
    });
  });

  it('rejects bad usage with a clear message', async () => {
    await assert.rejects(runLabelCommand([FIXTURE, '--base-url', 'http://127.0.0.1:1/v1'], io()), (error: unknown) => error instanceof UsageError && /--model is required/.test(error.message));
    // --force only ever replaces an --out file: alone it would suggest it changes how the dataset is labelled in place.
    await assert.rejects(
      runLabelCommand([FIXTURE, '--base-url', 'http://127.0.0.1:1/v1', '--model', 'm', '--force'], io()),
      (error: unknown) => error instanceof UsageError && /--force replaces an existing --out FILE/.test(error.message),
    );
    await assert.rejects(runLabelCommand([FIXTURE, '--base-url', 'ftp://x', '--model', 'm'], io()), /must start with http/);
    await assert.rejects(runLabelCommand([FIXTURE, '--base-url', 'http://x/v1', '--model', 'm', '--concurrency', '0'], io()), /--concurrency must be an integer from 1 to 256/);
    // fetch refuses a URL with credentials: every request would fail as a "Connection error" that prints the password.
    await assert.rejects(runLabelCommand([FIXTURE, '--base-url', 'http://bob:hunter2@127.0.0.1:1/v1', '--model', 'm'], io()), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /'http:\/\/127\.0\.0\.1:1\/v1' holds a user name or password/);
      assert.doesNotMatch(error.message, /hunter2|bob/);
      return true;
    });
    // Over setTimeout's 32-bit limit, Node fires the timer after 1 ms: every request would time out at once.
    await assert.rejects(
      runLabelCommand([FIXTURE, '--base-url', 'http://x/v1', '--model', 'm', '--timeout-ms', '3000000000'], io()),
      (error: unknown) => error instanceof UsageError && /--timeout-ms must be an integer from 1000 to 2147483647, got '3000000000'/.test(error.message),
    );
  });

  it('never prints the API key, even when the server echoes it back in errors', async () => {
    const { file } = copyFixture();
    await withFakeOpenAi(
      (request) => ({ status: 500, json: { error: { message: `upstream rejected ${String(request.headers.authorization)}` } } }),
      async (server) => {
        const run = io({ TEACHER_KEY: SECRET });
        const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--api-key-env', 'TEACHER_KEY', '--max-retries', '0', '--concurrency', '16'], run);
        // (16 in flight: the run stops only after 32 texts in a row failed, so every one of the 24 is asked.)
        assert.equal(code, 1, 'a run in which requests failed does not exit 0');
        assert.match(run.stdout.text, /^Incomplete: 0 labelled, 0 abstained, 24 failed requests/m);
        assert.match(run.stderr.text, /24 requests failed: run the same command again to retry them/);
        assert.equal(server.chatRequests()[0].headers.authorization, `Bearer ${SECRET}`);
        assert.match(run.stdout.text, /24 failed requests/);
        assert.match(run.stdout.text, /upstream rejected Bearer \[redacted\]/);
        assert.ok(!run.stdout.text.includes(SECRET) && !run.stderr.text.includes(SECRET));
        assert.ok(!fs.existsSync(path.join(path.dirname(file), '.peerkd', 'teacher-cache')), 'failed requests are not cached');
        assert.ok(!fs.readFileSync(file, 'utf8').includes(SECRET));

        // At the default concurrency the run stops after 16 failed texts in a row; its reason quotes the server, masked.
        const stopped = io({ TEACHER_KEY: SECRET });
        assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--api-key-env', 'TEACHER_KEY', '--max-retries', '0'], stopped), 1);
        assert.match(stopped.stdout.text, /^Stopped: 0 labelled, 0 abstained, \d+ failed requests, \d+ rows not attempted/m);
        assert.match(stopped.stdout.text, /^Stopped on: the last 16 texts each failed after every retry; .*upstream rejected Bearer \[redacted\]/m);
        assert.ok(!stopped.stdout.text.includes(SECRET) && !stopped.stderr.text.includes(SECRET));
      },
    );
  });

  it('as a process: Ctrl-C aborts the requests in flight, writes the finished answers, and the next run resumes', async () => {
    const { file } = copyFixture();
    const answers = answerTen();
    await withFakeOpenAi(answers.handler, async (server) => {
      const child = await labelChildMidway(server, file, ['--api-key-env', 'TEACHER_KEY'], { TEACHER_KEY: SECRET });
      child.kill('SIGINT');
      const { code } = await child.exited;
      const { stdout, stderr } = child.output();
      assert.equal(code, 130, stderr + stdout);
      assert.match(stdout, /^Cancelled: 10 labelled, 0 abstained, 0 failed requests, 14 rows not attempted/m);
      assert.match(stdout, /Wrote 10 rows/);
      assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET));
      assert.equal(labelledLines(file), 26);

      answers.answerAll();
      const before = server.chatRequests().length;
      const resumed = io({ TEACHER_KEY: SECRET });
      assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--api-key-env', 'TEACHER_KEY'], resumed), 0);
      assert.equal(server.chatRequests().length - before, 14, 'only the rows without an answer are asked');
      assert.equal(labelledLines(file), 40);
    });
  });

  it('as a process: SIGTERM stops as Ctrl-C does, writes the finished answers, and exits 143', async () => {
    const { file } = copyFixture();
    await withFakeOpenAi(answerTen().handler, async (server) => {
      const child = await labelChildMidway(server, file, [], { OPENAI_API_KEY: '' });
      // A service manager or `timeout` sends SIGTERM: the ten answers received were lost from the file (killed).
      child.kill('SIGTERM');
      const { stdout, stderr } = child.output();
      assert.deepEqual(await child.exited, { code: 143, signal: null }, stderr + stdout);
      assert.match(child.output().stdout, /Wrote 10 rows/);
      assert.equal(labelledLines(file), 26);
    });
  });

  it('as a process: a second signal while the first is still stopping the run ends it at once, by the signal (src/cli/signals.ts)', { skip: process.platform === 'win32' }, async () => {
    const { file } = copyFixture();
    const before = fs.readFileSync(file, 'utf8');
    await withFakeOpenAi(answerTen().handler, async (server) => {
      const child = await labelChildMidway(server, file, [], { OPENAI_API_KEY: '' });
      // Both signals arrive together (the process is held stopped while they are sent): the second comes while the
      // first is still cancelling (in either order). process.exit there waited for any read in flight (one that hangs,
      // forever); the signal's own ending does not, and the shell still sees 130 or 143.
      child.kill('SIGSTOP');
      child.kill('SIGINT');
      child.kill('SIGTERM');
      child.kill('SIGCONT');
      const ended = await child.exited;
      const { stdout, stderr } = child.output();
      assert.equal(ended.code, null, `ended by its signal, not by process.exit: ${stderr}${stdout}`);
      assert.ok(ended.signal === 'SIGINT' || ended.signal === 'SIGTERM', String(ended.signal));
      assert.match(stderr, /Cancelling: finished answers are kept and written/, 'the first signal was the one that cancels');
      assert.equal(fs.readFileSync(file, 'utf8'), before, 'quit at once: the dataset is as it was (the answers stay in the cache)');
    });
  });

  it('writes nothing with the key, anywhere, when the server echoes it inside answers and refusals', async () => {
    const { dir, file } = copyFixture();
    await withFakeOpenAi(
      (request) => {
        const auth = String(request.headers.authorization);
        const kind = goldByText.get(request.text) ? fixtureLines.findIndex((line) => line.includes(JSON.stringify(request.text))) % 3 : 0;
        if (kind === 0) return { json: completion(JSON.stringify({ label: auth })) };
        if (kind === 1) return { json: completion(null, { refusal: `${'x'.repeat(100)} ${auth}` }) };
        return { status: 503, json: { error: { message: `overloaded for ${auth}` } } };
      },
      async (server) => {
        const run = io({ TEACHER_KEY: SECRET });
        await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--api-key-env', 'TEACHER_KEY', '--max-retries', '0'], run);
        assert.match(run.stdout.text, /abstained/);
        const written: string[] = [run.stdout.text, run.stderr.text];
        const walk = (folder: string) => {
          for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
            const full = path.join(folder, entry.name);
            if (entry.isDirectory()) walk(full);
            else written.push(fs.readFileSync(full, 'utf8'));
          }
        };
        walk(dir);
        assert.ok(fs.existsSync(path.join(dir, '.peerkd', 'teacher-cache')), 'abstentions were cached');
        // The first 12 characters: a cut that split the key would still show them.
        for (const text of written) assert.ok(!text.includes(SECRET.slice(0, 12)), text.slice(0, 500));
      },
    );
  });

  it('never writes a planted cache entry into the dataset: it is reported with file:line and asked again', async () => {
    const { dir, file } = copyFixture();
    await withFakeOpenAi(oracle, async (server) => {
      // The cache this command will open (same base URL, model, label set, few-shot set).
      const probe = io();
      await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--out', path.join(dir, 'probe.jsonl')], probe);
      const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
      const cacheFile = path.join(cacheDir, fs.readdirSync(cacheDir)[0]);
      const before = server.chatRequests().length;
      // Every answer replaced by a hostile one, as someone with write access to the cache folder could.
      const hostile = fs
        .readFileSync(cacheFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.stringify({ k: (JSON.parse(line) as { k: string }).k, label: '<img src=x onerror=alert(1)>\nPolitics', confidence: 7 }));
      fs.writeFileSync(cacheFile, hostile.join('\n') + '\n');

      const run = io();
      const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS], run);
      assert.equal(code, 0, run.stderr.text + run.stdout.text);
      assert.match(run.stderr.text, /24 answer cache lines are not valid answers:/);
      assert.ok(run.stderr.text.includes(`${cacheFile}:1: label "<img src=x onerror=alert(1)>\\nPolitics" is not in the label set`), run.stderr.text);
      assert.equal(server.chatRequests().length - before, 24, 'the ignored entries are asked again');
      const data = fs.readFileSync(file, 'utf8');
      assert.ok(!data.includes('<img') && !data.includes('Politics') && !data.includes('"teacher_confidence": 7'));
      for (const line of data.split('\n').filter(Boolean)) {
        const row = JSON.parse(line) as FixtureRow;
        if (GOLD[row.id]) assert.equal(row.teacher_label, GOLD[row.id]);
      }
    });
  });

  it('labels a file with lone CR and mixed line endings, counting lines as the editor does, and keeps every terminator', async () => {
    for (const [name, join] of [
      ['CR only', (lines: string[]) => lines.join('\r') + '\r'],
      ['mixed CR, CRLF and LF', (lines: string[]) => lines.map((line, i) => line + ['\r', '\r\n', '\n'][i % 3]).join('')],
    ] as const) {
      const { dir, file } = copyFixture();
      const original = join(fixtureLines);
      fs.writeFileSync(file, original);
      await withFakeOpenAi(oracle, async (server) => {
        const run = io();
        const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--cache-dir', path.join(dir, 'cache')], run);
        assert.equal(code, 0, `${name}: ${run.stderr.text}${run.stdout.text}`);
        assert.doesNotMatch(run.stderr.text, /could not take their teacher label/, name);
        assert.match(run.stdout.text, /Wrote 24 rows/, name);
      });
      const written = fs.readFileSync(file, 'utf8');
      const terminators = (text: string) => text.match(/\r\n|\r|\n/g)?.join('');
      assert.equal(terminators(written), terminators(original), `${name}: every line ending stays as it was`);
      const rows = written.split(/\r\n|\r|\n/).filter(Boolean).map((line) => JSON.parse(line) as FixtureRow);
      assert.equal(rows.length, fixtureLines.length, name);
      for (const row of rows) if (GOLD[row.id]) assert.equal(row.teacher_label, GOLD[row.id], `${name}: ${row.id}`);
    }
  });

  it('writes every other row when one row is nested too deeply to read, and names its file:line', async () => {
    const { dir, file } = copyFixture();
    const deep = `{"id": "deep", "text": "A row nested deeper than the writer goes", "extra": ${'['.repeat(2500)}${']'.repeat(2500)}}`;
    fs.appendFileSync(file, `${deep}\n`);
    const deepLine = fixtureLines.length + 1;
    const cacheDir = path.join(dir, 'cache');
    await withFakeOpenAi(
      (request) => (request.text.startsWith('A row nested') ? labelReply('World', 0.5) : oracle(request)),
      async (server) => {
        for (const [attempt, wrote] of [['first run', 24], ['rerun from the cache', 0]] as const) {
          const run = io();
          const requests = server.chatRequests().length;
          const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'fake', ...LABEL_FLAGS, '--cache-dir', cacheDir], run);
          assert.equal(code, 0, `${attempt}: ${run.stderr.text}${run.stdout.text}`);
          // The dataset core leaves a line nested deeper than MAX_JSON_DEPTH out when it reads the file, naming it.
          assert.ok(
            run.stderr.text.includes(`1 lines are not rows and are left as they are (first: ${file}:${deepLine}: `) &&
              /Nesting is deeper than 1000 levels/.test(run.stderr.text),
            `${attempt}: ${run.stderr.text}`,
          );
          assert.match(run.stdout.text, new RegExp(`Wrote ${wrote} rows`), attempt);
          if (wrote === 0) assert.equal(server.chatRequests().length, requests, 'the rerun answers from the cache');
          const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
          assert.equal(lines[deepLine - 1], deep, `${attempt}: the deep row is left exactly as it was`);
          assert.equal(lines.filter((line) => line.includes('"teacher_label"')).length, 40, attempt);
        }
      },
    );
  });
});

describe('peerkd label: an API key over plain http to another machine', () => {
  it('is warned about before anything is sent (https and this machine are not), and never printed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-http-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'done.jsonl');
    // Every row already labelled: the run sends nothing, whatever the base URL.
    fs.writeFileSync(file, '{"text": "a b", "teacher_label": "World"}\n{"text": "c d", "teacher_label": "Sports"}\n');
    const run = async (baseUrl: string, env: NodeJS.ProcessEnv) => {
      const capture = io(env);
      assert.equal(await runLabelCommand([file, '--base-url', baseUrl, '--model', 'm', ...LABEL_FLAGS], capture), 0, capture.stderr.text);
      return capture.stderr.text;
    };
    const remote = await run('http://teacher.example:8000/v1', { OPENAI_API_KEY: SECRET });
    assert.match(remote, /warning: the API key goes to teacher\.example:8000 over plain http, readable on the way: use https:\/\/ if the server offers it\./);
    assert.ok(!remote.includes(SECRET));
    assert.doesNotMatch(await run('https://teacher.example/v1', { OPENAI_API_KEY: SECRET }), /plain http/);
    assert.doesNotMatch(await run('http://127.0.0.1:9/v1', { OPENAI_API_KEY: SECRET }), /plain http/);
    assert.doesNotMatch(await run('http://teacher.example:8000/v1', {}), /plain http/, 'no key, nothing to warn about');
  });
});

describe('peerkd label: the bounds of the settings', () => {
  it('--concurrency and --few-shot above the settings\' maxima (256, 64) are usage errors, as the settings refuse them', async () => {
    for (const [flag, value, range] of [['--concurrency', '257', '1 to 256'], ['--few-shot', '65', '0 to 64']]) {
      await assert.rejects(
        runLabelCommand([FIXTURE, '--base-url', 'http://x/v1', '--model', 'm', flag, value], io()),
        (error: unknown) => error instanceof UsageError && error.message === `${flag} must be an integer from ${range}, got '${value}'`,
      );
    }
  });
});
