// The one registry of OCI distribution error codes, each with its HTTP status and default
// message, the typed error handlers throw, and the one serializer that writes
// {"errors":[{code,message,detail}]}. Handlers never write error bodies themselves.

export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 404, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Beyond the spec's list, with distribution's spelling:
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type OciErrorCode = keyof typeof ERROR_CODES;

export interface OciErrorOptions {
  /** Overrides the code's status where the spec asks for another (413 for an oversized manifest). */
  status?: number;
  /** Response headers that belong with this error (Range on 416, WWW-Authenticate on 401). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: OciErrorCode, message?: string, detail?: unknown, options: OciErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `OciError(${code})`;
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.detail = detail;
    this.headers = options.headers ?? {};
  }
}

export function isOciError(e: unknown, code?: OciErrorCode): e is OciError {
  return e instanceof OciError && (code === undefined || e.code === code);
}

/** An origin's answer that other credentials might change: refused, or a repository it hides. */
export function isRefusal(e: unknown): e is OciError {
  return isOciError(e) && (e.code === 'DENIED' || e.code === 'UNAUTHORIZED' || e.code === 'NAME_UNKNOWN');
}

export interface ErrorBody {
  errors: { code: OciErrorCode; message: string; detail?: unknown }[];
}

/** The body of an error response; detail is omitted when there is none. */
export function errorBody(...errors: OciError[]): ErrorBody {
  return {
    errors: errors.map((e) => (e.detail === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, detail: e.detail })),
  };
}

/** The serialized form: status, headers and JSON text, ready for any HTTP framework. */
export function serializeError(err: OciError): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: err.status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...err.headers },
    body: JSON.stringify(errorBody(err)) + '\n',
  };
}
