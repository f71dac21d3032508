// Several registry processes (the bundle, as in production) on one storage, behind a per-request
// round-robin HTTP proxy on loopback — a Kubernetes Service in miniature. Also: the `gc`
// subcommand run as its own process, a MinIO of the test's own (to restart at will), and the
// storage settings the HA suites share.
import { requireServer, repoRoot, waitForListening } from '@kuik/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ClusterStorage {
  kind: 'filesystem' | 's3';
  params: Record<string, unknown>;
  dispose(): void;
}

/** A fresh directory all replicas share (an RWX volume); `params` adds driver parameters. */
export function sharedDirectory(params: Record<string, unknown> = {}): ClusterStorage {
  const root = mkdtempSync(path.join(tmpdir(), 'kuik-ha-'));
  return { kind: 'filesystem', params: { ...params, rootdirectory: root }, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** The shared test MinIO, a fresh root in one bucket; or the given endpoint (a private MinIO). */
export function minioStorage(endpoint?: string): ClusterStorage {
  const env = requireServer('minio');
  return {
    kind: 's3',
    params: {
      regionendpoint: endpoint ?? env['MINIO_ENDPOINT'],
      region: env['MINIO_REGION'],
      bucket: 'kuik-registry-ha-tests',
      createbucket: true,
      forcepathstyle: true,
      accesskey: env['MINIO_ACCESS_KEY'],
      secretkey: env['MINIO_SECRET_KEY'],
      rootdirectory: `/ha-${randomUUID()}`,
    },
    dispose: () => undefined,
  };
}

export interface RegistryProc {
  child: ChildProcess;
  url: string;
  port: number;
  logs: string[];
  kill(signal: NodeJS.Signals): Promise<void>;
}

const BUNDLE = () => path.join(repoRoot(), 'dist/apps/registry/main.js');

export function writeConfig(dir: string, storage: ClusterStorage, gc: Record<string, unknown>): string {
  const file = path.join(dir, `registry-${randomUUID()}.yml`);
  const config = {
    version: '0.1',
    log: { level: 'info', accesslog: { disabled: true } },
    http: { addr: '127.0.0.1:0', debug: { addr: '' }, draintimeout: '2s' },
    storage: { [storage.kind]: storage.params, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    garbagecollection: gc,
  };
  // JSON is YAML.
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export async function startRegistryProc(configFile: string): Promise<RegistryProc> {
  if (!existsSync(BUNDLE())) throw new Error(`${BUNDLE()} is missing: build it with  npx nx build registry`);
  const child = spawn(process.execPath, [BUNDLE(), '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 2000) logs.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const addr = await waitForListening(child, { message: 'registry listening', what: 'registry', output: () => logs.join('\n'), onLine: keep });
  return {
    child,
    url: `http://${addr}`,
    port: Number(addr.slice(addr.lastIndexOf(':') + 1)),
    logs,
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs `main.js gc --config FILE [--dry-run]`; resolves with exit code and the JSON summary.
 * `interrupt` sends a signal once the output matches.
 */
export function runGcCommand(
  configFile: string,
  dryRun = false,
  interrupt?: { when: RegExp; signal: NodeJS.Signals },
): Promise<{ code: number | null; summary: Record<string, unknown> | null; output: string }> {
  return new Promise((resolve, reject) => {
    const args = [BUNDLE(), 'gc', '--config', configFile, ...(dryRun ? ['--dry-run'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let interrupted = false;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (interrupt && !interrupted && interrupt.when.test(out)) {
        interrupted = true;
        child.kill(interrupt.signal);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      let summary: Record<string, unknown> | null = null;
      for (const line of out.split('\n')) {
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if ('ran' in rec) summary = rec;
        } catch {
          // log line
        }
      }
      resolve({ code, summary, output: `${out.slice(-20_000)}\n${err}` });
    });
  });
}

export interface RoundRobin {
  url: string;
  /** Requests forwarded, per backend index. */
  counts: number[];
  close(): Promise<void>;
}

/**
 * A per-request round-robin reverse proxy on 127.0.0.1. A backend that refuses the connection is
 * skipped (as a Service drops a dead endpoint); a request cut mid-way by a dying backend gets 502.
 */
export async function startRoundRobin(backends: () => string[]): Promise<RoundRobin> {
  let next = 0;
  const counts: number[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const list = backends();
    const forward = (attempt: number) => {
      const i = next++ % list.length;
      const target = new URL(list[i]!);
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          counts[i] = (counts[i] ?? 0) + 1;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('error', () => res.destroy());
        },
      );
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        // Nothing sent upstream yet (connection refused): try the next backend, bounded.
        if (err.code === 'ECONNREFUSED' && attempt < list.length && !req.readableDidRead) return forward(attempt + 1);
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.pipe(upstream);
    };
    forward(1);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * A MinIO of this test's own (same binary as the shared one), so that it can be stopped and
 * started again without disturbing other suites. Found from the shared one's running process.
 */
export interface OwnMinio {
  endpoint: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startOwnMinio(binary: string): Promise<OwnMinio> {
  const env = requireServer('minio');
  const port = await freePort();
  const data = mkdtempSync(path.join(tmpdir(), 'kuik-ha-minio-'));
  let child: ChildProcess | null = null;
  const endpoint = `http://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(binary, ['server', data, '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${await freePort()}`], {
      env: {
        ...process.env,
        MINIO_ROOT_USER: env['MINIO_ACCESS_KEY'],
        MINIO_ROOT_PASSWORD: env['MINIO_SECRET_KEY'],
        MINIO_REGION: env['MINIO_REGION'],
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
        MINIO_CI_CD: '1',
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 300; i++) {
      const ok = await fetch(`${endpoint}/minio/health/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`own MinIO did not become ready on ${endpoint}`);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await exited;
    child = null;
  };
  await start();
  return {
    endpoint,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}
