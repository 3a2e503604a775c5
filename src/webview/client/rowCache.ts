/**
 * Per-row data fetched from the host on demand (the selected row's "why flagged"): asked for once per row, cached,
 * and a reply that arrives after `reset` (a new run or dataset was loaded) is stale and dropped. No DOM, so the unit
 * tests drive it.
 */
export class RowCache<T> {
  private readonly values = new Map<string, T>();
  private readonly asked = new Set<string>();
  /** Bumped by reset: a reply to a request of an older generation is dropped. */
  private generation = 0;

  /** @param fallback what a row gets when the request fails (so it is not asked again on every redraw). */
  constructor(private readonly fallback: T) {}

  get(key: string): T | undefined {
    return this.values.get(key);
  }

  /**
   * Asks for a row's value unless it is cached or already asked for. `fetch` resolves with the row the reply is
   * about; a reply about another row is dropped. `arrived` runs when a value is stored (to redraw if still selected).
   */
  need(key: string, fetch: () => Promise<{ key: string; value: T }>, arrived: (key: string) => void): void {
    if (this.asked.has(key) || this.values.has(key)) {
      return;
    }
    this.asked.add(key);
    const generation = this.generation;
    const store = (value: T) => {
      if (generation !== this.generation) {
        return;
      }
      this.asked.delete(key);
      this.values.set(key, value);
      arrived(key);
    };
    fetch().then(
      (reply) => {
        if (reply.key === key) {
          store(reply.value);
        } else if (generation === this.generation) {
          this.asked.delete(key);
        }
      },
      () => store(this.fallback),
    );
  }

  /** Forgets every value and drops the replies still to come (a new run or dataset). */
  reset(): void {
    this.generation += 1;
    this.values.clear();
    this.asked.clear();
  }
}
