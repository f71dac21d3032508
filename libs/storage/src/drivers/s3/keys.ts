// Where paths live in the bucket. A path "/a/b" is the key `${rootPrefix}a/b`. The driver's own
// bookkeeping (writer tails, see writer.ts) lives under `${rootPrefix}~kuik/`: "~" is outside the
// characters a path segment may use, so no path can ever name those keys, and list/walk skip every
// key that does not map back to a valid path (also foreign "dir/" markers made by other tools).
import { createHash } from 'node:crypto';
import { pathProblem } from '../../paths.js';

const INTERNAL = '~kuik/';

export class KeyLayout {
  constructor(readonly rootPrefix: string) {}

  /** Key of a (validated, non-root) path. */
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

  /** The S3 StartAfter key for a walk that resumes after `path` (a path or any string from '/'). */
  startAfterKey(path: string): string | undefined {
    return path.startsWith('/') ? this.rootPrefix + path.slice(1) : undefined;
  }

  /** Side object holding the unflushed tail of one multipart upload (hashes keep it short). */
  tailKey(key: string, uploadId: string): string {
    return `${this.rootPrefix}${INTERNAL}tails/${sha256(key).slice(0, 40)}/${sha256(uploadId).slice(0, 40)}`;
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
