/**
 * A new user's first run on a dataset whose fields are `sentence` and `llm_label`: "Run Peer-Advised Distillation"
 * offers the field mappings as buttons before the run (which would stop on the first missing field, then on the
 * next). Run against a stand-in for `vscode`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stubVscodeModule } from '../support/fakeVscodeModule';
import { parseDatasetText } from '../../src/dataset/index';
import { DEFAULT_FIELDS } from '../../src/dataset/types';

const LINES = readFileSync(join(__dirname, '..', 'fixtures', 'e2e', 'fields', 'data.jsonl'), 'utf8').trimEnd().split('\n');
const settings = new Map<string, unknown>();
const warnings: { text: string; buttons: string[] }[] = [];
const executed: unknown[][] = [];
let answer: (buttons: string[]) => string | undefined = () => undefined;
let diagnostics: unknown[] = [];

const fakeVscode = {
  window: {
    showWarningMessage: async (text: string, ...buttons: string[]) => {
      warnings.push({ text, buttons });
      return answer(buttons);
    },
  },
  languages: { getDiagnostics: () => diagnostics },
  commands: {
    executeCommand: async (...args: unknown[]) => {
      executed.push(args);
      const fix = args[2] as { field: string; path: string };
      settings.set(`fields.${fix.field}`, fix.path);
      return true;
    },
  },
  workspace: { getConfiguration: () => ({ get: (key: string) => settings.get(key) }) },
};
stubVscodeModule(fakeVscode);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { offerFieldFixesBeforeRun, RUN_ANYWAY, USE_FIELD_COMMAND } = require('../../src/editor/fieldFixOffers') as typeof import('../../src/editor/fieldFixOffers');

const document = { uri: { toString: () => 'file:///w/data.jsonl' }, lineCount: LINES.length, lineAt: (index: number) => ({ text: LINES[index] }) };

/** The dataset's own problems, as the editor's diagnostics carry them (source PeerKD, the problem's code). */
function datasetDiagnostics(): unknown[] {
  return parseDatasetText(LINES.join('\n') + '\n', DEFAULT_FIELDS, {})
    .problems.filter((problem) => problem.code === 'missing-text-field' || problem.code === 'missing-label-fields')
    .map((problem) => ({ source: 'PeerKD', code: problem.code, message: problem.message }));
}

test("the run offers 'Use sentence' then 'Use llm_label' as buttons, writes each chosen mapping, then runs", async () => {
  diagnostics = datasetDiagnostics();
  assert.deepEqual(diagnostics.map((d) => (d as { code: string }).code).sort(), ['missing-label-fields', 'missing-text-field']);
  settings.clear();
  warnings.length = 0;
  executed.length = 0;
  answer = (buttons) => buttons[0];
  assert.equal(await offerFieldFixesBeforeRun(document as never, 'data.jsonl'), true);
  assert.deepEqual(
    warnings.map((warning) => warning.buttons),
    [["Use 'sentence'"], ["Use 'llm_label'"]],
  );
  assert.match(warnings[0].text, /^PeerKD: data\.jsonl cannot be distilled yet: .*none of the 40 rows has a field 'text'/);
  assert.deepEqual(
    executed.map(([command, , fix]) => [command, (fix as { field: string }).field, (fix as { path: string }).path]),
    [
      [USE_FIELD_COMMAND, 'text', 'sentence'],
      [USE_FIELD_COMMAND, 'teacher', 'llm_label'],
    ],
  );
});

test("human labels without a teacher field do not stop a run: the offer says so and has 'Run Anyway', as the CLI goes on with a warning", async () => {
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `row ${i}`, llm_label: i % 2 ? 'World' : 'Sports', ...(i % 4 === 0 ? { human_label: i % 2 ? 'World' : 'Sports' } : {}) }));
  const humans = { ...document, lineCount: lines.length, lineAt: (index: number) => ({ text: lines[index] }) };
  diagnostics = parseDatasetText(lines.join('\n') + '\n', DEFAULT_FIELDS, {}).problems.map((problem) => ({ source: 'PeerKD', code: problem.code, message: problem.message }));
  assert.deepEqual(diagnostics.map((d) => (d as { code: string }).code), ['missing-teacher-field']);
  settings.clear();
  warnings.length = 0;
  executed.length = 0;
  answer = (buttons) => buttons.at(-1);
  assert.equal(await offerFieldFixesBeforeRun(humans as never, 'data.jsonl'), true, 'Run Anyway runs');
  assert.deepEqual(warnings.map((warning) => warning.buttons), [["Use 'llm_label'", RUN_ANYWAY]]);
  assert.match(warnings[0].text, /^PeerKD: data\.jsonl has no teacher labels: No row has a teacher label \(field 'teacher_label'\), only human labels/);
  assert.deepEqual(executed, [], 'no setting written');
  answer = (buttons) => buttons[0];
  assert.equal(await offerFieldFixesBeforeRun(humans as never, 'data.jsonl'), true);
  assert.deepEqual(settings.get('fields.teacher'), 'llm_label');
  settings.clear();
  answer = () => undefined;
  assert.equal(await offerFieldFixesBeforeRun(humans as never, 'data.jsonl'), false, 'closed: no run');
});

test('closing the offer runs nothing and writes no setting; a dataset without those problems runs at once', async () => {
  diagnostics = datasetDiagnostics();
  settings.clear();
  warnings.length = 0;
  executed.length = 0;
  answer = () => undefined;
  assert.equal(await offerFieldFixesBeforeRun(document as never, 'data.jsonl'), false);
  assert.equal(warnings.length, 1);
  assert.deepEqual(executed, []);
  diagnostics = [{ source: 'PeerKD', code: 'unknown-label', message: 'x' }, { source: 'other', code: 'missing-text-field', message: 'y' }];
  warnings.length = 0;
  assert.equal(await offerFieldFixesBeforeRun(document as never, 'data.jsonl'), true);
  assert.equal(warnings.length, 0);
});
