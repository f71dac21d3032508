import { describe, expect, it } from '@jest/globals';
import { layout } from './layout.js';

const D = `sha256:${'ab'.repeat(32)}` as const;
const ID = '0b9f5e2c-1d2e-4f3a-9b8c-7d6e5f4a3b2c';

describe('storage layout', () => {
  it("is distribution's", () => {
    expect(layout.blobData(D)).toBe(`/docker/registry/v2/blobs/sha256/ab/${'ab'.repeat(32)}/data`);
    expect(layout.layerLink('a/b', D)).toBe(`/docker/registry/v2/repositories/a/b/_layers/sha256/${'ab'.repeat(32)}/link`);
    expect(layout.revisionLink('a', D)).toBe(`/docker/registry/v2/repositories/a/_manifests/revisions/sha256/${'ab'.repeat(32)}/link`);
    expect(layout.tagCurrentLink('a', 'v1')).toBe('/docker/registry/v2/repositories/a/_manifests/tags/v1/current/link');
    expect(layout.tagIndexLink('a', 'v1', D)).toBe(`/docker/registry/v2/repositories/a/_manifests/tags/v1/index/sha256/${'ab'.repeat(32)}/link`);
    expect(layout.uploadData('a', ID)).toBe(`/docker/registry/v2/repositories/a/_uploads/${ID}/data`);
    expect(layout.uploadStartedAt('a', ID)).toBe(`/docker/registry/v2/repositories/a/_uploads/${ID}/startedat`);
    expect(layout.repositoryNameOf('/docker/registry/v2/repositories/a/b')).toBe('a/b');
    expect(layout.digestFrom('sha256', 'ab'.repeat(32))).toBe(D);
    expect(layout.digestFrom('sha256', 'x')).toBeNull();
  });

  it('refuses anything that could leave its place', () => {
    expect(() => layout.repository('../etc')).toThrow(/not a repository name/);
    expect(() => layout.repository('a/_uploads')).toThrow(/not a repository name/);
    expect(() => layout.tagDir('a', '../../x')).toThrow(/not a tag/);
    expect(() => layout.blobData('sha256:../../x' as never)).toThrow(/not a digest/);
    expect(() => layout.uploadDir('a', '../../x')).toThrow(/not an upload id/);
  });
});
