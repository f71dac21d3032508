// The s3 driver against the real MinIO (bash tools/test-servers/minio.sh start): the shared
// conformance suite, then what is specific to S3 — multipart resume across driver instances,
// presigned redirects, credentials, configuration errors, bucket creation, multipart copy.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { requireServer } from '@kuik/testing';
import { Client as MinioClient } from 'minio';
import { createHash, randomBytes } from 'node:crypto';
import { describeDriverConformance } from '../../conformance/index.js';
import { contentBytes, contentChunks, contentDigest, MiB, streamDigest } from '../../conformance/content.js';
import { expectRedirectsServe, writeAcrossRestarts } from '../../conformance/object-stores.js';
import { collect, expectStorageError, walkPaths } from '../../conformance/probes.js';
import { createDriver, type DriverParameters } from '../../factory.js';
import { isStorageError } from '../../errors.js';
import type { StorageDriver } from '../../types.js';
import { mapS3Error } from './errors.js';
import { KeyLayout } from './keys.js';
import '../index.js';

// Fails (never skips) with the command that starts MinIO when it is not running.
const env = requireServer('minio');
const endpoint = new URL(env['MINIO_ENDPOINT']);
const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const bucket = `kuik-s3-spec-${run}`;
const created: string[] = [bucket];

const minio = new MinioClient({
  endPoint: endpoint.hostname,
  port: Number(endpoint.port),
  useSSL: false,
  accessKey: env['MINIO_ACCESS_KEY'],
  secretKey: env['MINIO_SECRET_KEY'],
  region: env['MINIO_REGION'],
  pathStyle: true,
});

function params(extra: DriverParameters = {}): DriverParameters {
  return {
    regionendpoint: env['MINIO_ENDPOINT'],
    region: env['MINIO_REGION'],
    bucket,
    accesskey: env['MINIO_ACCESS_KEY'],
    secretkey: env['MINIO_SECRET_KEY'],
    ...extra,
  };
}

const sdk = new S3Client({
  endpoint: env['MINIO_ENDPOINT'],
  region: env['MINIO_REGION'],
  forcePathStyle: true,
  credentials: { accessKeyId: env['MINIO_ACCESS_KEY'], secretAccessKey: env['MINIO_SECRET_KEY'] },
});

async function removeBucket(name: string): Promise<void> {
  if (!(await minio.bucketExists(name))) return;
  const keys: string[] = [];
  for await (const o of minio.listObjectsV2(name, '', true) as AsyncIterable<{ name?: string }>) if (o.name) keys.push(o.name);
  for (let i = 0; i < keys.length; i += 1000) await minio.removeObjects(name, keys.slice(i, i + 1000));
  const uploads = await sdk.send(new ListMultipartUploadsCommand({ Bucket: name }));
  for (const u of uploads.Uploads ?? []) if (u.Key) await minio.removeIncompleteUpload(name, u.Key);
  await minio.removeBucket(name);
}

beforeAll(async () => {
  await minio.makeBucket(bucket, env['MINIO_REGION']);
});

afterAll(async () => {
  for (const b of created) await removeBucket(b).catch(() => undefined);
  sdk.destroy();
});

describeDriverConformance('s3 (MinIO)', () => createDriver('s3', params({ rootdirectory: '/conformance-root' })), {
  expectRedirect: true,
});

