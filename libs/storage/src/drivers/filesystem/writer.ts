// The filesystem writer. Every session writes a private file; nothing else ever writes to it:
//   <dir>/.<base>~session-<random>   this session's bytes (a reopen starts from the claimed data)
//   <dir>/.<base>~inprogress         the closed, uncommitted data any process can reopen
//   <dir>/<base>                     the committed object
// close() renames the session file to the in-progress name, commit() renames it over the key, and
// a reopen claims the in-progress file by renaming it to a new session name. rename() is atomic,
// so two processes sharing the directory each publish a complete file (the last rename wins) and
// two reopeners never append to one file: the second finds nothing to claim (PathNotFound).
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PathNotFoundError } from '../../errors.js';
import type { CallOptions, FileWriter } from '../../types.js';
import { errno, inDirectory, pruneEmpty, syncDir } from './fsops.js';
import { inProgressName, sessionName } from './names.js';

export interface WriterTarget {
  driver: string;
  key: string;
  file: string;
  root: string;
  sync: boolean;
}

export async function openFsWriter(t: WriterTarget, append: boolean, signal?: AbortSignal): Promise<FileWriter> {
  const dir = path.dirname(t.file);
  const base = path.basename(t.file);
  const inProgress = path.join(dir, inProgressName(base));
  const session = path.join(dir, sessionName(base));
  let fh: FileHandle;
  let claimed: number | undefined;
  if (append) {
    try {
      await rename(inProgress, session);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw new PathNotFoundError(t.driver, t.key, e);
      throw e;
    }
    try {
      fh = await open(session, 'r+');
      claimed = (await fh.stat()).size;
    } catch (e) {
      await rename(session, inProgress).catch(() => undefined); // hand the claimed data back
      throw e;
    }
  } else {
    fh = await inDirectory(dir, () => open(session, 'wx'));
    try {
      // A fresh start discards whatever was in progress at this path.
      await unlink(inProgress).catch(ignoreMissing);
    } catch (e) {
      await fh.close();
      await unlink(session).catch(() => undefined);
      throw e;
    }
  }
  return new FsWriter({ ...t, fh, session, inProgress, claimed, signal });
}

interface Session extends WriterTarget {
  fh: FileHandle;
  session: string;
  inProgress: string;
  /** Size of the reopened in-progress data, undefined for a fresh session. */
  claimed: number | undefined;
  signal: AbortSignal | undefined;
}

class FsWriter implements FileWriter {
  private readonly t: Session;
  private readonly fh: FileHandle;
  private written: number;
  private ended: Error | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly onAbort = () => void this.abort(this.t.signal?.reason);

  constructor(s: Session) {
    this.t = s;
    this.fh = s.fh;
    this.written = s.claimed ?? 0;
    s.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (s.signal?.aborted) void this.abort(s.signal.reason);
  }

  get size(): number {
    return this.written;
  }

  write(chunk: Uint8Array, o?: CallOptions): Promise<void> {
    // Writes are serialised so that each lands at the position its call order promised.
    const step = this.queue.then(async () => {
      this.usable(o);
      for (let done = 0; done < chunk.byteLength; ) {
        const { bytesWritten } = await this.fh.write(chunk, done, chunk.byteLength - done, this.written);
        done += bytesWritten;
        this.written += bytesWritten;
      }
      if (this.ended) throw this.ended; // aborted while the bytes were on their way
    });
    this.queue = step.catch(() => undefined);
    return step;
  }

  async close(o?: CallOptions): Promise<void> {
    await this.finish(o, 'closed', this.t.inProgress);
  }

  async commit(o?: CallOptions): Promise<void> {
    await this.finish(o, 'committed', this.t.file);
  }

  async cancel(o?: CallOptions): Promise<void> {
    await this.queue;
    this.usable(o);
    this.end('cancelled');
    await this.fh.close();
    await Promise.all([this.t.session, this.t.inProgress].map((f) => unlink(f).catch(ignoreMissing)));
    await pruneEmpty(path.dirname(this.t.file), this.t.root);
  }

  private async finish(o: CallOptions | undefined, how: string, target: string): Promise<void> {
    await this.queue;
    this.usable(o);
    this.end(how);
    try {
      if (this.t.sync) await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    try {
      await rename(this.t.session, target);
    } catch (e) {
      // Keep the bytes reachable (reopen or cancel) rather than orphaned under a session name.
      if (target !== this.t.inProgress) await rename(this.t.session, this.t.inProgress).catch(() => undefined);
      throw e;
    }
    if (this.t.sync) await syncDir(path.dirname(target));
  }

  private usable(o?: CallOptions): void {
    if (o?.signal?.aborted) void this.abort(o.signal.reason);
    if (this.ended) throw this.ended;
  }

  private end(how: string): void {
    this.ended = new Error(`${this.t.driver}: writer for ${this.t.key} already ${how}`);
    this.t.signal?.removeEventListener('abort', this.onAbort);
  }

  // Ends the session: the claimed data goes back, cut to its size at the last close; a fresh
  // session's file is removed. Errors are swallowed: there is no caller left to report them to.
  private async abort(reason: unknown): Promise<void> {
    if (this.ended) return;
    this.ended = reason instanceof Error && reason.name === 'AbortError' ? reason : new DOMException('The operation was aborted', 'AbortError');
    this.t.signal?.removeEventListener('abort', this.onAbort);
    await this.queue;
    try {
      if (this.t.claimed !== undefined) await this.fh.truncate(this.t.claimed);
    } catch {
      // keep going: releasing the handle matters more
    }
    await this.fh.close().catch(() => undefined);
    if (this.t.claimed !== undefined) await rename(this.t.session, this.t.inProgress).catch(() => undefined);
    else await unlink(this.t.session).catch(() => undefined);
    await pruneEmpty(path.dirname(this.t.file), this.t.root);
  }
}

function ignoreMissing(e: unknown): void {
  if (errno(e) !== 'ENOENT') throw e;
}
