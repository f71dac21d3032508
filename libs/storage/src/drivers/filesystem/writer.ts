// The filesystem writer. Every session writes a private file; nothing else ever writes to it:
//   <dir>/.<base>~session-<random>   this session's bytes (a reopen starts from the claimed data)
//   <dir>/.<base>~inprogress         the closed, uncommitted data any process can reopen
//   <dir>/<base>                     the committed object
// close() renames the session file to the in-progress name, commit() renames it over the key, and
// a reopen claims the in-progress file by renaming it to a new session name. rename() is atomic,
// so two processes sharing the directory each publish a complete file (the last rename wins) and
// two reopeners never append to one file: only one rename of a given name succeeds.
//
// A process that dies with a session open (SIGKILL, a lost node) leaves the bytes under its private
// name, where no reopen would look. So an open session shows it is alive: the ctime of its file,
// which every write, the claiming rename and a heartbeat touch (every sessiontimeout/4, at most 5 s)
// update, stays younger than sessiontimeout while its writer lives. A reopen that finds nothing in
// progress looks at the sessions of the key: one changed within sessiontimeout belongs to a live
// writer (Transient: retry when it is done), an older one was abandoned and is claimed like the
// in-progress file, by one rename to a new session name (of several claimers one wins; the others
// find the name gone). Appending continues from the file's size.
//
// A writer that was only stalled (stopped process, overloaded node) may come back after its
// session was taken over: it must never touch that file again. It checks that its session name
// still leads to the file it holds open (same device and inode) at every heartbeat, before a
// write when its last check is older than a heartbeat (every check is followed by a touch, so no
// takeover can have happened since a more recent one), and before close, commit, cancel or abort
// publish, remove or cut anything; a lost session fails the writer, which renames nothing.
// Assumptions: the clocks of the nodes and of the file server (which sets ctime) agree to well
// within sessiontimeout, a process does not stall for sessiontimeout between a check and the call
// it guards, and the processes run as one user (setting a file's times needs its ownership). A
// takeover reads ctime through a fresh open, which NFS revalidates (close-to-open), so attribute
// caching cannot make a live session look old.
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PathNotFoundError, TransientError } from '../../errors.js';
import type { CallOptions, FileWriter } from '../../types.js';
import { errno, inDirectory, pruneEmpty, syncDir } from './fsops.js';
import { inProgressName, isSessionOf, sessionName } from './names.js';

export interface WriterTarget {
  driver: string;
  key: string;
  file: string;
  root: string;
  sync: boolean;
  /** Milliseconds a session file may stay untouched before a reopen takes it over. */
  sessionTimeout: number;
}

const MAX_HEARTBEAT_MS = 5_000;

export async function openFsWriter(t: WriterTarget, append: boolean, signal?: AbortSignal): Promise<FileWriter> {
  const dir = path.dirname(t.file);
  const base = path.basename(t.file);
  const inProgress = path.join(dir, inProgressName(base));
  const session = path.join(dir, sessionName(base));
  const openedAt = Date.now();
  let fh: FileHandle;
  let claimed: number | undefined;
  let identity: Identity;
  if (append) {
    await claim(t, inProgress, session);
    let opened: FileHandle | undefined;
    try {
      opened = await open(session, 'r+');
      const s = await opened.stat({ bigint: true });
      claimed = Number(s.size);
      identity = { dev: s.dev, ino: s.ino };
      // POSIX lets rename() leave ctime alone: the claimed file must look alive from here on.
      const now = new Date();
      await opened.utimes(now, now);
      fh = opened;
    } catch (e) {
      await opened?.close().catch(() => undefined);
      await rename(session, inProgress).catch(() => undefined); // hand the claimed data back
      throw e;
    }
  } else {
    fh = await inDirectory(dir, () => open(session, 'wx'));
    try {
      const s = await fh.stat({ bigint: true });
      identity = { dev: s.dev, ino: s.ino };
      // A fresh start discards whatever was in progress at this path.
      await unlink(inProgress).catch(ignoreMissing);
    } catch (e) {
      await fh.close();
      await unlink(session).catch(() => undefined);
      throw e;
    }
  }
  return new FsWriter({ ...t, fh, session, inProgress, claimed, identity, openedAt, signal });
}

/**
 * Renames the data to append to (the in-progress file, else an abandoned session) to `session`.
 * Nothing at all to append to is PathNotFound; a live writer's session is Transient.
 */
async function claim(t: WriterTarget, inProgress: string, session: string): Promise<void> {
  if (await renamed(inProgress, session)) return;
  const abandoned = await newestSession(t, path.dirname(session));
  if (abandoned === undefined) {
    // Its writer may have closed it between our rename and the listing.
    if (await renamed(inProgress, session)) return;
    throw new PathNotFoundError(t.driver, t.key);
  }
  const idle = Date.now() - abandoned.changed;
  if (idle < t.sessionTimeout) {
    const free = seconds(t.sessionTimeout - idle);
    throw new TransientError(
      t.driver,
      `${t.key} is being written by another writer (active ${seconds(Math.max(0, idle))} s ago); retry when it is done, or in ${free} s if that writer died (sessiontimeout ${seconds(t.sessionTimeout)} s)`,
      { path: t.key },
    );
  }
  if (!(await renamed(abandoned.file, session))) {
    throw new TransientError(t.driver, `${t.key}: another writer took over its abandoned session first; retry when it is done`, { path: t.key });
  }
}

