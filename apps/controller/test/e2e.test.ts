// End to end against the real kube-apiserver, the origin docker-registry
// (tools/test-servers/docker-registry.sh start origin) and the kuik registry spawned here as the
// cache (its bundle, built from the current sources): pods
// created through the webhook become CachedImages, the images land in the cache with the
// origin's digests (every platform), workloads scaled to zero keep theirs, an image the proxy
// already cached is not fetched again, mutable tags follow their Repository's updateInterval,
// unused images expire and leave the registry (index, platforms, then their blobs at the next
// garbage collection), the finalizer gives up when the registry is gone,
// pull secrets are mirrored for the proxy and proxy readiness is mirrored onto nodes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, requireServer } from '@kuik/testing';
import { createLogger } from '@kuik/observability';
import { Controller } from '../src/controller.js';
import { CACHED_IMAGES_PATH, LABEL_PROXY_READY, REPOSITORIES_PATH, type CachedImage, type Repository } from '../src/crds/types.js';
import type { Pod, Secret } from '../src/kube/types.js';
import { createImageRegistries } from '../src/registry/oci-registries.js';
import { createCa, createServingCert } from '../src/webhook/tls/certs.js';
import { startCacheRegistry, type CacheRegistry } from './cache-registry.js';
import {
  applyWebhookConfiguration,
  createNamespace,
  deleteNamespace,
  deleteWebhookConfiguration,
  forceDelete,
  freePort,
  installCrds,
  kube,
  kubeConfig,
  kubeEnv,
  pod,
  suffix,
  testConfig,
  waitFor,
} from './harness.js';
import { headManifest, pushMultiArch, pushSingle, type PushedImage } from './images.js';

const origin = () => requireServer('docker-registry-origin');
/** An origin behind basic auth, for images only a pod's own pull secret can fetch. */
const PRIVATE_ORIGIN = 'controller-e2e-private';
const privateOriginScript = path.join(repoRoot(), 'tools/test-servers/docker-registry.sh');
let privateOrigin: { url: string; host: string; auth: { Authorization: string }; username: string; password: string };
const EXPIRY_MS = 4000;

let cache: CacheRegistry;
let controller: Controller;
let ns = '';
let controllerNs = '';
let webhookName = '';
let originHost = '';
let originUrl = '';
const repo = `kuik-e2e-${suffix()}/app`;
const images: Record<string, PushedImage> = {};
const logs: string[] = [];

const repoObjectName = () => `127.0.0.1-${originHost.split(':')[1]}-${repo.replace('/', '-')}`;
const ciName = (tag: string) => `${repoObjectName()}-${tag}`;
const cacheRepo = () => `127.0.0.1-${originHost.split(':')[1]}/${repo}`;
const getCi = (name: string) => kube().getOrNull<CachedImage>(`${CACHED_IMAGES_PATH}/${name}`);

async function createPod(name: string, image: string): Promise<Pod> {
  return kube().create<Pod>(`/api/v1/namespaces/${ns}/pods`, pod(name, [{ name: 'app', image, imagePullPolicy: 'IfNotPresent' }]));
}

