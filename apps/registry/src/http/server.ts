// The registry's HTTP server: Express around the protocol router, on a node:http server with
// every resource bounded (header size and count, time to send headers, body idle time, socket
// inactivity, keep-alive), and a drain that lets in-flight requests finish on shutdown.
import { createRegistryRouter, ROUTE_LOCAL, type AuthorizeHook, type RegistryBackend } from '@kuik/oci';
import type { Logger } from '@kuik/observability';
import express, { type Express } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RegistryConfig } from '../config.js';
import type { RegistryMetrics } from '../metrics.js';
import { observeRequests } from './observe.js';

/** Extra time a silent socket gets beyond the body idle timeout, so the clean 408 wins the race. */
const SOCKET_GRACE_MS = 5_000;

export interface HttpServer {
  server: Server;
  app: Express;
  address(): { host: string; port: number };
  /** Stops accepting, lets in-flight requests finish within the deadline, then cuts the rest. */
  drain(deadlineMs: number): Promise<void>;
}

export interface HttpServerOptions {
  config: RegistryConfig;
  backend: RegistryBackend;
  metrics: RegistryMetrics;
  logger: Logger;
  authorize?: AuthorizeHook;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const { config, logger } = opts;
  const { timeouts } = config.http;
  let draining = false;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(observeRequests(opts.metrics, logger, config.log.accessLog));
  app.use((_req, res, next) => {
    // While draining, tell keep-alive clients to reconnect (to another replica).
    if (draining) res.setHeader('Connection', 'close');
    next();
  });
  app.use(
    createRegistryRouter({
      backend: opts.backend,
      authorize: opts.authorize,
      manifestMaxBytes: config.limits.manifestMaxBytes,
      bodyIdleTimeoutMs: timeouts.idleMs,
      maxPageEntries: config.limits.maxPageEntries,
      onServerError: (err, req) => logger.error('request failed', { method: req.method, route: req.res?.locals[ROUTE_LOCAL], err }),
    }),
  );
  app.use((_req, res) => {
    res.status(404).type('text/plain').end('not found\n');
  });

  const server = createServer(
    {
      maxHeaderSize: config.limits.headerMaxBytes,
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      // How often Node enforces headersTimeout/requestTimeout (default 30 s is too coarse).
      connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
    },
    app,
  );
  server.maxHeadersCount = 100;
  // Backstop for a silent socket (a client that stops reading a download, or never finishes
  // anything): destroyed after the body idle time plus a grace.
  server.setTimeout(timeouts.idleMs + SOCKET_GRACE_MS, (socket: Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed requests, oversized headers, header timeouts: answer when we still can.
    if (socket.writable && !socket.destroyed) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.addr.port, config.http.addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    server,
    app,
    address() {
      const a = server.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    async drain(deadlineMs: number) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn('drain deadline reached; closing remaining connections', { deadlineMs });
        server.closeAllConnections();
      }, deadlineMs);
      timer.unref();
      // Connections that finish a response while draining become idle: close those too.
      const sweep = setInterval(() => server.closeIdleConnections(), 250);
      sweep.unref();
      await closed;
      clearTimeout(timer);
      clearInterval(sweep);
    },
  };
}
