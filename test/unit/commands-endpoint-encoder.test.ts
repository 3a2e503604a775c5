/**
 * Issue 13, the editor before a distillation with the `endpoint` encoder (src/commands/endpointEncoder.ts), against a
 * stand-in for `vscode`: the server is peerkd.encoder.baseUrl or else the teacher's, the key comes from SecretStorage
 * for that URL (a missing one for a remote server is asked about), and the user sees the token estimate and says Run
 * before anything is sent. The key is in no message.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { DEFAULT_TEACHER_SETTINGS } from '../../src/teacher/settings';
import { stubVscodeModule } from '../support/fakeVscodeModule';

const KEY = 'sk-editor-endpoint-secret-000111';
const shown: { kind: string; text: string; detail?: string; items: string[] }[] = [];
const executed: unknown[][] = [];
const logged: string[] = [];
let answers: (string | undefined)[] = [];
let secrets: Record<string, string> = {};

const answer = async (kind: string, text: string, ...rest: unknown[]) => {
  const options = typeof rest[0] === 'object' && rest[0] !== null ? (rest.shift() as { detail?: string }) : {};
  shown.push({ kind, text, detail: options.detail, items: rest as string[] });
  return answers.shift();
};
const fakeVscode = {
  window: {
    showWarningMessage: (text: string, ...rest: unknown[]) => answer('warning', text, ...rest),
    showInformationMessage: (text: string, ...rest: unknown[]) => answer('information', text, ...rest),
    showErrorMessage: (text: string, ...rest: unknown[]) => answer('error', text, ...rest),
  },
  commands: {
    executeCommand: async (...args: unknown[]) => {
      executed.push(args);
      secrets[`peerkd.teacher.apiKey:${String(args[1])}`] = KEY;
      return true;
    },
  },
};
stubVscodeModule(fakeVscode);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareEndpointEncoder } = require('../../src/commands/endpointEncoder') as typeof import('../../src/commands/endpointEncoder');

const services = {
  context: { secrets: { get: async (name: string) => secrets[name] } },
  log: { info: (line: string) => logged.push(line) },
} as never;
const dataset = ['{"text": "first row text", "teacher_label": "A"}', '{"text": "second", "teacher_label": "B"}', '{"teacher_label": "A"}', 'not json'].join('\n');
const settings = (encoder: { baseUrl: string; model: string }, teacherBaseUrl = 'https://teacher.example.com/v1') =>
  ({ fields: DEFAULT_FIELDS, teacher: { ...DEFAULT_TEACHER_SETTINGS, baseUrl: teacherBaseUrl }, encoder }) as never;

beforeEach(() => {
  shown.length = 0;
  executed.length = 0;
  logged.length = 0;
  answers = [];
  secrets = {};
});

test('editor, endpoint encoder: the stored key for peerkd.encoder.baseUrl, the estimate shown before the run, Run goes ahead', async () => {
  secrets['peerkd.teacher.apiKey:https://embed.example.com/v1'] = KEY;
  answers = ['Run'];
  const prepared = await prepareEndpointEncoder(services, 'data.jsonl', settings({ baseUrl: 'https://embed.example.com/v1/', model: 'text-embedding-3-small' }), dataset);
  assert.deepEqual(prepared, {
    endpoint: { baseUrl: 'https://embed.example.com/v1', model: 'text-embedding-3-small', maxConcurrency: 8, requestTimeoutMs: 60_000, maxRetries: 5 },
    apiKey: KEY,
  });
  assert.equal(shown.length, 1, 'no key warning: a key is stored');
  assert.equal(shown[0].text, 'Distil data.jsonl with the endpoint encoder?');
  assert.deepEqual(shown[0].items, ['Run']);
  assert.match(shown[0].detail ?? '', /^encoder endpoint: 2 text\(s\) to embed with text-embedding-3-small at https:\/\/embed\.example\.com\/v1 .*about 5 tokens .*\n\nEach row's text is sent to https:\/\/embed\.example\.com\/v1\/embeddings once/);
  assert.ok(logged.some((line) => line.startsWith('encoder endpoint: 2 text(s)')));
  assert.ok(![...shown.map((item) => `${item.text} ${item.detail}`), ...logged].some((text) => text.includes(KEY)));
});

test('editor, endpoint encoder: the teacher base URL when peerkd.encoder.baseUrl is empty; a missing key is asked for with that URL; no Run, nothing happens', async () => {
  answers = ['Set API Key…', undefined];
  const stopped = await prepareEndpointEncoder(services, 'data.jsonl', settings({ baseUrl: '', model: 'm' }), dataset);
  assert.equal(stopped, undefined, 'the confirmation was dismissed');
  assert.equal(shown[0].kind, 'warning');
  assert.match(shown[0].text, /no API key is stored for https:\/\/teacher\.example\.com\/v1/);
  assert.deepEqual(executed, [['peerkd.setTeacherApiKey', 'https://teacher.example.com/v1']]);
  assert.equal(shown[1].text, 'Distil data.jsonl with the endpoint encoder?');

  shown.length = 0;
  secrets = {};
  answers = [undefined];
  assert.equal(await prepareEndpointEncoder(services, 'data.jsonl', settings({ baseUrl: '', model: 'm' }), dataset), undefined);
  assert.equal(shown.length, 1, 'dismissing the key warning stops before the estimate');

  // A local server needs no key: no warning.
  shown.length = 0;
  answers = ['Run'];
  const local = await prepareEndpointEncoder(services, 'data.jsonl', settings({ baseUrl: 'http://localhost:11434/v1', model: 'nomic-embed-text' }), dataset);
  assert.equal(local?.apiKey, undefined);
  assert.equal(local?.endpoint.baseUrl, 'http://localhost:11434/v1');
  assert.equal(shown.length, 1);
});

test('editor, endpoint encoder: a bad base URL is reported naming the setting it came from, not "the teacher base URL"; nothing is asked or sent', async () => {
  const cases: [ReturnType<typeof settings>, string][] = [
    [settings({ baseUrl: 'not a url', model: 'm' }), "PeerKD: the setting peerkd.encoder.baseUrl 'not a url' is not a valid URL (expected e.g. http://localhost:11434/v1)."],
    [settings({ baseUrl: 'ftp://embed.example.com/v1', model: 'm' }), "PeerKD: the setting peerkd.encoder.baseUrl 'ftp://embed.example.com/v1' must start with http:// or https://."],
    [settings({ baseUrl: '', model: 'm' }, 'teacher.example.com/v1'), "PeerKD: the setting peerkd.teacher.baseUrl (peerkd.encoder.baseUrl is empty) 'teacher.example.com/v1' is not a valid URL (expected e.g. http://localhost:11434/v1)."],
  ];
  for (const [given, expected] of cases) {
    shown.length = 0;
    assert.equal(await prepareEndpointEncoder(services, 'data.jsonl', given, dataset), undefined);
    assert.deepEqual(shown.map(({ kind, text }) => [kind, text]), [['error', expected]]);
  }
  shown.length = 0;
  assert.equal(await prepareEndpointEncoder(services, 'data.jsonl', settings({ baseUrl: 'https://user:pw@embed.example.com/v1', model: 'm' }), dataset), undefined);
  assert.match(shown[0].text, /^PeerKD: the setting peerkd\.encoder\.baseUrl 'https:\/\/embed\.example\.com\/v1' holds a user name or password; /);
  assert.ok(!shown[0].text.includes('user:pw'), 'the password is not shown');
  assert.deepEqual(executed, []);
});
