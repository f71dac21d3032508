// A manifest PUT that checked its references before a collection quarantined them and commits
// only after the collector's re-check (slower than the settle time): the PUT's check after its
// commit must either keep the blob (putting it back from quarantine) or fail and take its link
// back — never leave a manifest whose blob the collector deletes. The link write is held at a
// gate so that the interleaving is exact.
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@kuik/observability';
import { digestOf, MediaType, OciError, parseManifestReference, type Digest } from '@kuik/oci';
import { createDriver, type StorageDriver } from '@kuik/storage';
import { randomBytes, randomUUID } from 'node:crypto';
import { createStores, type Stores } from '../store/backend.js';
import { layout } from '../store/layout.js';
import { collectGarbage, type GcStats } from './collector.js';

const logger = createLogger({ component: 'gc-test', level: 'error', sink: () => undefined });

interface Gate {
  /** Resolves when a held call has arrived at the gate. */
  arrived: Promise<void>;
  open(): void;
}

type Hold = (method: string, path: string) => boolean;

/** The driver, with the calls `hold` picks held until the gate opens. */
function holding(driver: StorageDriver, hold: Hold): { driver: StorageDriver; gate: Gate } {
  let arrive!: () => void;
  let open!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const opened = new Promise<void>((r) => (open = r));
  const held = new Proxy(driver, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const fn = (v as (...a: unknown[]) => unknown).bind(target);
      if (prop === 'walk') {
        // An async iterable: hold before the first item.
        return (p: string, o?: object) =>
          (async function* () {
            if (hold('walk', p)) {
              arrive();
              await opened;
            }
            yield* fn(p, o) as AsyncIterable<unknown>;
          })();
      }
      return async (p: string, ...rest: unknown[]) => {
        if (hold(String(prop), p)) {
          arrive();
          await opened;
        }
        return fn(p, ...rest);
      };
    },
  });
  return { driver: held, gate: { arrived, open } };
}

async function setup(): Promise<{ driver: StorageDriver; repo: string; layer: Digest; manifest: Buffer; digest: Digest }> {
  const driver = await createDriver('inmemory', { name: randomUUID() });
  const repo = 'gc/race';
  const stores = createStores(driver, { manifestMaxBytes: 4 << 20, deleteEnabled: true, redirects: false, readOnly: false });
  // An old blob, linked into the repository but referenced by no manifest: a candidate.
  const layerBytes = randomBytes(3000);
  const layer = digestOf(layerBytes);
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  for (const [d, bytes] of [
    [layer, layerBytes],
    [digestOf(config), config],
  ] as const) {
    await stores.blobs.putSmall(d, bytes);
    await stores.blobs.link(repo, d);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer, size: layerBytes.length }],
    }),
  );
  return { driver, repo, layer, manifest, digest: digestOf(manifest) };
}

