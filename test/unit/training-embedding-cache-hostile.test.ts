/**
 * The embedding cache against a hostile or broken cache folder: a cache file that is a symbolic link to a file
 * elsewhere is never written through; a folder in place of the file, or a cache folder that cannot be created, turns the
 * cache off for the run, which goes on and says so. A cache only saves work: it never fails a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeTexts } from '../../src/training/encoder';
import { lengthEncoder, withTempFolder } from '../support/lengthEncoder';
import { EmbeddingCache } from '../../src/training/embeddingCache';

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
