// Container images built without a daemon (tools/image/build.mjs): reproducible, small, two
// platforms, runnable, publishable, and equivalent to the Dockerfiles.
// Each app is built once per run (beforeAll) and every test reads that layout. Each app's amd64
// variant is unpacked with umoci and its entrypoint run in that root filesystem as user 65532
// (chroot inside private mount and pid namespaces); it must answer /healthz, and the registry image
// must take a skopeo round trip of every image (pushed by tools/image/publish.sh).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requireServer, requireTool } from '@kuik/testing';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const work = mkdtempSync(path.join(tmpdir(), 'kuik-images-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const APPS = ['registry', 'proxy', 'controller'] as const;
type App = (typeof APPS)[number];
const ARCH = { amd64: { elfMachine: 0x3e }, arm64: { elfMachine: 0xb7 } } as const;

interface BuildReport {
  index: string;
  platforms: { arch: string; manifest: string; compressedBytes: number }[];
}
interface Built {
  layout: string;
  report: BuildReport;
  version: string;
}

const version = (app: App): string => JSON.parse(readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8')).version;

/** An absolute path for a system binary (chroot lives in /usr/sbin, often outside a user's PATH). */
function systemBinary(name: string, install: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} is required by the image tests: install it with ${install}`);
}

/** The revision annotation is an input too: fixed once per run, since commits may land meanwhile. */
const revision = (() => {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
})();

/** Builds from the run's snapshot of the app's bundle (dist/ may be rebuilt meanwhile by other tasks). */
async function build(app: App, out: string, extra: string[] = []): Promise<BuildReport> {
  const bundle = path.join(work, `${app}-bundle`);
  await run(process.execPath, [path.join(root, 'tools/image/build.mjs'), app, '--bundle', bundle, '--out', out, ...extra], {
    cwd: root,
    env: { ...process.env, KUIK_IMAGE_REVISION: process.env['KUIK_IMAGE_REVISION'] ?? revision },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(readFileSync(path.join(out, 'build-report.json'), 'utf8'));
}

const built = {} as Record<App, Built>;

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    throw new Error('the image tests unpack and chroot into image root filesystems: run them as root (CI: sudo -E)');
  }
  for (const app of APPS) {
    if (!existsSync(path.join(root, 'dist/apps', app, 'main.js'))) {
      throw new Error(`dist/apps/${app}/main.js is missing: the workspace test target depends on "nx build ${app}"`);
    }
  }
  // The inputs of every build of this run: one snapshot of each bundle. One build at a time: each
  // compresses tens of MB and the machine has two cores.
  for (const app of APPS) {
    cpSync(path.join(root, 'dist/apps', app), path.join(work, `${app}-bundle`), { recursive: true });
    const layout = path.join(work, `${app}-a`);
    built[app] = { layout, report: await build(app, layout), version: version(app) };
  }
}, 900_000);

// ---- reading a layout -------------------------------------------------------------------------
function blob(layout: string, digest: string): Buffer {
  return readFileSync(path.join(layout, 'blobs/sha256', digest.slice('sha256:'.length)));
}
const json = (layout: string, digest: string) => JSON.parse(blob(layout, digest).toString('utf8'));
function platformManifest(b: Built, arch: string) {
  const index = JSON.parse(readFileSync(path.join(b.layout, 'index.json'), 'utf8'));
  const top = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === b.version);
  const multi = json(b.layout, top.digest);
  const entry = multi.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === arch);
  return { index, multi, manifest: json(b.layout, entry.digest), config: json(b.layout, json(b.layout, entry.digest).config.digest) };
}

// ---- running an entrypoint in an unpacked root filesystem -------------------------------------
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

interface Bundle {
  rootfs: string;
  config: { process: { user: { uid: number; gid: number }; args: string[]; env: string[]; cwd: string } };
}

async function unpack(b: Built, arch: string, name: string): Promise<Bundle> {
  const umoci = requireTool('UMOCI_BIN');
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  await run(umoci, ['unpack', '--image', `${b.layout}:${b.version}-${arch}`, dir]);
  return { rootfs: path.join(dir, 'rootfs'), config: JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) };
}

class Entrypoint {
  readonly logs: string[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => this.logs.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.logs.push(d.toString()));
    // Recorded from the start: an entrypoint may exit before anyone waits for it.
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * The image's entrypoint (or `args` instead of its arguments after the program), as the
   * image's user, with the image's environment plus `env`, in private mount and pid namespaces.
   */
  static start(bundle: Bundle, env: Record<string, string>, args?: string[]): Entrypoint {
    const { process: p } = bundle.config;
    const imageEnv = Object.fromEntries(p.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const unshare = systemBinary('unshare', 'apt-get install util-linux');
    const chroot = systemBinary('chroot', 'apt-get install coreutils');
    const argv = args ? [...p.args.slice(0, 2), ...args] : p.args;
    // The working directory of chroot's command is the new root: run it through the image's cwd
    // with node itself (the image has no shell).
    const child = spawn(unshare, ['--mount', '--pid', '--fork', chroot, `--userspec=${p.user.uid}:${p.user.gid}`, bundle.rootfs, ...argv], {
      env: { ...imageEnv, ...env },
      cwd: '/',
      // Its own process group: unshare ignores SIGTERM while it waits for its child, so signals go
      // to the whole group (the app inside is PID 1 of its namespace and handles SIGTERM itself).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Entrypoint(child);
  }

  output(): string {
    return this.logs.join('');
  }

  async exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`entrypoint still running after ${timeoutMs} ms:\n${this.output()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM as Kubernetes sends it; SIGKILL to the group if it does not stop in time. */
  async stop(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.signal('SIGTERM');
    try {
      return await this.exit(timeoutMs);
    } catch (err) {
      this.signal('SIGKILL');
      await this.exited;
      throw err;
    }
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, sig);
    } catch {
      // already gone
    }
  }

  async waitHealthy(url: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`entrypoint exited (${this.child.exitCode ?? this.child.signalCode}) before ${url} answered:\n${this.output()}`);
      }
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${this.output()}`);
  }
}

/** Runs `main.js <args>` in the image to completion. */
async function runToEnd(bundle: Bundle, env: Record<string, string>, args: string[]): Promise<{ code: number | null; output: string }> {
  const e = Entrypoint.start(bundle, env, args);
  const { code } = await e.exit(90_000);
  return { code, output: e.output() };
}

/** What each app needs to start in the test, given two free loopback ports. */
const SETUP: Record<App, (main: number, ops: number, bundle: Bundle) => Record<string, string>> = {
  // Keys from apps/registry/src/config.ts (distribution's names: http.addr, http.debug.addr).
  registry: (main, ops) => ({ REGISTRY_HTTP_ADDR: `127.0.0.1:${main}`, REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${ops}` }),
  // Keys from apps/proxy/src/config.ts: listen, metricsListen (one segment: PROXY_METRICSLISTEN).
  proxy: (main, ops) => ({ PROXY_LISTEN: `127.0.0.1:${main}`, PROXY_METRICSLISTEN: `127.0.0.1:${ops}` }),
  // Keys from apps/controller/src/config.ts. The controller talks to the test kube-apiserver with a
  // kubeconfig inside the root filesystem, in a namespace of its own that does not exist (it only
  // reads; its Lease writes fail), and serves the webhook from certificate files.
  controller: (main, ops, bundle) => {
    const kube = requireServer('kube-apiserver');
    const b64 = (key: string) => {
      const file = kube[key];
      if (!file) throw new Error(`the kube-apiserver test server published no ${key}`);
      return readFileSync(file).toString('base64');
    };
    const dir = path.join(bundle.rootfs, 'etc/kuik');
    mkdirSync(dir, { recursive: true });
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: test, cluster: {server: "' + kube['KUBE_APISERVER_URL'] + '", certificate-authority-data: ' + b64('KUBE_CA_FILE') + '}}]',
      'users: [{name: admin, user: {client-certificate-data: ' + b64('KUBE_CLIENT_CERT_FILE') + ', client-key-data: ' + b64('KUBE_CLIENT_KEY_FILE') + '}}]',
      'contexts: [{name: test, context: {cluster: test, user: admin}}]',
      'current-context: test',
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'kubeconfig'), kubeconfig, { mode: 0o644 });
    execFileSync(requireTool('OPENSSL_BIN'), [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt'),
    ], { stdio: 'ignore' });
    chmodSync(path.join(dir, 'tls.key'), 0o644);
    return {
      CONTROLLER_NAMESPACE: `kuik-image-test-${process.pid}`,
      CONTROLLER_KUBEAPI_KUBECONFIG: '/etc/kuik/kubeconfig',
      CONTROLLER_OPS_LISTEN: `127.0.0.1:${ops}`,
      CONTROLLER_WEBHOOK_LISTEN: `127.0.0.1:${main}`,
      CONTROLLER_WEBHOOK_TLS_MODE: 'files',
      CONTROLLER_WEBHOOK_TLS_CERTFILE: '/etc/kuik/tls.crt',
      CONTROLLER_WEBHOOK_TLS_KEYFILE: '/etc/kuik/tls.key',
      CONTROLLER_PROXY_MANAGENODELABELS: 'false',
    };
  },
};

