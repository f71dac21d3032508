// The controller copies images of Amazon ECR, Google Artifact Registry and Azure Container Registry
// with its own cloud identity when no pull secret covers the host. Real: the origins (docker-registry behind basic
// auth, standing for ECR and for Artifact Registry: aliases configured in credentials.*.registries),
// the AWS SDK and its default credential chain (fixed keys from the environment), google-auth-library
// and its Application Default Credentials, the kuik registry as the cache. Mocked: only the ECR API
// (GetAuthorizationToken), Google's metadata server, Microsoft Entra's token endpoint and ACR's
// /oauth2/exchange, which cannot run here; they hand out the origins' htpasswd passwords.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockAzure, MockEcr, MockGceMetadata, repoRoot, requireServer, useAzureManagedIdentity, useAzureWorkloadIdentity, useGceMetadata, useStaticAwsKeys } from '@kuik/testing';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadControllerConfig } from '../src/config.js';
import { parseImage } from '../src/images/reference.js';
import { createImageRegistries } from '../src/registry/oci-registries.js';
import type { ImageRegistries } from '../src/registry/port.js';
import { startCacheRegistry, type CacheRegistry } from './cache-registry.js';
import { headManifest, pushSingle } from './images.js';

const INSTANCE = 'controller-ecr';
const root = repoRoot();
let origin: { url: string; host: string; username: string; password: string };
let cache: CacheRegistry;
let ecr: MockEcr;
let restoreEnv: () => void;
const opened: ImageRegistries[] = [];

