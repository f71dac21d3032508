// One blob being downloaded from its origin, shared by everyone who wants it while it arrives.
// Each chunk from the origin is hashed, handed in memory to the readers that keep pace ("live":
// clients, the cache upload), and queued for a temporary file written in batches behind it. A
// reader whose consumer falls behind (its buffer is full) drops out and follows the file at its
// own pace, going live again once it catches up. The last few MiB received stay in memory too
// (the window): a reader a little behind (the common case: the origin is faster than the
// client's socket) is served from there without a file read, a buffer allocation or a trip to
// the thread pool; only readers further behind read the file. So one slow or vanished client
// never slows the origin read nor the others, memory is bounded (reader buffers, the window, the
// write queue, which pauses the origin when the disk lags), and nothing holds a whole blob. The
// file is unlinked right after it is opened: it disappears with the last open handle, even if
// the process dies.
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Digester, OciError, tryParseDigest, type Digest } from '@kuik/oci';
import { abandon } from '@kuik/oci/client';

export interface OriginStream {
  body: AsyncIterable<Buffer> & { on(event: 'error', fn: () => void): unknown; destroy(): unknown };
  /** Total size, when the origin declared it. */
  size?: number;
}

/** Opens the origin's stream; resolves once its headers are in. */
export type OpenOrigin = (signal: AbortSignal) => Promise<OriginStream>;

const READ_CHUNK = 1 << 20;
/** Most recent bytes kept in memory for readers slightly behind the origin. */
const WINDOW_BYTES = 8 << 20;
/** Bytes received but not yet in the file beyond which the origin read waits for the disk. */
const MAX_QUEUED = 16 << 20;
export const TEMP_PREFIX = 'kuik-dl-';

export class BlobDownload {
  /** Total size once the origin answered (undefined: it did not say). */
  size?: number;
  /** Bytes received from the origin (and handed to live readers). */
  received = 0;
  /** Bytes in the file (readable by readers that fell behind). */
  written = 0;
  /** Every byte is in the file and matched the digest. */
  finished = false;
  error?: Error;
  /** Resolves when the origin answered; rejects if it failed before that. */
  readonly ready: Promise<void>;
  /** Resolves when the whole blob is in and verified; rejects on any failure. */
  readonly completed: Promise<void>;

  private fh?: FileHandle;
  private originBody?: OriginStream['body'];
  private refs = 0;
  private running = false;
  private retired = false;
  private closing?: Promise<void>;
  /** Readers caught up with the origin, handed each new chunk directly. */
  private readonly live = new Set<FollowerStream>();
  /** Waiting for the file to grow (readers between `written` and `received`, the origin loop). */
  private fileWaiters: (() => void)[] = [];
  /** The most recent chunks, oldest first; windowStart is the offset of the first. */
  private window: Buffer[] = [];
  private windowStart = 0;
  private windowBytes = 0;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing?: Promise<void>;
  private writeError?: Error;
  private readonly aborter = new AbortController();
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private resolveCompleted!: () => void;
  private rejectCompleted!: (e: Error) => void;

  constructor(
    readonly digest: Digest,
    private readonly dataDir: string,
    private readonly openOrigin: OpenOrigin,
  ) {
    this.ready = new Promise((resolve, reject) => ((this.resolveReady = resolve), (this.rejectReady = reject)));
    this.completed = new Promise((resolve, reject) => ((this.resolveCompleted = resolve), (this.rejectCompleted = reject)));
    // Observed by whoever cares; never an unhandled rejection.
    this.ready.catch(() => undefined);
    this.completed.catch(() => undefined);
  }

