// A keyed work queue with client-go's workqueue guarantees:
//   - a key waiting in the queue is there once, however often it is added (dedup);
//   - a key is reconciled by at most one worker at a time; added again while in flight, it is
//     queued again once that run finishes (nothing is lost, nothing runs twice concurrently);
//   - failures are retried with per-key exponential back-off (jittered, capped); a success
//     forgets the failures; a reconcile may ask to be run again after a delay.
// Reconcilers are level-based: they read the current state for their key, so merging several
// adds into one run is always correct.
import type { Logger } from '@kuik/observability';

export interface ReconcileResult {
  /** Run this key again after this many milliseconds (periodic re-checks, expiry times). */
  requeueAfterMs?: number;
}

export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  name: string;
  /** Keys reconciled at the same time. */
  concurrency: number;
  logger: Logger;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Observes each run: outcome and seconds. */
  onResult?: (outcome: 'success' | 'error' | 'requeue', seconds: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private wake?: () => void;
  private stopped = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  get name(): string {
    return this.opts.name;
  }

  /** Keys waiting (not counting those in flight or delayed). */
  get length(): number {
    return this.queue.length - this.head;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued when the current run finishes
    this.queue.push(key);
    this.wake?.();
  }

  /** Adds `key` after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Retries `key` after its back-off (5 ms·2^n style, here base·2^n, capped, ±20 %). */
  addRateLimited(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const base = this.opts.baseDelayMs ?? 500;
    const max = this.opts.maxDelayMs ?? 300_000;
    const ms = Math.min(max, base * 2 ** Math.min(n - 1, 30)) * (0.8 + Math.random() * 0.4);
    this.addAfter(key, ms);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Runs `concurrency` workers until `signal` aborts; resolves once in-flight runs have finished. */
  async run(reconcile: Reconciler, signal: AbortSignal): Promise<void> {
    const stop = () => {
      this.stopped = true;
      this.wake?.();
    };
    signal.addEventListener('abort', stop, { once: true });
    const workers = Array.from({ length: this.opts.concurrency }, () => this.worker(reconcile, signal));
    await Promise.all(workers);
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      if (this.head < this.queue.length) {
        const key = this.queue[this.head++] as string;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        return key;
      }
      await new Promise<void>((resolve) => {
        const prev = this.wake;
        this.wake = () => {
          this.wake = undefined;
          prev?.();
          resolve();
        };
      });
    }
    return undefined;
  }

  private async worker(reconcile: Reconciler, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.dirty.delete(key);
      this.processing.add(key);
      const started = performance.now();
      try {
        const result = await reconcile(key, signal);
        this.forget(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
        this.opts.onResult?.(result?.requeueAfterMs !== undefined ? 'requeue' : 'success', (performance.now() - started) / 1000);
      } catch (err) {
        this.opts.onResult?.('error', (performance.now() - started) / 1000);
        if (!signal.aborted) {
          this.opts.logger.warn('reconcile failed, will retry', { queue: this.name, key, err, failures: (this.failures.get(key) ?? 0) + 1 });
          this.addRateLimited(key);
        }
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.stopped) {
          this.queue.push(key);
          this.wake?.();
        }
      }
    }
  }
}
