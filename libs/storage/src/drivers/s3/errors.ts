// How the AWS SDK's (and the network's) failures map onto the common error set. Used by the base
// wrapper for anything the driver did not translate itself. Messages never include credentials.
import { PathNotFoundError, StorageError, TransientError } from '../../errors.js';
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

/** Network failure codes, also when wrapped (AggregateError from happy eyeballs, SDK causes). */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const code = (err as SdkErrorShape).code;
  if (code && NETWORK.has(code)) return code;
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const c = networkCode(e, depth + 1);
      if (c) return c;
    }
  }
  const nested = networkCode((err as SdkErrorShape).cause, depth + 1);
  if (nested) return nested;
  // The SDK's retry layer re-wraps what it does not recognise as an Error (an error from another
  // realm, e.g. under a test VM) into "AWS SDK error wrapper for Error: connect ECONNREFUSED ...".
  const fromMessage = /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec((err as SdkErrorShape).message ?? '')?.[1];
  return fromMessage && NETWORK.has(fromMessage) ? fromMessage : undefined;
}

export function mapS3Error(err: unknown, path: string | undefined): StorageError | undefined {
  const name = errorName(err);
  const status = httpStatus(err);
  const where = path ? ` (${path})` : '';

  if (name === 'NoSuchBucket') {
    const bucket = (err as SdkErrorShape).BucketName;
    return new StorageError('Unknown', S3, `${S3}: the bucket${bucket ? ` "${bucket}"` : ''} does not exist (set createbucket: true to create it at start-up)`, {
      path,
      cause: err,
    });
  }
  if (isNotFound(err)) return path === undefined ? undefined : new PathNotFoundError(S3, path, err);
  if (isInvalidRange(err)) return new StorageError('InvalidOffset', S3, `${S3}: invalid range${where}`, { path, cause: err });

  if (CREDENTIALS_REFUSED.has(name) || status === 401 || status === 403) {
    return new StorageError(
      'Unknown',
      S3,
      `${S3}: the storage service refused the credentials (${describe(name, status)})${where}: ` +
        'check storage.s3.accesskey and secretkey, or the identity the default AWS credential chain resolves to (IRSA, pod identity), ' +
        'and its permissions on the bucket',
      { path, cause: err },
    );
  }
  if (name === 'CredentialsProviderError') {
    return new StorageError(
      'Unknown',
      S3,
      `${S3}: no AWS credentials found: set storage.s3.accesskey and secretkey, or give the pod an identity (IRSA, pod identity)`,
      { path, cause: err },
    );
  }

  const net = networkCode(err);
  if (net) return new TransientError(S3, `network error ${net}${where}`, { path, cause: err });
  if (THROTTLED.has(name) || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(S3, `${describe(name, status)}${where}`, { path, cause: err });
  }
  return undefined;
}

function describe(name: string, status: number | undefined): string {
  return [name, status === undefined ? '' : `HTTP ${status}`].filter((s) => s !== '' && s !== String(status)).join(', ');
}
