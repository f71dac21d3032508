// Parameters of the gcs driver, checked once at start-up; every error names its key. The names are
// those of distribution's gcs driver (bucket, keyfile, credentials, rootdirectory, chunksize,
// useragent, maxconcurrency), plus
// two kuik additions for emulators and tests: endpoint (the SDK's apiEndpoint) and projectid.
import { readFileSync } from 'node:fs';
import { DriverConfigError } from '../../errors.js';
import { param, type DriverParameters } from '../../factory.js';
import { parseRootDirectory } from '../object-store/keys.js';

export const GCS = 'gcs';
export const KiB = 1024;
export const MiB = 1024 * KiB;
/** GCS's resumable-upload granularity; distribution requires chunksize to be a multiple of it. */
export const CHUNK_GRANULARITY = 256 * KiB;
export const DEFAULT_CHUNK_SIZE = 16 * MiB;
/** A writer buffers up to one chunk: keep that a sane amount of memory. */
export const MAX_CHUNK_SIZE = 1024 * MiB;

export const GCS_PARAMETERS = [
  'bucket',
  'keyfile',
  'credentials',
  'rootdirectory',
  'chunksize',
  'useragent',
  'maxconcurrency',
  'endpoint',
  'projectid',
] as const;
/** distribution's bounds for maxconcurrency. */
export const MIN_CONCURRENCY = 25;
export const DEFAULT_CONCURRENCY = 50;

/** A service account key, as downloaded from the console (distribution takes only these, too). */
export interface GcsCredentials {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
  universe_domain?: string;
}

export interface GcsConfig {
  bucket: string;
  /** Explicit credentials (from keyfile or credentials); absent: the library's default credentials. */
  credentials?: GcsCredentials;
  /** Where the credentials came from, for messages ("keyfile" or "credentials"). */
  credentialsKey?: 'keyfile' | 'credentials';
  /** Object-name prefix every path is stored under: '' or 'some/dir/'. */
  rootPrefix: string;
  /** Bytes per uploaded part, which is also the most a writer buffers in memory. */
  chunkSize: number;
  /**
   * Emulator/test endpoint (fake-gcs-server). The SDK sends no credentials to a custom endpoint and
   * never asks a metadata server for a token; kuik uses it for emulators only.
   */
  endpoint?: string;
  projectId?: string;
  userAgent?: string;
  /** Driver calls in flight at once; more wait their turn. */
  maxConcurrency: number;
}

export function parseGcsConfig(params: DriverParameters): GcsConfig {
  const p = params;
  param.onlyKnown(GCS, p, GCS_PARAMETERS);

  const bucket = param.string(GCS, p, 'bucket');
  if (bucket.startsWith('gs://')) {
    throw new DriverConfigError(GCS, 'bucket', `drop the "gs://" prefix: use bucket: ${bucket.slice(5).replace(/\/.*$/, '')}`);
  }
  // GCS bucket names: 3-222 characters of lowercase letters, digits, '-', '_' and '.'.
  if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket)) {
    throw new DriverConfigError(GCS, 'bucket', `${JSON.stringify(bucket)} is not a valid bucket name (lowercase letters, digits, "-", "_", ".")`);
  }

  const keyfile = param.optionalString(GCS, p, 'keyfile');
  const rawCredentials = p['credentials'];
  const hasInline = rawCredentials !== undefined && rawCredentials !== null && rawCredentials !== '';
  if (keyfile !== undefined && hasInline) {
    throw new DriverConfigError(GCS, 'credentials', 'set keyfile or credentials, not both');
  }
  let credentials: GcsCredentials | undefined;
  let credentialsKey: GcsConfig['credentialsKey'];
  if (keyfile !== undefined) {
    let text: string;
    try {
      text = readFileSync(keyfile, 'utf8');
    } catch (e) {
      throw new DriverConfigError(GCS, 'keyfile', `cannot read ${keyfile}: ${(e as Error).message}`);
    }
    credentials = parseCredentials('keyfile', text, `the file ${keyfile}`);
    credentialsKey = 'keyfile';
  } else if (hasInline) {
    credentials =
      typeof rawCredentials === 'string'
        ? parseCredentials('credentials', rawCredentials, 'the value')
        : checkCredentials('credentials', rawCredentials, 'the value');
    credentialsKey = 'credentials';
  }

  const chunkSize = param.int(GCS, p, 'chunksize', DEFAULT_CHUNK_SIZE, CHUNK_GRANULARITY, MAX_CHUNK_SIZE);
  if (chunkSize % CHUNK_GRANULARITY !== 0) {
    throw new DriverConfigError(GCS, 'chunksize', `must be a multiple of ${CHUNK_GRANULARITY} (256 KiB), got ${chunkSize}`);
  }

  const rawEndpoint = param.optionalString(GCS, p, 'endpoint');
  let endpoint: string | undefined;
  if (rawEndpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(rawEndpoint);
    } catch {
      throw new DriverConfigError(GCS, 'endpoint', `not a URL: ${JSON.stringify(rawEndpoint)} (e.g. http://127.0.0.1:4443)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DriverConfigError(GCS, 'endpoint', `scheme must be http or https, got ${url.protocol}`);
    }
    endpoint = url.href.replace(/\/+$/, '');
  }

  return {
    bucket,
    credentials,
    credentialsKey,
    rootPrefix: parseRootDirectory(GCS, param.optionalString(GCS, p, 'rootdirectory')),
    chunkSize,
    endpoint,
    projectId: param.optionalString(GCS, p, 'projectid') ?? credentials?.project_id,
    userAgent: param.optionalString(GCS, p, 'useragent'),
    maxConcurrency: param.int(GCS, p, 'maxconcurrency', DEFAULT_CONCURRENCY, MIN_CONCURRENCY, 10_000),
  };
}

function parseCredentials(key: 'keyfile' | 'credentials', text: string, what: string): GcsCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DriverConfigError(GCS, key, `${what} is not valid JSON: ${(e as Error).message}`);
  }
  return checkCredentials(key, parsed, what);
}

function checkCredentials(key: 'keyfile' | 'credentials', value: unknown, what: string): GcsCredentials {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DriverConfigError(GCS, key, `${what} must be a credentials JSON object`);
  }
  const c = value as Record<string, unknown>;
  // As distribution (a JWT config from the JSON): service account keys only. Other identities
  // (Workload Identity, federation) are what the default credentials are for.
  if (c['type'] !== 'service_account') {
    throw new DriverConfigError(
      GCS,
      key,
      `${what} must be a service account key ("type": "service_account", got ${JSON.stringify(c['type'] ?? null)}); ` +
        'leave keyfile and credentials unset to use the default credentials (Workload Identity)',
    );
  }
  for (const field of ['client_email', 'private_key'] as const) {
    if (typeof c[field] !== 'string' || c[field] === '') throw new DriverConfigError(GCS, key, `${what} is a service account key without "${field}"`);
  }
  if (!String(c['private_key']).includes('PRIVATE KEY')) {
    throw new DriverConfigError(GCS, key, `${what} has a "private_key" that is not a PEM private key`);
  }
  for (const field of ['private_key_id', 'project_id', 'universe_domain'] as const) {
    if (c[field] !== undefined && typeof c[field] !== 'string') throw new DriverConfigError(GCS, key, `${what} has a non-string "${field}"`);
  }
  return c as unknown as GcsCredentials;
}
