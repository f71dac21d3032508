// Online garbage collection on one storage, driven through the registry's API: what it keeps
// (tags, index children, referrers), what it sweeps (unreferenced blobs; untagged manifests with
// deleteuntagged), dry run, the grace period, the storage lease, recovery of an interrupted run,
// and pushes racing the quarantine. On the filesystem and on the real MinIO.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@kuik/observability';
import { MediaType, type Digest } from '@kuik/oci';
import { parseRegistryConfig } from '../src/config.js';
import { acquireStorageLease } from '../src/gc/lock.js';
import { layout } from '../src/store/layout.js';
import { blobFiles, pushBlob, pushImage, pushManifest, random, sha } from './support/client.js';
import { createTestStorage, startTestRegistry, type TestRegistry, type TestStorage } from './support/harness.js';

const GRACE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gcConfig = (extra: Record<string, unknown> = {}) => ({
  garbagecollection: { enabled: false, graceperiod: `${GRACE_MS}ms`, settle: '300ms', lease: '5s', ratelimit: 2000, ...extra },
});

async function blobDigests(r: TestRegistry): Promise<Set<string>> {
  return new Set((await blobFiles(r.driver)).filter((p) => p.endsWith('/data')).map((p) => `sha256:${p.split('/').at(-2)}`));
}

async function fetchOk(url: string, digest: Digest): Promise<boolean> {
  const res = await fetch(url);
  if (res.status !== 200) return false;
  return sha(Buffer.from(await res.arrayBuffer())) === digest;
}

