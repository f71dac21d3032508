// Faults with several replicas: a replica killed (SIGKILL) in the middle of an upload, the client
// going on with another one; and the object store itself (a MinIO of this test's own) killed and
// started again in the middle of pushes: each push completes or fails cleanly, and nothing
// partial is ever visible.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { digestOf, MediaType, type Digest } from '@kuik/oci';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import {
  minioStorage,
  runGcCommand,
  sharedDirectory,
  startOwnMinio,
  startRegistryProc,
  writeConfig,
  type ClusterStorage,
  type OwnMinio,
  type RegistryProc,
} from './support/cluster.js';

const GC_OFF = { enabled: false };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The MinIO binary tools/test-servers/minio.sh installed (it fails with the command when absent). */
function minioBinary(): string {
  const tools = path.join(homedir(), '.cache/kuik/tools');
  const dir = existsSync(tools) ? readdirSync(tools).find((d) => d.startsWith('minio-')) : undefined;
  const bin = dir ? path.join(tools, dir, 'bin/minio') : '';
  if (!bin || !existsSync(bin)) throw new Error('no MinIO binary: install it with  bash tools/test-servers/minio.sh install');
  return bin;
}

/** PATCHes a body that is streamed slowly, so that the server can be killed in the middle. */
function slowPatch(url: string, offset: number, body: Buffer, chunk: number, everyMs: number): { done: Promise<number | Error>; sent: () => number } {
  let sent = 0;
  const u = new URL(url);
  const done = new Promise<number | Error>((resolve) => {
    const r = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + body.length - 1}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', resolve);
      },
    );
    r.on('error', resolve);
    const timer = setInterval(() => {
      if (sent >= body.length) {
        clearInterval(timer);
        r.end();
        return;
      }
      r.write(body.subarray(sent, Math.min(body.length, sent + chunk)));
      sent = Math.min(body.length, sent + chunk);
    }, everyMs);
    r.on('close', () => clearInterval(timer));
  });
  return { done, sent: () => sent };
}

