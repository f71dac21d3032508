// The one source of the kuik CustomResourceDefinitions. `npx nx run controller:generate-crds`
// writes them as YAML into apps/controller/crds/ (committed, installed by the Helm chart);
// crds.spec.ts fails when the committed YAML differs from what this file generates.
import { API_VERSION, CACHED_IMAGE_PHASES, GROUP, VERSION } from './types.js';

type Schema = {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: readonly string[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maxItems?: number;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string }[];
};

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date' | 'number';
  jsonPath: string;
  priority?: number;
  description?: string;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    scope: 'Cluster' | 'Namespaced';
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status: Record<string, never> };
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
const str = (description: string, extra: Partial<Schema> = {}): Schema => ({ type: 'string', description, ...extra });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const int = (description: string): Schema => ({ type: 'integer', minimum: 0, description });

const objectMeta: Record<string, Schema> = {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
  kind: str('Kind is a string value representing the REST resource this object represents.'),
  metadata: { type: 'object' },
};

/** Go duration strings as metav1.Duration accepts them ("90s", "1h30m", "720h"). */
const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

export const cachedImageCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `cachedimages.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Cluster',
    names: { kind: 'CachedImage', listKind: 'CachedImageList', plural: 'cachedimages', singular: 'cachedimage', shortNames: ['ci'], categories: ['kuik'] },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Status', type: 'string', jsonPath: '.status.phase' },
          { name: 'Cached', type: 'boolean', jsonPath: '.status.isCached' },
          { name: 'Retain', type: 'boolean', jsonPath: '.spec.retain' },
          { name: 'Expires at', type: 'string', jsonPath: '.spec.expiresAt' },
          { name: 'Pods count', type: 'integer', jsonPath: '.status.usedBy.count' },
          { name: 'Image', type: 'string', jsonPath: '.spec.sourceImage', priority: 1 },
          { name: 'Digest', type: 'string', jsonPath: '.status.digest', priority: 1 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'CachedImage is an image kept in the kuik registry, and who uses it.',
            required: ['spec'],
            properties: {
              ...objectMeta,
              spec: {
                type: 'object',
                required: ['sourceImage'],
                properties: {
                  sourceImage: str('SourceImage is the image to cache, normalized (docker.io/library/nginx:1.27).', { minLength: 1, maxLength: 1024 }),
                  expiresAt: time('ExpiresAt is when the image is removed from the cache if still unused; unset while the image is in use.'),
                  retain: bool('Retain keeps the image in the cache even when unused (ExpiresAt is then never set).'),
                },
              },
              status: {
                type: 'object',
                properties: {
                  isCached: bool('IsCached tells whether the image is in the cache.'),
                  phase: str('Phase of the image.', { enum: CACHED_IMAGE_PHASES }),
                  usedBy: {
                    type: 'object',
                    description: 'UsedBy lists the pods (and workloads) that use this image.',
                    properties: {
                      pods: {
                        type: 'array',
                        description: 'Pods using this image.',
                        items: { type: 'object', properties: { namespacedName: str('Namespace/name of the pod.') } },
                      },
                      count: int('Count is the number of pods using this image.'),
                      workloads: {
                        type: 'array',
                        description: 'Workloads (Deployment, StatefulSet, DaemonSet, CronJob, Job) whose pod template uses this image.',
                        items: {
                          type: 'object',
                          properties: { kind: str('Kind of the workload.'), namespacedName: str('Namespace/name of the workload.') },
                        },
                      },
                    },
                  },
                  digest: str('Digest of the image in the cache.'),
                  upstreamDigest: str('UpstreamDigest is the digest of the image at its origin when last checked.'),
                  upToDate: bool('UpToDate tells whether the cached image has the upstream digest.'),
                  lastSync: time('LastSync is the last time the origin was checked.'),
                  lastSuccessfulPull: time('LastSuccessfulPull is the last time the image was copied into the cache.'),
                  availableUpstream: bool('AvailableUpstream tells whether the image was found at its origin when last checked.'),
                  lastSeenUpstream: time('LastSeenUpstream is the last time the image was found at its origin.'),
                  message: str('Message explains the last failure to cache the image.'),
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const repositoryCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `repositories.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Cluster',
    names: { kind: 'Repository', listKind: 'RepositoryList', plural: 'repositories', singular: 'repository', shortNames: ['repo'], categories: ['kuik'] },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Status', type: 'string', jsonPath: '.status.phase' },
          { name: 'Images', type: 'integer', jsonPath: '.status.images' },
          { name: 'Repository', type: 'string', jsonPath: '.spec.name', priority: 1 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'Repository holds the settings of one image repository: pull secrets and update policy.',
            required: ['spec'],
            properties: {
              ...objectMeta,
              spec: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: str('Name is the repository, normalized (docker.io/library/nginx).', { minLength: 1, maxLength: 512 }),
                  pullSecretNames: {
                    type: 'array',
                    description: 'PullSecretNames are Secrets (kubernetes.io/dockerconfigjson or dockercfg) used to pull images of this repository.',
                    items: str('Name of a Secret in pullSecretsNamespace.', { minLength: 1, maxLength: 253 }),
                    maxItems: 32,
                  },
                  pullSecretsNamespace: str('PullSecretsNamespace is the namespace of the pull secrets.', { maxLength: 63 }),
                  updateInterval: str('UpdateInterval is how often images matching UpdateFilters are re-checked upstream (Go duration: 1h, 30m).', {
                    pattern: DURATION_PATTERN,
                  }),
                  updateFilters: {
                    type: 'array',
                    description: 'UpdateFilters are regular expressions; a CachedImage whose sourceImage matches one is updated every UpdateInterval.',
                    items: { type: 'string', minLength: 1 },
                  },
                },
                'x-kubernetes-validations': [
                  { rule: '!has(self.pullSecretNames) || size(self.pullSecretNames) == 0 || has(self.pullSecretsNamespace)', message: 'pullSecretNames needs pullSecretsNamespace' },
                ],
              },
              status: {
                type: 'object',
                properties: {
                  images: int('Images is the number of CachedImages of this repository.'),
                  phase: str('Phase of the repository.'),
                  lastUpdate: time('LastUpdate is the last time the images of this repository were re-checked upstream.'),
                  conditions: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['type'],
                    items: {
                      type: 'object',
                      required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
                      properties: {
                        type: str('Type of condition.', { maxLength: 316 }),
                        status: str('Status of the condition.', { enum: ['True', 'False', 'Unknown'] }),
                        observedGeneration: { type: 'integer', minimum: 0 },
                        lastTransitionTime: time('Last time the condition changed.'),
                        reason: str('Reason in CamelCase.', { maxLength: 1024, minLength: 1 }),
                        message: str('Human-readable message.', { maxLength: 32768 }),
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const CRDS: readonly CustomResourceDefinition[] = [cachedImageCrd, repositoryCrd];
export { API_VERSION };
