// Appending writers over S3 multipart uploads, resumable by any process.
//
// State lives in the bucket only, so a writer closed (or crashed) in one process is continued by
// another with writer(path, append=true):
//   - the multipart upload for the key (found with ListMultipartUploads, exact key match; the most
//     recently initiated one wins) holds every full part, all >= 5 MiB, as S3 requires of every part
//     but the last;
//   - bytes that do not yet fill a part are buffered in memory, at most `chunksize` per writer (the
//     part size, 10 MiB by default): a writer's memory is bounded by chunksize however much is
//     written through it;
//   - close() persists that buffer: as one more part when it reaches 5 MiB, else (a "tail" too
//     small to be a non-last part, and the bytes of an in-progress upload cannot be read back) as
//     a small side object at layout.tailKey(key, uploadId), hidden from list/walk (keys.ts). The tail
//     records the part number its bytes belong at ("kuik-next-part" = last part + 1). A reopen loads
//     the tail into the buffer, and its bytes leave in the next part uploaded. Once a part with that
//     number exists the tail is stale and ignored, so a crash between that upload and the next
//     close() never counts the tail twice, and no step needs two writes to agree.
//   - commit() with an upload uploads the buffer as the last part (any size) and completes the
//     upload: the object appears atomically. When that last part is small, the tail is written
//     first with the same content and part number; if CompleteMultipartUpload then fails, a reopen
//     sees a small last part matching the tail, drops that part and takes the tail back into the
//     buffer (uploading the same part number later replaces it), so the upload stays appendable.
//   - content that never needed a part (no close(), under chunksize) is committed with one
//     PutObject, without any multipart upload.
// Nothing of an in-progress upload is visible at the path: the key only appears on completion.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { PathNotFoundError, StorageError } from '../../errors.js';
import type { CallOptions, FileWriter } from '../../types.js';
import { ChunkBuffer, WriterSession } from '../object-store/writer.js';
import { MAX_PARTS, MIN_PART_SIZE, S3, type S3Config } from './config.js';
import { isNotFound } from './errors.js';
import type { KeyLayout } from './keys.js';

/** What the writer shares with the driver. */
export interface S3Context {
  readonly cfg: S3Config;
  readonly s3: S3Client;
  readonly layout: KeyLayout;
  /** Storage class, encryption and ACL for every object (and multipart upload) created. */
  readonly objectOptions: Record<string, string>;
}

interface Part {
  PartNumber: number;
  ETag: string;
  Size: number;
}

const NEXT_PART_META = 'kuik-next-part';

export async function openWriter(ctx: S3Context, path: string, append: boolean, signal?: AbortSignal): Promise<FileWriter> {
  const key = ctx.layout.key(path);
  const uploads = await listUploads(ctx, key, signal);
  if (!append) {
    await Promise.all(uploads.map((u) => discardUpload(ctx, key, u.id, signal)));
    return new S3Writer(ctx, path, key, signal, { parts: [], tail: undefined, tailStored: false });
  }
  if (uploads.length === 0) throw new PathNotFoundError(S3, path);
  const latest = uploads.reduce((a, b) => (b.initiated > a.initiated ? b : a));
  const [parts, stored] = await Promise.all([listParts(ctx, key, latest.id, signal), readTail(ctx, key, latest.id, signal)]);
  const last = parts.at(-1);
  const next = last ? last.PartNumber + 1 : 1;
  let tail: Buffer | undefined;
  if (stored && stored.nextPart === next) {
    tail = stored.bytes;
  } else if (stored && last && stored.nextPart === last.PartNumber && last.Size === stored.bytes.length && last.Size < MIN_PART_SIZE) {
    // A commit uploaded this short last part but did not complete (see the header): take it back.
    parts.pop();
    tail = stored.bytes;
  }
  return new S3Writer(ctx, path, key, signal, { uploadId: latest.id, parts, tail, tailStored: stored !== undefined });
}

interface WriterState {
  uploadId?: string;
  parts: Part[];
  tail: Buffer | undefined;
  /** A tail object may exist for this upload (current or stale). */
  tailStored: boolean;
}

class S3Writer implements FileWriter {
  private uploadId: string | undefined;
  private readonly parts: Part[];
  private partsBytes: number;
  private readonly buffer: ChunkBuffer;
  private readonly session: WriterSession;
  private tailStored: boolean;
  /** Set when the upload ends with a short part nobody can read back: it can be committed, not extended. */
  private readonly sealed: string | undefined;