  /** Starts the transfer. Whoever wants the bytes must hold a reference (acquire or a reader). */
  start(): this {
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
      this.maybeClose();
    });
    return this;
  }

  /**
   * Keeps the download alive (and the file open) until the returned function is called. With
   * no holder left, an unfinished download is aborted: nobody wants its bytes any more.
   */
  acquire(): () => void {
    this.refs++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  /** A stream of bytes [start, endExclusive) that follows the download as it arrives. */
  createReader(start = 0, endExclusive?: number): Readable {
    return new FollowerStream(this, start, endExclusive, this.acquire());
  }

  /** No new readers will be created: close the file once the current ones are done. */
  retire(): void {
    this.retired = true;
    this.maybeClose();
  }

  abort(reason: string): void {
    this.aborter.abort(new Error(reason));
    // The signal stops a request in flight; a body already streaming is stopped here.
    if (this.originBody) abandon(this.originBody);
  }

  /** A reader at the origin's position waits for the next chunk (or the end) here. */
  goLive(reader: FollowerStream): void {
    if (this.finished || this.error) reader.downloadEnded();
    else this.live.add(reader);
  }

  leaveLive(reader: FollowerStream): void {
    this.live.delete(reader);
  }

  /** Resolves when the file grows, or the download ends. */
  fileProgress(): Promise<void> {
    if (this.finished || this.error) return Promise.resolve();
    return new Promise((resolve) => this.fileWaiters.push(resolve));
  }

  /**
   * Bytes at `position` (at most `max`) from the in-memory window, without copying; undefined
   * when they have left it (read the file) or not arrived yet.
   */
  windowSlice(position: number, max: number): Buffer | undefined {
    if (position < this.windowStart || position >= this.received) return undefined;
    let at = this.windowStart;
    for (const chunk of this.window) {
      if (position < at + chunk.length) {
        const from = position - at;
        return chunk.subarray(from, Math.min(chunk.length, from + max));
      }
      at += chunk.length;
    }
    return undefined;
  }

  private remember(chunk: Buffer): void {
    this.window.push(chunk);
    this.windowBytes += chunk.length;
    while (this.windowBytes - this.window[0]!.length >= WINDOW_BYTES) {
      const old = this.window.shift()!;
      this.windowBytes -= old.length;
      this.windowStart += old.length;
    }
  }

  async readAt(buffer: Buffer, position: number): Promise<number> {
    if (!this.fh) throw new Error('download file is not open');
    const { bytesRead } = await this.fh.read(buffer, 0, buffer.length, position);
    return bytesRead;
  }

  private wakeFileWaiters(): void {
    const waiters = this.fileWaiters;
    this.fileWaiters = [];
    for (const w of waiters) w();
  }

  private release(): void {
    this.refs--;
    if (this.refs === 0 && !this.finished && !this.error) this.abort('no reader is left for this download');
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.refs > 0 || this.running || !this.retired || !this.fh || this.closing) return;
    this.window = [];
    this.windowBytes = 0;
    this.windowStart = this.received;
    this.closing = this.fh.close().catch(() => undefined);
  }

  /** Queues a chunk for the file; one write loop drains the queue in batches (writev). */
  private enqueue(chunk: Buffer): void {
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    this.writing ??= this.writeLoop().finally(() => (this.writing = undefined));
  }

  private async writeLoop(): Promise<void> {
    const fh = this.fh!;
    try {
      while (this.queue.length > 0) {
        let batch = this.queue;
        this.queue = [];
        let bytes = batch.reduce((n, b) => n + b.length, 0);
        while (bytes > 0) {
          const { bytesWritten } = await fh.writev(batch, this.written);
          this.written += bytesWritten;
          this.queuedBytes -= bytesWritten;
          bytes -= bytesWritten;
          if (bytes > 0) batch = skipBytes(batch, bytesWritten);
          this.wakeFileWaiters();
        }
      }
    } catch (err) {
      this.writeError = err as Error;
      this.wakeFileWaiters();
    }
  }

  private async run(): Promise<void> {
    const file = path.join(this.dataDir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
    let origin: OriginStream | undefined;
    try {
      this.fh = await open(file, 'w+', 0o600);
      await unlink(file);
      origin = await this.openOrigin(this.aborter.signal);
      this.originBody = origin.body;
      if (this.aborter.signal.aborted) throw this.aborter.signal.reason;
      this.size = origin.size;
      this.resolveReady();
      const digester = new Digester(tryParseDigest(this.digest)!.algorithm);
      for await (const chunk of origin.body) {
        if (this.size !== undefined && this.received + chunk.length > this.size) {
          throw new OciError('SIZE_INVALID', `origin sent more than the ${this.size} bytes it announced`);
        }
        digester.update(chunk);
        const at = this.received;
        this.remember(chunk);
        this.received += chunk.length;
        if (this.live.size > 0) for (const r of [...this.live]) r.offer(chunk, at);
        this.enqueue(chunk);
        // The disk is behind: stop reading the origin until it catches up.
        while (this.queuedBytes > MAX_QUEUED && !this.writeError) await this.fileProgress();
        if (this.writeError) throw this.writeError;
      }
      while (this.writing) await this.writing;
      if (this.writeError) throw this.writeError;
      if (this.size !== undefined && this.received !== this.size) {
        throw new OciError('SIZE_INVALID', `origin sent ${this.received} of the ${this.size} bytes it announced`);
      }
      const actual = digester.digest();
      if (actual !== this.digest) throw new OciError('DIGEST_INVALID', `origin content has digest ${actual}, not ${this.digest}`);
      this.finished = true;
      this.resolveCompleted();
    } catch (err) {
      if (origin) abandon(origin.body);
      this.error = this.aborter.signal.aborted ? (this.aborter.signal.reason as Error) : (err as Error);
      this.rejectReady(this.error);
      this.rejectCompleted(this.error);
    } finally {
      const live = [...this.live];
      this.live.clear();
      for (const r of live) r.downloadEnded();
      this.wakeFileWaiters();
    }
  }
}

