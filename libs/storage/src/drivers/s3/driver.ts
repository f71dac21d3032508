// The s3 driver: AWS S3 and S3-compatible servers (MinIO). Paths map to keys under rootdirectory
// (keys.ts); writers are resumable multipart uploads (writer.ts); moves are server-side copies
// (copy.ts). Errors are left to the base wrapper (errors.ts) unless the meaning depends on the call.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { addAbortSignal, type Readable } from 'node:stream';
import { ContentTooLargeError, PathNotFoundError, StorageError } from '../../errors.js';
import type {
  CallOptions,
  FileInfo,
  FileWriter,
  GetContentOptions,
  ReadOptions,
  RedirectOptions,
  StorageDriver,
  WalkOptions,
} from '../../types.js';
import { listChildren, walkFiles, type ListingPage } from '../object-store/listing.js';
import { readRange } from '../object-store/range.js';
import type { S3Clients } from './client.js';
import { S3, type S3Config } from './config.js';
import { copyObject } from './copy.js';
import { errorName, httpStatus, isInvalidRange, isNotFound, mapS3Error } from './errors.js';
import { KeyLayout } from './keys.js';
import { openWriter, type S3Context } from './writer.js';

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

export class S3Driver implements StorageDriver {
  readonly name = S3;
  private readonly s3: S3Client;
  private readonly layout: KeyLayout;
  private readonly ctx: S3Context;

  constructor(
    private readonly cfg: S3Config,
    private readonly clients: S3Clients,
  ) {
    this.s3 = clients.s3;
    this.layout = new KeyLayout(cfg.rootPrefix);
    const objectOptions: Record<string, string> = {};
    if (cfg.storageClass) objectOptions['StorageClass'] = cfg.storageClass;
    if (cfg.objectAcl) objectOptions['ACL'] = cfg.objectAcl;
    if (cfg.encryption) Object.assign(objectOptions, cfg.encryption);
    this.ctx = { cfg, s3: this.s3, layout: this.layout, objectOptions };
  }

