// What every section of the conformance suite shares: the driver under test, the resolved options,
// and a unique root per test that is deleted (and checked empty) afterwards.
import { expect } from '@jest/globals';
import type { StorageDriver } from '../types.js';
import { MiB } from './content.js';
import { deleteIfPresent, uniqueRoot, walkPaths } from './probes.js';

export interface ConformanceOptions {
  /** Size of the large round trip, MiB. Env KUIK_CONFORMANCE_LARGE_MIB overrides. Default 256. */
  largeSizeMiB?: number;
  /** Size of the object overwritten while readers poll, MiB. Default 32 (at most largeSizeMiB). */
  atomicSizeMiB?: number;
  /** Keys in one directory for list/walk (beyond one listing page). Env KUIK_CONFORMANCE_MANY_KEYS. Default 2000. */
  manyKeys?: number;
  /** Parallel operations in the concurrency tests. Default 64. */
  concurrency?: number;
  /**
   * The driver keeps content in this process's memory (inmemory): resident memory may then grow by
   * the content itself during a round trip, but not by a second copy.
   */
  holdsContentInMemory?: boolean;
  /**
   * Resident memory a large round trip may add beyond the content the driver holds, MiB. Default 96:
   * V8 frees dropped chunk buffers lazily (tens of MiB of garbage is normal); a driver that
   * buffers the object exceeds it by far at the default 256 MiB.
   */
  rssBudgetMiB?: number;
  /** true: the driver must give redirect URLs (on 127.0.0.1). false (default): it must give none. */
  expectRedirect?: boolean;
  /** Descriptors a driver may keep after the abort tests (pooled keep-alive sockets). Default 4. */
  fdSlack?: number;
  /** Aborted reads/writes per abort test (a leak of one descriptor each must exceed fdSlack). Default 16. */
  abortRounds?: number;
  /** Timeout of the large tests, ms. Default: 60 s plus 1 s per 4 MiB. */
  largeTimeoutMs?: number;
}

export type ResolvedOptions = Required<Omit<ConformanceOptions, 'largeTimeoutMs'>> & { largeTimeoutMs: number };

export interface SuiteContext {
  readonly label: string;
  readonly opts: ResolvedOptions;
  /** The driver created in beforeAll. */
  driver(): StorageDriver;
  /** A second, independent instance over the same storage (a restarted process). */
  makeDriver(): Promise<StorageDriver>;
  /** Runs body under a fresh root; afterwards deletes it and asserts that walk finds nothing left. */
  withRoot(body: (root: string) => Promise<void>): Promise<void>;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function resolveOptions(o: ConformanceOptions = {}): ResolvedOptions {
  const largeSizeMiB = envInt('KUIK_CONFORMANCE_LARGE_MIB') ?? o.largeSizeMiB ?? 256;
  return {
    largeSizeMiB,
    atomicSizeMiB: Math.max(1, Math.min(o.atomicSizeMiB ?? 32, largeSizeMiB)),
    manyKeys: envInt('KUIK_CONFORMANCE_MANY_KEYS') ?? o.manyKeys ?? 2000,
    concurrency: o.concurrency ?? 64,
    holdsContentInMemory: o.holdsContentInMemory ?? false,
    rssBudgetMiB: o.rssBudgetMiB ?? 96,
    expectRedirect: o.expectRedirect ?? false,
    fdSlack: o.fdSlack ?? 4,
    abortRounds: o.abortRounds ?? 16,
    largeTimeoutMs: o.largeTimeoutMs ?? 60_000 + Math.ceil((largeSizeMiB * MiB) / (4 * MiB)) * 1000,
  };
}

export function makeContext(label: string, opts: ResolvedOptions, makeDriver: () => Promise<StorageDriver>): SuiteContext & {
  /** Sets the driver under test; returns the previous one. */
  setDriver(d: StorageDriver | undefined): StorageDriver | undefined;
} {
  let current: StorageDriver | undefined;
  const driver = (): StorageDriver => {
    if (!current) throw new Error('conformance: driver not created (did beforeAll fail?)');
    return current;
  };
  return {
    label,
    opts,
    driver,
    makeDriver,
    setDriver(d) {
      const previous = current;
      current = d;
      return previous;
    },
    async withRoot(body) {
      const root = uniqueRoot(label);
      let passed = false;
      try {
        await body(root);
        passed = true;
      } finally {
        // After a failure, keep the test's own error rather than a clean-up one.
        await deleteIfPresent(driver(), root).catch((e: unknown) => {
          if (passed) throw e;
        });
      }
      expect(await walkPaths(driver(), root)).toEqual([]);
    },
  };
}
