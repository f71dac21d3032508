// A 1 GiB single-layer image (KUIK_TEST_LARGE_MIB to change the size) copied by skopeo from
// Debian's docker-registry into the registry (run from its bundle, filesystem storage) and out
// again, digests unchanged, while the registry process's resident memory is sampled: streaming
// must keep it flat, whatever the size of the blob.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { repoRoot } from '@kuik/testing';
import { fetchManifest, skopeoCopy } from './support/images.js';
import { rssBytes, run, sampleRss, startDockerRegistry, startRegistryProcess, tempDir, type DockerRegistry, type RegistryProcess } from './support/tools.js';

const MiB = 1 << 20;
const SIZE = Number(process.env['KUIK_TEST_LARGE_MIB'] ?? 1024) * MiB;
/** Allowed growth of the registry's RSS over its idle size while a blob streams through it. */
const FLAT_RSS_BYTES = 160 * MiB;
const TIMEOUT = 600_000;
// A dedicated docker-registry instance, stopped and emptied afterwards: its storage would
// otherwise keep a gigabyte per run.
const INSTANCE = 'registry-large';

let work: string;
let ours: RegistryProcess;
let origin: DockerRegistry;

/** Pseudo-random bytes at memory speed (AES-CTR keystream), never held in memory as a whole. */
function keystream(length: number): Readable {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let left = length;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
    },
  });
}

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

/** An OCI layout with one image, tagged `big`: one gzip layer (stored blocks: cheap to make) of SIZE random bytes. */
async function bigLayout(layout: string): Promise<{ layerDigest: string; layerSize: number }> {
  const blobs = path.join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const diffId = createHash('sha256');
  const digest = createHash('sha256');
  const tmp = path.join(blobs, 'layer.tmp');
  await pipeline(keystream(SIZE), hashing(diffId), createGzip({ level: 0 }), hashing(digest), createWriteStream(tmp));
  const layerHex = digest.digest('hex');
  const layerSize = statSync(tmp).size;
  renameSync(tmp, path.join(blobs, layerHex));
  const put = (content: object) => {
    const bytes = Buffer.from(JSON.stringify(content));
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const config = put({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${diffId.digest('hex')}`] } });
  const manifest = put({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${layerHex}`, size: layerSize }],
  });
  writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'big' } }] }),
  );
  return { layerDigest: `sha256:${layerHex}`, layerSize };
}

beforeAll(async () => {
  work = tempDir('large');
  origin = await startDockerRegistry(INSTANCE);
  ours = await startRegistryProcess(path.join(work, 'data'));
}, TIMEOUT);

afterAll(async () => {
  expect(await ours?.stop()).toBe(0);
  await run('bash', [path.join(repoRoot(), 'tools/test-servers/docker-registry.sh'), 'stop', INSTANCE]).catch(() => undefined);
  if (origin) rmSync(origin.storageDir, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
}, TIMEOUT);

it(
  `copies a ${SIZE / MiB} MiB single-layer image from docker-registry into the registry and back, digests unchanged, RSS flat`,
  async () => {
    const layout = path.join(work, 'layout');
    const { layerDigest, layerSize } = await bigLayout(layout);
    const repo = `large-${Date.now().toString(36)}/image`;
    await skopeoCopy(`oci:${layout}:big`, `docker://${origin.host}/${repo}:v1`);
    const source = await fetchManifest(origin.url, repo, 'v1');
    rmSync(layout, { recursive: true, force: true });

    // Push into ours, measuring its memory.
    const idle = rssBytes(ours.child.pid!);
    let sampler = sampleRss(ours.child.pid!);
    let t0 = Date.now();
    await skopeoCopy(`docker://${origin.host}/${repo}:v1`, `docker://${ours.host}/${repo}:v1`);
    const push = { ...sampler.stop(), ms: Date.now() - t0 };
    expect((await fetchManifest(ours.url, repo, 'v1')).digest).toBe(source.digest);
    const head = await fetch(`${ours.url}/v2/${repo}/blobs/${layerDigest}`, { method: 'HEAD' });
    expect({ status: head.status, length: head.headers.get('content-length') }).toEqual({ status: 200, length: String(layerSize) });

    // Pull out of ours into a layout (every byte downloaded and verified by skopeo), then back
    // into docker-registry.
    const pulled = path.join(work, 'pulled');
    sampler = sampleRss(ours.child.pid!);
    t0 = Date.now();
    await skopeoCopy(`docker://${ours.host}/${repo}:v1`, `oci:${pulled}:v1`);
    const pull = { ...sampler.stop(), ms: Date.now() - t0 };
    expect(statSync(path.join(pulled, 'blobs', 'sha256', layerDigest.slice('sha256:'.length))).size).toBe(layerSize);
    rmSync(pulled, { recursive: true, force: true });
    await skopeoCopy(`docker://${ours.host}/${repo}:v1`, `docker://${origin.host}/${repo}-back:v1`);
    expect((await fetchManifest(origin.url, `${repo}-back`, 'v1')).digest).toBe(source.digest);

    const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
    const rate = (ms: number) => `${(layerSize / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
    process.stderr.write(
      `[registry tests] ${mib(layerSize)} layer: registry RSS idle ${mib(idle)}, peak ${mib(push.peak)} while receiving (${push.samples} samples, ${rate(push.ms)} through skopeo), ` +
        `peak ${mib(pull.peak)} while serving (${pull.samples} samples, ${rate(pull.ms)})\n`,
    );
    expect(push.peak - idle).toBeLessThan(FLAT_RSS_BYTES);
    expect(pull.peak - idle).toBeLessThan(FLAT_RSS_BYTES);
  },
  TIMEOUT,
);
