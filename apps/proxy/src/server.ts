// The proxy's HTTP server: plain node:http (the hot path is two routes that stream bytes),
// read-only (GET and HEAD), bounded headers, no overall request timeout (a 10 GB layer may take
// long; stalls are caught by the idle timeouts underneath). Every request is counted in
// kube_image_keeper_proxy_http_requests_total and logged as one JSON line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isOciError, isRefusal, OciError, privateCacheRepository } from '@kuik/oci';
import { serveBlob } from './blobs.js';
import { challenge, CHALLENGE, parseBasicAuth, privateTarget, type ClientCredentials } from './client-auth.js';
import type { ProxyContext } from './context.js';
import { API_VERSION_HEADERS, sendError, type Exchange, type RequestState } from './http.js';
import { serveManifest } from './manifests.js';
import { parseRoute, type Route, type Target } from './routing.js';

export function createProxyServer(ctx: ProxyContext): Server {
  const server = createServer(
    { maxHeaderSize: ctx.config.limits.headerMaxBytes, requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 30_000 },
    (req, res) => void handle(ctx, req, res),
  );
  server.maxHeadersCount = 100;
  return server;
}

async function handle(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const state: RequestState = { origin: '', cacheHit: false };
  const ex: Exchange = { req, res, state };
  res.once('close', () => observe(ctx, ex, started));
  // Requests carry no body we want; drain whatever comes so the connection stays usable.
  req.resume();
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new OciError('UNSUPPORTED', 'the proxy is read-only', undefined, { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    const route = parseRoute(req.url ?? '/', ctx.config.defaultOrigin);
    const client = ctx.config.clientCredentials.enabled ? parseBasicAuth(req.headers.authorization) : undefined;
    if (route.kind === 'base') {
      // As a registry with authentication does, so that clients which ping first (containers/image,
      // Docker) know to send the credentials they hold; clients holding none carry on anonymously.
      if (ctx.config.clientCredentials.enabled && !client && !req.headers.authorization) {
        throw new OciError('UNAUTHORIZED', 'anonymous access is allowed; send credentials for private repositories', undefined, { headers: { 'WWW-Authenticate': CHALLENGE } });
      }
      res.writeHead(200, { ...API_VERSION_HEADERS, 'Content-Type': 'application/json', 'Content-Length': '2' });
      res.end(req.method === 'HEAD' ? undefined : '{}');
      return;
    }
    state.origin = route.target.origin;
    await serveRoute(ctx, ex, route, client);
  } catch (err) {
    const oci = isOciError(err) ? err : new OciError('UNKNOWN', 'internal error', undefined, { cause: err });
    state.error = oci.code;
    if (oci.status >= 500 && !isOciError(err)) ctx.logger.error('request failed', { method: req.method, path: req.url?.split('?')[0], err });
    if (res.headersSent) res.destroy();
    else sendError(res, req, oci);
  }
}

/**
 * Serves a manifest or blob request: the shared route first, then, for a client with credentials,
 * the private route (client-auth.ts) for what the shared one could not serve.
 */
async function serveRoute(ctx: ProxyContext, ex: Exchange, route: Exclude<Route, { kind: 'base' }>, client: ClientCredentials | undefined): Promise<void> {
  const serve = (t: Target) => (route.kind === 'manifest' ? serveManifest(ctx, ex, t, route.reference) : serveBlob(ctx, ex, t, route.digest));
  const shared = route.target;
  if (!client || !ctx.privateRepositories.has(shared.cacheRepository)) {
    try {
      return await serve(shared);
    } catch (err) {
      if (ex.res.headersSent) throw err;
      if (!client) throw ctx.config.clientCredentials.enabled ? await anonymousFailure(ctx, route, err) : err;
      ex.state.cacheHit = false;
      if (isRefusal(err)) ctx.privateRepositories.mark(shared.cacheRepository);
      else if (!(isOciError(err) && (err.status === 404 || err.status >= 500))) throw err;
    }
  }
  const priv = privateTarget(shared, client);
  const probe = route.kind === 'manifest' ? ({ kind: 'manifest', reference: route.reference } as const) : ({ kind: 'blob', digest: route.digest } as const);
  const origin = ctx.origins.for(priv);
  let verdict: string;
  try {
    verdict = await ctx.grants.check(priv, probe, async () =>
      probe.kind === 'manifest' ? (await origin.headManifest(priv.repository, probe.reference)) !== null : (await origin.statBlob(priv.repository, probe.digest)) !== null,
    );
  } catch (err) {
    verdict = isOciError(err) && err.code === 'UNAVAILABLE' ? 'unavailable' : isOciError(err) && err.status === 404 ? 'not_found' : 'refused';
    throw err;
  } finally {
    ctx.metrics.clientCredentialChecks.labels(verdict!).inc();
  }
  ex.state.private = true;
  await serve(priv);
}

/**
 * What to answer an anonymous request the shared route failed: a challenge when the origin refused
 * it, or when the origin cannot be reached and the private area holds the object (a runtime asks
 * anonymously first and presents credentials only after a 401: without it, a privately cached
 * image could not be pulled during an origin outage). Otherwise the failure as it is.
 */
async function anonymousFailure(ctx: ProxyContext, route: Exclude<Route, { kind: 'base' }>, err: unknown): Promise<unknown> {
  if (isRefusal(err)) return challenge(err);
  if (!isOciError(err) || err.status < 500) return err;
  const repository = privateCacheRepository(route.target.cacheRepository);
  if (!repository) return err;
  const held = await (route.kind === 'manifest' ? ctx.cache.hasManifest(repository, route.reference) : ctx.cache.statBlob(repository, route.digest).then((s) => s !== null)).catch(
    () => false,
  );
  return held ? challenge(new OciError('UNAUTHORIZED', `${err.message}; a copy cached with credentials exists: present them`, err.detail)) : err;
}

function observe(ctx: ProxyContext, ex: Exchange, started: bigint): void {
  const { req, res, state } = ex;
  // A response cut short (client gone, failure mid-stream) is counted as 499, as nginx does.
  const status = res.writableFinished ? res.statusCode : 499;
  ctx.metrics.requests.labels(state.origin || 'none', String(status), String(state.cacheHit)).inc();
  if (!ctx.config.log.accessLog) return;
  const fields: Record<string, unknown> = {
    method: req.method,
    // The path only: query strings may carry tokens.
    path: (req.url ?? '').split('?')[0],
    status,
    cacheHit: state.cacheHit,
    durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
  };
  if (state.error) fields['error'] = state.error;
  if (state.private) fields['private'] = true;
  ctx.logger.info('request', fields);
}
