// Starting a proxy in-process for a test, and pulling through it like a container runtime
// would: manifest (index → platform manifests), config, layers, every digest verified.
import { createHash } from 'node:crypto';
import { createLogger, silentLogger, type Logger } from '@kuik/observability';
import { isIndexMediaType, parseManifest, type Digest } from '@kuik/oci';
import { RegistryClient, type Manifest } from '@kuik/oci/client';
import { DEFAULTS, parseProxyConfig } from '../../src/config.js';
import { startProxy, type Proxy } from '../../src/proxy.js';
import { tempDir } from './servers.js';

export interface TestProxyOptions {
  registryUrl: string;
  insecureRegistries?: string[];
  /** Extra config keys (merged over the test defaults). */
  config?: Record<string, unknown>;
  logger?: Logger;
}

export async function startTestProxy(opts: TestProxyOptions): Promise<Proxy> {
  const tree = {
    ...structuredClone(DEFAULTS),
    listen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    log: { level: 'warn', accessLog: false },
    registry: { url: opts.registryUrl, timeouts: { connect: '2s', headers: '10s', idle: '30s' }, retryAfter: '1s' },
    insecureRegistries: opts.insecureRegistries ?? [],
    dataDir: tempDir('proxy-data'),
    ...opts.config,
  };
  const logger = process.env['KUIK_TEST_LOG'] ? createLogger({ component: 'proxy', level: 'debug' }) : (opts.logger ?? silentLogger);
  return startProxy(parseProxyConfig(tree), { logger });
}

/** A client that talks to the proxy as if it were a registry. */
export function proxyClient(proxy: Proxy): RegistryClient {
  return new RegistryClient({ host: new URL(proxy.url).host, scheme: 'http' });
}

export interface PullResult {
  root: Manifest;
  manifests: Manifest[];
  blobs: Map<Digest, number>;
}

/**
 * Pulls an image through a registry client: the root manifest, every platform's manifest (or
 * just `platform`), their configs and layers, checking each blob's digest and size.
 */
export async function pull(client: RegistryClient, repository: string, reference: string, platform?: string): Promise<PullResult> {
  const root = await client.getManifest(repository, reference);
  const manifests: Manifest[] = [root];
  const blobs = new Map<Digest, number>();
  const images: Manifest[] = [];
  if (isIndexMediaType(root.mediaType)) {
    for (const child of parseManifest(root.content, root.mediaType).manifests) {
      if (platform && `${child.platform?.os}/${child.platform?.architecture}` !== platform) continue;
      const m = await client.getManifest(repository, child.digest);
      manifests.push(m);
      images.push(m);
    }
  } else {
    images.push(root);
  }
  for (const m of images) {
    const parsed = parseManifest(m.content, m.mediaType);
    await Promise.all(
      [parsed.config!, ...parsed.layers].map(async (d) => {
        if (blobs.has(d.digest)) return;
        blobs.set(d.digest, d.size);
        const size = await fetchBlob(client, repository, d.digest);
        if (size !== d.size) throw new Error(`blob ${d.digest}: got ${size} bytes, expected ${d.size}`);
      }),
    );
  }
  return { root, manifests, blobs };
}

/** Downloads one blob, verifying its digest; returns its size. */
export async function fetchBlob(client: RegistryClient, repository: string, digest: Digest): Promise<number> {
  const res = await client.getBlob(repository, digest);
  if (res.kind !== 'content') throw new Error('unexpected redirect');
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== digest) throw new Error(`blob ${digest}: content hashes to ${actual}`);
  return size;
}

/** Polls until fn resolves truthy (cache fills run in the background). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of one sample of a metric in Prometheus text format (0 when absent). */
export async function metricValue(proxy: Proxy, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await proxy.context.metrics.registry.metrics();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries((m[2] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=').map((s) => s.replace(/"/g, '')) as [string, string]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[3]);
  }
  return total;
}
