// Pushing to a registry: upload sessions (POST, with cross-repository mount), monolithic
// uploads (POST then one PUT carrying the whole blob, streamed), chunked uploads (PATCH per
// chunk with Content-Range, then PUT) and manifest PUTs. The registry verifies every blob
// against the digest given on the final PUT, so content is never trusted on our word.
import type { Readable } from 'node:stream';
import { digestOf, tryParseDigest, type Digest } from '../digest.js';
import { repositoryScope } from './auth.js';
import { abandon, discard, unexpectedStatus } from './body.js';
import { RegistryClientError } from './errors.js';
import { manifestPath, uploadsPath } from './paths.js';
import type { RegistryClient } from './registry-client.js';
import { header } from './transport.js';

export type UploadStart = { mounted: true } | { mounted: false; location: URL };

export type PushResult = 'exists' | 'mounted' | 'uploaded';

export interface PushBlobOptions {
  signal?: AbortSignal;
  /** Try a cross-repository mount from this repository of the same registry first. */
  mountFrom?: string;
  /** HEAD first and skip the upload when the blob is there (default true). */
  skipExisting?: boolean;
}

export interface ChunkedPushOptions extends PushBlobOptions {
  /** Bytes per PATCH (default 8 MiB): the memory one chunked upload holds at most. */
  chunkSize?: number;
}

const PUSH = (repository: string) => [repositoryScope(repository, 'pull,push')];

/** POST /v2/<name>/blobs/uploads/ (with ?mount=&from= when given). */
export async function startUpload(
  client: RegistryClient,
  repository: string,
  options: { mount?: Digest; from?: string; signal?: AbortSignal } = {},
): Promise<UploadStart> {
  const query = options.mount && options.from ? `?${new URLSearchParams({ mount: options.mount, from: options.from }).toString()}` : '';
  const scopes = options.from ? [...PUSH(repository), repositoryScope(options.from, 'pull')] : PUSH(repository);
  const path = `${uploadsPath(repository)}${query}`;
  const res = await client.send({ method: 'POST', path, scopes, headers: { 'Content-Length': '0' }, body: '', signal: options.signal });
  if (res.status === 201 && options.mount) {
    discard(res);
    return { mounted: true };
  }
  if (res.status !== 202) throw await unexpectedStatus(res, client.host, `POST ${path}`);
  discard(res);
  const location = header(res.headers, 'location');
  if (!location) throw new RegistryClientError('protocol', `POST ${path}: 202 without Location`, { host: client.host, status: 202 });
  return { mounted: false, location: new URL(location, res.url) };
}

/** Best-effort DELETE of an upload session we abandon. */
export async function cancelUpload(client: RegistryClient, repository: string, location: URL, signal?: AbortSignal): Promise<void> {
  try {
    discard(await client.send({ method: 'DELETE', path: location, scopes: PUSH(repository), signal }));
  } catch {
    // The registry purges abandoned sessions itself.
  }
}

/** Cross-repository mount; false when the registry would rather have an upload. */
export async function mountBlob(client: RegistryClient, repository: string, digest: Digest, from: string, signal?: AbortSignal): Promise<boolean> {
  const start = await startUpload(client, repository, { mount: digest, from, signal });
  if (start.mounted) return true;
  await cancelUpload(client, repository, start.location, signal);
  return false;
}

function withDigest(location: URL, digest: Digest): URL {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u;
}

/**
 * Pushes one blob: skip when present, mount when possible, else POST + one streamed PUT.
 * `body` is a Buffer or a factory, so no stream is opened for a blob that is skipped.
 */
