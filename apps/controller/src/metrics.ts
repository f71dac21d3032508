// The controller's Prometheus metrics. Names and labels of kube-image-keeper 1.x are kept (users
// alert on them); gauges are computed at scrape time from the informer caches, which every
// replica keeps, so every replica reports the same values (as 1.x did).
import { createMetricsRegistry, LATENCY_BUCKETS } from '@kuik/observability';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const PREFIX = 'kube_image_keeper_controller_';

export interface ControllerMetrics {
  registry: Registry;
  isLeader: Gauge;
  imageCachingRequest: Counter<'successful' | 'upstream_registry'>;
  imagePutInCache: Counter;
  imageRemovedFromCache: Counter;
  webhookLatency: Histogram<'outcome'>;
  kubeRequests: Counter<'verb' | 'code'>;
  reconciles: Counter<'queue' | 'outcome'>;
  reconcileSeconds: Histogram<'queue'>;
}

export interface GaugeSources {
  /** phase, isCached, expiring for every CachedImage. */
  cachedImages(): Iterable<{ phase: string; isCached: boolean; expiring: boolean }>;
  repositories(): Iterable<{ phase: string }>;
  /** For every rewritten container of a running pod: its CachedImage's phase and isCached (undefined when no CachedImage exists yet). */
  containers(): Iterable<{ phase: string; isCached: boolean } | undefined>;
}

export function createControllerMetrics(version: string, sources: () => GaugeSources | undefined): ControllerMetrics {
  const registry = createMetricsRegistry({ prefix: PREFIX, version });
  const r = [registry];
  const count = <T>(items: Iterable<T>, labels: (t: T) => Record<string, string>) => {
    const m = new Map<string, { labels: Record<string, string>; n: number }>();
    for (const it of items) {
      const l = labels(it);
      const k = JSON.stringify(l);
      const e = m.get(k);
      if (e) e.n++;
      else m.set(k, { labels: l, n: 1 });
    }
    return m.values();
  };
  new Gauge({
    name: `${PREFIX}cached_images`,
    help: 'Number of images expected to be cached',
    labelNames: ['status', 'cached', 'expiring'],
    registers: r,
    collect() {
      this.reset();
      const s = sources();
      if (!s) return;
      for (const { labels, n } of count(s.cachedImages(), (c) => ({ status: c.phase, cached: String(c.isCached), expiring: String(c.expiring) }))) this.set(labels, n);
    },
  });
  new Gauge({
    name: `${PREFIX}repositories`,
    help: 'Number of repositories',
    labelNames: ['status'],
    registers: r,
    collect() {
      this.reset();
      const s = sources();
      if (!s) return;
      for (const { labels, n } of count(s.repositories(), (x) => ({ status: x.phase }))) this.set(labels, n);
    },
  });
  new Gauge({
    name: `${PREFIX}containers_with_cached_image`,
    help: 'Number of containers that have been rewritten to use a cached image',
    labelNames: ['status', 'cached'],
    registers: r,
    collect() {
      this.reset();
      const s = sources();
      if (!s) return;
      for (const { labels, n } of count(s.containers(), (c) => ({ status: c?.phase ?? '', cached: String(c?.isCached ?? false) }))) this.set(labels, n);
    },
  });
  return {
    registry,
    isLeader: new Gauge({ name: `${PREFIX}is_leader`, help: 'Whether or not this replica is a leader. 1 if it is, 0 otherwise.', registers: r }),
    imageCachingRequest: new Counter({
      name: `${PREFIX}image_caching_request`,
      help: 'Number of request to cache an image',
      labelNames: ['successful', 'upstream_registry'],
      registers: r,
    }),
    imagePutInCache: new Counter({ name: `${PREFIX}image_put_in_cache_total`, help: 'Number of images put in cache successfully', registers: r }),
    imageRemovedFromCache: new Counter({ name: `${PREFIX}image_removed_from_cache_total`, help: 'Number of images removed from cache successfully', registers: r }),
    webhookLatency: new Histogram({
      name: `${PREFIX}webhook_request_duration_seconds`,
      help: 'Time to answer an admission request, by outcome (patched, unchanged, error)',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    kubeRequests: new Counter({ name: `${PREFIX}kube_api_requests_total`, help: 'Requests sent to the Kubernetes API, by verb and HTTP code', labelNames: ['verb', 'code'], registers: r }),
    reconciles: new Counter({ name: `${PREFIX}reconcile_total`, help: 'Reconciles, by queue and outcome', labelNames: ['queue', 'outcome'], registers: r }),
    reconcileSeconds: new Histogram({ name: `${PREFIX}reconcile_duration_seconds`, help: 'Reconcile duration, by queue', labelNames: ['queue'], buckets: LATENCY_BUCKETS, registers: r }),
  };
}
