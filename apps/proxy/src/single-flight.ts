// Concurrent calls for the same key share one execution: the first caller runs it, the others
// wait for its result. The key is forgotten when the call settles, so failures are retried by
// the next caller rather than remembered.
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  /** Runs fn for key, or joins the run in progress; `joined` says which. */
  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.inflight.get(key);
    if (existing) return { promise: existing, joined: true };
    const promise = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return { promise, joined: false };
  }

  get size(): number {
    return this.inflight.size;
  }
}
