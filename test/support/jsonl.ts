import { mkdtempSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Rows as JSONL text: one JSON object per line, a final newline. */
export function jsonlText(rows: readonly Record<string, unknown>[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

/** Writes rows as a JSONL dataset `name` in `folder`; returns its path. */
export async function writeJsonl(folder: string, name: string, rows: readonly Record<string, unknown>[]): Promise<string> {
  const file = join(folder, name);
  await writeFile(file, jsonlText(rows));
  return file;
}

/**
 * A new temporary folder `prefix…` (pushed on `tempDirs`, which the test file removes) holding data.jsonl: `rows` rows
 * `{"id":"rN","text":"row N"}` with no label, for `peerkd label` to label. `original` is the file's text.
 */
export function unlabelledDataset(rows: number, prefix: string, tempDirs: string[]): { dir: string; file: string; original: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  const file = join(dir, 'data.jsonl');
  const original = Array.from({ length: rows }, (_, index) => `{"id":"r${index}","text":"row ${index}"}\n`).join('');
  writeFileSync(file, original);
  return { dir, file, original };
}
