// Names of the driver's own files beside the ones it stores. Each contains '~', a character no
// valid key segment may hold (see paths.ts), so they can never collide with a key, and list/walk
// hide them by that mark alone. They start with '.' so that `ls` hides them from people too.
import { createHash, randomBytes } from 'node:crypto';

const MARK = '~';

export function isInternal(name: string): boolean {
  return name.includes(MARK);
}

// NAME_MAX is 255 bytes; a long key segment is replaced by its digest so suffixes always fit.
function stem(base: string): string {
  return Buffer.byteLength(base) > 180 ? createHash('sha256').update(base).digest('hex') : base;
}

const unique = () => randomBytes(8).toString('hex');
const UNIQUE = /^[0-9a-f]{16}$/;

/** The closed, uncommitted data of a writer: the one place any process finds it to append. */
export const inProgressName = (base: string) => `.${stem(base)}${MARK}inprogress`;
/** The private file of one open writer session. */
export const sessionName = (base: string) => `.${stem(base)}${MARK}session-${unique()}`;
/** Whether `name` is a session file of `base`, of any writer in any process (see writer.ts). */
export function isSessionOf(base: string, name: string): boolean {
  const prefix = `.${stem(base)}${MARK}session-`;
  return name.startsWith(prefix) && UNIQUE.test(name.slice(prefix.length));
}
/** putContent's temporary file, renamed over the key when complete. */
export const tempName = (base: string) => `.${stem(base)}${MARK}tmp-${unique()}`;
/** A directory being deleted: renamed out of sight first, so the delete looks atomic. */
export const trashName = (base: string) => `.${stem(base)}${MARK}trash-${unique()}`;
