// One garbage collector at a time across every replica, with nothing but the storage driver: the
// registry may run without a Kubernetes API (docker-compose, a VM, a CI job running `main.js gc`),
// and the driver interface has no compare-and-swap, so the Lease of libs/leader-election is not
// available everywhere. Instead each contender writes its own claim file and then lists them all:
//
//   1. list the claims; drop the stale ones (expired for longer than one more of their lease, so
//      clock skew between hosts of less than a lease cannot make a live claim look stale); a live claim of
//      someone else means "busy".
//   2. write our claim (owner, expiry).
//   3. list again; if any other live claim is there, delete ours and back off (random delay).
//
// Mutual exclusion needs only read-after-write and list-after-write consistency, which S3 (since
// 2020), MinIO, GCS, Azure Blob and a POSIX directory (local or NFS/EFS with close-to-open) all
// give: of two contenders, the one whose list in step 3 ran later must see the other's claim,
// because that claim was written before the other's own list. Both may see each other and both
// back off; the random back-off makes a winner likely within a few attempts (liveness is all that
// contention can cost). The holder renews its claim every lease/3 and stops deleting as soon as
// it has not renewed for a lease (`valid()` is checked before every batch of deletions), so a
// paused holder whose claim a newcomer removed as stale does no harm when it wakes up.
import type { Logger } from '@kuik/observability';
import { isStorageError, type StorageDriver } from '@kuik/storage';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { layout } from '../store/layout.js';
import { listOrEmpty, orIfMissing } from '../store/storage-util.js';

interface Claim {
  owner: string;
  /** Milliseconds since the epoch, by the claimer's clock. */
  expiresAt: number;
  /** The claimer's lease duration: also the allowance for clock skew before a claim is stale. */
  leaseMs: number;
}

export interface StorageLease {
  owner: string;
  /** True while the lease was renewed less than a lease ago (checked before destructive steps). */
  valid(): boolean;
  /** Stops renewing and deletes the claim. */
  release(): Promise<void>;
}

export interface LockOptions {
  leaseMs: number;
  logger: Logger;
  /** Attempts when contenders collide (default 5), with random back-off of up to 2 s between. */
  attempts?: number;
  signal?: AbortSignal;
}

export function newOwnerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 60) || 'host';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The lease, or null when another live holder has it (or contention did not resolve). */
export async function acquireStorageLease(driver: StorageDriver, options: LockOptions): Promise<StorageLease | null> {
  const owner = newOwnerId();
  const attempts = options.attempts ?? 5;
  const signal = options.signal;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if ((await liveOthers(driver, owner, signal)).length > 0) return null;
    const renewedAt = Date.now();
    await writeClaim(driver, owner, options.leaseMs, signal);
    const others = await liveOthers(driver, owner, signal);
    if (others.length === 0) return holdLease(driver, owner, renewedAt, options);
    await deleteClaim(driver, owner);
    options.logger.debug('garbage collection lock contended; backing off', { owner, others, attempt });
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 1800));
  }
  return null;
}

/** Owners holding a claim that is not stale, other than `self`. Removes stale claims on the way. */
async function liveOthers(driver: StorageDriver, self: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  for (const path of await listOrEmpty(driver, layout.gcLockDir, { signal })) {
    const name = layout.basename(path);
    if (name === self) continue;
    const claim = await readClaim(driver, path, signal);
    if (claim && claim.expiresAt + claim.leaseMs > Date.now()) {
      out.push(name);
      continue;
    }
    // Stale (or unreadable): its holder stopped renewing at least a lease ago.
    await orIfMissing(() => driver.delete(path, { signal }), undefined);
  }
  return out;
}

async function readClaim(driver: StorageDriver, path: string, signal?: AbortSignal): Promise<Claim | null> {
  const raw = await orIfMissing(() => driver.getContent(path, { signal, maxBytes: 4096 }), null);
  if (!raw) return null;
  try {
    const c = JSON.parse(raw.toString('utf8')) as Partial<Claim>;
    if (typeof c.owner !== 'string' || typeof c.expiresAt !== 'number' || typeof c.leaseMs !== 'number') return null;
    return { owner: c.owner, expiresAt: c.expiresAt, leaseMs: c.leaseMs };
  } catch {
    return null;
  }
}

function writeClaim(driver: StorageDriver, owner: string, leaseMs: number, signal?: AbortSignal): Promise<void> {
  const claim: Claim = { owner, expiresAt: Date.now() + leaseMs, leaseMs };
  return driver.putContent(layout.gcLockClaim(owner), Buffer.from(JSON.stringify(claim)), { signal });
}

async function deleteClaim(driver: StorageDriver, owner: string): Promise<void> {
  await orIfMissing(() => driver.delete(layout.gcLockClaim(owner), { signal: AbortSignal.timeout(30_000) }), undefined);
}

function holdLease(driver: StorageDriver, owner: string, acquiredAt: number, options: LockOptions): StorageLease {
  // Validity is judged on this process's monotonic clock, from the start of the last successful write.
  let renewedAt = performance.now() - (Date.now() - acquiredAt);
  let lost = false;
  let released = false;
  let renewing: Promise<void> | undefined;
  const renew = async (): Promise<void> => {
    const started = performance.now();
    // Someone judged us stale and removed the claim: the lease is gone for good.
    const mine = await readClaim(driver, layout.gcLockClaim(owner), AbortSignal.timeout(Math.ceil(options.leaseMs / 3)));
    if (!mine || mine.owner !== owner) {
      lost = true;
      options.logger.warn('garbage collection lease lost: claim removed by another replica', { owner });
      return;
    }
    await writeClaim(driver, owner, options.leaseMs, AbortSignal.timeout(Math.ceil(options.leaseMs / 3)));
    renewedAt = started;
  };
  const timer = setInterval(() => {
    if (renewing || lost || released) return;
    renewing = renew()
      .catch((err: unknown) => {
        if (!isStorageError(err, 'PathNotFound')) options.logger.warn('garbage collection lease renewal failed', { owner, err });
      })
      .finally(() => (renewing = undefined));
  }, Math.max(50, Math.floor(options.leaseMs / 3)));
  timer.unref();
  return {
    owner,
    valid: () => !lost && !released && performance.now() - renewedAt < options.leaseMs,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await renewing;
      if (!lost) await deleteClaim(driver, owner);
    },
  };
}
