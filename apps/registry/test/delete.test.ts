// Deletion of manifests, tags and blobs, gated by storage.delete.enabled; read-only mode.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MediaType } from '@kuik/oci';
import { expectError, pushBlob, pushImage, pushManifest, random, sha } from './support/client.js';
import { startTestRegistry, testDrivers, type TestRegistry } from './support/harness.js';

describe.each(testDrivers())('deletion enabled (%s)', (kind) => {
  let t: TestRegistry;
  beforeAll(async () => {
    t = await startTestRegistry({ kind, config: { storage: { delete: { enabled: true } } } });
  });
  afterAll(() => t.close());

  it('deletes a tag without touching the manifest', async () => {
    const { manifest } = await pushImage(t.url, 'del/tag');
    const { digest } = await pushManifest(t.url, 'del/tag', 'v1', manifest);
    await pushManifest(t.url, 'del/tag', 'v2', manifest);
    const res = await fetch(`${t.url}/v2/del/tag/manifests/v1`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    await expectError(await fetch(`${t.url}/v2/del/tag/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
    expect((await fetch(`${t.url}/v2/del/tag/manifests/${digest}`)).status).toBe(200);
    expect((await fetch(`${t.url}/v2/del/tag/manifests/v2`)).status).toBe(200);
    await expectError(await fetch(`${t.url}/v2/del/tag/manifests/v1`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  it('deletes a manifest by digest with its tags and its referrer entry', async () => {
    const repo = 'del/manifest';
    const { manifest } = await pushImage(t.url, repo);
    const subject = await pushManifest(t.url, repo, 'v1', manifest);
    await pushManifest(t.url, repo, 'also', manifest);
    const emptyDigest = await pushBlob(t.url, repo, Buffer.from('{}'));
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example',
      config: { mediaType: MediaType.OciEmpty, digest: emptyDigest, size: 2 },
      layers: [],
      subject: { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.content.length },
    };
    const ref = await pushManifest(t.url, repo, undefined, artifact);
    const listed = async () => ((await (await fetch(`${t.url}/v2/${repo}/referrers/${subject.digest}`)).json()) as { manifests: unknown[] }).manifests.length;
    expect(await listed()).toBe(1);
    expect((await fetch(`${t.url}/v2/${repo}/manifests/${ref.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect(await listed()).toBe(0);

    expect((await fetch(`${t.url}/v2/${repo}/manifests/${subject.digest}`, { method: 'DELETE' })).status).toBe(202);
    for (const r of [subject.digest, 'v1', 'also']) await expectError(await fetch(`${t.url}/v2/${repo}/manifests/${r}`), 404, 'MANIFEST_UNKNOWN');
    expect(((await (await fetch(`${t.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] }).tags).toEqual([]);
    await expectError(await fetch(`${t.url}/v2/${repo}/manifests/${subject.digest}`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  it('deletes a blob from one repository only', async () => {
    const content = random(1000);
    const digest = await pushBlob(t.url, 'del/blob-a', content);
    await pushBlob(t.url, 'del/blob-b', content);
    expect((await fetch(`${t.url}/v2/del/blob-a/blobs/${digest}`, { method: 'DELETE' })).status).toBe(202);
    await expectError(await fetch(`${t.url}/v2/del/blob-a/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    expect((await fetch(`${t.url}/v2/del/blob-b/blobs/${digest}`)).status).toBe(200);
    await expectError(await fetch(`${t.url}/v2/del/blob-a/blobs/${digest}`, { method: 'DELETE' }), 404, 'BLOB_UNKNOWN');
    await expectError(await fetch(`${t.url}/v2/del/blob-a/blobs/${sha('never')}`, { method: 'DELETE' }), 404, 'BLOB_UNKNOWN');
  });
});

describe('deletion disabled, read-only mode', () => {
  let off: TestRegistry;
  let readOnly: TestRegistry;
  beforeAll(async () => {
    off = await startTestRegistry({ config: { storage: { delete: { enabled: false } } } });
    readOnly = await startTestRegistry({ config: { storage: { maintenance: { readonly: { enabled: true } } } } });
  });
  afterAll(async () => {
    await off.close();
    await readOnly.close();
  });

  it('answers DELETE with 405 UNSUPPORTED when storage.delete.enabled is false', async () => {
    const { manifest, blobs } = await pushImage(off.url, 'keep');
    const { digest } = await pushManifest(off.url, 'keep', 'v1', manifest);
    await expectError(await fetch(`${off.url}/v2/keep/manifests/${digest}`, { method: 'DELETE' }), 405, 'UNSUPPORTED');
    await expectError(await fetch(`${off.url}/v2/keep/manifests/v1`, { method: 'DELETE' }), 405, 'UNSUPPORTED');
    await expectError(await fetch(`${off.url}/v2/keep/blobs/${blobs[0]}`, { method: 'DELETE' }), 405, 'UNSUPPORTED');
    expect((await fetch(`${off.url}/v2/keep/manifests/v1`)).status).toBe(200);
  });

  it('refuses every write in read-only mode and still serves reads', async () => {
    await expectError(await fetch(`${readOnly.url}/v2/ro/blobs/uploads/`, { method: 'POST' }), 405, 'UNSUPPORTED');
    await expectError(await fetch(`${readOnly.url}/v2/ro/manifests/v1`, { method: 'PUT', body: '{}' }), 405, 'UNSUPPORTED');
    expect((await fetch(`${readOnly.url}/v2/`)).status).toBe(200);
    await expectError(await fetch(`${readOnly.url}/v2/ro/blobs/${sha('x')}`), 404, 'BLOB_UNKNOWN');
  });
});