/** POSTs an AdmissionReview to the webhook over TLS, trusting only its own certificate. */
async function admission(port: number, ca: string, review: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca, headers: { 'Content-Type': 'application/json' }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(review));
  });
}

// ---- ELF checks of an unpacked root filesystem ------------------------------------------------
/** Follows symlinks inside the root filesystem (absolute targets are relative to it). */
function resolveIn(rootfs: string, p: string, hops = 0): string {
  const full = path.join(rootfs, p);
  if (hops > 16 || !existsSync(path.dirname(full))) return full;
  try {
    if (!lstatSync(full).isSymbolicLink()) return full;
  } catch {
    return full;
  }
  const target = readlinkSync(full);
  return resolveIn(rootfs, target.startsWith('/') ? target : path.join(path.dirname(p), target), hops + 1);
}

function elf(file: string): { machine: number; interpreter?: string } {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) throw new Error(`${file} is not a 64-bit ELF file`);
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    let interpreter: string | undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== 3) continue; // PT_INTERP
      const buf = Buffer.alloc(Number(ph.readBigUInt64LE(at + 32)));
      readSync(fd, buf, 0, buf.length, Number(ph.readBigUInt64LE(at + 8)));
      interpreter = buf.toString('utf8').replace(/\0+$/, '');
    }
    return { machine: head.readUInt16LE(18), interpreter };
  } finally {
    closeSync(fd);
  }
}

