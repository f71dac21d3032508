// Removes upload sessions older than the configured age (abandoned pushes), like distribution's
// uploadpurging. Safe with several replicas: each session is judged by its own startedat time,
// and removing one twice is harmless.
import type { Logger } from '@kuik/observability';
import type { RegistryConfig } from '../config.js';
import type { Stores } from '../store/backend.js';

export interface UploadPurger {
  /** One pass; resolves with the number of sessions removed (or that would be, in dry-run). */
  runOnce(now?: Date): Promise<number>;
  stop(): Promise<void>;
}

export function startUploadPurger(
  stores: Stores,
  settings: RegistryConfig['storage']['uploadPurging'],
  logger: Logger,
  onPurged: (n: number) => void,
): UploadPurger {
  const aborter = new AbortController();
  let running: Promise<number> | undefined;

  const pass = async (now: Date): Promise<number> => {
    let removed = 0;
    const signal = aborter.signal;
    for (const repo of await stores.repositories.all({ signal, withUploads: true })) {
      for (const session of await stores.uploads.sessions(repo, signal)) {
        // A session with no readable start time is treated as old: it cannot be resumed anyway.
        const age = session.startedAt ? now.getTime() - session.startedAt.getTime() : Infinity;
        if (age < settings.ageMs) continue;
        removed++;
        if (settings.dryRun) {
          logger.info('upload purge (dry run): would remove', { repository: repo, upload: session.id });
          continue;
        }
        await stores.uploads.discard(repo, session.id);
      }
    }
    return removed;
  };

  const runOnce = (now = new Date()): Promise<number> => {
    running ??= pass(now)
      .then((n) => {
        if (n > 0 && !settings.dryRun) onPurged(n);
        if (n > 0) logger.info('upload purge done', { removed: n, dryRun: settings.dryRun });
        return n;
      })
      .finally(() => (running = undefined));
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  if (settings.enabled) {
    const tick = () => {
      runOnce().catch((err: unknown) => {
        if (!aborter.signal.aborted) logger.warn('upload purge failed', { err });
      });
    };
    // First pass soon after start (distribution waits a little too), then on the interval.
    timer = setTimeout(function again() {
      tick();
      timer = setTimeout(again, settings.intervalMs);
      timer.unref();
    }, Math.min(60_000, settings.intervalMs));
    timer.unref();
  }

  return {
    runOnce,
    async stop() {
      if (timer) clearTimeout(timer);
      aborter.abort();
      await running?.catch(() => undefined);
    },
  };
}
