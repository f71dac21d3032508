// Server-side copies for move(): one CopyObject up to multipartcopythresholdsize, above it a
// multipart upload of UploadPartCopy ranges (multipartcopychunksize each, at most
// multipartcopymaxconcurrency in flight), which is faster for large blobs and the only way past
// CopyObject's 5 GiB limit. No byte passes through this process either way.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { StorageError } from '../../errors.js';
import { MAX_PARTS, S3 } from './config.js';
import type { S3Context } from './writer.js';

export async function copyObject(ctx: S3Context, srcKey: string, destKey: string, size: number, signal?: AbortSignal): Promise<void> {
  const { s3, cfg } = ctx;
  const CopySource = copySource(cfg.bucket, srcKey);
  if (size <= cfg.multipartCopyThreshold) {
    await s3.send(new CopyObjectCommand({ Bucket: cfg.bucket, Key: destKey, CopySource, ...ctx.objectOptions }), { abortSignal: signal });
    return;
  }

  const partSize = Math.max(cfg.multipartCopyChunkSize, Math.ceil(size / MAX_PARTS));
  const count = Math.ceil(size / partSize);
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: cfg.bucket, Key: destKey, ...ctx.objectOptions }), {
    abortSignal: signal,
  });
  const UploadId = created.UploadId;
  if (!UploadId) throw new StorageError('Unknown', S3, `${S3}: CreateMultipartUpload returned no upload id`);
  try {
    const etags: string[] = new Array<string>(count);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < count && !failed) {
        const i = next++;
        const start = i * partSize;
        const end = Math.min(size, start + partSize) - 1;
        const out = await s3.send(
          new UploadPartCopyCommand({
            Bucket: cfg.bucket,
            Key: destKey,
            UploadId,
            PartNumber: i + 1,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
          { abortSignal: signal },
        );
        const etag = out.CopyPartResult?.ETag;
        if (!etag) throw new StorageError('Unknown', S3, `${S3}: UploadPartCopy returned no ETag`);
        etags[i] = etag;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(cfg.multipartCopyMaxConcurrency, count) }, () =>
        worker().catch((err: unknown) => {
          failed = true; // the other workers stop taking parts
          throw err;
        }),
      ),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: cfg.bucket,
        Key: destKey,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    // Not under the caller's signal: an aborted move must not leave its upload behind.
    await s3.send(new AbortMultipartUploadCommand({ Bucket: cfg.bucket, Key: destKey, UploadId })).catch(() => undefined);
    throw err;
  }
}

/** "bucket/key", URL-encoded per segment as CopySource requires. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
