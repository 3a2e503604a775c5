/**
 * A cacheable 2-d test encoder whose vector of a text is [its length, 1], and a temp folder removed after use: for
 * the embedding-cache tests that attack the cache folder (a link, a folder in place of a file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TextEncoder } from '../../src/training/encoder';

export const lengthEncoder: TextEncoder = {
  name: 'endpoint',
  version: 'test 2d',
  dims: 2,
  cacheable: true,
  async encode(texts) {
    return Float32Array.from(texts.flatMap((text) => [text.length, 1]));
  },
};

export function withTempFolder(prefix: string, run: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  return run(root).finally(() => rmSync(root, { recursive: true, force: true }));
}
