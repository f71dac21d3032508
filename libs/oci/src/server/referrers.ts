// GET /v2/<name>/referrers/<digest>?artifactType= — the manifests whose subject is <digest>, as an
// OCI image index. An unknown subject is an empty index (never 404: a 404 tells clients the API
// is unsupported and sends them to the tag-schema fallback).
import { parseDigest } from '../digest.js';
import { OciError } from '../errors.js';
import { MediaType } from '../media-types.js';
import type { ResourceHandlers } from './context.js';
import { queryOf } from './http.js';

export const referrersHandlers: ResourceHandlers = {
  async GET(ctx) {
    if (!ctx.backend.listReferrers) throw new OciError('NOT_FOUND', 'the referrers API is not available');
    const subject = parseDigest(ctx.route.param!).digest;
    const artifactType = queryOf(ctx.req).get('artifactType') || undefined;
    const listed = await ctx.backend.listReferrers(ctx.name, subject, artifactType ? { artifactType } : {}, { signal: ctx.signal });
    // Filtered here as well, so OCI-Filters-Applied is true whatever the backend did with the hint.
    const manifests = artifactType ? listed.filter((d) => d.artifactType === artifactType) : listed;
    if (artifactType) ctx.res.setHeader('OCI-Filters-Applied', 'artifactType');
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests });
    ctx.res.status(200).setHeader('Content-Type', MediaType.OciIndex);
    ctx.res.setHeader('Content-Length', String(Buffer.byteLength(body)));
    ctx.res.end(body);
  },
};
