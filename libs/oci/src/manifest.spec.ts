import { describe, expect, it } from '@jest/globals';
import { digestOf } from './digest.js';
import { manifestReferences, parseManifest, referrerDescriptor } from './manifest.js';
import { MediaType } from './media-types.js';

const d = (c: string) => digestOf(Buffer.from(c));
const desc = (mediaType: string, c: string, extra: object = {}) => ({ mediaType, digest: d(c), size: c.length, ...extra });
const bytes = (o: unknown) => Buffer.from(JSON.stringify(o));

const image = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: desc(MediaType.OciConfig, '{}'),
  layers: [desc(MediaType.OciLayerGzip, 'layer'), desc(MediaType.OciLayerNondistributableGzip, 'foreign', { urls: ['https://x/y'] })],
  annotations: { a: 'b' },
};

describe('parseManifest', () => {
  it('accepts the four manifest types and lists what they reference', () => {
    const m = parseManifest(bytes(image), MediaType.OciManifest);
    expect(m.mediaType).toBe(MediaType.OciManifest);
    const refs = manifestReferences(m);
    expect(refs.blobs.map((b) => b.digest)).toEqual([d('{}'), d('layer')]);
    expect(refs.manifests).toEqual([]);

    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [desc(MediaType.OciManifest, 'm', { platform: { os: 'linux', architecture: 'arm64' } })] };
    const mi = parseManifest(bytes(index), `${MediaType.OciIndex}; charset=utf-8`);
    expect(manifestReferences(mi).manifests.map((x) => x.digest)).toEqual([d('m')]);

    const docker = { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: desc(MediaType.DockerConfig, 'c'), layers: [desc(MediaType.DockerLayer, 'l')] };
    expect(parseManifest(bytes(docker), MediaType.DockerManifest).mediaType).toBe(MediaType.DockerManifest);
    const list = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [desc(MediaType.DockerManifest, 'x')] };
    expect(parseManifest(bytes(list), undefined).mediaType).toBe(MediaType.DockerManifestList);
  });

  it('infers OCI types from the shape when neither header nor field names one', () => {
    const { mediaType: _omit, ...noType } = image;
    expect(parseManifest(bytes(noType), '').mediaType).toBe(MediaType.OciManifest);
    expect(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), 'application/json').mediaType).toBe(MediaType.OciIndex);
    expect(parseManifest(bytes({ ...noType, layers: null }), MediaType.OciManifest).layers).toEqual([]);
  });

  it('reads subject and artifactType and builds the referrers descriptor', () => {
    const subject = desc(MediaType.OciManifest, 'subject');
    const artifact = { ...image, config: desc(MediaType.OciEmpty, '{}'), artifactType: 'application/vnd.example.sbom', subject };
    const content = bytes(artifact);
    const m = parseManifest(content, MediaType.OciManifest);
    expect(m.subject?.digest).toBe(subject.digest);
    expect(referrerDescriptor(m, digestOf(content), content.length)).toEqual({
      mediaType: MediaType.OciManifest,
      digest: digestOf(content),
      size: content.length,
      artifactType: 'application/vnd.example.sbom',
      annotations: { a: 'b' },
    });
    // Without artifactType, the config's media type types the artifact.
    const typedByConfig = parseManifest(bytes({ ...image, config: desc('application/vnd.example.config', 'c'), subject }), MediaType.OciManifest);
    expect(referrerDescriptor(typedByConfig, d('x'), 1).artifactType).toBe('application/vnd.example.config');
  });

  const bad: [string, unknown, string | undefined, RegExp][] = [
    ['not JSON', '{', MediaType.OciManifest, /not valid JSON/],
    ['an array', [], MediaType.OciManifest, /not a JSON object/],
    ['schema 1', { ...image, schemaVersion: 1 }, MediaType.OciManifest, /schemaVersion/],
    ['mismatched types', image, MediaType.DockerManifest, /does not match the mediaType field/],
    ['unknown content type', image, 'application/vnd.unknown+json', /unsupported manifest media type/],
    ['unknown mediaType field', { ...image, mediaType: 'application/x-foo' }, 'application/json', /unsupported manifest media type/],
    ['missing config', { ...image, config: undefined }, MediaType.OciManifest, /config must be a descriptor/],
    ['bad digest', { ...image, config: { ...image.config, digest: 'sha256:nope' } }, MediaType.OciManifest, /config.digest/],
    ['negative size', { ...image, layers: [{ ...image.layers[0], size: -1 }] }, MediaType.OciManifest, /layers\[0\].size/],
    ['bad media type', { ...image, layers: [{ ...image.layers[0], mediaType: 'nope' }] }, MediaType.OciManifest, /layers\[0\].mediaType/],
    ['bad annotations', { ...image, annotations: { a: 1 } }, MediaType.OciManifest, /annotations/],
    ['index of blobs', { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [image.config] }, undefined, /not a manifest type/],
    ['docker list without manifests', { schemaVersion: 2, mediaType: MediaType.DockerManifestList }, undefined, /manifests is required/],
  ];
  it.each(bad)('rejects %s with MANIFEST_INVALID', (_name, doc, ct, message) => {
    const content = typeof doc === 'string' ? Buffer.from(doc) : bytes(doc);
    expect(() => parseManifest(content, ct)).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID', message: expect.stringMatching(message) }));
  });
});