// ---- the tests --------------------------------------------------------------------------------
describe('image builds', () => {
  it.each(APPS)('%s: the same inputs give the same digests', async (app) => {
    const second = await build(app, path.join(work, `${app}-b`));
    expect(second.index).toBe(built[app].report.index);
    expect(second.platforms.map((p) => p.manifest)).toEqual(built[app].report.platforms.map((p) => p.manifest));
    rmSync(path.join(work, `${app}-b`), { recursive: true, force: true });
  }, 300_000);

  it('every layer, the shared base and Node ones included, is rebuilt from its inputs to the same digest (no layer cache)', async () => {
    // The base and node layers are the same in every app's image: one uncached build proves them.
    const out = path.join(work, 'proxy-uncached');
    const again = await build('proxy', out, ['--no-layer-cache']);
    expect(again.index).toBe(built.proxy.report.index);
    rmSync(out, { recursive: true, force: true });
  }, 600_000);

  it.each(APPS)('%s: linux/amd64 and linux/arm64 in one index, each under 80 MB compressed, annotated', (app) => {
    const b = built[app];
    expect(b.report.platforms.map((p) => p.arch).sort()).toEqual(['amd64', 'arm64']);
    for (const p of b.report.platforms) expect(p.compressedBytes).toBeLessThan(80e6);
    const { multi, manifest, config } = platformManifest(b, 'amd64');
    expect(multi.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    for (const annotations of [multi.annotations, manifest.annotations, config.config.Labels]) {
      expect(annotations).toMatchObject({
        'org.opencontainers.image.title': `kuik-${app}`,
        'org.opencontainers.image.version': b.version,
        'org.opencontainers.image.revision': expect.stringMatching(/^([0-9a-f]{40}|unknown)$/),
        'org.opencontainers.image.source': expect.any(String),
        'org.opencontainers.image.created': new Date(Number(process.env['SOURCE_DATE_EPOCH'] ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      });
    }
    // Reported so that a size regression is visible in the test log, not only as a failure.
    console.log(`kuik-${app}:${b.version} ${b.report.index} ${b.report.platforms.map((p) => `${p.arch} ${(p.compressedBytes / 1e6).toFixed(1)} MB`).join(', ')}`);
  });

  it.each(['amd64', 'arm64'] as const)('the %s root filesystem holds a Node of that architecture, its loader and libraries, CA certificates and user 65532', async (arch) => {
    const bundle = await unpack(built.proxy, arch, `proxy-${arch}-fs`);
    try {
      const node = elf(path.join(bundle.rootfs, 'usr/local/bin/node'));
      expect(node.machine).toBe(ARCH[arch].elfMachine);
      expect(node.interpreter).toMatch(/^\/lib.*\/ld-linux-.*\.so\.\d$/);
      const loader = resolveIn(bundle.rootfs, node.interpreter ?? '');
      expect(existsSync(loader)).toBe(true);
      expect(elf(loader).machine).toBe(ARCH[arch].elfMachine);
      const triplet = arch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
      for (const lib of ['libc.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libstdc++.so.6']) {
        const found = [`lib/${triplet}/${lib}`, `usr/lib/${triplet}/${lib}`].map((p) => resolveIn(bundle.rootfs, p)).find((p) => existsSync(p));
        if (found === undefined) throw new Error(`${lib} is missing from the ${arch} root filesystem`);
        expect(elf(found).machine).toBe(ARCH[arch].elfMachine);
      }
      expect(readFileSync(path.join(bundle.rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(100);
      expect(readFileSync(path.join(bundle.rootfs, 'etc/passwd'), 'utf8')).toMatch(/^nonroot:x:65532:65532:/m);
      expect(bundle.config.process.user).toMatchObject({ uid: 65532, gid: 65532 });
      expect(bundle.config.process.args).toEqual(['/usr/local/bin/node', '/app/main.js']);
    } finally {
      rmSync(path.dirname(bundle.rootfs), { recursive: true, force: true });
    }
  }, 180_000);
});

describe.each(APPS)('image of %s', (app) => {
  it('runs its entrypoint as user 65532 in the unpacked amd64 root filesystem: --version, --check-config, then serving /healthz', async () => {
    const b = built[app];
    const bundle = await unpack(b, 'amd64', `${app}-run`);
    try {
      expect(bundle.config.process.user).toMatchObject({ uid: 65532, gid: 65532 });
      const [main, ops] = [await freePort(), await freePort()];
      const env = SETUP[app](main, ops, bundle);

      const v = await runToEnd(bundle, env, ['--version']);
      expect(v).toEqual({ code: 0, output: `${b.version}\n` });
      const check = await runToEnd(bundle, env, ['--check-config']);
      expect({ code: check.code, output: check.output }).toEqual({ code: 0, output: expect.stringContaining('configuration is valid') });

      const entry = Entrypoint.start(bundle, env);
      try {
        await entry.waitHealthy(`http://127.0.0.1:${ops}/healthz`);
        if (app === 'registry') await registryRoundTrip(main);
        if (app === 'controller') await webhookAnswers(main, readFileSync(path.join(bundle.rootfs, 'etc/kuik/tls.crt'), 'utf8'));
      } finally {
        const end = await entry.stop();
        // SIGTERM is a clean shutdown, as when Kubernetes stops the pod.
        expect({ ...end, output: end.code === 0 ? '' : entry.output() }).toEqual({ code: 0, signal: null, output: '' });
      }
    } finally {
      rmSync(path.dirname(bundle.rootfs), { recursive: true, force: true });
    }
  }, 300_000);

  it('has a Dockerfile equivalent to the daemonless build (user, entrypoint, workdir, files, env, ports, volumes, labels)', () => {
    const b = built[app];
    const dockerfile = readFileSync(path.join(root, 'apps', app, 'Dockerfile'), 'utf8');
    const spec = JSON.parse(readFileSync(path.join(root, 'apps', app, 'image.json'), 'utf8'));
    const { manifest, config } = platformManifest(b, 'amd64');
    const cfg = config.config;
    expect(dockerfile).toMatch(new RegExp(`^USER ${cfg.User}$`, 'm'));
    expect(dockerfile).toContain(`ENTRYPOINT ${JSON.stringify(cfg.Entrypoint).replace(/,/g, ', ')}`);
    expect(dockerfile).toMatch(new RegExp(`^WORKDIR ${cfg.WorkingDir}$`, 'm'));
    // The same files under /app: the app layer's entries against the Dockerfile's COPY of the bundle.
    const appLayer = blob(b.layout, manifest.layers[manifest.layers.length - 1].digest);
    const listing = execFileSync('tar', ['-tzf', '-'], { input: appLayer, encoding: 'utf8' }).split('\n');
    const layerFiles = listing.filter((f) => f.startsWith('app/') && !f.endsWith('/')).map((f) => f.slice('app/'.length)).sort();
    const copy = new RegExp(`^COPY ((?:dist/apps/${app}/\\S+ )+)/app/$`, 'm').exec(dockerfile);
    if (!copy?.[1]) throw new Error(`apps/${app}/Dockerfile has no single COPY of the bundle's files into /app/`);
    expect(copy[1].trim().split(/\s+/).map((f) => f.slice(`dist/apps/${app}/`.length)).sort()).toEqual(layerFiles);
    for (const p of spec.ports) expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${p.split('/')[0]}\\b`, 'm'));
    expect(Object.keys(cfg.ExposedPorts ?? {}).sort()).toEqual([...spec.ports].sort());
    for (const v of spec.volumes ?? []) expect(dockerfile).toMatch(new RegExp(`^VOLUME ${v}$`, 'm'));
    for (const [k, v] of Object.entries(spec.env as Record<string, string>)) expect(dockerfile).toContain(`ENV ${k}=${JSON.stringify(v)}`);
    for (const kv of cfg.Env as string[]) {
      const [k, v] = [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
      expect([`${k}=${v}`, `${k}=${JSON.stringify(v)}`].some((s) => dockerfile.includes(s)) ? kv : `${kv} is not set by the Dockerfile`).toBe(kv);
    }
    for (const key of ['title', 'version', 'revision', 'source', 'licenses']) expect(dockerfile).toContain(`org.opencontainers.image.${key}=`);
    expect(dockerfile).toContain(`org.opencontainers.image.title="kuik-${app}"`);
  });

  it("is what the chart pulls by default: the chart's repository is kuik-<app> and its tag names the layout's multi-arch index", () => {
    const b = built[app];
    const ref = execFileSync(process.execPath, [path.join(root, 'tools/image/reference.mjs'), app], { encoding: 'utf8' }).trim();
    const { index } = platformManifest(b, 'amd64');
    const named = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === ref.slice(ref.lastIndexOf(':') + 1));
    expect(named?.digest).toBe(b.report.index);
    expect(named?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(ref).toMatch(new RegExp(`/kuik-${app}:${b.version.replace(/\./g, '\\.')}$`));
    // tools/image/publish.sh pushes to that reference, or to the same name under KUIK_IMAGE_REGISTRY.
    const elsewhere = execFileSync(process.execPath, [path.join(root, 'tools/image/reference.mjs'), app, '--registry', 'example.test/ns'], { encoding: 'utf8' }).trim();
    expect(elsewhere).toBe(`example.test/ns/${ref.slice(ref.lastIndexOf('/') + 1)}`);
  });
});

/** Every image pushed by publish.sh into the registry image, read back unchanged. */
async function registryRoundTrip(port: number): Promise<void> {
  const skopeo = requireTool('SKOPEO_BIN');
  const registry = `127.0.0.1:${port}/kuik`;
  for (const app of APPS) {
    const b = built[app];
    await run('bash', [path.join(root, 'tools/image/publish.sh'), app], {
      cwd: root,
      env: { ...process.env, PATH: `${path.dirname(skopeo)}:${process.env['PATH']}`, KUIK_IMAGE_REGISTRY: registry, KUIK_IMAGE_LAYOUT: b.layout, KUIK_IMAGE_TLS_VERIFY: 'false' },
    });
    const ref = `docker://${registry}/kuik-${app}:${b.version}`;
    const { stdout: raw } = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', ref], { maxBuffer: 1 << 20 });
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(b.report.index);
  }
  // The registry's own image, all platforms, back into a fresh layout with the same digests.
  const back = path.join(work, 'roundtrip');
  await run(skopeo, ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${registry}/kuik-registry:${built.registry.version}`, `oci:${back}:rt`]);
  const idx = JSON.parse(readFileSync(path.join(back, 'index.json'), 'utf8'));
  expect(idx.manifests[0].digest).toBe(built.registry.report.index);
  for (const p of built.registry.report.platforms) expect(existsSync(path.join(back, 'blobs/sha256', p.manifest.slice(7)))).toBe(true);
  rmSync(back, { recursive: true, force: true });
}

/** The webhook in the image rewrites a pod's image to the node-local proxy. */
async function webhookAnswers(port: number, ca: string): Promise<void> {
  const uid = `image-test-${process.pid}`;
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' }] } },
    },
  };
  // The webhook listens once its thread has loaded the bundle, which may be after /healthz answers.
  let res: { status: number; body: string } | undefined;
  for (const deadline = Date.now() + 15_000; !res; ) {
    try {
      res = await admission(port, ca, review);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  expect(res.status).toBe(200);
  const answer = JSON.parse(res.body);
  expect(answer.response).toMatchObject({ uid, allowed: true, patchType: 'JSONPatch' });
  const patch = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'));
  expect(patch).toContainEqual({ op: 'replace', path: '/spec/containers/0/image', value: 'localhost:7439/docker.io/library/nginx:1.27' });
}
