// What counts as a user of a cached image, in the compact form the informers keep:
//   - a pod (not yet terminated) whose containers the webhook rewrote: its original images are
//     in the original-*-image-<container> annotations (ephemeral containers, whose annotations the
//     API server discards, are recovered from the rewritten image);
//   - a workload (Deployment, StatefulSet, DaemonSet, CronJob, Job) whose pod template has images
//     the webhook would rewrite, so a workload scaled to zero keeps its images.
import { LABEL_MANAGED } from '../crds/types.js';
import { cachedImageName, originalImageAnnotation, POD_PULL_SECRET_PREFIX } from '../images/naming.js';
import { canonicalImage, originalFromRewritten, parseImage, type ParsedImage } from '../images/reference.js';
import type { RawObject } from '../kube/informer.js';
import type { Container, Pod, PodTemplate } from '../kube/types.js';
import { decideContainer, imageExclusion, podSkipReason, type RewritePolicy } from '../webhook/policy.js';

/** One image use: the CachedImage it maps to and its canonical source image. */
export interface ImageUse {
  name: string;
  source: string;
}

export interface PodUses {
  namespacedName: string;
  /** One entry per rewritten container (duplicates kept: containers_with_cached_image counts containers). */
  images: ImageUse[];
  /** The pod's own imagePullSecrets (not kuik's copies of them), when it has any. */
  pullSecrets?: string[];
}

export interface WorkloadUses {
  kind: string;
  namespacedName: string;
  images: ImageUse[];
}

function use(p: ParsedImage): ImageUse {
  return { name: cachedImageName(p), source: canonicalImage(p) };
}

function tryParse(image: string | undefined): ParsedImage | undefined {
  if (!image) return undefined;
  try {
    return parseImage(image);
  } catch {
    return undefined;
  }
}

const NO_IMAGE_FILTER: Pick<RewritePolicy, 'ignoredImages' | 'acceptedImages'> = { ignoredImages: [], acceptedImages: [] };

/**
 * Compact form of a managed pod; undefined for pods that use no cached image (or have
 * terminated). Images the policy's ignoredImages/acceptedImages keep out of kuik are not counted
 * (a pod rewritten before the policy changed, or by another kuik's webhook on a shared cluster).
 */
export function podUses(obj: RawObject, proxyAddress: string, images: Pick<RewritePolicy, 'ignoredImages' | 'acceptedImages'> = NO_IMAGE_FILTER): PodUses | undefined {
  const pod = obj as Pod;
  const meta = pod.metadata;
  if (!meta?.name || meta.labels?.[LABEL_MANAGED] !== 'true') return undefined;
  // A finished pod will not pull again: its images may expire (a Job/CronJob template keeps them).
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
  const annotations = meta.annotations ?? {};
  const uses: ImageUse[] = [];
  const prefix = `${proxyAddress}/`;
  const visit = (list: Container[] | undefined, kind: 'container' | 'init' | 'ephemeral') => {
    for (const c of list ?? []) {
      if (!c.image?.startsWith(prefix)) continue;
      const original = annotations[originalImageAnnotation(c.name, kind)] ?? originalFromRewritten(proxyAddress, c.image);
      const parsed = tryParse(original);
      if (parsed && !imageExclusion(images, original!, parsed)) uses.push(use(parsed));
    }
  };
  visit(pod.spec?.containers, 'container');
  visit(pod.spec?.initContainers, 'init');
  visit(pod.spec?.ephemeralContainers, 'ephemeral');
  if (uses.length === 0) return undefined;
  const pullSecrets = (pod.spec?.imagePullSecrets ?? []).map((s) => s.name).filter((n) => n && !n.startsWith(POD_PULL_SECRET_PREFIX));
  return { namespacedName: `${meta.namespace ?? ''}/${meta.name}`, images: uses, ...(pullSecrets.length > 0 ? { pullSecrets } : {}) };
}

export const WORKLOAD_KINDS = [
  { kind: 'Deployment', path: '/apis/apps/v1/deployments', template: (o: RawObject) => (o['spec'] as { template?: PodTemplate } | undefined)?.template },
  { kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets', template: (o: RawObject) => (o['spec'] as { template?: PodTemplate } | undefined)?.template },
  { kind: 'DaemonSet', path: '/apis/apps/v1/daemonsets', template: (o: RawObject) => (o['spec'] as { template?: PodTemplate } | undefined)?.template },
  { kind: 'Job', path: '/apis/batch/v1/jobs', template: (o: RawObject) => (o['spec'] as { template?: PodTemplate } | undefined)?.template },
  {
    kind: 'CronJob',
    path: '/apis/batch/v1/cronjobs',
    template: (o: RawObject) => (o['spec'] as { jobTemplate?: { spec?: { template?: PodTemplate } } } | undefined)?.jobTemplate?.spec?.template,
  },
] as const;

/** Compact form of a workload: the images its pods would have rewritten. */
export function workloadUses(kind: string, obj: RawObject, template: PodTemplate | undefined, policy: RewritePolicy): WorkloadUses | undefined {
  const meta = obj.metadata;
  if (!meta?.name || !template?.spec) return undefined;
  if (podSkipReason(policy, meta.namespace, template.metadata?.labels)) return undefined;
  const images: ImageUse[] = [];
  for (const c of [...(template.spec.containers ?? []), ...(template.spec.initContainers ?? [])]) {
    const d = decideContainer(policy, c);
    if (d.rewrite) images.push(use(d.image));
  }
  if (images.length === 0) return undefined;
  return { kind, namespacedName: `${meta.namespace ?? ''}/${meta.name}`, images };
}
