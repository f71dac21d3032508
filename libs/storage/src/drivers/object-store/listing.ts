// list() and walk() over an object store's paged prefix listings, shared by the s3, gcs and azure
// drivers: each driver only turns its SDK's pages into ListingPage. Directories exist only through
// the keys under them, and keys that map back to no valid path (internal, foreign) are skipped.
import { PathNotFoundError } from '../../errors.js';
import type { FileInfo } from '../../types.js';
import type { ObjectKeyLayout } from './keys.js';

export interface ListedObject {
  /** The full key (object or blob name). */
  name: string;
  size: number;
  modTime: Date;
}

export interface ListingPage {
  objects: ListedObject[];
  /** Common prefixes (listings with a '/' delimiter), each ending with the delimiter. */
  prefixes: string[];
}

/**
 * StorageDriver.list() from the pages of a '/'-delimited listing of layout.dirPrefix(path): files
 * and directories alike, each once (some servers repeat a prefix on every page), sorted.
 */
export async function listChildren(driver: string, layout: ObjectKeyLayout, path: string, pages: AsyncIterable<ListingPage>): Promise<string[]> {
  const out = new Set<string>();
  for await (const page of pages) {
    for (const obj of page.objects) {
      const p = layout.pathOf(obj.name);
      if (p !== null) out.add(p);
    }
    for (const prefix of page.prefixes) {
      const p = layout.pathOf(prefix.replace(/\/$/, ''));
      if (p !== null) out.add(p);
    }
  }
  if (out.size === 0 && path !== '/') throw new PathNotFoundError(driver, path);
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * StorageDriver.walk(): every file under path, in key order, strictly after startAfter. listFrom
 * lists (without delimiter) the given prefix from a start key when there is one; whether the
 * listing includes that key or not, the filter here is exact.
 */
export async function* walkFiles(
  layout: ObjectKeyLayout,
  path: string,
  startAfter: string | undefined,
  listFrom: (prefix: string, startKey: string | undefined) => AsyncIterable<ListingPage>,
): AsyncIterable<FileInfo> {
  const prefix = layout.dirPrefix(path);
  const afterKey = startAfter === undefined ? undefined : layout.startAfterKey(startAfter);
  // A start key only helps when it lies inside the listed prefix's range.
  const startKey = afterKey !== undefined && afterKey > prefix ? afterKey : undefined;
  for await (const page of listFrom(prefix, startKey)) {
    for (const obj of page.objects) {
      const p = layout.pathOf(obj.name);
      if (p === null || (startAfter !== undefined && !(p > startAfter))) continue;
      yield { path: p, size: obj.size, modTime: obj.modTime, isDir: false };
    }
  }
}
