/**
 * Seeded pseudo-random numbers. Every random choice in the engine (fold assignment, initial weights, example order)
 * goes through here so that a run is reproducible from its seed; Math.random is never used.
 */

/** mulberry32: a small 32-bit generator, good enough for shuffling and weight initialisation. */
export class SeededRandom {
  private state: number;
  private readonly seed: number;

  constructor(seed: number) {
    this.seed = Math.trunc(seed) >>> 0;
    // Mix the seed so that nearby seeds (0, 1, 2) give unrelated streams.
    this.state = hash32(this.seed ^ 0x9e3779b9);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller, one uniform pair per value). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(Math.max(this.next(), 1e-300))) * Math.cos(2 * Math.PI * this.next());
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { [index: number]: unknown; length: number }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = items[i];
      items[i] = items[j];
      items[j] = swap;
    }
    return items;
  }

  /** A derived generator for a named sub-task, independent of how many numbers this one has drawn. */
  derive(salt: number): SeededRandom {
    return new SeededRandom(hash32((this.seed ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0));
  }
}

/** Integer finaliser of MurmurHash3: spreads the bits of a 32-bit value. */
export function hash32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
