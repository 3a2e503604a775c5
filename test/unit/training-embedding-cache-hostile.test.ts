/**
 * The embedding cache against a hostile or broken cache folder: a cache file that is a symbolic link to a file
 * elsewhere is never written through; a folder in place of the file, or a cache folder that cannot be created, turns the
 * cache off for the run, which goes on and says so. A cache only saves work: it never fails a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:buffer';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { encodeTexts, type TextEncoder } from '../../src/training/encoder';
import { lengthEncoder, withTempFolder } from '../support/lengthEncoder';
import { EMBEDDING_WRITER_TEXTS, writerEncoder } from '../support/embeddingCacheWriter';
import { EmbeddingCache } from '../../src/training/embeddingCache';
import { TeacherCache } from '../../src/teacher/cache';
import { redactionOfLength } from '../../src/teacher/redact';
import { DEFAULT_PROMPT_TEMPLATE } from '../../src/teacher/prompt';
import type { TeacherPrompt } from '../../src/teacher/client';

const encoder = lengthEncoder;

const withFolder = (run: (root: string) => Promise<void>) => withTempFolder('peerkd-cache-hostile-', run);

test('embedding cache: a cache file that is a symbolic link to a file outside is not written through; the run goes on, saying the cache is off', () =>
  withFolder(async (root) => {
    const cacheDir = path.join(root, 'data', '.peerkd', 'embedding-cache');
    mkdirSync(cacheDir, { recursive: true });
    const outside = path.join(root, 'outside-passwd');
    writeFileSync(outside, 'root:x:0:0:root:/root:/bin/bash\n');
    const file = EmbeddingCache.open(cacheDir, encoder).file;
    symlinkSync(outside, file);
    const cache = EmbeddingCache.open(cacheDir, encoder);
    const { values } = await encodeTexts(encoder, ['abc', 'de'], cache);
    assert.deepEqual(Array.from(values), [3, 1, 2, 1]);
    assert.equal(readFileSync(outside, 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n', 'the file the link points at is unchanged');
    assert.ok(
      cache.describeProblems().some((line) => line.startsWith(`${file}: cannot be written (ELOOP); the embedding cache is off for this run`)),
      cache.describeProblems().join('\n'),
    );
  }));

test('embedding cache: a folder in place of the cache file, or a cache folder that cannot be made, turns the cache off; the vectors still come', () =>
  withFolder(async (root) => {
    const cacheDir = path.join(root, 'cache');
    const file = EmbeddingCache.open(cacheDir, encoder).file;
    mkdirSync(file, { recursive: true });
    const folderInPlace = EmbeddingCache.open(cacheDir, encoder);
    assert.deepEqual(Array.from((await encodeTexts(encoder, ['abc'], folderInPlace)).values), [3, 1]);
    assert.match(folderInPlace.describeProblems().join('\n'), /: cannot be read \(EISDIR\); the embedding cache is off for this run/);

    // The cache folder's parent is a file (as a read-only folder refuses the write for a user who is not root).
    writeFileSync(path.join(root, 'blocker'), '');
    const unwritable = EmbeddingCache.open(path.join(root, 'blocker', 'embedding-cache'), encoder);
    assert.deepEqual(Array.from((await encodeTexts(encoder, ['abc', 'de', 'abc'], unwritable)).values), [3, 1, 2, 1, 3, 1]);
    assert.match(unwritable.describeProblems().join('\n'), /: cannot be read \(ENOTDIR\); the embedding cache is off for this run/);
  }));

test('embedding cache: a file over 512 MB (65,000 texts of 1,536-d vectors) is read, not turned off (which re-sent and re-billed every text)', () =>
  withFolder(async (root) => {
    const dims = 1536;
    const wide: TextEncoder = { name: 'endpoint', version: 'test 1536d', dims, cacheable: true, encode: async (texts) => new Float32Array(texts.length * dims).map((_, i) => texts[Math.floor(i / dims)].length + (i % dims) / 1000) };
    const cacheDir = path.join(root, 'cache');
    // One real line for the filler text, then the same line again and again past V8's longest string (2^29 - 24).
    const seed = EmbeddingCache.open(cacheDir, wide);
    await encodeTexts(wide, ['filler'], seed);
    const line = readFileSync(seed.file);
    const copies = Math.ceil((constants.MAX_STRING_LENGTH + 1024 * 1024) / line.length);
    const block = Buffer.concat(Array.from({ length: 1024 }, () => line));
    const fd = openSync(seed.file, 'a');
    for (let written = 1; written < copies; written += 1024) writeSync(fd, block);
    closeSync(fd);
    const after = EmbeddingCache.open(cacheDir, wide);
    await encodeTexts(wide, ['first text', 'second'], after);
    assert.ok(statSync(seed.file).size > constants.MAX_STRING_LENGTH);

    const cache = EmbeddingCache.open(cacheDir, wide);
    assert.deepEqual(cache.describeProblems(), []);
    assert.equal(cache.size, 3);
    let asked = 0;
    const counting: TextEncoder = { ...wide, encode: (texts) => ((asked += texts.length), wide.encode(texts)) };
    const { values, cached } = await encodeTexts(counting, ['second', 'filler', 'first text'], cache);
    assert.equal(cached, 3);
    assert.equal(asked, 0, 'nothing computed again');
    assert.deepEqual(values, await wide.encode(['second', 'filler', 'first text']));
    void after;
  }));

test('embedding cache: a line of 100 MB of garbage is reported with its line number and skipped; the lines around it are read', () =>
  withFolder(async (root) => {
    const cacheDir = path.join(root, 'cache');
    const first = EmbeddingCache.open(cacheDir, encoder);
    await encodeTexts(encoder, ['abc'], first);
    const fd = openSync(first.file, 'a');
    const garbage = Buffer.alloc(16 * 1024 * 1024, 'x');
    for (let i = 0; i < 7; i++) writeSync(fd, garbage);
    writeSync(fd, '\n');
    closeSync(fd);
    await encodeTexts(encoder, ['de'], EmbeddingCache.open(cacheDir, encoder));
    const cache = EmbeddingCache.open(cacheDir, encoder);
    assert.equal(cache.size, 2);
    assert.deepEqual(cache.describeProblems(), [`${first.file}:2: longer than 67,108,864 bytes, not a cache line; entry ignored`]);
  }));

test('teacher cache read in chunks: a key written by an older version is scrubbed where it straddles two chunks, and every other byte (invalid UTF-8 too) stays as it was', () =>
  withFolder(async (root) => {
    const secret = 'sk-straddling-secret-0123456789';
    const prompt: TeacherPrompt = { labels: ['A', 'B'], template: DEFAULT_PROMPT_TEMPLATE, fewShot: [] };
    const first = TeacherCache.open(root, 'http://127.0.0.1:9/v1', 'm', prompt);
    first.put('old', { kind: 'abstain', reason: 'refusal', detail: `echoed ${secret}` });
    const line = readFileSync(first.file);
    // Padding lines that are not JSON (one holds bytes that are not UTF-8), so that the key's line crosses 8 MiB.
    const junk = Buffer.concat([Buffer.from([0xff, 0xfe, 0x80]), Buffer.alloc(1000, 'j'), Buffer.from('\n')]);
    const keyAt = line.indexOf(secret);
    const padding = 8 * 1024 * 1024 - keyAt - 5;
    const filler = Buffer.concat([junk, Buffer.alloc(padding - junk.length - 1, 'p'), Buffer.from('\n')]);
    writeFileSync(first.file, Buffer.concat([filler, line]));
    const reopened = TeacherCache.open(root, 'http://127.0.0.1:9/v1', 'm', prompt, { secret });
    const after = readFileSync(first.file);
    assert.ok(!after.includes(secret));
    // Masked in place by a mark of the key's length: not one other byte moves.
    assert.deepEqual(after, Buffer.concat([filler, Buffer.from(line.toString('utf8').replace(secret, redactionOfLength(secret.length)))]));
    assert.deepEqual(reopened.get('old'), { kind: 'abstain', reason: 'refusal', detail: 'echoed [redacted]' });
    assert.deepEqual(reopened.problems.map((problem) => problem.line), [1, 2]);
  }));

test('embedding cache: two runs appending to one cache at once (real processes) interleave whole lines only; every vector read back is its text\'s', () =>
  withFolder(async (root) => {
    const writer = path.join(__dirname, '..', 'support', 'embeddingCacheWriter.ts');
    const run = (order: string) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', writer, root, order], { stdio: 'inherit' });
        child.on('error', reject);
        child.on('close', resolve);
      });
    assert.deepEqual(await Promise.all([run('forward'), run('reverse')]), [0, 0]);
    const cache = EmbeddingCache.open(root, writerEncoder);
    assert.deepEqual(cache.describeProblems(), []);
    assert.equal(cache.size, EMBEDDING_WRITER_TEXTS.length);
    assert.equal(readFileSync(cache.file, 'utf8').split('\n').length - 1, 2 * EMBEDDING_WRITER_TEXTS.length, 'both runs read the empty cache first and wrote every line');
    const expected = await writerEncoder.encode(EMBEDDING_WRITER_TEXTS);
    const { values, cached } = await encodeTexts(writerEncoder, EMBEDDING_WRITER_TEXTS, cache);
    assert.equal(cached, EMBEDDING_WRITER_TEXTS.length);
    assert.deepEqual(values, expected);
  }));
