import { createHash } from 'node:crypto';
import type { DatasetRow } from './types';

/**
 * A digest of a dataset's rows as a run reads them — each row's identity (DatasetRow.id) and text, in file order — and
 * of nothing else: the labels a review writes into the file, its line ends and white space between fields leave it as
 * it was; an edited, added, removed or moved text changes it. A run records it (settings.json `rowTextsSha256`), and
 * `peerkd export` compares it with the file it copies to tell whether a row's text changed since the run, the one
 * change its matching by id cannot see (a changed teacher label it sees itself).
 */
export class RowTextsDigest {
  private readonly hash = createHash('sha256');

  /** A parsed row; one without text (which no run trains on or scores) is left out. */
  add(row: Pick<DatasetRow, 'id' | 'text'>): void {
    if (row.text === null) return;
    // Lengths first, so that no two different rows (or splits of one) write the same bytes.
    this.hash.update(`${row.id.length}:${row.id}${row.text.length}:${row.text}\n`);
  }

  /** The hex digest; the digest is spent after it. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** RowTextsDigest of a list of parsed rows. */
export function rowTextsSha256(rows: Iterable<Pick<DatasetRow, 'id' | 'text'>>): string {
  const digest = new RowTextsDigest();
  for (const row of rows) digest.add(row);
  return digest.digest();
}

/** How many hex digits of sha256 a row's own text digest keeps (rowTextDigest): 64 bits, bookkeeping, not security. */
export const ROW_TEXT_DIGEST_HEX = 16;

/**
 * One row's text digest (the first ROW_TEXT_DIGEST_HEX hex digits of sha256 of its UTF-8 text, as the engine read it
 * after field mapping): each predictions.jsonl line records it (`text_digest`), so that a review or an export can tell
 * that this one row's text changed since the run and that the run's advice is about its old text.
 */
export function rowTextDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, ROW_TEXT_DIGEST_HEX);
}
