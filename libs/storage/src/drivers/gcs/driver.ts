// The gcs driver: Google Cloud Storage (and fake-gcs-server for tests) through @google-cloud/storage.
// Paths map to object names under rootdirectory (keys.ts); writers upload parts and compose them on
// commit (writer.ts); moves are server-side copies (rewrite) then deletes. Errors are left to the
// base wrapper (errors.ts) unless their meaning depends on the call.
import type { Bucket, File, Storage } from '@google-cloud/storage';
import { addAbortSignal, type Readable } from 'node:stream';
import { ContentTooLargeError, PathNotFoundError, StorageError } from '../../errors.js';
import type {
  CallOptions,
  FileInfo,
  FileWriter,
  GetContentOptions,
  ReadOptions,
  RedirectOptions,
  StorageDriver,
  WalkOptions,
} from '../../types.js';
import { abortError } from '../object-store/abort.js';
import { listChildren, walkFiles } from '../object-store/listing.js';
import { readRange } from '../object-store/range.js';
import { Regulator, untilAborted } from './abort.js';
import { GCS, type GcsConfig } from './config.js';
import { httpStatus, isBucketMissing, isInvalidRange, isNotFound } from './errors.js';
import { KeyLayout } from './keys.js';
import { deleteNames, deletePrefix, listPages, putObject } from './objects.js';
import { MAX_EXPIRY_SECONDS, signUrlV4 } from './signer.js';
import { openWriter, type GcsContext } from './writer.js';

/** Default lifetime of redirect URLs, as distribution (20 minutes). */
const DEFAULT_EXPIRY_SECONDS = 1200;

export class GcsDriver implements StorageDriver {
  readonly name = GCS;
  private readonly bucket: Bucket;
  private readonly layout: KeyLayout;
  private readonly ctx: GcsContext;
  private readonly limit: Regulator;

  constructor(
    private readonly cfg: GcsConfig,
    storage: Storage,
  ) {
    this.bucket = storage.bucket(cfg.bucket);
    this.layout = new KeyLayout(cfg.rootPrefix);
    this.ctx = { cfg, bucket: this.bucket, layout: this.layout };
    this.limit = new Regulator(cfg.maxConcurrency);
  }

  // Every call but walk and redirectURL takes a slot of maxconcurrency (readers only while opening,
  // writers only while opening), as distribution's regulator.
  getContent(path: string, o?: GetContentOptions): Promise<Buffer> {
    return this.limit.run(() => this.getContentNow(path, o), o?.signal);
  }

  putContent(path: string, content: Uint8Array, o?: CallOptions): Promise<void> {
    return this.limit.run(() => this.putContentNow(path, content, o), o?.signal);
  }

  reader(path: string, offset = 0, o?: ReadOptions): Promise<Readable> {
    return this.limit.run(() => this.readerNow(path, offset, o), o?.signal);
  }

  writer(path: string, append: boolean, o?: CallOptions): Promise<FileWriter> {
    return this.limit.run(() => openWriter(this.ctx, path, append, o?.signal), o?.signal);
  }

  stat(path: string, o?: CallOptions): Promise<FileInfo> {
    return this.limit.run(() => this.statNow(path, o), o?.signal);
  }

  list(path: string, o?: CallOptions): Promise<string[]> {
    return this.limit.run(() => this.listNow(path, o), o?.signal);
  }

  move(sourcePath: string, destPath: string, o?: CallOptions): Promise<void> {
    return this.limit.run(() => this.moveNow(sourcePath, destPath, o), o?.signal);
  }

  delete(path: string, o?: CallOptions): Promise<void> {
    return this.limit.run(() => this.deleteNow(path, o), o?.signal);
  }

