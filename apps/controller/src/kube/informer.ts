// List-then-watch cache of one resource, as client-go's reflector + informer:
//   - list in pages, then watch from the list's resourceVersion with bookmarks;
//   - a watch that ends is resumed from the last resourceVersion seen (event or bookmark);
//   - 410 Gone (the resourceVersion was compacted) triggers a fresh list, whose differences
//     with the cache are delivered as add/update/delete events, so no deletion is missed;
//   - other errors back off exponentially (0.5 s .. 30 s, jittered) and resume.
// Objects are stored in a compact form chosen by `transform`: the controller keeps only the
// fields it reads (a pod's images, not its whole spec), which bounds memory on big clusters.
import type { Logger } from '@kuik/observability';
import { isGone, KubeApiError, type KubeClient, type WatchEvent } from './client.js';
import type { ObjectMeta } from './types.js';

export interface RawObject {
  metadata?: ObjectMeta;
  [k: string]: unknown;
}

export interface InformerHandlers<T> {
  onAdd?(key: string, obj: T): void;
  onUpdate?(key: string, old: T, cur: T): void;
  onDelete?(key: string, old: T): void;
}

export interface InformerOptions<T> {
  name: string;
  client: KubeClient;
  /** Collection path, e.g. /api/v1/pods or /apis/kuik.enix.io/v1alpha1/cachedimages. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Compact form to keep; undefined means "not interesting" (treated as absent). */
  transform: (obj: RawObject) => T | undefined;
  logger: Logger;
  pageSize?: number;
  /** Server-side watch timeout; default 240–360 s (randomized so informers do not re-watch in step). */
  watchTimeoutSeconds?: number;
}

export const objectKey = (meta: ObjectMeta | undefined): string =>
  meta?.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta?.name ?? '');

export class Informer<T> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private synced = false;
  private syncedWaiters: (() => void)[] = [];
  private resourceVersion = '';

  constructor(private readonly opts: InformerOptions<T>) {}

  get name(): string {
    return this.opts.name;
  }

  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    // Late subscribers see the current content, as with client-go's AddEventHandler.
    if (h.onAdd) for (const [k, v] of this.store) h.onAdd(k, v);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  values(): IterableIterator<T> {
    return this.store.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.store.entries();
  }

  get size(): number {
    return this.store.size;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been delivered (or at once if it has). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncedWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  /** Keeps the cache in step with the API server until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.opts.logger.info('informer: resourceVersion expired, listing again', { informer: this.name });
          needList = true;
          continue;
        }
        failures++;
        const backoff = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6)) * (0.8 + Math.random() * 0.4);
        this.opts.logger.warn('informer: list/watch failed, retrying', { informer: this.name, err, retryInMs: Math.round(backoff) });
        // After repeated failures, list again: the watch position may be unusable.
        if (failures >= 3) needList = true;
        await sleep(backoff, signal);
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.opts.client.get<{ metadata?: { resourceVersion?: string; continue?: string }; items?: RawObject[] }>(this.opts.path, {
        query: {
          limit: this.opts.pageSize ?? 500,
          continue: cont,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        signal,
        timeoutMs: 60_000,
      });
      for (const item of page.items ?? []) {
        const v = this.opts.transform(item);
        if (v !== undefined) seen.set(objectKey(item.metadata), v);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);

    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', key, old);
      }
    }
    for (const [key, cur] of seen) this.apply(key, cur);
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncedWaiters.splice(0)) w();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    // The server ends the watch after timeoutSeconds; a connection silent for longer than that
    // (plus slack) is dead and is abandoned.
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 120);
    const local = new AbortController();
    const abortLocal = () => local.abort();
    signal.addEventListener('abort', abortLocal, { once: true });
    let idle = setTimeout(abortLocal, (timeoutSeconds + 30) * 1000);
    let gone: unknown;
    let failed: { message?: string } | undefined;
    try {
      await this.opts.client.watch<RawObject>(
        this.opts.path,
        {
          resourceVersion: this.watchFrom(this.resourceVersion),
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        (event: WatchEvent<RawObject>) => {
          clearTimeout(idle);
          idle = setTimeout(abortLocal, (timeoutSeconds + 30) * 1000);
          if (event.type === 'ERROR') {
            const status = event.object as { code?: number; message?: string };
            if (status.code === 410) gone = status;
            else failed = status;
            local.abort();
            return;
          }
          const rv = event.object.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (event.type === 'BOOKMARK') return;
          const key = objectKey(event.object.metadata);
          if (event.type === 'DELETED') {
            const old = this.store.get(key);
            if (old !== undefined) {
              this.store.delete(key);
              this.emit('delete', key, old);
            }
            return;
          }
          const cur = this.opts.transform(event.object);
          if (cur === undefined) {
            const old = this.store.get(key);
            if (old !== undefined) {
              this.store.delete(key);
              this.emit('delete', key, old);
            }
          } else this.apply(key, cur);
        },
        local.signal,
      );
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', abortLocal);
    }
    if (gone) throw new KubeApiError(410, gone, `watch ${this.opts.path}`);
    if (failed) throw new Error(`watch ${this.opts.path} failed: ${failed.message ?? 'error event'}`);
  }

  /** Where the next watch starts; a hook for tests that need an expired resourceVersion. */
  protected watchFrom(resourceVersion: string): string {
    return resourceVersion;
  }

  private apply(key: string, cur: T): void {
    const old = this.store.get(key);
    this.store.set(key, cur);
    if (old === undefined) this.emit('add', key, cur);
    else this.emit('update', key, cur, old);
  }

  private emit(kind: 'add' | 'update' | 'delete', key: string, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.onAdd?.(key, obj);
        else if (kind === 'update') h.onUpdate?.(key, old as T, obj);
        else h.onDelete?.(key, obj);
      } catch (err) {
        this.opts.logger.error('informer: event handler failed', { informer: this.name, err });
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
