// The in-memory driver: a tmpfs for tests and ephemeral caches. Bounded only by the process's
// memory (nothing evicts), lost on exit, never shareable between processes.
import { Readable } from 'node:stream';
import { ContentTooLargeError, InvalidOffsetError, PathNotFoundError } from '../../errors.js';
import type {
  CallOptions,
  FileInfo,
  FileWriter,
  GetContentOptions,
  ReadOptions,
  StorageDriver,
  WalkOptions,
} from '../../types.js';
import { slices } from './chunks.js';
import type { MemoryStore, StoredFile } from './store.js';
import { openMemoryWriter } from './writer.js';

export const INMEMORY = 'inmemory';

export class InMemoryDriver implements StorageDriver {
  readonly name = INMEMORY;
  private readonly store: MemoryStore;

  constructor(store: MemoryStore) {
    this.store = store;
  }

  async getContent(path: string, o?: GetContentOptions): Promise<Buffer> {
    const f = this.file(path);
    if (o?.maxBytes !== undefined && f.size > o.maxBytes) throw new ContentTooLargeError(this.name, path, o.maxBytes);
    return Buffer.concat(f.chunks as Buffer[], f.size);
  }

  async putContent(path: string, content: Uint8Array, _o?: CallOptions): Promise<void> {
    // Copy: the caller keeps ownership of its buffer.
    this.store.files.set(path, { chunks: [Buffer.from(content)], size: content.byteLength, modTime: new Date() });
  }

  async reader(path: string, offset = 0, o?: ReadOptions): Promise<Readable> {
    const f = this.file(path);
    if (offset > f.size) throw new InvalidOffsetError(this.name, path, offset);
    const end = o?.length === undefined ? f.size : Math.min(f.size, offset + o.length);
    // Object mode hands each stored slice on as it is; a byte-mode stream would concatenate
    // (copy) slices that happen to be buffered together. The base wrapper re-streams as bytes.
    return Readable.from(slices(f.chunks, offset, end), { signal: o?.signal });
  }

  async writer(path: string, append: boolean, o?: CallOptions): Promise<FileWriter> {
    return openMemoryWriter(this.name, this.store, path, append, o?.signal);
  }

  async stat(path: string, _o?: CallOptions): Promise<FileInfo> {
    const f = this.store.files.get(path);
    if (f) return { path, size: f.size, modTime: f.modTime, isDir: false };
    // A directory is as recent as the newest file in it.
    let newest: number | undefined;
    for (const p of this.store.pathsUnder(path)) {
      const t = this.store.files.get(p)?.modTime.getTime() ?? 0;
      if (newest === undefined || t > newest) newest = t;
    }
    if (newest === undefined && path !== '/') throw new PathNotFoundError(this.name, path);
    return { path, size: 0, modTime: new Date(newest ?? 0), isDir: true };
  }

  async list(path: string, _o?: CallOptions): Promise<string[]> {
    const depth = path === '/' ? 1 : path.split('/').length;
    const children = new Set<string>();
    for (const p of this.store.pathsUnder(path)) children.add(p.split('/').slice(0, depth + 1).join('/'));
    if (children.size === 0 && path !== '/') throw new PathNotFoundError(this.name, path);
    return [...children].sort(lexical);
  }

  async move(sourcePath: string, destPath: string, _o?: CallOptions): Promise<void> {
    const f = this.file(sourcePath);
    this.store.files.set(destPath, f);
    this.store.files.delete(sourcePath);
  }

  async delete(path: string, _o?: CallOptions): Promise<void> {
    let found = this.store.files.delete(path);
    for (const p of this.store.pathsUnder(path)) found = this.store.files.delete(p) || found;
    // Uploads in progress under a deleted directory go with it (as files in it would on disk).
    const prefix = `${path}/`;
    for (const p of [...this.store.inProgress.keys()]) if (p === path || p.startsWith(prefix)) this.store.inProgress.delete(p);
    if (!found) throw new PathNotFoundError(this.name, path);
  }

  async *walk(path: string, o?: WalkOptions): AsyncIterable<FileInfo> {
    const after = o?.startAfter;
    const paths = this.store
      .pathsUnder(path)
      .filter((p) => after === undefined || p > after)
      .sort(lexical);
    for (const p of paths) {
      o?.signal?.throwIfAborted();
      const f = this.store.files.get(p);
      if (f) yield { path: p, size: f.size, modTime: f.modTime, isDir: false }; // skip if deleted meanwhile
    }
  }

  private file(path: string): StoredFile {
    const f = this.store.files.get(path);
    if (!f) throw new PathNotFoundError(this.name, path);
    return f;
  }
}

function lexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