function skipBytes(buffers: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (n >= b.length) n -= b.length;
    else {
      out.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return out;
}

/** Reads a download: live chunks while it keeps pace, the file otherwise. */
class FollowerStream extends Readable {
  private pumping = false;
  private readAgain = false;
  private isLive = false;

  constructor(
    private readonly download: BlobDownload,
    private position: number,
    private readonly endExclusive: number | undefined,
    private readonly releaseRef: () => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _read(): void {
    if (this.isLive) return;
    // A _read while the pump runs (push() can schedule one on the next tick, before the pump's
    // promise settles) must not be lost: the pump looks again when it stops.
    if (this.pumping) {
      this.readAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump();
  }

  /** A chunk just received at `at`, while we wait at or beyond the origin's position. */
  offer(chunk: Buffer, at: number): void {
    if (this.destroyed) return this.dropOut();
    // A reader that starts ahead (a Range) lets earlier chunks go by.
    if (at + chunk.length <= this.position) return;
    if (at > this.position) {
      // Cannot happen while live; if it did, the file will have what we missed.
      this.dropOut();
      this._read();
      return;
    }
    const end = this.endExclusive;
    let piece = at < this.position ? chunk.subarray(this.position - at) : chunk;
    if (end !== undefined && this.position + piece.length > end) piece = piece.subarray(0, end - this.position);
    this.position += piece.length;
    if (end !== undefined && this.position >= end) {
      this.dropOut();
      this.push(piece);
      this.push(null);
      return;
    }
    // A full buffer means the consumer is behind: the next _read resumes from the file.
    if (!this.push(piece)) this.dropOut();
  }

  /** The download finished or failed while we were live. */
  downloadEnded(): void {
    this.isLive = false;
    if (this.destroyed) return;
    const dl = this.download;
    if (dl.error) this.destroy(dl.error);
    else if (this.endExclusive === undefined || this.position >= this.endExclusive) this.push(null);
    else this.destroy(new OciError('RANGE_INVALID', 'range beyond the end of the blob'));
  }

  private dropOut(): void {
    this.isLive = false;
    this.download.leaveLive(this);
  }

  private async pump(): Promise<void> {
    try {
      await this.pumpOnce();
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.pumping = false;
    }
    if (this.readAgain && !this.isLive && !this.destroyed) {
      this.readAgain = false;
      this._read();
    }
  }

  private async pumpOnce(): Promise<void> {
    const dl = this.download;
    this.readAgain = false;
    for (;;) {
      if (this.destroyed) return;
      const end = this.endExclusive ?? (dl.finished ? dl.written : Infinity);
      if (this.position >= end) {
        this.push(null);
        return;
      }
      if (dl.error) throw dl.error;
      if (this.position >= dl.received) {
        if (dl.finished) throw new OciError('RANGE_INVALID', 'range beyond the end of the blob');
        // Caught up with the origin: the next chunks are handed over as they arrive.
        this.isLive = true;
        dl.goLive(this);
        return;
      }
      const recent = dl.windowSlice(this.position, end - this.position);
      if (recent) {
        this.position += recent.length;
        if (!this.push(recent)) return;
        continue;
      }
      if (this.position >= dl.written) {
        // Received but not in the file yet.
        await dl.fileProgress();
        continue;
      }
      const buffer = Buffer.allocUnsafe(Math.min(dl.written - this.position, READ_CHUNK, end - this.position));
      const n = await dl.readAt(buffer, this.position);
      if (this.destroyed) return;
      if (n === 0) throw new Error('download file ended early');
      this.position += n;
      if (!this.push(n === buffer.length ? buffer : buffer.subarray(0, n))) return;
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.dropOut();
    this.releaseRef();
    callback(err);
  }
}
