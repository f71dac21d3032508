// How @google-cloud/storage's (and the network's) failures map onto the common error set. Used by
// the base wrapper for anything the driver did not translate itself. Messages never include
// credentials.
import { PathNotFoundError, StorageError, TransientError } from '../../errors.js';
import { GCS } from './config.js';

interface GcsErrorShape {
  name?: string;
  /** ApiError: the HTTP status; system errors: "ECONNREFUSED", ... */
  code?: number | string;
  status?: number;
  message?: string;
  errors?: Array<{ reason?: string; message?: string }>;
  response?: { status?: number; statusCode?: number };
  cause?: unknown;
}

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
]);

/** The HTTP status of an SDK error (ApiError.code, gaxios' status), if any. */
export function httpStatus(err: unknown): number | undefined {
  const e = err as GcsErrorShape | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'number') return e.code;
  return e.status ?? e.response?.status ?? e.response?.statusCode;
}

function reason(err: unknown): string {
  return (err as GcsErrorShape | undefined)?.errors?.[0]?.reason ?? '';
}

function message(err: unknown): string {
  return String((err as GcsErrorShape | undefined)?.message ?? '');
}

/** A 404 about the bucket itself, not the object. */
export function isBucketMissing(err: unknown): boolean {
  return httpStatus(err) === 404 && /bucket does not exist|no such bucket|bucket .*not found/i.test(message(err));
}

export function isNotFound(err: unknown): boolean {
  return httpStatus(err) === 404 && !isBucketMissing(err);
}

export function isInvalidRange(err: unknown): boolean {
  return httpStatus(err) === 416;
}

/** Network failure codes, also when wrapped (AggregateError from happy eyeballs, causes). */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const code = (err as GcsErrorShape).code;
  if (typeof code === 'string' && NETWORK.has(code)) return code;
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const c = networkCode(e, depth + 1);
      if (c) return c;
    }
  }
  const nested = networkCode((err as GcsErrorShape).cause, depth + 1);
  if (nested) return nested;
  // node-fetch's FetchError carries the system code only in its message on some paths.
  const fromMessage = /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec(message(err))?.[1];
  return fromMessage && NETWORK.has(fromMessage) ? fromMessage : undefined;
}

export function mapGcsError(err: unknown, path: string | undefined): StorageError | undefined {
  const status = httpStatus(err);
  const where = path ? ` (${path})` : '';

  if (isBucketMissing(err)) {
    return new StorageError('Unknown', GCS, `${GCS}: the bucket does not exist: create it, or check storage.gcs.bucket`, { path, cause: err });
  }
  if (isNotFound(err)) return path === undefined ? undefined : new PathNotFoundError(GCS, path, err);
  if (isInvalidRange(err)) return new StorageError('InvalidOffset', GCS, `${GCS}: invalid range${where}`, { path, cause: err });

  if (status === 401 || status === 403) {
    return new StorageError(
      'Unknown',
      GCS,
      `${GCS}: the storage service refused the credentials (HTTP ${status}${reason(err) ? `, ${reason(err)}` : ''})${where}: ` +
        'check storage.gcs.keyfile or credentials, or the identity the default credentials resolve to (Workload Identity), ' +
        'and its permissions on the bucket (roles/storage.objectAdmin)',
      { path, cause: err },
    );
  }
  if (/Could not load the default credentials|Unable to detect a Project Id/i.test(message(err))) {
    return new StorageError(
      'Unknown',
      GCS,
      `${GCS}: no Google credentials found: set storage.gcs.keyfile or credentials, or give the pod an identity (Workload Identity)`,
      { path, cause: err },
    );
  }

  const net = networkCode(err);
  if (net) return new TransientError(GCS, `network error ${net}${where}`, { path, cause: err });
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(GCS, `HTTP ${status}${reason(err) ? ` ${reason(err)}` : ''}${where}`, { path, cause: err });
  }
  return undefined;
}
