// The proxy's Prometheus metrics. kube_image_keeper_proxy_http_requests_total keeps the name and
// labels of kuik v1 (users alert on it); the rest say where bytes came from and how the cache
// fill is doing.
import { createMetricsRegistry } from '@kuik/observability';
import { Counter, Gauge, type Registry } from 'prom-client';

const PREFIX = 'kube_image_keeper_proxy_';

export interface ProxyMetrics {
  registry: Registry;
  /** registry = origin host; cacheHit = "true" when served from the kuik registry. */
  requests: Counter<'registry' | 'statusCode' | 'cacheHit'>;
  /** Bytes of blobs and manifests sent to clients, by where they came from. */
  bytesServed: Counter<'source'>;
  /** Requests sent to origins for content (manifests, blobs, revalidations). */
  originFetches: Counter<'registry' | 'kind'>;
  /** Requests that joined a download already in progress instead of fetching again. */
  singleFlightJoins: Counter<'kind'>;
  cacheFills: Counter<'kind'>;
  cacheFillFailures: Counter<'kind'>;
  tagRevalidations: Counter<'result'>;
  /** Private-route requests by how the client's credentials were judged (client-auth.ts). */
  clientCredentialChecks: Counter<'result'>;
  downloadsInProgress: Gauge;
}

export function createProxyMetrics(version: string): ProxyMetrics {
  const registry = createMetricsRegistry({ prefix: PREFIX, version });
  const r = [registry];
  return {
    registry,
    requests: new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'Requests answered, by origin registry, HTTP status and whether the cache served them.',
      labelNames: ['registry', 'statusCode', 'cacheHit'],
      registers: r,
    }),
    bytesServed: new Counter({ name: `${PREFIX}served_bytes_total`, help: 'Content bytes sent to clients, by source (cache or origin).', labelNames: ['source'], registers: r }),
    originFetches: new Counter({ name: `${PREFIX}origin_fetches_total`, help: 'Content requests sent to origin registries.', labelNames: ['registry', 'kind'], registers: r }),
    singleFlightJoins: new Counter({
      name: `${PREFIX}single_flight_joins_total`,
      help: 'Requests served from a fetch already in progress.',
      labelNames: ['kind'],
      registers: r,
    }),
    cacheFills: new Counter({ name: `${PREFIX}cache_fills_total`, help: 'Blobs and manifests written into the cache.', labelNames: ['kind'], registers: r }),
    cacheFillFailures: new Counter({ name: `${PREFIX}cache_fill_failures_total`, help: 'Cache writes that failed.', labelNames: ['kind'], registers: r }),
    tagRevalidations: new Counter({
      name: `${PREFIX}tag_revalidations_total`,
      help: 'Cached tags checked against their origin, by result (unchanged, changed, failed).',
      labelNames: ['result'],
      registers: r,
    }),
    clientCredentialChecks: new Counter({
      name: `${PREFIX}client_credential_checks_total`,
      help: 'Requests on the private route, by result: fresh (a recent acceptance), checked (the origin accepted now), stale (origin unreachable, an older acceptance), refused, not_found, unavailable.',
      labelNames: ['result'],
      registers: r,
    }),
    downloadsInProgress: new Gauge({ name: `${PREFIX}downloads_in_progress`, help: 'Blob downloads from origins in progress.', registers: r }),
  };
}
