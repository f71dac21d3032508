// High availability under load: three registry processes on one storage (the real MinIO, and one
// shared directory as with a ReadWriteMany volume) behind a round-robin proxy, many clients
// pushing, pulling, moving tags and deleting at random for a bounded number of operations, and
// `main.js gc` run again and again in the middle (sometimes twice at once: the storage lease lets
// one through). At the end every image a client kept is complete and verifies, every blob in
// storage verifies, and the garbage is gone: what storage holds is exactly what the kept images
// reference.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDriver, type StorageDriver } from '@kuik/storage';
import { digestOf, MediaType, type Digest } from '@kuik/oci';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  minioStorage,
  runGcCommand,
  sharedDirectory,
  startRegistryProc,
  startRoundRobin,
  writeConfig,
  type ClusterStorage,
  type RegistryProc,
  type RoundRobin,
} from './support/cluster.js';

const CLIENTS = 6;
const OPS_PER_CLIENT = 30;
const WORKLOAD_DEADLINE_MS = 90_000;
// Unpaced (ratelimit 0): as many collections as possible interleave with the workload in its window.
const GC = { enabled: false, deleteuntagged: true, graceperiod: '15s', settle: '1s', lease: '10s', ratelimit: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Image {
  repo: string;
  tag: string;
  digest: Digest;
  /** Every digest the image needs: its manifest, index children, configs, layers. */
  needs: Digest[];
  /** Child manifests (index) with their blobs. */
  children: Array<{ digest: Digest; blobs: Digest[] }>;
  blobs: Digest[];
  pushedAt: string;
}

/** Requests with bounded retries on what a replica going away or busy storage looks like. */
async function req(url: string, init: RequestInit = {}, attempts = 6): Promise<Response> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
      if (res.status !== 502 && res.status !== 503) return res;
      await res.arrayBuffer();
      last = new Error(`${init.method ?? 'GET'} ${url}: ${res.status}`);
    } catch (err) {
      last = err;
    }
    await sleep(100 * (i + 1));
  }
  throw last;
}

class Client {
  readonly images = new Map<string, Image>();
  readonly errors: string[] = [];
  garbagePushed = 0;
  counts: Record<string, number> = {};
  constructor(
    readonly id: number,
    readonly base: string,
  ) {}

  private count(op: string) {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
  }

