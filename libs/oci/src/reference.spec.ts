import { describe, expect, it } from '@jest/globals';
import {
  formatImageReference,
  isValidRepositoryName,
  isValidTag,
  parseImageReference,
  parseManifestReference,
} from './reference.js';

const D = `sha256:${'b'.repeat(64)}`;

describe('repository names and tags', () => {
  it('follows the spec grammar', () => {
    for (const ok of ['a', 'library/nginx', 'a/b/c', 'a.b', 'a_b', 'a__b', 'a--b', 'a-b.c_d/e0', '0']) expect(isValidRepositoryName(ok)).toBe(true);
    for (const bad of ['', 'A', 'a/', '/a', 'a//b', 'a/../b', '..', 'a/./b', '.a', 'a.', 'a___b', 'a_.b', 'a%2Fb', 'a b', 'a:b', 'x'.repeat(256)]) {
      expect(isValidRepositoryName(bad)).toBe(false);
    }
    for (const ok of ['latest', 'v1.0', '_x', 'A-b_c.d', 'x'.repeat(128)]) expect(isValidTag(ok)).toBe(true);
    for (const bad of ['', '.x', '-x', 'x'.repeat(129), 'a/b', '..', 'a:b']) expect(isValidTag(bad)).toBe(false);
  });

  it('parses manifest references as tag or digest', () => {
    expect(parseManifestReference('v1')).toEqual({ kind: 'tag', tag: 'v1' });
    expect(parseManifestReference(D)).toEqual({ kind: 'digest', digest: D });
    expect(() => parseManifestReference('..')).toThrow(expect.objectContaining({ code: 'TAG_INVALID' }));
    expect(() => parseManifestReference('sha256:zz')).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
  });
});

describe('image references (Docker normalization)', () => {
  const cases: [string, string][] = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    ['ghcr.io/a/b/c:v2', 'ghcr.io/a/b/c:v2'],
    ['localhost/x', 'localhost/x:latest'],
    ['localhost:5000/x:y', 'localhost:5000/x:y'],
    ['registry.example.com:443/team/app', 'registry.example.com:443/team/app:latest'],
    ['[::1]:5000/x', '[::1]:5000/x:latest'],
    [`nginx@${D}`, `docker.io/library/nginx@${D}`],
    [`quay.io/a/b:1.0@${D}`, `quay.io/a/b:1.0@${D}`],
    ['Example.COM/a', 'Example.COM/a:latest'],
  ];
  it.each(cases)('%s → %s', (input, expected) => {
    expect(formatImageReference(parseImageReference(input))).toBe(expected);
  });

  it('splits domain and path', () => {
    expect(parseImageReference('localhost:5000/a/b:t')).toEqual({ domain: 'localhost:5000', path: 'a/b', tag: 't' });
    expect(parseImageReference(`x@${D}`)).toEqual({ domain: 'docker.io', path: 'library/x', digest: D });
  });

  it.each(['', 'UPPER', 'docker.io/UPPER', 'a:b:c', 'nginx@sha256:short', 'a//b', 'a/../b', 'nginx:', 'nginx:.bad', 'host:notaport/x/../y'])(
    'rejects %s',
    (bad) => {
      expect(() => parseImageReference(bad)).toThrow(/invalid image reference/);
    },
  );
});
