// ACR credentials from AKS Workload Identity or a managed identity, against loopback stand-ins for
// Microsoft Entra's token endpoint, the instance metadata service and ACR's /oauth2/exchange (none
// can run here; no request leaves the machine).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MockAzure, useAzureManagedIdentity, useAzureWorkloadIdentity } from '@kuik/testing';
import { ACR_USER, AzureCredentials, isAzureRegistryHost } from './azure.js';

const identity = { tenant: '72f988bf-0000-4000-8000-000000000001', clientId: 'a1b2c3d4-0000-4000-8000-000000000002', federatedToken: 'eyJ.kuik-federated.sig' };
const kubeletIdentity = 'e5f6a7b8-0000-4000-8000-000000000003';
const exp = Math.floor(Date.now() / 1000) + 3 * 3600;
const refreshToken = `x.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.y`;
let azure: MockAzure;
let restoreEnv: () => void;

beforeAll(async () => {
  azure = await new MockAzure({ ...identity, refreshToken, registryUrl: 'http://127.0.0.1:9', managedIdentities: [kubeletIdentity] }).start();
  restoreEnv = useAzureWorkloadIdentity(azure, identity);
});

afterAll(async () => {
  restoreEnv();
  await azure.stop();
});

beforeEach(() => {
  azure.refuse = undefined;
  azure.entraCalls.length = 0;
  azure.exchangeCalls.length = 0;
  azure.imdsCalls.length = 0;
});

const plainHttp = () => true;

describe('ACR hosts', () => {
  it('recognises *.azurecr.io (and the sovereign clouds’), nothing else', () => {
    for (const h of ['kuik.azurecr.io', 'my-reg.azurecr.cn', 'x.azurecr.us', 'KUIK.AZURECR.IO']) expect({ h, yes: isAzureRegistryHost(h) }).toEqual({ h, yes: true });
    for (const h of ['azurecr.io', 'kuik.azurecr.io.evil.example', 'a.b.azurecr.io', 'mcr.microsoft.com']) expect({ h, yes: isAzureRegistryHost(h) }).toEqual({ h, yes: false });
  });
});

describe('AzureCredentials with AKS Workload Identity', () => {
  it('is off unless enabled', async () => {
    expect(await new AzureCredentials({ registries: [azure.registryHost], plainHttp }).resolve(azure.registryHost)).toBeUndefined();
    expect(azure.entraCalls).toEqual([]);
  });

  it('trades the federated token for an Entra token, then for an ACR refresh token, once for many concurrent pulls', async () => {
    const r = new AzureCredentials({ enabled: true, registries: [azure.registryHost], plainHttp });
    const answers = await Promise.all(Array.from({ length: 30 }, () => r.resolve(azure.registryHost)));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ username: ACR_USER, password: refreshToken })]));
    expect(azure.entraCalls).toHaveLength(1);
    expect(azure.entraCalls[0]).toMatchObject({ client_id: identity.clientId, client_assertion: identity.federatedToken, grant_type: 'client_credentials' });
    expect(azure.exchangeCalls).toEqual([expect.objectContaining({ grant_type: 'access_token', service: azure.registryHost, tenant: identity.tenant })]);
  });

  it('renews from the refresh token’s own expiry (its JWT exp)', async () => {
    let clock = Date.now();
    const r = new AzureCredentials({ enabled: true, registries: [azure.registryHost], plainHttp, now: () => clock });
    await r.resolve(azure.registryHost);
    clock = exp * 1000 - 31 * 60_000; // 31 min left: not due
    await r.resolve(azure.registryHost);
    expect(azure.exchangeCalls).toHaveLength(1);
    clock = exp * 1000 - 29 * 60_000; // due: renewed in the background
    await r.resolve(azure.registryHost);
    for (let i = 0; i < 500 && azure.exchangeCalls.length < 2; i++) await new Promise((res) => setTimeout(res, 20));
    expect(azure.exchangeCalls).toHaveLength(2);
  });

  it('names what is missing or refused', async () => {
    azure.refuse = 'invalid_client';
    const e = (await new AzureCredentials({ enabled: true, registries: [azure.registryHost], plainHttp }).resolve(azure.registryHost).catch((err: unknown) => err)) as Error;
    expect(e.message).toContain(`Azure credentials for ${azure.registryHost}`);
    expect(e.message).toContain('Microsoft Entra token: HTTP 401 (AADSTS700016: invalid_client)');
    expect(e.message).toContain('AcrPull');
    const noEnv = new AzureCredentials({ enabled: true, identity: 'workload', env: {}, registries: ['kuik.azurecr.io'] });
    await expect(noEnv.resolve('kuik.azurecr.io')).rejects.toThrow(/AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID not set/);
  });
});