describe.each(['filesystem', 's3'])('garbage collection (%s)', (kind) => {
  let storage: TestStorage;
  let r: TestRegistry;
  let untaggedR: TestRegistry;
  beforeAll(async () => {
    storage = createTestStorage(kind);
    r = await startTestRegistry({ storage, config: gcConfig() });
    untaggedR = await startTestRegistry({ storage, config: gcConfig({ deleteuntagged: true }) });
  });
  afterAll(async () => {
    await r?.close();
    await untaggedR?.close();
    if (kind === 's3') await r.driver.delete('/').catch(() => undefined);
    storage.dispose();
  });

  it('keeps everything tags, manifests, index children and referrers reach; sweeps the rest; dry run first', async () => {
    const repo = `gc/${kind}/keep`;
    const tagged = await pushImage(r.url, repo, 2);
    const t = await pushManifest(r.url, repo, 'v1', tagged.manifest);
    expect(t.res.status).toBe(201);
    // An index whose child is only reachable through it.
    const child = await pushImage(r.url, repo, 1);
    const c = await pushManifest(r.url, repo, undefined, child.manifest);
    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciManifest, digest: c.digest, size: c.content.length }] };
    expect((await pushManifest(r.url, repo, 'multi', index)).res.status).toBe(201);
    // A referrer (signature-like artifact) of the tagged image.
    const sigBlob = await pushBlob(r.url, repo, random(300));
    await pushBlob(r.url, repo, Buffer.from('{}'));
    const referrer = await pushManifest(r.url, repo, undefined, {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: sigBlob, size: 300 }],
      subject: { mediaType: MediaType.OciManifest, digest: t.digest, size: t.content.length },
    });
    expect(referrer.res.status).toBe(201);
    // Garbage: a lone blob, and an image whose manifest is deleted.
    const lone = await pushBlob(r.url, repo, random(5000));
    const gone = await pushImage(r.url, repo, 2);
    const g = await pushManifest(r.url, repo, undefined, gone.manifest);
    expect((await fetch(`${r.url}/v2/${repo}/manifests/${g.digest}`, { method: 'DELETE' })).status).toBe(202);
    const garbage = new Set<string>([lone, ...gone.blobs, g.digest]);
    const kept = [...tagged.blobs, t.digest, ...child.blobs, c.digest, sigBlob, referrer.digest];

    await sleep(GRACE_MS + 100);
    const before = await blobDigests(r);
    for (const d of garbage) expect(before.has(d)).toBe(true);

    const dry = await r.registry.collectGarbage({ dryRun: true });
    expect(dry.ran && dry.stats.blobsSwept).toBeGreaterThanOrEqual(garbage.size);
    expect(await blobDigests(r)).toEqual(before);

    const run = await r.registry.collectGarbage();
    if (!run.ran) throw new Error('the collection did not run');
    const after = await blobDigests(r);
    for (const d of garbage) expect(after.has(d)).toBe(false);
    for (const d of kept) expect(after.has(d)).toBe(true);
    expect(run.stats.blobsSwept).toBeGreaterThanOrEqual(garbage.size);
    expect(run.stats.bytesFreed).toBeGreaterThan(5000);
    for (const d of kept) expect(await fetchOk(`${r.url}/v2/${repo}/blobs/${d}`, d)).toBe(true);
    const metrics = await r.registry.metrics.registry.metrics();
    expect(metrics).toMatch(/kube_image_keeper_registry_gc_blobs_swept_total \d+/);
    expect(metrics).toMatch(/kube_image_keeper_registry_gc_runs_total\{outcome="success"\} [1-9]/);
    // Nothing left in quarantine; the lone blob is unknown (its link stays, dangling, as in distribution).
    expect((await r.driver.list(layout.gcQuarantineDir).catch(() => [])).length).toBe(0);
    expect((await fetch(`${r.url}/v2/${repo}/blobs/${lone}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('with deleteuntagged, deletes untagged manifests but keeps index children and referrers of tagged ones', async () => {
    const repo = `gc/${kind}/untagged`;
    const tagged = await pushImage(untaggedR.url, repo, 1);
    const t = await pushManifest(untaggedR.url, repo, 'v1', tagged.manifest);
    const child = await pushImage(untaggedR.url, repo, 1);
    const c = await pushManifest(untaggedR.url, repo, undefined, child.manifest);
    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciManifest, digest: c.digest, size: c.content.length }] };
    await pushManifest(untaggedR.url, repo, 'multi', index);
    await pushBlob(untaggedR.url, repo, Buffer.from('{}'));
    const ref = await pushManifest(untaggedR.url, repo, undefined, {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 },
      layers: [],
      subject: { mediaType: MediaType.OciManifest, digest: t.digest, size: t.content.length },
    });
    const orphan = await pushImage(untaggedR.url, repo, 1);
    const o = await pushManifest(untaggedR.url, repo, 'moving', orphan.manifest);
    // The tag moves away: the old manifest is untagged now.
    const next = await pushImage(untaggedR.url, repo, 1);
    await pushManifest(untaggedR.url, repo, 'moving', next.manifest);
    await sleep(GRACE_MS + 100);

    const run = await untaggedR.registry.collectGarbage();
    if (!run.ran) throw new Error('the collection did not run');
    expect(run.stats.manifestsDeleted).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${untaggedR.url}/v2/${repo}/manifests/${o.digest}`)).status).toBe(404);
    for (const d of [t.digest, c.digest, ref.digest]) expect((await fetch(`${untaggedR.url}/v2/${repo}/manifests/${d}`)).status).toBe(200);
    const referrers = (await (await fetch(`${untaggedR.url}/v2/${repo}/referrers/${t.digest}`)).json()) as { manifests: unknown[] };
    expect(referrers.manifests).toHaveLength(1);
    // The orphan's layers become garbage in the next run (its manifest was in use until now).
    await untaggedR.registry.collectGarbage();
    const after = await blobDigests(untaggedR);
    for (const d of orphan.blobs) expect(after.has(d)).toBe(false);
    for (const d of [...tagged.blobs, ...child.blobs, ...next.blobs]) expect(after.has(d)).toBe(true);
  });

  it('never collects what is younger than the grace period', async () => {
    const repo = `gc/${kind}/young`;
    const young = await pushBlob(r.url, repo, random(2000));
    const run = await r.registry.collectGarbage();
    expect(run.ran).toBe(true);
    expect((await blobDigests(r)).has(young)).toBe(true);
  });

  it('runs on demand through POST /gc on the ops port, one at a time, and reports through GET /gc', async () => {
    const repo = `gc/${kind}/http`;
    const lone = await pushBlob(r.url, repo, random(7000));
    await sleep(GRACE_MS + 100);
    const ops = `http://127.0.0.1:${r.registry.ops!.address().port}/gc`;
    const bad = await fetch(`${ops}?dryrun=maybe`, { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('dryrun');
    const started = await fetch(`${ops}?dryrun=false`, { method: 'POST' });
    expect(started.status).toBe(202);
    expect(await started.json()).toMatchObject({ started: true, running: { trigger: 'http', dryRun: false } });
    // The run is still settling (300 ms): a second request is refused, not queued.
    const again = await fetch(ops, { method: 'POST' });
    expect(again.status).toBe(409);
    let status: { running: unknown; last: { result: string; trigger: string; stats?: { blobsSwept: number } } | null } | undefined;
    for (let i = 0; i < 200; i++) {
      status = (await (await fetch(ops)).json()) as typeof status;
      if (!status!.running && status!.last) break;
      await sleep(50);
    }
    expect(status!.last).toMatchObject({ result: 'done', trigger: 'http' });
    expect(status!.last!.stats!.blobsSwept).toBeGreaterThanOrEqual(1);
    expect((await blobDigests(r)).has(lone)).toBe(false);
  });

  it('lets one collector at a time hold the storage lease', async () => {
    const lease = await acquireStorageLease(r.driver, { leaseMs: 5000, logger: silent });
    expect(lease).not.toBeNull();
    const other = await r.registry.collectGarbage();
    expect(other).toEqual({ ran: false, reason: 'busy' });
    expect(await acquireStorageLease(untaggedR.driver, { leaseMs: 5000, logger: silent, attempts: 1 })).toBeNull();
    await lease!.release();
    // Contenders racing for a free lease: never two holders (bounded rounds).
    for (let round = 0; round < 5; round++) {
      const got = await Promise.all([r.driver, untaggedR.driver, r.driver].map((d) => acquireStorageLease(d, { leaseMs: 5000, logger: silent, attempts: 3 })));
      expect(got.filter((l) => l !== null).length).toBeLessThanOrEqual(1);
      await Promise.all(got.map((l) => l?.release()));
    }
  });

  it('takes over a lease whose holder stopped renewing it', async () => {
    const lease = await acquireStorageLease(r.driver, { leaseMs: 300, logger: silent });
    expect(lease).not.toBeNull();
    // Simulates a holder that died: its claim stays, nobody renews it.
    const claim = await r.driver.getContent(layout.gcLockClaim(lease!.owner));
    await lease!.release();
    await r.driver.putContent(layout.gcLockClaim(lease!.owner), claim);
    await sleep(700);
    expect(lease!.valid()).toBe(false);
    expect((await r.registry.collectGarbage({ dryRun: true })).ran).toBe(true);
  });

  it('puts back, first thing, what an interrupted run left in quarantine', async () => {
    const repo = `gc/${kind}/recover`;
    const img = await pushImage(r.url, repo, 1);
    await pushManifest(r.url, repo, 'v1', img.manifest);
    const victim = img.blobs[1]!;
    await r.driver.move(layout.blobData(victim), layout.gcQuarantine(victim));
    expect(await fetchOk(`${r.url}/v2/${repo}/blobs/${victim}`, victim)).toBe(false);
    const run = await r.registry.collectGarbage();
    expect(run.ran && run.stats.blobsRecovered).toBe(1);
    expect(await fetchOk(`${r.url}/v2/${repo}/blobs/${victim}`, victim)).toBe(true);
  });

  it('a push that reuses a collected blob during the run either stores it again or fails cleanly', async () => {
    const repo = `gc/${kind}/race`;
    const old = random(4000);
    const oldDigest = await pushBlob(r.url, repo, old);
    const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } }));
    await sleep(GRACE_MS + 100);
    const slow = await startTestRegistry({ storage, config: gcConfig({ settle: '1500ms' }) });
    try {
      const running = slow.registry.collectGarbage();
      // Wait until the blob is in quarantine (bounded).
      for (let i = 0; i < 200 && (await fetch(`${r.url}/v2/${repo}/blobs/${oldDigest}`, { method: 'HEAD' })).status === 200; i++) await sleep(25);
      const manifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: sha(config), size: config.length },
        layers: [{ mediaType: MediaType.OciLayerGzip, digest: oldDigest, size: old.length }],
      };
      await pushBlob(r.url, repo, config);
      // HEAD-only reuse: the blob is gone, the manifest is refused, nothing dangles.
      const refused = await pushManifest(r.url, repo, 'headonly', manifest);
      expect(refused.res.status).toBeGreaterThanOrEqual(400);
      expect(await refused.res.text()).toContain('MANIFEST_BLOB_UNKNOWN');
      // A client that uploads it again succeeds, and the collector keeps it.
      await pushBlob(r.url, repo, old);
      expect((await pushManifest(r.url, repo, 'reupload', manifest)).res.status).toBe(201);
      const outcome = await running;
      expect(outcome.ran).toBe(true);
      expect(await fetchOk(`${r.url}/v2/${repo}/blobs/${oldDigest}`, oldDigest)).toBe(true);
    } finally {
      await slow.close();
    }
  });
});

