// Where the Kubernetes API is and how to authenticate to it: the in-cluster service account
// (token and CA mounted by the kubelet; the token file is re-read on every request, so rotated
// tokens are used), or a kubeconfig file (current context: server, CA, client certificate, bearer
// token, token file, or an exec credential plugin giving a token — `aws eks get-token`,
// `gke-gcloud-auth-plugin`, `kubelogin`; run without a terminal, its token kept until a minute
// before its expirationTimestamp or until the API server refuses it). Auth providers (removed
// from kubectl) are not supported. @kubernetes/client-node does this too, but bundling it made
// the proxy's bundle a third larger (3.9 → 5.3 MB) and its start slower for everyone.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

export interface KubeEndpoint {
  server: URL;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** The bearer token for the next request, if any. */
  token(): Promise<string | undefined>;
  /** The API server refused the token: get a new one for the next request (exec plugins). */
  invalidate?(): void;
  /** Where it came from, for logs. */
  source: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The given file; else $KUBECONFIG (first entry), ~/.kube/config, or the in-cluster service account. */
export function loadKubeEndpoint(file: string | null, env: NodeJS.ProcessEnv = process.env): KubeEndpoint {
  if (file) return fromKubeconfig(file);
  const fromEnv = env['KUBECONFIG']?.split(path.delimiter).find(Boolean);
  if (fromEnv) return fromKubeconfig(fromEnv);
  const home = path.join(homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfig(home);
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (host && existsSync(path.join(SA_DIR, 'token'))) {
    const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
    return {
      server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
      ca: readFileSync(path.join(SA_DIR, 'ca.crt')),
      insecureSkipTlsVerify: false,
      token: async () => readFileSync(path.join(SA_DIR, 'token'), 'utf8').trim(),
      source: 'in-cluster service account',
    };
  }
  throw new Error('no kubeconfig (kubernetes.kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a cluster');
}

type Named<T> = { name: string } & T;

function fromKubeconfig(file: string): KubeEndpoint {
  const doc = parse(readFileSync(file, 'utf8')) as {
    'current-context'?: string;
    contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
    clusters?: Named<{ cluster?: Record<string, unknown> }>[];
    users?: Named<{ user?: Record<string, unknown> }>[];
  };
  const where = `kubeconfig ${file}`;
  const contextName = doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`${where}: current context ${JSON.stringify(contextName)} not found`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster['server'] !== 'string') throw new Error(`${where}: cluster ${JSON.stringify(context.cluster)} has no server`);
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  if (user['auth-provider']) throw new Error(`${where}: auth-provider credentials are not supported (removed from kubectl: use an exec plugin)`);
  const dir = path.dirname(file);
  const exec = user['exec'] ? execPlugin(user['exec'], `${where}: users[${JSON.stringify(context.user)}].exec`, dir) : undefined;
  const material = (entry: Record<string, unknown>, key: string): Buffer | undefined => {
    const data = entry[`${key}-data`];
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const f = entry[key];
    return typeof f === 'string' ? readFileSync(path.resolve(dir, f)) : undefined;
  };
  const token = typeof user['token'] === 'string' ? user['token'] : undefined;
  const tokenFile = typeof user['tokenFile'] === 'string' ? path.resolve(dir, user['tokenFile']) : undefined;
  return {
    server: new URL(cluster['server']),
    ca: material(cluster, 'certificate-authority'),
    cert: material(user, 'client-certificate'),
    key: material(user, 'client-key'),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token: async () => token ?? (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : exec ? exec.token() : undefined),
    ...(exec ? { invalidate: () => exec.invalidate() } : {}),
    source: where,
  };
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const EXEC_TIMEOUT_MS = 30_000;
const EXEC_MAX_OUTPUT = 1 << 20;
/** A token is renewed this long before its expirationTimestamp. */
const EXEC_RENEW_BEFORE_MS = 60_000;

interface ExecPlugin {
  token(): Promise<string>;
  invalidate(): void;
}

/** An exec credential plugin (client.authentication.k8s.io), as kubectl runs one, non-interactive. */
function execPlugin(raw: unknown, where: string, dir: string): ExecPlugin {
  const e = (raw ?? {}) as Record<string, unknown>;
  const apiVersion = e['apiVersion'];
  if (typeof apiVersion !== 'string' || !EXEC_API_VERSIONS.includes(apiVersion)) {
    throw new Error(`${where}.apiVersion: must be one of ${EXEC_API_VERSIONS.join(', ')}, got ${JSON.stringify(apiVersion)}`);
  }
  if (typeof e['command'] !== 'string' || e['command'] === '') throw new Error(`${where}.command: required`);
  if (e['interactiveMode'] === 'Always') throw new Error(`${where}.interactiveMode: Always needs a terminal, which the proxy does not have`);
  const args = Array.isArray(e['args']) ? e['args'].map(String) : [];
  const env: Record<string, string> = {};
  for (const [i, v] of (Array.isArray(e['env']) ? (e['env'] as { name?: unknown; value?: unknown }[]) : []).entries()) {
    if (typeof v?.name !== 'string') throw new Error(`${where}.env[${i}].name: required`);
    env[v.name] = String(v.value ?? '');
  }
  // As kubectl: a command with a path separator is relative to the kubeconfig's directory.
  const command = e['command'].includes('/') ? path.resolve(dir, e['command']) : e['command'];
  let cached: { token: string; expiresAt?: number } | undefined;
  let running: Promise<string> | undefined;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
      execFile(
        command,
        args,
        { env: { ...process.env, ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) }, timeout: EXEC_TIMEOUT_MS, maxBuffer: EXEC_MAX_OUTPUT, windowsHide: true },
        (err, stdout, stderr) => {
          if (err) {
            const detail = String(stderr).trim().split('\n')[0] || err.message;
            reject(new Error(`${where}: ${e['command']} failed: ${detail}`));
            return;
          }
          let status: { token?: unknown; expirationTimestamp?: unknown; clientCertificateData?: unknown } | undefined;
          try {
            status = (JSON.parse(String(stdout)) as { status?: typeof status }).status;
          } catch {
            reject(new Error(`${where}: ${e['command']} did not print an ExecCredential (JSON)`));
            return;
          }
          if (typeof status?.token !== 'string' || status.token === '') {
            reject(new Error(`${where}: ${e['command']} gave ${status?.clientCertificateData ? 'a client certificate, which the proxy does not support (a token only)' : 'no status.token'}`));
            return;
          }
          const exp = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
          cached = { token: status.token, ...(Number.isFinite(exp) ? { expiresAt: exp } : {}) };
          resolve(status.token);
        },
      );
    });
  return {
    token() {
      if (cached && (cached.expiresAt === undefined || cached.expiresAt - EXEC_RENEW_BEFORE_MS > Date.now())) return Promise.resolve(cached.token);
      running ??= run().finally(() => (running = undefined));
      return running;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
