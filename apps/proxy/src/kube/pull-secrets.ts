// Origin credentials from Kubernetes: the Secrets that `Repository` resources (kuik.enix.io/
// v1alpha1, cluster-scoped) name in spec.pullSecretNames / spec.pullSecretsNamespace, and
// optionally one fixed Secret (kubernetes.pullSecret). Only those Secrets are read, each by
// name (list and watch with fieldSelector metadata.name=…): the proxy never lists the Secrets of
// a namespace, let alone of the cluster, and starts without waiting for any of it. A Repository's
// credentials are used for its registry host only (its own entry in the Secret's auths), so a
// Secret listing other registries lends them nothing. Secrets are watched while a Repository
// (or the configuration) names them, and forgotten when none does any more.
import type { Credentials, CredentialsResolver } from '@kuik/oci/client';
import { canonicalRegistryHost, parseDockerConfig } from '@kuik/oci/client';
import type { Logger } from '@kuik/observability';
import type { KubeApi } from './api.js';
import { listWatch } from './list-watch.js';

export const REPOSITORIES_PATH = '/apis/kuik.enix.io/v1alpha1/repositories';

interface Repository {
  metadata: { name?: string; resourceVersion?: string };
  spec?: { name?: string; pullSecretNames?: string[]; pullSecretsNamespace?: string };
}

interface Secret {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

interface WatchedSecret {
  stop: AbortController;
  /** host → credentials; empty until read, or when absent or unusable. */
  entries: Map<string, Credentials>;
}

export interface PullSecretsOptions {
  api: KubeApi;
  /** Watch Repository resources and the Secrets they name. */
  repositories: boolean;
  /** A Secret whose entries apply to every host they name (after the Repositories' own). */
  fixed?: { namespace: string; name: string };
  logger: Logger;
}

export class KubernetesPullSecrets implements CredentialsResolver {
  private readonly stop = new AbortController();
  private readonly secrets = new Map<string, WatchedSecret>();
  /** host → Secret keys ("ns/name") to try, in Repository name order. */
  private byHost = new Map<string, string[]>();
  private readonly fixedKey?: string;
  private repositoriesSynced = false;

  constructor(private readonly options: PullSecretsOptions) {
    if (options.fixed) this.fixedKey = `${options.fixed.namespace}/${options.fixed.name}`;
  }

  /** Starts the watches in the background; returns at once. */
  start(): this {
    if (this.fixedKey) this.watchSecret(this.fixedKey);
    if (this.options.repositories) {
      void listWatch<Repository>({
        api: this.options.api,
        path: REPOSITORIES_PATH,
        signal: this.stop.signal,
        logger: this.options.logger,
        onChange: (repos) => this.onRepositories(repos),
        onSynced: () => (this.repositoriesSynced = true),
      });
    }
    return this;
  }

  /** Whether the Repositories were listed at least once (diagnostics, tests). */
  get synced(): boolean {
    return this.repositoriesSynced;
  }

  /** Hosts that have credentials now (never the credentials themselves). */
  hosts(): string[] {
    const out = new Set<string>();
    for (const [host, keys] of this.byHost) if (keys.some((k) => this.secrets.get(k)?.entries.has(host))) out.add(host);
    if (this.fixedKey) for (const host of this.secrets.get(this.fixedKey)?.entries.keys() ?? []) out.add(host);
    return [...out].sort();
  }

  async resolve(host: string): Promise<Credentials | undefined> {
    const h = canonicalRegistryHost(host);
    for (const key of this.byHost.get(h) ?? []) {
      const c = this.secrets.get(key)?.entries.get(h);
      if (c) return c;
    }
    return this.fixedKey ? this.secrets.get(this.fixedKey)?.entries.get(h) : undefined;
  }

  close(): void {
    this.stop.abort();
    for (const s of this.secrets.values()) s.stop.abort();
    this.secrets.clear();
  }

  private onRepositories(repos: ReadonlyMap<string, Repository>): void {
    const byHost = new Map<string, string[]>();
    const wanted = new Set<string>();
    for (const name of [...repos.keys()].sort()) {
      const spec = repos.get(name)?.spec;
      const namespace = spec?.pullSecretsNamespace;
      if (!spec?.name || !namespace || !spec.pullSecretNames?.length) continue;
      const host = canonicalRegistryHost(registryHostOf(spec.name));
      const keys = byHost.get(host) ?? [];
      for (const secret of spec.pullSecretNames) {
        const key = `${namespace}/${secret}`;
        if (!keys.includes(key)) keys.push(key);
        wanted.add(key);
      }
      byHost.set(host, keys);
    }
    this.byHost = byHost;
    if (this.fixedKey) wanted.add(this.fixedKey);
    for (const key of wanted) if (!this.secrets.has(key)) this.watchSecret(key);
    for (const [key, s] of this.secrets) {
      if (wanted.has(key)) continue;
      s.stop.abort();
      this.secrets.delete(key);
    }
  }

  private watchSecret(key: string): void {
    const [namespace, name] = key.split('/') as [string, string];
    const watched: WatchedSecret = { stop: new AbortController(), entries: new Map() };
    this.secrets.set(key, watched);
    const { logger } = this.options;
    void listWatch<Secret>({
      api: this.options.api,
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
      query: { fieldSelector: `metadata.name=${name}` },
      signal: AbortSignal.any([this.stop.signal, watched.stop.signal]),
      logger,
      onChange: (found) => {
        const secret = found.get(name);
        watched.entries = secret ? secretEntries(secret, key, logger) : new Map();
        logger.info('pull secret read', { secret: key, present: secret !== undefined, hosts: [...watched.entries.keys()] });
      },
    });
  }
}

/** host → credentials of a kubernetes.io/dockerconfigjson (or legacy dockercfg) Secret. */
function secretEntries(secret: Secret, key: string, logger: Logger): Map<string, Credentials> {
  const data = secret.data ?? {};
  const encoded = data['.dockerconfigjson'] ?? data['.dockercfg'];
  if (!encoded) {
    logger.warn('pull secret has neither .dockerconfigjson nor .dockercfg', { secret: key, type: secret.type });
    return new Map();
  }
  try {
    return parseDockerConfig(Buffer.from(encoded, 'base64').toString('utf8'), `Secret ${key}`);
  } catch (err) {
    logger.warn('pull secret is not a valid Docker config', { secret: key, err });
    return new Map();
  }
}

/** The registry of a repository name as Docker reads it: "ghcr.io/org/app" → ghcr.io, "library/nginx" → docker.io. */
export function registryHostOf(repository: string): string {
  const slash = repository.indexOf('/');
  const first = slash < 0 ? '' : repository.slice(0, slash);
  return first && (first.includes('.') || first.includes(':') || first === 'localhost') ? first.toLowerCase() : 'docker.io';
}
