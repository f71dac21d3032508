// The operations endpoint every kuik server exposes on its own port: /metrics (Prometheus text),
// /healthz (the process is alive and its event loop turns) and /readyz (its dependencies answer).
// Plain node:http, bounded: no request bodies are read, every request gets an answer within 5 s.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Resolves when ready; rejects (or resolves a string reason) when not. */
  check(signal: AbortSignal): Promise<void | string>;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness?: ReadinessCheck[];
  /** Per-check timeout for /readyz (default 3 s). */
  readinessTimeoutMs?: number;
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
      if (req.method !== 'GET' && req.method !== 'HEAD') {
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