  constructor(
    private readonly ctx: S3Context,
    private readonly path: string,
    private readonly key: string,
    sessionSignal: AbortSignal | undefined,
    initial: WriterState,
  ) {
    this.uploadId = initial.uploadId;
    this.parts = initial.parts;
    this.partsBytes = initial.parts.reduce((n, p) => n + p.Size, 0);
    this.tailStored = initial.tailStored;
    this.buffer = new ChunkBuffer(ctx.cfg.chunkSize, initial.tail);
    this.session = new WriterSession(S3, path, sessionSignal, this.buffer);
    const last = initial.parts.at(-1);
    if (last && last.Size < MIN_PART_SIZE) {
      this.sealed = `${S3}: cannot append to ${path}: its upload ends with a ${last.Size}-byte part whose bytes cannot be read back`;
    }
  }

  get size(): number {
    return this.partsBytes + this.buffer.length;
  }

  write(chunk: Uint8Array, options?: CallOptions): Promise<void> {
    return this.session.run(options, false, async (signal) => {
      if (this.sealed && chunk.byteLength > 0) throw new StorageError('Unknown', S3, this.sealed, { path: this.path });
      await this.buffer.append(chunk, () => this.uploadBuffer(signal));
    });
  }

  close(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      await this.ensureUpload(signal);
      if (this.buffer.length >= MIN_PART_SIZE) await this.uploadBuffer(signal);
      if (this.buffer.length > 0) await this.putTail(signal);
      else if (this.tailStored) await this.deleteTail(signal); // stale: harmless, but keep the bucket tidy
    });
  }

  commit(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      const { s3, cfg } = this.ctx;
      if (this.uploadId === undefined) {
        await s3.send(
          new PutObjectCommand({
            Bucket: cfg.bucket,
            Key: this.key,
            Body: this.buffer.bytes,
            ContentLength: this.buffer.length,
            ...this.ctx.objectOptions,
          }),
          { abortSignal: signal },
        );
        return;
      }
      if (this.buffer.length > 0 || this.parts.length === 0) {
        if (this.buffer.length < MIN_PART_SIZE) await this.putTail(signal); // makes a failed completion resumable
        await this.uploadBuffer(signal);
      }
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: cfg.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
        }),
        { abortSignal: signal },
      );
      // The upload is gone, so its tail can never be read again: a failed delete only leaves litter.
      if (this.tailStored) await this.deleteTail(signal).catch(() => undefined);
    });
  }

  cancel(options?: CallOptions): Promise<void> {
    return this.session.run(options, true, async (signal) => {
      // Every session at this key, including ones this writer never saw.
      const ids = new Set((await listUploads(this.ctx, this.key, signal)).map((u) => u.id));
      if (this.uploadId !== undefined) ids.add(this.uploadId);
      await Promise.all([...ids].map((id) => discardUpload(this.ctx, this.key, id, signal)));
    });
  }

  private nextPartNumber(): number {
    const last = this.parts.at(-1);
    return last ? last.PartNumber + 1 : 1;
  }

  private async ensureUpload(signal: AbortSignal | undefined): Promise<string> {
    if (this.uploadId !== undefined) return this.uploadId;
    const { s3, cfg } = this.ctx;
    const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: cfg.bucket, Key: this.key, ...this.ctx.objectOptions }), {
      abortSignal: signal,
    });
    if (!out.UploadId) throw new StorageError('Unknown', S3, `${S3}: CreateMultipartUpload returned no upload id`, { path: this.path });
    this.uploadId = out.UploadId;
    return out.UploadId;
  }

  /** Uploads the whole buffer as the next part and empties it. */
  private async uploadBuffer(signal: AbortSignal | undefined): Promise<void> {
    const uploadId = await this.ensureUpload(signal);
    const PartNumber = this.nextPartNumber();
    if (PartNumber > MAX_PARTS) {
      throw new StorageError('Unknown', S3, `${S3}: ${this.path} needs more than ${MAX_PARTS} parts: raise chunksize`, { path: this.path });
    }
    const { s3, cfg } = this.ctx;
    const out = await s3.send(
      new UploadPartCommand({
        Bucket: cfg.bucket,
        Key: this.key,
        UploadId: uploadId,
        PartNumber,
        Body: this.buffer.bytes,
        ContentLength: this.buffer.length,
      }),
      { abortSignal: signal },
    );
    if (!out.ETag) throw new StorageError('Unknown', S3, `${S3}: UploadPart returned no ETag`, { path: this.path });
    this.parts.push({ PartNumber, ETag: out.ETag, Size: this.buffer.length });
    this.partsBytes += this.buffer.length;
    this.buffer.clear();
  }

  private async putTail(signal: AbortSignal | undefined): Promise<void> {
    const uploadId = await this.ensureUpload(signal);
    const { s3, cfg, layout } = this.ctx;
    await s3.send(
      new PutObjectCommand({
        Bucket: cfg.bucket,
        Key: layout.tailKey(this.key, uploadId),
        Body: this.buffer.bytes,
        ContentLength: this.buffer.length,
        Metadata: { [NEXT_PART_META]: String(this.nextPartNumber()) },
        ...this.ctx.objectOptions,
      }),
      { abortSignal: signal },
    );
    this.tailStored = true;
  }

  private async deleteTail(signal: AbortSignal | undefined): Promise<void> {
    if (this.uploadId === undefined) return;
    const { s3, cfg, layout } = this.ctx;
    await s3.send(new DeleteObjectCommand({ Bucket: cfg.bucket, Key: layout.tailKey(this.key, this.uploadId) }), { abortSignal: signal });
    this.tailStored = false;
  }
}

