/**
 * Scrubbing an API key that an older version wrote into the teacher cache: the key's bytes are overwritten in place by a
 * mark of the same length, so a line another run appends meanwhile is never lost, a failure or a crash mid-way leaves
 * every line readable (the next open finishes), and nothing is left behind or written elsewhere.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { MAX_CACHE_LINE_BYTES, TeacherCache } from '../../src/teacher/cache';
import type { TeacherPrompt } from '../../src/teacher/client';

const SECRET = 'sk-test-0123456789abcdefSECRET';
const PROMPT: TeacherPrompt = { template: 'Label: {{text}} {{labels}}', labels: ['World', 'Sports'], fewShot: [] };
const URL = 'http://127.0.0.1:9/v1';
// The same module object cache.ts calls through (CommonJS require of node:fs), so a write can be made to fail.
const nodeFs = createRequire(__filename)('node:fs') as typeof fs;

function oldCache(withKey = true): { dir: string; file: string; text: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-scrub-'));
  const first = TeacherCache.open(dir, URL, 'm', PROMPT);
  first.put('old', { kind: 'abstain', reason: 'refusal', detail: `echoed Bearer ${withKey ? SECRET : 'nothing'}` });
  first.put('other', { kind: 'label', label: 'World', confidence: 0.5 });
  return { dir, file: first.file, text: fs.readFileSync(first.file, 'utf8') };
}

test('a line another run appends while the key is being scrubbed is kept', () => {
  const { dir, file } = oldCache();
  // The moment the scrub flushes its work (for the former rewrite: the temporary file complete, not yet renamed over the
  // cache), a second `peerkd label` process on the same cache appends its answer.
  const child = `
    const { TeacherCache } = require(${JSON.stringify(path.resolve(__dirname, '../../src/teacher/cache.ts'))});
    TeacherCache.open(${JSON.stringify(dir)}, ${JSON.stringify(URL)}, 'm', ${JSON.stringify(PROMPT)}).put('appended', { kind: 'label', label: 'Sports', confidence: 0.9 });
  `;
  const fsyncSync = nodeFs.fsyncSync;
  let appended = false;
  nodeFs.fsyncSync = ((fd: number) => {
    if (!appended) {
      appended = true;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', child], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(run.status, 0, run.stderr);
    }
    fsyncSync(fd);
  }) as typeof fs.fsyncSync;
  try {
    TeacherCache.open(dir, URL, 'm', PROMPT, { secret: SECRET });
  } finally {
    nodeFs.fsyncSync = fsyncSync;
  }
  assert.ok(appended, 'the other run appended during the scrub');
  assert.ok(!fs.readFileSync(file, 'utf8').includes(SECRET));
  const reopened = TeacherCache.open(dir, URL, 'm', PROMPT, { secret: SECRET });
  assert.deepEqual(reopened.get('appended'), { kind: 'label', label: 'Sports', confidence: 0.9 }, 'the appended line is in the cache');
  assert.equal(reopened.size, 3);
  assert.deepEqual(reopened.problems, []);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), [path.basename(file)]);
});

test('a scrub that fails mid-way leaves every line readable, nothing beside the cache, and the next open finishes it', () => {
  const { file } = oldCache();
  fs.appendFileSync(file, fs.readFileSync(file, 'utf8').split('\n')[0].replace('"k":"', '"k":"2') + '\n'); // a second line with the key
  const before = fs.readFileSync(file, 'utf8');
  const writeSync = nodeFs.writeSync;
  let calls = 0;
  nodeFs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    calls += 1;
    if (calls === 2) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    return (writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.writeSync;
  try {
    assert.throws(() => TeacherCache.open(path.dirname(file), URL, 'm', PROMPT, { secret: SECRET }), /EIO/);
  } finally {
    nodeFs.writeSync = writeSync;
  }
  assert.equal(calls, 2, 'the scrub wrote through fs.writeSync');
  const after = fs.readFileSync(file, 'utf8');
  assert.equal(after.length, before.length, 'nothing moved');
  assert.equal(after.split(SECRET).length, 2, 'one key masked, one left');
  assert.equal(TeacherCache.open(path.dirname(file), URL, 'm', PROMPT).problems.length, 0, 'every line still reads');
  assert.deepEqual(fs.readdirSync(path.dirname(file)), [path.basename(file)], 'nothing is left beside the cache');
  const reopened = TeacherCache.open(path.dirname(file), URL, 'm', PROMPT, { secret: SECRET });
  assert.equal(reopened.size, 3);
  assert.ok(!fs.readFileSync(file, 'utf8').includes(SECRET));
  assert.match(fs.readFileSync(file, 'utf8'), /echoed Bearer \[redacted\]\*{20}"/, 'the key is masked by a mark of its length');
});

test('a scrub never writes through a symbolic link in place of the cache file, and says so', { skip: process.platform === 'win32' }, () => {
  const { dir, file, text } = oldCache();
  const outside = path.join(dir, 'outside.jsonl');
  fs.renameSync(file, outside);
  fs.symlinkSync(outside, file);
  assert.throws(() => TeacherCache.open(dir, URL, 'm', PROMPT, { secret: SECRET }), (error: Error) => error.message.startsWith(`${file}: a symbolic link`));
  assert.equal(fs.readFileSync(outside, 'utf8'), text, 'the file the link points at is untouched');
});

test('a link planted where an older version wrote its temporary file is never written through', () => {
  const { dir, file } = oldCache();
  const outside = path.join(dir, 'outside.txt');
  fs.writeFileSync(outside, 'keep me');
  fs.symlinkSync(outside, `${file}.${process.pid}.tmp`);
  TeacherCache.open(path.dirname(file), URL, 'm', PROMPT, { secret: SECRET });
  assert.equal(fs.readFileSync(outside, 'utf8'), 'keep me');
  assert.ok(!fs.readFileSync(file, 'utf8').includes(SECRET));
  assert.ok(fs.lstatSync(file).isFile());
});

test("the rewritten cache keeps the file's permissions (a user who made it private keeps it private)", { skip: process.platform === 'win32' }, () => {
  const { file } = oldCache();
  fs.chmodSync(file, 0o600);
  TeacherCache.open(path.dirname(file), URL, 'm', PROMPT, { secret: SECRET });
  assert.ok(!fs.readFileSync(file, 'utf8').includes(SECRET));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('the key is scrubbed from a line too long to be read as an entry too', () => {
  const { file } = oldCache(false);
  const long = `{"k": "${'x'.repeat(MAX_CACHE_LINE_BYTES)}", "detail": "Bearer ${SECRET}"}\n`;
  fs.appendFileSync(file, long);
  const reopened = TeacherCache.open(path.dirname(file), URL, 'm', PROMPT, { secret: SECRET });
  assert.equal(reopened.size, 2);
  assert.match(reopened.describeProblems().join('\n'), /:3: longer than/);
  assert.ok(!fs.readFileSync(file).includes(SECRET), 'no byte of the file holds the key');
});

test('a cache without the key is not rewritten', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-scrub-'));
  const first = TeacherCache.open(dir, URL, 'm', PROMPT, { secret: SECRET });
  first.put('clean', { kind: 'label', label: 'World', confidence: 0.5 });
  const inode = fs.statSync(first.file).ino;
  TeacherCache.open(dir, URL, 'm', PROMPT, { secret: SECRET });
  assert.equal(fs.statSync(first.file).ino, inode);
});

test('a FIFO in place of a cache file (a cloned repository can ship one) is refused naming it, never waited on', { skip: process.platform === 'win32' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-fifo-'));
  const file = TeacherCache.open(dir, URL, 'm', PROMPT).file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
  // In a child process: opening a FIFO for reading blocks until a writer comes, which no timer in this process ends.
  const script = `
    const { TeacherCache } = require(${JSON.stringify(path.resolve(__dirname, '../../src/teacher/cache.ts'))});
    try { TeacherCache.open(${JSON.stringify(dir)}, ${JSON.stringify(URL)}, 'm', ${JSON.stringify(PROMPT)}); console.log('opened'); }
    catch (error) { console.log('refused: ' + error.message); }
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(child.signal, null, `the open hung on the FIFO (killed after 10 s): ${child.stderr}`);
  assert.match(child.stdout, /^refused: .*\.jsonl: .*not a regular file/m, child.stdout + child.stderr);
  assert.ok(child.stdout.includes(file), child.stdout);
});
