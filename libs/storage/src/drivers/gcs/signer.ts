// V4 signed URLs (GOOG4-RSA-SHA256), signed locally with a service account's private key. The SDK's
// own signer needs the deprecated `credentials` option (it reads the client e-mail back through
// GoogleAuth, which otherwise asks the metadata server for it) and signs only GET among the read
// methods; this is the same algorithm, for GET and HEAD. gcs.spec.ts checks it against the SDK's.
// https://cloud.google.com/storage/docs/access-control/signing-urls-manually
import { createHash, createSign } from 'node:crypto';

/** GCS refuses V4 URLs valid for longer than 7 days. */
export const MAX_EXPIRY_SECONDS = 7 * 24 * 3600;

export interface SignRequest {
  /** Origin the URL points at: https://storage.googleapis.com, or an emulator's. */
  origin: string;
  bucket: string;
  object: string;
  method: 'GET' | 'HEAD';
  clientEmail: string;
  privateKey: string;
  expiresIn: number;
  /** Signing time (X-Goog-Date); now by default. */
  now?: Date;
}

/** encodeURIComponent plus the sub-delimiters it leaves alone: everything but A-Z a-z 0-9 - . _ ~. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function stamp(d: Date): { date: string; dateTime: string } {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const date = iso.slice(0, 10).replace(/-/g, '');
  return { date, dateTime: `${date}T${iso.slice(11, 19).replace(/:/g, '')}Z` };
}

export function signUrlV4(r: SignRequest): string {
  const expires = Math.floor(r.expiresIn);
  if (!(expires >= 1 && expires <= MAX_EXPIRY_SECONDS)) throw new RangeError(`expiresIn must be 1..${MAX_EXPIRY_SECONDS} seconds, got ${r.expiresIn}`);
  const url = new URL(r.origin);
  const { date, dateTime } = stamp(r.now ?? new Date());
  const scope = `${date}/auto/storage/goog4_request`;
  const resource = `/${r.bucket}/${r.object.split('/').map(encode).join('/')}`;
  const query: Array<[string, string]> = [
    ['X-Goog-Algorithm', 'GOOG4-RSA-SHA256'],
    ['X-Goog-Credential', `${r.clientEmail}/${scope}`],
    ['X-Goog-Date', dateTime],
    ['X-Goog-Expires', String(expires)],
    ['X-Goog-SignedHeaders', 'host'],
  ];
  const canonicalQuery = query
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join('&');
  // As the SDK: the host header without a port (none on storage.googleapis.com anyway).
  const canonicalRequest = [r.method, resource, canonicalQuery, `host:${url.hostname}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['GOOG4-RSA-SHA256', dateTime, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signature = createSign('RSA-SHA256').update(stringToSign).sign(r.privateKey, 'hex');
  return `${url.origin}${resource}?${canonicalQuery}&X-Goog-Signature=${signature}`;
}
