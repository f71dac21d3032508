// Wires a registry together from its configuration: storage driver (with metrics), backend,
// HTTP server, operations server (metrics, /healthz, /readyz) and upload purging. Used by
// main.ts and, in-process, by the integration tests.
import type { AuthorizeHook } from '@kuik/oci';
import { startOpsServer, type Logger, type OpsServer } from '@kuik/observability';
import { createDriver, isStorageError, type StorageDriver } from '@kuik/storage';
import type { RegistryConfig } from './config.js';
import { gcAction, GcControl, startGcScheduler, type GcOutcome, type GcScheduler } from './gc/runner.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { startUploadPurger, type UploadPurger } from './maintenance/purge-uploads.js';
import { createRegistryMetrics, type RegistryMetrics } from './metrics.js';
import { createStorageBackend, createStores, type Stores } from './store/backend.js';

export const VERSION = process.env['KUIK_BUILD_VERSION'] ?? '0.0.0-dev';

export interface Registry {
  config: RegistryConfig;
  driver: StorageDriver;
  stores: Stores;
  http: HttpServer;
  ops: OpsServer | null;
  purger: UploadPurger;
  gc: GcScheduler;
  /** One garbage collection now, under the storage lease (tests); busy when one of this process runs. */
  collectGarbage(options?: { dryRun?: boolean }): Promise<GcOutcome>;
  metrics: RegistryMetrics;
  /** Base URL of the registry API, e.g. http://127.0.0.1:5000 */
  url: string;
  /** Drains HTTP, stops maintenance, closes storage. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  authorize?: AuthorizeHook;
  /** Use this driver instead of creating one from the configuration (tests). */
  driver?: StorageDriver;
}

export async function startRegistry(config: RegistryConfig, options: StartOptions): Promise<Registry> {
  const { logger } = options;
  for (const key of config.ignored) logger.warn('configuration key not supported by this registry; ignored', { key });
  const metrics = createRegistryMetrics(VERSION);
  const driver = options.driver ?? (await openDriver(config, metrics));
  const backendOptions = {
    manifestMaxBytes: config.limits.manifestMaxBytes,
    deleteEnabled: config.storage.deleteEnabled,
    redirects: config.storage.redirect,
    readOnly: config.storage.readOnly,
  };
  const stores = createStores(driver, backendOptions);
  const backend = createStorageBackend(stores, backendOptions);
  let closing = false;

  const http = await startHttpServer({ config, backend, metrics, logger, authorize: options.authorize });
  const purger = startUploadPurger(stores, config.storage.uploadPurging, logger, (n) => metrics.uploadsPurged.inc(n));
  const gcDeps = {
    driver,
    stores,
    settings: config.garbageCollection,
    manifestMaxBytes: Math.max(config.limits.manifestMaxBytes, 4 << 20) * 4,
    logger: logger.child({ task: 'gc' }),
    metrics,
    purgeUploads: () => purger.runOnce(),
  };
  const gcControl = new GcControl(gcDeps);
  const ops = config.http.debugAddr
    ? await startOpsServer({
        host: config.http.debugAddr.host,
        port: config.http.debugAddr.port,
        registry: metrics.registry,
        readiness: [
          { name: 'shutdown', check: async () => (closing ? 'shutting down' : undefined) },
          { name: 'storage', check: (signal) => storageReady(driver, signal) },
        ],
        actions: [gcAction(gcControl)],
      })
    : null;
  const gc = startGcScheduler(gcControl, gcDeps);

  const a = http.address();
  const url = `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  logger.info('registry listening', {
    addr: `${a.host}:${a.port}`,
    debugAddr: ops ? `${ops.address().host}:${ops.address().port}` : null,
    storage: driver.name,
    delete: config.storage.deleteEnabled,
    readOnly: config.storage.readOnly,
    version: VERSION,
  });

  let closed: Promise<void> | undefined;
  return {
    config,
    driver,
    stores,
    http,
    ops,
    purger,
    gc,
    collectGarbage: (o) => gcControl.start('api', o?.dryRun) ?? Promise.resolve({ ran: false, reason: 'busy' }),
    metrics,
    url,
    close() {
      closed ??= (async () => {
        closing = true;
        await http.drain(config.http.drainTimeoutMs);
        await gc.stop();
        await gcControl.close();
        await purger.stop();
        await ops?.close();
        if (!options.driver) await driver.close?.();
      })();
      return closed;
    },
  };
}

/** DriverConfigError messages already name the key (storage.<driver>.<key>). */
function openDriver(config: RegistryConfig, metrics: RegistryMetrics): Promise<StorageDriver> {
  return createDriver(config.storage.driver, config.storage.params, { metrics: metrics.storage });
}

/** Ready when the driver's own health check passes, or (without one) when storage answers a listing. */
async function storageReady(driver: StorageDriver, signal: AbortSignal): Promise<void> {
  if (driver.healthCheck) return driver.healthCheck({ signal });
  try {
    await driver.list('/', { signal });
  } catch (err) {
    // An empty store is a reachable store.
    if (!isStorageError(err, 'PathNotFound')) throw err;
  }
}
