// A second Debian docker-registry (distribution 2.8) spawned by the test as the kuik cache
// registry: filesystem storage in a temporary directory, deletes enabled, on a free port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './harness.js';

export interface CacheRegistry {
  url: string;
  host: string;
  stop(): Promise<void>;
}

function registryBinary(): string {
  const r = spawnSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  if (!bin) throw new Error('docker-registry is not installed: bash tools/test-servers/docker-registry.sh install');
  return bin;
}

export async function startCacheRegistry(): Promise<CacheRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kuik-cache-registry-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log: {level: warn, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${dir}/storage}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}`,
    `http: {addr: 127.0.0.1:${port}, secret: kuik-cache-test}`,
  ].join('\n');
  writeFileSync(path.join(dir, 'config.yml'), config + '\n');
  // AWS_CA_BUNDLE, when set to a missing file, breaks the registry's start-up (S3 driver init).
  const env = { ...process.env };
  delete env['AWS_CA_BUNDLE'];
  const child: ChildProcess = spawn(registryBinary(), ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore', env });
  // Resolved once, whenever the process ends: stop() may be called again after it exited (a
  // killed process has signalCode set and exitCode null, and 'exit' never fires a second time).
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('cache registry', 15_000, async () => (await fetch(`${url}/v2/`).catch(() => undefined))?.status === 200, 100);
  return {
    url,
    host: `127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
