// Errors of the registry client. One class, with a `kind` saying which layer failed, so callers
// (the proxy deciding between cache and origin, the controller retrying a copy) can branch on
// it without string matching; the OCI error codes from the response body are kept so a proxy
// can pass MANIFEST_UNKNOWN through unchanged.
import { ERROR_CODES, OciError, type OciErrorCode } from '../errors.js';

export type ClientErrorKind =
  /** The registry answered with an unexpected HTTP status (see status and errors). */
  | 'http'
  /** Connection refused/reset, DNS failure, TLS failure: the registry was not reached or dropped us. */
  | 'network'
  /** Connect, headers or idle-body timeout. */
  | 'timeout'
  /** Authentication failed: no credentials, bad credentials, token server refused. */
  | 'auth'
  /** Content did not match its digest. */
  | 'digest'
  /** A response exceeded a size limit or contradicted its declared size. */
  | 'size'
  /** The response was malformed (bad JSON, missing headers the protocol requires). */
  | 'protocol'
  /** The caller's signal aborted the operation. */
  | 'aborted';

export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export interface RegistryClientErrorOptions {
  host: string;
  status?: number;
  errors?: RegistryErrorEntry[];
  cause?: unknown;
}

export class RegistryClientError extends Error {
  readonly kind: ClientErrorKind;
  readonly host: string;
  readonly status?: number;
  readonly errors: RegistryErrorEntry[];

  constructor(kind: ClientErrorKind, message: string, options: RegistryClientErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryClientError';
    this.kind = kind;
    this.host = options.host;
    this.status = options.status;
    this.errors = options.errors ?? [];
  }

  /** The first OCI error code the registry sent, if any. */
  get code(): string | undefined {
    return this.errors[0]?.code;
  }

  /** True when the registry said the thing does not exist (404 or a *_UNKNOWN code). */
  get notFound(): boolean {
    return this.status === 404 || /_UNKNOWN$/.test(this.code ?? '');
  }
}

export function isRegistryClientError(e: unknown, kind?: ClientErrorKind): e is RegistryClientError {
  return e instanceof RegistryClientError && (kind === undefined || e.kind === kind);
}

/**
 * Converts a client failure into the OciError a server should answer with: the upstream code
 * when it is one we know (MANIFEST_UNKNOWN stays MANIFEST_UNKNOWN), UNAVAILABLE for anything
 * that means "could not get it" (network, timeout, 5xx), DENIED for upstream auth failures
 * (the downstream client cannot fix those by authenticating to us).
 */
export function clientErrorToOci(err: unknown, what: string): OciError {
  if (!(err instanceof RegistryClientError)) {
    return new OciError('UNKNOWN', `${what}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
  const detail = { host: err.host, ...(err.status !== undefined ? { status: err.status } : {}) };
  const message = `${what}: ${err.message}`;
  if (err.kind === 'auth' || err.status === 401 || err.status === 403) return new OciError('DENIED', message, detail, { cause: err });
  if (err.kind === 'http' && err.status !== undefined && err.status < 500) {
    const code = err.code;
    if (code && code in ERROR_CODES && ERROR_CODES[code as OciErrorCode].status === err.status) {
      return new OciError(code as OciErrorCode, message, detail, { cause: err });
    }
    if (err.status === 404) return new OciError('NOT_FOUND', message, detail, { cause: err });
    if (err.status === 429) return new OciError('TOOMANYREQUESTS', message, detail, { cause: err });
  }
  return new OciError('UNAVAILABLE', message, detail, { status: 502, cause: err });
}

/** Maps a low-level error (undici, node:net, node:tls) onto the client's kinds. */
export function classifyError(err: unknown, host: string, what: string, signal?: AbortSignal): RegistryClientError {
  if (err instanceof RegistryClientError) return err;
  if (signal?.aborted) return new RegistryClientError('aborted', `${what}: aborted`, { host, cause: err });
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (/TIMEOUT/i.test(code) || (err as Error | undefined)?.name === 'TimeoutError') {
    return new RegistryClientError('timeout', `${what}: timed out (${code || message})`, { host, cause: err });
  }
  if ((err as Error | undefined)?.name === 'AbortError') return new RegistryClientError('aborted', `${what}: aborted`, { host, cause: err });
  return new RegistryClientError('network', `${what}: ${code ? `${code} ` : ''}${message}`.trim(), { host, cause: err });
}