describe('s3 driver', () => {
  let d: StorageDriver;
  beforeAll(async () => {
    d = await createDriver('s3', params({ rootdirectory: 'specific' }));
  });
  afterAll(async () => {
    await d.close?.();
  });

  it('resumes a 40 MiB multipart upload across fresh driver instances (process restarts), sha256 intact', async () => {
    const p = `/resume-${run}/data`;
    const size = 40 * MiB + 12_345;
    // Session sizes around the 5 MiB minimum part and the 10 MiB default chunksize.
    await writeAcrossRestarts(d, () => createDriver('s3', params({ rootdirectory: 'specific' })), p, size, [7 * MiB, 1, 12 * MiB + 3, 4 * MiB, 2 * MiB + 99]);
    // Completed: no upload left in progress, no tail object left behind.
    const uploads = await sdk.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `specific/resume-${run}/` }));
    expect(uploads.Uploads ?? []).toEqual([]);
    const internal: string[] = [];
    for await (const o of minio.listObjectsV2(bucket, 'specific/~kuik/', true) as AsyncIterable<{ name?: string }>) internal.push(o.name ?? '');
    expect(internal).toEqual([]);
  }, 180_000);

  it('keeps every part but the last >= 5 MiB, and the short tail out of sight', async () => {
    const p = `/parts-${run}/data`;
    const w1 = await d.writer(p, false);
    await w1.write(contentBytes(5, 12 * MiB)); // one 10 MiB part, 2 MiB buffered
    await w1.close(); // 2 MiB < 5 MiB: kept as a tail object, not a part
    const key = `specific/parts-${run}/data`;
    const uploads = await sdk.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    expect(uploads.Uploads?.map((u) => u.Key)).toEqual([key]);
    const parts = await sdk.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploads.Uploads?.[0].UploadId }));
    expect(parts.Parts?.map((x) => x.Size)).toEqual([10 * MiB]);
    expect(await walkPaths(d, '/')).not.toContain(p);
    expect(await d.list('/')).not.toContain('/~kuik');
    const w2 = await d.writer(p, true);
    expect(w2.size).toBe(12 * MiB);
    await w2.cancel();
    expect((await sdk.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).toEqual([]);
    const internal: string[] = [];
    for await (const o of minio.listObjectsV2(bucket, 'specific/~kuik/', true) as AsyncIterable<{ name?: string }>) internal.push(o.name ?? '');
    expect(internal).toEqual([]);
  });

  it('recovers an upload whose commit uploaded a short last part but never completed', async () => {
    // The state a crash between UploadPart and CompleteMultipartUpload leaves (see writer.ts).
    const p = `/crashed-commit-${run}/data`;
    const key = `specific/crashed-commit-${run}/data`;
    const first = contentBytes(8, 6 * MiB);
    const w = await d.writer(p, false);
    await w.write(first);
    await w.close(); // part 1: 6 MiB
    const uploads = await sdk.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    const UploadId = uploads.Uploads?.[0].UploadId as string;
    const short = contentBytes(9, 1000);
    await sdk.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: new KeyLayout('specific/').tailKey(key, UploadId),
        Body: short,
        Metadata: { 'kuik-next-part': '2' },
      }),
    );
    await sdk.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: short }));

    const again = await d.writer(p, true);
    expect(again.size).toBe(6 * MiB + 1000);
    const more = contentBytes(10, 7 * MiB);
    await again.write(more);
    await again.commit();
    const want = createHash('sha256').update(first).update(short).update(more).digest('hex');
    expect(await streamDigest(await d.reader(p))).toEqual({ sha256: want, size: 13 * MiB + 1000 });
  }, 60_000);

  it('gives presigned GET and HEAD URLs on 127.0.0.1 that serve the right bytes', async () => {
    const { get } = await expectRedirectsServe(d, `/redirect-${run}/blob`, contentBytes(3, 300_001));
    expect(get.searchParams.get('X-Amz-Expires')).toBe('60');
  });

  it('moves large objects with multipart UploadPartCopy, byte for byte', async () => {
    const small = await createDriver('s3', params({ rootdirectory: 'specific', multipartcopythresholdsize: 5 * MiB, multipartcopychunksize: 5 * MiB }));
    try {
      const src = `/copy-${run}/src`;
      const dest = `/copy-${run}/dest`;
      const size = 12 * MiB + 7;
      const w = await small.writer(src, false);
      for (const c of contentChunks(4, size)) await w.write(c);
      await w.commit();
      await small.move(src, dest);
      await expectStorageError(small.stat(src), 'PathNotFound');
      expect(await streamDigest(await small.reader(dest))).toEqual(contentDigest(4, size));
    } finally {
      await small.close?.();
    }
  });

  it('refuses wrong credentials with a clear error that leaks no secret', async () => {
    const secret = 'not-the-right-secret-' + randomBytes(4).toString('hex');
    const bad = await createDriver('s3', params({ secretkey: secret }));
    try {
      const e = await expectStorageError(bad.getContent('/anything'), 'Unknown');
      expect(e.message).toMatch(/refused the credentials/);
      expect(e.message).toMatch(/accesskey and secretkey/);
      expect(e.message).not.toContain(secret);
      const h = await bad.healthCheck?.().catch((err: unknown) => err);
      expect(isStorageError(h, 'Unknown') && /refused the credentials/.test(h.message)).toBe(true);
    } finally {
      await bad.close?.();
    }
  });

  it('maps a refused connection to Transient (after the SDK’s bounded retries)', async () => {
    // A port on 127.0.0.1 that nothing listens on: MinIO's console port, disabled by MINIO_BROWSER=off.
    const closed = await createDriver('s3', params({ regionendpoint: `http://127.0.0.1:${env['MINIO_CONSOLE_PORT']}` }));
    try {
      await expectStorageError(closed.stat('/x'), 'Transient');
    } finally {
      await closed.close?.();
    }
  }, 30_000);

  it('rejects an s3:// bucket, naming the key and the fix', async () => {
    const e = await createDriver('s3', params({ bucket: 's3://mybucket' })).catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'DriverConfigError', key: 'bucket' });
    expect((e as Error).message).toContain('storage.s3.bucket');
    expect((e as Error).message).toContain('use bucket: mybucket');
  });

  it('rejects unknown and inconsistent parameters, naming the key', async () => {
    const cases: Array<[DriverParameters, string]> = [
      [{ bucketname: 'x' }, 'bucketname'],
      [{ secretkey: undefined }, 'secretkey'],
      [{ regionendpoint: undefined, region: undefined }, 'region'],
      [{ bucket: undefined }, 'bucket'],
      [{ chunksize: 1024 }, 'chunksize'],
      [{ keyid: 'k' }, 'keyid'],
      [{ storageclass: 'CHEAP' }, 'storageclass'],
      [{ forcepathstyle: 'yes' }, 'forcepathstyle'],
    ];
    for (const [extra, key] of cases) {
      const e = await createDriver('s3', params(extra)).catch((err: unknown) => err);
      expect({ key, e }).toMatchObject({ key, e: { name: 'DriverConfigError', key } });
    }
  });

  it('creates a missing bucket at start-up with createbucket: true, and health-checks it', async () => {
    const fresh = `kuik-s3-spec-new-${run}`;
    created.push(fresh);
    const without = await createDriver('s3', params({ bucket: fresh }));
    try {
      const e = await without.healthCheck?.().catch((err: unknown) => err);
      expect(isStorageError(e, 'Unknown') && e.message.includes(`"${fresh}" does not exist`)).toBe(true);
    } finally {
      await without.close?.();
    }
    const withCreate = await createDriver('s3', params({ bucket: fresh, createbucket: true, secure: false }));
    try {
      expect(await minio.bucketExists(fresh)).toBe(true);
      await withCreate.healthCheck?.();
      await withCreate.putContent('/x', Buffer.from('y'));
      expect((await withCreate.getContent('/x')).toString()).toBe('y');
      // Idempotent: a second replica starting finds it there.
      const second = await createDriver('s3', params({ bucket: fresh, createbucket: true }));
      await second.close?.();
    } finally {
      await withCreate.close?.();
    }
  });

  it('walks the whole bucket without the driver’s internal keys or foreign keys', async () => {
    const bare = await createDriver('s3', params({ bucket: `kuik-s3-spec-bare-${run}`, createbucket: true }));
    created.push(`kuik-s3-spec-bare-${run}`);
    try {
      const w = await bare.writer('/in/progress', false);
      await w.write(Buffer.from('tail'));
      await w.close();
      await bare.putContent('/a/b', Buffer.from('1'));
      await sdk.send(new PutObjectCommand({ Bucket: `kuik-s3-spec-bare-${run}`, Key: 'dir-marker/', Body: Buffer.alloc(0) }));
      expect((await collect(bare.walk('/'))).map((f) => f.path)).toEqual(['/a/b']);
      expect(await bare.list('/')).not.toContain('/~kuik');
      expect((await bare.writer('/in/progress', true)).size).toBe(4);
      // An empty multipart upload (created by close() with nothing written) commits to an empty object.
      const e = await bare.writer('/empty', false);
      await e.close();
      const e2 = await bare.writer('/empty', true);
      expect(e2.size).toBe(0);
      await e2.commit();
      expect((await bare.stat('/empty')).size).toBe(0);
    } finally {
      await bare.close?.();
    }
  });

  it('maps S3 and network failures onto the common error set', () => {
    const sdkError = (name: string, status?: number, extra: object = {}) =>
      Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });
    const cases: Array<[unknown, string | undefined]> = [
      [sdkError('NoSuchKey', 404), 'PathNotFound'],
      [sdkError('NotFound', 404), 'PathNotFound'],
      [sdkError('NoSuchUpload', 404), 'PathNotFound'],
      [sdkError('NoSuchBucket', 404), 'Unknown'],
      [sdkError('InvalidRange', 416), 'InvalidOffset'],
      [sdkError('SlowDown', 503), 'Transient'],
      [sdkError('InternalError', 500), 'Transient'],
      [sdkError('Whatever', 502), 'Transient'],
      [sdkError('TooManyRequests', 429), 'Transient'],
      [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'Transient'],
      [Object.assign(new Error('x'), { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) }), 'Transient'],
      [new AggregateError([Object.assign(new Error('c'), { code: 'ECONNREFUSED' })]), 'Transient'],
      [sdkError('AccessDenied', 403), 'Unknown'],
      [sdkError('InvalidAccessKeyId', 403), 'Unknown'],
      [sdkError('BadDigest', 400), undefined],
    ];
    for (const [err, code] of cases) {
      expect({ err: String(err), code: mapS3Error(err, '/p')?.code }).toEqual({ err: String(err), code });
    }
    expect(mapS3Error(sdkError('AccessDenied', 403), '/p')?.message).toMatch(/refused the credentials \(AccessDenied, HTTP 403\)/);
    expect(mapS3Error(sdkError('NoSuchBucket', 404, { BucketName: 'b1' }), '/p')?.message).toContain('"b1" does not exist');
  });
});
