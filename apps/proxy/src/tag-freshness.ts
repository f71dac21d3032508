// When each cached tag was last confirmed against its origin. Kept in memory only: after a
// restart every tag is revalidated once, which costs one HEAD per tag pulled, and keeping it in
// the registry would cost a write per pull. Bounded: the oldest entries are dropped first.
const MAX_ENTRIES = 50_000;

export class TagFreshness {
  private readonly validatedAt = new Map<string, number>();

  constructor(
    private readonly refreshIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  isFresh(key: string): boolean {
    const at = this.validatedAt.get(key);
    return at !== undefined && this.now() - at < this.refreshIntervalMs;
  }

  markValidated(key: string): void {
    this.set(key, this.now());
  }

  /** The origin could not answer: serve the cache, and ask again after retryMs, not on every pull. */
  retryLater(key: string, retryMs: number): void {
    this.set(key, this.now() - this.refreshIntervalMs + Math.min(retryMs, this.refreshIntervalMs));
  }

  private set(key: string, at: number): void {
    this.validatedAt.delete(key);
    this.validatedAt.set(key, at);
    if (this.validatedAt.size > MAX_ENTRIES) this.validatedAt.delete(this.validatedAt.keys().next().value!);
  }
}
