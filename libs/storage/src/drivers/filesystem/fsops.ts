// Small filesystem steps the driver composes: durable renames, directory creation that survives a
// concurrent prune, and pruning of directories left empty (so that, as in object stores, a directory
// exists only while something is in it).
import { mkdir, open, rmdir } from 'node:fs/promises';
import path from 'node:path';

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** fsync of a directory makes a rename or unlink in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (e) {
    // Some filesystems (certain FUSE and network mounts) cannot fsync a directory; nothing to gain.
    if (errno(e) !== 'EINVAL' && errno(e) !== 'ENOTSUP' && errno(e) !== 'EBADF') throw e;
  } finally {
    await fh.close();
  }
}

/**
 * Runs fn, which creates something in `dir`; when it fails with ENOENT, creates `dir` and retries.
 * Retrying matters with several processes: another one may prune `dir` between our mkdir and fn.
 */
export async function inDirectory<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (errno(e) !== 'ENOENT' || attempt >= 5) throw e;
      await mkdir(dir, { recursive: true });
    }
  }
}

/** Removes `dir` and its ancestors below `root` while they are empty; rmdir never removes content. */
export async function pruneEmpty(dir: string, root: string): Promise<void> {
  for (let d = dir; d !== root && d.startsWith(root + path.sep); d = path.dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (ENOTEMPTY/EEXIST), already gone, or not ours to remove: stop there
    }
  }
}
