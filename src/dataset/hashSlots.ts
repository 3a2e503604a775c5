/**
 * What the open-addressing tables over typed arrays are built of: the dataset's id index (idIndex.ts) and the texts'
 * index (TextIndex, below: the run's repeated-text check in training/input.ts and the peers' folds in
 * training/splits.ts). Linear probing, entry number + 1 per slot (0 = empty), the slot table at most half full and
 * doubled when it would be more.
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

/**
 * Distinct texts by number (0, 1, … in the order first met), without keeping them: an open-addressing table over typed
 * arrays of each distinct text's length and two 32-bit hashes (64 bits). Two texts are taken for one when length and
 * both hashes agree: for a million distinct texts, a false match has a chance of about 1 in 10^7.
 */
export class TextIndex {
  /** Entry number + 1 per slot, 0 = empty; at most half full. */
  private slots = new Int32Array(1 << 10);
  private hashA = new Int32Array(1 << 9);
  private hashB = new Int32Array(1 << 9);
  private lengths = new Int32Array(1 << 9);
  private count = 0;

  /** How many distinct texts were met. */
  get size(): number {
    return this.count;
  }

  /** The number of `text`: the one it got when first met, else the next (`size` before the call). */
  numberOf(text: string): number {
    const length = text.length;
    // FNV-1a over the even and the odd characters, then mixed (MurmurHash3's finaliser) into two 32-bit hashes.
    let even = 0x811c9dc5;
    let odd = 0x050c5d1f;
    let i = 0;
    for (; i + 1 < length; i += 2) {
      even = Math.imul(even ^ text.charCodeAt(i), 0x01000193);
      odd = Math.imul(odd ^ text.charCodeAt(i + 1), 0x01000193);
    }
    if (i < length) even = Math.imul(even ^ text.charCodeAt(i), 0x01000193);
    const a = mixHash(even ^ Math.imul(odd, 0x9e3779b1));
    const b = mixHash(odd ^ Math.imul(a, 0x85ebca6b));
    const mask = this.slots.length - 1;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] - 1;
      if (entry < 0) return this.insert(slot, a, b, length);
      if (this.hashA[entry] === a && this.hashB[entry] === b && this.lengths[entry] === length) return entry;
    }
  }

  private insert(slot: number, a: number, b: number, length: number): number {
    const entry = this.count++;
    if (entry === this.hashA.length) {
      this.hashA = grownArray(this.hashA, this.hashA.length * 2);
      this.hashB = grownArray(this.hashB, this.hashB.length * 2);
      this.lengths = grownArray(this.lengths, this.lengths.length * 2);
    }
    this.hashA[entry] = a;
    this.hashB[entry] = b;
    this.lengths[entry] = length;
    this.slots[slot] = entry + 1;
    if (this.count * 2 > this.slots.length) this.slots = doubledSlots(this.slots, this.hashA, this.count);
    return entry;
  }
}
