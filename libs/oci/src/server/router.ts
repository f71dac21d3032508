// The registry HTTP API as a reusable Express router: routes every /v2/ path to its resource
// handler, checks the method, calls the auth hook, and serializes every failure through the one
// error serializer. Mount it at "/" (or under a prefix: Location and Link headers follow).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { isOciError, OciError, serializeError } from '../errors.js';
import { baseHandlers } from './base.js';
import { blobHandlers } from './blobs.js';
import { catalogHandlers } from './catalog.js';
import { API_VERSION, API_VERSION_HEADER, type AccessScope, type Method, type ResolvedOptions, type ResourceHandlers, type RouterOptions } from './context.js';
import { manifestHandlers } from './manifests.js';
import { queryOf } from './http.js';
import { referrersHandlers } from './referrers.js';
import { matchRoute, type RouteKind, type RouteMatch } from './routes.js';
import { tagsHandlers } from './tags.js';
import { uploadHandlers, uploadsHandlers } from './uploads.js';

const HANDLERS: Record<RouteKind, ResourceHandlers> = {
  base: baseHandlers,
  catalog: catalogHandlers,
  tags: tagsHandlers,
  manifest: manifestHandlers,
  blob: blobHandlers,
  uploads: uploadsHandlers,
  upload: uploadHandlers,
  referrers: referrersHandlers,
};

/** Where handlers leave the matched route kind, for metrics and logs ("unknown" when none). */
export const ROUTE_LOCAL = 'ociRoute';
/** Where handlers leave the repository name, for logs. */
export const REPOSITORY_LOCAL = 'ociRepository';
/** Where the error middleware leaves the OCI error code it answered with, for logs. */
export const ERROR_LOCAL = 'ociError';

export const DEFAULT_MANIFEST_MAX_BYTES = 4 << 20;

export function createRegistryRouter(opts: RouterOptions): Router {
  const options: ResolvedOptions = {
    backend: opts.backend,
    authorize: opts.authorize,
    onServerError: opts.onServerError,
    manifestMaxBytes: opts.manifestMaxBytes ?? DEFAULT_MANIFEST_MAX_BYTES,
    bodyIdleTimeoutMs: opts.bodyIdleTimeoutMs ?? 60_000,
    maxPageEntries: opts.maxPageEntries ?? 1000,
  };
  const router = express.Router();

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    if (!/^\/v2(\/|$)/.test(req.path)) return next();
    res.setHeader(API_VERSION_HEADER, API_VERSION);
    res.locals[ROUTE_LOCAL] = 'unknown';
    const route = matchRoute(req.path);
    if (!route) throw new OciError('NOT_FOUND', `no route for ${req.method} ${req.path.slice(0, 200)}`);
    res.locals[ROUTE_LOCAL] = route.kind;
    if (route.name) res.locals[REPOSITORY_LOCAL] = route.name;
    const handlers = HANDLERS[route.kind];
    const method = req.method as Method;
    const handler = handlers[method];
    if (!handler) {
      throw new OciError('UNSUPPORTED', `${req.method} is not supported on this route`, undefined, {
        headers: { Allow: Object.keys(handlers).join(', ') },
      });
    }
    if (options.authorize) await options.authorize({ req, res, route, scopes: scopesFor(route, method, req) });

    const aborter = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborter.abort(new Error('client closed the connection'));
    });
    await handler({
      req,
      res,
      route,
      name: route.name ?? '',
      backend: options.backend,
      options,
      signal: aborter.signal,
      base: req.baseUrl,
    });
  });

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!/^\/v2(\/|$)/.test(req.path)) return next(err);
    const oci = toOciError(err);
    // A client that went away mid-response is not a server failure worth reporting.
    const clientGone = res.destroyed || req.socket.destroyed;
    if (oci.status >= 500 && !clientGone) options.onServerError?.(err, req);
    res.locals[ERROR_LOCAL] = oci.code;
    if (res.headersSent || clientGone) {
      // Failed mid-stream: cutting the connection is the only way to tell the client.
      res.destroy();
      return;
    }
    const s = serializeError(oci);
    // A request whose body was not read to the end cannot share its connection with the next one.
    if (!req.complete) res.setHeader('Connection', 'close');
    res.status(s.status).set(s.headers);
    res.setHeader('Content-Length', String(Buffer.byteLength(s.body)));
    res.end(req.method === 'HEAD' ? undefined : s.body);
  });
  return router;
}

function toOciError(err: unknown): OciError {
  if (isOciError(err)) return err;
  return new OciError('UNKNOWN', 'internal error', undefined, { cause: err });
}

/** The scopes a request needs, Docker-token style, for the auth hook. */
export function scopesFor(route: RouteMatch, method: Method, req: Request): AccessScope[] {
  if (route.kind === 'base') return [];
  if (route.kind === 'catalog') return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
  const name = route.name!;
  if (method === 'DELETE' && (route.kind === 'manifest' || route.kind === 'blob')) return [{ type: 'repository', name, actions: ['delete'] }];
  if (method === 'GET' || method === 'HEAD') {
    // Upload status is part of a push.
    return [{ type: 'repository', name, actions: route.kind === 'upload' ? ['pull', 'push'] : ['pull'] }];
  }
  const scopes: AccessScope[] = [{ type: 'repository', name, actions: ['pull', 'push'] }];
  const from = route.kind === 'uploads' ? queryOf(req).get('from') : null;
  if (from) scopes.push({ type: 'repository', name: from, actions: ['pull'] });
  return scopes;
}
