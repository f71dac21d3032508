// Keeps a set of objects in step with the API server: list, then watch from the list's
// resourceVersion, re-watching when the server ends the stream and re-listing when the version is
// too old (410). Failures back off (1 s doubling to 30 s); the loop ends only with its signal.
import type { Logger } from '@kuik/observability';
import { KubeApiError, type KubeApi, type ListOf } from './api.js';

export interface Named {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListWatchOptions<T extends Named> {
  api: KubeApi;
  /** Collection path, e.g. /api/v1/namespaces/ns/secrets. */
  path: string;
  /** e.g. { fieldSelector: 'metadata.name=x' }: only what we are allowed and want to see. */
  query?: Record<string, string>;
  /** The full current set, after every change. */
  onChange: (objects: ReadonlyMap<string, T>) => void;
  signal: AbortSignal;
  logger: Logger;
  /** Called after the first successful list. */
  onSynced?: () => void;
}

const WATCH_TIMEOUT_S = 300;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export async function listWatch<T extends Named>(o: ListWatchOptions<T>): Promise<void> {
  const objects = new Map<string, T>();
  let backoff = BACKOFF_MIN_MS;
  let synced = false;
  while (!o.signal.aborted) {
    try {
      const list = await o.api.get<ListOf<T>>(o.path, { ...o.query }, o.signal);
      objects.clear();
      for (const item of list.items) objects.set(item.metadata.name ?? '', item);
      o.onChange(objects);
      if (!synced) {
        synced = true;
        o.onSynced?.();
      }
      let version = list.metadata.resourceVersion;
      // Watch until the version is too old (410, thrown) or the signal ends it.
      while (!o.signal.aborted) {
        await o.api.watch<T>(
          o.path,
          { ...o.query, resourceVersion: version, timeoutSeconds: WATCH_TIMEOUT_S, allowWatchBookmarks: 'true' },
          (e) => {
            version = e.object.metadata.resourceVersion ?? version;
            if (e.type === 'BOOKMARK') return;
            const name = e.object.metadata.name ?? '';
            if (e.type === 'DELETED') objects.delete(name);
            else objects.set(name, e.object);
            o.onChange(objects);
          },
          o.signal,
        );
        backoff = BACKOFF_MIN_MS;
      }
    } catch (err) {
      if (o.signal.aborted) return;
      if (err instanceof KubeApiError && err.status === 410) continue; // list again at once
      o.logger.warn('kubernetes list/watch failed; retrying', { path: o.path, retryInMs: backoff, err });
      await sleep(backoff, o.signal);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