export async function pushBlob(
  client: RegistryClient,
  repository: string,
  digest: Digest,
  size: number,
  body: Buffer | (() => Readable | Promise<Readable>),
  options: PushBlobOptions = {},
): Promise<PushResult> {
  const { signal } = options;
  if (options.skipExisting !== false && (await client.statBlob(repository, digest, { signal }))) return 'exists';
  const start = await startUpload(client, repository, options.mountFrom ? { mount: digest, from: options.mountFrom, signal } : { signal });
  if (start.mounted) return 'mounted';
  const stream = Buffer.isBuffer(body) ? body : await body();
  try {
    const res = await client.send({
      method: 'PUT',
      path: withDigest(start.location, digest),
      scopes: PUSH(repository),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: stream,
      signal,
    });
    if (res.status !== 201 && res.status !== 204) throw await unexpectedStatus(res, client.host, `PUT blob ${digest}`);
    discard(res);
    return 'uploaded';
  } catch (err) {
    if (!Buffer.isBuffer(stream)) abandon(stream);
    await cancelUpload(client, repository, start.location);
    throw err;
  }
}

/** Pushes a blob in chunks of at most chunkSize bytes (for sources of unknown length). */
export async function pushBlobChunked(
  client: RegistryClient,
  repository: string,
  digest: Digest,
  source: AsyncIterable<Uint8Array>,
  options: ChunkedPushOptions = {},
): Promise<PushResult> {
  const { signal } = options;
  const chunkSize = options.chunkSize ?? 8 << 20;
  if (options.skipExisting !== false && (await client.statBlob(repository, digest, { signal }))) return 'exists';
  const start = await startUpload(client, repository, options.mountFrom ? { mount: digest, from: options.mountFrom, signal } : { signal });
  if (start.mounted) return 'mounted';
  let location = start.location;
  let offset = 0;
  const patch = async (chunk: Buffer) => {
    const res = await client.send({
      method: 'PATCH',
      path: location,
      scopes: PUSH(repository),
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(chunk.length),
        'Content-Range': `${offset}-${offset + chunk.length - 1}`,
      },
      body: chunk,
      signal,
    });
    if (res.status !== 202) throw await unexpectedStatus(res, client.host, `PATCH blob ${digest} at ${offset}`);
    discard(res);
    const next = header(res.headers, 'location');
    if (next) location = new URL(next, res.url);
    offset += chunk.length;
  };
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const piece of source) {
      let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      while (buf.length > 0) {
        const take = Math.min(buf.length, chunkSize - pendingBytes);
        pending.push(buf.subarray(0, take));
        pendingBytes += take;
        buf = buf.subarray(take);
        if (pendingBytes === chunkSize) {
          await patch(Buffer.concat(pending, pendingBytes));
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    const last = Buffer.concat(pending, pendingBytes);
    const res = await client.send({
      method: 'PUT',
      path: withDigest(location, digest),
      scopes: PUSH(repository),
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(last.length),
        ...(last.length > 0 ? { 'Content-Range': `${offset}-${offset + last.length - 1}` } : {}),
      },
      body: last,
      signal,
    });
    if (res.status !== 201 && res.status !== 204) throw await unexpectedStatus(res, client.host, `PUT blob ${digest}`);
    discard(res);
    return 'uploaded';
  } catch (err) {
    await cancelUpload(client, repository, location);
    throw err;
  }
}

/** PUT of a manifest under a tag or digest; returns its digest (checked against the registry's). */
export async function putManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  content: Buffer,
  mediaType: string,
  signal?: AbortSignal,
): Promise<Digest> {
  const path = manifestPath(repository, reference);
  const algorithm = reference.includes(':') ? (tryParseDigest(reference)?.algorithm ?? 'sha256') : 'sha256';
  const digest = digestOf(content, algorithm);
  if (reference.includes(':') && reference !== digest) {
    throw new RegistryClientError('digest', `manifest content has digest ${digest}, not ${reference}`, { host: client.host });
  }
  const res = await client.send({ method: 'PUT', path, scopes: PUSH(repository), headers: { 'Content-Type': mediaType }, body: content, signal });
  if (res.status !== 201 && res.status !== 200) throw await unexpectedStatus(res, client.host, `PUT ${path}`);
  discard(res);
  const answered = header(res.headers, 'docker-content-digest');
  if (answered && tryParseDigest(answered)?.algorithm === algorithm && answered !== digest) {
    throw new RegistryClientError('digest', `PUT ${path}: registry stored ${answered}, expected ${digest}`, { host: client.host });
  }
  return digest;
}