  async uploadBlob(repo: string, content: Buffer): Promise<Digest> {
    const digest = digestOf(content);
    for (let attempt = 1; attempt <= 4; attempt++) {
      try {
        if (Math.random() < 0.5) {
          const res = await req(`${this.base}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: content });
          if (res.status === 201) return digest;
          throw new Error(`monolithic upload: ${res.status} ${await res.text()}`);
        }
        const start = await req(`${this.base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
        if (start.status !== 202) throw new Error(`start upload: ${start.status}`);
        let location = start.headers.get('location')!;
        const cut = Math.floor(content.length / 2);
        for (const [from, to] of [
          [0, cut],
          [cut, content.length],
        ] as const) {
          const res = await fetch(`${this.base}${location}`, {
            method: 'PATCH',
            body: content.subarray(from, to),
            headers: { 'Content-Range': `${from}-${to - 1}`, 'Content-Type': 'application/octet-stream' },
          });
          if (res.status !== 202) throw new Error(`patch: ${res.status}`);
          location = res.headers.get('location')!;
        }
        const put = await fetch(`${this.base}${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' });
        if (put.status === 201) return digest;
        throw new Error(`complete upload: ${put.status} ${await put.text()}`);
      } catch (err) {
        if (attempt === 4) throw err;
      }
    }
    throw new Error('unreachable');
  }

  async pushManifestDoc(repo: string, ref: string, doc: object): Promise<{ status: number; digest: Digest; body: string }> {
    const content = Buffer.from(JSON.stringify(doc));
    const res = await req(`${this.base}/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      body: content,
      headers: { 'Content-Type': (doc as { mediaType: string }).mediaType },
    });
    return { status: res.status, digest: digestOf(content), body: await res.text() };
  }

  async buildImage(repo: string): Promise<{ doc: object; blobs: Digest[] }> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(8).toString('hex') }));
    const layers = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => randomBytes(1000 + Math.floor(Math.random() * 48_000)));
    // Sometimes a layer another of this client's images has, mounted rather than uploaded.
    const donor = [...this.images.values()].find((i) => i.repo !== repo && i.blobs.length > 1);
    const blobs: Digest[] = [await this.uploadBlob(repo, config)];
    const descriptors: Array<{ mediaType: string; digest: Digest; size: number }> = [];
    for (const l of layers) {
      const d = await this.uploadBlob(repo, l);
      blobs.push(d);
      descriptors.push({ mediaType: MediaType.OciLayerGzip, digest: d, size: l.length });
    }
    if (donor && Math.random() < 0.3) {
      const d = donor.blobs[donor.blobs.length - 1]!;
      const size = Number((await req(`${this.base}/v2/${donor.repo}/blobs/${d}`, { method: 'HEAD' })).headers.get('content-length'));
      const res = await req(`${this.base}/v2/${repo}/blobs/uploads/?mount=${d}&from=${donor.repo}`, { method: 'POST' });
      if (res.status === 201 && size > 0) {
        this.count('mount');
        blobs.push(d);
        descriptors.push({ mediaType: MediaType.OciLayerGzip, digest: d, size });
      }
    }
    const doc = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: blobs[0]!, size: config.length },
      layers: descriptors,
    };
    return { doc, blobs };
  }

  /** Pushes an image (or an index of two) under a tag; retries whole when a blob went missing. */
  async push(repo: string, tag: string, asIndex: boolean): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const children: Image['children'] = [];
      let doc: object;
      let blobs: Digest[] = [];
      if (asIndex) {
        const manifests = [];
        for (let i = 0; i < 2; i++) {
          const child = await this.buildImage(repo);
          const content = Buffer.from(JSON.stringify(child.doc));
          const byDigest = await this.pushManifestDoc(repo, digestOf(content), child.doc);
          if (byDigest.status !== 201) break;
          children.push({ digest: byDigest.digest, blobs: child.blobs });
          manifests.push({ mediaType: MediaType.OciManifest, digest: byDigest.digest, size: content.length, platform: { architecture: `a${i}`, os: 'linux' } });
        }
        if (children.length < 2) continue;
        doc = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
      } else {
        const built = await this.buildImage(repo);
        doc = built.doc;
        blobs = built.blobs;
      }
      const res = await this.pushManifestDoc(repo, tag, doc);
      if (res.status === 201) {
        const needs = [res.digest, ...blobs, ...children.flatMap((c) => [c.digest, ...c.blobs])];
        this.images.set(`${repo}:${tag}`, { repo, tag, digest: res.digest, needs, children, blobs, pushedAt: new Date().toISOString() });
        this.count(asIndex ? 'push-index' : 'push');
        return;
      }
      // A blob collected between upload and manifest (it cannot happen with fresh uploads; kept
      // as a clean, retried failure should it ever) — anything else is a bug.
      if (!res.body.includes('MANIFEST_BLOB_UNKNOWN')) throw new Error(`push ${repo}:${tag}: ${res.status} ${res.body}`);
      this.count('push-retried');
    }
    throw new Error(`push ${repo}:${tag}: gave up after 3 attempts`);
  }

  async verify(image: Image): Promise<void> {
    const res = await req(`${this.base}/v2/${image.repo}/manifests/${image.tag}`, {
      headers: { Accept: `${MediaType.OciManifest}, ${MediaType.OciIndex}` },
    });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || digestOf(body) !== image.digest) throw new Error(`${image.repo}:${image.tag}: manifest ${res.status}, digest ${digestOf(body)} ≠ ${image.digest}`);
    for (const child of image.children) {
      const c = await req(`${this.base}/v2/${image.repo}/manifests/${child.digest}`, { headers: { Accept: MediaType.OciManifest } });
      const cb = Buffer.from(await c.arrayBuffer());
      if (c.status !== 200 || digestOf(cb) !== child.digest) throw new Error(`${image.repo}@${child.digest}: child manifest ${c.status}`);
    }
    for (const d of [...image.blobs, ...image.children.flatMap((c) => c.blobs)]) {
      const b = await req(`${this.base}/v2/${image.repo}/blobs/${d}`);
      const bytes = Buffer.from(await b.arrayBuffer());
      if (b.status !== 200 || digestOf(bytes) !== d) {
        await sleep(4000);
        const later = await req(`${this.base}/v2/${image.repo}/blobs/${d}`, { method: 'HEAD' });
        throw new Error(`${image.repo}:${image.tag}: blob ${d} ${b.status} at ${new Date().toISOString()} (4 s later: ${later.status}; pushed at ${image.pushedAt})`);
      }
    }
  }

  async step(): Promise<void> {
    const repo = `ha/r${Math.floor(Math.random() * 3)}`;
    const tag = `c${this.id}-t${Math.floor(Math.random() * 4)}`;
    const mine = [...this.images.values()];
    const roll = Math.random();
    try {
      if (roll < 0.35 || mine.length === 0) return await this.push(repo, tag, Math.random() < 0.25);
      const pick = mine[Math.floor(Math.random() * mine.length)]!;
      if (roll < 0.7) {
        this.count('pull');
        return await this.verify(pick);
      }
      if (roll < 0.8) {
        this.count('delete-tag');
        const res = await req(`${this.base}/v2/${pick.repo}/manifests/${pick.tag}`, { method: 'DELETE' });
        if (res.status !== 202) throw new Error(`delete tag: ${res.status}`);
        this.images.delete(`${pick.repo}:${pick.tag}`);
        return;
      }
      if (roll < 0.88) {
        this.count('delete-manifest');
        // Only when no other kept image of this client shares the manifest.
        if (mine.some((i) => i !== pick && i.repo === pick.repo && i.digest === pick.digest)) return;
        const res = await req(`${this.base}/v2/${pick.repo}/manifests/${pick.digest}`, { method: 'DELETE' });
        if (res.status !== 202) throw new Error(`delete manifest: ${res.status}`);
        this.images.delete(`${pick.repo}:${pick.tag}`);
        return;
      }
      this.count('garbage-blob');
      this.garbagePushed++;
      await this.uploadBlob(repo, randomBytes(3000));
    } catch (err) {
      this.errors.push(`client ${this.id}: ${(err as Error).message}`);
    }
  }
}

