// The storage driver conformance suite, written once and run against every driver: in-memory,
// filesystem, and the real MinIO, fake-gcs-server and Azurite servers. A driver is done when it
// passes. Each test works under its own random root prefix, so runs against one shared bucket
// never collide, and deletes it afterwards.
import { afterAll, beforeAll, describe } from '@jest/globals';
import type { StorageDriver } from '../types.js';
import { makeContext, resolveOptions, type ConformanceOptions } from './context.js';
import { atomicityTests } from './sections/atomicity.js';
import { concurrencyTests } from './sections/concurrency.js';
import { errorTests } from './sections/errors.js';
import { listingTests } from './sections/listing.js';
import { mutationTests } from './sections/mutations.js';
import { rangeTests } from './sections/ranges.js';
import { redirectTests } from './sections/redirect.js';
import { resourceTests } from './sections/resources.js';
import { roundTripTests } from './sections/roundtrip.js';
import { writerTests } from './sections/writers.js';

/**
 * Registers the conformance tests for one driver. makeDriver must return a driver wrapped by the
 * base wrapper (createDriver does), and each call must give an independent instance over the same
 * storage: the suite uses a second one to reopen an in-progress write as a restarted process would.
 */
export function describeDriverConformance(
  label: string,
  makeDriver: () => Promise<StorageDriver>,
  options?: ConformanceOptions,
): void {
  const ctx = makeContext(label, resolveOptions(options), makeDriver);
  describe(`storage driver conformance: ${label}`, () => {
    beforeAll(async () => {
      ctx.setDriver(await makeDriver());
    });
    afterAll(async () => {
      const d = ctx.setDriver(undefined);
      await d?.close?.();
    });
    roundTripTests(ctx);
    rangeTests(ctx);
    writerTests(ctx);
    atomicityTests(ctx);
    listingTests(ctx);
    mutationTests(ctx);
    errorTests(ctx);
    concurrencyTests(ctx);
    resourceTests(ctx);
    redirectTests(ctx);
  });
}
