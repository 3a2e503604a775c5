/**
 * The teacher client against a hostile or broken endpoint (a real HTTP server on 127.0.0.1): answers that are almost a
 * label, errors that belong to one row, servers that never recover, rate limits with absurd waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDatasetText } from '../../src/dataset';
import { DEFAULT_FIELDS, type DatasetRow } from '../../src/dataset/types';
import type { TeacherPrompt } from '../../src/teacher/client';
import { DEFAULT_PROMPT_TEMPLATE } from '../../src/teacher/prompt';
import { planLabelRun, runLabelling, type LabelRunOptions } from '../../src/teacher/run';
import type { TeacherEndpoint } from '../../src/teacher/types';
import { labelReply, withFakeOpenAi, type FakeOpenAiServer } from '../support/fakeOpenAiServer';

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
});
