// Where the Kubernetes API is and how to authenticate to it: the in-cluster service account
// (token and CA mounted by the kubelet; the token file is re-read on every request, so rotated
// tokens are used), or a kubeconfig file (current context: server, CA, client certificate, bearer
// token or token file). Exec plugins and auth providers are not supported: the proxy runs in
// the cluster. @kubernetes/client-node does this too, but bundling it made the proxy's bundle
// a third larger (3.9 → 5.3 MB) and its start slower for everyone, even with this off.
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
  token(): string | undefined;
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
      token: () => readFileSync(path.join(SA_DIR, 'token'), 'utf8').trim(),
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
  if (user['exec'] || user['auth-provider']) throw new Error(`${where}: exec and auth-provider credentials are not supported`);
  const dir = path.dirname(file);
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
    token: () => token ?? (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined),
    source: where,
  };
}
