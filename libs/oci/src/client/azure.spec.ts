// ACR credentials from AKS Workload Identity, against loopback stand-ins for Microsoft Entra's
// token endpoint and ACR's /oauth2/exchange (neither can run here; no request leaves the machine).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MockAzure, useAzureWorkloadIdentity } from '@kuik/testing';
import { ACR_USER, AzureCredentials, isAzureRegistryHost } from './azure.js';

const identity = { tenant: '72f988bf-0000-4000-8000-000000000001', clientId: 'a1b2c3d4-0000-4000-8000-000000000002', federatedToken: 'eyJ.kuik-federated.sig' };
const exp = Math.floor(Date.now() / 1000) + 3 * 3600;
const refreshToken = `x.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.y`;
let azure: MockAzure;
let restoreEnv: () => void;

beforeAll(async () => {
  azure = await new MockAzure({ ...identity, refreshToken, registryUrl: 'http://127.0.0.1:9' }).start();
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
    const noEnv = new AzureCredentials({ enabled: true, env: {}, registries: ['kuik.azurecr.io'] });
    await expect(noEnv.resolve('kuik.azurecr.io')).rejects.toThrow(/AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID not set/);
  });
});
