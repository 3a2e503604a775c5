/**
 * The teacher client against a hostile or broken endpoint (a real HTTP server on 127.0.0.1): answers that are almost a
 * label, errors that belong to one row, servers that never recover, rate limits with absurd waits.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/command';
import { runLabelCommand } from '../../src/cli/label';
import { parseDatasetText } from '../../src/dataset';
import { DEFAULT_FIELDS, type DatasetRow } from '../../src/dataset/types';
import { runBatchLabelling } from '../../src/teacher/batch';
import { TeacherCache } from '../../src/teacher/cache';
import type { TeacherPrompt } from '../../src/teacher/client';
import { normaliseBaseUrl } from '../../src/teacher/url';
import { buildLabelLookup, DEFAULT_PROMPT_TEMPLATE, labelProbability, parseAnswer } from '../../src/teacher/prompt';
import { runOutcome } from '../../src/teacher/job';
import { consecutiveFailuresToStop, estimateRun, planLabelRun, runLabelling, type LabelRunOptions } from '../../src/teacher/run';
import type { TeacherEndpoint } from '../../src/teacher/types';
import { completion, labelReply, RequestTimes, withFakeOpenAi, type FakeOpenAiServer, type Reply } from '../support/fakeOpenAiServer';
import { CapturedStream as Capture } from '../support/captureIo';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const SECRET = 'sk-hostile-5e4d3c2b1a-SECRET';
const PROMPT: TeacherPrompt = { labels: LABELS, template: DEFAULT_PROMPT_TEMPLATE, fewShot: [] };

function endpoint(baseUrl: string, overrides: Partial<TeacherEndpoint> = {}): TeacherEndpoint {
  return { baseUrl, model: 'fake-model', apiKey: SECRET, temperature: 0, maxConcurrency: 1, requestTimeoutMs: 2000, maxRetries: 2, ...overrides };
}

function rowsOf(texts: string[]): DatasetRow[] {
  return parseDatasetText(texts.map((text, index) => JSON.stringify({ id: `r${index}`, text })).join('\n'), DEFAULT_FIELDS).rows;
}

function runOptions(server: FakeOpenAiServer, overrides: Partial<TeacherEndpoint> = {}): LabelRunOptions {
  return { endpoint: endpoint(server.baseUrl, overrides), prompt: PROMPT, client: { backoff: { initialDelayMs: 2, maxDelayMs: 50 } } };
}

describe('teacher against a hostile endpoint', () => {
  it('a 400 that one row meets in every mode (too long) does not cost the later rows structured output and logprobs', async () => {
    await withFakeOpenAi(
      (request) =>
        request.text === 'far too long'
          ? { status: 400, json: { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } } }
          : labelReply('Sports', 0.8),
      async (server) => {
        const plan = planLabelRun(rowsOf(['far too long', 'first', 'second']), false);
        const { answers, summary } = await runLabelling(plan, runOptions(server));
        assert.equal(summary.failedRequests, 1);
        assert.deepEqual(answers.get('first'), { kind: 'label', label: 'Sports', confidence: 0.8 });
        assert.deepEqual(answers.get('second'), { kind: 'label', label: 'Sports', confidence: 0.8 });
        const later = server.chatRequests().slice(-2).map((request) => JSON.parse(request.body) as Record<string, unknown>);
        for (const body of later) {
          assert.equal((body.response_format as { type?: string } | undefined)?.type, 'json_schema');
          assert.equal(body.logprobs, true);
        }
      },
    );
  });

  it('an endpoint without structured output still steps the whole run down once a plainer request is answered', async () => {
    await withFakeOpenAi(
      (request) => (request.body.response_format ? { status: 400, json: { error: { message: 'response_format is not supported' } } } : labelReply('World')),
      async (server) => {
        const plan = planLabelRun(rowsOf(['one', 'two', 'three']), false);
        const { summary } = await runLabelling(plan, runOptions(server));
        assert.equal(summary.labelled, 3);
        assert.equal(server.chatRequests().length, 4, 'one rejected request, then one per row');
      },
    );
  });

  it('stops a run whose endpoint answers 500 forever instead of asking (retries + 1) times for every row', async () => {
    await withFakeOpenAi(
      () => ({ status: 500, json: { error: { message: 'internal' } } }),
      async (server) => {
        const texts = Array.from({ length: 60 }, (_, index) => `row ${index}`);
        const { answers, summary } = await runLabelling(planLabelRun(rowsOf(texts), false), runOptions(server, { maxConcurrency: 2, maxRetries: 1 }));
        const limit = consecutiveFailuresToStop(2);
        assert.equal(answers.size, 0);
        assert.ok(server.chatRequests().length <= (limit + 2) * 2, `${server.chatRequests().length} requests, 120 without the stop`);
        assert.match(summary.fatalError ?? '', /the last \d+ texts each failed after every retry.*500 internal/);
        assert.equal(runOutcome(summary), 'failed');
        assert.equal(summary.failedRequests + summary.notAttempted, 60, 'every row is counted, none lost');
      },
    );
  });

  it('keeps going when rows fail now and then but answers come in between', async () => {
    await withFakeOpenAi(
      (request) => (/[0-9]*[05]$/.test(request.text) ? { status: 503, json: { error: { message: 'busy' } } } : labelReply('World')),
      async (server) => {
        const texts = Array.from({ length: 60 }, (_, index) => `row ${index}`);
        const { summary } = await runLabelling(planLabelRun(rowsOf(texts), false), runOptions(server, { maxConcurrency: 2, maxRetries: 1 }));
        assert.equal(summary.fatalError, undefined);
        assert.equal(summary.failedRequests, 12);
        assert.equal(summary.labelled, 48);
      },
    );
  });

  it('does not stop on rows the endpoint rejects one by one (HTTP 400 on every rung): they say nothing about the endpoint', async () => {
    await withFakeOpenAi(
      () => ({ status: 400, json: { error: { message: 'bad request' } } }),
      async (server) => {
        const texts = Array.from({ length: 30 }, (_, index) => `row ${index}`);
        const { summary } = await runLabelling(planLabelRun(rowsOf(texts), false), runOptions(server, { maxConcurrency: 1 }));
        assert.equal(summary.fatalError, undefined);
        assert.equal(summary.failedRequests, 30);
      },
    );
  });

  it('honours Retry-After in seconds and as an HTTP date, caps absurd waits and backs off on invalid or negative ones', async () => {
    const retryAfter: Record<string, Record<string, string>> = {
      seconds: { 'retry-after': '0.3' },
      date: { 'retry-after': new Date(Date.now() + 2000).toUTCString() },
      absurd: { 'retry-after': '1000000000' },
      negative: { 'retry-after': '-5' },
      'negative ms': { 'retry-after-ms': '-100' },
      exponent: { 'retry-after': '1e9' },
    };
    const seen = new RequestTimes();
    await withFakeOpenAi(
      (request) => {
        const times = seen.record(request.text);
        return times.length === 1 ? { status: 429, headers: retryAfter[request.text], json: { error: { message: 'slow down' } } } : labelReply('World');
      },
      async (server) => {
        const options = runOptions(server, { maxConcurrency: 6, maxRetries: 1 });
        options.client = { backoff: { initialDelayMs: 400, maxDelayMs: 1500 } };
        const { summary } = await runLabelling(planLabelRun(rowsOf(Object.keys(retryAfter)), false), options);
        assert.equal(summary.labelled, 6);
        const wait = (text: string) => seen.get(text)![1] - seen.get(text)![0];
        assert.ok(wait('seconds') >= 290 && wait('seconds') < 1400, `seconds: ${wait('seconds')} ms`);
        assert.ok(wait('date') >= 900 && wait('date') <= 1700, `date: ${wait('date')} ms`);
        assert.ok(wait('absurd') >= 1490 && wait('absurd') < 2500, `absurd: capped at maxDelayMs, waited ${wait('absurd')} ms`);
        // Backoff for the first retry: between half and all of initialDelayMs (400), not an immediate retry.
        for (const text of ['negative', 'negative ms', 'exponent']) {
          assert.ok(wait(text) >= 190 && wait(text) < 1000, `${text}: waited ${wait(text)} ms`);
        }
      },
    );
  });

  it('reads a label wrapped in quotes, markdown, a code fence or followed by a period, and nothing looser', async () => {
    const answers: Record<string, string> = {
      quoted: '"Sports"',
      'single quoted': "'Sports'",
      curly: '\u201cSports\u201d',
      period: 'Sports.',
      bold: '**Sports**',
      'bold period': '**Sports**.',
      'quoted period': '"Sports."',
      backticks: '`Sports`',
      fence: '```\nSports\n```',
      'fence with language': '```text\nSports\n```',
      upper: 'SPORTS',
      'json period': '{"label": "Sports."}',
      prefix: 'Sci',
      sentence: 'The label is Sports.',
      'two labels': 'Sports, World',
      ellipsis: 'Sports...',
      'unbalanced': '"Sports',
      'inner quotes': '"Spo"rts"',
    };
    await withFakeOpenAi(
      (request) => ({ json: completion(answers[request.text], { logprobs: { probabilityOf: 'Sports', probability: 0.7 } }) }),
      async (server) => {
        const plan = planLabelRun(rowsOf(Object.keys(answers)), false);
        const prompt = { ...PROMPT, labels: ['Sports', 'Sci/Tech', 'Science', 'World'] };
        const { answers: got } = await runLabelling(plan, { ...runOptions(server, { maxConcurrency: 4 }), prompt });
        const labelOf = (text: string) => {
          const answer = got.get(text);
          return answer?.kind === 'label' ? answer.label : `abstain:${answer?.reason}`;
        };
        for (const text of ['quoted', 'single quoted', 'curly', 'period', 'bold', 'bold period', 'quoted period', 'backticks', 'fence', 'fence with language', 'upper', 'json period']) {
          assert.equal(labelOf(text), 'Sports', `${text}: ${answers[text]}`);
        }
        for (const text of ['prefix', 'sentence', 'two labels', 'ellipsis', 'unbalanced', 'inner quotes']) {
          assert.equal(labelOf(text), 'abstain:not-in-label-set', `${text}: ${answers[text]}`);
        }
        // The probability is still that of the label's own tokens, not of the quotes around it.
        const bold = got.get('bold');
        assert.equal(bold?.kind === 'label' ? bold.confidence : undefined, 0.7);
      },
    );
    // A label that ends in a period is matched as it is; a period is dropped only when that spells a label.
    const lookup = buildLabelLookup(['U.S.', 'U.K']);
    const parsed = parseAnswer('U.K.', null, lookup);
    assert.equal(parsed.kind === 'label' ? parsed.label : parsed.kind, 'U.K');
    const exact = parseAnswer('"U.S."', null, lookup);
    assert.equal(exact.kind === 'label' ? exact.label : exact.kind, 'U.S.');
    assert.equal(labelProbability('x', { start: 0, end: 1 }, null), null);
  });

  it('names what went wrong with a broken answer: an error object under HTTP 200, a reset mid-body, a corrupt gzip body, no JSON', async () => {
    const replies: Record<string, Reply> = {
      'error under 200': { json: { error: { message: `model overloaded, key ${SECRET}`, type: 'server_error' } } },
      // The key where a message is cut (120 characters): masked before the cut, so no part of it is left.
      'key at the cut': { json: { error: { message: `${'x'.repeat(110)}${SECRET}` } } },
      'page with the key': { raw: `<html>${'x'.repeat(110)}${SECRET}</html>`, headers: { 'content-type': 'text/html' } },
      'reset mid-body': { ...labelReply('Sports'), cutAfterBytes: 40 },
      'corrupt gzip': { bytes: Buffer.from('this is not gzip'), headers: { 'content-encoding': 'gzip' } },
      'not json': { raw: '{"choices": [' },
      'no choices': { json: { choices: [] } },
      'huge error': { status: 500, json: { error: { message: `${SECRET} ${'y'.repeat(900_000)}` } } },
      'web page': { raw: '<!doctype html><html><head><title>Chat UI</title></head></html>', headers: { 'content-type': 'text/html; charset=utf-8' } },
    };
    await withFakeOpenAi(
      (request) => replies[request.text],
      async (server) => {
        const failures = new Map<string, string>();
        const options = { ...runOptions(server, { maxConcurrency: 9, maxRetries: 1 }), onFailure: (text: string, message: string) => failures.set(text, message) };
        const { summary } = await runLabelling(planLabelRun(rowsOf(Object.keys(replies)), false), options);
        assert.equal(summary.failedRequests, 9, 'each is a failed request (retried), none an answer or an abstention');
        assert.equal(server.chatRequests().length, 18);
        assert.ok(failures.get('huge error')!.length < 600, `a 900 kB error message is cut: ${failures.get('huge error')!.length} characters`);
        assert.match(failures.get('huge error')!, /: 500 \[redacted\] yyyy/);
        for (const text of ['key at the cut', 'page with the key']) assert.ok(!failures.get(text)!.includes(SECRET.slice(0, 6)), failures.get(text));
        assert.match(failures.get('web page')!, /answered with text, not JSON \(a web page: is the base URL the API itself, usually ending in \/v1\?\): <!doctype html>/);
        assert.match(failures.get('error under 200')!, /HTTP 200 with an error instead of a completion: model overloaded, key \[redacted\]/);
        assert.match(failures.get('reset mid-body')!, /Connection error \(.*(terminated|other side closed)/);
        assert.match(failures.get('corrupt gzip')!, /Connection error \(.*incorrect header check/);
        assert.match(failures.get('not json')!, /the response body is not valid JSON/);
        assert.match(failures.get('no choices')!, /its first choice has no message/);
        for (const message of failures.values()) assert.ok(!message.includes(SECRET));
      },
    );
  });

  it('counts a tool call in place of the answer as malformed, not as an empty answer', async () => {
    await withFakeOpenAi(
      () => ({
        json: {
          choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'label', arguments: '{"label":"Sports"}' } }] } }],
        },
      }),
      async (server) => {
        const { answers, summary } = await runLabelling(planLabelRun(rowsOf(['text']), false), runOptions(server));
        assert.deepEqual(answers.get('text'), { kind: 'abstain', reason: 'malformed', detail: 'answered with a tool call instead of text' });
        assert.equal(summary.abstained.malformed, 1);
      },
    );
  });
});


describe('peerkd label never writes over the user\'s fields', () => {
  it('refuses a mapping in which the teacher label or its confidence would overwrite the text, the human label or the id', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-fields-'));
    try {
      const file = path.join(dir, 'data.jsonl');
      const data = '{"id":"a","text":"hello","human_label":"Sports","meta":{"text":"nested"}}\n{"id":"b","text":"other","human_label":"World"}\n{"id":"c","text":"third"}\n';
      fs.writeFileSync(file, data);
      await withFakeOpenAi(
        () => labelReply('Sports', 0.9),
        async (server) => {
          const cases: [string[], RegExp][] = [
            // The older spellings (each message names the flag typed, else the --fields.* flag of the field).
            [['--confidence-field', 'text'], /--confidence-field 'text' is the same field as --fields.text 'text'/],
            [['--teacher-field', 'human_label', '--relabel'], /--teacher-field 'human_label' is the same field as --fields.human 'human_label'/],
            [['--teacher-field', 'id'], /--teacher-field 'id' is the same field as --fields.id 'id'/],
            [['--teacher-field', 'meta', '--text-field', 'meta.text'], /--teacher-field 'meta' holds --text-field 'meta.text'/],
            [['--confidence-field', 'text.p'], /--confidence-field 'text.p' lies inside --fields.text 'text'/],
            [['--confidence-field', 'teacher_label.p'], /--fields.teacher 'teacher_label' holds --confidence-field 'teacher_label.p'/],
            // The --fields.* flags of distill, predict and export.
            [['--fields.teacherConfidence', 'text'], /--fields.teacherConfidence 'text' is the same field as --fields.text 'text'/],
            [['--fields.teacher', 'meta', '--fields.text', 'meta.text'], /--fields.teacher 'meta' holds --fields.text 'meta.text'/],
            [['--fields.teacher', 'id', '--id-field', 'id'], /--fields.teacher 'id' is the same field as --id-field 'id'/],
            [['--fields.text', 'a..b'], /--fields.text: Invalid field path 'a\.\.b'/],
            [['--fields.text', 'body', '--text-field', 'body'], /--fields.text and --text-field name the same field: give one/],
          ];
          for (const [flags, message] of cases) {
            const io = { stdout: new Capture(), stderr: new Capture(), env: {} };
            await assert.rejects(
              runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'm', '--labels', 'Sports,World', ...flags], io),
              (error: unknown) => error instanceof UsageError && message.test(error.message),
              flags.join(' '),
            );
          }
          assert.equal(server.chatRequests().length, 0, 'refused before anything is asked');
          assert.equal(fs.readFileSync(file, 'utf8'), data, 'and before anything is written');
          const io = { stdout: new Capture(), stderr: new Capture(), env: {} };
          assert.equal(await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'm', '--labels', 'Sports,World', '--confidence-field', 'meta.teacher_p'], io), 0, io.stderr.text);
          assert.equal(fs.readFileSync(file, 'utf8').split('\n')[2], '{"id":"c","text":"third","teacher_label":"Sports","meta":{"teacher_p":0.9}}');
          // The same mapping through --fields.*: the answer lands in the fields named, as distill will read them.
          const file2 = path.join(dir, 'data2.jsonl');
          fs.writeFileSync(file2, '{"id":"a","body":"hello","gold":"Sports"}\n{"id":"b","body":"other","gold":"World"}\n{"id":"c","body":"third"}\n');
          const io2 = { stdout: new Capture(), stderr: new Capture(), env: {} };
          assert.equal(
            await runLabelCommand([file2, '--base-url', server.baseUrl, '--model', 'm', '--fields.text', 'body', '--fields.human', 'gold', '--fields.teacher', 'llm', '--fields.teacherConfidence', 'llm_p'], io2),
            0,
            io2.stderr.text,
          );
          assert.equal(fs.readFileSync(file2, 'utf8').split('\n')[2], '{"id":"c","body":"third","llm":"Sports","llm_p":0.9}');
        },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the dataset edited between runs and during one: answers follow the texts, nothing the user changed is lost', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-edited-'));
    try {
      const file = path.join(dir, 'data.jsonl');
      const row = (id: string, text: string) => JSON.stringify({ id, text });
      fs.writeFileSync(file, ['a', 'b', 'c', 'd'].map((id) => row(id, `text ${id}`)).join('\n') + '\n');
      const labelOf = (text: string) => (text.endsWith('a') || text.endsWith('c') ? 'Sports' : 'World');
      let onRequest = (): void => undefined;
      await withFakeOpenAi(
        (request) => {
          onRequest();
          return labelReply(labelOf(request.text));
        },
        async (server) => {
          const run = async (...extra: string[]) => {
            const io = { stdout: new Capture(), stderr: new Capture(), env: {} };
            const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'm', '--labels', 'Sports,World', ...extra], io);
            assert.equal(code, 0, io.stderr.text);
            return io.stdout.text;
          };
          await run('--out', path.join(dir, 'first.jsonl'));
          assert.equal(server.chatRequests().length, 4);
          // Between runs: reordered, one removed, one added, one text changed.
          fs.writeFileSync(file, [row('d', 'text d'), row('b', 'text b changed'), row('a', 'text a'), row('e', 'text e')].join('\n') + '\n');
          // During the run: a row inserted above the others and a field the user added to one of them.
          onRequest = () => {
            onRequest = () => undefined;
            const lines = fs.readFileSync(file, 'utf8').split('\n');
            lines[2] = lines[2].replace('}', ',"note":"edited during the run"}');
            fs.writeFileSync(file, [row('new', 'inserted while labelling'), ...lines].join('\n'));
          };
          const summary = await run();
          assert.equal(server.chatRequests().length, 6, 'only the changed and the added text were asked');
          assert.match(summary, /2 answers from the cache/);
          assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n'), [
            row('new', 'inserted while labelling'),
            '{"id":"d","text":"text d","teacher_label":"World"}',
            '{"id":"b","text":"text b changed","teacher_label":"World"}',
            '{"id":"a","text":"text a","note":"edited during the run","teacher_label":"Sports"}',
            '{"id":"e","text":"text e","teacher_label":"World"}',
            '',
          ]);
        },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('texts that differ only in a lone surrogate (cut inside an emoji) get their own cache entries', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-surrogate-'));
    try {
      const texts = ['I love \ud83d', 'I love \ud83c', 'I love \ude00', 'I love \ud83d\ude00'];
      const labels = ['Sports', 'World', 'Business', 'Sci/Tech'];
      await withFakeOpenAi(
        (request) => labelReply(labels[texts.indexOf(request.text)] ?? 'World'),
        async (server) => {
          const cache = TeacherCache.open(dir, server.baseUrl, 'fake-model', PROMPT);
          const { answers } = await runLabelling(planLabelRun(rowsOf(texts), false), { ...runOptions(server), cache });
          assert.deepEqual(texts.map((text) => (answers.get(text) as { label?: string } | undefined)?.label), labels);
          const reopened = TeacherCache.open(dir, server.baseUrl, 'fake-model', PROMPT);
          assert.deepEqual(texts.map((text) => (reopened.get(text) as { label?: string } | undefined)?.label), labels);
          assert.equal(server.chatRequests().length, 4);

          // The Batch API names each request by a hash of its text too: one custom_id for two texts lost one of them.
          const batchDir = path.join(dir, 'batch');
          const batch = await runBatchLabelling(planLabelRun(rowsOf(texts), false), {
            ...runOptions(server),
            cache: TeacherCache.open(batchDir, server.baseUrl, 'fake-model', PROMPT),
            pollIntervalMs: 10,
          });
          assert.deepEqual(texts.map((text) => (batch.answers.get(text) as { label?: string } | undefined)?.label), labels);
          assert.equal(batch.summary.notAttempted, 0);
        },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('estimates a CJK dataset at no less than about a token per character, and English as before', () => {
    const japanese = '日本語のニュース記事です。株価が上がりました。'.repeat(10);
    const english = 'Stocks rallied on Wall Street as oil prices fell. '.repeat(10);
    const tokensOf = (text: string) => {
      const plan = planLabelRun(rowsOf([text]), false);
      return estimateRun(plan, PROMPT).promptTokens - estimateRun(planLabelRun(rowsOf(['x']), false), PROMPT).promptTokens;
    };
    // Tokenizers of the OpenAI models spend about one token per CJK character (o200k: 0.7 to 1).
    assert.ok(tokensOf(japanese) >= 0.7 * japanese.length, `${tokensOf(japanese)} tokens for ${japanese.length} characters`);
    assert.ok(Math.abs(tokensOf(english) - english.length / 4) <= 2, `${tokensOf(english)} tokens for ${english.length} characters`);
  });

  it('stops at once on 401, 403 and 404 with a clear message, and counts only real token counts', async () => {
    for (const [status, message] of [[401, `Incorrect API key provided: ${SECRET}`], [403, 'Forbidden'], [404, 'The model `fake-model` does not exist']] as const) {
      await withFakeOpenAi(
        () => ({ status, json: { error: { message } } }),
        async (server) => {
          const texts = Array.from({ length: 50 }, (_, index) => `row ${index}`);
          const { summary } = await runLabelling(planLabelRun(rowsOf(texts), false), runOptions(server, { maxConcurrency: 4, maxRetries: 5 }));
          assert.ok(server.chatRequests().length <= 4, `${status}: ${server.chatRequests().length} requests`);
          assert.equal(runOutcome(summary), 'failed');
          assert.match(summary.fatalError ?? '', new RegExp(`^TeacherFatalError: ${server.baseUrl}: ${status} `));
          assert.match(summary.fatalError ?? '', status === 404 ? /\(check the base URL, usually ending in \/v1, and the model/ : /\(the endpoint refused the API key/);
          assert.ok(!(summary.fatalError ?? '').includes(SECRET));
          assert.equal(summary.notAttempted + summary.failedRequests, 50);
        },
      );
    }
    await withFakeOpenAi(
      (request) => {
        const reply = completion('Sports') as { usage: Record<string, unknown> };
        if (request.text === 'a') {
          reply.usage = { prompt_tokens: '100', completion_tokens: -5 };
          return { json: reply };
        }
        // 1e400 as the server writes it: JSON.parse reads it as Infinity.
        return { raw: JSON.stringify({ ...reply, usage: { prompt_tokens: 'HUGE', completion_tokens: 7 } }).replace('"HUGE"', '1e400') };
      },
      async (server) => {
        const { summary } = await runLabelling(planLabelRun(rowsOf(['a', 'b']), false), runOptions(server));
        assert.deepEqual(summary.usage, { promptTokens: 0, completionTokens: 7 });
      },
    );
  });

  it('reads content given as a list of parts (text beside thinking), and fails a list that holds no text', async () => {
    const parts: Record<string, unknown> = {
      parts: [{ type: 'thinking', thinking: [{ type: 'text', text: 'World? No.' }] }, { type: 'text', text: 'Spo' }, { type: 'text', text: 'rts' }],
      'only thinking': [{ type: 'thinking', thinking: 'hmm' }],
      numbers: [1, 2],
    };
    await withFakeOpenAi(
      (request) => ({ json: { choices: [{ index: 0, message: { role: 'assistant', content: parts[request.text] } }] } }),
      async (server) => {
        const { answers, summary } = await runLabelling(planLabelRun(rowsOf(Object.keys(parts)), false), runOptions(server, { maxRetries: 0 }));
        assert.deepEqual(answers.get('parts'), { kind: 'label', label: 'Sports', confidence: null });
        assert.deepEqual(answers.get('only thinking'), { kind: 'abstain', reason: 'empty', detail: 'the answer was empty' });
        assert.equal(answers.has('numbers'), false);
        assert.equal(summary.failedRequests, 1);
      },
    );
  });
});

describe('a base URL with credentials in it', () => {
  it('never shows them, whether the URL parses or not', () => {
    const cases: [string, RegExp][] = [
      ['https://user:hunter2pass@api.example.com/v1', /'https:\/\/api\.example\.com\/v1' holds a user name or password/],
      ['https://user:hunter2pass@api.example.com:99999/v1', /'https:\/\/\*\*\*@api\.example\.com:99999\/v1' is not a valid URL/],
      ['https://user:hunter2 pass@api.example.com/v1', /holds a user name or password|is not a valid URL/],
      ['https://us@er:hunter2pass@exa mple.com/v1', /'https:\/\/\*\*\*@exa mple\.com\/v1' is not a valid URL/],
      ['ftp://user:hunter2pass@api.example.com/v1', /'ftp:\/\/\*\*\*@api\.example\.com\/v1' must start with http/],
      ['user:hunter2pass@api.example.com/v1', /'\*\*\*@api\.example\.com\/v1'/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => normaliseBaseUrl(url),
        (error: Error) => message.test(error.message) && !error.message.includes('hunter2'),
        url,
      );
    }
    assert.equal(normaliseBaseUrl('http://localhost:11434/v1/'), 'http://localhost:11434/v1');
  });

  it('the Batch API path cuts a huge error text too, after masking the key', async () => {
    const server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `${'z'.repeat(100)}${SECRET}${'z'.repeat(500_000)}` } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const options = { ...runOptions({ baseUrl } as FakeOpenAiServer, { maxRetries: 0 }), pollIntervalMs: 10 };
      const { summary } = await runBatchLabelling(planLabelRun(rowsOf(['a']), false), options);
      assert.ok((summary.fatalError ?? '').length < 800, `${(summary.fatalError ?? '').length} characters`);
      assert.match(summary.fatalError ?? '', /404 z+\[redacted\]z+…/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
