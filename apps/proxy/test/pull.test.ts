// Pulling through the proxy against real servers: Debian's docker-registry as the origin, the
// kuik registry (its bundle, as a child process) as the cache.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { createHash } from 'node:crypto';
import { RegistryClient } from '@kuik/oci/client';
import type { Proxy } from '../src/proxy.js';
import { largeLayer, makeImage, makeIndex, pushImage, pushIndex, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, fetchBlob, metricValue, proxyClient, pull, startTestProxy } from './support/proxy.js';
import { accessLogLines, blobGets, KuikRegistry, startOrigin, stopOrigin, type OriginRegistry } from './support/servers.js';

let origin: OriginRegistry;
let originClient: RegistryClient;
let registry: KuikRegistry;
let cacheClient: RegistryClient;
let proxy: Proxy;
let client: RegistryClient;
const proxies: Proxy[] = [];

/** "127.0.0.1-5000/<repo>": the host form the webhook writes, and the cache repository. */
const viaProxy = (o: OriginRegistry, repo: string) => `${o.host.replace(':', '-')}/${repo}`;

beforeAll(async () => {
  origin = startOrigin('proxy-origin');
  originClient = new RegistryClient({ host: origin.host, insecure: true });
  registry = await new KuikRegistry().start();
  cacheClient = new RegistryClient({ host: registry.host, scheme: 'http' });
  proxy = await startTestProxy({ registryUrl: registry.url, insecureRegistries: [origin.host] });
  proxies.push(proxy);
  client = proxyClient(proxy);
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close(1000)));
  await registry?.kill();
  await Promise.all([originClient?.close(), cacheClient?.close(), client?.close()]);
});

