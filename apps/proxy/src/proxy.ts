// Wires the proxy together from its configuration and starts listening. Used by main.ts and,
// in-process, by the tests. Start-up reads no Secret, lists nothing and contacts nobody: the
// proxy is ready as soon as its socket is bound.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { anonymous, ChainedCredentials, cloudCredentialsFrom, DockerConfigCredentials, type CredentialsResolver } from '@kuik/oci/client';
import { startOpsServer, type Logger, type OpsServer } from '@kuik/observability';
import { TEMP_PREFIX } from './blob-download.js';
import { CacheRegistry } from './cache.js';
import { Grants, PrivateRepositories } from './client-auth.js';
import type { ProxyConfig } from './config.js';
import type { ProxyContext } from './context.js';
import { Downloads } from './downloads.js';
import { CacheFiller } from './fill.js';
import { startKubernetesCredentials } from './kube/start.js';
import { createProxyMetrics } from './metrics.js';
import { OriginManifests } from './origin-manifests.js';
import { Origins } from './origins.js';
import { createProxyServer } from './server.js';
import { TagFreshness } from './tag-freshness.js';

export const VERSION = process.env['KUIK_BUILD_VERSION'] ?? '0.0.0-dev';

export interface Proxy {
  context: ProxyContext;
  /** Base URL of the proxy, e.g. http://127.0.0.1:7439 */
  url: string;
  ops: OpsServer | null;
  close(drainMs?: number): Promise<void>;
}

export async function startProxy(config: ProxyConfig, options: { logger: Logger }): Promise<Proxy> {
  const { logger } = options;
  prepareDataDir(config.dataDir, logger);
  const metrics = createProxyMetrics(VERSION);
  const userAgent = `kuik-proxy/${VERSION}`;
  const cache = new CacheRegistry({
    url: config.registry.url,
    timeouts: config.registry.timeouts,
    retryAfterMs: config.registry.retryAfterMs,
    manifestMaxBytes: config.limits.manifestMaxBytes,
    userAgent,
    logger,
  });
  // Kubernetes Secrets first (the most specific: per Repository), then the Docker config file, then
  // the workload's own cloud identity.
  const kube = startKubernetesCredentials(config, userAgent, logger);
  const resolvers: CredentialsResolver[] = [];
  if (kube) resolvers.push(kube);
  if (config.credentials.dockerConfig) resolvers.push(new DockerConfigCredentials(config.credentials.dockerConfig));
  // Last: a pull secret or config.json entry for a cloud registry wins over the workload's identity.
  const insecure = new Set(config.insecureRegistries);
  resolvers.push(...cloudCredentialsFrom(config.credentials, (host) => insecure.has(host)));
  const origins = new Origins({
    insecureRegistries: config.insecureRegistries,
    ca: config.rootCertificateAuthorities.map((c) => c.pem),
    credentials: resolvers.length === 0 ? anonymous : resolvers.length === 1 ? resolvers[0]! : new ChainedCredentials(resolvers),
    timeouts: config.origins.timeouts,
    manifestMaxBytes: config.limits.manifestMaxBytes,
    userAgent,
  });
  const downloads = new Downloads({ dataDir: config.dataDir, cache, origins, fill: config.cache.fill, metrics, logger });
  const originManifests = new OriginManifests(origins, metrics);
  const filler = new CacheFiller({
    enabled: config.cache.fill,
    indexChildren: config.cache.indexChildren,
    concurrency: config.cache.fillConcurrency,
    cache,
    downloads,
    originManifests,
    metrics,
    logger,
  });
  const context: ProxyContext = {
    config,
    cache,
    origins,
    downloads,
    originManifests,
    filler,
    tags: new TagFreshness(config.tags.refreshIntervalMs),
    grants: new Grants({ ttlMs: config.clientCredentials.grantTtlMs, staleMs: config.clientCredentials.staleGrantTtlMs }),
    privateRepositories: new PrivateRepositories(),
    metrics,
    logger,
    kube,
  };

  const server = createProxyServer(context);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing = false;
  const ops = config.metricsAddr
    ? await startOpsServer({
        host: config.metricsAddr.host,
        port: config.metricsAddr.port,
        registry: metrics.registry,
        // Ready means "can serve": the cache registry being down is not a reason to stop pulls.
        readiness: [{ name: 'shutdown', check: async () => (closing ? 'shutting down' : undefined) }],
      })
    : null;
  const a = server.address() as AddressInfo;
  const url = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  logger.info('proxy listening', {
    addr: `${a.address}:${a.port}`,
    metricsAddr: ops ? `${ops.address().host}:${ops.address().port}` : null,
    registry: config.registry.url,
    defaultOrigin: config.defaultOrigin,
    version: VERSION,
  });

  let closed: Promise<void> | undefined;
  return {
    context,
    url,
    ops,
    close(drainMs = 10_000) {
      closed ??= (async () => {
        closing = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.closeAllConnections();
            resolve();
          }, drainMs);
          timer.unref();
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
        });
        downloads.abortAll();
        kube?.close();
        await ops?.close();
        await Promise.all([origins.close(), cache.close()]);
      })();
      return closed;
    },
  };
}

/** Creates the data directory and removes temp files a killed process may have left. */
function prepareDataDir(dir: string, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    rmSync(path.join(dir, name), { force: true });
    logger.info('removed a leftover download file', { file: name });
  }
}
