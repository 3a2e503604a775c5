import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDatasetText } from '../../src/dataset';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { customIdOf, runBatchLabelling } from '../../src/teacher/batch';
import { TeacherCache } from '../../src/teacher/cache';
import type { TeacherPrompt } from '../../src/teacher/client';
import { DEFAULT_PROMPT_TEMPLATE } from '../../src/teacher/prompt';
import { planLabelRun, runLabelling } from '../../src/teacher/run';
import type { TeacherEndpoint } from '../../src/teacher/types';
import { completion, labelReply, startFakeOpenAi, type ChatHandler } from '../support/fakeOpenAiServer';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-batch-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
const PROMPT: TeacherPrompt = { labels: LABELS, template: DEFAULT_PROMPT_TEMPLATE, fewShot: [{ text: 'Cup final', label: 'Sports' }] };
const SECRET = 'sk-batch-77aa88bb99cc-SECRET';

function endpoint(baseUrl: string): TeacherEndpoint {
  return { baseUrl, model: 'fake-model', apiKey: SECRET, temperature: 0, maxConcurrency: 4, requestTimeoutMs: 2000, maxRetries: 1 };
}

function plan(texts: string[]) {
  const body = texts.map((text, index) => JSON.stringify({ id: `r${index}`, text })).join('\n');
  return planLabelRun(parseDatasetText(body, DEFAULT_FIELDS).rows, false);
}

const handler: ChatHandler = (request) => {
  if (request.text.startsWith('outside')) return { json: completion('{"label":"Weather"}') };
  if (request.text.startsWith('fails')) return { status: 500, json: { error: { message: 'model crashed' } } };
  return labelReply('Business', 0.75);
};

