// Everything a request handler needs, built once by proxy.ts.
import type { Logger } from '@kuik/observability';
import type { CacheRegistry } from './cache.js';
import type { Grants, PrivateRepositories } from './client-auth.js';
import type { ProxyConfig } from './config.js';
import type { Downloads } from './downloads.js';
import type { KubernetesCredentials } from './kube/start.js';
import type { CacheFiller } from './fill.js';
import type { ProxyMetrics } from './metrics.js';
import type { OriginManifests } from './origin-manifests.js';
import type { Origins } from './origins.js';
import type { TagFreshness } from './tag-freshness.js';

export interface ProxyContext {
  config: ProxyConfig;
  cache: CacheRegistry;
  origins: Origins;
  downloads: Downloads;
  originManifests: OriginManifests;
  filler: CacheFiller;
  tags: TagFreshness;
  /** Client credentials the origins accepted, per repository (client-auth.ts). */
  grants: Grants;
  /** Repositories whose shared route recently failed a client with credentials. */
  privateRepositories: PrivateRepositories;
  metrics: ProxyMetrics;
  logger: Logger;
  /** Pull secrets read from the Kubernetes API, when configured. */
  kube?: KubernetesCredentials;
}
