// /v2/<name>/manifests/<reference>: pull (with content negotiation), push and delete.
import { OciError } from '../errors.js';
import { parseManifestReference } from '../reference.js';
import { matchesETag } from './blobs.js';
import { requestBody } from './body.js';
import type { HandlerContext, ResourceHandlers } from './context.js';
import { accepts, readBoundedBody } from './http.js';
import { requireDelete, requirePush } from './require.js';

async function serveManifest(ctx: HandlerContext, method: 'GET' | 'HEAD'): Promise<void> {
  const { req, res, backend, name, signal } = ctx;
  const reference = parseManifestReference(ctx.route.param!);
  const manifest = await backend.getManifest(name, reference, { signal });
  // Like distribution: a client that cannot read the stored type is told the manifest is unknown.
  if (!accepts(req.headers.accept, manifest.mediaType)) {
    throw new OciError('MANIFEST_UNKNOWN', `manifest is of type ${manifest.mediaType}, which the Accept header excludes`, {
      mediaType: manifest.mediaType,
    });
  }
  const etag = `"${manifest.digest}"`;
  res.setHeader('Docker-Content-Digest', manifest.digest);
  res.setHeader('ETag', etag);
  res.setHeader('Content-Type', manifest.mediaType);
  if (matchesETag(req.headers['if-none-match'], etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).setHeader('Content-Length', String(manifest.content.length));
  res.end(method === 'HEAD' ? undefined : manifest.content);
}

export const manifestHandlers: ResourceHandlers = {
  GET: (ctx) => serveManifest(ctx, 'GET'),
  HEAD: (ctx) => serveManifest(ctx, 'HEAD'),
  async PUT(ctx) {
    const push = requirePush(ctx.backend);
    const reference = parseManifestReference(ctx.route.param!);
    const content = await readBoundedBody(ctx.req, requestBody(ctx), ctx.options.manifestMaxBytes);
    const result = await push.putManifest(ctx.name, reference, content, ctx.req.headers['content-type'], { signal: ctx.signal });
    ctx.res.status(201);
    ctx.res.setHeader('Location', `${ctx.base}/v2/${ctx.name}/manifests/${result.digest}`);
    ctx.res.setHeader('Docker-Content-Digest', result.digest);
    if (result.subject) ctx.res.setHeader('OCI-Subject', result.subject);
    ctx.res.setHeader('Content-Length', '0');
    ctx.res.end();
  },
  async DELETE(ctx) {
    const ops = requireDelete(ctx.backend);
    const reference = parseManifestReference(ctx.route.param!);
    await ops.deleteManifest(ctx.name, reference, { signal: ctx.signal });
    ctx.res.status(202).setHeader('Content-Length', '0');
    ctx.res.end();
  },
};
