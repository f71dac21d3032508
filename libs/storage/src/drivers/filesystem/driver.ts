// The filesystem driver: keys are files under rootdirectory. It is safe for several processes
// sharing the directory (an RWX volume): every write goes to a private file that a single rename()
// publishes, so no reader or concurrent writer ever sees a torn file. See writer.ts for uploads.
import { lstat, open, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ContentTooLargeError, InvalidOffsetError, InvalidPathError, PathNotFoundError } from '../../errors.js';
import type {
  CallOptions,
  FileInfo,
  FileWriter,
  GetContentOptions,
  ReadOptions,
  StorageDriver,
  WalkOptions,
} from '../../types.js';
import { FILESYSTEM, type FilesystemConfig } from './config.js';
import { errno, inDirectory, pruneEmpty, syncDir } from './fsops.js';
import { inProgressName, tempName, trashName } from './names.js';
import { sortedEntries, walkFiles } from './walk.js';
import { openFsWriter } from './writer.js';

const READ_CHUNK = 256 * 1024;

export class FilesystemDriver implements StorageDriver {
  readonly name = FILESYSTEM;
  private readonly root: string;
  private readonly sync: boolean;
  private readonly sessionTimeout: number;

  constructor(config: FilesystemConfig) {
    this.root = config.rootdirectory;
    this.sync = config.sync;
    this.sessionTimeout = config.sessiontimeout;
  }

  async getContent(key: string, o?: GetContentOptions): Promise<Buffer> {
    const fh = await open(this.file(key), 'r');
    try {
      // Committed files are never modified in place (only replaced by rename), so fstat's size holds.
      const s = await fh.stat();
      if (!s.isFile()) throw new PathNotFoundError(this.name, key);
      if (o?.maxBytes !== undefined && s.size > o.maxBytes) throw new ContentTooLargeError(this.name, key, o.maxBytes);
      return await fh.readFile({ signal: o?.signal });
    } finally {
      await fh.close();
    }
  }

  async putContent(key: string, content: Uint8Array, o?: CallOptions): Promise<void> {
    const file = this.file(key);
    const dir = path.dirname(file);
    const temp = path.join(dir, tempName(path.basename(file)));
    const fh = await inDirectory(dir, () => open(temp, 'wx'));
    try {
      try {
        await writeFile(fh, content, { signal: o?.signal });
        if (this.sync) await fh.sync();
      } finally {
        await fh.close();
      }
      o?.signal?.throwIfAborted();
      await rename(temp, file);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      await pruneEmpty(dir, this.root);
      throw e;
    }
    if (this.sync) await syncDir(dir);
  }

  async reader(key: string, offset = 0, o?: ReadOptions): Promise<Readable> {
    const fh = await open(this.file(key), 'r');
    try {
      const s = await fh.stat();
      if (!s.isFile()) throw new PathNotFoundError(this.name, key);
      if (offset > s.size) throw new InvalidOffsetError(this.name, key, offset);
      const end = o?.length === undefined ? s.size : Math.min(s.size, offset + o.length);
      if (end <= offset) {
        await fh.close();
        return Readable.from([]);
      }
      // The stream owns the handle from here: it closes it at the end, on error and on abort.
      return fh.createReadStream({ start: offset, end: end - 1, highWaterMark: READ_CHUNK, signal: o?.signal });
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async writer(key: string, append: boolean, o?: CallOptions): Promise<FileWriter> {
    const target = { driver: this.name, key, file: this.file(key), root: this.root, sync: this.sync, sessionTimeout: this.sessionTimeout };
    return openFsWriter(target, append, o?.signal);
  }

  async stat(key: string, _o?: CallOptions): Promise<FileInfo> {
    const s = await stat(this.file(key));
    if (s.isDirectory()) return { path: key, size: 0, modTime: s.mtime, isDir: true };
    if (!s.isFile()) throw new PathNotFoundError(this.name, key);
    return { path: key, size: s.size, modTime: s.mtime, isDir: false };
  }

  async list(key: string, _o?: CallOptions): Promise<string[]> {
    const entries = await sortedEntries(this.file(key));
    if (entries.length === 0 && key !== '/') throw new PathNotFoundError(this.name, key);
    const prefix = key === '/' ? '/' : `${key}/`;
    // sortedEntries orders directories as "name/"; list returns plain paths in plain order.
    return entries.map((e) => prefix + e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async move(sourceKey: string, destKey: string, o?: CallOptions): Promise<void> {
    const source = this.file(sourceKey);
    const dest = this.file(destKey);
    o?.signal?.throwIfAborted();
    try {
      await inDirectory(path.dirname(dest), async () => {
        try {
          await rename(source, dest);
        } catch (e) {
          // ENOENT is either a missing source (final) or a missing destination directory (retried).
          if (errno(e) === 'ENOENT' && !(await exists(source))) throw new PathNotFoundError(this.name, sourceKey, e);
          throw e;
        }
      });
    } catch (e) {
      await pruneEmpty(path.dirname(dest), this.root);
      throw e;
    }
    if (this.sync) await Promise.all([...new Set([path.dirname(dest), path.dirname(source)])].map(syncDir));
    await pruneEmpty(path.dirname(source), this.root);
  }

  async delete(key: string, _o?: CallOptions): Promise<void> {
    const target = this.file(key);
    const dir = path.dirname(target);
    // An upload in progress at this key goes with it, as it would with its directory.
    await unlink(path.join(dir, inProgressName(path.basename(target)))).catch(() => undefined);
    let s;
    try {
      s = await lstat(target);
    } catch (e) {
      await pruneEmpty(dir, this.root);
      throw e;
    }
    if (s.isDirectory()) {
      // Out of sight in one rename, then removed at leisure: readers never see half a tree.
      const trash = path.join(dir, trashName(path.basename(target)));
      await rename(target, trash);
      await rm(trash, { recursive: true, force: true, maxRetries: 3 });
    } else {
      await unlink(target);
    }
    await pruneEmpty(dir, this.root);
  }

  async *walk(key: string, o?: WalkOptions): AsyncIterable<FileInfo> {
    yield* walkFiles(this.file(key), key, o?.startAfter, o?.signal);
  }

  /** The file of a key; keys were validated by the base wrapper, containment is checked anyway. */
  private file(key: string): string {
    const file = key === '/' ? this.root : path.resolve(this.root, `.${key}`);
    if (file !== this.root && !file.startsWith(this.root + path.sep)) throw new InvalidPathError(this.name, key, 'escapes rootdirectory');
    return file;
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}
