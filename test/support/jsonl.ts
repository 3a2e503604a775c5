import { writeFile } from 'node:fs/promises';
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
