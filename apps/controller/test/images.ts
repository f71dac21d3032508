// Test images pushed straight into a registry with the distribution API (independent of the
// code under test): a two-platform index, or a single manifest, with small random layers.
import { createHash, randomBytes } from 'node:crypto';

export interface PushedImage {
  /** Digest of the root (the index, or the manifest). */
  digest: string;
  /** Digests of every manifest pushed (children first). */
  manifests: string[];
}

/** Extra request headers (an Authorization for a registry behind basic auth). */
type Auth = Record<string, string>;

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(base: string, repo: string, content: Buffer, auth: Auth = {}): Promise<{ digest: string; size: number }> {
  const digest = sha(content);
  const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers: auth });
  if (head.status === 200) return { digest, size: content.length };
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
  if (start.status !== 202) throw new Error(`upload start ${start.status}`);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: content, headers: { ...auth, 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob put ${put.status}: ${await put.text()}`);
  return { digest, size: content.length };
}

async function putManifest(base: string, repo: string, ref: string, body: unknown, mediaType: string, auth: Auth = {}): Promise<string> {
  const content = Buffer.from(JSON.stringify(body));
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: content, headers: { ...auth, 'Content-Type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest put ${res.status}: ${await res.text()}`);
  return sha(content);
}

async function pushPlatform(base: string, repo: string, arch: string, auth: Auth = {}): Promise<{ digest: string; size: number }> {
  const config = await pushBlob(base, repo, Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') })), auth);
  const layer = await pushBlob(base, repo, randomBytes(2048), auth);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  };
  const content = Buffer.from(JSON.stringify(manifest));
  const digest = await putManifest(base, repo, sha(content), manifest, manifest.mediaType, auth);
  return { digest, size: content.length };
}

/** Pushes a linux/amd64 + linux/arm64 index tagged `tag`. */
export async function pushMultiArch(base: string, repo: string, tag: string): Promise<PushedImage> {
  const amd = await pushPlatform(base, repo, 'amd64');
  const arm = await pushPlatform(base, repo, 'arm64');
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.digest, size: arm.size, platform: { os: 'linux', architecture: 'arm64' } },
    ],
  };
  const digest = await putManifest(base, repo, tag, index, index.mediaType);
  return { digest, manifests: [amd.digest, arm.digest, digest] };
}

/** Pushes a single-platform image, tagged `tag` when given (auth: headers for a registry that wants them). */
export async function pushSingle(base: string, repo: string, tag?: string, auth: Auth = {}): Promise<PushedImage> {
  const m = await pushPlatform(base, repo, 'amd64', auth);
  if (tag) {
    const got = await fetch(`${base}/v2/${repo}/manifests/${m.digest}`, { headers: { ...auth, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const body = Buffer.from(await got.arrayBuffer());
    await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body, headers: { ...auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  }
  return { digest: m.digest, manifests: [m.digest] };
}

/** HEAD of a manifest: its digest, or undefined on 404. */
export async function headManifest(base: string, repo: string, ref: string): Promise<string | undefined> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`HEAD ${repo}:${ref} → ${res.status}`);
  return res.headers.get('docker-content-digest') ?? undefined;
}
