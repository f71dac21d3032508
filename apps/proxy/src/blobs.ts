// GET/HEAD /v2/…/blobs/<digest>. Cache first: a hit is streamed from the kuik registry (or its
// redirect to object storage is passed on), and if the registry fails mid-stream the rest comes
// from the origin with a Range request, so the client never notices. A miss joins or starts the
// single-flight download, which fills the cache as it streams.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciError, parseRange, type Digest } from '@kuik/oci';
import { abandon, type BlobResponse } from '@kuik/oci/client';
import type { ProxyContext } from './context.js';
import { API_VERSION_HEADERS, originFailure, type Exchange } from './http.js';
import type { Target } from './routing.js';

export async function serveBlob(ctx: ProxyContext, ex: Exchange, target: Target, digest: Digest): Promise<void> {
  const head = ex.req.method === 'HEAD';
  let cacheErr: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (await serveFromCache(ctx, ex, target, digest, head)) return;
    } catch (err) {
      cacheErr = err;
      ctx.logger.debug('cache lookup failed', { repository: target.cacheRepository, digest, err });
      break;
    }
    // A download that finished into the cache between our lookup and now: look again.
    if (!ctx.downloads.recentlyCached(target, digest)) break;
  }
  if (head) return headFromOrigin(ctx, ex, target, digest, cacheErr);
  return serveFromOrigin(ctx, ex, target, digest, cacheErr);
}

async function serveFromCache(ctx: ProxyContext, ex: Exchange, target: Target, digest: Digest, head: boolean): Promise<boolean> {
  if (ctx.downloads.get(target, digest)) return false; // being fetched: the download has it first
  if (head) {
    const st = await ctx.cache.statBlob(target.cacheRepository, digest);
    if (!st) return false;
    ex.state.cacheHit = true;
    ex.res.writeHead(200, blobHeaders(digest, { 'Content-Length': String(st.size) }));
    ex.res.end();
    return true;
  }
  const range = requestedRange(ex.req.headers.range);
  const hit = await ctx.cache.getBlob(target.cacheRepository, digest, range);
  if (!hit) return false;
  ex.state.cacheHit = true;
  if (hit.kind === 'redirect') {
    ex.res.writeHead(307, { ...API_VERSION_HEADERS, Location: hit.location, 'Docker-Content-Digest': digest, 'Content-Length': '0' });
    ex.res.end();
    return true;
  }
  const headers = blobHeaders(digest, hit.length !== undefined ? { 'Content-Length': String(hit.length) } : {});
  if (hit.status === 206 && hit.range) headers['Content-Range'] = `bytes ${hit.range.start}-${hit.range.end}/${hit.size ?? '*'}`;
  ex.res.writeHead(hit.status, headers);
  await streamHit(ctx, ex, target, digest, hit);
  return true;
}

/**
 * Pipes the cached bytes straight to the client. If the registry fails part-way, the client has
 * its headers and some bytes already: the remainder comes from the origin with a Range request.
 */
async function streamHit(ctx: ProxyContext, ex: Exchange, target: Target, digest: Digest, hit: BlobResponse & { kind: 'content' }): Promise<void> {
  const { res } = ex;
  const body = hit.body;
  let sent = 0;
  const failure = await new Promise<Error | null>((resolve) => {
    body.on('data', (chunk: Buffer) => (sent += chunk.length));
    body.once('end', () => resolve(hit.length === undefined || sent >= hit.length ? null : new Error(`cache stream ended after ${sent} of ${hit.length} bytes`)));
    body.once('error', (err: Error) => resolve(err));
    res.once('close', () => resolve(null));
    body.pipe(res, { end: false });
  });
  ctx.metrics.bytesServed.labels('cache').inc(sent);
  if (res.destroyed || res.writableEnded) {
    abandon(body); // the client went away
    return;
  }
  if (!failure) {
    res.end();
    return;
  }
  body.unpipe(res);
  abandon(body);
  ctx.logger.warn('cache stream failed; resuming from origin', { repository: target.cacheRepository, digest, sent, err: failure });
  if (hit.length === undefined) throw failure; // nothing to resume against: cut the connection
  const from = (hit.range?.start ?? 0) + sent;
  const to = (hit.range?.start ?? 0) + hit.length - 1;
  await pipeline(fromOrigin(ctx, target, digest, from, to), res).catch((err: unknown) => clientGone(ctx, ex, err));
}