/** rename(), false when the source is gone (another process renamed or removed it first). */
async function renamed(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (e) {
    if (missing(e)) return false;
    throw e;
  }
}

/** The most recently changed session file of the key, with its ctime in ms. */
async function newestSession(t: WriterTarget, dir: string): Promise<{ file: string; changed: number } | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (missing(e)) return undefined;
    throw e;
  }
  const base = path.basename(t.file);
  let newest: { file: string; changed: number } | undefined;
  for (const name of names.filter((n) => isSessionOf(base, n))) {
    const file = path.join(dir, name);
    let fh: FileHandle;
    try {
      // Opened, not stat()ed: NFS revalidates attributes on open, a cached ctime could be stale.
      fh = await open(file, 'r');
    } catch (e) {
      if (missing(e)) continue; // closed, committed or claimed meanwhile
      throw e;
    }
    try {
      const changed = (await fh.stat()).ctimeMs;
      if (newest === undefined || changed > newest.changed) newest = { file, changed };
    } finally {
      await fh.close();
    }
  }
  return newest;
}

interface Identity {
  dev: bigint;
  ino: bigint;
}

interface Session extends WriterTarget {
  fh: FileHandle;
  session: string;
  inProgress: string;
  /** Size of the reopened in-progress data, undefined for a fresh session. */
  claimed: number | undefined;
  /** The file this session holds open; the session name leads to it until a takeover. */
  identity: Identity;
  /** When the session was claimed or created (its file's ctime is no older). */
  openedAt: number;
  signal: AbortSignal | undefined;
}

class FsWriter implements FileWriter {
  private readonly t: Session;
  private readonly fh: FileHandle;
  private written: number;
  private ended: Error | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly onAbort = () => void this.abort(this.t.signal?.reason);
  private readonly beatMs: number;
  private readonly heartbeat: NodeJS.Timeout;
  /** When ownership was last confirmed (and the file touched right after). */
  private checkedAt: number;

  constructor(s: Session) {
    this.t = s;
    this.fh = s.fh;
    this.written = s.claimed ?? 0;
    this.checkedAt = s.openedAt;
    this.beatMs = Math.min(MAX_HEARTBEAT_MS, s.sessionTimeout / 4);
    // Through the queue, so that a lost session's handle is never closed under a write; unref'd, so
    // that an open writer does not keep the process alive.
    this.heartbeat = setInterval(() => {
      this.queue = this.queue.then(() => (this.ended ? undefined : this.keepAlive().catch(() => undefined)));
    }, this.beatMs).unref();
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
      // Only a stall longer than a heartbeat can have let another writer take the session over.
      if (Date.now() - this.checkedAt >= this.beatMs) await this.keepAlive();
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
    await this.ensureOwned();
    this.end(new Error(`${this.t.driver}: writer for ${this.t.key} already cancelled`));
    await this.fh.close();
    await Promise.all([this.t.session, this.t.inProgress].map((f) => unlink(f).catch(ignoreMissing)));
    await pruneEmpty(path.dirname(this.t.file), this.t.root);
  }

  private async finish(o: CallOptions | undefined, how: string, target: string): Promise<void> {
    await this.queue;
    this.usable(o);
    await this.ensureOwned();
    this.end(new Error(`${this.t.driver}: writer for ${this.t.key} already ${how}`));
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

  private end(reason: Error): void {
    this.ended = reason;
    clearInterval(this.heartbeat);
    this.t.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Confirms the session is still this writer's, then refreshes its ctime (see the header). */
  private async keepAlive(): Promise<void> {
    const at = Date.now();
    await this.ensureOwned();
    await this.fh.utimes(new Date(at), new Date(at));
    this.checkedAt = at;
  }

  /** Fails the writer, closing its handle and leaving every file alone, if its session was taken over. */
  private async ensureOwned(): Promise<void> {
    if (await this.owned()) return;
    const lost = new TransientError(
      this.t.driver,
      `the writer of ${this.t.key} lost its session: another process took it over (this writer left it untouched for more than sessiontimeout, ${seconds(this.t.sessionTimeout)} s) or removed it; nothing more was written`,
      { path: this.t.key },
    );
    this.end(lost);
    await this.fh.close().catch(() => undefined);
    throw lost;
  }

  /** Whether the session name still leads to the file this writer holds open. */
  private async owned(): Promise<boolean> {
    try {
      const s = await stat(this.t.session, { bigint: true });
      return s.dev === this.t.identity.dev && s.ino === this.t.identity.ino;
    } catch (e) {
      if (missing(e)) return false;
      throw e;
    }
  }

  // Ends the session: the claimed data goes back, cut to its size at the last close; a fresh
  // session's file is removed. Errors are swallowed: there is no caller left to report them to.
  private async abort(reason: unknown): Promise<void> {
    if (this.ended) return;
    this.end(reason instanceof Error && reason.name === 'AbortError' ? reason : new DOMException('The operation was aborted', 'AbortError'));
    await this.queue;
    // A session taken over (or one whose ownership cannot be told) is left to whoever holds it.
    if (!(await this.owned().catch(() => false))) {
      await this.fh.close().catch(() => undefined);
      return;
    }
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

function missing(e: unknown): boolean {
  return errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR';
}

function ignoreMissing(e: unknown): void {
  if (errno(e) !== 'ENOENT') throw e;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