  private async getContentNow(path: string, o?: GetContentOptions): Promise<Buffer> {
    const { stream, length } = await openRead(this.file(path), {}, o?.signal);
    const max = o?.maxBytes;
    if (max !== undefined && length !== undefined && length > max) {
      stream.destroy();
      throw new ContentTooLargeError(GCS, path, max);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of stream) {
      n += (c as Buffer).length;
      // No Content-Length (chunked or compressed transfer): stop as soon as the guard is passed.
      if (max !== undefined && n > max) {
        stream.destroy();
        throw new ContentTooLargeError(GCS, path, max);
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks, n);
  }

  private async putContentNow(path: string, content: Uint8Array, o?: CallOptions): Promise<void> {
    await putObject(this.bucket, this.layout.key(path), content, o?.signal);
  }

  private readerNow(path: string, offset: number, o?: ReadOptions): Promise<Readable> {
    const signal = o?.signal;
    const length = o?.length;
    const file = this.file(path);
    // No Range for whole objects: "bytes=0-" is 416 on an empty object.
    const range = offset > 0 || length !== undefined ? { start: offset, ...(length !== undefined ? { end: offset + length - 1 } : {}) } : {};
    return readRange(GCS, path, offset, length, {
      open: async () => (await openRead(file, range, signal)).stream,
      size: () => this.objectSize(file, signal),
      isInvalidRange,
    });
  }

  private async statNow(path: string, o?: CallOptions): Promise<FileInfo> {
    const signal = o?.signal;
    if (path === '/') return { path, size: 0, modTime: new Date(), isDir: true };
    try {
      const [meta] = await untilAborted(this.file(path).getMetadata(), signal);
      const updated = meta.updated ?? meta.timeCreated;
      return { path, size: Number(meta.size ?? 0), modTime: updated ? new Date(updated) : new Date(), isDir: false };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Directories exist only through what they contain.
    for await (const page of listPages(this.bucket, this.layout.dirPrefix(path), { maxResults: 1 }, signal)) {
      const first = page.objects[0];
      if (first) return { path, size: 0, modTime: first.modTime, isDir: true };
      break;
    }
    throw new PathNotFoundError(GCS, path);
  }

  private listNow(path: string, o?: CallOptions): Promise<string[]> {
    // fake-gcs-server repeats every prefix on every page: listChildren keeps each path once.
    return listChildren(GCS, this.layout, path, listPages(this.bucket, this.layout.dirPrefix(path), { delimiter: '/' }, o?.signal));
  }

  private async moveNow(sourcePath: string, destPath: string, o?: CallOptions): Promise<void> {
    const signal = o?.signal;
    const src = this.file(sourcePath);
    if (sourcePath === destPath) {
      await this.objectSize(src, signal); // PathNotFound when missing
      return;
    }
    // A rewrite: server-side, the SDK follows rewrite tokens for large objects; the destination
    // appears atomically. Then the source goes.
    await untilAborted(src.copy(this.file(destPath)), signal);
    try {
      await untilAborted(src.delete(), signal);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async deleteNow(path: string, o?: CallOptions): Promise<void> {
    const signal = o?.signal;
    let found = 0;
    const exact = (async () => {
      try {
        await untilAborted(this.file(path).delete(), signal);
        found++;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    })();
    // Everything under the directory, whatever it is (including objects that are not valid paths).
    const under = (async () => {
      for await (const page of listPages(this.bucket, this.layout.dirPrefix(path), {}, signal)) {
        found += page.objects.length;
        await deleteNames(
          this.bucket,
          page.objects.map((x) => x.name),
          signal,
        );
      }
    })();
    // In-progress writes at and under the path go with it (they are invisible, so they do not count).
    const uploads = deletePrefix(this.bucket, this.layout.uploadTreePrefix(path), signal);
    await Promise.all([exact, under, uploads]);
    if (found === 0) throw new PathNotFoundError(GCS, path);
  }

  /**
   * A V4 signed URL, signed locally with the service account key (signer.ts); null without one: the
   * default credentials of a pod identity could only sign through the IAM signBlob API, which kuik
   * does not call (distribution does not either).
   */
  async redirectURL(path: string, o?: RedirectOptions): Promise<string | null> {
    const c = this.cfg.credentials;
    if (!c) return null;
    return signUrlV4({
      origin: this.cfg.endpoint ?? `https://storage.${c.universe_domain ?? 'googleapis.com'}`,
      bucket: this.cfg.bucket,
      object: this.layout.key(path),
      method: o?.method === 'HEAD' ? 'HEAD' : 'GET',
      clientEmail: c.client_email,
      privateKey: c.private_key,
      expiresIn: Math.min(o?.expiresIn ?? DEFAULT_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS),
    });
  }

  walk(path: string, o?: WalkOptions): AsyncIterable<FileInfo> {
    return walkFiles(this.layout, path, o?.startAfter, (prefix, startOffset) =>
      listPages(this.bucket, prefix, startOffset ? { startOffset } : {}, o?.signal),
    );
  }

  async healthCheck(o?: CallOptions): Promise<void> {
    try {
      await untilAborted(this.bucket.getMetadata(), o?.signal);
    } catch (err) {
      if (httpStatus(err) === 404 || isBucketMissing(err)) {
        throw new StorageError('Unknown', GCS, `${GCS}: the bucket "${this.cfg.bucket}" does not exist`, { cause: err });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    // The SDK keeps no per-instance sockets to close (its HTTP agent is shared and keep-alive).
  }

  private file(path: string): File {
    return this.bucket.file(this.layout.key(path));
  }

  private async objectSize(file: File, signal?: AbortSignal): Promise<number> {
    const [meta] = await untilAborted(file.getMetadata(), signal);
    return Number(meta.size ?? 0);
  }
}

/**
 * Starts a (ranged) download and waits for the response headers, so a missing object or a bad range
 * rejects here, before the caller starts answering. Resolves with the body stream (ended by the
 * signal with an AbortError) and its Content-Length when the server sent one.
 */
function openRead(file: File, range: { start?: number; end?: number }, signal?: AbortSignal): Promise<{ stream: Readable; length?: number }> {
  signal?.throwIfAborted();
  // No download validation: ranged reads cannot have one, composed objects have no MD5, and the
  // SDK's CRC32C (in JavaScript) cuts read throughput by 4; the registry checks digests itself.
  const stream = file.createReadStream({ ...range, validation: false });
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.off('error', onError);
      stream.off('response', onResponse);
      signal?.removeEventListener('abort', onAbort);
    };
    const onError = (err: unknown): void => {
      done();
      reject(err);
    };
    const onResponse = (res: { statusCode?: number; status?: number; headers?: Record<string, unknown> | { get?(k: string): unknown } }): void => {
      const status = res.statusCode ?? res.status ?? 0;
      if (status < 200 || status >= 300) return; // the SDK follows with an 'error' carrying the API error
      done();
      const raw = headerOf(res.headers, 'content-length');
      const length = raw === undefined || raw === null || raw === '' ? undefined : Number(raw);
      resolve({ stream: signal ? addAbortSignal(signal, stream) : stream, length: Number.isSafeInteger(length) ? length : undefined });
    };
    const onAbort = (): void => {
      done();
      stream.destroy();
      reject(abortError(signal as AbortSignal));
    };
    stream.on('error', onError);
    stream.on('response', onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
    // The SDK sends the request on the first read; this one returns nothing and keeps the stream paused.
    stream.read(0);
  });
}

function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?(k: string): unknown } & Record<string, unknown>;
  return typeof h.get === 'function' ? h.get(name) : h[name];
}
