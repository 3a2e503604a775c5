/**
 * The first line of every row identity seen so far, for the duplicate-id warning: an open-addressing hash table over
 * typed arrays, with the identities' characters copied into one growing buffer. A `Map<string, number>` of a
 * million identities costs about 70 MB and a third of the parse time of a file streamed past (its strings, one
 * object each, and its table); this holds the same in about 20 bytes plus 2 per character of each identity, and
 * compares identities exactly (a hash collision is never taken for a duplicate).
 */

import { doubledSlots, grownArray, mixHash } from './hashSlots';

const INITIAL_SLOTS = 1 << 10;

export class IdIndex {
  /** Open addressing, linear probing: entry number + 1 per slot, 0 = empty; at most half full. */
  private slots = new Int32Array(INITIAL_SLOTS);
  private hashes = new Int32Array(INITIAL_SLOTS / 2);
  private lines = new Int32Array(INITIAL_SLOTS / 2);
  /** Entry i's characters are chars[starts[i] .. starts[i + 1]). */
  private starts = new Int32Array(INITIAL_SLOTS / 2 + 1);
  private chars = new Uint16Array(1 << 12);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * The line `id` was first seen on; when it was not seen before, records it on `line` and returns undefined (as
   * `Map.get` then `Map.set` would).
   */
  firstLine(id: string, line: number): number | undefined {
    const length = id.length;
    let hash = 0x811c9dc5;
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
    hash = mixHash(hash);
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] - 1;
      if (entry < 0) {
        this.add(slot, id, hash, line);
        return undefined;
      }
      if (this.hashes[entry] === hash && this.same(entry, id)) return this.lines[entry];
    }
  }

  private same(entry: number, id: string): boolean {
    const start = this.starts[entry];
    if (this.starts[entry + 1] - start !== id.length) return false;
    const chars = this.chars;
    for (let i = 0; i < id.length; i++) if (chars[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  private add(slot: number, id: string, hash: number, line: number): void {
    const entry = this.count++;
    if (entry === this.hashes.length) {
      this.hashes = grownArray(this.hashes, entry * 2);
      this.lines = grownArray(this.lines, entry * 2);
      this.starts = grownArray(this.starts, entry * 2 + 1);
    }
    const start = this.starts[entry];
    const end = start + id.length;
    if (end > this.chars.length) this.chars = grownArray(this.chars, Math.max(end, this.chars.length * 2));
    for (let i = 0; i < id.length; i++) this.chars[start + i] = id.charCodeAt(i);
    this.starts[entry + 1] = end;
    this.hashes[entry] = hash;
    this.lines[entry] = line;
    this.slots[slot] = entry + 1;
    if (this.count * 2 > this.slots.length) this.slots = doubledSlots(this.slots, this.hashes, this.count);
  }
}