describe('AzureCredentials with a managed identity (IMDS)', () => {
  let restoreManaged: () => void;
  beforeAll(() => {
    restoreManaged = useAzureManagedIdentity(azure);
  });
  afterAll(() => restoreManaged());

  it('asks IMDS when Workload Identity is not set up (auto), once for many concurrent pulls, and takes the tenant from the token', async () => {
    const r = new AzureCredentials({ enabled: true, registries: [azure.registryHost], plainHttp });
    const answers = await Promise.all(Array.from({ length: 30 }, () => r.resolve(azure.registryHost)));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ username: ACR_USER, password: refreshToken })]));
    expect(azure.imdsCalls).toEqual([{ query: { 'api-version': '2018-02-01', resource: 'https://containerregistry.azure.net' }, metadata: 'true' }]);
    expect(azure.entraCalls).toEqual([]);
    expect(azure.exchangeCalls).toEqual([expect.objectContaining({ grant_type: 'access_token', service: azure.registryHost, tenant: identity.tenant })]);
  });

  it('names the user-assigned identity (the AKS kubelet identity) by its client id', async () => {
    const r = new AzureCredentials({ enabled: true, identity: 'managed', managedIdentityClientId: kubeletIdentity, registries: [azure.registryHost], plainHttp });
    expect(await r.resolve(azure.registryHost)).toEqual({ username: ACR_USER, password: refreshToken });
    expect(azure.imdsCalls.map((c) => c.query['client_id'])).toEqual([kubeletIdentity]);
  });

  it('uses IMDS when told to even where Workload Identity is set up, and Workload Identity only when told to', async () => {
    const restore = useAzureWorkloadIdentity(azure, identity);
    try {
      await new AzureCredentials({ enabled: true, identity: 'managed', registries: [azure.registryHost], plainHttp }).resolve(azure.registryHost);
      expect([azure.imdsCalls.length, azure.entraCalls.length]).toEqual([1, 0]);
      await new AzureCredentials({ enabled: true, registries: [azure.registryHost], plainHttp }).resolve(azure.registryHost);
      expect([azure.imdsCalls.length, azure.entraCalls.length]).toEqual([1, 1]);
    } finally {
      restore();
    }
    const workloadOnly = new AzureCredentials({ enabled: true, identity: 'workload', registries: [azure.registryHost], plainHttp });
    await expect(workloadOnly.resolve(azure.registryHost)).rejects.toThrow(/AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID not set/);
    expect(azure.imdsCalls).toHaveLength(1);
  });

  it('names IMDS, its answer and what the node needs when the identity is unknown or refused', async () => {
    const unknown = new AzureCredentials({ enabled: true, managedIdentityClientId: '00000000-0000-4000-8000-00000000dead', registries: [azure.registryHost], plainHttp });
    const e = (await unknown.resolve(azure.registryHost).catch((err: unknown) => err)) as Error;
    expect(e.message).toContain(`Azure credentials for ${azure.registryHost}`);
    expect(e.message).toContain(`managed identity token from the instance metadata service (${new URL(azure.imdsUrl).host}): HTTP 400 (Identity not found)`);
    expect(e.message).toContain('client id 00000000-0000-4000-8000-00000000dead');
    expect(e.message).toContain('--attach-acr');
    azure.refuse = 'unauthorized_client';
    const refused = (await new AzureCredentials({ enabled: true, registries: [azure.registryHost], plainHttp }).resolve(azure.registryHost).catch((err: unknown) => err)) as Error;
    expect(refused.message).toContain('HTTP 400 (Identity refused: unauthorized_client)');
  });

  it('fails within seconds, naming IMDS, on a node outside Azure (nothing listening)', async () => {
    const env = { AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9' };
    const started = Date.now();
    const e = (await new AzureCredentials({ enabled: true, env, registries: ['kuik.azurecr.io'] }).resolve('kuik.azurecr.io').catch((err: unknown) => err)) as Error;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.message).toMatch(/Azure credentials for kuik\.azurecr\.io: managed identity token from the instance metadata service \(127\.0\.0\.1:9\): .*ECONNREFUSED/);
  });
});
