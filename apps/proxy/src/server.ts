// The proxy's HTTP server: plain node:http (the hot path is two routes that stream bytes),
// read-only (GET and HEAD), bounded headers, no overall request timeout (a 10 GB layer may take
// long; stalls are caught by the idle timeouts underneath). Every request is counted in
// kube_image_keeper_proxy_http_requests_total and logged as one JSON line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isOciError, OciError } from '@kuik/oci';
import { serveBlob } from './blobs.js';
import type { ProxyContext } from './context.js';
import { API_VERSION_HEADERS, sendError, type Exchange, type RequestState } from './http.js';
import { serveManifest } from './manifests.js';
import { parseRoute } from './routing.js';

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
    if (route.kind === 'base') {
      res.writeHead(200, { ...API_VERSION_HEADERS, 'Content-Type': 'application/json', 'Content-Length': '2' });
      res.end(req.method === 'HEAD' ? undefined : '{}');
      return;
    }
    state.origin = route.target.origin;
    if (route.kind === 'manifest') await serveManifest(ctx, ex, route.target, route.reference);
    else await serveBlob(ctx, ex, route.target, route.digest);
  } catch (err) {
    const oci = isOciError(err) ? err : new OciError('UNKNOWN', 'internal error', undefined, { cause: err });
    state.error = oci.code;
    if (oci.status >= 500 && !isOciError(err)) ctx.logger.error('request failed', { method: req.method, path: req.url?.split('?')[0], err });
    if (res.headersSent) res.destroy();
    else sendError(res, req, oci);
  }
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
  ctx.logger.info('request', fields);
}
