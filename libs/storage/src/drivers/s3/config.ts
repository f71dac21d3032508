// Parameters of the s3 driver, checked once at start-up; every error names its key. The names are
// those of distribution's S3 driver, so existing registry configurations carry over. MinIO (the
// chart's "MinIO mode") is this same driver with regionendpoint, forcepathstyle and createbucket.
import type { ObjectCannedACL, ServerSideEncryption, StorageClass } from '@aws-sdk/client-s3';
import { DriverConfigError } from '../../errors.js';
import { param, type DriverParameters } from '../../factory.js';
import { parseRootDirectory } from '../object-store/keys.js';

export const S3 = 's3';
export const MiB = 1024 * 1024;
/** S3's smallest part (all but the last part of a multipart upload). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part, and the largest single CopyObject. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;

export const S3_PARAMETERS = [
  'region',
  'regionendpoint',
  'bucket',
  'accesskey',
  'secretkey',
  'forcepathstyle',
  'rootdirectory',
  'chunksize',
  'multipartcopythresholdsize',
  'multipartcopychunksize',
  'multipartcopymaxconcurrency',
  'encrypt',
  'keyid',
  'storageclass',
  'secure',
  'skipverify',
  'useragent',
  'objectacl',
  'v4auth',
  'createbucket',
] as const;

const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'OUTPOSTS',
  'EXPRESS_ONEZONE',
  'NONE',
];
const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
];

export interface S3Config {
  bucket: string;
  region: string;
  /** Full URL of an S3-compatible endpoint (MinIO, ...); absent for AWS itself. */
  endpoint?: URL;
  forcePathStyle: boolean;
  /** Static keys; absent: the default AWS credential provider chain (env, IRSA, pod identity, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Key prefix every path is stored under: '' or 'some/dir/'. */
  rootPrefix: string;
  /** Part size of multipart uploads, which is also the most a writer buffers in memory. */
  chunkSize: number;
  multipartCopyThreshold: number;
  multipartCopyChunkSize: number;
  multipartCopyMaxConcurrency: number;
  encryption?: { ServerSideEncryption: ServerSideEncryption; SSEKMSKeyId?: string };
  /** undefined: the header is omitted (storageclass NONE). */
  storageClass?: StorageClass;
  secure: boolean;
  skipVerify: boolean;
  userAgent?: string;
  /** undefined: no ACL header (buckets with ACLs disabled refuse most of them). */
  objectAcl?: ObjectCannedACL;
  createBucket: boolean;
}

export function parseS3Config(params: DriverParameters): S3Config {
  const p = params;
  param.onlyKnown(S3, p, S3_PARAMETERS);

  const bucket = param.string(S3, p, 'bucket');
  if (bucket.startsWith('s3://')) {
    throw new DriverConfigError(S3, 'bucket', `drop the "s3://" prefix: use bucket: ${bucket.slice(5).replace(/\/.*$/, '')}`);
  }
  // Loose on purpose: S3-compatible servers differ; the server itself refuses names it does not take.
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(bucket)) {
    throw new DriverConfigError(S3, 'bucket', `${JSON.stringify(bucket)} is not a valid bucket name`);
  }

  const secure = param.bool(S3, p, 'secure', true);
  const rawEndpoint = param.optionalString(S3, p, 'regionendpoint');
  let endpoint: URL | undefined;
  if (rawEndpoint !== undefined) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawEndpoint) ? rawEndpoint : `${secure ? 'https' : 'http'}://${rawEndpoint}`;
    try {
      endpoint = new URL(withScheme);
    } catch {
      throw new DriverConfigError(S3, 'regionendpoint', `not a URL: ${JSON.stringify(rawEndpoint)}`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new DriverConfigError(S3, 'regionendpoint', `scheme must be http or https, got ${endpoint.protocol}`);
    }
  }
  // SigV4 needs a region even for MinIO; us-east-1 is what S3-compatible servers default to.
  const region = endpoint ? param.string(S3, p, 'region', 'us-east-1') : param.string(S3, p, 'region');

  const accessKey = param.optionalString(S3, p, 'accesskey');
  const secretKey = param.optionalString(S3, p, 'secretkey');
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    const missing = accessKey === undefined ? 'accesskey' : 'secretkey';
    const other = missing === 'accesskey' ? 'secretkey' : 'accesskey';
    throw new DriverConfigError(S3, missing, `required when ${other} is set (set both, or neither to use the default AWS credential chain)`);
  }

  if (!param.bool(S3, p, 'v4auth', true)) {
    throw new DriverConfigError(S3, 'v4auth', 'only AWS Signature Version 4 is supported (remove v4auth or set it to true)');
  }

  const encrypt = param.bool(S3, p, 'encrypt', false);
  const keyId = param.optionalString(S3, p, 'keyid');
  if (keyId !== undefined && !encrypt) throw new DriverConfigError(S3, 'keyid', 'requires encrypt: true');

  const storageClass = param.string(S3, p, 'storageclass', 'STANDARD');
  if (!STORAGE_CLASSES.includes(storageClass)) {
    throw new DriverConfigError(S3, 'storageclass', `must be one of ${STORAGE_CLASSES.join(', ')}, got ${JSON.stringify(storageClass)}`);
  }
  const objectAcl = param.optionalString(S3, p, 'objectacl');
  if (objectAcl !== undefined && !CANNED_ACLS.includes(objectAcl)) {
    throw new DriverConfigError(S3, 'objectacl', `must be one of ${CANNED_ACLS.join(', ')}, got ${JSON.stringify(objectAcl)}`);
  }

  return {
    bucket,
    region,
    endpoint,
    forcePathStyle: param.bool(S3, p, 'forcepathstyle', endpoint !== undefined),
    credentials: accessKey !== undefined && secretKey !== undefined ? { accessKeyId: accessKey, secretAccessKey: secretKey } : undefined,
    rootPrefix: parseRootDirectory(S3, param.optionalString(S3, p, 'rootdirectory')),
    chunkSize: param.int(S3, p, 'chunksize', 10 * MiB, MIN_PART_SIZE, MAX_PART_SIZE),
    multipartCopyThreshold: param.int(S3, p, 'multipartcopythresholdsize', 32 * MiB, 0, MAX_PART_SIZE),
    multipartCopyChunkSize: param.int(S3, p, 'multipartcopychunksize', 32 * MiB, MIN_PART_SIZE, MAX_PART_SIZE),
    multipartCopyMaxConcurrency: param.int(S3, p, 'multipartcopymaxconcurrency', 100, 1, 1000),
    encryption: encrypt ? { ServerSideEncryption: keyId ? 'aws:kms' : 'AES256', ...(keyId ? { SSEKMSKeyId: keyId } : {}) } : undefined,
    storageClass: storageClass === 'NONE' ? undefined : (storageClass as StorageClass),
    secure,
    skipVerify: param.bool(S3, p, 'skipverify', false),
    userAgent: param.optionalString(S3, p, 'useragent'),
    objectAcl: objectAcl as ObjectCannedACL | undefined,
    createBucket: param.bool(S3, p, 'createbucket', false),
  };
}
