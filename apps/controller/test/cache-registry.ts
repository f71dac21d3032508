// The kuik registry (its bundle, built from the current sources) spawned by the test as the
// controller's cache registry: filesystem storage in a temporary directory, deletes enabled, on
// a free port, with its ops port (metrics, POST /gc) and a garbage collector the test triggers:
// a short grace period, so that what expiry removed is reclaimed by the next run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '@kuik/testing';
import { freePort, waitFor } from './harness.js';

export interface CacheRegistry {
  url: string;
  host: string;
  /** The ops port: /metrics, /gc. */
  opsUrl: string;
  /** Where its storage lives (blob data under docker/registry/v2/blobs). */
  storageDir: string;
  stop(): Promise<void>;
}

/** Bundles the registry from the current sources (once per test file). */
function registryBundle(): string {
  const root = repoRoot();
  const r = spawnSync(process.execPath, ['tools/build/bundle-app.mjs', 'registry'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the registry failed:\n${r.stdout}\n${r.stderr}`);
  return path.join(root, 'dist/apps/registry/main.js');
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
  const child: ChildProcess = spawn(process.execPath, [registryBundle(), '--config', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'inherit'] });
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
