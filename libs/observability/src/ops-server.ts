// The operations endpoint every kuik server exposes on its own port: /metrics (Prometheus text),
// /healthz (the process is alive and its event loop turns), /readyz (its dependencies answer), and
// the operator actions an app registers (e.g. the registry's POST /gc). Plain node:http, bounded:
// no request bodies are accepted (actions take query parameters), every request gets an answer
// within 5 s (an action that takes longer starts in the background and reports through GET).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Resolves when ready; rejects (or resolves a string reason) when not. */
  check(signal: AbortSignal): Promise<void | string>;
}

/** An operator endpoint: JSON in its answer, parameters in the query string. */
export interface OpsAction {
  path: string;
  /** GET reports, POST acts; anything else is answered 405. */
  handle(method: 'GET' | 'POST', query: URLSearchParams): Promise<{ status: number; body: unknown }>;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness?: ReadinessCheck[];
  /** Per-check timeout for /readyz (default 3 s). */
  readinessTimeoutMs?: number;
  actions?: OpsAction[];
}

export interface OpsServer {
  server: Server;
  /** The bound address (port 0 resolves to a real port). */
  address(): { host: string; port: number };
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const timeoutMs = opts.readinessTimeoutMs ?? 3000;
  const server = createServer(async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      const action = opts.actions?.find((a) => a.path === url.pathname);
      if (action) {
        if (req.method !== 'GET' && req.method !== 'POST') {
          res.writeHead(405, { Allow: 'GET, POST' }).end();
        } else if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding']) {
          res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' }).end('no request body is accepted: pass parameters in the query string\n');
        } else {
          const { status, body } = await action.handle(req.method, url.searchParams);
          res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body) + '\n');
        }
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      } else if (url.pathname === '/metrics') {
        const body = await opts.registry.metrics();
        res.writeHead(200, { 'Content-Type': opts.registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
      } else if (url.pathname === '/healthz' || url.pathname === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      } else if (url.pathname === '/readyz') {
        const failures = await runChecks(opts.readiness ?? [], timeoutMs);
        const verbose = url.searchParams.has('verbose');
        if (failures.length === 0) res.writeHead(200, { 'Content-Type': 'text/plain' }).end(verbose ? 'ok (all checks passed)\n' : 'ok\n');
        else res.writeHead(503, { 'Content-Type': 'text/plain' }).end(failures.map((f) => `not ready: ${f}`).join('\n') + '\n');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      }
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  server.requestTimeout = 5000;
  server.headersTimeout = 5000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address() {
      const a = server.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function runChecks(checks: ReadinessCheck[], timeoutMs: number): Promise<string[]> {
  const results = await Promise.all(
    checks.map(async (c) => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const reason = await Promise.race([
          c.check(signal),
          new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(`timed out after ${timeoutMs} ms`))),
        ]);
        return typeof reason === 'string' ? `${c.name}: ${reason}` : null;
      } catch (err) {
        return `${c.name}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  return results.filter((r): r is string => r !== null);
}
