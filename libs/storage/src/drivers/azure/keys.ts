// Where paths live in the container: the shared mapping (../object-store/keys.ts). The in-progress
// write at a path (writer.ts) stages its blocks on that very blob (uncommitted, so invisible) and
// keeps one small state blob at `${rootPrefix}~kuik/uploads/a/b/~state`, out of reach of paths and
// skipped by list/walk; the tree mirrors the paths so that deleting a directory also drops the
// writes in progress under it.
import { ObjectKeyLayout } from '../object-store/keys.js';

export class KeyLayout extends ObjectKeyLayout {
  /** The state blob of the in-progress write at path. */
  stateKey(path: string): string {
    return this.internalKey(`uploads/${path.slice(1)}/~state`);
  }

  /** Prefix of the state blobs of the writes in progress at path and at every path under it. */
  uploadTreePrefix(path: string): string {
    return this.internalKey(path === '/' ? 'uploads/' : `uploads/${path.slice(1)}/`);
  }
}
