// The OCI client (libs/oci/src/client) against real registries: Debian's docker-registry (plain,
// TLS + basic auth, token auth) and the kuik registry. It lives here because the proxy is the
// project that owns the client and has the test servers wired; libs/oci keeps the pure unit specs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { copyImage, isRegistryClientError, RegistryClient, StaticCredentials } from '@kuik/oci/client';
import { digestOf, MediaType } from '@kuik/oci';
import { largeLayer, makeImage, makeIndex, memoryBlob, pushImage, pushIndex, smallLayer, uniqueRepo } from './support/images.js';
import { fetchBlob } from './support/proxy.js';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client as MinioClient } from 'minio';
import { repoRoot, requireServer } from '@kuik/testing';
import { KuikRegistry, startOrigin, type OriginRegistry } from './support/servers.js';
import { startTokenRegistry, type TokenRegistry } from './support/token-registry.js';

let origin: OriginRegistry;
let client: RegistryClient;
let registry: KuikRegistry;
let kuik: RegistryClient;

beforeAll(async () => {
  origin = startOrigin('proxy-origin');
  client = new RegistryClient({ host: origin.host, insecure: true });
  registry = await new KuikRegistry().start();
  kuik = new RegistryClient({ host: registry.host, scheme: 'http' });
});

afterAll(async () => {
  await registry?.kill();
  await Promise.all([client?.close(), kuik?.close()]);
});

describe('pull and push', () => {
  it('pushes monolithic and chunked, reads back with HEAD, GET and Range', async () => {
    const repo = uniqueRepo('client');
    const a = memoryBlob(Buffer.from('monolithic blob content'), MediaType.OciLayer);
    expect(await client.pushBlob(repo, a.digest, a.size, () => a.open())).toBe('uploaded');
    expect(await client.pushBlob(repo, a.digest, a.size, () => a.open())).toBe('exists');

    const big = Buffer.alloc(3 * 1024 * 1024 + 123, 7);
    const bigDigest = digestOf(big);
    const chunks = Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]);
    expect(await client.pushBlobChunked(repo, bigDigest, chunks, { chunkSize: 1 << 20 })).toBe('uploaded');
    expect(await client.statBlob(repo, bigDigest)).toEqual({ size: big.length });
    expect(await client.statBlob(repo, digestOf(Buffer.from('absent')))).toBeNull();

    const ranged = await client.getBlob(repo, bigDigest, { range: { start: 10, end: 19 } });
    expect(ranged.kind === 'content' && ranged.status).toBe(206);
    if (ranged.kind === 'content') {
      expect(ranged.range).toEqual({ start: 10, end: 19 });
      expect(ranged.size).toBe(big.length);
      expect(Buffer.from(await ranged.body.arrayBuffer())).toEqual(big.subarray(10, 20));
    }
    expect(await fetchBlob(client, repo, bigDigest)).toBe(big.length);

    // Cross-repository mount within one registry.
    const other = uniqueRepo('client-mount');
    expect(await client.mountBlob(other, a.digest, repo)).toBe(true);
    expect(await client.statBlob(other, a.digest)).toEqual({ size: a.size });
  });

  it('gets manifests verified against their digest, by tag and digest, and lists tags', async () => {
    const repo = uniqueRepo('client-m');
    const image = makeImage([smallLayer({ f: 'x' })]);
    await pushImage(client, repo, image, 'v1');
    await client.putManifest(repo, 'v2', image.manifest.content, image.manifest.mediaType);
    const byTag = await client.getManifest(repo, 'v1');
    expect(byTag).toMatchObject({ digest: image.manifest.digest, mediaType: MediaType.OciManifest, size: image.manifest.size });
    expect(byTag.content.equals(image.manifest.content)).toBe(true);
    expect(await client.headManifest(repo, image.manifest.digest)).toEqual({ digest: image.manifest.digest, mediaType: MediaType.OciManifest, size: image.manifest.size });
    expect(await client.headManifest(repo, 'nope')).toBeNull();
    expect((await client.listTags(repo)).sort()).toEqual(['v1', 'v2']);
    await expect(client.getManifest(repo, 'nope')).rejects.toMatchObject({ kind: 'http', status: 404, code: 'MANIFEST_UNKNOWN' });
  });

  it('refuses a manifest larger than the limit', async () => {
    const repo = uniqueRepo('client-big');
    const image = makeImage([smallLayer({ f: 'y' })]);
    await pushImage(client, repo, image, 'v1');
    const small = new RegistryClient({ host: origin.host, insecure: true, manifestMaxBytes: 100 });
    await expect(small.getManifest(repo, 'v1')).rejects.toMatchObject({ kind: 'size' });
    await small.close();
  });
});

