// The real servers the proxy tests run against: instances of Debian's docker-registry started
// with tools/test-servers/docker-registry.sh (each test file uses its own instances, so one
// file stopping its origin never disturbs another), and the kuik registry run from its bundle
// as a child process with a temporary storage root.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, requireServer, waitForListening, type TestServerName } from '@kuik/testing';

export interface OriginRegistry {
  name: string;
  url: string;
  /** host:port, as it appears in image references. */
  host: string;
  accessLog: string;
  caFile?: string;
  username?: string;
  password?: string;
}

const script = () => path.join(repoRoot(), 'tools/test-servers/docker-registry.sh');

/** Starts (or reuses) a docker-registry instance; fails with the script's output when it cannot. */
export function startOrigin(instance: string, flags: ('--tls' | '--htpasswd')[] = [], env: Record<string, string> = {}): OriginRegistry {
  try {
    execFileSync('bash', [script(), 'start', instance, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, ...env } });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`cannot start docker-registry instance ${instance}:\n${e.stderr?.toString() ?? ''}${e.stdout?.toString() ?? ''}\nstart it by hand with: bash tools/test-servers/docker-registry.sh start ${instance} ${flags.join(' ')}`);
  }
  return readOrigin(instance);
}

export function readOrigin(instance: string): OriginRegistry {
  const name = `docker-registry-${instance}` as TestServerName;
  const env = requireServer(name);
  const p = name.toUpperCase().replace(/[-.]/g, '_');
  const get = (k: string) => env[`${p}_${k}`];
  return {
    name,
    url: get('URL')!,
    host: get('HOST')!,
    accessLog: get('ACCESS_LOG')!,
    caFile: get('CA_FILE'),
    username: get('USERNAME'),
    password: get('PASSWORD'),
  };
}

export function stopOrigin(instance: string): void {
  execFileSync('bash', [script(), 'stop', instance], { stdio: 'ignore', timeout: 60_000 });
}

/** Lines of an origin's access log that fetched (GET) this repository's blob. */
export function blobGets(origin: OriginRegistry, repository: string, digest: string): number {
  const needle = `"GET /v2/${repository}/blobs/${digest} `;
  return readFileSync(origin.accessLog, 'utf8').split('\n').filter((l) => l.includes(needle)).length;
}

export function accessLogLines(origin: OriginRegistry, repository: string): string[] {
  return readFileSync(origin.accessLog, 'utf8').split('\n').filter((l) => l.includes(` /v2/${repository}/`));
}

/** A fresh directory under the repository's tmp/ (kept for post-mortems, cleaned by the OS or by hand). */
export function tempDir(prefix: string): string {
  const base = path.join(repoRoot(), 'tmp', 'proxy-tests');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, `${prefix}-`));
}

/** The kuik registry, run from dist/apps/registry/main.js (built by the Jest global setup). */
export class KuikRegistry {
  url = '';
  host = '';
  private child?: ChildProcess;
  private port = 0;

  constructor(readonly root: string = tempDir('kuik-registry')) {}

  static bundle(): string {
    const f = path.join(repoRoot(), 'dist/apps/registry/main.js');
    if (!existsSync(f)) throw new Error(`${f} is missing: build it with  npx nx build registry`);
    return f;
  }

  /** Starts on the previous port when restarting, so URLs handed out stay valid. */
  async start(): Promise<this> {
    const child = spawn(process.execPath, [KuikRegistry.bundle()], {
      env: {
        ...process.env,
        REGISTRY_HTTP_ADDR: `127.0.0.1:${this.port}`,
        REGISTRY_HTTP_DEBUG_ADDR: '',
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: this.root,
        REGISTRY_LOG_LEVEL: 'info',
        REGISTRY_LOG_ACCESSLOG_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const addr = await waitForListening(child, { message: 'registry listening', what: 'kuik registry', output: () => stderr });
    this.port = Number(addr.split(':').pop());
    this.host = `127.0.0.1:${this.port}`;
    this.url = `http://${this.host}`;
    return this;
  }

  /** SIGKILL: the registry vanishes mid-request, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }
}
