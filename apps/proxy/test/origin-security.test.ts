// Origins that need credentials and a private CA: docker-registry with --tls (certificate from a
// test CA) and --htpasswd (basic auth), credentials from a Docker config.json.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { RegistryClient, StaticCredentials } from '@kuik/oci/client';
import type { Proxy } from '../src/proxy.js';
import { makeImage, pushImage, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, proxyClient, pull, startTestProxy } from './support/proxy.js';
import { KuikRegistry, startOrigin, tempDir, type OriginRegistry } from './support/servers.js';

let secure: OriginRegistry;
let registry: KuikRegistry;
let cacheClient: RegistryClient;
const proxies: Proxy[] = [];
const repo = uniqueRepo('secure');
const image = makeImage([smallLayer({ secret: 'data' })]);

beforeAll(async () => {
  secure = startOrigin('proxy-secure', ['--tls', '--htpasswd']);
  const pusher = new RegistryClient({
    host: secure.host,
    ca: [readFileSync(secure.caFile!, 'utf8')],
    credentials: new StaticCredentials({ [secure.host]: { username: secure.username!, password: secure.password! } }),
  });
  await pushImage(pusher, repo, image, 'v1');
  await pusher.close();
  registry = await new KuikRegistry().start();
  cacheClient = new RegistryClient({ host: registry.host, scheme: 'http' });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close(1000)));
  await registry?.kill();
  await cacheClient?.close();
});

async function proxyWith(config: Record<string, unknown>, registryUrl = registry.url): Promise<Proxy> {
  const p = await startTestProxy({ registryUrl, config });
  proxies.push(p);
  return p;
}

function dockerConfig(auth: string): string {
  const file = path.join(tempDir('docker-config'), 'config.json');
  writeFileSync(file, JSON.stringify({ auths: { [`https://${secure.host}`]: { auth } } }));
  return file;
}

const viaProxy = () => `${secure.host.replace(':', '-')}/${repo}`;

describe('origin over TLS with basic auth', () => {
  it('pulls with the test CA and credentials from a Docker config.json, and caches', async () => {
    const creds = Buffer.from(`${secure.username}:${secure.password}`).toString('base64');
    const p = await proxyWith({ rootCertificateAuthorities: [secure.caFile], credentials: { dockerConfig: dockerConfig(creds) } });
    const c = proxyClient(p);
    expect((await pull(c, viaProxy(), 'v1')).root.digest).toBe(image.manifest.digest);
    await eventually(() => cacheClient.headManifest(viaProxy(), 'v1'), 'image in the cache');
    await c.close();
  });

  it('refuses a certificate it cannot verify, naming the origin', async () => {
    const p = await proxyWith({});
    const res = await request(`${p.url}/v2/${viaProxy()}/manifests/${uniqueRepo('x').split('/')[1]}`);
    expect(res.statusCode).toBe(502);
    const body = (await res.body.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('UNAVAILABLE');
    expect(body.errors[0]!.message).toContain(`origin registry ${secure.host}`);
    expect(body.errors[0]!.message).toMatch(/certificate|self.signed|UNABLE_TO/i);
  });

  it('answers DENIED when the origin wants credentials the proxy does not have', async () => {
    const p = await proxyWith({ rootCertificateAuthorities: [secure.caFile] });
    const res = await request(`${p.url}/v2/${viaProxy()}/manifests/nope`);
    expect(res.statusCode).toBe(403);
    const body = (await res.body.json()) as { errors: { code: string }[] };
    expect(body.errors[0]!.code).toBe('DENIED');
  });

  it('reaches an insecure registry over unverified TLS', async () => {
    const creds = Buffer.from(`${secure.username}:${secure.password}`).toString('base64');
    // No cache (nothing listens on port 9): the manifest must come from the origin itself.
    const p = await proxyWith({ insecureRegistries: [secure.host], credentials: { dockerConfig: dockerConfig(creds) } }, 'http://127.0.0.1:9');
    const c = proxyClient(p);
    expect((await c.getManifest(viaProxy(), image.manifest.digest)).digest).toBe(image.manifest.digest);
    await c.close();
  });
});