describe('copyImage', () => {
  it('copies an index with every platform and blob, digests identical; a second copy skips everything', async () => {
    const repo = uniqueRepo('copy');
    const index = makeIndex([
      makeImage([smallLayer({ p: 'amd64' }), await largeLayer(`${repo}-shared`, 3 << 20)], { os: 'linux', architecture: 'amd64' }),
      makeImage([smallLayer({ p: 'arm64' }), await largeLayer(`${repo}-shared`, 3 << 20)], { os: 'linux', architecture: 'arm64' }),
    ]);
    await pushIndex(client, repo, index, 'v1');

    const dst = { client: kuik, repository: `mirror/${repo}` };
    const first = await copyImage({ client, repository: repo, reference: 'v1' }, dst, { allPlatforms: true });
    expect(first.digest).toBe(index.manifest.digest);
    expect(first.manifests).toBe(3);
    // The shared layer is copied once.
    expect(first.blobsCopied).toBe(5);
    expect((await kuik.getManifest(dst.repository, 'v1')).digest).toBe(index.manifest.digest);
    for (const img of index.images) expect((await kuik.getManifest(dst.repository, img.manifest.digest)).content.equals(img.manifest.content)).toBe(true);

    const second = await copyImage({ client, repository: repo, reference: 'v1' }, dst);
    expect(second).toMatchObject({ digest: index.manifest.digest, blobsCopied: 0 });

    // Within one registry, blobs are mounted rather than copied.
    const third = await copyImage({ client: kuik, repository: dst.repository, reference: 'v1' }, { client: kuik, repository: `again/${repo}` });
    expect(third.blobsCopied).toBe(0);
    expect(third.blobsMounted).toBe(5);

    // One platform only: the tag then names that platform's manifest.
    const one = await copyImage({ client, repository: repo, reference: 'v1' }, { client: kuik, repository: `one/${repo}` }, {
      allPlatforms: false,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(one.digest).toBe(index.images[1]!.manifest.digest);
  });
});

describe('authentication and TLS', () => {
  let secure: OriginRegistry;
  let ca: string;
  beforeAll(() => {
    secure = startOrigin('proxy-secure', ['--tls', '--htpasswd']);
    ca = readFileSync(secure.caFile!, 'utf8');
  });

  it('answers a Basic challenge with the resolved credentials, over TLS verified with a custom CA', async () => {
    const c = new RegistryClient({ host: secure.host, ca: [ca], credentials: new StaticCredentials({ [secure.host]: { username: secure.username!, password: secure.password! } }) });
    await c.ping();
    const repo = uniqueRepo('basic');
    const image = makeImage([smallLayer({ b: 'basic' })]);
    await pushImage(c, repo, image, 'v1');
    expect((await c.getManifest(repo, 'v1')).digest).toBe(image.manifest.digest);
    await c.close();

    const wrong = new RegistryClient({ host: secure.host, ca: [ca], credentials: new StaticCredentials({ [secure.host]: { username: 'kuik', password: 'wrong' } }) });
    await expect(wrong.getManifest(repo, 'v1')).rejects.toMatchObject({ kind: 'auth', status: 401 });
    await wrong.close();
  });

  it('fails certificate verification without the CA, and skips it for insecure hosts', async () => {
    const strict = new RegistryClient({ host: secure.host });
    const err = await strict.ping().catch((e: unknown) => e);
    expect(isRegistryClientError(err, 'network')).toBe(true);
    expect((err as Error).message).toMatch(/certificate|self.signed|UNABLE_TO/i);
    await strict.close();
    const insecure = new RegistryClient({ host: secure.host, insecure: true, credentials: new StaticCredentials({ [secure.host]: { username: secure.username!, password: secure.password! } }) });
    await insecure.ping();
    expect(await insecure.origin()).toBe(`https://${secure.host}`);
    await insecure.close();
  });
});

describe('bearer tokens', () => {
  let reg: TokenRegistry;
  beforeAll(async () => {
    reg = await startTokenRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('fetches a token per scope, caches it until expires_in, and pulls anonymously', async () => {
    const pusher = new RegistryClient({ host: reg.host, scheme: 'http', credentials: new StaticCredentials({ [reg.host]: { username: reg.username, password: reg.password } }) });
    const repo = uniqueRepo('token');
    const image = makeImage([smallLayer({ t: 'token' })]);
    await pushImage(pusher, repo, image, 'v1');
    expect(reg.tokenRequests.some((s) => s.includes(`repository:${repo}:pull,push`))).toBe(true);
    await pusher.close();

    reg.tokenRequests.length = 0;
    reg.expiresIn = 2;
    const anon = new RegistryClient({ host: reg.host, scheme: 'http' });
    for (let i = 0; i < 5; i++) expect((await anon.getManifest(repo, 'v1')).digest).toBe(image.manifest.digest);
    expect(reg.tokenRequests).toEqual([`repository:${repo}:pull`]);
    // Past expiry (minus the renewal margin), a new token is fetched up front.
    await new Promise((r) => setTimeout(r, 2000));
    await anon.getManifest(repo, 'v1');
    expect(reg.tokenRequests).toHaveLength(2);
    // An anonymous token does not grant push: the registry refuses, the client says so.
    await expect(anon.pushBlob(repo, image.config.digest, image.config.size, () => image.config.open(), { skipExisting: false })).rejects.toMatchObject({ kind: 'auth' });
    await anon.close();
  });

  it('reports bad credentials from the token server as an auth error', async () => {
    const bad = new RegistryClient({ host: reg.host, scheme: 'http', credentials: new StaticCredentials({ [reg.host]: { username: reg.username, password: 'nope' } }) });
    await expect(bad.getManifest('any/repo', 'v1')).rejects.toMatchObject({ kind: 'auth', status: 401 });
    await bad.close();
  });

  it('streams a blob GET and verifies it', async () => {
    const repo = uniqueRepo('token-blob');
    const pusher = new RegistryClient({ host: reg.host, scheme: 'http', credentials: new StaticCredentials({ [reg.host]: { username: reg.username, password: reg.password } }) });
    const layer = await largeLayer(`${repo}-l`, 2 << 20);
    await pusher.pushBlob(repo, layer.digest, layer.size, () => layer.open());
    const res = await pusher.getBlob(repo, layer.digest);
    if (res.kind !== 'content') throw new Error('redirect');
    const hash = createHash('sha256');
    for await (const chunk of res.body as AsyncIterable<Buffer>) hash.update(chunk);
    expect(`sha256:${hash.digest('hex')}`).toBe(layer.digest);
    await pusher.close();
  });
});

describe('redirects to object storage', () => {
  let reg: TokenRegistry;
  beforeAll(async () => {
    // Idempotent: starts the shared test MinIO when it is not running yet.
    execFileSync('bash', [path.join(repoRoot(), 'tools/test-servers/minio.sh'), 'start'], { stdio: 'ignore', timeout: 300_000 });
    const minio = requireServer('minio');
    const endpoint = new URL(minio['MINIO_ENDPOINT']!);
    const bucket = `kuik-proxy-redirect-${Date.now().toString(36)}`;
    const mc = new MinioClient({
      endPoint: endpoint.hostname,
      port: Number(endpoint.port),
      useSSL: false,
      accessKey: minio['MINIO_ACCESS_KEY']!,
      secretKey: minio['MINIO_SECRET_KEY']!,
      region: minio['MINIO_REGION']!,
    });
    await mc.makeBucket(bucket, minio['MINIO_REGION']!);
    reg = await startTokenRegistry({
      s3: { endpoint: endpoint.origin, accessKey: minio['MINIO_ACCESS_KEY']!, secretKey: minio['MINIO_SECRET_KEY']!, region: minio['MINIO_REGION']!, bucket },
    });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('follows a 307 to presigned storage without sending the registry token there', async () => {
    const c = new RegistryClient({ host: reg.host, scheme: 'http', credentials: new StaticCredentials({ [reg.host]: { username: reg.username, password: reg.password } }) });
    const repo = uniqueRepo('redirect');
    const layer = await largeLayer(`${repo}-l`, 1 << 20);
    await c.pushBlob(repo, layer.digest, layer.size, () => layer.open());
    // The registry really redirects elsewhere...
    const raw = await c.getBlob(repo, layer.digest, { redirect: 'external' });
    expect(raw.kind).toBe('redirect');
    if (raw.kind === 'redirect') expect(new URL(raw.location).host).not.toBe(reg.host);
    // ...and following it works: storage would refuse a request carrying both our bearer token and its signature.
    expect(await fetchBlob(c, repo, layer.digest)).toBe(layer.size);
    const ranged = await c.getBlob(repo, layer.digest, { range: { start: 0, end: 9 } });
    if (ranged.kind !== 'content') throw new Error('redirect');
    expect(ranged.status).toBe(206);
    await ranged.body.dump();
    await c.close();
  });
});
