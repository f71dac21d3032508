import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ChainedCredentials, StaticCredentials } from './credentials.js';
import { DockerConfigCredentials, parseDockerConfig } from './docker-config.js';
import { apiHostOf, canonicalRegistryHost, hostOptionsFromUrl } from './hosts.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('Docker config.json', () => {
  it('reads auth, username/password and identity tokens, folding Docker Hub aliases', () => {
    const m = parseDockerConfig(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pa:ss') },
          'ghcr.io': { username: 'u', password: 'p' },
          'https://quay.io': { identitytoken: 'refresh-me' },
          'empty.example': {},
        },
        credsStore: 'desktop',
      }),
    );
    expect(m.get('docker.io')).toEqual({ username: 'hub', password: 'pa:ss' });
    expect(m.get('ghcr.io')).toEqual({ username: 'u', password: 'p' });
    expect(m.get('quay.io')).toEqual({ identityToken: 'refresh-me' });
    expect(m.has('empty.example')).toBe(false);
  });
  it('reads registry tokens, and picks what Docker would when an entry has several kinds', () => {
    const m = parseDockerConfig(
      JSON.stringify({
        auths: {
          'reg.example': { registrytoken: 'bearer-me' },
          'all.example': { registrytoken: 'r', identitytoken: 'i', auth: b64('u:p'), username: 'v', password: 'q' },
          // What `docker login` writes for an identity token: the username, an empty password.
          'login.example': { identitytoken: 'i', auth: b64('u:') },
          'auth.example': { auth: b64('u:p'), username: 'v', password: 'q' },
          // An empty token is no token.
          'empty-token.example': { registrytoken: '', username: 'v', password: 'q' },
        },
      }),
    );
    expect(m.get('reg.example')).toEqual({ registryToken: 'bearer-me' });
    expect(m.get('all.example')).toEqual({ registryToken: 'r' });
    expect(m.get('login.example')).toEqual({ identityToken: 'i' });
    expect(m.get('auth.example')).toEqual({ username: 'u', password: 'p' });
    expect(m.get('empty-token.example')).toEqual({ username: 'v', password: 'q' });
  });
  it('names the problem in bad files', () => {
    expect(() => parseDockerConfig('{', 'x.json')).toThrow(/x\.json: not valid JSON/);
    expect(() => parseDockerConfig(JSON.stringify({ auths: { h: { auth: b64('nocolon') } } }))).toThrow(/auth: must be base64/);
  });
  it('re-reads the file when it changes, and treats a missing file as anonymous', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kuik-dockercfg-'));
    const file = path.join(dir, 'config.json');
    const r = new DockerConfigCredentials(file, { recheckMs: 0 });
    expect(await r.resolve('docker.io')).toBeUndefined();
    writeFileSync(file, JSON.stringify({ auths: { 'registry-1.docker.io': { auth: b64('a:1') } } }));
    expect(await r.resolve('index.docker.io')).toEqual({ username: 'a', password: '1' });
    writeFileSync(file, JSON.stringify({ auths: { 'docker.io': { auth: b64('bb:22') } } }));
    expect(await r.resolve('docker.io')).toEqual({ username: 'bb', password: '22' });
  });
  it('looks at the file at most once per recheck interval, and reports a broken file until it is mended', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kuik-dockercfg-'));
    const file = path.join(dir, 'config.json');
    let clock = 1_000_000;
    const r = new DockerConfigCredentials(file, { recheckMs: 1000, now: () => clock });
    writeFileSync(file, JSON.stringify({ auths: { 'a.io': { auth: b64('a:1') } } }));
    expect(await r.resolve('a.io')).toEqual({ username: 'a', password: '1' });
    // A change (another size, so even a coarse mtime sees it) within the interval: not looked at yet.
    writeFileSync(file, JSON.stringify({ auths: { 'a.io': { auth: b64('aa:22') } } }));
    clock += 999;
    expect(await r.resolve('a.io')).toEqual({ username: 'a', password: '1' });
    clock += 1;
    expect(await r.resolve('a.io')).toEqual({ username: 'aa', password: '22' });
    // Many concurrent requests after the interval: one look, one answer for all.
    clock += 5000;
    writeFileSync(file, JSON.stringify({ auths: { 'a.io': { auth: b64('aaa:333') } } }));
    const answers = await Promise.all(Array.from({ length: 50 }, () => r.resolve('a.io')));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ username: 'aaa', password: '333' })]));
    // A broken file fails every request (naming the file) until it is fixed, whatever the clock.
    writeFileSync(file, '{"auths": {"a.io": {"auth": "bm9jb2xvbg=="}}}');
    clock += 5000;
    await expect(r.resolve('a.io')).rejects.toThrow(/config\.json.*auth/);
    await expect(r.resolve('a.io')).rejects.toThrow(/config\.json.*auth/);
    writeFileSync(file, JSON.stringify({ auths: { 'a.io': { auth: b64('b:4') } } }));
    expect(await r.resolve('a.io')).toEqual({ username: 'b', password: '4' });
    // Removed: anonymous after the next look.
    rmSync(file);
    clock += 1000;
    expect(await r.resolve('a.io')).toBeUndefined();
  });
});

describe('resolvers and hosts', () => {
  it('chains resolvers, first answer wins', async () => {
    const chain = new ChainedCredentials([
      new StaticCredentials({ 'a.io': { username: 'x', password: 'y' } }),
      new StaticCredentials({ 'b.io': { identityToken: 't' }, 'c.io': { registryToken: 'r' } }),
    ]);
    expect(await chain.resolve('b.io')).toEqual({ identityToken: 't' });
    expect(await chain.resolve('c.io')).toEqual({ registryToken: 'r' });
    expect(await chain.resolve('d.io')).toBeUndefined();
  });
  it('maps Docker Hub to its API host and parses registry URLs', () => {
    expect(apiHostOf('docker.io')).toBe('registry-1.docker.io');
    expect(apiHostOf('Index.Docker.io')).toBe('registry-1.docker.io');
    expect(apiHostOf('ghcr.io')).toBe('ghcr.io');
    expect(canonicalRegistryHost('https://registry-1.docker.io/v2/')).toBe('docker.io');
    expect(hostOptionsFromUrl('http://127.0.0.1:5000')).toEqual({ host: '127.0.0.1:5000', scheme: 'http' });
    expect(() => hostOptionsFromUrl('ftp://x')).toThrow(/http or https/);
    expect(() => hostOptionsFromUrl('http://x/path')).toThrow(/path/);
  });
});