async function allBlobs(driver: StorageDriver): Promise<Map<Digest, number>> {
  const out = new Map<Digest, number>();
  const root = '/docker/registry/v2/blobs';
  for await (const f of driver.walk(root)) {
    const segs = f.path.slice(root.length + 1).split('/');
    if (segs.length === 4 && segs[3] === 'data') out.set(`${segs[0]}:${segs[2]}` as Digest, f.size);
  }
  return out;
}

/** Streams the blob through a hash: never the whole blob in memory. */
async function verifies(driver: StorageDriver, digest: Digest): Promise<boolean> {
  const hex = digest.slice('sha256:'.length);
  const hash = createHash('sha256');
  for await (const chunk of await driver.reader(`/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`)) hash.update(chunk as Buffer);
  return hash.digest('hex') === hex;
}

describe.each([
  ['MinIO', minioStorage],
  ['a shared directory', sharedDirectory],
] as const)('three replicas on %s under a random workload with garbage collection', (_name, makeStorage) => {
  let storage: ClusterStorage;
  let dir: string;
  let config: string;
  let replicas: RegistryProc[] = [];
  let lb: RoundRobin;
  let driver: StorageDriver;

  beforeAll(async () => {
    storage = makeStorage();
    dir = mkdtempSync(path.join(tmpdir(), 'kuik-ha-config-'));
    config = writeConfig(dir, storage, GC);
    replicas = await Promise.all([0, 1, 2].map(() => startRegistryProc(config)));
    lb = await startRoundRobin(() => replicas.map((r) => r.url));
    driver = await createDriver(storage.kind, storage.params);
  });
  afterAll(async () => {
    await lb?.close();
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    if (storage?.kind === 's3') await driver?.delete('/').catch(() => undefined);
    await driver?.close?.();
    storage?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every kept image complete and verifiable, and reclaims exactly the garbage', async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(i, lb.url));
    const deadline = Date.now() + WORKLOAD_DEADLINE_MS;
    let workloadDone = false;
    const gcRuns: Array<{ code: number | null; ran: unknown; swept: unknown }> = [];
    const gcLoop = (async () => {
      // Bounded: stops with the workload, at most 40 rounds.
      for (let round = 0; round < 40 && !workloadDone; round++) {
        const twice = round % 3 === 2;
        const results = await Promise.all((twice ? [0, 1] : [0]).map(() => runGcCommand(config)));
        for (const r of results) {
          if (r.code !== 0 && r.code !== 3) throw new Error(`gc exited ${r.code}:\n${r.output}`);
          if (process.env['KUIK_HA_GC_DEBUG']) process.stderr.write(r.output.split('\n').filter((l) => /started|"phase":"(quarantine|recheck|delete|done)"/.test(l)).map((l) => l.slice(0, 260)).join('\n') + '\n');
          gcRuns.push({ code: r.code, ran: r.summary?.['ran'], swept: r.summary?.['blobsSwept'] });
        }
        await sleep(500);
      }
    })();
    await Promise.all(
      clients.map(async (c) => {
        // At least OPS_PER_CLIENT operations, and on until GC has completed three runs in the
        // middle of the workload (fast storage finishes the operations sooner); bounded by the deadline.
        const gcRan = () => gcRuns.filter((r) => r.ran === true).length;
        for (let op = 0; (op < OPS_PER_CLIENT || gcRan() < 3) && Date.now() < deadline; op++) await c.step();
      }),
    );
    workloadDone = true;
    await gcLoop;

    const errors = clients.flatMap((c) => c.errors);
    expect(errors).toEqual([]);
    const ran = gcRuns.filter((r) => r.ran === true);
    expect(ran.length).toBeGreaterThanOrEqual(3);
    expect(gcRuns.filter((r) => r.code === 3).length + ran.length).toBe(gcRuns.length);

    // Everything is old now; two runs: untagged manifests first, then what only they referenced.
    await sleep(15_500);
    const before = await allBlobs(driver);
    for (let i = 0; i < 2; i++) expect((await runGcCommand(config)).code).toBe(0);

    const kept = clients.flatMap((c) => [...c.images.values()]);
    for (const c of clients) for (const image of c.images.values()) await c.verify(image);
    const needed = new Set(kept.flatMap((i) => i.needs));
    const after = await allBlobs(driver);
    for (const d of after.keys()) expect(await verifies(driver, d)).toBe(true);
    expect([...needed].filter((d) => !after.has(d))).toEqual([]);
    // The garbage is gone: nothing but what kept images need.
    expect([...after.keys()].filter((d) => !needed.has(d))).toEqual([]);

    const ops: Record<string, number> = {};
    for (const c of clients) for (const [k, v] of Object.entries(c.counts)) ops[k] = (ops[k] ?? 0) + v;
    process.stderr.write(
      `[ha-gc ${_name}] ops ${JSON.stringify(ops)}; gc runs ${ran.length} ran, ${gcRuns.length - ran.length} busy, ` +
        `${ran.reduce((n, r) => n + Number(r.swept ?? 0), 0)} blobs swept during the workload; ` +
        `blobs before final gc ${before.size}, after ${after.size} (= ${needed.size} needed), kept images ${kept.length}; per replica ${JSON.stringify(lb.counts)}\n`,
    );
    expect(lb.counts.filter((n) => n > 0).length).toBe(3);
  }, 240_000);
});
