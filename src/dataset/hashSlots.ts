/**
 * What the open-addressing tables over typed arrays are built of: the dataset's id index (idIndex.ts) and the run's
 * repeated-text check (training/input.ts SameTextIndex). Linear probing, entry number + 1 per slot (0 = empty), the
 * slot table at most half full and doubled when it would be more.
 */

/** MurmurHash3's finaliser: every bit of `hash` reaches the low bits a table uses. */
export function mixHash(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** A slot table twice as large as `slots`, holding entries 0 to `count` - 1 again, each placed by its hash. */
export function doubledSlots(slots: Int32Array, hashes: Int32Array, count: number): Int32Array<ArrayBuffer> {
  const doubled = new Int32Array(slots.length * 2);
  const mask = doubled.length - 1;
  for (let entry = 0; entry < count; entry++) {
    let slot = hashes[entry] & mask;
    while (doubled[slot] !== 0) slot = (slot + 1) & mask;
    doubled[slot] = entry + 1;
  }
  return doubled;
}

/** `array` copied into a new one of `length` (its values first, zeros after). */
export function grownArray<T extends Int32Array | Uint16Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}
