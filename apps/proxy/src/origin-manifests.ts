// Manifest fetches from origins, single-flight per (cache repository, reference): twenty nodes'
// worth of concurrent pulls of one tag cost the origin one GET.
import type { Manifest } from '@kuik/oci/client';
import type { ProxyMetrics } from './metrics.js';
import type { Origins } from './origins.js';
import type { Target } from './routing.js';
import { SingleFlight } from './single-flight.js';

export class OriginManifests {
  private readonly flights = new SingleFlight<Manifest>();

  constructor(
    private readonly origins: Origins,
    private readonly metrics: ProxyMetrics,
  ) {}

  fetch(target: Target, reference: string): Promise<Manifest> {
    const { promise, joined } = this.flights.run(`${target.cacheRepository}@${reference}`, async () => {
      this.metrics.originFetches.labels(target.origin, 'manifest').inc();
      return this.origins.for(target).getManifest(target.repository, reference);
    });
    if (joined) this.metrics.singleFlightJoins.labels('manifest').inc();
    return promise;
  }
}
