// The bundle as the DaemonSet runs it: configured by PROXY_* variables, ready (/readyz) well
// under a second after spawn, serving at once, and leaving cleanly on SIGTERM.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '@kuik/testing';
import { tempDir } from './support/servers.js';

describe('proxy process', () => {
  it('is ready within a second of starting and exits cleanly on SIGTERM', async () => {
    const bundle = path.join(repoRoot(), 'dist/apps/proxy/main.js');
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: npx nx build proxy`);
    const started = Date.now();
    const child = spawn(process.execPath, [bundle], {
      env: {
        ...process.env,
        PROXY_LISTEN: '127.0.0.1:0',
        PROXY_METRICSLISTEN: '127.0.0.1:0',
        PROXY_REGISTRY_URL: 'http://127.0.0.1:9',
        PROXY_DATADIR: tempDir('startup'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const listening = await new Promise<{ addr: string; metricsAddr: string }>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const rec = JSON.parse(line) as { msg: string; addr: string; metricsAddr: string };
          if (rec.msg === 'proxy listening') resolve(rec);
        });
      });
      const ready = await fetch(`http://${listening.metricsAddr}/readyz`);
      const readyAfterMs = Date.now() - started;
      expect(ready.status).toBe(200);
      // Node itself takes ~100 ms to boot; the proxy adds little (nothing is listed or read).
      expect(readyAfterMs).toBeLessThan(1000);
      // The anonymous ping is challenged (clients that ping first then send the credentials they hold).
      const base = await fetch(`http://${listening.addr}/v2/`);
      expect(base.status).toBe(401);
      const metrics = await (await fetch(`http://${listening.metricsAddr}/metrics`)).text();
      expect(metrics).toContain('kube_image_keeper_proxy_http_requests_total{registry="none",statusCode="401",cacheHit="false"} 1');
      process.stderr.write(`[proxy tests] proxy ready ${readyAfterMs} ms after spawn\n`);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
