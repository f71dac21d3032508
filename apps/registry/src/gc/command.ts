// `main.js gc --config FILE [--dry-run]`: one garbage collection now, from any host that has the
// registry's configuration (kubectl exec into a replica, a CronJob, a VM). It takes the same
// storage lease as the replicas' scheduled runs, so it never runs beside one. Prints the run's
// figures as one JSON line on stdout. Exit codes: 0 done, 3 another run holds the lease, 130
// interrupted (SIGTERM/SIGINT stop the run and release the lease, so the next run need not wait
// for it to expire).
import type { Logger } from '@kuik/observability';
import { createDriver } from '@kuik/storage';
import type { RegistryConfig } from '../config.js';
import { createStores } from '../store/backend.js';
import { startUploadPurger } from '../maintenance/purge-uploads.js';
import { runGarbageCollection } from './runner.js';

export const EXIT_BUSY = 3;
export const EXIT_INTERRUPTED = 130;

export async function gcCommand(config: RegistryConfig, logger: Logger, dryRun: boolean): Promise<number> {
  const driver = await createDriver(config.storage.driver, config.storage.params);
  try {
    const stores = createStores(driver, {
      manifestMaxBytes: config.limits.manifestMaxBytes,
      deleteEnabled: config.storage.deleteEnabled,
      redirects: false,
      readOnly: false,
    });
    const purging = { ...config.storage.uploadPurging, enabled: false, dryRun: dryRun || config.storage.uploadPurging.dryRun };
    const purger = startUploadPurger(stores, purging, logger, () => undefined);
    const aborter = new AbortController();
    const interrupt = (sig: NodeJS.Signals) => aborter.abort(new Error(`garbage collection interrupted by ${sig}`));
    process.once('SIGTERM', interrupt).once('SIGINT', interrupt);
    let outcome;
    try {
      outcome = await runGarbageCollection(
        {
          driver,
          stores,
          settings: config.garbageCollection,
          manifestMaxBytes: Math.max(config.limits.manifestMaxBytes, 4 << 20) * 4,
          logger,
          purgeUploads: () => purger.runOnce(),
          signal: aborter.signal,
        },
        { dryRun: dryRun || config.garbageCollection.dryRun },
      );
    } catch (err) {
      if (!aborter.signal.aborted) throw err;
      return EXIT_INTERRUPTED; // the runner released the lease on its way out
    } finally {
      process.off('SIGTERM', interrupt).off('SIGINT', interrupt);
      await purger.stop();
    }
    console.log(JSON.stringify(outcome.ran ? { ran: true, ...outcome.stats } : outcome));
    return outcome.ran ? 0 : EXIT_BUSY;
  } finally {
    await driver.close?.();
  }
}
