// The collector's view of storage, paced: every operation takes a token first, so a collection
// over a large store spreads its load instead of competing with pushes and pulls for the
// backend (and, on small machines, for the CPU). A walk takes a token every WALK_ENTRIES_PER_TOKEN
// entries: one list call returns up to 1,000 keys and costs the backend about as much as a
// dozen single-object calls (MinIO reads each listed object's metadata), so a walk over a large
// store is paced like the rest. The storage lease is renewed through the unpaced driver: a slow
// collection must never lose its lease to its own pacing.
import { TokenBucket } from '@kuik/oci';
import type { FileInfo, StorageDriver, WalkOptions } from '@kuik/storage';

const WALK_ENTRIES_PER_TOKEN = 100;
const PACED = ['getContent', 'putContent', 'reader', 'writer', 'stat', 'list', 'move', 'delete'] as const;

export function pacedDriver(driver: StorageDriver, opsPerSecond: number, signal?: AbortSignal): StorageDriver {
  if (opsPerSecond <= 0) return driver;
  // A second's worth of burst: short phases (a few hundred reads) are not slowed at all.
  const bucket = new TokenBucket(opsPerSecond, Math.max(1, opsPerSecond));
  const paced = Object.create(driver) as StorageDriver;
  const overrides = paced as unknown as Record<string, unknown>;
  for (const op of PACED) {
    const fn = (driver[op] as (...a: unknown[]) => Promise<unknown>).bind(driver);
    overrides[op] = async (...args: unknown[]) => {
      await bucket.take(signal);
      return fn(...args);
    };
  }
  paced.walk = async function* (path: string, options?: WalkOptions): AsyncIterable<FileInfo> {
    let n = 0;
    for await (const file of driver.walk(path, options)) {
      if (n++ % WALK_ENTRIES_PER_TOKEN === 0) await bucket.take(signal);
      yield file;
    }
  };
  return paced;
}