beforeAll(async () => {
  const env = origin();
  originUrl = env['DOCKER_REGISTRY_ORIGIN_URL']!;
  originHost = env['DOCKER_REGISTRY_ORIGIN_HOST']!;
  kubeEnv();
  await installCrds();
  cache = await startCacheRegistry();
  ns = await createNamespace('kuik-e2e');
  controllerNs = await createNamespace('kuik-sys');

  images['v1'] = await pushMultiArch(originUrl, repo, 'v1');
  images['v2'] = await pushMultiArch(originUrl, repo, 'v2');
  images['v3'] = await pushSingle(originUrl, repo, 'v3');
  images['pinned'] = await pushSingle(originUrl, repo);

  execFileSync('bash', [privateOriginScript, 'start', PRIVATE_ORIGIN, '--htpasswd'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  const penv = requireServer(`docker-registry-${PRIVATE_ORIGIN}`);
  const P = 'DOCKER_REGISTRY_CONTROLLER_E2E_PRIVATE';
  const [username, password] = [penv[`${P}_USERNAME`]!, penv[`${P}_PASSWORD`]!];
  privateOrigin = { url: penv[`${P}_URL`]!, host: penv[`${P}_HOST`]!, username, password, auth: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } };

  const dir = mkdtempSync(path.join(tmpdir(), 'kuik-e2e-tls-'));
  const ca = createCa('kuik-e2e-ca', 86_400_000);
  const serving = createServingCert(ca, ['127.0.0.1'], 86_400_000);
  writeFileSync(path.join(dir, 'tls.crt'), serving.cert);
  writeFileSync(path.join(dir, 'tls.key'), serving.key);
  const webhookPort = await freePort();
  const config = testConfig({
    namespace: controllerNs,
    identity: 'e2e',
    ops: { listen: `127.0.0.1:${await freePort()}` },
    cachedImagesExpiryDelay: `${EXPIRY_MS / 1000}s`,
    webhook: {
      listen: `127.0.0.1:${webhookPort}`,
      // In-process: a thread cannot run these TypeScript sources (test/webhook-thread.test.ts runs the bundle's).
      workerThread: false,
      tls: { mode: 'files', certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key') },
      // The API server is shared with other tests whose pods name docker.io images: this
      // controller takes over (and counts as users) only this run's images at the local origin.
      acceptedImages: [`^${`${originHost}/${repo}`.replace(/[.]/g, '\\.')}[:@]`, `^${`${privateOrigin.host}/${repo}`.replace(/[.]/g, '\\.')}[:@]`],
    },
    registry: { url: cache.url, insecureRegistries: [originHost, privateOrigin.host] },
    cacheFill: { gracePeriod: '1s' },
    finalizerTimeout: '3s',
    leaderElection: { leaseDuration: '2s', renewDeadline: '1500ms', retryPeriod: '300ms' },
    kubeApi: { kubeconfig: kubeEnv()['KUBECONFIG'] },
  });
  const logger = createLogger({ component: 'controller', level: 'info', sink: (line) => void logs.push(line) });
  controller = new Controller({ config, kubeConfig: kubeConfig(), registries: createImageRegistries(config), logger, version: 'e2e' });
  await controller.start();
  await waitFor('the controller to lead', 10_000, () => controller.isLeader());
  webhookName = `kuik-e2e-${suffix()}`;
  await applyWebhookConfiguration({
    name: webhookName,
    url: `https://127.0.0.1:${webhookPort}/mutate`,
    caBundle: ca.cert,
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
  });
  await waitFor('the webhook to serve', 10_000, () => controller.webhook.ready());
}, 120_000);

afterAll(async () => {
  await deleteWebhookConfiguration(webhookName);
  await controller?.stop();
  await cache?.stop();
  // Cluster-scoped objects outlive the namespaces: a later run (or another controller on the same
  // API server) must not find this run's Deployment, CachedImages or Repository.
  if (ns) await kube().delete(`/apis/apps/v1/namespaces/${ns}/deployments/scaled-to-zero`);
  if (originHost) {
    const prefix = `${repoObjectName()}-`;
    const all = await kube().get<{ items: CachedImage[] }>(CACHED_IMAGES_PATH);
    for (const c of all.items.filter((x) => x.metadata.name?.startsWith(prefix))) await forceDelete(`${CACHED_IMAGES_PATH}/${c.metadata.name}`);
    await forceDelete(`${REPOSITORIES_PATH}/${repoObjectName()}`);
  }
  await deleteNamespace(ns);
  await deleteNamespace(controllerNs);
  execFileSync('bash', [privateOriginScript, 'stop', PRIVATE_ORIGIN], { stdio: 'ignore', timeout: 60_000 });
}, 60_000);

describe('kuik controller end to end', () => {
  it('pods → CachedImage Ready with the origin digest; every platform in the cache', async () => {
    const image = `${originHost}/${repo}:v1`;
    const p1 = await createPod('v1-a', image);
    await createPod('v1-b', image);
    expect(p1.spec?.containers?.[0]?.image).toBe(`localhost:7439/127.0.0.1-${originHost.split(':')[1]}/${repo}:v1`);

    const ci = await waitFor('CachedImage v1 Ready', 30_000, async () => {
      const c = await getCi(ciName('v1'));
      return c?.status?.phase === 'Ready' ? c : undefined;
    });
    expect(ci.spec.sourceImage).toBe(`${originHost}/${repo}:v1`);
    expect(ci.status).toMatchObject({ isCached: true, digest: images['v1']!.digest, upstreamDigest: images['v1']!.digest, upToDate: true, availableUpstream: true });
    expect(ci.status?.lastSuccessfulPull).toBeDefined();
    await waitFor('usedBy exact', 10_000, async () => (await getCi(ciName('v1')))?.status?.usedBy?.count === 2);
    expect((await getCi(ciName('v1')))?.status?.usedBy?.pods).toEqual([{ namespacedName: `${ns}/v1-a` }, { namespacedName: `${ns}/v1-b` }]);
    for (const d of images['v1']!.manifests) expect(await headManifest(cache.url, cacheRepo(), d)).toBe(d);
    expect(await headManifest(cache.url, cacheRepo(), 'v1')).toBe(images['v1']!.digest);
  });

  it('caches digest-pinned images', async () => {
    const image = `${originHost}/${repo}@${images['pinned']!.digest}`;
    await createPod('pinned', image);
    const name = `127.0.0.1-${originHost.split(':')[1]}-${repo.replace('/', '-')}-${images['pinned']!.digest.replace(':', '-')}`;
    const ci = await waitFor('CachedImage pinned Ready', 30_000, async () => {
      const c = await getCi(name);
      return c?.status?.phase === 'Ready' ? c : undefined;
    });
    expect(ci.status?.digest).toBe(images['pinned']!.digest);
    expect(await headManifest(cache.url, cacheRepo(), images['pinned']!.digest)).toBe(images['pinned']!.digest);
  });

  it('a Deployment scaled to zero keeps its image cached and never expiring', async () => {
    await kube().create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'scaled-to-zero' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'z' } },
        template: { metadata: { labels: { app: 'z' } }, spec: { containers: [{ name: 'app', image: `${originHost}/${repo}:v2`, imagePullPolicy: 'IfNotPresent' }] } },
      },
    });
    const ci = await waitFor('CachedImage v2 Ready', 30_000, async () => {
      const c = await getCi(ciName('v2'));
      return c?.status?.phase === 'Ready' ? c : undefined;
    });
    expect(ci.status?.digest).toBe(images['v2']!.digest);
    expect(ci.status?.usedBy?.workloads).toEqual([{ kind: 'Deployment', namespacedName: `${ns}/scaled-to-zero` }]);
    expect(ci.spec.expiresAt).toBeUndefined();
  });

  it('an image the proxy already cached is not fetched from the origin again', async () => {
    // What the proxy does on a miss: it streams the image into the cache.
    const copy = async (ref: string, accept: string) => {
      const r = await fetch(`${originUrl}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
      return Buffer.from(await r.arrayBuffer());
    };
    const manifest = JSON.parse((await copy('v3', 'application/vnd.oci.image.manifest.v1+json')).toString()) as { config: { digest: string }; layers: { digest: string }[] };
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      const blob = Buffer.from(await (await fetch(`${originUrl}/v2/${repo}/blobs/${d}`)).arrayBuffer());
      const start = await fetch(`${cache.url}/v2/${cacheRepo()}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(start.headers.get('location')!, cache.url);
      loc.searchParams.set('digest', d);
      await fetch(loc, { method: 'PUT', body: blob });
    }
    await fetch(`${cache.url}/v2/${cacheRepo()}/manifests/v3`, {
      method: 'PUT',
      body: await copy('v3', 'application/vnd.oci.image.manifest.v1+json'),
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });

    const accessLog = origin()['DOCKER_REGISTRY_ORIGIN_ACCESS_LOG']!;
    const before = readFileSync(accessLog, 'utf8').length;
    await createPod('v3', `${originHost}/${repo}:v3`);
    const ci = await waitFor('CachedImage v3 Ready', 30_000, async () => {
      const c = await getCi(ciName('v3'));
      return c?.status?.phase === 'Ready' ? c : undefined;
    });
    expect(ci.status?.digest).toBe(images['v3']!.digest);
    const after = readFileSync(accessLog, 'utf8').slice(before);
    const gets = after.split('\n').filter((l) => l.includes(`"GET /v2/${repo}/`));
    expect(gets).toEqual([]); // at most a HEAD to check it is up to date; no manifest or blob download
  });

  it('unused images get an expiry, then leave the cluster and the registry', async () => {
    await kube().request('DELETE', `/api/v1/namespaces/${ns}/pods/v1-a`, { query: { gracePeriodSeconds: 0 } });
    await kube().request('DELETE', `/api/v1/namespaces/${ns}/pods/v1-b`, { query: { gracePeriodSeconds: 0 } });
    const expiring = await waitFor('expiresAt set', 10_000, async () => {
      const c = await getCi(ciName('v1'));
      return c?.spec.expiresAt ? c : undefined;
    });
    expect(expiring.status?.usedBy?.count ?? 0).toBe(0);
    expect(Date.parse(expiring.spec.expiresAt!)).toBeGreaterThan(Date.now());
    await waitFor('CachedImage v1 deleted', EXPIRY_MS + 15_000, async () => (await getCi(ciName('v1'))) === null);
    expect(await headManifest(cache.url, cacheRepo(), images['v1']!.digest)).toBeUndefined();
    // The image still used by the Deployment is untouched.
    expect(await headManifest(cache.url, cacheRepo(), 'v2')).toBe(images['v2']!.digest);
    expect((await getCi(ciName('v2')))?.spec.expiresAt).toBeUndefined();
  });

  it('what expiry removed is garbage: the registry’s next collection reclaims it and keeps the images in use', async () => {
    // The index went, and with it its platform manifests (nothing else tags them)…
    for (const d of images['v1']!.manifests) expect(await headManifest(cache.url, cacheRepo(), d)).toBeUndefined();
    const blobData = (d: string) => path.join(cache.storageDir, 'docker/registry/v2/blobs/sha256', d.slice(7, 9), d.slice(7), 'data');
    // …their content waits for the collector.
    for (const d of images['v1']!.manifests) expect(existsSync(blobData(d))).toBe(true);
    await new Promise((r) => setTimeout(r, 1100)); // older than the registry's grace period
    expect((await fetch(`${cache.opsUrl}/gc?dryrun=false`, { method: 'POST' })).status).toBe(202);
    type GcStatus = { running: unknown; last: { result: string; stats?: { blobsSwept: number } } | null };
    const last = await waitFor('the garbage collection', 30_000, async () => {
      const s = (await (await fetch(`${cache.opsUrl}/gc`)).json()) as GcStatus;
      return s.running ? undefined : (s.last ?? undefined);
    });
    expect(last.result).toBe('done');
    // The three manifests at least, plus the configs and layers only v1 had.
    expect(last.stats!.blobsSwept).toBeGreaterThanOrEqual(images['v1']!.manifests.length);
    for (const d of images['v1']!.manifests) expect(existsSync(blobData(d))).toBe(false);
    for (const d of images['v2']!.manifests) expect(existsSync(blobData(d))).toBe(true);
    expect(await headManifest(cache.url, cacheRepo(), 'v2')).toBe(images['v2']!.digest);
    expect(await headManifest(cache.url, cacheRepo(), images['pinned']!.digest)).toBe(images['pinned']!.digest);
  });

  it('Repositories are created per repository and their pull secrets mirrored for the proxy', async () => {
    const repoName = repoObjectName();
    const repoKey = `${originHost}/${repo}`;
    const r = await waitFor('Repository created', 10_000, () => kube().getOrNull<Repository>(`${REPOSITORIES_PATH}/${repoName}`).then((x) => x ?? undefined));
    expect(r.spec.name).toBe(repoKey);
    expect(r.metadata.annotations?.['kuik.enix.io/auto-created']).toBe('true');
    await waitFor('Repository status', 10_000, async () => ((await kube().get<Repository>(`${REPOSITORIES_PATH}/${repoName}`)).status?.images ?? 0) >= 2);

    // The API server is shared: the mirror holds every Repository with pull secrets in the
    // cluster, so this test judges its own entry, exactly.
    const mirrorEntry = async () => {
      const s = await kube().getOrNull<Secret>(`/api/v1/namespaces/${controllerNs}/secrets/kuik-pull-secrets`);
      const data = s?.data?.['repositories.json'];
      const doc = data ? (JSON.parse(Buffer.from(data, 'base64').toString()) as { repositories: Record<string, unknown> }) : undefined;
      return doc?.repositories[repoKey];
    };
    expect(await mirrorEntry()).toBeUndefined(); // no pull secrets yet

    // Two registries in the secret: only the repository's own registry entry reaches the proxy.
    const auth = Buffer.from(JSON.stringify({ auths: { [originHost]: { username: 'u', password: 'p' }, 'other.registry.test': { username: 'x', password: 'y' } } })).toString('base64');
    await kube().create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'origin-creds' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': auth } });
    await kube().mergePatch(`${REPOSITORIES_PATH}/${repoName}`, { spec: { pullSecretNames: ['origin-creds'], pullSecretsNamespace: ns } });
    const entry = await waitFor('pull-secret mirror', 15_000, mirrorEntry);
    expect(entry).toEqual({ auths: { [originHost]: { username: 'u', password: 'p' } } });
    await waitFor('Repository condition', 10_000, async () => (await kube().get<Repository>(`${REPOSITORIES_PATH}/${repoName}`)).status?.conditions?.some((c) => c.type === 'PullSecretsReady' && c.status === 'True'));
  });

  it("a pod's own pull secrets are copied into its namespace for the proxy's host", async () => {
    const dockerconfig = (auths: Record<string, unknown>) => Buffer.from(JSON.stringify({ auths })).toString('base64');
    const source = await kube().create<Secret>(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'team-creds' },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': dockerconfig({
          [`http://${originHost}`]: { auth: Buffer.from('team:s3cret').toString('base64') },
          'https://index.docker.io/v1/': { username: 'hub-user', password: 'hub-pass' },
          'token.registry.test': { identitytoken: 'refresh-token' }, // not presentable by a runtime: left out
        }),
      },
    });
    // A Secret of the same name that kuik did not create is never overwritten.
    await kube().create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kuik-proxy-hand-made' }, type: 'Opaque', data: { x: 'eA==' } });
    await kube().create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hand-made' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerconfig({ 'a.test': { username: 'a', password: 'b' } }) } });
    const p = await kube().create<Pod>(
      `/api/v1/namespaces/${ns}/pods`,
      pod('with-pull-secret', [{ name: 'app', image: `${originHost}/${repo}:v1`, imagePullPolicy: 'IfNotPresent' }], { spec: { imagePullSecrets: [{ name: 'team-creds' }, { name: 'hand-made' }] } }),
    );
    expect(p.spec?.imagePullSecrets).toEqual([{ name: 'team-creds' }, { name: 'hand-made' }, { name: 'kuik-proxy-team-creds' }, { name: 'kuik-proxy-hand-made' }]);

    const copy = await waitFor('the pull-secret copy', 15_000, () => kube().getOrNull<Secret>(`/api/v1/namespaces/${ns}/secrets/kuik-proxy-team-creds`).then((x) => x ?? undefined));
    expect(copy.type).toBe('kubernetes.io/dockerconfigjson');
    expect(copy.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('kuik-controller');
    expect(copy.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Secret', name: 'team-creds', uid: source.metadata?.uid }]);
    const doc = JSON.parse(Buffer.from(copy.data!['.dockerconfigjson']!, 'base64').toString()) as { auths: Record<string, { username: string; password: string; auth: string }> };
    // Keyed "<proxy>/<origin as the webhook writes it>/": kubelet sends each only with images of that origin through the proxy.
    expect(doc.auths).toEqual({
      [`localhost:7439/127.0.0.1-${originHost.split(':')[1]}/`]: { username: 'team', password: 's3cret', auth: Buffer.from('team:s3cret').toString('base64') },
      'localhost:7439/docker.io/': { username: 'hub-user', password: 'hub-pass', auth: Buffer.from('hub-user:hub-pass').toString('base64') },
    });
    await waitFor('the warning about the hand-made Secret', 10_000, async () => logs.some((l) => l.includes('a Secret kuik did not create has the name of a pull-secret copy')));
    const handMade = await kube().get<Secret>(`/api/v1/namespaces/${ns}/secrets/kuik-proxy-hand-made`);
    expect(handMade.type).toBe('Opaque');
    expect(handMade.data).toEqual({ x: 'eA==' });
    await forceDelete(`/api/v1/namespaces/${ns}/pods/with-pull-secret`);
  });

  it("an image the origin refuses to the controller is copied with a pod's own pull secret, into the private area only", async () => {
    const pushed = await pushSingle(privateOrigin.url, repo, 'private', privateOrigin.auth);
    const dockerconfig = Buffer.from(JSON.stringify({ auths: { [privateOrigin.host]: { username: privateOrigin.username, password: privateOrigin.password } } })).toString('base64');
    await kube().create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'private-creds' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerconfig } });
    const wrong = Buffer.from(JSON.stringify({ auths: { [privateOrigin.host]: { username: privateOrigin.username, password: 'not-the-password' } } })).toString('base64');
    await kube().create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong-creds' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': wrong } });
    const name = `127.0.0.1-${privateOrigin.host.split(':')[1]}-${repo.replace('/', '-')}-private`;
    // No proxy here: after the cache-fill grace period (1 s in this run) the controller copies it itself.
    // First only a secret the origin refuses: the status says who was refused.
    await kube().create<Pod>(
      `/api/v1/namespaces/${ns}/pods`,
      pod('private-image-wrong', [{ name: 'app', image: `${privateOrigin.host}/${repo}:private`, imagePullPolicy: 'IfNotPresent' }], { spec: { imagePullSecrets: [{ name: 'wrong-creds' }] } }),
    );
    const refused = await waitFor('the private CachedImage refused', 30_000, async () => {
      const c = await getCi(name);
      return c?.status?.phase === 'ErrImagePull' ? c : undefined;
    });
    expect(refused.status?.message).toMatch(/^origin refused the controller's credentials and the 1 pull secret\(s\) of its pods: /);
    await kube().create<Pod>(
      `/api/v1/namespaces/${ns}/pods`,
      pod('private-image', [{ name: 'app', image: `${privateOrigin.host}/${repo}:private`, imagePullPolicy: 'IfNotPresent' }], {
        spec: { imagePullSecrets: [{ name: 'no-such-secret' }, { name: 'private-creds' }] },
      }),
    );
    const ready = await waitFor('the private CachedImage Ready', 60_000, async () => {
      const c = await getCi(name);
      return c?.status?.phase === 'Ready' ? c : undefined;
    });
    expect(ready.status?.digest).toBe(pushed.digest);
    const shared = `127.0.0.1-${privateOrigin.host.split(':')[1]}/${repo}`;
    expect(await headManifest(cache.url, `kuik-private/${shared}`, 'private')).toBe(pushed.digest);
    expect(await headManifest(cache.url, shared, 'private')).toBeUndefined();
    expect(logs.some((l) => l.includes('copying with a pod pull secret into the private area') && l.includes(`${ns}/private-creds`))).toBe(true);
    await forceDelete(`/api/v1/namespaces/${ns}/pods/private-image`);
    await forceDelete(`/api/v1/namespaces/${ns}/pods/private-image-wrong`);
    await forceDelete(`${CACHED_IMAGES_PATH}/${name}`);
  });

  it('Repository.updateInterval re-checks matching mutable tags and copies the new content', async () => {
    const first = await pushSingle(originUrl, repo, 'mutable');
    await createPod('mutable', `${originHost}/${repo}:mutable`);
    const ready = await waitFor('CachedImage mutable Ready', 30_000, async () => {
      const c = await getCi(ciName('mutable'));
      return c?.status?.phase === 'Ready' ? c : undefined;
    });
    expect(ready.status?.digest).toBe(first.digest);
    const v2Sync = (await getCi(ciName('v2')))?.status?.lastSync;

    // The tag moves at the origin; only images matching updateFilters follow updateInterval.
    const second = await pushSingle(originUrl, repo, 'mutable');
    expect(second.digest).not.toBe(first.digest);
    await kube().mergePatch(`${REPOSITORIES_PATH}/${repoObjectName()}`, { spec: { updateInterval: '1s', updateFilters: [':mutable$'] } });
    const updated = await waitFor('CachedImage mutable updated', 30_000, async () => {
      const c = await getCi(ciName('mutable'));
      return c?.status?.digest === second.digest && c.status.phase === 'Ready' ? c : undefined;
    });
    expect(updated.status).toMatchObject({ isCached: true, upstreamDigest: second.digest, upToDate: true, availableUpstream: true });
    expect(Date.parse(updated.status!.lastSuccessfulPull!)).toBeGreaterThanOrEqual(Date.parse(ready.status!.lastSuccessfulPull!));
    expect(await headManifest(cache.url, cacheRepo(), 'mutable')).toBe(second.digest);
    // It keeps being re-checked every interval: lastSync advances with no change.
    const synced = updated.status!.lastSync!;
    await waitFor('a later upstream check', 15_000, async () => ((await getCi(ciName('mutable')))?.status?.lastSync ?? '') > synced, 250);
    // v2 matches no filter: never re-checked upstream.
    expect((await getCi(ciName('v2')))?.status?.lastSync).toBe(v2Sync);
    await kube().mergePatch(`${REPOSITORIES_PATH}/${repoObjectName()}`, { spec: { updateInterval: null, updateFilters: null } });
  });

  it('mirrors proxy readiness onto the node label', async () => {
    const node = `node-${suffix()}`;
    await kube().create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
    try {
      await kube().create(`/api/v1/namespaces/${controllerNs}/pods`, pod('proxy-0', [{ name: 'proxy', image: 'kuik-proxy:test' }], {
        metadata: { labels: { 'app.kubernetes.io/component': 'proxy' } },
        spec: { nodeName: node },
      }));
      const setReady = (status: 'True' | 'False') =>
        kube().mergePatch(`/api/v1/namespaces/${controllerNs}/pods/proxy-0/status`, {
          status: { phase: 'Running', conditions: [{ type: 'Ready', status, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
        });
      const label = async () => (await kube().get<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/nodes/${node}`)).metadata.labels?.[LABEL_PROXY_READY];
      expect(await label()).toBeUndefined();
      await setReady('True');
      await waitFor('node labelled proxy-ready', 10_000, async () => (await label()) === 'true');
      await setReady('False');
      await waitFor('label removed', 10_000, async () => (await label()) === undefined);
    } finally {
      await kube().delete(`/api/v1/nodes/${node}`);
    }
  });

  it('the finalizer never blocks deletion longer than finalizerTimeout when the registry is gone', async () => {
    await cache.stop();
    await kube().request('DELETE', `/api/v1/namespaces/${ns}/pods/v3`, { query: { gracePeriodSeconds: 0 } });
    const uid = (await getCi(ciName('v3')))?.metadata.uid;
    const deletedAt = Date.now();
    await kube().request('DELETE', `${CACHED_IMAGES_PATH}/${ciName('v3')}`);
    await waitFor('CachedImage v3 released', 15_000, async () => {
      const c = await getCi(ciName('v3'));
      return !c || c.metadata.uid !== uid;
    }, 200);
    expect(Date.now() - deletedAt).toBeLessThan(3000 + 12_000);
    expect(logs.some((l) => l.includes('giving up removing the image from the registry'))).toBe(true);
  });

  it('exports the 1.x metrics', async () => {
    const text = await controller.metrics.registry.metrics();
    for (const m of ['build_info', 'cached_images', 'containers_with_cached_image', 'image_caching_request', 'image_put_in_cache_total', 'image_removed_from_cache_total', 'is_leader', 'repositories', 'up']) {
      expect(text).toContain(`kube_image_keeper_controller_${m}`);
    }
    expect(text).toMatch(/kube_image_keeper_controller_image_put_in_cache_total [1-9]/);
    expect(text).toMatch(/kube_image_keeper_controller_image_removed_from_cache_total [1-9]/);
    expect(text).toMatch(/kube_image_keeper_controller_is_leader 1/);
  });
});