  async getContent(path: string, o?: GetContentOptions): Promise<Buffer> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.layout.key(path) }), {
      abortSignal: o?.signal,
    });
    const body = out.Body as Readable;
    if (o?.maxBytes !== undefined && (out.ContentLength ?? 0) > o.maxBytes) {
      body.destroy();
      throw new ContentTooLargeError(S3, path, o.maxBytes);
    }
    const chunks: Buffer[] = [];
    for await (const c of o?.signal ? addAbortSignal(o.signal, body) : body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async putContent(path: string, content: Uint8Array, o?: CallOptions): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.cfg.bucket,
        Key: this.layout.key(path),
        Body: content,
        ContentLength: content.byteLength,
        ...this.ctx.objectOptions,
      }),
      { abortSignal: o?.signal },
    );
  }

  reader(path: string, offset = 0, o?: ReadOptions): Promise<Readable> {
    const key = this.layout.key(path);
    const signal = o?.signal;
    const length = o?.length;
    // No Range for whole objects: "bytes=0-" is 416 on an empty object.
    const Range = offset > 0 || length !== undefined ? `bytes=${offset}-${length === undefined ? '' : offset + length - 1}` : undefined;
    return readRange(S3, path, offset, length, {
      open: async () => {
        const out = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key, Range }), { abortSignal: signal });
        const body = out.Body as Readable;
        // The SDK's own abort listener only covers the request; this one ends the body with an AbortError.
        return signal ? addAbortSignal(signal, body) : body;
      },
      size: () => this.objectSize(key, signal),
      isInvalidRange,
    });
  }

  writer(path: string, append: boolean, o?: CallOptions): Promise<FileWriter> {
    return openWriter(this.ctx, path, append, o?.signal);
  }

  async stat(path: string, o?: CallOptions): Promise<FileInfo> {
    if (path === '/') return { path, size: 0, modTime: new Date(), isDir: true };
    const key = this.layout.key(path);
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }), { abortSignal: o?.signal });
      return { path, size: head.ContentLength ?? 0, modTime: head.LastModified ?? new Date(), isDir: false };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Directories exist only through what they contain.
    const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: key + '/', MaxKeys: 1 }), {
      abortSignal: o?.signal,
    });
    const first = page.Contents?.[0];
    if (!first) throw new PathNotFoundError(S3, path);
    return { path, size: 0, modTime: first.LastModified ?? new Date(), isDir: true };
  }

  list(path: string, o?: CallOptions): Promise<string[]> {
    return listChildren(S3, this.layout, path, this.pages(this.layout.dirPrefix(path), { Delimiter: '/' }, o?.signal));
  }

  async move(sourcePath: string, destPath: string, o?: CallOptions): Promise<void> {
    const src = this.layout.key(sourcePath);
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: src }), { abortSignal: o?.signal });
    if (sourcePath === destPath) return;
    await copyObject(this.ctx, src, this.layout.key(destPath), head.ContentLength ?? 0, o?.signal);
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: src }), { abortSignal: o?.signal });
  }

  async delete(path: string, o?: CallOptions): Promise<void> {
    const key = this.layout.key(path);
    const signal = o?.signal;
    let batch: string[] = [];
    let found = 0;
    const flush = async (): Promise<void> => {
      const keys = batch;
      batch = [];
      found += keys.length;
      const out = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.cfg.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
        { abortSignal: signal },
      );
      const failed = out.Errors?.[0];
      if (failed) {
        const err = Object.assign(new Error(`${failed.Code}: ${failed.Message} (${failed.Key})`), { name: failed.Code, Code: failed.Code });
        throw mapS3Error(err, path) ?? err;
      }
    };
    if (await this.exists(key, signal)) batch.push(key);
    // Everything under the directory, whatever it is (including keys that are not valid paths).
    for await (const page of this.pages(key + '/', {}, signal)) {
      for (const obj of page.objects) {
        batch.push(obj.name);
        if (batch.length === DELETE_BATCH) await flush();
      }
    }
    if (batch.length) await flush();
    if (found === 0) throw new PathNotFoundError(S3, path);
  }

  async redirectURL(path: string, o?: RedirectOptions): Promise<string | null> {
    const input = { Bucket: this.cfg.bucket, Key: this.layout.key(path) };
    const command = o?.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return getSignedUrl(this.s3, command, { expiresIn: o?.expiresIn ?? 1200 });
  }

  walk(path: string, o?: WalkOptions): AsyncIterable<FileInfo> {
    return walkFiles(this.layout, path, o?.startAfter, (prefix, StartAfter) => this.pages(prefix, StartAfter ? { StartAfter } : {}, o?.signal));
  }

  async healthCheck(o?: CallOptions): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }), { abortSignal: o?.signal });
    } catch (err) {
      // HEAD responses carry no error code: say what a 404 means here.
      if (httpStatus(err) === 404 || errorName(err) === 'NoSuchBucket') {
        throw new StorageError('Unknown', S3, `${S3}: the bucket "${this.cfg.bucket}" does not exist (set createbucket: true to create it at start-up)`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    this.s3.destroy();
    this.clients.agents.http.destroy();
    this.clients.agents.https.destroy();
  }

  private async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }), { abortSignal: signal });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async objectSize(key: string, signal?: AbortSignal): Promise<number> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }), { abortSignal: signal });
    return head.ContentLength ?? 0;
  }

  /** ListObjectsV2 pages under a prefix (ContinuationToken pagination). */
  private async *pages(Prefix: string, extra: { Delimiter?: string; StartAfter?: string }, signal?: AbortSignal): AsyncGenerator<ListingPage> {
    let ContinuationToken: string | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix, ContinuationToken, ...extra }), {
        abortSignal: signal,
      });
      yield {
        objects: (page.Contents ?? []).flatMap((obj) =>
          obj.Key === undefined ? [] : [{ name: obj.Key, size: obj.Size ?? 0, modTime: obj.LastModified ?? new Date(0) }],
        ),
        prefixes: (page.CommonPrefixes ?? []).flatMap((cp) => (cp.Prefix === undefined ? [] : [cp.Prefix])),
      };
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }
}