describe('teacher labelling through the Batch API', () => {
  it('uploads one JSONL of requests, polls, downloads, validates and caches like live requests', async () => {
    const cacheDir = tempDir();
    const server = await startFakeOpenAi(handler);
    try {
      const texts = ['stocks up', 'bank merger', 'outside the set', 'fails always'];
      const statuses: string[] = [];
      const cache = TeacherCache.open(cacheDir, server.baseUrl, 'fake-model', PROMPT);
      const { answers, summary } = await runBatchLabelling(plan(texts), {
        endpoint: endpoint(server.baseUrl),
        prompt: PROMPT,
        cache,
        pollIntervalMs: 10,
        onStatus: (line) => statuses.push(line),
      });
      assert.equal(summary.fatalError, undefined);
      assert.deepEqual(answers.get('stocks up'), { kind: 'label', label: 'Business', confidence: 0.75 });
      assert.equal(answers.get('outside the set')?.kind, 'abstain');
      assert.equal(answers.has('fails always'), false);
      assert.equal(summary.labelled, 2);
      assert.equal(summary.abstained['not-in-label-set'], 1);
      assert.equal(summary.failedRequests, 1);
      assert.equal(summary.notAttempted, 0);
      assert.deepEqual(summary.usage, { promptTokens: 300, completionTokens: 15 });

      const upload = server.requests.find((request) => request.path === '/v1/files')!;
      assert.match(upload.body, /name="purpose"\r\n\r\nbatch/);
      const lines = upload.body.split('\n').filter((line) => line.startsWith('{"custom_id"'));
      assert.equal(lines.length, 4);
      const first = JSON.parse(lines[0]) as { custom_id: string; url: string; body: { response_format?: unknown; messages: unknown[] } };
      assert.equal(first.custom_id, customIdOf('stocks up'));
      assert.equal(first.url, '/v1/chat/completions');
      assert.ok(first.body.response_format, 'structured output in batch requests');
      assert.equal(first.body.messages.length, 4, 'system, one few-shot pair, the row');
      assert.ok(statuses.some((line) => /Uploaded 4 requests as batch/.test(line)));
      assert.ok(server.requests.every((request) => request.headers.authorization === `Bearer ${SECRET}`));
      assert.ok(!statuses.join('\n').includes(SECRET) && !JSON.stringify(summary).includes(SECRET));

      // Batch answers land in the same cache as live ones: a live run afterwards asks only for the failed text.
      const live = await runLabelling(plan(texts), { endpoint: endpoint(server.baseUrl), prompt: PROMPT, cache: TeacherCache.open(cacheDir, server.baseUrl, 'fake-model', PROMPT), client: { backoff: { initialDelayMs: 1, maxDelayMs: 10 } } });
      assert.equal(live.summary.fromCache, 3);
      assert.equal(server.chatRequests().length, 2, 'one request plus one retry for the failed text');
    } finally {
      await server.close();
    }
  });

  it('stops with a hint when the endpoint has no Batch API', async () => {
    const server = await startFakeOpenAi(handler);
    try {
      // A base URL under which the files endpoint does not exist, like a server without the Batch API.
      const { summary } = await runBatchLabelling(plan(['x']), { endpoint: endpoint(`${server.baseUrl}/none`), prompt: PROMPT, pollIntervalMs: 10 });
      assert.match(summary.fatalError ?? '', /404 no route POST \/v1\/none\/files.*may not offer the Batch API/);
      assert.equal(summary.notAttempted, 1);
    } finally {
      await server.close();
    }
  });

  it('collects a batch that was still running when the previous run was cancelled, without uploading again', async () => {
    const cacheDir = tempDir();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = await startFakeOpenAi(async () => {
      await gate;
      return labelReply('World');
    });
    try {
      const texts = ['a', 'b', 'c'];
      const controller = new AbortController();
      const options = () => ({
        endpoint: endpoint(server.baseUrl),
        prompt: PROMPT,
        cache: TeacherCache.open(cacheDir, server.baseUrl, 'fake-model', PROMPT),
        pollIntervalMs: 10,
      });
      const cancelled = await runBatchLabelling(plan(texts), {
        ...options(),
        signal: controller.signal,
        onStatus: (line) => {
          if (/in_progress/.test(line)) controller.abort();
        },
      });
      assert.equal(cancelled.summary.cancelled, true);
      assert.equal(cancelled.summary.notAttempted, 3);
      release();
      const resumed = await runBatchLabelling(plan(texts), options());
      assert.equal(resumed.summary.labelled, 3);
      assert.equal(server.requests.filter((request) => request.path === '/v1/files').length, 1, 'no second upload');
      assert.equal(server.requests.filter((request) => request.path === '/v1/batches').length, 1, 'no second batch');
      assert.equal(fs.readdirSync(cacheDir).filter((file) => file.endsWith('.batch.json')).length, 0);
    } finally {
      await server.close();
    }
  });

  it('Cancel during a status poll or a download that hangs stops at once; the next run collects the batch', { timeout: 120_000 }, async () => {
    for (const hung of ['status', 'download'] as const) {
      const cacheDir = tempDir();
      const server = await startFakeOpenAi(() => labelReply('World'));
      try {
        const controller = new AbortController();
        server.setInterceptor((request) => {
          const matches = hung === 'status' ? /^\/v1\/batches\/[^/]+$/.test(request.path) : /^\/v1\/files\/[^/]+\/content$/.test(request.path);
          if (!matches || request.method !== 'GET') return undefined;
          // Cancelled while the request hangs: nothing else ends it (the timeout is ten minutes, with five retries).
          setImmediate(() => controller.abort());
          return { hang: true };
        });
        const options = () => ({
          endpoint: { ...endpoint(server.baseUrl), requestTimeoutMs: 600_000, maxRetries: 5 },
          prompt: PROMPT,
          cache: TeacherCache.open(cacheDir, server.baseUrl, 'fake-model', PROMPT),
          pollIntervalMs: 10,
        });
        const statuses: string[] = [];
        const cancelled = await runBatchLabelling(plan(['a', 'b']), { ...options(), signal: controller.signal, onStatus: (line) => statuses.push(line) });
        assert.equal(cancelled.summary.fatalError, undefined, `${hung}: a cancel, not an error`);
        assert.equal(cancelled.summary.cancelled, true);
        assert.equal(cancelled.summary.notAttempted, 2);
        assert.match(statuses.at(-1) ?? '', /the next run collects its results/);
        assert.equal(fs.readdirSync(cacheDir).filter((file) => file.endsWith('.batch.json')).length, 1, 'the batch id is kept');

        server.setInterceptor(undefined);
        const resumed = await runBatchLabelling(plan(['a', 'b']), options());
        assert.equal(resumed.summary.labelled, 2, hung);
        assert.equal(server.requests.filter((request) => request.path === '/v1/batches').length, 1, 'no second batch');
      } finally {
        await server.close();
      }
    }
  });
});
