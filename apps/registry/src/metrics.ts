// The registry's Prometheus metrics, all prefixed kube_image_keeper_registry_.
import { createMetricsRegistry, LATENCY_BUCKETS } from '@kuik/observability';
import type { StorageMetrics } from '@kuik/storage';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const METRIC_PREFIX = 'kube_image_keeper_registry_';

export interface RegistryMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  inFlight: Gauge;
  bytesReceived: Counter<'route'>;
  bytesSent: Counter<'route'>;
  uploadsPurged: Counter;
  gc: GcMetrics;
  storage: StorageMetrics;
}

export interface GcMetrics {
  runs: Counter<'outcome'>;
  running: Gauge;
  blobsMarked: Gauge;
  blobsSwept: Counter;
  bytesFreed: Counter;
  manifestsDeleted: Counter;
  durationSeconds: Gauge;
  lastSuccess: Gauge;
}

export function createRegistryMetrics(version: string): RegistryMetrics {
  const registry = createMetricsRegistry({ prefix: METRIC_PREFIX, version });
  const registers = [registry];
  const storageDuration = new Histogram({
    name: `${METRIC_PREFIX}storage_operation_duration_seconds`,
    help: 'Latency of storage driver calls.',
    labelNames: ['driver', 'operation', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const storageBytes = new Counter({
    name: `${METRIC_PREFIX}storage_bytes_total`,
    help: 'Bytes read from and written to storage.',
    labelNames: ['driver', 'direction'],
    registers,
  });
  return {
    registry,
    requests: new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time to answer HTTP requests, by method and route.',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    inFlight: new Gauge({ name: `${METRIC_PREFIX}http_requests_in_flight`, help: 'HTTP requests being served.', registers }),
    bytesReceived: new Counter({
      name: `${METRIC_PREFIX}http_received_bytes_total`,
      help: 'Request body bytes received, by route.',
      labelNames: ['route'],
      registers,
    }),
    bytesSent: new Counter({
      name: `${METRIC_PREFIX}http_sent_bytes_total`,
      help: 'Bytes sent on the wire for responses (headers included), by route.',
      labelNames: ['route'],
      registers,
    }),
    uploadsPurged: new Counter({ name: `${METRIC_PREFIX}uploads_purged_total`, help: 'Abandoned upload sessions removed.', registers }),
    gc: {
      runs: new Counter({
        name: `${METRIC_PREFIX}gc_runs_total`,
        help: 'Garbage collection runs, by outcome (success, failure, skipped: another replica held the lease).',
        labelNames: ['outcome'],
        registers,
      }),
      running: new Gauge({ name: `${METRIC_PREFIX}gc_running`, help: '1 while this replica collects garbage.', registers }),
      blobsMarked: new Gauge({ name: `${METRIC_PREFIX}gc_blobs_marked`, help: 'Blobs found referenced by the last garbage collection.', registers }),
      blobsSwept: new Counter({ name: `${METRIC_PREFIX}gc_blobs_swept_total`, help: 'Unreferenced blobs deleted by garbage collection.', registers }),
      bytesFreed: new Counter({ name: `${METRIC_PREFIX}gc_bytes_freed_total`, help: 'Bytes of blobs deleted by garbage collection.', registers }),
      manifestsDeleted: new Counter({
        name: `${METRIC_PREFIX}gc_manifests_deleted_total`,
        help: 'Untagged manifests deleted by garbage collection (deleteuntagged).',
        registers,
      }),
      durationSeconds: new Gauge({ name: `${METRIC_PREFIX}gc_duration_seconds`, help: 'Duration of the last garbage collection.', registers }),
      lastSuccess: new Gauge({
        name: `${METRIC_PREFIX}gc_last_success_timestamp_seconds`,
        help: 'When the last garbage collection finished successfully.',
        registers,
      }),
    },
    storage: {
      observe: (driver, operation, seconds, outcome) => storageDuration.labels(driver, operation, outcome).observe(seconds),
      bytes: (driver, direction, n) => storageBytes.labels(driver, direction).inc(n),
    },
  };
}
