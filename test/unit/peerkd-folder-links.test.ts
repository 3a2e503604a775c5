/**
 * A cloned repository can ship `.peerkd` (or a folder inside it) as a symbolic link to anywhere. PeerKD never creates
 * or appends files through such a link: the teacher cache and a run refuse with an error naming the link, the
 * embedding cache is off for the run (a cache only saves work), and the folder the link points at stays untouched.
 * A folder the user names (here a cache folder outside any `.peerkd`) may be a link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { CACHE_DIR_NAME, TeacherCache } from '../../src/teacher/cache';
import { EMBEDDING_CACHE_DIR_NAME, EmbeddingCache } from '../../src/training/embeddingCache';
import { encodeTexts } from '../../src/training/encoder';
import { lengthEncoder, withTempFolder } from '../support/lengthEncoder';
import { DEFAULT_RUNS_DIR, RunWriter } from '../../src/training/artifacts';

const PROMPT = { labels: ['a', 'b'], template: 'Label: {text}', fewShot: [] };
const encoder = lengthEncoder;

const withFolder = (run: (root: string) => Promise<void>) => withTempFolder('peerkd-links-', run);

for (const linked of ['.peerkd', 'the folder inside .peerkd'] as const) {
  test(`${linked} as a symbolic link: teacher cache and run refuse naming the link, the embedding cache is off, nothing lands outside`, () =>
    withFolder(async (root) => {
      const data = path.join(root, 'repo');
      const outside = path.join(root, 'home');
      mkdirSync(data, { recursive: true });
      mkdirSync(outside);
      const at = (sub: string) => {
        // Links .peerkd itself, or .peerkd/<sub's last folder>, to the outside folder.
        if (linked === '.peerkd') return path.join(data, '.peerkd');
        mkdirSync(path.join(data, '.peerkd'), { recursive: true });
        return path.join(data, sub);
      };
      for (const sub of [CACHE_DIR_NAME, EMBEDDING_CACHE_DIR_NAME, DEFAULT_RUNS_DIR]) {
        const link = at(sub);
        rmSync(link, { force: true, recursive: false });
        symlinkSync(outside, link);
        const expected = new RegExp(`^Error: ${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is a symbolic link: PeerKD does not write`);
        if (sub === CACHE_DIR_NAME) {
          assert.throws(() => TeacherCache.open(path.join(data, sub), 'http://127.0.0.1:9', 'm', PROMPT), expected);
        } else if (sub === DEFAULT_RUNS_DIR) {
          await assert.rejects(RunWriter.create(path.join(data, sub), 'run-1'), expected);
        } else {
          const cache = EmbeddingCache.open(path.join(data, sub), encoder);
          assert.deepEqual(Array.from((await encodeTexts(encoder, ['abc'], cache)).values), [3, 1]);
          assert.match(cache.describeProblems().join('\n'), /is a symbolic link: PeerKD does not write .*the embedding cache is off for this run/);
        }
        assert.deepEqual(readdirSync(outside), [], `nothing written through ${link}`);
        rmSync(link);
      }
    }));
}

test('a cache folder the user names may be a link (it is not inside .peerkd)', () =>
  withFolder(async (root) => {
    const real = path.join(root, 'real-cache');
    mkdirSync(real);
    const named = path.join(root, 'my-cache');
    symlinkSync(real, named);
    const cache = TeacherCache.open(named, 'http://127.0.0.1:9', 'm', PROMPT);
    cache.put('hello', { kind: 'label', label: 'a', confidence: null });
    assert.equal(readdirSync(real).length, 1);
  }));
