// Origins that need credentials and a private CA: docker-registry with --tls (certificate from a
// test CA) and --htpasswd (basic auth), credentials from a Docker config.json, and from the
// workload's AWS identity as for Amazon ECR (the real AWS SDK, against a loopback stand-in for the
// ECR API, which cannot run here: it hands out the origin's htpasswd user), and from its Google
// identity as for Artifact Registry (the real google-auth-library and its Application Default
// Credentials, against a loopback stand-in for the metadata server; the origin's htpasswd user is
// Google's "oauth2accesstoken", its password the access token), and from its Azure identity as
// for ACR (AKS Workload Identity's federated token, loopback stand-ins for Microsoft Entra and for
// ACR's /oauth2/exchange in front of the origin, whose password is the exchanged refresh token).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { RegistryClient, StaticCredentials } from '@kuik/oci/client';
import { MockAzure, MockEcr, MockGceMetadata, useAzureManagedIdentity, useAzureWorkloadIdentity, useGceMetadata, useStaticAwsKeys } from '@kuik/testing';
import type { Proxy } from '../src/proxy.js';
import { CHALLENGE } from '../src/client-auth.js';
import { makeImage, pushImage, smallLayer, uniqueRepo } from './support/images.js';
import { eventually, proxyClient, pull, startTestProxy } from './support/proxy.js';
import { KuikRegistry, startOrigin, stopOrigin, tempDir, type OriginRegistry } from './support/servers.js';

let secure: OriginRegistry;
let registry: KuikRegistry;
let cacheClient: RegistryClient;
const proxies: Proxy[] = [];
const repo = uniqueRepo('secure');
const image = makeImage([smallLayer({ secret: 'data' })]);

beforeAll(async () => {
  secure = startOrigin('proxy-secure', ['--tls', '--htpasswd']);
  await pushToSecure(repo);
  registry = await new KuikRegistry().start();
  cacheClient = new RegistryClient({ host: registry.host, scheme: 'http' });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close(1000)));
  await registry?.kill();
  await cacheClient?.close();
});

