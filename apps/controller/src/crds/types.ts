// TypeScript shapes of the kuik.enix.io/v1alpha1 resources (kube-image-keeper 1.x compatible).
// The OpenAPI schemas in definitions.ts describe the same fields; crds.spec.ts checks both agree.
import type { Condition, ObjectMeta } from '../kube/types.js';

export const GROUP = 'kuik.enix.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const CACHED_IMAGE_PHASES = ['Synchronizing', 'Pulling', 'ErrImagePull', 'Ready', 'Terminating'] as const;
export type CachedImagePhase = (typeof CACHED_IMAGE_PHASES)[number];

export interface CachedImageSpec {
  /** The image to keep, normalized ("docker.io/library/nginx:1.27"). */
  sourceImage: string;
  /** When an unused image is removed; unset while it is in use. */
  expiresAt?: string;
  /** Keep the image even when unused (never expires). */
  retain?: boolean;
}

export interface PodReference {
  namespacedName: string;
}

export interface WorkloadReference {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job' | string;
  namespacedName: string;
}

export interface CachedImageStatus {
  isCached?: boolean;
  phase?: CachedImagePhase;
  usedBy?: {
    pods?: PodReference[];
    count?: number;
    /** Workloads whose pod template uses the image (kuik 2; keeps images of workloads scaled to zero). */
    workloads?: WorkloadReference[];
  };
  digest?: string;
  upstreamDigest?: string;
  upToDate?: boolean;
  lastSync?: string;
  lastSuccessfulPull?: string;
  availableUpstream?: boolean;
  lastSeenUpstream?: string;
  /** Why the last attempt to cache the image failed (kuik 2). */
  message?: string;
}

export interface CachedImage {
  apiVersion: typeof API_VERSION;
  kind: 'CachedImage';
  metadata: ObjectMeta;
  spec: CachedImageSpec;
  status?: CachedImageStatus;
}

export interface RepositorySpec {
  /** The repository, normalized ("docker.io/library/nginx"). */
  name: string;
  pullSecretNames?: string[];
  pullSecretsNamespace?: string;
  /** Go duration ("1h", "30m"): how often matching CachedImages are re-checked upstream. */
  updateInterval?: string;
  /** Regular expressions; a CachedImage whose sourceImage matches one is re-checked every updateInterval. */
  updateFilters?: string[];
}

export interface RepositoryStatus {
  images?: number;
  phase?: 'Ready' | 'Error' | string;
  lastUpdate?: string;
  conditions?: Condition[];
}

export interface Repository {
  apiVersion: typeof API_VERSION;
  kind: 'Repository';
  metadata: ObjectMeta;
  spec: RepositorySpec;
  status?: RepositoryStatus;
}

export const CACHED_IMAGES_PATH = `/apis/${GROUP}/${VERSION}/cachedimages`;
export const REPOSITORIES_PATH = `/apis/${GROUP}/${VERSION}/repositories`;

/** Labels and annotations kuik reads or writes (names kept from kube-image-keeper 1.x). */
export const LABEL_MANAGED = 'kuik.enix.io/managed';
export const LABEL_REPOSITORY = 'kuik.enix.io/repository';
export const LABEL_CACHING_POLICY = 'kube-image-keeper.enix.io/image-caching-policy';
export const LABEL_PROXY_READY = 'kuik.enix.io/proxy-ready';
export const ANNOTATION_AUTO_CREATED = 'kuik.enix.io/auto-created';
export const FINALIZER_CACHED_IMAGE = 'kuik.enix.io/cached-image-cleanup';
