// Test images built in-process: real tar layers (containerd must be able to unpack them), OCI
// configs with matching diff_ids, manifests and indexes; large layers are generated as
// deterministic streams (AES-CTR keystream) so a 2 GiB blob never sits in memory. Pushed to a
// registry with the kuik client itself.
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { digestOf, MediaType, type Digest } from '@kuik/oci';
import type { Manifest, RegistryClient } from '@kuik/oci/client';

export interface TestBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  /** Digest of the uncompressed tar (config diff_ids). */
  diffId: Digest;
  open(): Readable;
}

export interface TestImage {
  manifest: Manifest;
  config: TestBlob;
  layers: TestBlob[];
  platform: { os: string; architecture: string };
}

export interface TestIndex {
  manifest: Manifest;
  images: TestImage[];
}

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii');
  const octal = (n: number, offset: number, length: number) => field(n.toString(8).padStart(length - 1, '0') + '\0', offset, length);
  field(name, 0, 100);
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(1_700_000_000, 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  field(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

const pad = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/** A small layer: a gzipped tar of the given files, held in memory. */
export function smallLayer(files: Record<string, string | Buffer>): TestBlob {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    parts.push(tarHeader(name, data.length), data, pad(data.length));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  const gz = gzipSync(tar);
  return memoryBlob(gz, MediaType.OciLayerGzip, digestOf(tar));
}

export function memoryBlob(content: Buffer, mediaType: string, diffId?: Digest): TestBlob {
  const digest = digestOf(content);
  return { digest, size: content.length, mediaType, diffId: diffId ?? digest, open: () => Readable.from([content]) };
}

/** Pseudo-random bytes, the same for the same seed, at memory speed. */
function keystream(seed: string, length: number): Readable {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  let left = length;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n)));
    },
  });
}

/** A large uncompressed tar layer holding one file of `size` random bytes, streamed on demand. */
export async function largeLayer(seed: string, size: number): Promise<TestBlob> {
  const name = `data-${seed.replace(/[^a-z0-9]/gi, '')}.bin`;
  const open = () =>
    Readable.from(
      (async function* () {
        yield tarHeader(name, size);
        yield* keystream(seed, size);
        yield Buffer.concat([pad(size), Buffer.alloc(1024)]);
      })(),
    );
  const hash = createHash('sha256');
  let total = 0;
  for await (const chunk of open()) {
    hash.update(chunk as Buffer);
    total += (chunk as Buffer).length;
  }
  const digest = `sha256:${hash.digest('hex')}` as Digest;
  return { digest, size: total, mediaType: MediaType.OciLayer, diffId: digest, open };
}

export function makeImage(layers: TestBlob[], platform = { os: 'linux', architecture: 'amd64' }, label = ''): TestImage {
  const configDoc = {
    architecture: platform.architecture,
    os: platform.os,
    config: { Cmd: ['/bin/true'], Labels: { 'kuik.test': label } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created_by: 'kuik test' })),
  };
  const config = memoryBlob(Buffer.from(JSON.stringify(configDoc)), MediaType.OciConfig);
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const content = Buffer.from(JSON.stringify(doc));
  return { manifest: { content, digest: digestOf(content), mediaType: MediaType.OciManifest, size: content.length }, config, layers, platform };
}

export function makeIndex(images: TestImage[]): TestIndex {
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: images.map((i) => ({ mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.size, platform: i.platform })),
  };
  const content = Buffer.from(JSON.stringify(doc));
  return { manifest: { content, digest: digestOf(content), mediaType: MediaType.OciIndex, size: content.length }, images };
}

export async function pushImage(client: RegistryClient, repository: string, image: TestImage, tag?: string): Promise<void> {
  for (const blob of [image.config, ...image.layers]) await client.pushBlob(repository, blob.digest, blob.size, () => blob.open());
  await client.putManifest(repository, image.manifest.digest, image.manifest.content, image.manifest.mediaType);
  if (tag) await client.putManifest(repository, tag, image.manifest.content, image.manifest.mediaType);
}

export async function pushIndex(client: RegistryClient, repository: string, index: TestIndex, tag?: string): Promise<void> {
  for (const image of index.images) await pushImage(client, repository, image);
  await client.putManifest(repository, index.manifest.digest, index.manifest.content, index.manifest.mediaType);
  if (tag) await client.putManifest(repository, tag, index.manifest.content, index.manifest.mediaType);
}

/** A repository name no other test uses (access-log counts stay per test). */
export function uniqueRepo(prefix: string): string {
  return `${prefix}/r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
