// Where paths live in the bucket: the shared mapping (../object-store/keys.ts), plus the driver's own
// bookkeeping: writer tails (see writer.ts) under `${rootPrefix}~kuik/tails/`, out of reach of paths
// and skipped by list/walk.
import { createHash } from 'node:crypto';
import { ObjectKeyLayout } from '../object-store/keys.js';

export class KeyLayout extends ObjectKeyLayout {
  /** Side object holding the unflushed tail of one multipart upload (hashes keep it short). */
  tailKey(key: string, uploadId: string): string {
    return this.internalKey(`tails/${sha256(key).slice(0, 40)}/${sha256(uploadId).slice(0, 40)}`);
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
