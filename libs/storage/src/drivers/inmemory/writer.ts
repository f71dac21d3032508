// An in-memory appending writer. Reopening claims the closed session (so two writers never append
// to one session), and an abort hands the claimed session back as it was at its last close.
import { PathNotFoundError } from '../../errors.js';
import type { CallOptions, FileWriter } from '../../types.js';
import { ChunkList } from './chunks.js';
import type { MemoryStore, StoredFile } from './store.js';

export function openMemoryWriter(driver: string, store: MemoryStore, path: string, append: boolean, signal?: AbortSignal): FileWriter {
  let claimed: StoredFile | undefined;
  if (append) {
    claimed = store.inProgress.get(path);
    if (!claimed) throw new PathNotFoundError(driver, path);
    store.inProgress.delete(path);
  } else {
    store.inProgress.delete(path);
  }
  const content = new ChunkList(claimed?.chunks);
  let ended: Error | undefined;

  const abort = (reason: unknown) => {
    if (ended) return;
    ended = abortError(reason);
    // Stored chunk lists are immutable, so the claimed session is still exactly its last close.
    if (claimed && !store.inProgress.has(path)) store.inProgress.set(path, claimed);
  };
  const onAbort = () => abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const end = (how: string) => {
    if (ended) throw ended;
    ended = new Error(`${driver}: writer for ${path} already ${how}`);
    signal?.removeEventListener('abort', onAbort);
  };
  const usable = (o?: CallOptions) => {
    if (o?.signal?.aborted) abort(o.signal.reason);
    if (ended) throw ended;
  };

  return {
    get size() {
      return content.size;
    },
    async write(chunk, o) {
      usable(o);
      content.append(chunk);
    },
    async close(o) {
      usable(o);
      end('closed');
      store.inProgress.set(path, { chunks: content.freeze(), size: content.size, modTime: new Date() });
    },
    async commit(o) {
      usable(o);
      end('committed');
      store.files.set(path, { chunks: content.freeze(), size: content.size, modTime: new Date() });
    },
    async cancel(o) {
      usable(o);
      end('cancelled');
      store.inProgress.delete(path);
    },
  };
}

function abortError(reason: unknown): Error {
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}
