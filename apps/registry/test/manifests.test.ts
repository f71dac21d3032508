// Manifest push, pull, negotiation, validation and the referrers API, on every storage driver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MediaType } from '@kuik/oci';
import { expectError, pushBlob, pushImage, pushManifest, random, sha, storageFiles } from './support/client.js';
import { startTestRegistry, testDrivers, type TestRegistry } from './support/harness.js';

describe.each(testDrivers())('manifests (%s)', (kind) => {
  let t: TestRegistry;
  beforeAll(async () => {
    t = await startTestRegistry({ kind, config: { limits: { manifestmaxbytes: 64 * 1024 } } });
  });
  afterAll(() => t.close());

  it('pushes by tag and pulls by tag and digest with the right headers', async () => {
    const { manifest } = await pushImage(t.url, 'img/app', 2);
    const pushed = await pushManifest(t.url, 'img/app', 'v1', manifest);
    expect(pushed.res.status).toBe(201);
    expect(pushed.res.headers.get('location')).toBe(`/v2/img/app/manifests/${pushed.digest}`);
    expect(pushed.res.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(pushed.res.headers.get('oci-subject')).toBeNull();
    for (const ref of ['v1', pushed.digest]) {
      const res = await fetch(`${t.url}/v2/img/app/manifests/${ref}`, { headers: { Accept: MediaType.OciManifest } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(MediaType.OciManifest);
      expect(res.headers.get('docker-content-digest')).toBe(pushed.digest);
      expect(Buffer.from(await res.arrayBuffer()).equals(pushed.content)).toBe(true);
      const head = await fetch(`${t.url}/v2/img/app/manifests/${ref}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(pushed.content.length));
      expect(head.headers.get('docker-content-digest')).toBe(pushed.digest);
    }
    // The manifest is a blob of the repository too.
    expect((await fetch(`${t.url}/v2/img/app/blobs/${pushed.digest}`)).status).toBe(200);
    // Pushing by digest works and re-tagging is idempotent.
    expect((await pushManifest(t.url, 'img/app', undefined, manifest)).res.status).toBe(201);
    expect((await pushManifest(t.url, 'img/app', 'v1', manifest)).res.status).toBe(201);
  });

  it('negotiates on Accept like distribution: an excluded type is unknown', async () => {
    const { manifest } = await pushImage(t.url, 'accept');
    const { digest } = await pushManifest(t.url, 'accept', 'latest', manifest);
    await expectError(await fetch(`${t.url}/v2/accept/manifests/latest`, { headers: { Accept: MediaType.DockerManifest } }), 404, 'MANIFEST_UNKNOWN');
    const any = await fetch(`${t.url}/v2/accept/manifests/${digest}`, { headers: { Accept: `${MediaType.DockerManifest}, */*;q=0.1` } });
    expect(any.status).toBe(200);
    expect((await fetch(`${t.url}/v2/accept/manifests/latest`)).status).toBe(200);
  });

  it('answers unknown manifests with MANIFEST_UNKNOWN', async () => {
    await expectError(await fetch(`${t.url}/v2/img/app/manifests/nope`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fetch(`${t.url}/v2/img/app/manifests/${sha('x')}`), 404, 'MANIFEST_UNKNOWN');
    const head = await fetch(`${t.url}/v2/img/app/manifests/nope`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  it('accepts Docker schema 2 manifests and manifest lists, and OCI indexes', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = random(500);
    const docker = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, digest: await pushBlob(t.url, 'docker', config), size: config.length },
      layers: [{ mediaType: MediaType.DockerLayer, digest: await pushBlob(t.url, 'docker', layer), size: layer.length }],
    };
    const m = await pushManifest(t.url, 'docker', 'amd64', docker);
    expect(m.res.status).toBe(201);
    const list = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ mediaType: MediaType.DockerManifest, digest: m.digest, size: m.content.length, platform: { architecture: 'amd64', os: 'linux' } }] };
    const l = await pushManifest(t.url, 'docker', 'latest', list);
    expect(l.res.status).toBe(201);
    const got = await fetch(`${t.url}/v2/docker/manifests/latest`);
    expect(got.headers.get('content-type')).toBe(MediaType.DockerManifestList);

    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.DockerManifest, digest: m.digest, size: m.content.length }] };
    expect((await pushManifest(t.url, 'docker', 'index', index)).res.status).toBe(201);
    // An index whose child is not in the repository is refused.
    const orphan = { ...index, manifests: [{ mediaType: MediaType.OciManifest, digest: sha('missing'), size: 7 }] };
    await expectError((await pushManifest(t.url, 'docker', 'orphan', orphan)).res, 404, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('refuses invalid manifests and stores nothing for them', async () => {
    const { manifest } = await pushImage(t.url, 'invalid');
    const before = await storageFiles(t.driver);
    const put = (body: Buffer | string, type: string, ref = 'bad') => fetch(`${t.url}/v2/invalid/manifests/${ref}`, { method: 'PUT', body, headers: { 'Content-Type': type } });
    const json = JSON.stringify(manifest);
    await expectError(await put(json, 'application/vnd.unknown+json'), 400, 'MANIFEST_INVALID');
    await expectError(await put(JSON.stringify({ ...manifest, mediaType: 'application/x-nope' }), 'application/json'), 400, 'MANIFEST_INVALID');
    await expectError(await put(json, MediaType.DockerManifest), 400, 'MANIFEST_INVALID');
    await expectError(await put('{not json', MediaType.OciManifest), 400, 'MANIFEST_INVALID');
    await expectError(await put(JSON.stringify({ ...manifest, schemaVersion: 1 }), MediaType.OciManifest), 400, 'MANIFEST_INVALID');
    await expectError(await put(json, MediaType.OciManifest, sha('other content')), 400, 'DIGEST_INVALID');
    const missingLayer = { ...manifest, layers: [{ mediaType: MediaType.OciLayerGzip, digest: sha('not pushed'), size: 10 }] };
    const missing = await put(JSON.stringify(missingLayer), MediaType.OciManifest);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errors: [expect.objectContaining({ code: 'MANIFEST_BLOB_UNKNOWN', detail: expect.objectContaining({ digest: sha('not pushed') }) })] });
    // Oversized: 413 with MANIFEST_INVALID, checked before reading (Content-Length) and while reading.
    const big = JSON.stringify({ ...manifest, annotations: { pad: 'x'.repeat(70 * 1024) } });
    await expectError(await put(big, MediaType.OciManifest), 413, 'MANIFEST_INVALID');
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(Buffer.from(big));
        c.close();
      },
    });
    const res = await fetch(`${t.url}/v2/invalid/manifests/big`, { method: 'PUT', body: chunked, duplex: 'half', headers: { 'Content-Type': MediaType.OciManifest } } as RequestInit);
    await expectError(res, 413, 'MANIFEST_INVALID');
    expect(await storageFiles(t.driver)).toEqual(before);
    await expectError(await fetch(`${t.url}/v2/invalid/manifests/bad`), 404, 'MANIFEST_UNKNOWN');
  });

  it('indexes referrers: OCI-Subject on push, artifactType filter, dangling subjects, empty answers', async () => {
    const repo = 'refs/app';
    const { manifest } = await pushImage(t.url, repo);
    const subject = await pushManifest(t.url, repo, 'v1', manifest);
    const subjectDescriptor = { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.content.length };
    const empty = Buffer.from('{}');
    const emptyDigest = await pushBlob(t.url, repo, empty);
    const sbomLayer = Buffer.from('{"sbom":true}');
    const sbomDigest = await pushBlob(t.url, repo, sbomLayer);

    const sbom = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: MediaType.OciEmpty, digest: emptyDigest, size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: sbomDigest, size: sbomLayer.length }],
      subject: subjectDescriptor,
      annotations: { 'org.example': 'sbom' },
    };
    const signature = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: 'application/vnd.example.signature.config', digest: emptyDigest, size: 2 },
      layers: [],
      subject: subjectDescriptor,
    };
    const signatureIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, artifactType: 'application/vnd.example.bundle', manifests: [], subject: subjectDescriptor };
    const pushed = [];
    for (const m of [sbom, signature, signatureIndex]) {
      const p = await pushManifest(t.url, repo, undefined, m);
      expect(p.res.status).toBe(201);
      expect(p.res.headers.get('oci-subject')).toBe(subject.digest);
      pushed.push(p);
    }

    const res = await fetch(`${t.url}/v2/${repo}/referrers/${subject.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(MediaType.OciIndex);
    expect(res.headers.get('oci-filters-applied')).toBeNull();
    const index = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: Record<string, unknown>[] };
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MediaType.OciIndex);
    expect(index.manifests).toHaveLength(3);
    expect(index.manifests).toEqual(
      expect.arrayContaining([
        { mediaType: MediaType.OciManifest, digest: pushed[0]!.digest, size: pushed[0]!.content.length, artifactType: 'application/vnd.example.sbom', annotations: { 'org.example': 'sbom' } },
        { mediaType: MediaType.OciManifest, digest: pushed[1]!.digest, size: pushed[1]!.content.length, artifactType: 'application/vnd.example.signature.config' },
        { mediaType: MediaType.OciIndex, digest: pushed[2]!.digest, size: pushed[2]!.content.length, artifactType: 'application/vnd.example.bundle' },
      ]),
    );

    const filtered = await fetch(`${t.url}/v2/${repo}/referrers/${subject.digest}?artifactType=${encodeURIComponent('application/vnd.example.sbom')}`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toHaveLength(1);

    // A subject that was never pushed is fine, and listed by its digest.
    const dangling = { ...signature, subject: { mediaType: MediaType.OciManifest, digest: sha('future'), size: 3 } };
    const d = await pushManifest(t.url, repo, undefined, dangling);
    expect(d.res.status).toBe(201);
    const byDangling = (await (await fetch(`${t.url}/v2/${repo}/referrers/${sha('future')}`)).json()) as { manifests: { digest: string }[] };
    expect(byDangling.manifests.map((m) => m.digest)).toEqual([d.digest]);

    const none = await fetch(`${t.url}/v2/${repo}/referrers/${sha('nothing refers to me')}`);
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    await expectError(await fetch(`${t.url}/v2/${repo}/referrers/sha256:short`), 400, 'DIGEST_INVALID');
  });
});