beforeAll(async () => {
  const script = path.join(root, 'tools/test-servers/docker-registry.sh');
  try {
    execFileSync('bash', [script, 'start', INSTANCE, '--htpasswd'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (err) {
    throw new Error(`cannot start docker-registry ${INSTANCE} (bash ${script} start ${INSTANCE} --htpasswd): ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
  const env = requireServer(`docker-registry-${INSTANCE}`);
  const p = 'DOCKER_REGISTRY_CONTROLLER_ECR';
  origin = { url: env[`${p}_URL`]!, host: env[`${p}_HOST`]!, username: env[`${p}_USERNAME`]!, password: env[`${p}_PASSWORD`]! };
  restoreEnv = useStaticAwsKeys('AKIAKUIKCONTROLLER01', 'kuik-controller-test-secret');
  ecr = await new MockEcr({ username: origin.username, password: () => origin.password }).start();
  cache = await startCacheRegistry();
}, 120_000);

afterAll(async () => {
  await Promise.all(opened.map((r) => r.close?.()));
  await cache?.stop();
  await ecr?.stop();
  restoreEnv?.();
  execFileSync('bash', [path.join(root, 'tools/test-servers/docker-registry.sh'), 'stop', INSTANCE], { stdio: 'ignore', timeout: 60_000 });
});

/** The controller's configuration from a file, as it starts (defaults, validation). */
function configWith(tree: Record<string, unknown>) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kuik-ecr-config-')), 'config.yaml');
  writeFileSync(file, JSON.stringify({ namespace: 'kuik-test', ...tree }));
  return loadControllerConfig(['--config', file], {});
}

function registries(ecrConfig: Record<string, unknown>): ImageRegistries {
  const config = configWith({ registry: { url: cache.url, insecureRegistries: [origin.host] }, credentials: { ecr: ecrConfig } });
  const r = createImageRegistries(config);
  opened.push(r);
  return r;
}

const basic = () => ({ Authorization: `Basic ${Buffer.from(`${origin.username}:${origin.password}`).toString('base64')}` });

describe('ECR with the controller’s own identity', () => {
  it('heads and copies an image into the cache with a GetAuthorizationToken token, digests unchanged', async () => {
    const repo = `ecr/app-${Date.now().toString(36)}`;
    const pushed = await pushSingle(origin.url, repo, 'v1', basic());
    const image = parseImage(`${origin.host}/${repo}:v1`);
    const r = registries({ registries: [origin.host], region: 'eu-central-1', endpoint: ecr.url });
    const signal = AbortSignal.timeout(30_000);
    expect((await r.headUpstream(image, undefined, signal))?.digest).toBe(pushed.digest);
    expect((await r.copyToCache(image, undefined, signal)).digest).toBe(pushed.digest);
    expect(await headManifest(cache.url, `${origin.host.replace(':', '-')}/${repo}`, 'v1')).toBe(pushed.digest);
    expect(ecr.calls.map((c) => [c.accessKeyId, c.region, c.service])).toEqual([['AKIAKUIKCONTROLLER01', 'eu-central-1', 'ecr']]);
  });

  it('uses a Repository’s pull secret first, without asking ECR', async () => {
    const repo = `ecr/secret-${Date.now().toString(36)}`;
    const pushed = await pushSingle(origin.url, repo, 'v1', basic());
    const before = ecr.calls.length;
    const r = registries({ registries: [origin.host], region: 'eu-central-1', endpoint: ecr.url });
    const head = await r.headUpstream(parseImage(`${origin.host}/${repo}:v1`), { username: origin.username, password: origin.password }, AbortSignal.timeout(30_000));
    expect(head?.digest).toBe(pushed.digest);
    expect(ecr.calls.length).toBe(before);
  });

  it('without ECR (disabled), the origin refuses the anonymous controller', async () => {
    const repo = `ecr/off-${Date.now().toString(36)}`;
    await pushSingle(origin.url, repo, 'v1', basic());
    const r = registries({ enabled: false, registries: [origin.host], region: 'eu-central-1', endpoint: ecr.url });
    const before = ecr.calls.length;
    const err = (await r.headUpstream(parseImage(`${origin.host}/${repo}:v1`), undefined, AbortSignal.timeout(30_000)).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/401|unauthorized|authentication/i);
    expect(ecr.calls.length).toBe(before);
  });

  it('reports ECR’s refusal with the AWS error, naming the host', async () => {
    const repo = `ecr/refused-${Date.now().toString(36)}`;
    await pushSingle(origin.url, repo, 'v1', basic());
    ecr.refuse = { type: 'AccessDeniedException', message: 'not authorized to perform: ecr:GetAuthorizationToken', status: 400 };
    try {
      const r = registries({ registries: [origin.host], region: 'eu-central-1', endpoint: ecr.url });
      const err = (await r.headUpstream(parseImage(`${origin.host}/${repo}:v1`), undefined, AbortSignal.timeout(30_000)).catch((e: unknown) => e)) as Error;
      expect(err.message).toContain(`ECR credentials for ${origin.host} (region eu-central-1)`);
      expect(err.message).toContain('AccessDeniedException');
    } finally {
      ecr.refuse = undefined;
    }
  });

  it('rejects a bad credentials.ecr configuration naming the key', () => {
    const bad = (ecrConfig: Record<string, unknown>) => () => configWith({ credentials: { ecr: ecrConfig } });
    expect(bad({ registries: ['r.example'] })).toThrow(/credentials\.ecr\.region.*required/);
    expect(bad({ registries: ['r.example'], region: 'Europe' })).toThrow(/credentials\.ecr\.region.*AWS region/);
    expect(bad({ endpoint: 'ftp://x' })).toThrow(/credentials\.ecr\.endpoint/);
    expect(bad({ registries: ['bad host!'], region: 'eu-west-1' })).toThrow(/credentials\.ecr\.registries\[0\]/);
    expect(bad({ regions: 'eu-west-1' })).toThrow(/credentials\.ecr.*regions/);
    expect(configWith({}).credentials.google).toEqual({ enabled: false, registries: [] });
    expect(configWith({}).credentials.azure).toEqual({ enabled: false, registries: [], identity: 'auto', managedIdentityClientId: null });
    expect(() => configWith({ credentials: { azure: { identity: 'kubelet' } } })).toThrow(/credentials\.azure\.identity: must be one of auto, workload, managed/);
    expect(() => configWith({ credentials: { azure: { managedIdentityClientId: '1234' } } })).toThrow(/credentials\.azure\.managedIdentityClientId: must be a client id/);
    expect(() => configWith({ credentials: { azure: { tenant: 'x' } } })).toThrow(/credentials\.azure.*tenant/);
    expect(() => configWith({ credentials: { google: { enabled: 'yes' } } })).toThrow(/credentials\.google\.enabled/);
  });
});

describe('Google Artifact Registry with the controller’s own identity', () => {
  const GOOGLE = 'controller-google';
  let google: { url: string; host: string; username: string; password: string };
  let metadata: MockGceMetadata;
  let restoreGce: () => void;
  beforeAll(async () => {
    const script = path.join(root, 'tools/test-servers/docker-registry.sh');
    execFileSync('bash', [script, 'start', GOOGLE, '--htpasswd'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, KUIK_REGISTRY_USER: 'oauth2accesstoken' } });
    const env = requireServer(`docker-registry-${GOOGLE}`);
    const p = 'DOCKER_REGISTRY_CONTROLLER_GOOGLE';
    google = { url: env[`${p}_URL`]!, host: env[`${p}_HOST`]!, username: env[`${p}_USERNAME`]!, password: env[`${p}_PASSWORD`]! };
    metadata = await new MockGceMetadata(() => google.password).start();
    restoreGce = useGceMetadata(metadata.host);
  }, 120_000);
  afterAll(async () => {
    restoreGce?.();
    await metadata?.stop();
    execFileSync('bash', [path.join(root, 'tools/test-servers/docker-registry.sh'), 'stop', GOOGLE], { stdio: 'ignore', timeout: 60_000 });
  });

  it('copies an image into the cache with the access token of Application Default Credentials', async () => {
    expect(google.username).toBe('oauth2accesstoken');
    const repo = `ar/app-${Date.now().toString(36)}`;
    const auth = { Authorization: `Basic ${Buffer.from(`${google.username}:${google.password}`).toString('base64')}` };
    const pushed = await pushSingle(google.url, repo, 'v1', auth);
    const config = configWith({ registry: { url: cache.url, insecureRegistries: [google.host] }, credentials: { google: { enabled: true, registries: [google.host] } } });
    const r = createImageRegistries(config);
    opened.push(r);
    const image = parseImage(`${google.host}/${repo}:v1`);
    expect((await r.copyToCache(image, undefined, AbortSignal.timeout(30_000))).digest).toBe(pushed.digest);
    expect(await headManifest(cache.url, `${google.host.replace(':', '-')}/${repo}`, 'v1')).toBe(pushed.digest);
    expect(metadata.tokens).toBe(1);
  });
});

describe('Azure Container Registry with the controller’s own identity', () => {
  const AZURE = 'controller-azure';
  const identity = { tenant: '72f988bf-0000-4000-8000-0000000000c1', clientId: 'a1b2c3d4-0000-4000-8000-0000000000c2', federatedToken: 'eyJ.kuik-controller-federated.sig' };
  const refreshToken = 'acr-refresh-kuik-controller-test-42';
  let origin: { url: string; host: string; username: string; password: string };
  let azure: MockAzure;
  let restoreAzure: () => void;
  beforeAll(async () => {
    const script = path.join(root, 'tools/test-servers/docker-registry.sh');
    execFileSync('bash', [script, 'start', AZURE, '--htpasswd'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      env: { ...process.env, KUIK_REGISTRY_USER: '00000000-0000-0000-0000-000000000000', KUIK_REGISTRY_PASSWORD: refreshToken },
    });
    const env = requireServer(`docker-registry-${AZURE}`);
    const p = 'DOCKER_REGISTRY_CONTROLLER_AZURE';
    origin = { url: env[`${p}_URL`]!, host: env[`${p}_HOST`]!, username: env[`${p}_USERNAME`]!, password: env[`${p}_PASSWORD`]! };
    azure = await new MockAzure({ ...identity, refreshToken, registryUrl: origin.url }).start();
    restoreAzure = useAzureWorkloadIdentity(azure, identity);
  }, 120_000);
  afterAll(async () => {
    restoreAzure?.();
    await azure?.stop();
    execFileSync('bash', [path.join(root, 'tools/test-servers/docker-registry.sh'), 'stop', AZURE], { stdio: 'ignore', timeout: 60_000 });
  });

  it('copies an image through ACR’s front with the refresh token its /oauth2/exchange gave for the Entra token', async () => {
    const repo = `acr/app-${Date.now().toString(36)}`;
    const auth = { Authorization: `Basic ${Buffer.from(`${origin.username}:${origin.password}`).toString('base64')}` };
    const pushed = await pushSingle(origin.url, repo, 'v1', auth);
    const front = azure.registryHost;
    const config = configWith({ registry: { url: cache.url, insecureRegistries: [front] }, credentials: { azure: { enabled: true, registries: [front] } } });
    const r = createImageRegistries(config);
    opened.push(r);
    const image = parseImage(`${front}/${repo}:v1`);
    expect((await r.copyToCache(image, undefined, AbortSignal.timeout(30_000))).digest).toBe(pushed.digest);
    expect(await headManifest(cache.url, `${front.replace(':', '-')}/${repo}`, 'v1')).toBe(pushed.digest);
    expect([azure.entraCalls.length, azure.exchangeCalls.length]).toEqual([1, 1]);
  });

  it('copies with the node’s managed identity from IMDS where Workload Identity is not set up', async () => {
    const restoreManaged = useAzureManagedIdentity(azure);
    try {
      const repo = `acr/managed-${Date.now().toString(36)}`;
      const auth = { Authorization: `Basic ${Buffer.from(`${origin.username}:${origin.password}`).toString('base64')}` };
      const pushed = await pushSingle(origin.url, repo, 'v1', auth);
      const front = azure.registryHost;
      const [entra, exchanges, imds] = [azure.entraCalls.length, azure.exchangeCalls.length, azure.imdsCalls.length];
      const config = configWith({ registry: { url: cache.url, insecureRegistries: [front] }, credentials: { azure: { enabled: true, identity: 'managed', registries: [front] } } });
      const r = createImageRegistries(config);
      opened.push(r);
      expect((await r.copyToCache(parseImage(`${front}/${repo}:v1`), undefined, AbortSignal.timeout(30_000))).digest).toBe(pushed.digest);
      expect(await headManifest(cache.url, `${front.replace(':', '-')}/${repo}`, 'v1')).toBe(pushed.digest);
      expect([azure.entraCalls.length - entra, azure.imdsCalls.length - imds, azure.exchangeCalls.length - exchanges]).toEqual([0, 1, 1]);
    } finally {
      restoreManaged();
    }
  });
});
