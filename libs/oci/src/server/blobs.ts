// /v2/<name>/blobs/<digest>: download (with Range, ETag and optional redirect), existence check
// and deletion. Blob bytes are streamed from the backend with backpressure, never buffered.
import { pipeline } from 'node:stream/promises';
import { parseDigest } from '../digest.js';
import type { HandlerContext, ResourceHandlers } from './context.js';
import { parseRange } from './http.js';
import { requireDelete } from './require.js';

async function serveBlob(ctx: HandlerContext, method: 'GET' | 'HEAD'): Promise<void> {
  const { req, res, backend, name, signal } = ctx;
  const digest = parseDigest(ctx.route.param!).digest;
  const info = await backend.statBlob(name, digest, { signal });
  const etag = `"${digest}"`;
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('ETag', etag);
  if (matchesETag(req.headers['if-none-match'], etag)) {
    res.status(304).end();
    return;
  }
  // Only a download is worth sending elsewhere: a HEAD is answered from the stat above, with the
  // digest header that the storage's response would lack (and no second round trip).
  if (method === 'GET' && backend.blobRedirectURL) {
    const url = await backend.blobRedirectURL(name, digest, method, { signal });
    if (url) {
      res.status(307).setHeader('Location', url);
      res.end();
      return;
    }
  }
  res.setHeader('Accept-Ranges', 'bytes');
  // Content-addressed: the bytes behind a digest never change.
  res.setHeader('Cache-Control', 'max-age=31536000');
  res.setHeader('Content-Type', 'application/octet-stream');
  const range = parseRange(req.headers.range, info.size);
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.status(200).setHeader('Content-Length', String(info.size));
  }
  if (method === 'HEAD') {
    res.end();
    return;
  }
  const stream = await backend.getBlob(name, digest, range, { signal });
  await pipeline(stream, res);
}

export function matchesETag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === etag || v === '*';
  });
}

export const blobHandlers: ResourceHandlers = {
  GET: (ctx) => serveBlob(ctx, 'GET'),
  HEAD: (ctx) => serveBlob(ctx, 'HEAD'),
  async DELETE({ res, backend, name, route, signal }) {
    const ops = requireDelete(backend);
    const digest = parseDigest(route.param!).digest;
    await ops.deleteBlob(name, digest, { signal });
    res.status(202).setHeader('Content-Length', '0');
    res.end();
  },
};
