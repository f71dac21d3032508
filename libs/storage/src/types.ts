// The storage driver interface: small and byte-oriented, in the spirit of distribution's
// storagedriver. Everything the registry stores (blobs, manifests, tags, upload sessions) goes
// through these few calls. Paths are absolute, '/'-separated keys validated by ./paths.ts.
import type { Readable } from 'node:stream';

/** Every call accepts an AbortSignal; aborting releases sockets, file handles and partial state. */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface FileInfo {
  /** The path as given to the driver (validated, absolute). */
  path: string;
  /** Bytes; 0 for directories. */
  size: number;
  modTime: Date;
  isDir: boolean;
}

export interface ReadOptions extends CallOptions {
  /** Read at most this many bytes from the offset (to the end when absent). */
  length?: number;
}

export interface GetContentOptions extends CallOptions {
  /** Refuse content larger than this with TooLarge (a guard for small objects such as manifests). */
  maxBytes?: number;
}

export interface RedirectOptions extends CallOptions {
  method?: 'GET' | 'HEAD';
  /** Lifetime of the URL in seconds (default 1200 = 20 minutes, as distribution). */
  expiresIn?: number;
}

export interface WalkOptions extends CallOptions {
  /** Resume: yield only paths strictly greater (lexically) than this one. */
  startAfter?: string;
}

/**
 * An appending writer. Bytes written are durable (in storage, not memory) by the time close()
 * or commit() resolves, so a writer closed without commit can be reopened with append=true —
 * possibly by another process — and continue where it stopped. Nothing is visible at the
 * path until commit().
 *
 * Aborting the signal given to writer() (or to write()) ends the session: handles are released,
 * the writer cannot be used after, nothing becomes visible, and what stays in progress is at
 * least what the last close() persisted. Two sessions never append to one in-progress write: a
 * second reopen while one is open gets PathNotFound. Chunks passed to write() may be kept by
 * reference until the call resolves; do not reuse them before.
 */
export interface FileWriter {
  /** Total bytes in the in-progress file, including those written before a reopen. */
  readonly size: number;
  /** Appends a chunk; resolves once the driver accepted it (backpressure: await each call). */
  write(chunk: Uint8Array, options?: CallOptions): Promise<void>;
  /** Persists what was written without making it visible; the writer cannot be used after. */
  close(options?: CallOptions): Promise<void>;
  /** Makes the content visible at the path atomically; the writer cannot be used after. */
  commit(options?: CallOptions): Promise<void>;
  /** Discards everything written, including earlier sessions; the writer cannot be used after. */
  cancel(options?: CallOptions): Promise<void>;
}

export interface StorageDriver {
  /** Driver name as registered ("filesystem", "s3", ...). */
  readonly name: string;
  /** Whole content of a small object (manifests, links, tags). */
  getContent(path: string, options?: GetContentOptions): Promise<Buffer>;
  /** Writes a small object atomically (readers see the old or the new content, never a mix). */
  putContent(path: string, content: Uint8Array, options?: CallOptions): Promise<void>;
  /**
   * Streams content from offset; never buffers the whole object. The promise itself rejects with
   * PathNotFound or InvalidOffset (offset > size; offset == size gives an empty stream), so callers
   * can answer 404/416 before sending anything.
   */
  reader(path: string, offset?: number, options?: ReadOptions): Promise<Readable>;
  /**
   * Opens a writer. append=false starts afresh (discarding anything in progress at path);
   * append=true continues the in-progress write at path, PathNotFound when there is none
   * (a committed object is not "in progress").
   */
  writer(path: string, append: boolean, options?: CallOptions): Promise<FileWriter>;
  stat(path: string, options?: CallOptions): Promise<FileInfo>;
  /**
   * Direct children (files and directories) of a directory path, as full paths, sorted; PathNotFound
   * when the path has no children (missing, a file, or empty), except '/' which may list as [].
   * Directories exist only through what they contain, as in object stores.
   */
  list(path: string, options?: CallOptions): Promise<string[]>;
  /** Moves an object, replacing the destination atomically. */
  move(sourcePath: string, destPath: string, options?: CallOptions): Promise<void>;
  /** Deletes an object or everything under a directory path; PathNotFound if nothing was there. */
  delete(path: string, options?: CallOptions): Promise<void>;
  /** A URL a client can download from directly, or null when the driver cannot give one. */
  redirectURL?(path: string, options?: RedirectOptions): Promise<string | null>;
  /**
   * Every file (not directory) under path, in lexical (code unit) order of the full path, resumable
   * with startAfter. A missing path, or a file, yields nothing (not PathNotFound), so a resumed walk
   * of a tree emptied meanwhile simply ends.
   */
  walk(path: string, options?: WalkOptions): AsyncIterable<FileInfo>;
  /** Checks that the backend is reachable and usable (bucket exists, credentials valid). */
  healthCheck?(options?: CallOptions): Promise<void>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
}