describe('cold and warm pulls', () => {
  it('a cold pull streams from the origin and fills the cache with identical digests', async () => {
    const repo = uniqueRepo('cold');
    const image = makeImage([smallLayer({ 'hello.txt': 'hello' }), smallLayer({ 'world.txt': 'world' })]);
    await pushImage(originClient, repo, image, 'v1');

    const pulled = await pull(client, viaProxy(origin, repo), 'v1');
    expect(pulled.root.digest).toBe(image.manifest.digest);
    expect(pulled.blobs.size).toBe(3);

    // The cache ends up holding the tag, the manifest and every blob, byte for byte.
    const cacheRepo = viaProxy(origin, repo);
    await eventually(() => cacheClient.headManifest(cacheRepo, 'v1'), 'tag v1 in the cache');
    expect((await cacheClient.getManifest(cacheRepo, 'v1')).digest).toBe(image.manifest.digest);
    for (const blob of [image.config, ...image.layers]) {
      expect(await cacheClient.statBlob(cacheRepo, blob.digest)).toEqual({ size: blob.size });
      // One origin read per blob: the cache was filled from the same stream the client got.
      expect(blobGets(origin, repo, blob.digest)).toBe(1);
    }

    // The second pull is served from the cache: the origin sees no new request.
    const before = accessLogLines(origin, repo).length;
    const hitsBefore = await metricValue(proxy, 'kube_image_keeper_proxy_http_requests_total', { cacheHit: 'true' });
    const again = await pull(client, viaProxy(origin, repo), 'v1');
    expect(again.root.digest).toBe(image.manifest.digest);
    expect(accessLogLines(origin, repo).length).toBe(before);
    expect(await metricValue(proxy, 'kube_image_keeper_proxy_http_requests_total', { cacheHit: 'true' })).toBe(hitsBefore + 4);
  });

  it('keeps a multi-arch index unchanged: same digest, every platform cached', async () => {
    const repo = uniqueRepo('multi');
    const index = makeIndex([
      makeImage([smallLayer({ a: 'amd64' })], { os: 'linux', architecture: 'amd64' }),
      makeImage([smallLayer({ a: 'arm64' })], { os: 'linux', architecture: 'arm64' }),
    ]);
    await pushIndex(originClient, repo, index, 'multi');

    // A node pulls its own platform only, as containerd does.
    const pulled = await pull(client, viaProxy(origin, repo), 'multi', 'linux/amd64');
    expect(pulled.root.digest).toBe(index.manifest.digest);
    expect(pulled.manifests.map((m) => m.digest)).toEqual([index.manifest.digest, index.images[0]!.manifest.digest]);

    const cacheRepo = viaProxy(origin, repo);
    const cachedIndex = await eventually(() => cacheClient.headManifest(cacheRepo, 'multi'), 'index in the cache');
    expect(cachedIndex.digest).toBe(index.manifest.digest);
    for (const image of index.images) {
      expect(await cacheClient.headManifest(cacheRepo, image.manifest.digest)).not.toBeNull();
      for (const blob of [image.config, ...image.layers]) expect(await cacheClient.statBlob(cacheRepo, blob.digest)).not.toBeNull();
    }
    // The other platform pulls from the cache alone.
    const before = accessLogLines(origin, repo).length;
    const arm = await pull(client, viaProxy(origin, repo), 'multi', 'linux/arm64');
    expect(arm.manifests[1]!.digest).toBe(index.images[1]!.manifest.digest);
    expect(accessLogLines(origin, repo).length).toBe(before);
  });

  it('serves digest-pinned pulls, and never asks the origin again once cached', async () => {
    const repo = uniqueRepo('pinned');
    const image = makeImage([smallLayer({ pinned: 'yes' })]);
    await pushImage(originClient, repo, image);
    const pinnedProxy = await startTestProxy({ registryUrl: registry.url, insecureRegistries: [origin.host], config: { tags: { refreshInterval: '1ms' } } });
    proxies.push(pinnedProxy);
    const c = proxyClient(pinnedProxy);

    expect((await pull(c, viaProxy(origin, repo), image.manifest.digest)).root.digest).toBe(image.manifest.digest);
    await eventually(() => cacheClient.headManifest(viaProxy(origin, repo), image.manifest.digest), 'pinned manifest in the cache');
    const before = accessLogLines(origin, repo).length;
    await pull(c, viaProxy(origin, repo), image.manifest.digest);
    expect(accessLogLines(origin, repo).length).toBe(before);
  });

  it('revalidates a tag older than the refresh interval and picks up a re-pushed tag', async () => {
    const repo = uniqueRepo('retag');
    const first = makeImage([smallLayer({ v: '1' })], undefined, 'first');
    const second = makeImage([smallLayer({ v: '2' })], undefined, 'second');
    await pushImage(originClient, repo, first, 'latest');
    const p = await startTestProxy({ registryUrl: registry.url, insecureRegistries: [origin.host], config: { tags: { refreshInterval: '1s' } } });
    proxies.push(p);
    const c = proxyClient(p);

    expect((await pull(c, viaProxy(origin, repo), 'latest')).root.digest).toBe(first.manifest.digest);
    await eventually(() => cacheClient.headManifest(viaProxy(origin, repo), 'latest'), 'tag in the cache');
    await pushImage(originClient, repo, second, 'latest');
    // Within the interval the cached tag is served as is.
    expect((await c.getManifest(viaProxy(origin, repo), 'latest')).digest).toBe(first.manifest.digest);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await pull(c, viaProxy(origin, repo), 'latest')).root.digest).toBe(second.manifest.digest);
    // And the cache follows.
    await eventually(async () => (await cacheClient.headManifest(viaProxy(origin, repo), 'latest'))?.digest === second.manifest.digest, 'cache tag moved');
    expect(await metricValue(p, 'kube_image_keeper_proxy_tag_revalidations_total', { result: 'changed' })).toBe(1);
  });

  it('answers the mirror form (?ns=) and Docker Hub-style names', async () => {
    const repo = uniqueRepo('mirror');
    const image = makeImage([smallLayer({ m: 'mirror' })]);
    await pushImage(originClient, repo, image, 'v1');
    const res = await request(`${proxy.url}/v2/${repo}/manifests/v1?ns=${origin.host}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(image.manifest.digest);
    expect(createHash('sha256').update(Buffer.from(await res.body.arrayBuffer())).digest('hex')).toBe(image.manifest.digest.slice(7));
    // Anonymous ping: challenged (see client-credentials.test.ts); with any credentials: 200.
    const anonymous = await request(`${proxy.url}/v2/`);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="kuik-proxy", charset="UTF-8"');
    await anonymous.body.dump();
    const base = await request(`${proxy.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
    expect(base.statusCode).toBe(200);
    expect(base.headers['docker-distribution-api-version']).toBe('registry/2.0');
    await base.body.dump();
  });

  it('passes origin errors through as OCI errors', async () => {
    const res = await request(`${proxy.url}/v2/${viaProxy(origin, 'no/such-repo')}/manifests/v1`);
    expect(res.statusCode).toBe(404);
    const body = (await res.body.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('MANIFEST_UNKNOWN');
    expect(body.errors[0]!.message).toContain(`origin registry ${origin.host}`);
    const put = await request(`${proxy.url}/v2/${viaProxy(origin, 'x/y')}/manifests/v1`, { method: 'PUT', body: '{}' });
    expect(put.statusCode).toBe(405);
    await put.body.dump();
  });
});

describe('failures', () => {
  it('serves from the cache while the origin is stopped', async () => {
    const stoppable = startOrigin('proxy-stop');
    const stoppableClient = new RegistryClient({ host: stoppable.host, insecure: true });
    try {
      const repo = uniqueRepo('offline');
      const image = makeImage([smallLayer({ offline: 'ok' }), smallLayer({ more: 'data' })]);
      await pushImage(stoppableClient, repo, image, 'v1');
      const p = await startTestProxy({ registryUrl: registry.url, insecureRegistries: [stoppable.host], config: { tags: { refreshInterval: '1ms', revalidateTimeout: '500ms' } } });
      proxies.push(p);
      const c = proxyClient(p);
      await pull(c, viaProxy(stoppable, repo), 'v1');
      await eventually(() => cacheClient.headManifest(viaProxy(stoppable, repo), 'v1'), 'tag in the cache');

      stopOrigin('proxy-stop');
      // The tag is stale (1 ms interval): revalidation fails fast and the cached manifest is served.
      const offline = await pull(c, viaProxy(stoppable, repo), 'v1');
      expect(offline.root.digest).toBe(image.manifest.digest);
      expect(await metricValue(p, 'kube_image_keeper_proxy_tag_revalidations_total', { result: 'failed' })).toBeGreaterThanOrEqual(1);

      // Origin down and cache down: an OCI error that names both.
      await registry.kill();
      const res = await request(`${p.url}/v2/${viaProxy(stoppable, uniqueRepo('never'))}/manifests/v1`);
      expect(res.statusCode).toBe(502);
      const body = (await res.body.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.code).toBe('UNAVAILABLE');
      expect(body.errors[0]!.message).toMatch(/origin registry 127\.0\.0\.1:\d+.*cache registry/);
    } finally {
      await stoppableClient.close();
      if (!registry.running) await registry.start();
    }
  });

  it('keeps serving when the cache registry dies mid-stream, and goes straight to the origin while it is down', async () => {
    const repo = uniqueRepo('midstream');
    const big = await largeLayer(`${repo}-big`, 48 << 20);
    const image = makeImage([big]);
    await pushImage(originClient, repo, image, 'v1');
    await pull(client, viaProxy(origin, repo), 'v1');
    await eventually(() => cacheClient.headManifest(viaProxy(origin, repo), 'v1'), 'image in the cache');

    // A slow client: read one chunk, then the registry is killed, then read the rest.
    const res = await request(`${proxy.url}/v2/${viaProxy(origin, repo)}/blobs/${big.digest}`);
    expect(res.statusCode).toBe(200);
    const hash = createHash('sha256');
    let size = 0;
    let killed = false;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      if (!killed) {
        killed = true;
        await registry.kill();
      }
    }
    expect(size).toBe(big.size);
    expect(`sha256:${hash.digest('hex')}`).toBe(big.digest);
    expect(await metricValue(proxy, 'kube_image_keeper_proxy_origin_fetches_total', { kind: 'resume' })).toBe(1);

    // With the registry down, a cold pull comes straight from the origin.
    const repo2 = uniqueRepo('nocache');
    const image2 = makeImage([smallLayer({ nocache: '1' })]);
    await pushImage(originClient, repo2, image2, 'v1');
    expect((await pull(client, viaProxy(origin, repo2), 'v1')).root.digest).toBe(image2.manifest.digest);
    expect(await fetchBlob(client, viaProxy(origin, repo2), image2.layers[0]!.digest)).toBe(image2.layers[0]!.size);

    await registry.start();
  });
});
