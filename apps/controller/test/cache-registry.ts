// The kuik registry (its bundle, built from the current sources) spawned by the test as the
// controller's cache registry: filesystem storage in a temporary directory, deletes enabled, on
// a free port, with its ops port (metrics, POST /gc) and a garbage collector the test triggers:
// a short grace period, so that what expiry removed is reclaimed by the next run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './harness.js';
import { buildApp } from './processes.js';

export interface CacheRegistry {
  url: string;
  host: string;
  /** The ops port: /metrics, /gc. */
  opsUrl: string;
  /** Where its storage lives (blob data under docker/registry/v2/blobs). */
  storageDir: string;
  stop(): Promise<void>;
}

export async function startCacheRegistry(): Promise<CacheRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kuik-cache-registry-'));
  const [port, opsPort] = [await freePort(), await freePort()];
  const config = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    http: { addr: `127.0.0.1:${port}`, debug: { addr: `127.0.0.1:${opsPort}` } },
    storage: { filesystem: { rootdirectory: `${dir}/storage`, sync: false }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    // Runs only when the test asks (POST /gc); what expiry left is old enough after a second.
    garbagecollection: { enabled: false, graceperiod: '1s', settle: '200ms', ratelimit: 0 },
  };
  writeFileSync(path.join(dir, 'config.yml'), JSON.stringify(config));
  const child: ChildProcess = spawn(process.execPath, [buildApp('registry'), '--config', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Resolved once, whenever the process ends: stop() may be called again after it exited (a
  // killed process has signalCode set and exitCode null, and 'exit' never fires a second time).
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('cache registry', 15_000, async () => (await fetch(`${url}/v2/`).catch(() => undefined))?.status === 200, 100);
  return {
    url,
    host: `127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    storageDir: `${dir}/storage`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
