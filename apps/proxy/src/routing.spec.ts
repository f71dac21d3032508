import { describe, expect, it } from '@jest/globals';
import { originFromSegment, parseRoute, resolveTarget } from './routing.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseRoute', () => {
  it('reads the host form the webhook writes', () => {
    expect(parseRoute('/v2/docker.io/library/nginx/manifests/1.27', 'docker.io')).toEqual({
      kind: 'manifest',
      reference: '1.27',
      target: { origin: 'docker.io', repository: 'library/nginx', cacheRepository: 'docker.io/library/nginx' },
    });
    expect(parseRoute(`/v2/ghcr.io/a/b/c/blobs/${D}`, 'docker.io')).toMatchObject({ kind: 'blob', digest: D, target: { origin: 'ghcr.io', repository: 'a/b/c' } });
    // host:port written host-port, as docker.io-style names cannot hold ':'.
    expect(parseRoute('/v2/my.registry-5000/team/app/manifests/v1', 'docker.io')).toMatchObject({
      target: { origin: 'my.registry:5000', repository: 'team/app', cacheRepository: 'my.registry-5000/team/app' },
    });
    expect(parseRoute('/v2/localhost-5000/app/manifests/v1', 'docker.io')).toMatchObject({ target: { origin: 'localhost:5000' } });
    expect(parseRoute('/v2/10.0.0.1:5000/app/manifests/v1', 'docker.io')).toMatchObject({ target: { origin: '10.0.0.1:5000', cacheRepository: '10.0.0.1-5000/app' } });
    expect(parseRoute('/v2/registry-1.docker.io/nginx/manifests/v1', 'docker.io')).toMatchObject({ target: { origin: 'docker.io', repository: 'library/nginx' } });
    expect(parseRoute('/v2/index.docker.io/library/nginx/manifests/v1', 'docker.io')).toMatchObject({ target: { origin: 'docker.io' } });
  });

  it('reads the mirror form, with or without ?ns=', () => {
    expect(parseRoute('/v2/library/alpine/manifests/3.20?ns=docker.io', 'docker.io')).toMatchObject({ target: { origin: 'docker.io', repository: 'library/alpine' } });
    expect(parseRoute('/v2/team/app/manifests/v1?ns=127.0.0.1:5000', 'docker.io')).toMatchObject({ target: { origin: '127.0.0.1:5000', cacheRepository: '127.0.0.1-5000/team/app' } });
    // A mirror configured with a /v2/<origin> prefix: the duplicated origin segment goes.
    expect(parseRoute('/v2/docker.io/library/alpine/manifests/3.20?ns=docker.io', 'docker.io')).toMatchObject({ target: { repository: 'library/alpine' } });
    // No ns, no host segment: the default origin (Docker registry-mirrors).
    expect(parseRoute('/v2/alpine/manifests/3.20', 'docker.io')).toMatchObject({ target: { origin: 'docker.io', repository: 'library/alpine' } });
    expect(parseRoute('/v2/team/app/manifests/v1', 'quay.io')).toMatchObject({ target: { origin: 'quay.io', repository: 'team/app' } });
    expect(parseRoute('/v2/', 'docker.io')).toEqual({ kind: 'base' });
    expect(parseRoute('/v2', 'docker.io')).toEqual({ kind: 'base' });
  });

  it('refuses what is not a pull route or not a valid name', () => {
    expect(() => parseRoute('/v2/a/tags/list', 'docker.io')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => parseRoute('/v2/ghcr.io/UPPER/manifests/v1', 'docker.io')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    expect(() => parseRoute('/v2/ghcr.io/a/manifests/bad:tag', 'docker.io')).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    expect(() => parseRoute('/v2/ghcr.io/a/blobs/notadigest', 'docker.io')).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    expect(() => parseRoute('/v2/a/manifests/v1?ns=bad/host', 'docker.io')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    expect(() => parseRoute('/v2/%E0%A4%A/manifests/v1', 'docker.io')).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
  });

  it('tells hosts from repository components', () => {
    expect(originFromSegment('library')).toBeNull();
    expect(originFromSegment('my-org-2024')).toBeNull();
    expect(originFromSegment('foo-5000')).toBeNull();
    expect(originFromSegment('Quay.IO')).toBe('quay.io');
    expect(resolveTarget('a/b', null, 'docker.io').cacheRepository).toBe('docker.io/a/b');
  });
});
