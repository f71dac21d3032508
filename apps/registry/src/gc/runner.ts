// Runs garbage collection: on the cron schedule in every replica (the storage lease lets one of
// them through), or once on demand (`main.js gc`). A run takes the lease, collects, purges
// abandoned uploads, releases the lease, and reports in logs and metrics.
import type { Logger } from '@kuik/observability';
import type { StorageDriver } from '@kuik/storage';
import type { RegistryConfig } from '../config.js';
import type { RegistryMetrics } from '../metrics.js';
import type { Stores } from '../store/backend.js';
import { collectGarbage, type GcStats } from './collector.js';
import { parseCron } from './cron.js';
import { acquireStorageLease } from './lock.js';

export type GcSettings = RegistryConfig['garbageCollection'];

export type GcOutcome = { ran: true; stats: GcStats } | { ran: false; reason: 'busy' };

export interface RunDeps {
  driver: StorageDriver;
  stores: Stores;
  settings: GcSettings;
  manifestMaxBytes: number;
  logger: Logger;
  metrics?: RegistryMetrics;
  /** Purges abandoned upload sessions; resolves with how many went. */
  purgeUploads?: () => Promise<number>;
  signal?: AbortSignal;
}

/** One run under the storage lease; `busy` when another replica holds it. */
export async function runGarbageCollection(deps: RunDeps, overrides: { dryRun?: boolean } = {}): Promise<GcOutcome> {
  const { logger, metrics, settings } = deps;
  const dryRun = overrides.dryRun ?? settings.dryRun;
  const lease = await acquireStorageLease(deps.driver, { leaseMs: settings.leaseMs, logger, signal: deps.signal });
  if (!lease) {
    logger.info('garbage collection skipped: another replica holds the lease');
    metrics?.gc.runs.labels('skipped').inc();
    return { ran: false, reason: 'busy' };
  }
  metrics?.gc.running.set(1);
  try {
    logger.info('garbage collection started', { owner: lease.owner, dryRun });
    const stats = await collectGarbage(deps.driver, deps.stores, {
      dryRun,
      deleteUntagged: settings.deleteUntagged,
      gracePeriodMs: settings.gracePeriodMs,
      settleMs: settings.settleMs,
      manifestMaxBytes: deps.manifestMaxBytes,
      mayDelete: () => lease.valid(),
      logger,
      signal: deps.signal,
      onProgress: (s) => logger.info('garbage collection progress', { ...s }),
    });
    // A dry run removes nothing, upload sessions included.
    const uploadsPurged = deps.purgeUploads && !dryRun ? await deps.purgeUploads() : 0;
    if (metrics) {
      metrics.gc.blobsMarked.set(stats.blobsMarked);
      metrics.gc.durationSeconds.set(stats.durationMs / 1000);
      metrics.gc.lastSuccess.set(Date.now() / 1000);
      if (!dryRun) {
        metrics.gc.blobsSwept.inc(stats.blobsSwept);
        metrics.gc.bytesFreed.inc(stats.bytesFreed);
        metrics.gc.manifestsDeleted.inc(stats.manifestsDeleted);
      }
      metrics.gc.runs.labels('success').inc();
    }
    logger.info('garbage collection done', { ...stats, uploadsPurged });
    return { ran: true, stats };
  } catch (err) {
    metrics?.gc.runs.labels('failure').inc();
    logger.error('garbage collection failed', { err });
    throw err;
  } finally {
    metrics?.gc.running.set(0);
    await lease.release().catch((err: unknown) => logger.warn('garbage collection lease release failed', { err }));
  }
}

export interface GcScheduler {
  /** The next scheduled run, or null when disabled. */
  nextRun(): Date | null;
  stop(): Promise<void>;
}

/** Arms the cron schedule; every replica does, the lease picks one per occurrence. */
export function startGcScheduler(deps: RunDeps): GcScheduler {
  const { settings, logger } = deps;
  if (!settings.enabled) return { nextRun: () => null, stop: async () => undefined };
  const schedule = parseCron(settings.schedule);
  const aborter = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let next: Date | null = null;
  let running: Promise<unknown> | undefined;
  const arm = () => {
    next = schedule.next(new Date());
    if (!next || aborter.signal.aborted) return;
    // setTimeout holds at most ~24.8 days; longer waits re-arm on the way.
    const wait = Math.min(next.getTime() - Date.now(), 2 ** 31 - 1);
    timer = setTimeout(() => {
      if (Date.now() + 1000 < next!.getTime()) return arm();
      running = runGarbageCollection({ ...deps, signal: aborter.signal })
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
          arm();
        });
    }, Math.max(0, wait));
    timer.unref();
  };
  arm();
  logger.info('garbage collection scheduled', { schedule: settings.schedule, next: next ? (next as Date).toISOString() : null });
  return {
    nextRun: () => next,
    async stop() {
      aborter.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
