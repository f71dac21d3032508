// GET/HEAD /v2/…/manifests/<reference>. Cache first. A digest reference found in the cache is
// final: it never goes to the origin. A tag found in the cache is served as is while it is
// younger than the refresh interval; older, it is revalidated with a HEAD to the origin under a
// short deadline, and a slow or failing origin means the cached manifest is served. On a miss
// (or any cache failure) the manifest comes from the origin, is served, and the cache fill
// starts in the background.
import { OciError, accepts } from '@kuik/oci';
import type { Manifest } from '@kuik/oci/client';
import type { ProxyContext } from './context.js';
import { API_VERSION_HEADERS, originFailure, type Exchange } from './http.js';
import type { Target } from './routing.js';

export async function serveManifest(ctx: ProxyContext, ex: Exchange, target: Target, reference: string): Promise<void> {
  const byTag = !reference.includes(':');
  const tagKey = `${target.cacheRepository}:${reference}`;

  // A fill in progress holds the manifest: no need to ask anyone.
  const pending = ctx.filler.pendingManifest(target, reference);
  if (pending) return send(ctx, ex, pending, false);

  let cached: Manifest | null = null;
  let cacheErr: unknown;
  try {
    cached = await ctx.cache.getManifest(target.cacheRepository, reference);
  } catch (err) {
    cacheErr = err;
    ctx.logger.debug('cache lookup failed', { repository: target.cacheRepository, reference, err });
  }

  if (cached) {
    if (!byTag || ctx.tags.isFresh(tagKey)) return send(ctx, ex, cached, true);
    const current = await revalidate(ctx, target, reference, cached);
    return send(ctx, ex, current, current === cached);
  }

  // A fetch by a concurrent request may have completed while we looked in the cache.
  const fetched = ctx.filler.pendingManifest(target, reference);
  if (fetched) return send(ctx, ex, fetched, false);

  let manifest: Manifest;
  try {
    manifest = await ctx.originManifests.fetch(target, reference);
  } catch (err) {
    throw originFailure(target.origin, err, cacheErr);
  }
  if (byTag) ctx.tags.markValidated(tagKey);
  ctx.filler.fill(target, manifest, byTag ? reference : undefined);
  send(ctx, ex, manifest, false);
}

/** The manifest the tag should resolve to now: the cached one unless the origin says otherwise. */
async function revalidate(ctx: ProxyContext, target: Target, tag: string, cached: Manifest): Promise<Manifest> {
  const tagKey = `${target.cacheRepository}:${tag}`;
  const timeoutMs = ctx.config.tags.revalidateTimeoutMs;
  try {
    ctx.metrics.originFetches.labels(target.origin, 'revalidate').inc();
    const info = await ctx.origins.for(target).headManifest(target.repository, tag, { headersTimeoutMs: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    if (!info || info.digest === cached.digest) {
      // Unchanged, or gone from the origin: what we hold is the best answer either way.
      ctx.tags.markValidated(tagKey);
      ctx.metrics.tagRevalidations.labels(info ? 'unchanged' : 'gone').inc();
      return cached;
    }
    const fresh = await ctx.originManifests.fetch(target, tag);
    ctx.tags.markValidated(tagKey);
    ctx.metrics.tagRevalidations.labels('changed').inc();
    ctx.logger.info('tag changed at origin', { repository: target.cacheRepository, tag, from: cached.digest, to: fresh.digest });
    ctx.filler.fill(target, fresh, tag);
    return fresh;
  } catch (err) {
    ctx.tags.retryLater(tagKey, 30_000);
    ctx.metrics.tagRevalidations.labels('failed').inc();
    ctx.logger.warn('tag revalidation failed; serving the cached manifest', { origin: target.origin, repository: target.repository, tag, err });
    return cached;
  }
}

function send(ctx: ProxyContext, ex: Exchange, m: Manifest, fromCache: boolean): void {
  const { req, res, state } = ex;
  state.cacheHit = fromCache;
  // As a registry does: a client that cannot read this type is told the manifest is unknown.
  if (!accepts(req.headers.accept, m.mediaType)) {
    throw new OciError('MANIFEST_UNKNOWN', `manifest is of type ${m.mediaType}, which the Accept header excludes`, { mediaType: m.mediaType });
  }
  res.writeHead(200, {
    ...API_VERSION_HEADERS,
    'Content-Type': m.mediaType,
    'Content-Length': String(m.content.length),
    'Docker-Content-Digest': m.digest,
    ETag: `"${m.digest}"`,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  ctx.metrics.bytesServed.labels(fromCache ? 'cache' : 'origin').inc(m.content.length);
  res.end(m.content);
}