/** Bytes [from, to] of a blob from the origin, even if it ignores Range. */
async function* fromOrigin(ctx: ProxyContext, target: Target, digest: Digest, from: number, to: number): AsyncGenerator<Buffer> {
  ctx.metrics.originFetches.labels(target.origin, 'resume').inc();
  const res = await ctx.origins.for(target).getBlob(target.repository, digest, { range: { start: from, end: to } });
  if (res.kind !== 'content') throw new Error('unexpected redirect from origin');
  // An origin that ignores Range sends everything: skip what the client already has.
  let skip = res.status === 200 ? from : 0;
  let remaining = to - from + 1;
  try {
    for await (const raw of res.body as AsyncIterable<Buffer>) {
      let chunk = raw;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
      if (chunk.length === 0) continue;
      remaining -= chunk.length;
      ctx.metrics.bytesServed.labels('origin').inc(chunk.length);
      yield chunk;
      if (remaining === 0) break;
    }
  } finally {
    abandon(res.body);
  }
  if (remaining > 0) throw new Error('origin ended before the resumed range was complete');
}

async function headFromOrigin(ctx: ProxyContext, ex: Exchange, target: Target, digest: Digest, cacheErr: unknown): Promise<void> {
  const inProgress = ctx.downloads.get(target, digest);
  let size = inProgress?.download.size;
  if (size === undefined) {
    try {
      ctx.metrics.originFetches.labels(target.origin, 'stat').inc();
      const st = await ctx.origins.for(target).statBlob(target.repository, digest);
      if (!st) throw new OciError('BLOB_UNKNOWN', undefined, { digest });
      size = st.size;
    } catch (err) {
      throw originFailure(target.origin, err, cacheErr);
    }
  }
  ex.res.writeHead(200, blobHeaders(digest, Number.isFinite(size) ? { 'Content-Length': String(size) } : {}));
  ex.res.end();
}

async function serveFromOrigin(ctx: ProxyContext, ex: Exchange, target: Target, digest: Digest, cacheErr: unknown): Promise<void> {
  const { download } = ctx.downloads.getOrStart(target, digest, 'client');
  const hold = download.acquire();
  let reader: Readable;
  try {
    try {
      await download.ready;
    } catch (err) {
      throw originFailure(target.origin, err, cacheErr);
    }
    const size = download.size;
    const range = size !== undefined ? parseRange(ex.req.headers.range, size) : undefined;
    const headers = blobHeaders(digest, {});
    if (range && size !== undefined) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
    } else if (size !== undefined) {
      headers['Content-Length'] = String(size);
    }
    reader = range ? download.createReader(range.start, range.end + 1) : download.createReader(0);
    ex.res.writeHead(range ? 206 : 200, headers);
  } finally {
    hold();
  }
  reader.on('data', (chunk: Buffer) => ctx.metrics.bytesServed.labels('origin').inc(chunk.length));
  // The client going away ends only its reader: the download and the cache fill carry on.
  await pipeline(reader, ex.res).catch((err: unknown) => clientGone(ctx, ex, err));
}

function clientGone(ctx: ProxyContext, ex: Exchange, err: unknown): void {
  if (!ex.res.writableFinished) {
    ctx.logger.debug('blob response ended early', { err });
    ex.res.destroy();
  }
}

function blobHeaders(digest: Digest, extra: Record<string, string>): Record<string, string> {
  return {
    ...API_VERSION_HEADERS,
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    ...extra,
  };
}

/** A single "bytes=a-b" / "bytes=a-" range to ask the cache for; anything else means the whole blob. */
function requestedRange(header: string | undefined): { start: number; end?: number } | undefined {
  const m = header ? /^\s*bytes=(\d+)-(\d*)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  return m[2] ? { start: Number(m[1]), end: Number(m[2]) } : { start: Number(m[1]) };
}
