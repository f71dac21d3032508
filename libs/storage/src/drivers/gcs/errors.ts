// How @google-cloud/storage's (and the network's) failures map onto the common error set. Used by
// the base wrapper for anything the driver did not translate itself. Messages never include
// credentials.
import type { StorageError } from '../../errors.js';
import { mapSdkError, type SdkErrorClassifier } from '../object-store/errors.js';
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

const gcsErrors: SdkErrorClassifier = {
  missingBucket: (err) => (isBucketMissing(err) ? 'the bucket does not exist: create it, or check storage.gcs.bucket' : undefined),
  isNotFound,
  isInvalidRange,
  credentialsProblem(err, where) {
    const status = httpStatus(err);
    if (status === 401 || status === 403) {
      return (
        `the storage service refused the credentials (HTTP ${status}${reason(err) ? `, ${reason(err)}` : ''})${where}: ` +
        'check storage.gcs.keyfile or credentials, or the identity the default credentials resolve to (Workload Identity), ' +
        'and its permissions on the bucket (roles/storage.objectAdmin)'
      );
    }
    if (/Could not load the default credentials|Unable to detect a Project Id/i.test(message(err))) {
      return 'no Google credentials found: set storage.gcs.keyfile or credentials, or give the pod an identity (Workload Identity)';
    }
    return undefined;
  },
  retryable(err) {
    const status = httpStatus(err);
    return status === 408 || status === 429 || (status !== undefined && status >= 500) ? `HTTP ${status}${reason(err) ? ` ${reason(err)}` : ''}` : undefined;
  },
};

export function mapGcsError(err: unknown, path: string | undefined): StorageError | undefined {
  return mapSdkError(GCS, gcsErrors, err, path);
}
