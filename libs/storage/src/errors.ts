// The one small error set every driver's failures are mapped onto (by ./base.ts). Callers switch
// on `code`, never on SDK-specific errors.
export type StorageErrorCode =
  | 'PathNotFound'
  | 'InvalidPath'
  | 'InvalidOffset'
  | 'TooLarge'
  | 'Unsupported'
  | 'Transient'
  | 'Unknown';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly driver: string;
  readonly path?: string;
  constructor(code: StorageErrorCode, driver: string, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = `StorageError(${code})`;
    this.code = code;
    this.driver = driver;
    this.path = options?.path;
  }
}

export class PathNotFoundError extends StorageError {
  constructor(driver: string, path: string, cause?: unknown) {
    super('PathNotFound', driver, `${driver}: path not found: ${path}`, { path, cause });
  }
}

export class InvalidPathError extends StorageError {
  constructor(driver: string, path: string, reason: string) {
    super('InvalidPath', driver, `${driver}: invalid path ${JSON.stringify(path)}: ${reason}`, { path });
  }
}

export class InvalidOffsetError extends StorageError {
  readonly offset: number;
  constructor(driver: string, path: string, offset: number, cause?: unknown) {
    super('InvalidOffset', driver, `${driver}: invalid offset ${offset} for ${path}`, { path, cause });
    this.offset = offset;
  }
}

/** getContent() refused an object bigger than its maxBytes guard. */
export class ContentTooLargeError extends StorageError {
  readonly maxBytes: number;
  constructor(driver: string, path: string, maxBytes: number) {
    super('TooLarge', driver, `${driver}: ${path} is larger than ${maxBytes} bytes`, { path });
    this.maxBytes = maxBytes;
  }
}

export class UnsupportedError extends StorageError {
  constructor(driver: string, what: string) {
    super('Unsupported', driver, `${driver}: unsupported: ${what}`);
  }
}

/** A failure worth retrying (network error, throttling, 5xx). */
export class TransientError extends StorageError {
  constructor(driver: string, message: string, options?: { path?: string; cause?: unknown }) {
    super('Transient', driver, `${driver}: ${message}`, options);
  }
}

/** A driver configuration problem; the message names the offending key. */
export class DriverConfigError extends Error {
  readonly key: string;
  constructor(driver: string, key: string, problem: string) {
    super(`storage.${driver}.${key}: ${problem}`);
    this.name = 'DriverConfigError';
    this.key = key;
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}
