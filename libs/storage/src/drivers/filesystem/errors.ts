// How system errors map onto the common set (used by the base wrapper for anything the driver
// did not translate itself).
import {
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
  TransientError,
  type StorageError,
} from '../../errors.js';
import { FILESYSTEM } from './config.js';
import { errno } from './fsops.js';

const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT', 'ESTALE']);

export function mapFilesystemError(err: unknown, key: string | undefined): StorageError | undefined {
  const code = errno(err);
  const where = key ?? '';
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR': // a directory where a file was asked for: there is no such file
      return new PathNotFoundError(FILESYSTEM, where, err);
    case 'ENAMETOOLONG':
      return new InvalidPathError(FILESYSTEM, where, 'a segment is longer than the filesystem allows');
    case 'EINVAL':
      // Reads are the only calls given positions; other EINVALs are not an offset problem.
      return (err as NodeJS.ErrnoException).syscall === 'read' ? new InvalidOffsetError(FILESYSTEM, where, NaN, err) : undefined;
    default:
      if (code && TRANSIENT.has(code)) return new TransientError(FILESYSTEM, `${code} on ${where}`, { path: key, cause: err });
      return undefined;
  }
}
