/**
 * A restored Label Review panel opens only a dataset the host could have chosen itself: the saved URI comes from the
 * webview and is untrusted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { restorableDataset } from '../../src/review/restore';

let root: string;
let workspace: string;
let withRun: string;
const hasRun = async (file: string): Promise<boolean> => file === withRun;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'peerkd-restore-'));
  workspace = join(root, 'workspace');
  await mkdir(join(workspace, 'data'), { recursive: true });
  await mkdir(join(root, 'elsewhere'));
  withRun = join(workspace, 'data', 'train.jsonl');
  await writeFile(withRun, '{"text":"a"}\n');
  await writeFile(join(workspace, 'data', 'norun.jsonl'), '{"text":"a"}\n');
  await writeFile(join(workspace, 'notes.txt'), 'x');
  await writeFile(join(root, 'elsewhere', 'secret.jsonl'), '{"text":"a"}\n');
  await symlink(join(root, 'elsewhere', 'secret.jsonl'), join(workspace, 'link.jsonl'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const uri = (file: string): string => pathToFileURL(file).href;

test('a dataset inside a workspace folder that has a run is restored', async () => {
  assert.deepEqual(await restorableDataset(uri(withRun), [workspace], hasRun), { path: withRun });
});

test('anything else the webview names is refused, with the reason', async () => {
  const everyRun = async (): Promise<boolean> => true;
  const cases: [string, string[], string][] = [
    [uri(join(root, 'elsewhere', 'secret.jsonl')), [workspace], 'not inside a workspace folder'],
    [uri(join(workspace, 'link.jsonl')), [workspace], 'not inside a workspace folder'],
    [uri(join(workspace, '..', 'elsewhere', 'secret.jsonl')), [workspace], 'not inside a workspace folder'],
    [uri(withRun), [], 'not inside a workspace folder'],
    [uri(join(workspace, 'notes.txt')), [workspace], 'not a JSON Lines dataset (.jsonl or .ndjson)'],
    [uri(join(workspace, 'missing.jsonl')), [workspace], 'no such file'],
    ['untitled:Untitled-1.jsonl', [workspace], 'not a local file'],
    ['https://example.invalid/train.jsonl', [workspace], 'not a local file'],
    ['not a uri', [workspace], 'not a file URI'],
  ];
  for (const [saved, folders, reason] of cases) {
    assert.deepEqual(await restorableDataset(saved, folders, everyRun), { rejected: reason }, saved);
  }
  assert.deepEqual(await restorableDataset(uri(join(workspace, 'data', 'norun.jsonl')), [workspace], hasRun), {
    rejected: 'the dataset has no completed run',
  });
});
