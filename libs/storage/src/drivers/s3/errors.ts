// How the AWS SDK's (and the network's) failures map onto the common error set. Used by the base
// wrapper for anything the driver did not translate itself. Messages never include credentials.
import type { StorageError } from '../../errors.js';
import { mapSdkError, type SdkErrorClassifier } from '../object-store/errors.js';
import { S3 } from './config.js';

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  BucketName?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
  $retryable?: unknown;
  cause?: unknown;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
const INVALID_RANGE = new Set(['InvalidRange', 'RequestedRangeNotSatisfiable']);
const CREDENTIALS_REFUSED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'AuthorizationHeaderMalformed',
  'AccountProblem',
  'AllAccessDisabled',
]);
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'XMinioServerNotInitialized',
  'XMinioStorageFull',
]);
export function httpStatus(err: unknown): number | undefined {
  const e = err as SdkErrorShape | undefined;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/** The S3 error code ("NoSuchKey", "SlowDown", ...), or the error's name. */
export function errorName(err: unknown): string {
  const e = err as SdkErrorShape | undefined;
  return e?.Code ?? e?.name ?? '';
}

/** A missing object (or upload); a missing bucket is not a missing path. */
export function isNotFound(err: unknown): boolean {
  const name = errorName(err);
  if (name === 'NoSuchBucket') return false;
  return NOT_FOUND.has(name) || httpStatus(err) === 404;
}

export function isInvalidRange(err: unknown): boolean {
  return INVALID_RANGE.has(errorName(err)) || httpStatus(err) === 416;
}

const s3Errors: SdkErrorClassifier = {
  missingBucket(err) {
    if (errorName(err) !== 'NoSuchBucket') return undefined;
    const bucket = (err as SdkErrorShape).BucketName;
    return `the bucket${bucket ? ` "${bucket}"` : ''} does not exist (set createbucket: true to create it at start-up)`;
  },
  isNotFound,
  isInvalidRange,
  credentialsProblem(err, where) {
    const name = errorName(err);
    const status = httpStatus(err);
    if (CREDENTIALS_REFUSED.has(name) || status === 401 || status === 403) {
      return (
        `the storage service refused the credentials (${describe(name, status)})${where}: ` +
        'check storage.s3.accesskey and secretkey, or the identity the default AWS credential chain resolves to (IRSA, pod identity), ' +
        'and its permissions on the bucket'
      );
    }
    if (name === 'CredentialsProviderError') {
      return 'no AWS credentials found: set storage.s3.accesskey and secretkey, or give the pod an identity (IRSA, pod identity)';
    }
    return undefined;
  },
  retryable(err) {
    const name = errorName(err);
    const status = httpStatus(err);
    return THROTTLED.has(name) || status === 429 || (status !== undefined && status >= 500) ? describe(name, status) : undefined;
  },
};

export function mapS3Error(err: unknown, path: string | undefined): StorageError | undefined {
  return mapSdkError(S3, s3Errors, err, path);
}

function describe(name: string, status: number | undefined): string {
  return [name, status === undefined ? '' : `HTTP ${status}`].filter((s) => s !== '' && s !== String(status)).join(', ');
}
