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
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { runLabelCommand } from '../../src/cli/label';
import { LabelRunBusyError, LabelRunLock } from '../../src/teacher/lock';
import { labelReply, withFakeOpenAi } from '../support/fakeOpenAiServer';
import { waitFor } from '../support/waitFor';
import { CapturedStream as Capture } from '../support/captureIo';

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
        await waitFor('sixteen requests', () => server.chatRequests().length >= 16);
        run.child.kill('SIGKILL');
        await run.exited;
        assert.deepEqual(fs.readFileSync(file), before, 'a killed run writes nothing into the dataset');
        assert.deepEqual(fs.readdirSync(dir).sort(), ['.peerkd', 'data.jsonl'], 'and leaves no temporary file next to it');
        const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
        const [cacheFile] = fs.readdirSync(cacheDir).filter((name) => name.endsWith('.jsonl'));
        const [lockFile] = fs.readdirSync(cacheDir).filter((name) => name.endsWith('.run.lock'));
        assert.match(fs.readFileSync(path.join(cacheDir, lockFile), 'utf8'), new RegExp(`"pid":${run.child.pid}`), 'the killed run left its lock');
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
        assert.deepEqual(fs.readdirSync(cacheDir), [cacheFile], "the dead run's lock was taken over, and released at the end");
      },
    );
  });

  it('a second run on the same dataset while the first is labelling is refused before it asks anything', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-twice-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'data.jsonl');
    const original = datasetLines(20);
    fs.writeFileSync(file, original.join('\n') + '\n');
    // The first run's answers wait until the second run is over.
    let secondDone = (): void => undefined;
    const gate = new Promise<void>((resolve) => (secondDone = resolve));
    await withFakeOpenAi(
      async (request) => {
        await gate;
        return labelReply(labelFor(request.text), 0.9);
      },
      async (server) => {
        const first = spawnLabel(file, server.baseUrl);
        await waitFor('the first request', () => server.chatRequests().length >= 1);
        const second = spawnLabel(file, server.baseUrl);
        // Without the lock the second run would wait on the gate too: let it through after a while, to fail, not hang.
        const secondCode = await Promise.race([second.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000))]);
        secondDone();
        await second.exited;
        assert.equal(secondCode, 1, second.output());
        assert.match(second.output(), new RegExp(`data\\.jsonl is being labelled by another run \\(process ${first.child.pid} on `));
        assert.match(second.output(), /Wait for it to finish, or, if no run is going, remove .*\.run\.lock/);
        assert.equal(await first.exited, 0, first.output());
        assert.equal(server.chatRequests().length, 20, 'each row paid once');
        assertOnlyTeacherFieldsAdded(fs.readFileSync(file, 'utf8'), original);
        const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
        const cacheFiles = fs.readdirSync(cacheDir);
        assert.equal(cacheFiles.length, 1, `the lock is gone: ${cacheFiles.join(', ')}`);
        assert.equal(fs.readFileSync(path.join(cacheDir, cacheFiles[0]), 'utf8').split('\n').filter(Boolean).length, 20);
      },
    );
  });

  it('the lock is the dataset\'s whatever --cache-dir says, and the --out copy\'s: a second run with another cache folder, or writing its copy over the file being labelled, is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-twice-cache-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'data.jsonl');
    const other = path.join(dir, 'other.jsonl');
    const original = datasetLines(6);
    fs.writeFileSync(file, original.join('\n') + '\n');
    fs.writeFileSync(other, original.join('\n') + '\n');
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await withFakeOpenAi(
      async (request) => {
        await gate;
        return labelReply(labelFor(request.text), 0.9);
      },
      async (server) => {
        const first = spawnLabel(file, server.baseUrl, ['--cache-dir', path.join(dir, 'cache-a')]);
        try {
          await waitFor('the first request', () => server.chatRequests().length >= 1);
          const asked = server.chatRequests().length;
          // Without a lock these would wait on the gate too: let them through after a while, to fail, not hang.
          const settle = (run: ReturnType<typeof spawnLabel>) =>
            Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000))]);
          const otherCache = spawnLabel(file, server.baseUrl, ['--cache-dir', path.join(dir, 'cache-b')]);
          assert.equal(await settle(otherCache), 1, otherCache.output());
          assert.match(otherCache.output(), new RegExp(`data\\.jsonl is being labelled by another run \\(process ${first.child.pid} on `));
          const copyOver = spawnLabel(other, server.baseUrl, ['--out', file, '--force', '--cache-dir', path.join(dir, 'cache-c')]);
          assert.equal(await settle(copyOver), 1, copyOver.output());
          assert.match(copyOver.output(), new RegExp(`data\\.jsonl is being labelled by another run \\(process ${first.child.pid} on `));
          assert.equal(server.chatRequests().length, asked, 'the refused runs asked nothing');
        } finally {
          release();
        }
        assert.equal(await first.exited, 0, first.output());
        assert.equal(server.chatRequests().length, 6, 'each row paid once');
        assertOnlyTeacherFieldsAdded(fs.readFileSync(file, 'utf8'), original);
        assert.deepEqual(fs.readdirSync(dir).sort(), ['cache-a', 'data.jsonl', 'other.jsonl'], 'the locks are gone with the folders they made');
      },
    );
  });

  it("the lock: taken over from a process that is gone, never from a live one or another machine's, and leaves no folders", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-lock-'));
    tempDirs.push(dir);
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(data, '{"text":"a"}\n');
    const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
    const lock = LabelRunLock.acquire(data);
    assert.throws(() => LabelRunLock.acquire(data), LabelRunBusyError, 'held by this process');
    const held = fs.readFileSync(lock.file, 'utf8');
    lock.release();
    assert.equal(fs.existsSync(path.join(dir, '.peerkd')), false, 'the folders it made are gone with it');

    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const write = (owner: Record<string, unknown>) => {
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.writeFileSync(lock.file, JSON.stringify({ ...JSON.parse(held), ...owner }));
    };
    write({ pid: gone });
    const takenOver = LabelRunLock.acquire(data);
    assert.match(fs.readFileSync(takenOver.file, 'utf8'), new RegExp(`"pid":${process.pid}`));
    takenOver.release();

    // Left by an earlier process with this process's id (a container's pid 1 after a restart): not this run's.
    write({ pid: process.pid });
    const samePid = LabelRunLock.acquire(data);
    samePid.release();

    write({ pid: gone, host: `not-${hostname()}` });
    assert.throws(() => LabelRunLock.acquire(data), /being labelled by another run \(process \d+ on not-/);
    write({ pid: process.ppid });
    assert.throws(() => LabelRunLock.acquire(data), LabelRunBusyError, 'a live process');
    fs.writeFileSync(lock.file, '{"pid":');
    assert.throws(() => LabelRunLock.acquire(data), /being labelled by another run;/, 'a lock being written is not stale');
    assert.ok(fs.existsSync(lock.file), "another run's lock is never removed by a refused one");
  });

  it('the lock: taken over from a dead run whose process id a later process has (a reboot, a restarted container)', { skip: process.platform !== 'linux' && 'process start times are read from /proc' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-lock-reused-'));
    tempDirs.push(dir);
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(data, '{"text":"a"}\n');
    const cacheDir = path.join(dir, '.peerkd', 'teacher-cache');
    const lock = LabelRunLock.acquire(data);
    const held = JSON.parse(fs.readFileSync(lock.file, 'utf8')) as Record<string, unknown>;
    lock.release();
    // A live process that is not the run (it started after the lock was written, as the id's next owner would).
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const write = (started: Date) => {
        fs.mkdirSync(cacheDir, { recursive: true });
        fs.writeFileSync(lock.file, JSON.stringify({ ...held, pid: other.pid, started: started.toISOString() }));
      };
      write(new Date(Date.now() - 3 * 3600_000));
      const takenOver = LabelRunLock.acquire(data);
      assert.match(fs.readFileSync(takenOver.file, 'utf8'), new RegExp(`"pid":${process.pid}`));
      takenOver.release();
      // Written after that process started: it may be the run itself, so the lock holds.
      write(new Date());
      assert.throws(() => LabelRunLock.acquire(data), new RegExp(`being labelled by another run \\(process ${other.pid} on `));
    } finally {
      other.kill('SIGKILL');
    }
  });
});

