// The skeleton the object-store drivers' error mapping shares: the order in which a failure is
// classified and the common-set error each class becomes. What each SDK's errors look like (codes,
// statuses, where they carry them) and the advice in the messages stay in each driver's errors.ts.
import { PathNotFoundError, StorageError, TransientError } from '../../errors.js';

/** System and socket codes of a failed connection or request: worth retrying. */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
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

interface NestedError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** A network failure code, also when wrapped (AggregateError from happy eyeballs, SDK causes). */
export function networkCode(err: unknown, codes: ReadonlySet<string> = NETWORK_CODES, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const code = (err as NestedError).code;
  if (typeof code === 'string' && codes.has(code)) return code;
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const c = networkCode(e, codes, depth + 1);
      if (c) return c;
    }
  }
  const nested = networkCode((err as NestedError).cause, codes, depth + 1);
  if (nested) return nested;
  // Some layers carry the system code only in the message: the AWS SDK's retry layer re-wraps what
  // it does not recognise as an Error (one from another realm, e.g. under a test VM) into "AWS SDK
  // error wrapper for Error: connect ECONNREFUSED ...", and node-fetch's FetchError on some paths.
  const fromMessage = /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec(String((err as NestedError).message ?? ''))?.[1];
  return fromMessage && codes.has(fromMessage) ? fromMessage : undefined;
}

/** How one SDK's errors are recognised; messages are given without the "<driver>: " prefix. */
export interface SdkErrorClassifier {
  /** The bucket (container) itself is missing: what to tell the operator. */
  missingBucket(err: unknown): string | undefined;
  /** A missing object; a missing bucket is not a missing path. */
  isNotFound(err: unknown): boolean;
  isInvalidRange(err: unknown): boolean;
  /** The service refused the credentials, or none were found: what to tell the operator. */
  credentialsProblem(err: unknown, where: string): string | undefined;
  /** Network codes of this SDK (default NETWORK_CODES). */
  networkCodes?: ReadonlySet<string>;
  /** A throttling, timeout or server-side failure worth retrying: how to describe it. */
  retryable(err: unknown): string | undefined;
}

/** Maps an SDK error onto the common set, or returns undefined (the base wrapper makes it Unknown). */
export function mapSdkError(driver: string, sdk: SdkErrorClassifier, err: unknown, path: string | undefined): StorageError | undefined {
  const where = path ? ` (${path})` : '';
  const unknown = (message: string): StorageError => new StorageError('Unknown', driver, `${driver}: ${message}`, { path, cause: err });

  const missing = sdk.missingBucket(err);
  if (missing !== undefined) return unknown(missing);
  if (sdk.isNotFound(err)) return path === undefined ? undefined : new PathNotFoundError(driver, path, err);
  if (sdk.isInvalidRange(err)) return new StorageError('InvalidOffset', driver, `${driver}: invalid range${where}`, { path, cause: err });

  const credentials = sdk.credentialsProblem(err, where);
  if (credentials !== undefined) return unknown(credentials);

  const net = networkCode(err, sdk.networkCodes);
  if (net) return new TransientError(driver, `network error ${net}${where}`, { path, cause: err });
  const retryable = sdk.retryable(err);
  if (retryable !== undefined) return new TransientError(driver, `${retryable}${where}`, { path, cause: err });
  return undefined;
}
