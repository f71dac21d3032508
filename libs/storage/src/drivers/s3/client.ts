// The SDK client the driver talks through, and start-up bucket creation. MinIO needs nothing the S3
// API lacks except creating its bucket on first start (the chart's MinIO mode): that is done with
// MinIO's own client, which speaks to any S3-compatible endpoint the same way.
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { Client as MinioClient } from 'minio';
import { S3, type S3Config } from './config.js';
import { mapS3Error } from './errors.js';

/** Attempts per request (the SDK's standard retry mode, with its back-off and retry quota). */
export const MAX_ATTEMPTS = 4;
const MAX_SOCKETS = 128;

export interface S3Clients {
  s3: S3Client;
  agents: { http: http.Agent; https: https.Agent };
}

export function createS3Client(cfg: S3Config): S3Clients {
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    https: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, rejectUnauthorized: !cfg.skipVerify }),
  };
  const s3 = new S3Client({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint.href.replace(/\/$/, '') } : { tls: cfg.secure }),
    forcePathStyle: cfg.forcePathStyle,
    // Absent keys: the SDK's default provider chain (env, web identity/IRSA, pod identity, IMDS).
    ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    ...(cfg.userAgent ? { customUserAgent: cfg.userAgent } : {}),
    // Uploads are covered by the SigV4 payload hash; extra CRCs cost CPU and are not supported by
    // every S3-compatible server. Calls that require a checksum (DeleteObjects) still get one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: agents.http, httpsAgent: agents.https, connectionTimeout: 10_000 },
  });
  return { s3, agents };
}

/**
 * Creates the bucket when it does not exist (createbucket: true), with MinIO's client. Credentials
 * are the driver's own: static keys, or whatever the SDK's default chain resolves to.
 */
export async function ensureBucket(cfg: S3Config, clients: S3Clients): Promise<void> {
  const creds = cfg.credentials ?? (await clients.s3.config.credentials());
  const endpoint = cfg.endpoint;
  const useSSL = endpoint ? endpoint.protocol === 'https:' : cfg.secure;
  const minio = new MinioClient({
    endPoint: endpoint ? endpoint.hostname.replace(/^\[(.*)\]$/, '$1') : 's3.amazonaws.com',
    ...(endpoint?.port ? { port: Number(endpoint.port) } : {}),
    useSSL,
    accessKey: creds.accessKeyId,
    secretKey: creds.secretAccessKey,
    ...('sessionToken' in creds && creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
    region: cfg.region,
    pathStyle: cfg.forcePathStyle,
    transportAgent: useSSL ? clients.agents.https : clients.agents.http,
  });
  try {
    if (await minio.bucketExists(cfg.bucket)) return;
    await minio.makeBucket(cfg.bucket, cfg.region);
  } catch (err) {
    // Another replica starting at the same time may have won the race.
    const code = (err as { code?: string }).code;
    if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') {
      if (await minio.bucketExists(cfg.bucket).catch(() => false)) return;
    }
    const mapped = mapS3Error(normalizeMinioError(err), undefined);
    const why = mapped?.message ?? `${S3}: ${err instanceof Error ? err.message : String(err)}`;
    throw new Error(`${S3}: cannot create bucket "${cfg.bucket}" (createbucket: true): ${why}`, { cause: err });
  }
}

/** MinIO's client reports the S3 error code in `code`; the mapper reads the SDK's shape. */
function normalizeMinioError(err: unknown): unknown {
  if (!err || typeof err !== 'object') return err;
  const e = err as { code?: string; statusCode?: number };
  return { Code: e.code, code: e.code, $metadata: { httpStatusCode: e.statusCode }, cause: err };
}