interface UploadRef {
  id: string;
  initiated: number;
}

/** In-progress multipart uploads of exactly this key. */
async function listUploads(ctx: S3Context, key: string, signal?: AbortSignal): Promise<UploadRef[]> {
  const out: UploadRef[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.s3.send(
      new ListMultipartUploadsCommand({ Bucket: ctx.cfg.bucket, Prefix: key, KeyMarker, UploadIdMarker }),
      { abortSignal: signal },
    );
    let past = false;
    for (const u of page.Uploads ?? []) {
      if (u.Key === key && u.UploadId) out.push({ id: u.UploadId, initiated: u.Initiated?.getTime() ?? 0 });
      // Uploads are listed by key and the exact key sorts first among those it prefixes.
      else if (u.Key !== undefined && u.Key > key) past = true;
    }
    if (past || !page.IsTruncated) return out;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}

async function listParts(ctx: S3Context, key: string, uploadId: string, signal?: AbortSignal): Promise<Part[]> {
  const parts: Part[] = [];
  let PartNumberMarker: string | undefined;
  for (;;) {
    const page = await ctx.s3.send(
      new ListPartsCommand({ Bucket: ctx.cfg.bucket, Key: key, UploadId: uploadId, PartNumberMarker }),
      { abortSignal: signal },
    );
    for (const p of page.Parts ?? []) {
      if (p.PartNumber !== undefined && p.ETag !== undefined) parts.push({ PartNumber: p.PartNumber, ETag: p.ETag, Size: p.Size ?? 0 });
    }
    if (!page.IsTruncated) break;
    PartNumberMarker = page.NextPartNumberMarker;
  }
  parts.sort((a, b) => a.PartNumber - b.PartNumber);
  // Parts are numbered 1, 2, 3, ... by this writer; a gap would mean foreign parts we cannot order.
  parts.forEach((p, i) => {
    if (p.PartNumber !== i + 1) {
      throw new StorageError('Unknown', S3, `${S3}: upload of ${key} has a gap before part ${p.PartNumber}: not written by this driver`);
    }
  });
  return parts;
}

async function readTail(ctx: S3Context, key: string, uploadId: string, signal?: AbortSignal): Promise<{ bytes: Buffer; nextPart: number } | undefined> {
  try {
    const out = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.cfg.bucket, Key: ctx.layout.tailKey(key, uploadId) }), {
      abortSignal: signal,
    });
    const chunks: Buffer[] = [];
    for await (const c of out.Body as Readable) chunks.push(c as Buffer);
    const nextPart = Number(out.Metadata?.[NEXT_PART_META]);
    return Number.isSafeInteger(nextPart) ? { bytes: Buffer.concat(chunks), nextPart } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function discardUpload(ctx: S3Context, key: string, uploadId: string, signal?: AbortSignal): Promise<void> {
  const { s3, cfg, layout } = ctx;
  try {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: cfg.bucket, Key: key, UploadId: uploadId }), { abortSignal: signal });
  } catch (err) {
    if (!isNotFound(err)) throw err; // already gone (completed or aborted by someone else)
  }
  await s3.send(new DeleteObjectCommand({ Bucket: cfg.bucket, Key: layout.tailKey(key, uploadId) }), { abortSignal: signal });
}
