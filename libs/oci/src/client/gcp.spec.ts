// Google credentials through the real google-auth-library (Application Default Credentials as on
// GKE: it finds the metadata server and asks it for the workload's token), against a loopback
// stand-in for Google's metadata server — the only mock: it cannot run outside Google Cloud.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MockGceMetadata, useGceMetadata } from '@kuik/testing';
import { GoogleCredentials, isGoogleRegistryHost } from './gcp.js';

let metadata: MockGceMetadata;
let restoreEnv: () => void;

beforeAll(async () => {
  metadata = await new MockGceMetadata().start();
  restoreEnv = useGceMetadata(metadata.host);
});

afterAll(async () => {
  restoreEnv();
  await metadata.stop();
});

beforeEach(() => {
  metadata.refuseTokens = undefined;
});

describe('Google registry hosts', () => {
  it('recognises gcr.io and Artifact Registry hosts, and nothing else', () => {
    for (const h of ['gcr.io', 'eu.gcr.io', 'us.gcr.io', 'europe-west1-docker.pkg.dev', 'us-docker.pkg.dev', 'EU.GCR.IO']) expect({ h, yes: isGoogleRegistryHost(h) }).toEqual({ h, yes: true });
    for (const h of ['ghcr.io', 'gcr.io.evil.example', 'evilgcr.io', 'europe-west1-python.pkg.dev', 'pkg.dev', 'docker.io']) expect({ h, yes: isGoogleRegistryHost(h) }).toEqual({ h, yes: false });
  });
});

describe('GoogleCredentials with Application Default Credentials', () => {
  it('is off unless enabled: no metadata request at all', async () => {
    const before = metadata.requests.length;
    expect(await new GoogleCredentials().resolve('europe-west1-docker.pkg.dev')).toBeUndefined();
    expect(metadata.requests.length).toBe(before);
  });

  it('gets the workload’s access token from the metadata server, once for many concurrent pulls, as oauth2accesstoken', async () => {
    const r = new GoogleCredentials({ enabled: true });
    const answers = await Promise.all(Array.from({ length: 30 }, () => r.resolve('europe-west1-docker.pkg.dev')));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ username: 'oauth2accesstoken', password: 'ya29.kuik-test-token-1' })]));
    expect(metadata.tokens).toBe(1);
    expect(metadata.requests).toContain('/computeMetadata/v1/instance/service-accounts/default/token');
    // Every Google host shares the token; other hosts are not its business.
    expect(await r.resolve('eu.gcr.io')).toEqual({ username: 'oauth2accesstoken', password: 'ya29.kuik-test-token-1' });
    expect(await r.resolve('ghcr.io')).toBeUndefined();
    expect(metadata.tokens).toBe(1);
  });

  it('renews a token in its last 5 minutes, in the background (the library’s own cache holds real-time tokens: a counting source here)', async () => {
    let clock = 1_000_000;
    let calls = 0;
    const r = new GoogleCredentials({
      enabled: true,
      registries: ['registry.internal.example'],
      now: () => clock,
      tokenSource: async () => ({ username: 'oauth2accesstoken', password: `t${++calls}`, expiresAt: clock + 3600_000 }),
    });
    expect(await r.resolve('registry.internal.example')).toEqual({ username: 'oauth2accesstoken', password: 't1' });
    clock += 50 * 60_000; // 10 minutes left: not due
    expect(await r.resolve('registry.internal.example')).toEqual({ username: 'oauth2accesstoken', password: 't1' });
    clock += 6 * 60_000; // 4 minutes left: due — the current token answers while the renewal runs
    expect(await r.resolve('registry.internal.example')).toEqual({ username: 'oauth2accesstoken', password: 't1' });
    await new Promise((res) => setImmediate(res));
    expect(await r.resolve('registry.internal.example')).toEqual({ username: 'oauth2accesstoken', password: 't2' });
    expect(calls).toBe(2);
  });

  it('reports a workload without a Google identity, naming the host and what it needs', async () => {
    metadata.refuseTokens = 404;
    const r = new GoogleCredentials({ enabled: true });
    const e = (await r.resolve('us-docker.pkg.dev').catch((err: unknown) => err)) as Error;
    expect(e.message).toContain('Google credentials for us-docker.pkg.dev');
    expect(e.message).toContain('roles/artifactregistry.reader');
  });
});