/** A folder no process can create, root included (sysfs refuses mkdir); undefined where there is none. */
function unwritableFolder(): string | undefined {
  const candidate = '/sys/peerkd-teacher-cache-test';
  try {
    fs.mkdirSync(candidate);
    fs.rmdirSync(candidate);
    return undefined;
  } catch (error) {
    return ['EPERM', 'EACCES', 'EROFS'].includes((error as NodeJS.ErrnoException).code ?? '') ? candidate : undefined;
  }
}


describe('peerkd label with a cache folder it cannot write', () => {
  const folder = unwritableFolder();
  it('labels anyway, saying that answers are not cached; the lock is still taken, beside the dataset', { skip: folder === undefined && 'no unwritable folder here' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-label-readonly-'));
    tempDirs.push(dir);
    const file = path.join(dir, 'data.jsonl');
    fs.writeFileSync(file, datasetLines(4).join('\n') + '\n');
    await withFakeOpenAi(
      (request) => labelReply(labelFor(request.text), 0.9),
      async (server) => {
        const io = { stdout: new Capture(), stderr: new Capture(), env: {} };
        const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'm', '--labels', LABELS.join(','), '--cache-dir', folder!], io);
        assert.equal(code, 0, io.stderr.text + io.stdout.text);
        assert.doesNotMatch(io.stderr.text, /no lock against a second run at once/);
        assert.match(io.stdout.text, /Failure: could not write the answer cache/);
        assert.equal(fs.readFileSync(file, 'utf8').split('\n').filter((line) => /"teacher_label"\s*:\s*"/.test(line)).length, 4);
      },
    );
  });
});
