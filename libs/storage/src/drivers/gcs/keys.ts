// Where paths live in the bucket. A path "/a/b" is the object `${rootPrefix}a/b`. In-progress
// writes (writer.ts) keep their parts under `${rootPrefix}~kuik/uploads/a/b/~part-00000001`: "~" is
// outside the characters a path segment may use, so no path can name those objects, list/walk skip
// them (pathOf), and the tree mirrors the paths so that deleting a directory can also drop the
// in-progress writes under it (uploadTreePrefix).
import { pathProblem } from '../../paths.js';

const UPLOADS = '~kuik/uploads/';
const PART = 'part-';
const PART_DIGITS = 8;

export class KeyLayout {
  constructor(readonly rootPrefix: string) {}

  /** Object name of a (validated, non-root) path. */
  key(path: string): string {
    return this.rootPrefix + path.slice(1);
  }

  /** Prefix of everything under a directory path (the root prefix for '/'). */
  dirPrefix(path: string): string {
    return path === '/' ? this.rootPrefix : this.key(path) + '/';
  }

  /** The path an object name stands for, or null when it is not one of ours (internal, foreign, marker). */
  pathOf(name: string): string | null {
    if (!name.startsWith(this.rootPrefix)) return null;
    const path = '/' + name.slice(this.rootPrefix.length);
    return pathProblem(path) === null ? path : null;
  }

  /** Where a walk resuming after `path` may start listing (inclusive; the caller filters exactly). */
  startAfterKey(path: string): string | undefined {
    return path.startsWith('/') ? this.rootPrefix + path.slice(1) : undefined;
  }

  /** Prefix of every object of the in-progress write at path (its parts and compose temporaries). */
  uploadPrefix(path: string): string {
    return `${this.rootPrefix}${UPLOADS}${path.slice(1)}/~`;
  }

  /** Prefix of the in-progress writes at path and at every path under it. */
  uploadTreePrefix(path: string): string {
    return path === '/' ? `${this.rootPrefix}${UPLOADS}` : `${this.rootPrefix}${UPLOADS}${path.slice(1)}/`;
  }

  partPrefix(path: string): string {
    return this.uploadPrefix(path) + PART;
  }

  /** Part n (1-based) of the in-progress write at path; zero-padded so names sort in part order. */
  partKey(path: string, n: number): string {
    return this.partPrefix(path) + String(n).padStart(PART_DIGITS, '0');
  }

  /** The part number of a part object name under partPrefix(path), or null. */
  partNumber(path: string, name: string): number | null {
    const prefix = this.partPrefix(path);
    if (!name.startsWith(prefix)) return null;
    const digits = name.slice(prefix.length);
    return /^\d+$/.test(digits) ? Number(digits) : null;
  }

  /** An intermediate composite (commits of more than 32 parts compose in rounds). */
  composeKey(path: string, round: number, index: number): string {
    return `${this.uploadPrefix(path)}compose-${round}-${String(index).padStart(PART_DIGITS, '0')}`;
  }
}
