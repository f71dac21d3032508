// Finds the credentials for an image: its Repository (by name) lists pull secrets in one
// namespace; each is read by name (cached for a minute, so a burst of reconciles reads a Secret
// once) and the entry for the image's registry host is used.
import type { Logger } from '@kuik/observability';
import type { Repository } from '../crds/types.js';
import { repositoryObjectName } from '../images/naming.js';
import type { ParsedImage } from '../images/reference.js';
import { isNotFound, type KubeClient } from '../kube/client.js';
import type { Informer } from '../kube/informer.js';
import type { Secret } from '../kube/types.js';
import { authsFromSecret, credentialsFor, type AuthsByHost, type RegistryCredentials } from './credentials.js';

export interface ResolvedSecrets {
  auths: AuthsByHost;
  /** Names (namespace/name) that could not be read, with why. */
  missing: { secret: string; reason: string }[];
}

export class CredentialResolver {
  private readonly cache = new Map<string, { at: number; value: Promise<Secret | null> }>();

  constructor(
    private readonly client: KubeClient,
    private readonly repositories: Informer<Repository>,
    private readonly logger: Logger,
    private readonly ttlMs = 60_000,
  ) {}

  /** The merged auths of a Repository's pull secrets (first secret wins per host). */
  async secretsOf(repo: Repository, signal: AbortSignal): Promise<ResolvedSecrets> {
    const out: ResolvedSecrets = { auths: {}, missing: [] };
    const ns = repo.spec.pullSecretsNamespace;
    for (const name of repo.spec.pullSecretNames ?? []) {
      if (!ns) {
        out.missing.push({ secret: name, reason: 'pullSecretsNamespace is not set' });
        continue;
      }
      try {
        const secret = await this.read(ns, name, signal);
        if (!secret) out.missing.push({ secret: `${ns}/${name}`, reason: 'not found' });
        else for (const [host, entry] of Object.entries(authsFromSecret(secret))) out.auths[host] ??= entry;
      } catch (err) {
        out.missing.push({ secret: `${ns}/${name}`, reason: (err as Error).message });
      }
    }
    return out;
  }

  async forImage(image: ParsedImage, signal: AbortSignal): Promise<RegistryCredentials | undefined> {
    const repo = this.repositories.get(repositoryObjectName(image));
    if (!repo?.spec.pullSecretNames?.length) return undefined;
    const { auths, missing } = await this.secretsOf(repo, signal);
    if (missing.length) this.logger.warn('pull secrets missing', { repository: repo.spec.name, missing });
    return credentialsFor(auths, image.domain);
  }

  private read(namespace: string, name: string, signal: AbortSignal): Promise<Secret | null> {
    const key = `${namespace}/${name}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.client
      .getOrNull<Secret>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, { signal })
      .catch((err: unknown) => {
        this.cache.delete(key);
        if (isNotFound(err)) return null;
        throw err;
      });
    this.cache.set(key, { at: Date.now(), value });
    return value;
  }
}
