// Container images built without a daemon (tools/image/build.mjs): reproducible, small, runnable.
// Each app's amd64 variant is unpacked with umoci and its entrypoint run in that root filesystem
// as user 65532 (chroot inside private mount and pid namespaces), and must answer /healthz.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const work = mkdtempSync(path.join(tmpdir(), 'kuik-images-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function requireBinary(name: string, install: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} is required by the image tests: install it with ${install}`);
}

function build(app: string, out: string): { index: string; platforms: { arch: string; manifest: string; compressedBytes: number }[] } {
  execFileSync(process.execPath, [path.join(root, 'tools/image/build.mjs'), app, '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(readFileSync(path.join(out, 'build-report.json'), 'utf8'));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, logs: string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`entrypoint exited with ${child.exitCode}:\n${logs.join('')}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${logs.join('')}`);
}

interface AppRun {
  /** Environment for the entrypoint (on top of the image's), given two free loopback ports. */
  env(main: number, ops: number): Record<string, string>;
}

const apps: Record<string, AppRun> = {
  registry: {
    env: (main, ops) => ({ REGISTRY_HTTP_ADDR: `127.0.0.1:${main}`, REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${ops}` }),
  },
  proxy: {
    env: (main, ops) => ({ PROXY_LISTEN: `127.0.0.1:${main}`, PROXY_METRICS_LISTEN: `127.0.0.1:${ops}` }),
  },
};

describe.each(Object.entries(apps))('image of %s', (app, run) => {
  let first: ReturnType<typeof build>;
  const layout = path.join(work, `${app}-a`);

  beforeAll(() => {
    if (!existsSync(path.join(root, 'dist/apps', app, 'main.js'))) {
      throw new Error(`dist/apps/${app}/main.js is missing: the workspace test target depends on "nx build ${app}"`);
    }
    first = build(app, layout);
  }, 300_000);

  it('is reproducible: the same inputs give the same digests', () => {
    const second = build(app, path.join(work, `${app}-b`));
    expect(second.index).toBe(first.index);
    expect(second.platforms.map((p) => p.manifest)).toEqual(first.platforms.map((p) => p.manifest));
  }, 300_000);

  it('has linux/amd64 and linux/arm64, each under 80 MB compressed', () => {
    expect(first.platforms.map((p) => p.arch).sort()).toEqual(['amd64', 'arm64']);
    for (const p of first.platforms) expect(p.compressedBytes).toBeLessThan(80e6);
  });

  it('runs its entrypoint as user 65532 in the unpacked amd64 root filesystem and answers /healthz', async () => {
    const umoci = requireBinary('umoci', 'apt-get install umoci (or bash tools/test-servers/tools.sh install)');
    const bundle = path.join(work, `${app}-bundle`);
    const version = JSON.parse(readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8')).version;
    execFileSync(umoci, ['unpack', '--image', `${layout}:${version}-amd64`, bundle], { stdio: 'pipe' });
    const config = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    expect(config.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    const [main, ops] = [await freePort(), await freePort()];
    const env = Object.fromEntries((config.process.env as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const child = spawn('unshare', ['--mount', '--pid', '--fork', 'chroot', '--userspec=65532:65532', path.join(bundle, 'rootfs'), ...config.process.args], {
      env: { ...env, ...run.env(main, ops) },
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: string[] = [];
    child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    try {
      await waitHealthy(`http://127.0.0.1:${ops}/healthz`, child, logs);
      if (app === 'registry') {
        // The registry image serves a skopeo round trip of itself.
        const skopeo = requireBinary('skopeo', 'apt-get install skopeo');
        const ref = `127.0.0.1:${main}/kuik/registry:${version}`;
        execFileSync(skopeo, ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:${version}`, `docker://${ref}`], { stdio: 'pipe' });
        const back = path.join(work, 'roundtrip');
        execFileSync(skopeo, ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${ref}`, `oci:${back}:rt`], { stdio: 'pipe' });
        const idx = JSON.parse(readFileSync(path.join(back, 'index.json'), 'utf8'));
        expect(idx.manifests[0].digest).toBe(first.index);
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(bundle, { recursive: true, force: true });
    }
  }, 120_000);

  it('has a Dockerfile equivalent to the daemonless build (user, entrypoint, workdir, env, ports)', () => {
    const dockerfile = readFileSync(path.join(root, 'apps', app, 'Dockerfile'), 'utf8');
    const spec = JSON.parse(readFileSync(path.join(root, 'apps', app, 'image.json'), 'utf8'));
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const amd64 = index.manifests.find((m: { platform?: { architecture: string } }) => m.platform?.architecture === 'amd64');
    const blob = (d: string) => JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)), 'utf8'));
    const cfg = blob(blob(amd64.digest).config.digest).config;
    expect(dockerfile).toMatch(new RegExp(`^USER ${cfg.User}$`, 'm'));
    expect(dockerfile).toContain(`ENTRYPOINT ${JSON.stringify(cfg.Entrypoint).replace(/,/g, ', ')}`);
    expect(dockerfile).toMatch(new RegExp(`^WORKDIR ${cfg.WorkingDir}$`, 'm'));
    expect(dockerfile).toContain(`COPY dist/apps/${app}/ /app/`);
    for (const p of spec.ports) expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${p.split('/')[0]}\\b`, 'm'));
    for (const [k, v] of Object.entries(spec.env as Record<string, string>)) expect(dockerfile).toContain(`ENV ${k}=${JSON.stringify(v)}`);
    for (const kv of cfg.Env as string[]) {
      const [k] = kv.split('=');
      expect(dockerfile).toContain(`${k}=`);
    }
  });
});
