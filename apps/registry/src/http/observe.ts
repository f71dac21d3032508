// Per-request metrics and one JSON access-log line per request. Logs carry what helps operate
// the registry (method, route, repository, status, error code, bytes, duration) and nothing that
// could be a secret: no query string (it may hold tokens), no headers.
import { BODY_BYTES_LOCAL, ERROR_LOCAL, REPOSITORY_LOCAL, ROUTE_LOCAL } from '@kuik/oci';
import type { Logger } from '@kuik/observability';
import type { NextFunction, Request, Response } from 'express';
import type { RegistryMetrics } from '../metrics.js';

export function observeRequests(metrics: RegistryMetrics, logger: Logger, accessLog: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    // Bytes out: growth of the connection's wire counter over this request (headers included).
    // Bytes in: the body as the handler consumed it (the socket may have read it before we start).
    const socket = req.socket;
    const writtenAtStart = socket.bytesWritten;
    metrics.inFlight.inc();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      metrics.inFlight.dec();
      const route = String(res.locals[ROUTE_LOCAL] ?? 'other');
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // A response cut short (client gone, mid-stream failure) is counted as status 499.
      const status = res.writableFinished ? String(res.statusCode) : '499';
      const bytesIn = Number(res.locals[BODY_BYTES_LOCAL] ?? 0);
      const bytesOut = Math.max(0, socket.bytesWritten - writtenAtStart);
      metrics.requests.labels(req.method, route, status).inc();
      metrics.duration.labels(req.method, route).observe(seconds);
      metrics.bytesReceived.labels(route).inc(bytesIn);
      metrics.bytesSent.labels(route).inc(bytesOut);
      if (!accessLog) return;
      const fields: Record<string, unknown> = { method: req.method, route, status: Number(status), bytesIn, bytesOut, durationMs: Math.round(seconds * 1000) };
      if (res.locals[REPOSITORY_LOCAL]) fields['repository'] = res.locals[REPOSITORY_LOCAL];
      if (res.locals[ERROR_LOCAL]) fields['error'] = res.locals[ERROR_LOCAL];
      logger.info('request', fields);
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}
