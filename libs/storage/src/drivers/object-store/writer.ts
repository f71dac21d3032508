// What the object-store drivers' appending writers share: the in-memory buffer of bytes not yet in
// storage (at most one part or block), and the session rules of FileWriter — one call at a time,
// and any failure or abort ends the session. How bytes reach storage stays in each driver's writer.
import { StorageError } from '../../errors.js';
import type { CallOptions } from '../../types.js';
import { abortError, combineSignals } from './abort.js';

const INITIAL_BUFFER = 256 * 1024;

/** Bytes written but not yet uploaded, at most `capacity` (a part or block): a writer's memory. */
export class ChunkBuffer {
  private buf: Buffer;
  private len: number;

  /** initial: bytes to start with (a tail read back on reopen), at most capacity. */
  constructor(
    private readonly capacity: number,
    initial?: Buffer,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(initial?.length ?? 0, INITIAL_BUFFER));
    this.len = initial?.copy(this.buf) ?? 0;
  }

  get length(): number {
    return this.len;
  }

  /** The buffered bytes (a view: valid until the buffer changes). */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Appends chunk, calling flush whenever the buffer is full; flush must upload and clear() it. */
  async append(chunk: Uint8Array, flush: () => Promise<void>): Promise<void> {
    for (let off = 0; off < chunk.byteLength; ) {
      const n = Math.min(this.capacity - this.len, chunk.byteLength - off);
      this.reserve(this.len + n);
      this.buf.set(chunk.subarray(off, off + n), this.len);
      this.len += n;
      off += n;
      if (this.len === this.capacity) await flush();
    }
  }

  /** Empties the buffer once its bytes are in storage. */
  clear(): void {
    this.len = 0;
  }

  /** Drops the memory itself (the writer is done). */
  release(): void {
    this.buf = Buffer.alloc(0);
    this.len = 0;
  }

  /** Grows the buffer geometrically up to the capacity, so small writers stay small. */
  private reserve(needed: number): void {
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.min(this.capacity, Math.max(needed, this.buf.length * 2)));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }
}

/**
 * One call at a time; any failure or abort ends the session (what the last close() persisted, or
 * more, stays in progress for a reopen). Ending it releases the writer's buffer.
 */
export class WriterSession {
  private state: 'open' | 'done' | 'failed' = 'open';
  private busy = false;

  /** signal: the one given to writer(), which ends the whole session when aborted. */
  constructor(
    private readonly driver: string,
    private readonly path: string,
    private readonly signal: AbortSignal | undefined,
    private readonly buffer: ChunkBuffer,
  ) {}

  /** Runs one writer call; final: close, commit and cancel, after which the writer is done. */
  async run(options: CallOptions | undefined, final: boolean, body: (signal: AbortSignal | undefined) => Promise<void>): Promise<void> {
    const { driver, path } = this;
    const signal = combineSignals(this.signal, options?.signal);
    if (signal?.aborted) {
      this.end('failed');
      throw abortError(signal);
    }
    if (this.state !== 'open') {
      throw new StorageError('Unknown', driver, `${driver}: writer for ${path} ${this.state === 'done' ? 'is closed' : 'ended after a failure or an abort'}`, {
        path,
      });
    }
    if (this.busy) throw new StorageError('Unknown', driver, `${driver}: concurrent calls on one writer for ${path}`, { path });
    this.busy = true;
    try {
      await body(signal);
      if (final) this.end('done');
    } catch (err) {
      this.end('failed');
      throw err;
    } finally {
      this.busy = false;
    }
  }

  private end(state: 'done' | 'failed'): void {
    this.state = state;
    this.buffer.release();
  }
}
