// Small helpers over the storage driver used by every store: link files, not-found handling and
// streaming a request body into an appending writer with backpressure.
import { tryParseDigest, type Digest } from '@kuik/oci';
import { isStorageError, type CallOptions, type FileWriter, type StorageDriver } from '@kuik/storage';
import { Writable } from 'node:stream';

/** Runs fn; PathNotFound becomes `fallback`. */
export async function orIfMissing<T, F>(fn: () => Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await fn();
  } catch (err) {
    if (isStorageError(err, 'PathNotFound')) return fallback;
    throw err;
  }
}

/** Reads a link file ("sha256:…"); null when absent or not a digest. */
export async function readLink(driver: StorageDriver, path: string, options?: CallOptions): Promise<Digest | null> {
  const content = await orIfMissing(() => driver.getContent(path, { ...options, maxBytes: 256 }), null);
  if (content === null) return null;
  return tryParseDigest(content.toString('utf8').trim())?.digest ?? null;
}

export async function writeLink(driver: StorageDriver, path: string, digest: Digest, options?: CallOptions): Promise<void> {
  await driver.putContent(path, Buffer.from(digest), options);
}

export async function exists(driver: StorageDriver, path: string, options?: CallOptions): Promise<boolean> {
  return orIfMissing(async () => (await driver.stat(path, options), true), false);
}

/** Deletes a path; false when nothing was there. */
export async function deleteIfExists(driver: StorageDriver, path: string, options?: CallOptions): Promise<boolean> {
  return orIfMissing(async () => (await driver.delete(path, options), true), false);
}

/** Lists a directory; [] when it does not exist. */
export async function listOrEmpty(driver: StorageDriver, path: string, options?: CallOptions): Promise<string[]> {
  return orIfMissing(() => driver.list(path, options), [] as string[]);
}

/** A Writable over a FileWriter: each chunk is accepted only once the driver accepted it. */
export class WriterSink extends Writable {
  constructor(
    private readonly writer: FileWriter,
    private readonly signal?: AbortSignal,
  ) {
    super({ highWaterMark: 1 << 16 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.writer.write(chunk, { signal: this.signal }).then(() => done(), done);
  }
}
