// The rootdirectory ↔ key mapping the object-store drivers (s3, gcs, azure) share. A path "/a/b" is
// the key `${rootPrefix}a/b`; each driver's own KeyLayout extends this one with where its
// in-progress writes live, always under `${rootPrefix}~kuik/`: "~" is outside the characters a path
// segment may use, so no path can ever name those keys, and list/walk skip every key that does not
// map back to a valid path (also foreign "dir/" markers made by other tools).
import { DriverConfigError } from '../../errors.js';
import { pathProblem } from '../../paths.js';

/** The driver's own bookkeeping, relative to the root prefix. */
export const INTERNAL_PREFIX = '~kuik/';

/** rootdirectory "/registry/" → "registry/"; "" or "/" → "" (the bucket's or container's root). */
export function parseRootDirectory(driver: string, raw: string | undefined): string {
  if (raw === undefined) return '';
  const segments = raw.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..') throw new DriverConfigError(driver, 'rootdirectory', `must not contain a "${s}" segment`);
  }
  return segments.length ? segments.join('/') + '/' : '';
}

export class ObjectKeyLayout {
  constructor(readonly rootPrefix: string) {}

  /** Key (object or blob name) of a (validated, non-root) path. */
  key(path: string): string {
    return this.rootPrefix + path.slice(1);
  }

  /** Prefix of everything under a directory path (the root prefix for '/'). */
  dirPrefix(path: string): string {
    return path === '/' ? this.rootPrefix : this.key(path) + '/';
  }

  /** The path a listed key stands for, or null when it is not one of ours (internal, foreign, marker). */
  pathOf(key: string): string | null {
    if (!key.startsWith(this.rootPrefix)) return null;
    const path = '/' + key.slice(this.rootPrefix.length);
    return pathProblem(path) === null ? path : null;
  }

  /**
   * Where a walk resuming after `path` (a path or any string from '/') may start listing: the key of
   * that path, which the listing may include or not; the caller filters exactly.
   */
  startAfterKey(path: string): string | undefined {
    return path.startsWith('/') ? this.rootPrefix + path.slice(1) : undefined;
  }

  /** Key under the driver's own bookkeeping prefix (`${rootPrefix}~kuik/<rest>`). */
  protected internalKey(rest: string): string {
    return `${this.rootPrefix}${INTERNAL_PREFIX}${rest}`;
  }
}
