// One run of an operation per key at a time: concurrent callers share the first caller's promise.
// 1,000 concurrent pulls of one cold tag cause one Notary fetch sequence.

export class SingleFlight<V> {
  private readonly inflight = new Map<string, Promise<V>>();
  /** Calls that joined a run already under way (exported as a metric). */
  joined = 0;

  run(key: string, fn: () => Promise<V>): Promise<V> {
    const running = this.inflight.get(key);
    if (running) {
      this.joined++;
      return running;
    }
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  get size(): number {
    return this.inflight.size;
  }
}
