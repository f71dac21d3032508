// Upload sessions, kept entirely in storage so that any replica can continue any upload:
// _uploads/<id>/startedat marks the session, _uploads/<id>/data is an in-progress (uncommitted)
// appending write that each request reopens. Completion verifies the digest — from the running
// hash when this process saw every byte, else by re-reading the stored bytes (the client is
// never trusted) — then moves the data into the blob store. A wrong digest discards the session.
import { DigestingStream, OciError, tryParseDigest, type AppendOptions, type BlobInfo, type Digest, type UploadState } from '@kuik/oci';
import { isStorageError, type FileWriter, type StorageDriver } from '@kuik/storage';
import { randomUUID } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from './blobs.js';
import type { HashCache } from './hash-cache.js';
import { isUploadId, layout } from './layout.js';
import { KeyedMutex } from './locks.js';
import { deleteIfExists, listOrEmpty, orIfMissing, WriterSink } from './storage-util.js';
import { DigestTap, LengthGuard } from './streams.js';

/** Work that must finish once started (commit, move, link) is not tied to the client's request. */
const COMMIT_TIMEOUT_MS = 10 * 60_000;

export interface UploadSessionInfo {
  repo: string;
  id: string;
  startedAt: Date | null;
}

export class UploadStore {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly hashes: HashCache,
  ) {}

  async start(repo: string, signal: AbortSignal): Promise<UploadState> {
    const id = randomUUID();
    await this.driver.putContent(layout.uploadStartedAt(repo, id), Buffer.from(new Date().toISOString()), { signal });
    // The in-progress file exists from the start, so every later request can reopen it to append.
    const writer = await this.driver.writer(layout.uploadData(repo, id), false, { signal });
    await writer.close({ signal });
    this.hashes.start(key(repo, id));
    return { id, size: 0 };
  }

  async status(repo: string, id: string, signal: AbortSignal): Promise<UploadState> {
    return this.locks.run(key(repo, id), async () => {
      const writer = await this.open(repo, id, signal);
      const size = writer.size;
      await writer.close({ signal });
      return { id, size };
    });
  }

  async append(repo: string, id: string, body: Readable, options: AppendOptions): Promise<UploadState> {
    return this.locks.run(key(repo, id), async () => {
      const writer = await this.open(repo, id, options.signal);
      try {
        checkOffset(writer, options.start);
        await this.copy(repo, id, writer, body, options);
      } finally {
        // What was written stays durable even when the body failed: the client can ask the
        // status and resume from there.
        await writer.close({ signal: AbortSignal.timeout(COMMIT_TIMEOUT_MS) }).catch(() => this.hashes.drop(key(repo, id)));
      }
      return { id, size: writer.size };
    });
  }

  async complete(repo: string, id: string, digest: Digest, body: Readable | undefined, options: AppendOptions): Promise<BlobInfo> {
    return this.locks.run(key(repo, id), async () => {
      const writer = await this.open(repo, id, options.signal);
      let committed = false;
      try {
        checkOffset(writer, options.start);
        if (body) await this.copy(repo, id, writer, body, options);
        await writer.commit({ signal: AbortSignal.timeout(COMMIT_TIMEOUT_MS) });
        committed = true;
      } finally {
        if (!committed) await writer.close({ signal: AbortSignal.timeout(COMMIT_TIMEOUT_MS) }).catch(() => this.hashes.drop(key(repo, id)));
      }
      const size = writer.size;
      const signal = AbortSignal.timeout(COMMIT_TIMEOUT_MS);
      const actual = await this.digestOf(repo, id, size, digest, signal);
      if (actual !== digest) {
        await this.discard(repo, id);
        throw new OciError('DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual });
      }
      await this.blobs.adopt(layout.uploadData(repo, id), digest, size, { signal });
      await this.blobs.link(repo, digest, { signal });
      await this.discard(repo, id, false);
      return { digest, size };
    });
  }

  async cancel(repo: string, id: string, signal: AbortSignal): Promise<void> {
    return this.locks.run(key(repo, id), async () => {
      await this.assertExists(repo, id, signal);
      await this.discard(repo, id);
    });
  }

  /** Every session of a repository, with its start time (null when unreadable). */
  async sessions(repo: string, signal: AbortSignal): Promise<UploadSessionInfo[]> {
    const out: UploadSessionInfo[] = [];
    for (const dir of await listOrEmpty(this.driver, layout.uploadsDir(repo), { signal })) {
      const id = layout.basename(dir);
      if (!isUploadId(id)) continue;
      const raw = await orIfMissing(() => this.driver.getContent(layout.uploadStartedAt(repo, id), { signal, maxBytes: 100 }), null);
      const time = raw ? new Date(raw.toString('utf8').trim()) : null;
      out.push({ repo, id, startedAt: time && !Number.isNaN(time.getTime()) ? time : null });
    }
    return out;
  }

  /** Drops a session and everything it wrote; `inProgress` also cancels the uncommitted data. */
  async discard(repo: string, id: string, inProgress = true): Promise<void> {
    const signal = AbortSignal.timeout(COMMIT_TIMEOUT_MS);
    this.hashes.drop(key(repo, id));
    if (inProgress) {
      // Some drivers keep in-progress data outside the path (multipart uploads): cancel frees it.
      const writer = await this.driver.writer(layout.uploadData(repo, id), true, { signal }).catch(() => null);
      if (writer) await writer.cancel({ signal }).catch(() => undefined);
    }
    await deleteIfExists(this.driver, layout.uploadDir(repo, id), { signal });
  }

  private async assertExists(repo: string, id: string, signal: AbortSignal): Promise<void> {
    if (!isUploadId(id)) throw unknownUpload(id);
    const found = await orIfMissing(async () => (await this.driver.stat(layout.uploadStartedAt(repo, id), { signal }), true), false);
    if (!found) throw unknownUpload(id);
  }

  private async open(repo: string, id: string, signal: AbortSignal): Promise<FileWriter> {
    await this.assertExists(repo, id, signal);
    try {
      return await this.driver.writer(layout.uploadData(repo, id), true, { signal });
    } catch (err) {
      if (isStorageError(err, 'PathNotFound')) throw unknownUpload(id);
      throw err;
    }
  }

  /** Streams the body into the writer, feeding the running hash when it is still in step. */
  private async copy(repo: string, id: string, writer: FileWriter, body: Readable, options: AppendOptions): Promise<void> {
    const k = key(repo, id);
    // A session still at byte 0 can be hashed from here even if another replica started it.
    const running = this.hashes.take(k, writer.size) ?? (writer.size === 0 ? this.hashes.start(k) : undefined);
    try {
      const sink = new WriterSink(writer, options.signal);
      const guard = new LengthGuard(options.length);
      if (running) await pipeline(body, guard, new DigestTap(running.digester), sink);
      else await pipeline(body, guard, sink);
    } catch (err) {
      this.hashes.drop(k);
      throw err;
    }
  }

  private async digestOf(repo: string, id: string, size: number, expected: Digest, signal: AbortSignal): Promise<Digest> {
    const algorithm = tryParseDigest(expected)!.algorithm;
    const running = this.hashes.take(key(repo, id), size);
    if (running && running.digester.algorithm === algorithm) return running.digester.digest();
    // Another replica (or an earlier process) received some of the bytes: hash what storage holds.
    const hasher = new DigestingStream({ algorithm });
    const reader = await this.driver.reader(layout.uploadData(repo, id), 0, { signal });
    await pipeline(reader, hasher, new Writable({ write: (_c, _e, done) => done() }));
    if (hasher.digester.size !== size) throw new OciError('BLOB_UPLOAD_INVALID', 'stored upload size changed while verifying');
    return hasher.digester.digest();
  }
}

function key(repo: string, id: string): string {
  return `${repo}\n${id}`;
}

function unknownUpload(id: string): OciError {
  return new OciError('BLOB_UPLOAD_UNKNOWN', undefined, { id: id.slice(0, 100) });
}

function checkOffset(writer: FileWriter, start: number | undefined): void {
  if (start !== undefined && start !== writer.size) {
    throw new OciError(
      'RANGE_INVALID',
      `chunk starts at ${start}, the upload holds ${writer.size} bytes`,
      { size: writer.size },
      { headers: { Range: `0-${Math.max(0, writer.size - 1)}` } },
    );
  }
}
