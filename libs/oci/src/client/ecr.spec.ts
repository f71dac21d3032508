// ECR credentials through the real AWS SDK (@aws-sdk/client-ecr and its default credential chain,
// fed fixed keys from the environment), pointed at a loopback stand-in for the ECR API — the only
// mock: ECR cannot run here, and no request may leave the machine.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MockEcr, useStaticAwsKeys } from '@kuik/testing';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { EcrCredentials, ecrRegion } from './ecr.js';

const ACCESS_KEY = 'AKIAKUIKTESTKEY00001';
let ecr: MockEcr;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = useStaticAwsKeys(ACCESS_KEY, 'kuik-test-secret-key');
  ecr = await new MockEcr().start();
});

afterAll(async () => {
  await ecr.stop();
  restoreEnv();
});

beforeEach(() => {
  ecr.calls.length = 0;
  ecr.refuse = undefined;
});

const HOST = '123456789012.dkr.ecr.eu-west-3.amazonaws.com';

describe('ECR hosts', () => {
  it('recognises ECR registry hosts and their region, and nothing else', () => {
    expect(ecrRegion(HOST)).toBe('eu-west-3');
    expect(ecrRegion('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(ecrRegion('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(ecrRegion('123456789012.dkr-ecr.ap-south-1.on.aws')).toBe('ap-south-1');
    expect(ecrRegion('123456789012.DKR.ECR.EU-WEST-3.AMAZONAWS.COM')).toBe('eu-west-3');
    for (const other of ['public.ecr.aws', 'ghcr.io', '12345.dkr.ecr.eu-west-3.amazonaws.com', `${HOST}.evil.example`, `x${HOST}`, 'docker.io']) {
      expect({ other, region: ecrRegion(other) }).toEqual({ other, region: undefined });
    }
  });
});

describe('EcrCredentials with the AWS SDK', () => {
  it('gets a token signed with the workload’s keys for the host’s region, once for many concurrent pulls', async () => {
    const r = new EcrCredentials({ endpoint: ecr.url });
    const answers = await Promise.all(Array.from({ length: 30 }, () => r.resolve(HOST)));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ username: 'AWS', password: 'ecr-password-1' })]));
    expect(ecr.calls).toEqual([{ accessKeyId: ACCESS_KEY, region: 'eu-west-3', service: 'ecr', target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken' }]);
    // The same region again: the cached token. Another region: a token of its own.
    expect(await r.resolve('210987654321.dkr.ecr.eu-west-3.amazonaws.com')).toEqual({ username: 'AWS', password: 'ecr-password-1' });
    expect(await r.resolve('123456789012.dkr.ecr.us-east-1.amazonaws.com')).toEqual({ username: 'AWS', password: 'ecr-password-2' });
    expect(ecr.calls.map((c) => c.region)).toEqual(['eu-west-3', 'us-east-1']);
  });

  it('asks nothing for other hosts, or when disabled', async () => {
    expect(await new EcrCredentials({ endpoint: ecr.url }).resolve('ghcr.io')).toBeUndefined();
    expect(await new EcrCredentials({ endpoint: ecr.url, enabled: false }).resolve(HOST)).toBeUndefined();
    expect(ecr.calls).toEqual([]);
  });

  it('serves configured aliases from their region', async () => {
    const r = new EcrCredentials({ endpoint: ecr.url, registries: ['registry.internal.example:5000'], region: 'ca-central-1' });
    expect(await r.resolve('registry.internal.example:5000')).toEqual({ username: 'AWS', password: 'ecr-password-1' });
    expect(ecr.calls.map((c) => c.region)).toEqual(['ca-central-1']);
    expect(() => new EcrCredentials({ registries: ['x.example'] })).toThrow(/registries need a region/);
  });

  it('renews ahead of expiry in the background, answering with the current token meanwhile', async () => {
    let clock = Date.now();
    const r = new EcrCredentials({ endpoint: ecr.url, now: () => clock, renewBeforeMs: 30 * 60_000 });
    expect(await r.resolve(HOST)).toEqual({ username: 'AWS', password: 'ecr-password-1' });
    clock += 11 * 3600_000; // 1 h left: valid, not due
    expect(await r.resolve(HOST)).toEqual({ username: 'AWS', password: 'ecr-password-1' });
    expect(ecr.calls).toHaveLength(1);
    clock += 45 * 60_000; // 15 min left: due — the current token answers, a renewal starts
    expect(await r.resolve(HOST)).toEqual({ username: 'AWS', password: 'ecr-password-1' });
    // The renewal lands in the background (bounded wait: 10 s); then the new token answers.
    const renewed = JSON.stringify({ username: 'AWS', password: 'ecr-password-2' });
    let latest = await r.resolve(HOST);
    for (let i = 0; i < 500 && JSON.stringify(latest) !== renewed; i++) {
      await new Promise((res) => setTimeout(res, 20));
      latest = await r.resolve(HOST);
    }
    expect(latest).toEqual({ username: 'AWS', password: 'ecr-password-2' });
    expect(ecr.calls).toHaveLength(2);
  });

  it('reports a refusal naming the host, the region and the AWS error, and does not hammer ECR', async () => {
    let clock = Date.now();
    const r = new EcrCredentials({ endpoint: ecr.url, now: () => clock, failureBackoffMs: 15_000 });
    ecr.refuse = { type: 'AccessDeniedException', message: 'User: arn:aws:sts::123456789012:assumed-role/node is not authorized to perform: ecr:GetAuthorizationToken', status: 400 };
    const e = (await r.resolve(HOST).catch((err: unknown) => err)) as Error;
    expect(e.message).toContain(`ECR credentials for ${HOST} (region eu-west-3)`);
    expect(e.message).toContain('AccessDeniedException');
    expect(e.message).toContain('ecr:GetAuthorizationToken');
    expect(e.message).not.toContain('kuik-test-secret-key');
    const attempts = ecr.calls.length; // the SDK does not retry a 400
    await expect(r.resolve(HOST)).rejects.toThrow(/AccessDeniedException/);
    expect(ecr.calls).toHaveLength(attempts);
    clock += 15_001;
    ecr.refuse = undefined;
    expect(await r.resolve(HOST)).toEqual({ username: 'AWS', password: expect.stringMatching(/^ecr-password-/) });
  });

  it('gives up on an ECR API that does not answer within its timeout, and on the caller’s abort', async () => {
    // A port that accepts and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as AddressInfo).port;
    try {
      const r = new EcrCredentials({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 500 });
      const t0 = Date.now();
      await expect(r.resolve(HOST)).rejects.toThrow(/no answer within 500 ms/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      const r2 = new EcrCredentials({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 10_000 });
      const ac = new AbortController();
      const pending = r2.resolve(HOST, ac.signal);
      setTimeout(() => ac.abort(new Error('client went away')), 100);
      await expect(pending).rejects.toThrow(/client went away/);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
