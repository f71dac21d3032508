// Pods' own pull secrets (src/client-auth.ts): the runtime presents the credentials kubelet found
// for "<proxy>/<origin>/" and the proxy pulls with them, keeps what it got in the private area of
// the cache, and serves it only to clients the origin accepts — also from the cache, also with
// the origin down. The private origin is docker-registry over TLS with basic auth, no credentials
// configured in the proxy; the public one is docker-registry without auth. Clients: our registry
// client, skopeo (pings /v2/ first) and containerd (`ctr --user`, what kubelet passes over CRI).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { repoRoot, requireServer, requireTool } from '@kuik/testing';
import { RegistryClient, StaticCredentials } from '@kuik/oci/client';
import type { Proxy } from '../src/proxy.js';
import { makeImage, pushImage, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, metricValue, pull, startTestProxy } from './support/proxy.js';
import { accessLogLines, KuikRegistry, startOrigin, stopOrigin, tempDir, type OriginRegistry } from './support/servers.js';

const run = promisify(execFile);
const PRIVATE = 'proxy-private';

let priv: OriginRegistry;
let pub: OriginRegistry;
let registry: KuikRegistry;
let cacheClient: RegistryClient;
let proxy: Proxy;
let proxyHost = '';
const clients: RegistryClient[] = [];
const repo = uniqueRepo('private');
const image = makeImage([smallLayer({ 'etc/private': 'only for the team\n' }), smallLayer({ 'etc/second': 'layer two\n' })]);
const publicRepo = uniqueRepo('public');
const publicImage = makeImage([smallLayer({ 'etc/public': 'for everyone\n' })]);

const seg = (o: OriginRegistry) => o.host.replace(':', '-');
const viaProxy = () => `${seg(priv)}/${repo}`;

/** A client of the proxy presenting user:password (or nothing). */
function asClient(user?: string, password?: string): RegistryClient {
  const c = new RegistryClient({
    host: proxyHost,
    scheme: 'http',
    ...(user ? { credentials: new StaticCredentials({ [proxyHost]: { username: user, password: password! } }) } : {}),
  });
  clients.push(c);
  return c;
}

