/**
 * `peerkd label` as a real process that is killed (SIGKILL, no chance to clean up) or run twice at once on one
 * dataset: the dataset is never half-written, the answer cache never holds a line that corrupts the next run, and no
 * answer received is paid for again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { labelReply, withFakeOpenAi } from '../support/fakeOpenAiServer';

const ROOT = path.join(__dirname, '..', '..');
const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Rows with what a JSON round trip would lose or reorder: huge numbers, exponents, escapes, unicode, key order. */
function datasetLines(count: number): string[] {
  return Array.from({ length: count }, (_, index) =>
    index % 2 === 0
      ? `{"z":1e400,"text":"row ${index} caf\\u00e9 \u65e5\u672c \ud83d\ude00","big":12345678901234567890,"id":"r${index}","f":[1.0,-0.0,1E+2],"teacher_label":null}`
      : `{ "id" : "r${index}" , "text" : "row ${index} plain" , "nested" : {"b":2,"a":1} }`,
  );
}

function labelFor(text: string): string {
  return LABELS[Number(/row (\d+)/.exec(text)?.[1] ?? 0) % LABELS.length];
}

function spawnLabel(file: string, baseUrl: string, extra: string[] = []): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'label', file, '--base-url', baseUrl, '--model', 'fake', '--labels', LABELS.join(','), '--concurrency', '2', ...extra],
    { cwd: ROOT, env: { ...process.env, OPENAI_API_KEY: '' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every line as it was, with only the teacher label (and its confidence) added. */
function assertOnlyTeacherFieldsAdded(written: string, original: string[]): void {
  const lines = written.split('\n');
  assert.equal(lines.pop(), '', 'the file still ends with a newline');
  assert.equal(lines.length, original.length);
  lines.forEach((line, index) => {
    const label = labelFor(`row ${index}`);
    const expected =
      index % 2 === 0
        ? original[index].replace('"teacher_label":null}', `"teacher_label":${JSON.stringify(label)},"teacher_confidence":0.9}`)
        : original[index].replace(/ }$/, ` , "teacher_label" : ${JSON.stringify(label)} , "teacher_confidence" : 0.9 }`);
    assert.equal(line, expected);
  });
}

describe('peerkd label killed or run twice', () => {
  it('SIGKILL mid-run leaves the dataset as it was and a cache that resumes: no answer received is asked again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-kill-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'data.jsonl');
    const original = datasetLines(40);
    fs.writeFileSync(file, original.join('\n') + '\n');
    const before = fs.readFileSync(file);
    const asked = new Map<string, number>();
    await withFakeOpenAi(
      (request) => {
        asked.set(request.text, (asked.get(request.text) ?? 0) + 1);
        return { ...labelReply(labelFor(request.text), 0.9), delayMs: 15 };
      },
      async (server) => {
        const run = spawnLabel(file, server.baseUrl);
        await until(() => server.chatRequests().length >= 16, 'sixteen requests');
        run.child.kill('SIGKILL');
        await run.exited;
        assert.deepEqual(fs.readFileSync(file), before, 'a killed run writes nothing into the dataset');
        assert.deepEqual(fs.readdirSync(dir).sort(), ['.peerkd', 'data.jsonl'], 'and leaves no temporary file next to it');
        const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
        const [cacheFile] = fs.readdirSync(cacheDir);
        const cacheLines = fs.readFileSync(path.join(cacheDir, cacheFile), 'utf8').split('\n').filter(Boolean);
        assert.ok(cacheLines.length >= 10, `${cacheLines.length} answers cached before the kill`);
        for (const line of cacheLines) JSON.parse(line);
        // A crash in the middle of an append: the next run skips the cut line and starts its own on a fresh one.
        fs.appendFileSync(path.join(cacheDir, cacheFile), '{"k":"0123456789abcdef","lab');

        const askedBefore = new Map(asked);
        const resumed = spawnLabel(file, server.baseUrl);
        assert.equal(await resumed.exited, 0, resumed.output());
        assert.match(resumed.output(), new RegExp(`${cacheLines.length} answers from the cache`));
        const askedAgain = [...asked].filter(([text, count]) => (askedBefore.get(text) ?? 0) > 0 && count > askedBefore.get(text)!).length;
        // Only the requests in flight at the kill (at most --concurrency) can have been answered and not yet cached.
        assert.ok(askedAgain <= 2, `${askedAgain} texts paid twice`);
        assert.equal(asked.size, 40, 'every row asked');
        assertOnlyTeacherFieldsAdded(fs.readFileSync(file, 'utf8'), original);
        for (const line of fs.readFileSync(path.join(cacheDir, cacheFile), 'utf8').split('\n').filter(Boolean).slice(cacheLines.length + 1)) JSON.parse(line);
      },
    );
  });
});
