// Registry credentials from Kubernetes pull secrets (kubernetes.io/dockerconfigjson and the
// legacy kubernetes.io/dockercfg), resolved per Repository. The controller reads only the
// Secrets a Repository names (get by name, never list), and mirrors what the proxy needs into
// one Secret in its own namespace (pull-secrets.ts), so the proxy reads one Secret by name
// instead of every Secret of the cluster.
import type { Secret } from '../kube/types.js';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker login with an identity provider). */
  identitytoken?: string;
  /** Bearer token used as is. */
  registrytoken?: string;
}

export interface DockerConfigEntry extends RegistryCredentials {
  auth?: string;
}

/** Docker config "auths" keyed by normalized registry host. */
export type AuthsByHost = Record<string, DockerConfigEntry>;

/** "https://index.docker.io/v1/", "registry-1.docker.io", "docker.io" → "docker.io"; scheme/path dropped. */
export function normalizeRegistryHost(key: string): string {
  let host = key.trim().replace(/^[a-z]+:\/\//i, '');
  host = host.split('/')[0] ?? host;
  host = host.toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com') return 'docker.io';
  return host;
}

/** Reads the auths of a pull secret; unknown types yield nothing. */
export function authsFromSecret(secret: Secret): AuthsByHost {
  const data = secret.data ?? {};
  let parsed: unknown;
  try {
    if (data['.dockerconfigjson']) parsed = (JSON.parse(Buffer.from(data['.dockerconfigjson'], 'base64').toString('utf8')) as { auths?: unknown }).auths;
    else if (data['.dockercfg']) parsed = JSON.parse(Buffer.from(data['.dockercfg'], 'base64').toString('utf8'));
  } catch {
    return {};
  }
  const out: AuthsByHost = {};
  if (!parsed || typeof parsed !== 'object') return out;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!value || typeof value !== 'object') continue;
    const v = value as Record<string, unknown>;
    const entry: DockerConfigEntry = {};
    for (const f of ['username', 'password', 'auth', 'identitytoken', 'registrytoken'] as const) if (typeof v[f] === 'string' && v[f]) entry[f] = v[f];
    out[normalizeRegistryHost(key)] = entry;
  }
  return out;
}

/** The credentials for `host` in `auths` ("auth" is base64 of user:password). */
export function credentialsFor(auths: AuthsByHost, host: string): RegistryCredentials | undefined {
  const e = auths[normalizeRegistryHost(host)];
  if (!e) return undefined;
  const creds: RegistryCredentials = {};
  if (e.username !== undefined) creds.username = e.username;
  if (e.password !== undefined) creds.password = e.password;
  if (e.auth && (creds.username === undefined || creds.password === undefined)) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      creds.username = decoded.slice(0, colon);
      creds.password = decoded.slice(colon + 1);
    }
  }
  if (e.identitytoken) creds.identitytoken = e.identitytoken;
  if (e.registrytoken) creds.registrytoken = e.registrytoken;
  return Object.keys(creds).length ? creds : undefined;
}
