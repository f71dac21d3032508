// What the reconcilers need from registries, independent of the OCI client that implements it
// (oci-registries.ts): the cache is asked first, the origin only when the cache lacks the image.
import type { ParsedImage } from '../images/reference.js';
import type { RegistryCredentials } from './credentials.js';

export interface ManifestInfo {
  digest: string;
  mediaType?: string;
  size?: number;
}

export type CacheArea = 'shared' | 'private';

export interface ImageRegistries {
  /** HEAD of the image in the kuik registry; null when absent. */
  headCached(image: ParsedImage, signal: AbortSignal): Promise<ManifestInfo | null>;
  /** HEAD at the origin (with credentials when any); null when the origin says it does not exist. */
  headUpstream(image: ParsedImage, credentials: RegistryCredentials | undefined, signal: AbortSignal): Promise<ManifestInfo | null>;
  /**
   * Copies the image from its origin into the cache: every platform, digests unchanged. `area`
   * 'private': into the area the proxy serves only to clients whose credentials the origin accepts
   * (for an image copied with a pod's own pull secret); default 'shared'.
   */
  copyToCache(image: ParsedImage, credentials: RegistryCredentials | undefined, signal: AbortSignal, area?: CacheArea): Promise<ManifestInfo>;
  /**
   * Removes the image from the cache: by tag when `onlyTag` (other tags share the manifest),
   * else by digest. 'absent' when already gone; 'unsupported' when the registry refuses.
   */
  deleteCached(image: ParsedImage, digest: string, onlyTag: boolean, signal: AbortSignal): Promise<'deleted' | 'absent' | 'unsupported'>;
  /**
   * The child manifests of an index in the cache (its platforms); [] when the manifest is not an
   * index or is absent. Removing an index leaves them behind otherwise: nothing tags them.
   */
  cachedIndexChildren(image: ParsedImage, digest: string, signal: AbortSignal): Promise<string[]>;
  /** Cheap liveness check of the cache registry (GET /v2/). */
  pingCache(signal: AbortSignal): Promise<void>;
  /** Releases connections (the controller calls it when it stops). */
  close?(): Promise<void>;
}
