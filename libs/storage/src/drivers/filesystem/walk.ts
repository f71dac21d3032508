// Depth-first walk that yields files in lexical order of their full key. Sorting a directory's
// entries by name alone is not enough: key "a/b" sorts after "a-c" and "a.d" because '-' and '.'
// come before '/'. Sorting directories as "name/" gives exactly the order of full keys.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FileInfo } from '../../types.js';
import { errno } from './fsops.js';
import { isInternal } from './names.js';

interface Entry {
  name: string;
  isDir: boolean;
  sortKey: string;
}

/** Visible entries of a directory, ordered as their keys are; [] when it is missing or a file. */
export async function sortedEntries(dir: string): Promise<Entry[]> {
  let dirents;
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
    throw e;
  }
  const out: Entry[] = [];
  for (const d of dirents) {
    if (isInternal(d.name)) continue;
    const isDir = d.isDirectory() || (d.isSymbolicLink() && (await isDirectory(path.join(dir, d.name))));
    out.push({ name: d.name, isDir, sortKey: isDir ? `${d.name}/` : d.name });
  }
  return out.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function* walkFiles(dir: string, key: string, startAfter: string | undefined, signal?: AbortSignal): AsyncGenerator<FileInfo> {
  for (const e of await sortedEntries(dir)) {
    signal?.throwIfAborted();
    const childKey = key === '/' ? `/${e.name}` : `${key}/${e.name}`;
    const childPath = path.join(dir, e.name);
    if (e.isDir) {
      // Every key in the subtree starts with prefix; skip the subtree when all of them are <= startAfter.
      const prefix = `${childKey}/`;
      if (startAfter !== undefined && prefix < startAfter && !startAfter.startsWith(prefix)) continue;
      yield* walkFiles(childPath, childKey, startAfter, signal);
    } else {
      if (startAfter !== undefined && childKey <= startAfter) continue;
      let s;
      try {
        s = await stat(childPath);
      } catch (err) {
        if (errno(err) === 'ENOENT') continue; // deleted while we walked: not an error
        throw err;
      }
      if (s.isFile()) yield { path: childKey, size: s.size, modTime: s.mtime, isDir: false };
    }
  }
}
