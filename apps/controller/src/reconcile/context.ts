// What every reconciler shares: the API client, the informer caches, the usage index, the
// registries, configuration, logs and metrics. Reconcilers read from the caches and write to
// the API; they never keep state of their own across runs (a new leader starts from the caches).
import type { Logger } from '@kuik/observability';
import type { ControllerConfig } from '../config.js';
import type { CachedImage, Repository } from '../crds/types.js';
import type { KubeClient } from '../kube/client.js';
import type { Informer } from '../kube/informer.js';
import type { ControllerMetrics } from '../metrics.js';
import type { ImageRegistries } from '../registry/port.js';
import type { CredentialResolver } from '../registry/resolver.js';
import type { UsageIndex } from '../usage/index.js';
import type { PodUses } from '../usage/sources.js';

export interface ReconcileContext {
  client: KubeClient;
  config: ControllerConfig;
  logger: Logger;
  metrics: ControllerMetrics;
  index: UsageIndex;
  cachedImages: Informer<CachedImage>;
  repositories: Informer<Repository>;
  pods: Informer<PodUses>;
  registries: ImageRegistries;
  credentials: CredentialResolver;
  now: () => number;
}

export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