describe('garbage collection configuration', () => {
  it('defaults: on (off on inmemory), weekly, no dry run, untagged kept, 1 h grace, 60 s lease, 30 s settle, 100 ops/s', () => {
    const fs = parseRegistryConfig({ storage: { filesystem: { rootdirectory: '/x' } } });
    expect(fs.garbageCollection).toEqual({
      enabled: true,
      schedule: '0 3 * * 0',
      dryRun: false,
      deleteUntagged: false,
      gracePeriodMs: 3_600_000,
      leaseMs: 60_000,
      settleMs: 30_000,
      rateLimit: 100,
    });
    expect(parseRegistryConfig({ storage: { inmemory: {} } }).garbageCollection.enabled).toBe(false);
  });

  it('stops on a bad schedule, naming the key', () => {
    expect(() => parseRegistryConfig({ garbagecollection: { schedule: '61 * * * *' } })).toThrow(/garbagecollection\.schedule/);
    expect(() => parseRegistryConfig({ garbagecollection: { graceperiod: '0s' } })).toThrow(/garbagecollection\.graceperiod/);
    expect(() => parseRegistryConfig({ garbagecollection: { ratelimit: -1 } })).toThrow(/garbagecollection\.ratelimit/);
    expect(() => parseRegistryConfig({ garbagecollection: { ratelimit: 'fast' } })).toThrow(/garbagecollection\.ratelimit/);
    expect(parseRegistryConfig({ garbagecollection: { ratelimit: 0 } }).garbageCollection.rateLimit).toBe(0);
  });
});

const silent = createLogger({ component: 'test', level: 'error', sink: () => undefined });
