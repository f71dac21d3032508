// Blob uploads: POST /v2/<name>/blobs/uploads/ (new session, single-request monolithic upload
// with ?digest=, or cross-repository mount with ?mount=&from=) and the session URL
// /v2/<name>/blobs/uploads/<id> (GET status, PATCH chunk, PUT complete, DELETE cancel).
// Sessions live in the backend, not here: any replica can continue any upload.
import { parseDigest, tryParseDigest, type Digest } from '../digest.js';
import { isOciError, OciError } from '../errors.js';
import { isValidRepositoryName } from '../reference.js';
import type { AppendOptions, UploadState } from './backend.js';
import { requestBody, type RequestBody } from './body.js';
import type { HandlerContext, ResourceHandlers } from './context.js';
import { contentLength, parseContentRange, queryOf, uploadRangeHeader } from './http.js';
import { requirePush } from './require.js';

export function uploadLocation(ctx: HandlerContext, id: string): string {
  return `${ctx.base}/v2/${ctx.name}/blobs/uploads/${encodeURIComponent(id)}`;
}

export function blobLocation(ctx: HandlerContext, digest: Digest): string {
  return `${ctx.base}/v2/${ctx.name}/blobs/${digest}`;
}

function sessionHeaders(ctx: HandlerContext, state: UploadState): Record<string, string> {
  return {
    Location: uploadLocation(ctx, state.id),
    Range: uploadRangeHeader(state.size),
    'Docker-Upload-UUID': state.id,
    'Blob-Upload-Session-ID': state.id,
  };
}

function answerSession(ctx: HandlerContext, status: number, state: UploadState): void {
  ctx.res.status(status).set(sessionHeaders(ctx, state)).setHeader('Content-Length', '0');
  ctx.res.end();
}

function answerCreated(ctx: HandlerContext, digest: Digest): void {
  ctx.res.status(201).set({ Location: blobLocation(ctx, digest), 'Docker-Content-Digest': digest, 'Content-Length': '0' });
  ctx.res.end();
}

/** The digest to verify: the first ?digest= (all must be well-formed; the spec lets us check one). */
function requestedDigest(query: URLSearchParams): Digest | undefined {
  const all = query.getAll('digest');
  if (all.length === 0) return undefined;
  const parsed = all.map((d) => parseDigest(d));
  return parsed[0]!.digest;
}

/** Chunk position and length from Content-Range / Content-Length. */
function chunkOptions(ctx: HandlerContext): AppendOptions {
  const declared = contentLength(ctx.req);
  const header = ctx.req.headers['content-range'];
  const options: AppendOptions = { signal: ctx.signal };
  if (declared !== undefined) options.length = declared;
  if (header !== undefined) {
    const range = parseContentRange(header);
    const length = range.end - range.start + 1;
    if (declared !== undefined && declared !== length) {
      throw new OciError('SIZE_INVALID', 'Content-Range does not match Content-Length', { contentRange: header, contentLength: declared });
    }
    options.start = range.start;
    options.length = length;
  }
  return options;
}

function body(ctx: HandlerContext): RequestBody {
  return requestBody(ctx);
}

/** On 416 the spec wants the session's Location and Range so the client can resume. */
async function withSessionHeadersOnRangeError<T>(ctx: HandlerContext, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isOciError(err, 'RANGE_INVALID')) {
      Object.assign(err.headers, { Location: uploadLocation(ctx, id), 'Docker-Upload-UUID': id, 'Blob-Upload-Session-ID': id });
    }
    throw err;
  }
}

export const uploadsHandlers: ResourceHandlers = {
  async POST(ctx) {
    const push = requirePush(ctx.backend);
    const query = queryOf(ctx.req);
    const mount = query.get('mount');
    if (mount !== null) {
      const digest = tryParseDigest(mount);
      const from = query.get('from');
      // A mount that cannot happen falls back to a normal upload session (202), as the spec says.
      if (digest && (from === null || isValidRepositoryName(from))) {
        const info = await push.mountBlob(ctx.name, digest.digest, from ?? undefined, { signal: ctx.signal });
        if (info) return answerCreated(ctx, info.digest);
      }
    }
    const digest = requestedDigest(query);
    const state = await push.startUpload(ctx.name, { signal: ctx.signal });
    if (!digest) return answerSession(ctx, 202, state);
    // Single-request monolithic upload: the body is the whole blob.
    try {
      const info = await push.completeUpload(ctx.name, state.id, digest, body(ctx), { ...chunkOptions(ctx), start: 0 });
      answerCreated(ctx, info.digest);
    } catch (err) {
      // The client never learned this session's id: nothing may be left behind.
      await push.cancelUpload(ctx.name, state.id, { signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
      throw err;
    }
  },
};

export const uploadHandlers: ResourceHandlers = {
  async GET(ctx) {
    const state = await requirePush(ctx.backend).uploadStatus(ctx.name, ctx.route.param!, { signal: ctx.signal });
    answerSession(ctx, 204, state);
  },
  async PATCH(ctx) {
    const push = requirePush(ctx.backend);
    const id = ctx.route.param!;
    const options = chunkOptions(ctx);
    const state = await withSessionHeadersOnRangeError(ctx, id, () => push.appendUpload(ctx.name, id, body(ctx), options));
    answerSession(ctx, 202, state);
  },
  async PUT(ctx) {
    const push = requirePush(ctx.backend);
    const id = ctx.route.param!;
    const digest = requestedDigest(queryOf(ctx.req));
    if (!digest) throw new OciError('DIGEST_INVALID', 'digest query parameter missing');
    const options = chunkOptions(ctx);
    const info = await withSessionHeadersOnRangeError(ctx, id, () => push.completeUpload(ctx.name, id, digest, body(ctx), options));
    answerCreated(ctx, info.digest);
  },
  async DELETE(ctx) {
    await requirePush(ctx.backend).cancelUpload(ctx.name, ctx.route.param!, { signal: ctx.signal });
    ctx.res.status(204).end();
  },
};
