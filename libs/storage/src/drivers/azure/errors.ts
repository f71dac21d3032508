// How @azure/storage-blob's (and the network's) failures map onto the common error set. Used by the
// base wrapper for anything the driver did not translate itself. Messages never include the key.
import { PathNotFoundError, StorageError, TransientError } from '../../errors.js';
import { AZURE } from './config.js';

interface RestErrorShape {
  name?: string;
  /** x-ms-error-code ("BlobNotFound", ...) or a system/pipeline code ("ECONNREFUSED", "REQUEST_SEND_ERROR"). */
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string };
  cause?: unknown;
}

const NOT_FOUND = new Set(['BlobNotFound', 'ResourceNotFound']);
const CREDENTIALS_REFUSED = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'InsufficientAccountPermissions',
  'InvalidAuthenticationInfo',
  'AccountIsDisabled',
]);
const THROTTLED = new Set(['ServerBusy', 'OperationTimedOut', 'InternalError', 'TooManyRequests']);
const NETWORK = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'REQUEST_SEND_ERROR',
]);

export function httpStatus(err: unknown): number | undefined {
  return (err as RestErrorShape | undefined)?.statusCode;
}

/** The storage error code ("BlobNotFound", ...), from the error or its details. */
export function errorCode(err: unknown): string {
  const e = err as RestErrorShape | undefined;
  return e?.details?.errorCode ?? e?.code ?? '';
}

/** A missing blob; a missing container is not a missing path. */
export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  if (code === 'ContainerNotFound') return false;
  return NOT_FOUND.has(code) || httpStatus(err) === 404;
}

export function isInvalidRange(err: unknown): boolean {
  return errorCode(err) === 'InvalidRange' || httpStatus(err) === 416;
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const code = (err as RestErrorShape).code;
  if (code && NETWORK.has(code)) return code;
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const c = networkCode(e, depth + 1);
      if (c) return c;
    }
  }
  const nested = networkCode((err as RestErrorShape).cause, depth + 1);
  if (nested) return nested;
  const fromMessage = /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec((err as RestErrorShape).message ?? '')?.[1];
  return fromMessage && NETWORK.has(fromMessage) ? fromMessage : undefined;
}

export function mapAzureError(err: unknown, path: string | undefined): StorageError | undefined {
  const code = errorCode(err);
  const status = httpStatus(err);
  const where = path ? ` (${path})` : '';

  if (code === 'ContainerNotFound') {
    return new StorageError('Unknown', AZURE, `${AZURE}: the container does not exist (set createcontainer: true to create it at start-up)`, {
      path,
      cause: err,
    });
  }
  if (isNotFound(err)) return path === undefined ? undefined : new PathNotFoundError(AZURE, path, err);
  if (isInvalidRange(err)) return new StorageError('InvalidOffset', AZURE, `${AZURE}: invalid range${where}`, { path, cause: err });

  if (CREDENTIALS_REFUSED.has(code) || status === 401 || status === 403) {
    return new StorageError(
      'Unknown',
      AZURE,
      `${AZURE}: the storage account refused the credentials (${[code, status ? `HTTP ${status}` : ''].filter(Boolean).join(', ')})${where}: ` +
        'check storage.azure.accountname and accountkey (the key may have been rotated), and serviceurl/realm',
      { path, cause: err },
    );
  }

  const net = networkCode(err);
  if (net) return new TransientError(AZURE, `network error ${net}${where}`, { path, cause: err });
  if (THROTTLED.has(code) || status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(AZURE, `${[code, status ? `HTTP ${status}` : ''].filter(Boolean).join(', ')}${where}`, { path, cause: err });
  }
  return undefined;
}
