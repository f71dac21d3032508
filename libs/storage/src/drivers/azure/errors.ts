// How @azure/storage-blob's (and the network's) failures map onto the common error set. Used by the
// base wrapper for anything the driver did not translate itself. Messages never include the key.
import type { StorageError } from '../../errors.js';
import { mapSdkError, NETWORK_CODES, type SdkErrorClassifier } from '../object-store/errors.js';
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
/** Also the pipeline's own code for a request that could not be sent. */
const NETWORK = new Set([...NETWORK_CODES, 'REQUEST_SEND_ERROR']);

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

const azureErrors: SdkErrorClassifier = {
  missingBucket: (err) =>
    errorCode(err) === 'ContainerNotFound' ? 'the container does not exist (set createcontainer: true to create it at start-up)' : undefined,
  isNotFound,
  isInvalidRange,
  credentialsProblem(err, where) {
    const code = errorCode(err);
    const status = httpStatus(err);
    if (!(CREDENTIALS_REFUSED.has(code) || status === 401 || status === 403)) return undefined;
    return (
      `the storage account refused the credentials (${describe(code, status)})${where}: ` +
      'check storage.azure.accountname and accountkey (the key may have been rotated), and serviceurl/realm'
    );
  },
  networkCodes: NETWORK,
  retryable(err) {
    const code = errorCode(err);
    const status = httpStatus(err);
    return THROTTLED.has(code) || status === 408 || status === 429 || (status !== undefined && status >= 500) ? describe(code, status) : undefined;
  },
};

export function mapAzureError(err: unknown, path: string | undefined): StorageError | undefined {
  return mapSdkError(AZURE, azureErrors, err, path);
}

function describe(code: string, status: number | undefined): string {
  return [code, status ? `HTTP ${status}` : ''].filter(Boolean).join(', ');
}
