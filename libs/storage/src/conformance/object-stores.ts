// Helpers for the object-store drivers' own specs (s3, gcs, azure against MinIO, fake-gcs-server
// and Azurite): the checks each of them makes in the same way, with the driver-specific ones left
// to the spec. Not part of the suite itself.
import { expect } from '@jest/globals';
import { createHash } from 'node:crypto';
import type { DriverConfigError } from '../errors.js';
import { createDriver, type DriverParameters } from '../factory.js';
import type { StorageDriver } from '../types.js';
import { contentChunks, MiB, streamDigest } from './content.js';
import { expectStorageError, walkPaths } from './probes.js';

/**
 * Writes `size` bytes to path in sessions of the given sizes (and one more with the rest), each by
 * a fresh driver instance from restart() (a process restart) that reopens the in-progress write;
 * checks size before and after each session, that nothing shows at path before the last session
 * commits, and that what reads back afterwards is byte for byte what was written.
 */
export async function writeAcrossRestarts(
  observer: StorageDriver,
  restart: () => Promise<StorageDriver>,
  path: string,
  size: number,
  sessions: readonly number[],
): Promise<void> {
  const all = [...sessions, size - sessions.reduce((a, b) => a + b, 0)];
  const hash = createHash('sha256');
  let done = 0;
  for (const [i, n] of all.entries()) {
    const restarted = await restart();
    try {
      const w = await restarted.writer(path, i > 0);
      expect(w.size).toBe(done);
      for (const c of contentChunks(77, size, done, n, 3 * MiB + 1)) {
        hash.update(c);
        await w.write(c);
      }
      done += n;
      expect(w.size).toBe(done);
      if (i < all.length - 1) await w.close();
      else await w.commit();
    } finally {
      await restarted.close?.();
    }
    if (i < all.length - 1) {
      await expectStorageError(observer.stat(path), 'PathNotFound');
      expect(await walkPaths(observer, '/')).not.toContain(path);
    }
  }
  expect((await observer.stat(path)).size).toBe(size);
  expect(await streamDigest(await observer.reader(path))).toEqual({ sha256: hash.digest('hex'), size });
}

/**
 * Puts bytes at path and checks that its GET and HEAD redirect URLs are on 127.0.0.1 and serve
 * them; returns both URLs for the driver-specific checks of their signatures.
 */
export async function expectRedirectsServe(d: StorageDriver, path: string, bytes: Buffer): Promise<{ get: URL; head: URL }> {
  await d.putContent(path, bytes);
  const get = new URL((await d.redirectURL?.(path, { expiresIn: 60 })) as string);
  expect(get.hostname).toBe('127.0.0.1');
  const res = await fetch(get);
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  const head = new URL((await d.redirectURL?.(path, { method: 'HEAD' })) as string);
  const headRes = await fetch(head, { method: 'HEAD' });
  expect(headRes.status).toBe(200);
  expect(headRes.headers.get('content-length')).toBe(String(bytes.length));
  return { get, head };
}

/**
 * createDriver(driver, params) must fail with a DriverConfigError naming `key` (also as
 * storage.<driver>.<key> in its message), matching message, and never quoting the secret.
 */
export async function expectConfigError(driver: string, params: DriverParameters, key: string, message: RegExp, secret: string): Promise<void> {
  let caught: unknown;
  await createDriver(driver, params).catch((e: unknown) => (caught = e));
  expect({ key, name: (caught as Error)?.name, errKey: (caught as DriverConfigError)?.key }).toEqual({ key, name: 'DriverConfigError', errKey: key });
  expect((caught as Error).message).toMatch(message);
  expect((caught as Error).message).toContain(`storage.${driver}.${key}`);
  expect((caught as Error).message).not.toContain(secret);
}