async function status(url: string, headers: Record<string, string> = {}): Promise<{ status: number; challenge?: string; code?: string; message?: string }> {
  const res = await request(url, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json', ...headers } });
  const text = await res.body.text();
  const err = text ? ((JSON.parse(text) as { errors?: { code: string; message: string }[] }).errors?.[0] ?? {}) : {};
  return { status: res.statusCode, challenge: res.headers['www-authenticate'] as string | undefined, code: (err as { code?: string }).code, message: (err as { message?: string }).message };
}

const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

beforeAll(async () => {
  priv = startOrigin(PRIVATE, ['--tls', '--htpasswd']);
  pub = startOrigin('proxy-public-creds');
  const ca = [readFileSync(priv.caFile!, 'utf8')];
  const pusher = new RegistryClient({ host: priv.host, ca, credentials: new StaticCredentials({ [priv.host]: { username: priv.username!, password: priv.password! } }) });
  await pushImage(pusher, repo, image, 'v1');
  await pusher.close();
  const pubPusher = new RegistryClient({ host: pub.host, insecure: true });
  await pushImage(pubPusher, publicRepo, publicImage, 'v1');
  await pubPusher.close();
  registry = await new KuikRegistry().start();
  cacheClient = new RegistryClient({ host: registry.host, scheme: 'http' });
  // A short grant lifetime: the tests below see the origin asked again, and the stale path.
  proxy = await startTestProxy({
    registryUrl: registry.url,
    insecureRegistries: [pub.host],
    config: { rootCertificateAuthorities: [priv.caFile], clientCredentials: { enabled: true, grantTtl: '300ms', staleGrantTtl: '1h' } },
  });
  proxyHost = new URL(proxy.url).host;
}, 120_000);

afterAll(async () => {
  await proxy?.close(1000);
  await registry?.kill();
  await Promise.all([cacheClient, ...clients].map((c) => c?.close()));
  // This file's private origin was stopped by the last test; nothing else uses the instance.
});

describe('a private image pulled with the pod’s own credentials', () => {
  it('challenges anonymous requests (and the /v2/ ping) with Basic, so runtimes present what they hold', async () => {
    const anon = await status(`${proxy.url}/v2/${viaProxy()}/manifests/v1`);
    expect(anon).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(anon.challenge).toBe('Basic realm="kuik-proxy", charset="UTF-8"');
    expect(anon.message).toContain(`origin registry ${priv.host}`);
    expect(await status(`${proxy.url}/v2/`)).toMatchObject({ status: 401, challenge: 'Basic realm="kuik-proxy", charset="UTF-8"' });
    expect((await status(`${proxy.url}/v2/`, basic('any', 'thing'))).status).toBe(200);
  });

  it('pulls with them into the private area only, digests unchanged', async () => {
    const c = asClient(priv.username, priv.password);
    const got = await pull(c, viaProxy(), 'v1');
    expect(got.root.digest).toBe(image.manifest.digest);
    await eventually(() => cacheClient.headManifest(`kuik-private/${viaProxy()}`, 'v1'), 'image in the private area');
    for (const layer of image.layers) await eventually(() => cacheClient.statBlob(`kuik-private/${viaProxy()}`, layer.digest), 'layer in the private area');
    expect(await cacheClient.headManifest(viaProxy(), 'v1')).toBeNull();
  });

  it('refuses other credentials and no credentials, although the image is cached', async () => {
    const wrong = await status(`${proxy.url}/v2/${viaProxy()}/manifests/v1`, basic(priv.username!, 'not-the-password'));
    expect(wrong).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    const blob = await status(`${proxy.url}/v2/${viaProxy()}/blobs/${image.layers[0]!.digest}`, basic('someone', 'else'));
    expect(blob.status).toBe(401);
    expect((await status(`${proxy.url}/v2/${viaProxy()}/manifests/v1`)).status).toBe(401);
    expect(await metricValue(proxy, 'kube_image_keeper_proxy_client_credential_checks_total', { result: 'refused' })).toBeGreaterThanOrEqual(2);
  });

  it('skopeo (which pings /v2/ first) copies it with the credentials, and is refused without', async () => {
    const skopeo = requireTool('SKOPEO_BIN');
    const dest = path.join(tempDir('skopeo-private'), 'oci');
    const src = `docker://${proxyHost}/${viaProxy()}:v1`;
    await run(skopeo, ['copy', '--src-tls-verify=false', '--src-creds', `${priv.username}:${priv.password}`, src, `oci:${dest}:v1`], { timeout: 120_000 });
    const index = JSON.parse(readFileSync(path.join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]!.digest).toBe(image.manifest.digest);
    const refused = await run(skopeo, ['copy', '--src-tls-verify=false', src, `oci:${path.join(tempDir('skopeo-anon'), 'oci')}:v1`], { timeout: 120_000 }).catch((e: { stderr?: string }) => e);
    expect(String((refused as { stderr?: string }).stderr)).toMatch(/unauthorized|authentication required/i);
  });

  it('containerd pulls and unpacks it with the credentials kubelet would pass (ctr --user), and fails without', async () => {
    await run('bash', [path.join(repoRoot(), 'tools/test-servers/containerd.sh'), 'start'], { timeout: 120_000 });
    const ctrd = requireServer('containerd');
    const ctr = ctrd['CONTAINERD_CTR']!;
    const base = ['--address', ctrd['CONTAINERD_ADDRESS']!, '--namespace', ctrd['CONTAINERD_NAMESPACE']!];
    const ref = `${proxyHost}/${viaProxy()}:v1`;
    const anon = await run(ctr, [...base, 'image', 'pull', '--plain-http', ref], { timeout: 60_000 }).catch((e: { stderr?: string }) => e);
    expect(String((anon as { stderr?: string }).stderr)).toMatch(/401|unauthorized/i);
    await run(ctr, [...base, 'image', 'pull', '--plain-http', '--user', `${priv.username}:${priv.password}`, '--snapshotter', ctrd['CONTAINERD_SNAPSHOTTER']!, ref], { timeout: 120_000 });
    try {
      const { stdout } = await run(ctr, [...base, 'image', 'ls']);
      expect(stdout).toContain(image.manifest.digest);
    } finally {
      await run(ctr, [...base, 'image', 'rm', ref]).catch(() => undefined);
    }
  });

  it('with the origin down: served from the private area to credentials it accepted within staleGrantTtl (containerd too), to nobody else', async () => {
    // Checked again now (grantTtl 300 ms), so that the acceptance is recent.
    await new Promise((r) => setTimeout(r, 350));
    const c = asClient(priv.username, priv.password);
    expect((await pull(c, viaProxy(), 'v1')).root.digest).toBe(image.manifest.digest);
    const lines = accessLogLines(priv, repo).length;
    stopOrigin(PRIVATE);
    await new Promise((r) => setTimeout(r, 350));
    const staleBefore = await metricValue(proxy, 'kube_image_keeper_proxy_client_credential_checks_total', { result: 'stale' });
    const again = asClient(priv.username, priv.password);
    const got = await pull(again, viaProxy(), 'v1');
    expect(got.root.digest).toBe(image.manifest.digest);
    expect(await metricValue(proxy, 'kube_image_keeper_proxy_client_credential_checks_total', { result: 'stale' })).toBeGreaterThan(staleBefore);
    // containerd asks anonymously first: challenged (a private copy exists), then served with the credentials.
    const ctrd = requireServer('containerd');
    const base = ['--address', ctrd['CONTAINERD_ADDRESS']!, '--namespace', ctrd['CONTAINERD_NAMESPACE']!];
    const ref = `${proxyHost}/${viaProxy()}:v1`;
    await run(ctrd['CONTAINERD_CTR']!, [...base, 'image', 'pull', '--plain-http', '--user', `${priv.username}:${priv.password}`, ref], { timeout: 120_000 });
    await run(ctrd['CONTAINERD_CTR']!, [...base, 'image', 'rm', ref]).catch(() => undefined);
    // Never accepted: cannot be checked, so nothing is served.
    const unknown = await status(`${proxy.url}/v2/${viaProxy()}/manifests/v1`, basic('never', 'seen'));
    expect(unknown).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(unknown.message).toContain('cannot check the credentials presented');
    // Anonymous: challenged (a private copy exists, the runtime must present its credentials), never served.
    const anon = await status(`${proxy.url}/v2/${viaProxy()}/blobs/${image.layers[0]!.digest}`);
    expect(anon).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(anon.message).toContain('a copy cached with credentials exists');
    // Not cached anywhere: the origin's failure, as it is.
    expect((await status(`${proxy.url}/v2/${seg(priv)}/${repo}-other/manifests/v1`)).status).toBe(502);
    expect(lines).toBeGreaterThan(0);
  });
});

describe('credentials on a public image', () => {
  it('are not needed: the image is served from, and cached in, the shared area', async () => {
    const c = asClient('rate-limit-user', 'whatever');
    const via = `${seg(pub)}/${publicRepo}`;
    expect((await pull(c, via, 'v1')).root.digest).toBe(publicImage.manifest.digest);
    await eventually(() => cacheClient.headManifest(via, 'v1'), 'image in the shared area');
    expect(await cacheClient.headManifest(`kuik-private/${via}`, 'v1')).toBeNull();
    // And anonymous clients get it too.
    expect((await pull(asClient(), via, 'v1')).root.digest).toBe(publicImage.manifest.digest);
  });
});
