// ImageRegistries on @kuik/oci's registry client: the kuik registry (configured by URL) and one
// client per origin host and set of credentials, created on first use. A client holds the
// tokens it obtained, so images of one Repository share them; different pull secrets for the
// same host get different clients (a token is only valid for the credentials it came from).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  ChainedCredentials,
  cloudCredentialsFrom,
  copyImage,
  discard,
  hostOptionsFromUrl,
  manifestPath,
  RegistryClient,
  RegistryClientError,
  StaticCredentials,
  type Credentials,
  type CredentialsResolver,
} from '@kuik/oci/client';
import { isIndexMediaType, parseManifest, privateCacheRepository } from '@kuik/oci';
import type { ControllerConfig } from '../config.js';
import { cacheRepository, manifestReference, type ParsedImage } from '../images/reference.js';
import type { RegistryCredentials } from './credentials.js';
import type { ImageRegistries, ManifestInfo } from './port.js';

/** Origin clients kept at once; the least recently used one is closed beyond this. */
const MAX_ORIGIN_CLIENTS = 128;
const USER_AGENT = 'kuik-controller';

/**
 * The oci client's credentials from a pull-secret entry; undefined when it has none it can use.
 * Docker's order (as parseDockerConfig in @kuik/oci, which the proxy uses): a registry token,
 * then an identity token (`docker login` stores it next to the username with an empty
 * password), then username/password.
 */
export function clientCredentials(c: RegistryCredentials | undefined): Credentials | undefined {
  if (!c) return undefined;
  if (c.registrytoken) return { registryToken: c.registrytoken };
  if (c.identitytoken) return { identityToken: c.identitytoken };
  if (c.username !== undefined && c.password !== undefined) return { username: c.username, password: c.password };
  return undefined;
}

export function createImageRegistries(config: ControllerConfig): ImageRegistries {
  const caFile = config.registry.rootCertificateAuthoritiesFile;
  const ca = caFile ? [readFileSync(caFile, 'utf8')] : [];
  const insecure = new Set(config.registry.insecureRegistries.map((h) => h.toLowerCase()));
  const cache = new RegistryClient({ ...hostOptionsFromUrl(config.registry.url, { ca }), userAgent: USER_AGENT, connections: 16 });
  const origins = new Map<string, RegistryClient>();
  // Without a pull secret for the host: the controller's own cloud identity (ECR, Google, ACR), if one applies.
  const cloud = cloudCredentialsFrom(config.credentials, (host) => insecure.has(host.toLowerCase()));
  const ownIdentity: CredentialsResolver = cloud.length === 0 ? new StaticCredentials({}) : new ChainedCredentials(cloud);

  const origin = (host: string, credentials: RegistryCredentials | undefined): RegistryClient => {
    const creds = clientCredentials(credentials);
    const key = `${host}\n${creds ? createHash('sha256').update(JSON.stringify(creds)).digest('hex') : ''}`;
    let client = origins.get(key);
    if (client) {
      origins.delete(key); // re-inserted below: Map order is recency
    } else {
      client = new RegistryClient({
        host,
        insecure: insecure.has(host.toLowerCase()),
        ca,
        credentials: creds ? new StaticCredentials({ [host]: creds }) : ownIdentity,
        userAgent: USER_AGENT,
        connections: 8,
      });
      if (origins.size >= MAX_ORIGIN_CLIENTS) {
        const [oldest, c] = origins.entries().next().value!;
        origins.delete(oldest);
        void c.close().catch(() => undefined);
      }
    }
    origins.set(key, client);
    return client;
  };

  const info = (m: { digest: string; mediaType: string; size: number }): ManifestInfo => ({
    digest: m.digest,
    mediaType: m.mediaType,
    ...(Number.isFinite(m.size) ? { size: m.size } : {}),
  });

  return {
    async headCached(image, signal) {
      // The shared area, then the private one (what the proxy cached with a pod's own credentials).
      for (const repository of cacheAreas(image)) {
        const m = await cache.headManifest(repository, manifestReference(image), { signal });
        if (m) return info(m);
      }
      return null;
    },

    async headUpstream(image, credentials, signal) {
      const m = await origin(image.domain, credentials).headManifest(image.path, manifestReference(image), { signal });
      return m && info(m);
    },

    async copyToCache(image: ParsedImage, credentials, signal, area = 'shared') {
      const reference = manifestReference(image);
      const areas = cacheAreas(image);
      const repository = area === 'private' ? areas[1] : areas[0];
      if (!repository) throw new Error(`${cacheRepository(image)}: too long a name to cache in the private area`);
      const result = await copyImage(
        { client: origin(image.domain, credentials), repository: image.path, reference },
        // A digest-pinned image is stored by digest only; a tag keeps its name in the cache.
        { client: cache, repository, tags: image.digest ? [] : [reference] },
        { allPlatforms: true, signal },
      );
      return { digest: result.digest, mediaType: result.mediaType };
    },

    async deleteCached(image, digest, onlyTag, signal) {
      const results = [];
      for (const repository of cacheAreas(image)) results.push(await deleteIn(repository, image, digest, onlyTag, signal));
      return results.includes('deleted') ? 'deleted' : results.includes('unsupported') ? 'unsupported' : 'absent';
    },

    async cachedIndexChildren(image, digest, signal) {
      const children = new Set<string>();
      for (const repository of cacheAreas(image)) for (const d of await indexChildrenIn(repository, digest, signal)) children.add(d);
      return [...children];
    },

    pingCache: (signal) => cache.ping(signal),

    async close() {
      await Promise.all([cache, ...origins.values()].map((c) => c.close().catch(() => undefined)));
      origins.clear();
    },
  };

  async function deleteIn(repository: string, image: ParsedImage, digest: string, onlyTag: boolean, signal: AbortSignal): Promise<'deleted' | 'absent' | 'unsupported'> {
    const reference = onlyTag ? manifestReference(image) : digest;
    const path = manifestPath(repository, reference);
    const res = await cache.send({ method: 'DELETE', path, scopes: [`repository:${repository}:delete`], signal });
    discard(res);
    if (res.status === 202 || res.status === 200 || res.status === 204) return 'deleted';
    if (res.status === 404) return 'absent';
    // Deletes disabled (405 UNSUPPORTED) or tag deletion refused (distribution 2.x: 400/405).
    if (res.status === 405 || (onlyTag && res.status === 400)) return 'unsupported';
    throw new RegistryClientError(res.status === 401 || res.status === 403 ? 'auth' : 'http', `DELETE ${path}: HTTP ${res.status}`, { host: cache.host, status: res.status });
  }

  async function indexChildrenIn(repository: string, digest: string, signal: AbortSignal): Promise<string[]> {
    let manifest;
    try {
      manifest = await cache.getManifest(repository, digest, { signal });
    } catch (err) {
      if (err instanceof RegistryClientError && err.notFound) return [];
      throw err;
    }
    const parsed = parseManifest(manifest.content, manifest.mediaType);
    return isIndexMediaType(parsed.mediaType) ? parsed.manifests.map((d) => d.digest) : [];
  }
}

/** Where an image may be in the cache: the shared area, then the private one (when its name is not too long). */
function cacheAreas(image: ParsedImage): string[] {
  const shared = cacheRepository(image);
  const priv = privateCacheRepository(shared);
  return priv ? [shared, priv] : [shared];
}
