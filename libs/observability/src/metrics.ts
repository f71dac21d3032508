// One Prometheus registry per process, with the process/runtime collectors and build_info.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface MetricsOptions {
  /** Metric name prefix, e.g. "kube_image_keeper_registry_". */
  prefix: string;
  version: string;
  /** Collect Node runtime metrics (process_*, nodejs_*). */
  defaults?: boolean;
}

export function createMetricsRegistry(opts: MetricsOptions): Registry {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: `${opts.prefix}build_info`,
    help: 'Build information; the value is always 1.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  info.labels(opts.version, process.versions.node).set(1);
  const up = new Gauge({ name: `${opts.prefix}up`, help: '1 while the process runs.', registers: [registry] });
  up.set(1);
  return registry;
}

/** Latency buckets suited to HTTP handlers and storage calls (1 ms .. 60 s). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
