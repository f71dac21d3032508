import { describe, expect, it } from '@jest/globals';
import { isOciError, type OciError } from '@kuik/oci';
import { RegistryClientError } from '@kuik/oci/client';
import { Grants, parseBasicAuth, PrivateRepositories, privateTarget } from './client-auth.js';
import { resolveTarget } from './routing.js';

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

describe('parseBasicAuth', () => {
  it('reads user and password (the password may hold ":"), keyed by a hash of both', () => {
    const c = parseBasicAuth(basic('team:pa:ss'))!;
    expect(c).toMatchObject({ username: 'team', password: 'pa:ss' });
    expect(c.key).toMatch(/^[0-9a-f]{64}$/);
    expect(parseBasicAuth(basic('team:other'))!.key).not.toBe(c.key);
    expect(parseBasicAuth(`basic   ${Buffer.from('a:b').toString('base64')}`)).toMatchObject({ username: 'a', password: 'b' });
  });
  it('treats no header, other schemes, and an empty user (containers/image without credentials) as anonymous', () => {
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(parseBasicAuth('Bearer abc')).toBeUndefined();
    expect(parseBasicAuth(basic(':'))).toBeUndefined();
    expect(parseBasicAuth(basic('no-colon'))).toBeUndefined();
    expect(parseBasicAuth('Basic !!!')).toBeUndefined();
  });
});

describe('privateTarget', () => {
  it('moves the cache repository under kuik-private/ and carries the credentials', () => {
    const t = resolveTarget('ghcr.io/team/app', null, 'docker.io');
    const p = privateTarget(t, parseBasicAuth(basic('u:p'))!);
    expect(p).toMatchObject({ origin: 'ghcr.io', repository: 'team/app', cacheRepository: 'kuik-private/ghcr.io/team/app', client: { username: 'u' } });
  });
  it('refuses a name that would be too long, naming it', () => {
    const t = resolveTarget(`ghcr.io/${'a'.repeat(240)}`, null, 'docker.io');
    expect(() => privateTarget(t, parseBasicAuth(basic('u:p'))!)).toThrow(/too long to cache privately/);
  });
});

describe('Grants', () => {
  const target = () => privateTarget(resolveTarget('ghcr.io/team/app', null, 'docker.io'), parseBasicAuth(basic('u:p'))!);
  const probe = { kind: 'manifest', reference: 'v1' } as const;
  const setup = () => {
    let now = 1_000_000;
    const grants = new Grants({ ttlMs: 1000, staleMs: 10_000, refusalMs: 500, now: () => now });
    return { grants, advance: (ms: number) => (now += ms) };
  };
  const down = () => Promise.reject(new RegistryClientError('network', 'connect ECONNREFUSED', { host: 'ghcr.io' }));
  const refused = () => Promise.reject(new RegistryClientError('auth', 'unauthorized', { host: 'ghcr.io', status: 401 }));

  it('asks the origin once, then trusts the answer for ttl; concurrent checks share one question', async () => {
    const { grants, advance } = setup();
    let asked = 0;
    const ask = async () => {
      asked++;
      await new Promise((r) => setTimeout(r, 10));
      return true;
    };
    expect(await Promise.all([grants.check(target(), probe, ask), grants.check(target(), probe, ask)])).toEqual(['checked', 'checked']);
    expect(asked).toBe(1);
    expect(await grants.check(target(), probe, ask)).toBe('fresh');
    advance(1001);
    expect(await grants.check(target(), probe, ask)).toBe('checked');
    expect(asked).toBe(2);
  });

  it('refuses with a 401 and the Basic challenge when the origin refuses, and remembers the refusal briefly', async () => {
    const { grants, advance } = setup();
    let asked = 0;
    const err = await grants.check(target(), probe, () => (asked++, refused())).catch((e: unknown) => e);
    expect(isOciError(err, 'UNAUTHORIZED')).toBe(true);
    expect((err as OciError).status).toBe(401);
    expect((err as OciError).headers['WWW-Authenticate']).toMatch(/^Basic realm="kuik-proxy"/);
    await expect(grants.check(target(), probe, () => (asked++, Promise.resolve(true)))).rejects.toThrow();
    expect(asked).toBe(1);
    advance(501);
    expect(await grants.check(target(), probe, () => (asked++, Promise.resolve(true)))).toBe('checked');
  });

  it('answers MANIFEST_UNKNOWN / BLOB_UNKNOWN when the object is not there for these credentials', async () => {
    const { grants } = setup();
    await expect(grants.check(target(), probe, async () => false)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN', status: 404 });
    await expect(grants.check(target(), { kind: 'blob', digest: `sha256:${'a'.repeat(64)}` }, async () => false)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    // Not a verdict on the credentials: the next object is asked for.
    expect(await grants.check(target(), { kind: 'manifest', reference: 'v2' }, async () => true)).toBe('checked');
  });

  it('with the origin down: an acceptance younger than staleGrantTtl still counts; none means UNAVAILABLE, never a grant', async () => {
    const { grants, advance } = setup();
    await expect(grants.check(target(), probe, down)).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(await grants.check(target(), probe, async () => true)).toBe('checked');
    advance(5000);
    expect(await grants.check(target(), probe, down)).toBe('stale');
    advance(6000);
    await expect(grants.check(target(), probe, down)).rejects.toThrow(/cannot check the credentials presented for ghcr.io\/team\/app/);
  });

  it('keeps other credentials and other repositories apart', async () => {
    const { grants } = setup();
    await grants.check(target(), probe, async () => true);
    const other = privateTarget(resolveTarget('ghcr.io/team/app', null, 'docker.io'), parseBasicAuth(basic('u:other'))!);
    await expect(grants.check(other, probe, refused)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const elsewhere = privateTarget(resolveTarget('ghcr.io/team/secret', null, 'docker.io'), parseBasicAuth(basic('u:p'))!);
    await expect(grants.check(elsewhere, probe, refused)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await grants.check(target(), probe, refused)).toBe('fresh');
  });

  it('stays bounded', async () => {
    const grants = new Grants({ ttlMs: 60_000, staleMs: 60_000, maxEntries: 3 });
    let asked = 0;
    for (const repo of ['a', 'b', 'c', 'd']) {
      await grants.check(privateTarget(resolveTarget(`ghcr.io/x/${repo}`, null, 'docker.io'), parseBasicAuth(basic('u:p'))!), probe, async () => (asked++, true));
    }
    // "a" was evicted: asked again.
    await grants.check(privateTarget(resolveTarget('ghcr.io/x/a', null, 'docker.io'), parseBasicAuth(basic('u:p'))!), probe, async () => (asked++, true));
    expect(asked).toBe(5);
  });
});

describe('PrivateRepositories', () => {
  it('remembers for its ttl, bounded', () => {
    let now = 0;
    const p = new PrivateRepositories(100, 2, () => now);
    p.mark('a');
    expect(p.has('a')).toBe(true);
    now = 101;
    expect(p.has('a')).toBe(false);
    p.mark('a');
    p.mark('b');
    p.mark('c');
    expect([p.has('a'), p.has('b'), p.has('c')]).toEqual([false, true, true]);
  });
});
