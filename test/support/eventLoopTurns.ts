/**
 * Counts the turns of the event loop while code under test runs: a callback queued with setImmediate that queues
 * itself again on each turn, from start() until stop(). Code that gives the event loop back between chunks of work
 * lets it run many times; code that holds the loop until the end lets it run about once.
 */
export class EventLoopTurns {
  count = 0;
  private running = false;

  start(): this {
    this.running = true;
    const turn = (): void => {
      if (!this.running) return;
      this.count++;
      setImmediate(turn);
    };
    setImmediate(turn);
    return this;
  }

  /** Stops counting; the turns counted so far. */
  stop(): number {
    this.running = false;
    return this.count;
  }
}