describe.each([
  ['MinIO', minioStorage],
  // A short sessiontimeout: the dead replica's session is taken over 2 s after its last write.
  ['a shared directory', () => sharedDirectory({ sessiontimeout: '2s' })],
] as const)('a replica killed mid-upload (%s)', (_name, makeStorage) => {
  let storage: ClusterStorage;
  let dir: string;
  let replicas: RegistryProc[] = [];
  beforeAll(async () => {
    storage = makeStorage();
    dir = mkdtempSync(path.join(tmpdir(), 'kuik-ha-faults-'));
    const config = writeConfig(dir, storage, GC_OFF);
    replicas = await Promise.all([0, 1, 2].map(() => startRegistryProc(config)));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    storage?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the client resume on another replica, and the result verifies', async () => {
    const [a, b, c] = replicas as [RegistryProc, RegistryProc, RegistryProc];
    const content = randomBytes(12 * 1024 * 1024 + 333);
    const digest = digestOf(content);
    const start = await fetch(`${a.url}/v2/ha/killed/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    // A first chunk that completes, then one cut by SIGKILL.
    const first = 5 * 1024 * 1024;
    const ok = await fetch(`${a.url}${location}`, { method: 'PATCH', body: content.subarray(0, first), headers: { 'Content-Range': `0-${first - 1}` } });
    expect(ok.status).toBe(202);
    const rest = content.length - first;
    const patch = slowPatch(`${a.url}${location}`, first, content.subarray(first), 64 * 1024, 20);
    // Bounded wait until some of the second chunk is on its way (about 2.3 s to send it all).
    for (let i = 0; i < 500 && patch.sent() < 1024 * 1024; i++) await sleep(10);
    const sentAtKill = patch.sent();
    await a.kill('SIGKILL');
    expect(sentAtKill).toBeLessThan(rest);
    const cut = await patch.done;
    // The cut request must not look successful. (An error from Node's http module comes from
    // another realm than Jest's, so `instanceof Error` cannot tell: check for a 2xx instead.)
    const succeeded = typeof cut === 'number' && cut >= 200 && cut < 300;
    expect({ succeeded, cut: typeof cut === 'number' ? cut : String(cut) }).toMatchObject({ succeeded: false });

    // The client asks another replica where the upload stands and resumes from there. While the
    // dead replica's session on a shared directory is younger than sessiontimeout, the answer is
    // 503 with Retry-After: the client waits as told and asks again, for at most 10 s.
    let status = await fetch(`${b.url}${location}`);
    let retries = 0;
    for (const deadline = Date.now() + 10_000; status.status === 503 && Date.now() < deadline; retries++) {
      const retryAfter = Number(status.headers.get('retry-after'));
      expect({ retryAfter, body: await status.text() }).toMatchObject({ retryAfter: 1, body: expect.stringContaining('"UNAVAILABLE"') });
      await sleep(retryAfter * 1000);
      status = await fetch(`${b.url}${location}`);
    }
    expect(status.status).toBe(204);
    const have = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1] ?? -1) + 1;
    expect(have).toBeGreaterThanOrEqual(first);
    expect(have).toBeLessThanOrEqual(content.length);
    const resumed = await fetch(`${b.url}${location}`, {
      method: 'PATCH',
      body: content.subarray(have),
      headers: { 'Content-Range': `${have}-${content.length - 1}` },
    });
    expect(resumed.status).toBe(202);
    const put = await fetch(`${c.url}${location}?digest=${digest}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    const outcome = `resumed at byte ${have} of ${content.length} after ${retries} retried status request(s)`;
    const got = await fetch(`${c.url}/v2/ha/killed/blobs/${digest}`);
    expect(digestOf(Buffer.from(await got.arrayBuffer()))).toBe(digest);
    process.stderr.write(`[ha-faults ${_name}] SIGKILL mid-upload: ${outcome}\n`);
  }, 120_000);
});

describe('a gc command interrupted in the middle of its run', () => {
  it('stops on SIGTERM and releases the storage lease, so the next run goes at once', async () => {
    const storage = sharedDirectory();
    const dir = mkdtempSync(path.join(tmpdir(), 'kuik-gc-interrupt-'));
    try {
      // A long settle: the run is surely in it when the signal comes.
      const config = writeConfig(dir, storage, { enabled: false, graceperiod: '1s', settle: '60s', lease: '60s' });
      const first = await runGcCommand(config, false, { when: /"phase":"quarantine"/, signal: 'SIGTERM' });
      expect({ code: first.code, summary: first.summary }).toEqual({ code: 130, summary: null });
      // Without the release, this one would find the lease held for its 60 s and exit 3 (busy).
      const next = await runGcCommand(config, true);
      expect({ code: next.code, ran: next.summary?.['ran'] }).toEqual({ code: 0, ran: true });
    } finally {
      storage.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the object store restarted in the middle of pushes', () => {
  let minio: OwnMinio;
  let storage: ClusterStorage;
  let dir: string;
  let replicas: RegistryProc[] = [];
  beforeAll(async () => {
    minio = await startOwnMinio(minioBinary());
    storage = minioStorage(minio.endpoint);
    dir = mkdtempSync(path.join(tmpdir(), 'kuik-ha-minio-'));
    const config = writeConfig(dir, storage, GC_OFF);
    replicas = await Promise.all([0, 1].map(() => startRegistryProc(config)));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    await minio?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each push completes or fails cleanly; nothing partial is visible', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const r = replicas[round % replicas.length]!;
      const repo = `ha/minio-restart/${round}`;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', round }));
      const layer = randomBytes(9 * 1024 * 1024 + round);
      const doc = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
        layers: [{ mediaType: MediaType.OciLayerGzip, digest: digestOf(layer), size: layer.length }],
      };
      const manifest = Buffer.from(JSON.stringify(doc));
      const push = async (): Promise<string> => {
        for (const blob of [config, layer]) {
          const startRes = await fetch(`${r.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
          if (startRes.status !== 202) return `start ${startRes.status}`;
          let loc = startRes.headers.get('location')!;
          const step = 1024 * 1024;
          for (let at = 0; at < blob.length; at += step) {
            const end = Math.min(blob.length, at + step);
            const res = await fetch(`${r.url}${loc}`, { method: 'PATCH', body: blob.subarray(at, end), headers: { 'Content-Range': `${at}-${end - 1}` } });
            if (res.status !== 202) return `patch ${res.status} ${(await res.text()).slice(0, 120)}`;
            loc = res.headers.get('location')!;
          }
          const put = await fetch(`${r.url}${loc}${loc.includes('?') ? '&' : '?'}digest=${digestOf(blob)}`, { method: 'PUT' });
          if (put.status !== 201) return `put ${put.status} ${(await put.text()).slice(0, 120)}`;
        }
        const m = await fetch(`${r.url}/v2/${repo}/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': MediaType.OciManifest } });
        return m.status === 201 ? 'completed' : `manifest ${m.status} ${(await m.text()).slice(0, 120)}`;
      };
      const pushing = push().catch((err: Error) => `error ${err.message}`);
      // The store goes away at a different point of each push, for a moment.
      await sleep(150 + round * 250);
      await minio.stop();
      await sleep(1000);
      await minio.start();
      const result = await pushing;
      outcomes.push(result);
      if (result !== 'completed') expect(result).toMatch(/^(patch|put|start|manifest) (5\d\d|4\d\d)|^error /);

      // Once the store is back: what is visible is whole.
      const man = await fetch(`${r.url}/v2/${repo}/manifests/v1`, { headers: { Accept: MediaType.OciManifest } });
      if (result === 'completed') expect(man.status).toBe(200);
      if (man.status === 200) expect(digestOf(Buffer.from(await man.arrayBuffer()))).toBe(digestOf(manifest));
      else expect(man.status).toBe(404);
      for (const blob of [config, layer]) {
        const d: Digest = digestOf(blob);
        const got = await fetch(`${r.url}/v2/${repo}/blobs/${d}`);
        if (got.status === 200) expect(digestOf(Buffer.from(await got.arrayBuffer()))).toBe(d);
        else expect(got.status).toBe(404);
      }
      // And a retry after the outage completes.
      if (result !== 'completed') expect(await push()).toBe('completed');
    }
    process.stderr.write(`[ha-faults] MinIO killed mid-push: ${JSON.stringify(outcomes)}\n`);
  }, 180_000);
});
