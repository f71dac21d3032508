// Runs garbage collection: on the cron schedule in every replica (the storage lease lets one of
// them through), or once on demand (`POST /gc` on the ops port, `main.js gc`). A run takes the
// lease, collects, purges abandoned uploads, releases the lease, and reports in logs and metrics.
import type { Logger, OpsAction } from '@kuik/observability';
import type { StorageDriver } from '@kuik/storage';
import type { RegistryConfig } from '../config.js';
import type { RegistryMetrics } from '../metrics.js';
import { collectGarbage, type GcStats } from './collector.js';
import { parseCron } from './cron.js';
import { acquireStorageLease } from './lock.js';
import { pacedDriver } from './throttle.js';
import { createStores, type Stores } from '../store/backend.js';

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
export async function runGarbageCollection(deps: RunDeps, overrides: { dryRun?: boolean; onProgress?: (s: GcStats) => void } = {}): Promise<GcOutcome> {
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
    logger.info('garbage collection started', { owner: lease.owner, dryRun, rateLimit: settings.rateLimit });
    // Paced storage for the collection itself (the lease above keeps the unpaced driver).
    const driver = pacedDriver(deps.driver, settings.rateLimit, deps.signal);
    const stores = driver === deps.driver ? deps.stores : createStores(driver, { manifestMaxBytes: deps.manifestMaxBytes, deleteEnabled: true, redirects: false, readOnly: false });
    const stats = await collectGarbage(driver, stores, {
      dryRun,
      deleteUntagged: settings.deleteUntagged,
      gracePeriodMs: settings.gracePeriodMs,
      settleMs: settings.settleMs,
      manifestMaxBytes: deps.manifestMaxBytes,
      mayDelete: () => lease.valid(),
      logger,
      signal: deps.signal,
      onProgress: (s) => {
        logger.info('garbage collection progress', { ...s });
        overrides.onProgress?.(s);
      },
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

export type GcTrigger = 'schedule' | 'http' | 'api';

/** What this process's runs are doing (each replica answers for its own runs). */
export interface GcStatus {
  running: { trigger: GcTrigger; dryRun: boolean; startedAt: string; progress?: GcStats } | null;
  last: {
    trigger: GcTrigger;
    dryRun: boolean;
    startedAt: string;
    finishedAt: string;
    /** busy: another replica held the storage lease, nothing was done here. */
    result: 'done' | 'busy' | 'failed';
    stats?: GcStats;
    error?: string;
  } | null;
}

/** Starts runs in this process, one at a time, whatever asks (schedule, HTTP, API), and remembers the last. */
export class GcControl {
  private current: (NonNullable<GcStatus['running']> & { done: Promise<GcOutcome> }) | null = null;
  private last: GcStatus['last'] = null;
  private readonly aborter = new AbortController();

  constructor(private readonly deps: RunDeps) {}

  /** Starts a run now; null when one of this process is in progress. */
  start(trigger: GcTrigger, dryRun = this.deps.settings.dryRun): Promise<GcOutcome> | null {
    if (this.current || this.aborter.signal.aborted) return null;
    const startedAt = new Date().toISOString();
    const run: NonNullable<GcControl['current']> = { trigger, dryRun, startedAt, done: Promise.resolve({ ran: false, reason: 'busy' }) };
    this.current = run;
    const finish = (result: 'done' | 'busy' | 'failed', extra: { stats?: GcStats; error?: string }) => {
      this.last = { trigger, dryRun, startedAt, finishedAt: new Date().toISOString(), result, ...extra };
      this.current = null;
    };
    run.done = runGarbageCollection({ ...this.deps, signal: this.aborter.signal }, { dryRun, onProgress: (s) => (run.progress = s) }).then(
      (outcome) => {
        finish(outcome.ran ? 'done' : 'busy', outcome.ran ? { stats: outcome.stats } : {});
        return outcome;
      },
      (err: unknown) => {
        finish('failed', { error: err instanceof Error ? err.message : String(err) });
        throw err;
      },
    );
    return run.done;
  }

  status(): GcStatus {
    const c = this.current;
    return { running: c ? { trigger: c.trigger, dryRun: c.dryRun, startedAt: c.startedAt, progress: c.progress } : null, last: this.last };
  }

  /** Stops the run in progress (shutdown) and starts no more. */
  async close(): Promise<void> {
    this.aborter.abort(new Error('the registry is shutting down'));
    await this.current?.done.catch(() => undefined);
  }
}

export interface GcScheduler {
  /** The next scheduled run, or null when disabled. */
  nextRun(): Date | null;
  stop(): Promise<void>;
}

/** Arms the cron schedule; every replica does, the lease picks one per occurrence. */
export function startGcScheduler(control: GcControl, deps: RunDeps): GcScheduler {
  const { settings, logger } = deps;
  if (!settings.enabled) return { nextRun: () => null, stop: async () => undefined };
  const schedule = parseCron(settings.schedule);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let next: Date | null = null;
  const arm = () => {
    next = schedule.next(new Date());
    if (!next || stopped) return;
    // setTimeout holds at most ~24.8 days; longer waits re-arm on the way.
    const wait = Math.min(next.getTime() - Date.now(), 2 ** 31 - 1);
    timer = setTimeout(() => {
      if (Date.now() + 1000 < next!.getTime()) return arm();
      const run = control.start('schedule');
      if (!run) logger.info('scheduled garbage collection skipped: a run of this replica is in progress');
      void (run ?? Promise.resolve())
        .catch(() => undefined)
        .finally(arm);
    }, Math.max(0, wait));
    timer.unref();
  };
  arm();
  logger.info('garbage collection scheduled', { schedule: settings.schedule, next: next ? (next as Date).toISOString() : null });
  return {
    nextRun: () => next,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** `POST /gc[?dryrun=true|false]` starts a run of this replica; `GET /gc` reports (ops port). */
export function gcAction(control: GcControl): OpsAction {
  return {
    path: '/gc',
    async handle(method, query) {
      if (method === 'GET') return { status: 200, body: control.status() };
      const raw = query.get('dryrun') ?? query.get('dryRun');
      if (raw !== null && raw !== 'true' && raw !== 'false') {
        return { status: 400, body: { error: `query parameter dryrun must be true or false, got ${JSON.stringify(raw.slice(0, 50))}` } };
      }
      const run = control.start('http', raw === null ? undefined : raw === 'true');
      if (!run) return { status: 409, body: { error: 'a garbage collection of this replica is in progress', ...control.status() } };
      run.catch(() => undefined); // reported by GET /gc, logs and metrics
      return { status: 202, body: { started: true, ...control.status() } };
    },
  };
}