function collect(driver: StorageDriver, stores: Stores, onProgress?: (s: GcStats) => void): Promise<GcStats> {
  // No grace: everything written before the run is old enough to be a candidate.
  return collectGarbage(driver, stores, {
    dryRun: false,
    deleteUntagged: false,
    gracePeriodMs: 0,
    settleMs: 50,
    manifestMaxBytes: 4 << 20,
    mayDelete: () => true,
    logger,
    onProgress,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const storesOn = (driver: StorageDriver) => createStores(driver, { manifestMaxBytes: 4 << 20, deleteEnabled: true, redirects: false, readOnly: false });

/** Every manifest the repository has is complete: the invariant none of the races may break. */
async function expectNothingDangles(stores: Stores, repo: string, digest: Digest, layer: Digest): Promise<void> {
  if (!(await stores.manifests.hasRevision(repo, digest))) return;
  expect((await stores.manifests.get(repo, { kind: 'digest', digest })).digest).toBe(digest);
  expect(await stores.blobs.globalSize(layer)).toBe(3000);
}

describe('a manifest PUT racing a garbage collection run', () => {
  it('that commits after the run deleted its blob fails cleanly and leaves nothing behind', async () => {
    const { driver, repo, layer, manifest, digest } = await setup();
    const { driver: held, gate } = holding(driver, (m, p) => m === 'putContent' && p === layout.revisionLink(repo, digest));
    const put = storesOn(held).manifests.put(repo, parseManifestReference('v1'), manifest, MediaType.OciManifest);
    put.catch(() => undefined);
    await gate.arrived; // checked, not committed
    await sleep(10); // all of it older than the run (no grace period here)
    const stats = await collect(driver, storesOn(driver));
    // The layer, the config and the manifest's own content (written before its link).
    expect(stats.blobsSwept).toBe(3);
    gate.open();
    const err = await put.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OciError);
    expect((err as OciError).code).toBe('MANIFEST_BLOB_UNKNOWN');
    const stores = storesOn(driver);
    expect(await stores.manifests.hasRevision(repo, digest)).toBe(false);
    expect(await stores.tags.resolve(repo, 'v1')).toBeNull();
    expect(await stores.blobs.globalSize(layer)).toBeNull();
    await expectNothingDangles(stores, repo, digest, layer);
  });

  it('that commits while its blob is in quarantine, before the re-check, puts it back and the run keeps it', async () => {
    const { driver, repo, layer, manifest, digest } = await setup();
    const { driver: putDriver, gate: putGate } = holding(driver, (m, p) => m === 'putContent' && p === layout.revisionLink(repo, digest));
    // The collector's second walk of the repositories (its re-check) waits for the PUT.
    let walks = 0;
    const { driver: gcDriver, gate: recheckGate } = holding(driver, (m, p) => m === 'walk' && p === layout.repositoriesRoot && ++walks === 2);
    const put = storesOn(putDriver).manifests.put(repo, parseManifestReference('v1'), manifest, MediaType.OciManifest);
    await putGate.arrived;
    await sleep(10); // all of it older than the run (no grace period here)
    const running = collect(gcDriver, storesOn(gcDriver));
    await recheckGate.arrived; // blobs in quarantine
    putGate.open();
    await expect(put).resolves.toEqual({ digest });
    recheckGate.open();
    const stats = await running;
    expect(stats.blobsSwept).toBe(0);
    const stores = storesOn(driver);
    expect(await stores.blobs.globalSize(layer)).toBe(3000);
    expect((await stores.manifests.get(repo, parseManifestReference('v1'))).digest).toBe(digest);
    // A later run keeps it too (it is referenced now).
    expect((await collect(driver, stores)).blobsSwept).toBe(0);
    await expectNothingDangles(stores, repo, digest, layer);
  });

  it('that commits after the re-check, before the delete, puts its blob back in time', async () => {
    const { driver, repo, layer, manifest, digest } = await setup();
    const { driver: putDriver, gate: putGate } = holding(driver, (m, p) => m === 'putContent' && p === layout.revisionLink(repo, digest));
    // The collector's deletions of what it quarantined wait for the PUT.
    const { driver: gcDriver, gate: deleteGate } = holding(driver, (m, p) => m === 'delete' && p.startsWith(`${layout.gcQuarantineDir}/`));
    const put = storesOn(putDriver).manifests.put(repo, parseManifestReference('v1'), manifest, MediaType.OciManifest);
    await putGate.arrived;
    await sleep(10); // all of it older than the run (no grace period here)
    const running = collect(gcDriver, storesOn(gcDriver));
    await deleteGate.arrived; // re-check done without seeing the link
    putGate.open();
    await expect(put).resolves.toEqual({ digest });
    deleteGate.open();
    const stats = await running;
    expect(stats.blobsSwept).toBe(0); // the PUT put back all it references, and its own content
    const stores = storesOn(driver);
    expect(await stores.blobs.globalSize(layer)).toBe(3000);
    await expectNothingDangles(stores, repo, digest, layer);
    expect((await collect(driver, stores)).blobsSwept).toBe(0);
  });
});
