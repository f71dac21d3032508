// Single-flight under load, and cache fills that survive the client that started them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { RegistryClient } from '@kuik/oci/client';
import type { Proxy } from '../src/proxy.js';
import { largeLayer, makeImage, pushImage, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, metricValue, proxyClient, pull, startTestProxy } from './support/proxy.js';
import { accessLogLines, blobGets, KuikRegistry, startOrigin, type OriginRegistry } from './support/servers.js';

let origin: OriginRegistry;
let originClient: RegistryClient;
let registry: KuikRegistry;
let cacheClient: RegistryClient;
let proxy: Proxy;

const viaProxy = (repo: string) => `${origin.host.replace(':', '-')}/${repo}`;

beforeAll(async () => {
  origin = startOrigin('proxy-load');
  originClient = new RegistryClient({ host: origin.host, insecure: true });
  registry = await new KuikRegistry().start();
  cacheClient = new RegistryClient({ host: registry.host, scheme: 'http' });
  proxy = await startTestProxy({ registryUrl: registry.url, insecureRegistries: [origin.host] });
});

afterAll(async () => {
  await proxy?.close(1000);
  await registry?.kill();
  await Promise.all([originClient?.close(), cacheClient?.close()]);
});

describe('single-flight', () => {
  it('20 concurrent cold pulls of a ~200 MiB image cost the origin one GET per blob', async () => {
    const repo = uniqueRepo('load');
    const layers = await Promise.all([0, 1, 2, 3].map((i) => largeLayer(`${repo}-${i}`, 50 << 20)));
    const image = makeImage([...layers, smallLayer({ small: 'layer' })]);
    await pushImage(originClient, repo, image, 'v1');

    const clients = Array.from({ length: 20 }, () => proxyClient(proxy));
    try {
      const results = await Promise.all(clients.map((c) => pull(c, viaProxy(repo), 'v1')));
      for (const r of results) expect(r.root.digest).toBe(image.manifest.digest);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    for (const blob of [image.config, ...image.layers]) expect(blobGets(origin, repo, blob.digest)).toBe(1);
    const manifestGets = accessLogLines(origin, repo).filter((l) => l.includes('"GET ') && l.includes('/manifests/'));
    expect(manifestGets).toHaveLength(1);
    expect(await metricValue(proxy, 'kube_image_keeper_proxy_single_flight_joins_total')).toBeGreaterThanOrEqual(19);
    // Everything lands in the cache too, from those same single reads.
    await eventually(() => cacheClient.headManifest(viaProxy(repo), 'v1'), 'image in the cache', 60_000);
  });

  it('a client that disconnects mid-blob does not stop the cache fill', async () => {
    const repo = uniqueRepo('gone');
    const big = await largeLayer(`${repo}-big`, 32 << 20);
    await pushImage(originClient, repo, makeImage([big]), 'v1');

    const res = await request(`${proxy.url}/v2/${viaProxy(repo)}/blobs/${big.digest}`);
    expect(res.statusCode).toBe(200);
    for await (const _chunk of res.body) break; // one chunk, then hang up

    await eventually(() => cacheClient.statBlob(viaProxy(repo), big.digest), 'blob in the cache after the client left');
    expect(blobGets(origin, repo, big.digest)).toBe(1);
    expect(await metricValue(proxy, 'kube_image_keeper_proxy_cache_fill_failures_total')).toBe(0);
  });
});
