import { describe, expect, it } from '@jest/globals';
import { accepts, nextLink, parseContentRange, parsePage, parseRange, uploadRangeHeader } from './http.js';
import { matchRoute } from './routes.js';

const D = `sha256:${'c'.repeat(64)}`;

describe('HTTP helpers', () => {
  it('parses Range against a size', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=0-4', 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=0-1,3-4', 10)).toBeUndefined();
    for (const bad of ['bytes=10-', 'bytes=5-2', 'items=0-1', 'bytes=x-1', 'bytes=-0', 'bytes=-']) {
      expect(() => parseRange(bad, 10)).toThrow(expect.objectContaining({ code: 'RANGE_INVALID', status: 416, headers: { 'Content-Range': 'bytes */10' } }));
    }
  });

  it('parses Content-Range in the spec form and the RFC forms', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange('bytes=5-5')).toEqual({ start: 5, end: 5 });
    for (const bad of ['', '5', '9-3', 'a-b', '-1-2']) expect(() => parseContentRange(bad)).toThrow(expect.objectContaining({ code: 'RANGE_INVALID' }));
    expect(uploadRangeHeader(0)).toBe('0-0');
    expect(uploadRangeHeader(10)).toBe('0-9');
  });

  it('reads pages and writes Link headers', () => {
    expect(parsePage(new URLSearchParams('n=2&last=b'), 1000)).toEqual({ n: 2, last: 'b' });
    expect(parsePage(new URLSearchParams('n=5000'), 1000)).toEqual({ n: 1000 });
    expect(parsePage(new URLSearchParams(''), undefined)).toEqual({});
    expect(() => parsePage(new URLSearchParams('n=-1'), 10)).toThrow(expect.objectContaining({ code: 'PAGINATION_NUMBER_INVALID' }));
    expect(nextLink('/v2/a/tags/list', 2, 'b c')).toBe('</v2/a/tags/list?n=2&last=b+c>; rel="next"');
  });

  it('negotiates Accept', () => {
    const oci = 'application/vnd.oci.image.manifest.v1+json';
    expect(accepts(undefined, oci)).toBe(true);
    expect(accepts('', oci)).toBe(true);
    expect(accepts(`application/json, ${oci};q=0.5`, oci)).toBe(true);
    expect(accepts('*/*', oci)).toBe(true);
    expect(accepts('application/*', oci)).toBe(true);
    expect(accepts('application/vnd.docker.distribution.manifest.v2+json', oci)).toBe(false);
    expect(accepts(`${oci};q=0`, oci)).toBe(false);
  });
});

describe('routes', () => {
  it('recognises each route by its suffix', () => {
    expect(matchRoute('/v2/')).toEqual({ kind: 'base' });
    expect(matchRoute('/v2/_catalog')).toEqual({ kind: 'catalog' });
    expect(matchRoute('/v2/a/b/tags/list')).toEqual({ kind: 'tags', name: 'a/b' });
    expect(matchRoute('/v2/a/manifests/latest')).toEqual({ kind: 'manifest', name: 'a', param: 'latest' });
    expect(matchRoute('/v2/x/manifests/y/manifests/z')).toEqual({ kind: 'manifest', name: 'x/manifests/y', param: 'z' });
    expect(matchRoute(`/v2/a/blobs/${D}`)).toEqual({ kind: 'blob', name: 'a', param: D });
    expect(matchRoute('/v2/a/blobs/uploads/')).toEqual({ kind: 'uploads', name: 'a' });
    expect(matchRoute('/v2/a/blobs/uploads')).toEqual({ kind: 'uploads', name: 'a' });
    expect(matchRoute('/v2/a/blobs/uploads/123')).toEqual({ kind: 'upload', name: 'a', param: '123' });
    expect(matchRoute(`/v2/a/referrers/${D}`)).toEqual({ kind: 'referrers', name: 'a', param: D });
    expect(matchRoute('/v2/a/unknown')).toBeNull();
  });

  it('refuses bad names on known routes with NAME_INVALID', () => {
    for (const p of ['/v2/A/tags/list', '/v2/a/../b/manifests/x', '/v2/a%2Fb/manifests/x', '/v2/../manifests/x', '/v2//a/blobs/uploads/']) {
      expect(() => matchRoute(p)).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    }
  });
});
