// Where paths live in the container. A path "/a/b" is the blob `${rootPrefix}a/b`. The in-progress
// write at a path (writer.ts) stages its blocks on that very blob (uncommitted, so invisible) and
// keeps one small state blob at `${rootPrefix}~kuik/uploads/a/b/~state`: "~" is outside the
// characters a path segment may use, so no path can name it and list/walk skip it (pathOf), and the
// tree mirrors the paths so that deleting a directory also drops the writes in progress under it.
import { pathProblem } from '../../paths.js';

const UPLOADS = '~kuik/uploads/';

export class KeyLayout {
  constructor(readonly rootPrefix: string) {}

  /** Blob name of a (validated, non-root) path. */
  key(path: string): string {
    return this.rootPrefix + path.slice(1);
  }

  /** Prefix of everything under a directory path (the root prefix for '/'). */
  dirPrefix(path: string): string {
    return path === '/' ? this.rootPrefix : this.key(path) + '/';
  }

  /** The path a blob name stands for, or null when it is not one of ours (internal, foreign, marker). */
  pathOf(name: string): string | null {
    if (!name.startsWith(this.rootPrefix)) return null;
    const path = '/' + name.slice(this.rootPrefix.length);
    return pathProblem(path) === null ? path : null;
  }

  /** Where a walk resuming after `path` may start listing (inclusive; the caller filters exactly). */
  startAfterKey(path: string): string | undefined {
    return path.startsWith('/') ? this.rootPrefix + path.slice(1) : undefined;
  }

  /** The state blob of the in-progress write at path. */
  stateKey(path: string): string {
    return `${this.rootPrefix}${UPLOADS}${path.slice(1)}/~state`;
  }

  /** Prefix of the state blobs of the writes in progress at path and at every path under it. */
  uploadTreePrefix(path: string): string {
    return path === '/' ? `${this.rootPrefix}${UPLOADS}` : `${this.rootPrefix}${UPLOADS}${path.slice(1)}/`;
  }
}
