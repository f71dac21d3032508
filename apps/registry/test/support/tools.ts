// Real client tools (skopeo, crane, umoci, ctr, the OCI conformance runner) and the registry run
// as its own process, for the client and conformance suites. Tools are found through
// @kuik/testing's requireTool, which fails with the install command when one is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, requireServer, waitForListening } from '@kuik/testing';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Resolve with the result instead of rejecting when the exit code is not 0. */
  allowFailure?: boolean;
}

/**
 * Runs a program without blocking the event loop (the registry under test may be in this very
 * process), keeping the last 64 KiB of each output stream; rejects on a non-zero exit or timeout.
 */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const keep = (s: string) => (s.length > 65_536 ? s.slice(-65_536) : s);
    child.stdout.on('data', (d: Buffer) => (stdout = keep(stdout + d.toString())));
    child.stderr.on('data', (d: Buffer) => (stderr = keep(stderr + d.toString())));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0 || options.allowFailure) return resolve(result);
      const why = signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exit ${code ?? signal}`;
      reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${why}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout.slice(-4000)}`));
    });
  });
}

/** A fresh directory under the repository's tmp/ (removed by the test that made it). */
export function tempDir(prefix: string): string {
  const base = path.join(repoRoot(), 'tmp', 'registry-tests');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, `${prefix}-`));
}

/** Resident set size of a process (VmRSS), in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; reports the peak. */
export function sampleRss(pid: number, everyMs = 100): { stop(): { peak: number; samples: number } } {
  let peak = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
      samples++;
    } catch {
      // the process is gone; the test will see that on its own
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, samples };
    },
  };
}

/** The registry run from its bundle (dist/apps/registry/main.js, built by the Jest global setup). */
export interface RegistryProcess {
  child: ChildProcess;
  url: string;
  /** host:port, as image references spell it. */
  host: string;
  root: string;
  stop(): Promise<number | null>;
}

export async function startRegistryProcess(root: string, env: NodeJS.ProcessEnv = {}): Promise<RegistryProcess> {
  const bundle = path.join(repoRoot(), 'dist/apps/registry/main.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build it with  npx nx build registry`);
  const child = spawn(process.execPath, [bundle], {
    env: {
      ...process.env,
      REGISTRY_HTTP_ADDR: '127.0.0.1:0',
      REGISTRY_HTTP_DEBUG_ADDR: '',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: root,
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
      REGISTRY_LOG_LEVEL: 'info',
      REGISTRY_LOG_ACCESSLOG_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const host = await waitForListening(child, { message: 'registry listening', what: 'registry', output: () => stderr });
  return {
    child,
    url: `http://${host}`,
    host,
    root,
    stop() {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A Debian docker-registry instance (tools/test-servers/docker-registry.sh), started when not running. */
export interface DockerRegistry {
  url: string;
  host: string;
  storageDir: string;
}

export async function startDockerRegistry(instance: string): Promise<DockerRegistry> {
  const script = path.join(repoRoot(), 'tools/test-servers/docker-registry.sh');
  await run('bash', [script, 'start', instance], { timeoutMs: 120_000 }).catch((err: Error) => {
    throw new Error(`cannot start Debian's docker-registry (instance ${instance}); by hand: bash tools/test-servers/docker-registry.sh start ${instance}\n${err.message}`);
  });
  const name = `docker-registry-${instance}` as const;
  const prefix = name.toUpperCase().replace(/-/g, '_');
  const env = requireServer(name);
  return { url: env[`${prefix}_URL`]!, host: env[`${prefix}_HOST`]!, storageDir: env[`${prefix}_STORAGE_DIR`]! };
}