/** Pushes the test image to the secure origin, tagged v1 (with its htpasswd user). */
async function pushToSecure(repository: string): Promise<void> {
  const pusher = new RegistryClient({
    host: secure.host,
    ca: [readFileSync(secure.caFile!, 'utf8')],
    credentials: new StaticCredentials({ [secure.host]: { username: secure.username!, password: secure.password! } }),
  });
  await pushImage(pusher, repository, image, 'v1');
  await pusher.close();
}

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

  it('challenges the client when the origin wants credentials the proxy does not have (DENIED when client credentials are off)', async () => {
    // Default: a 401 with the proxy's Basic challenge, so that the runtime retries with the pod's
    // own pull secret; the origin's reason is kept.
    const p = await proxyWith({ rootCertificateAuthorities: [secure.caFile] });
    const res = await request(`${p.url}/v2/${viaProxy()}/manifests/nope`);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    const body = (await res.body.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('UNAUTHORIZED');
    expect(body.errors[0]!.message).toContain(`origin registry ${secure.host}`);

    const off = await proxyWith({ rootCertificateAuthorities: [secure.caFile], clientCredentials: { enabled: false } });
    const denied = await request(`${off.url}/v2/${viaProxy()}/manifests/nope`);
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['www-authenticate']).toBeUndefined();
    const deniedBody = (await denied.body.json()) as { errors: { code: string }[] };
    expect(deniedBody.errors[0]!.code).toBe('DENIED');
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

describe('origin as an Amazon ECR registry, with the workload’s AWS identity', () => {
  let ecr: MockEcr;
  let restoreEnv: () => void;
  beforeAll(async () => {
    restoreEnv = useStaticAwsKeys('AKIAKUIKPROXYTEST001', 'kuik-proxy-test-secret');
    ecr = await new MockEcr({ username: secure.username!, password: () => secure.password! }).start();
  });
  afterAll(async () => {
    await ecr?.stop();
    restoreEnv?.();
  });
  const ecrConfig = () => ({ rootCertificateAuthorities: [secure.caFile], credentials: { ecr: { registries: [secure.host], region: 'eu-west-3', endpoint: ecr.url } } });

  it('pulls with a GetAuthorizationToken token, one call for the whole pull, and caches', async () => {
    ecr.calls.length = 0;
    const ecrRepo = uniqueRepo('ecr');
    await pushToSecure(ecrRepo);
    const p = await proxyWith(ecrConfig());
    const c = proxyClient(p);
    const via = `${secure.host.replace(':', '-')}/${ecrRepo}`;
    expect((await pull(c, via, 'v1')).root.digest).toBe(image.manifest.digest);
    await eventually(() => cacheClient.headManifest(via, 'v1'), 'image in the cache');
    await c.close();
    expect(ecr.calls).toEqual([{ accessKeyId: 'AKIAKUIKPROXYTEST001', region: 'eu-west-3', service: 'ecr', target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken' }]);
  });

  it('answers an OCI error naming ECR and the AWS error when the identity is refused', async () => {
    ecr.refuse = { type: 'AccessDeniedException', message: 'not authorized to perform: ecr:GetAuthorizationToken', status: 400 };
    try {
      const p = await proxyWith(ecrConfig());
      const res = await request(`${p.url}/v2/${viaProxy()}/manifests/v1-${Date.now()}`);
      const body = (await res.body.json()) as { errors: { code: string; message: string }[] };
      // Refused here, so the runtime is asked for the pod's own credentials; the reason is kept.
      expect({ status: res.statusCode, code: body.errors[0]!.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect(body.errors[0]!.message).toContain(`ECR credentials for ${secure.host} (region eu-west-3)`);
      expect(body.errors[0]!.message).toContain('AccessDeniedException');
    } finally {
      ecr.refuse = undefined;
    }
  });
});

describe('origin as a Google Artifact Registry, with the workload’s Google identity', () => {
  let google: OriginRegistry;
  let metadata: MockGceMetadata;
  let restoreEnv: () => void;
  beforeAll(async () => {
    google = startOrigin('proxy-google', ['--htpasswd'], { KUIK_REGISTRY_USER: 'oauth2accesstoken' });
    const pusher = new RegistryClient({ host: google.host, scheme: 'http', credentials: new StaticCredentials({ [google.host]: { username: google.username!, password: google.password! } }) });
    await pushImage(pusher, repo, image, 'v1');
    await pusher.close();
    metadata = await new MockGceMetadata(() => google.password!).start();
    restoreEnv = useGceMetadata(metadata.host);
  });
  afterAll(async () => {
    restoreEnv?.();
    await metadata?.stop();
    stopOrigin('proxy-google');
  });
  const via = () => `${google.host.replace(':', '-')}/${repo}`;

  it('pulls with the access token from Application Default Credentials, one token for the whole pull, and caches', async () => {
    expect(google.username).toBe('oauth2accesstoken');
    const p = await proxyWith({ insecureRegistries: [google.host], credentials: { google: { enabled: true, registries: [google.host] } } });
    const c = proxyClient(p);
    expect((await pull(c, via(), 'v1')).root.digest).toBe(image.manifest.digest);
    await eventually(() => cacheClient.headManifest(via(), 'v1'), 'image in the cache');
    await c.close();
    expect(metadata.tokens).toBe(1);
  });

  it('stays anonymous unless enabled (the default): the origin refuses, the metadata server is not asked', async () => {
    const before = metadata.requests.length;
    const p = await proxyWith({ insecureRegistries: [google.host], credentials: { google: { registries: [google.host] } } });
    const res = await request(`${p.url}/v2/${via()}/manifests/v1-${Date.now()}`);
    expect(res.statusCode).toBe(401); // refused by the origin: the client is asked for its own credentials
    await res.body.dump();
    expect(metadata.requests.length).toBe(before);
  });
});

describe('origin as an Azure Container Registry, with the workload’s Azure identity', () => {
  const identity = { tenant: '72f988bf-0000-4000-8000-00000000000a', clientId: 'a1b2c3d4-0000-4000-8000-00000000000b', federatedToken: 'eyJ.kuik-proxy-federated.sig' };
  const refreshToken = 'acr-refresh-kuik-proxy-test-0123456789';
  const kubeletIdentity = 'e5f6a7b8-0000-4000-8000-00000000000c';
  let origin: OriginRegistry;
  let azure: MockAzure;
  let restoreEnv: () => void;
  beforeAll(async () => {
    origin = startOrigin('proxy-azure', ['--htpasswd'], { KUIK_REGISTRY_USER: '00000000-0000-0000-0000-000000000000', KUIK_REGISTRY_PASSWORD: refreshToken });
    const pusher = new RegistryClient({ host: origin.host, scheme: 'http', credentials: new StaticCredentials({ [origin.host]: { username: origin.username!, password: origin.password! } }) });
    await pushImage(pusher, repo, image, 'v1');
    await pusher.close();
    azure = await new MockAzure({ ...identity, refreshToken, registryUrl: origin.url, managedIdentities: [kubeletIdentity] }).start();
    restoreEnv = useAzureWorkloadIdentity(azure, identity);
  });
  afterAll(async () => {
    restoreEnv?.();
    await azure?.stop();
    stopOrigin('proxy-azure');
  });

  it('pulls through ACR’s front with the exchanged refresh token, one exchange for the whole pull, and caches', async () => {
    const front = azure.registryHost;
    const p = await proxyWith({ insecureRegistries: [front], credentials: { azure: { enabled: true, registries: [front] } } });
    const c = proxyClient(p);
    const via = `${front.replace(':', '-')}/${repo}`;
    expect((await pull(c, via, 'v1')).root.digest).toBe(image.manifest.digest);
    await eventually(() => cacheClient.headManifest(via, 'v1'), 'image in the cache');
    await c.close();
    expect([azure.entraCalls.length, azure.exchangeCalls.length]).toEqual([1, 1]);
  });

  it('pulls with the node’s managed identity from IMDS (the AKS kubelet identity, by client id) where Workload Identity is not set up', async () => {
    const restoreManaged = useAzureManagedIdentity(azure);
    try {
      const [entra, exchanges] = [azure.entraCalls.length, azure.exchangeCalls.length];
      azure.imdsCalls.length = 0;
      const front = azure.registryHost;
      const p = await proxyWith({ insecureRegistries: [front], credentials: { azure: { enabled: true, registries: [front], managedIdentityClientId: kubeletIdentity } } });
      const c = proxyClient(p);
      const via = `${front.replace(':', '-')}/${repo}`;
      expect((await pull(c, via, 'v1')).root.digest).toBe(image.manifest.digest);
      await c.close();
      expect(azure.imdsCalls).toEqual([{ query: expect.objectContaining({ client_id: kubeletIdentity, resource: 'https://containerregistry.azure.net' }), metadata: 'true' }]);
      expect([azure.entraCalls.length - entra, azure.exchangeCalls.length - exchanges]).toEqual([0, 1]);
    } finally {
      restoreManaged();
    }
  });
});
