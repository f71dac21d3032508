// Real clients pulling through the proxy: skopeo (host form) and containerd (hosts.toml mirror,
// which sends ?ns=<origin>), with the image unpacked by containerd's snapshotter.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, requireServer, requireTool } from '@kuik/testing';
import { RegistryClient } from '@kuik/oci/client';
import type { Proxy } from '../src/proxy.js';
import { makeImage, makeIndex, pushImage, pushIndex, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, metricValue, startTestProxy } from './support/proxy.js';
import { KuikRegistry, startOrigin, tempDir, type OriginRegistry } from './support/servers.js';

const run = promisify(execFile);

let origin: OriginRegistry;
let originClient: RegistryClient;
let registry: KuikRegistry;
let cacheClient: RegistryClient;
let proxy: Proxy;
let proxyHost: string;

beforeAll(async () => {
  origin = startOrigin('proxy-origin');
  originClient = new RegistryClient({ host: origin.host, insecure: true });
  registry = await new KuikRegistry().start();
  cacheClient = new RegistryClient({ host: registry.host, scheme: 'http' });
  proxy = await startTestProxy({ registryUrl: registry.url, insecureRegistries: [origin.host] });
  proxyHost = new URL(proxy.url).host;
});

afterAll(async () => {
  await proxy?.close(1000);
  await registry?.kill();
  await Promise.all([originClient?.close(), cacheClient?.close()]);
});

describe('skopeo', () => {
  it('copies an image through the proxy (host form), digests unchanged', async () => {
    const skopeo = requireTool('SKOPEO_BIN');
    const repo = uniqueRepo('skopeo');
    const index = makeIndex([
      makeImage([smallLayer({ s: 'amd64' })], { os: 'linux', architecture: 'amd64' }),
      makeImage([smallLayer({ s: 'arm64' })], { os: 'linux', architecture: 'arm64' }),
    ]);
    await pushIndex(originClient, repo, index, 'v1');
    const dest = path.join(tempDir('skopeo'), 'oci');
    const src = `docker://${proxyHost}/${origin.host.replace(':', '-')}/${repo}:v1`;
    await run(skopeo, ['copy', '--all', '--src-tls-verify=false', src, `oci:${dest}:v1`], { timeout: 120_000 });
    const ociIndex = JSON.parse(readFileSync(path.join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(ociIndex.manifests[0]!.digest).toBe(index.manifest.digest);
    await eventually(() => cacheClient.headManifest(`${origin.host.replace(':', '-')}/${repo}`, 'v1'), 'image in the cache');
  });
});

describe('containerd', () => {
  it('pulls and unpacks through a hosts.toml mirror (?ns=)', async () => {
    // Idempotent: starts the shared test containerd when it is not running yet.
    await run('bash', [path.join(repoRoot(), 'tools/test-servers/containerd.sh'), 'start'], { timeout: 120_000 });
    const ctrd = requireServer('containerd');
    const ctr = ctrd['CONTAINERD_CTR']!;
    const base = ['--address', ctrd['CONTAINERD_ADDRESS']!, '--namespace', ctrd['CONTAINERD_NAMESPACE']!];

    const repo = uniqueRepo('ctrd');
    const image = makeImage([smallLayer({ 'etc/kuik-release': 'unpacked by containerd\n' }), smallLayer({ 'usr/share/kuik/second': 'layer two\n' })]);
    await pushImage(originClient, repo, image, 'v1');

    const hostsDir = tempDir('hosts');
    mkdirSync(path.join(hostsDir, origin.host), { recursive: true });
    writeFileSync(
      path.join(hostsDir, origin.host, 'hosts.toml'),
      `server = "http://${origin.host}"\n\n[host."http://${proxyHost}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const ref = `${origin.host}/${repo}:v1`;
    const before = await metricValue(proxy, 'kube_image_keeper_proxy_http_requests_total', { registry: origin.host });
    await run(ctr, [...base, 'image', 'pull', '--hosts-dir', hostsDir, '--snapshotter', ctrd['CONTAINERD_SNAPSHOTTER']!, ref], { timeout: 120_000 });
    try {
      // Every request went through the proxy: manifest, config, two layers (plus a HEAD to resolve).
      expect((await metricValue(proxy, 'kube_image_keeper_proxy_http_requests_total', { registry: origin.host })) - before).toBeGreaterThanOrEqual(4);
      const { stdout: list } = await run(ctr, [...base, 'image', 'ls']);
      const line = list.split('\n').find((l) => l.startsWith(ref));
      expect(line).toContain(image.manifest.digest);
      // Unpacked: the snapshot exists and holds the files of both layers.
      const { stdout: check } = await run(ctr, [...base, 'image', 'check', '--snapshotter', ctrd['CONTAINERD_SNAPSHOTTER']!]);
      expect(check.split('\n').find((l) => l.startsWith(ref))).toMatch(/complete.*\btrue\b/);
      const mountDir = tempDir('mount');
      await run(ctr, [...base, 'image', 'mount', '--snapshotter', ctrd['CONTAINERD_SNAPSHOTTER']!, ref, mountDir]);
      try {
        expect(readFileSync(path.join(mountDir, 'etc/kuik-release'), 'utf8')).toBe('unpacked by containerd\n');
        expect(readFileSync(path.join(mountDir, 'usr/share/kuik/second'), 'utf8')).toBe('layer two\n');
      } finally {
        await run(ctr, [...base, 'image', 'unmount', mountDir]);
      }
      await eventually(() => cacheClient.headManifest(`${origin.host.replace(':', '-')}/${repo}`, 'v1'), 'image in the cache');
    } finally {
      await run(ctr, [...base, 'image', 'rm', ref]).catch(() => undefined);
    }
  });
});
