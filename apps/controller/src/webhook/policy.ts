// Which containers kuik takes over: one decision function shared by the admission webhook and by
// the reconcilers (a workload's pod template counts as a user of exactly the images its pods
// would have rewritten).
import { LABEL_CACHING_POLICY } from '../crds/types.js';
import type { Container } from '../kube/types.js';
import { canonicalImage, parseImage, type ParsedImage } from '../images/reference.js';

export interface RewritePolicy {
  /** "<host>[:port]" of the node-local proxy, e.g. localhost:7439. */
  proxyAddress: string;
  /** Never rewritten: kube-system, the controller's own namespace and the configured ones. */
  ignoredNamespaces: ReadonlySet<string>;
  ignoredImages: readonly RegExp[];
  /** When not empty, only matching images are rewritten. */
  acceptedImages: readonly RegExp[];
  ignorePullPolicyAlways: boolean;
  requireProxyReadyNode: boolean;
  /** Add the proxy-host copies of the pod's imagePullSecrets (podPullSecretName). */
  podPullSecrets: boolean;
}

export type SkipReason =
  | 'no image'
  | 'already rewritten'
  | 'pull policy Never'
  | 'pull policy Always'
  | 'invalid image reference'
  | 'image ignored'
  | 'image not accepted';

export type ContainerDecision =
  | { rewrite: true; image: ParsedImage }
  | { rewrite: false; reason: SkipReason; detail?: string };

export function buildPolicy(opts: Omit<RewritePolicy, 'ignoredNamespaces'> & { ignoredNamespaces: readonly string[]; ownNamespace: string }): RewritePolicy {
  const { ownNamespace, ignoredNamespaces, ...rest } = opts;
  return { ...rest, ignoredNamespaces: new Set(['kube-system', ownNamespace, ...ignoredNamespaces]) };
}

/** Why a whole pod (or pod template) is left alone, or undefined when its containers are considered. */
export function podSkipReason(policy: RewritePolicy, namespace: string | undefined, labels: Record<string, string> | undefined): string | undefined {
  if (namespace && policy.ignoredNamespaces.has(namespace)) return `namespace ${namespace} is ignored`;
  if (labels?.[LABEL_CACHING_POLICY] === 'ignore') return `label ${LABEL_CACHING_POLICY}=ignore`;
  return undefined;
}

export function decideContainer(policy: RewritePolicy, c: Container): ContainerDecision {
  const written = c.image?.trim();
  if (!written) return { rewrite: false, reason: 'no image' };
  if (written.startsWith(`${policy.proxyAddress}/`)) return { rewrite: false, reason: 'already rewritten' };
  if (c.imagePullPolicy === 'Never') return { rewrite: false, reason: 'pull policy Never' };
  let image: ParsedImage;
  try {
    image = parseImage(written);
  } catch (err) {
    return { rewrite: false, reason: 'invalid image reference', detail: (err as Error).message };
  }
  // The API server defaults an empty policy before admission; the check mirrors its rule
  // (Always for :latest or no tag) for objects that were not defaulted (pod templates).
  const pullsAlways = c.imagePullPolicy === 'Always' || (!c.imagePullPolicy && image.digest === undefined && (image.tag ?? 'latest') === 'latest');
  if (policy.ignorePullPolicyAlways && pullsAlways) return { rewrite: false, reason: 'pull policy Always' };
  const excluded = imageExclusion(policy, written, image);
  if (excluded) return { rewrite: false, ...excluded };
  return { rewrite: true, image };
}

/**
 * Whether ignoredImages/acceptedImages keep an image out of kuik. Users write patterns against
 * the image as written or as normalized; both are tried.
 */
export function imageExclusion(
  policy: Pick<RewritePolicy, 'ignoredImages' | 'acceptedImages'>,
  written: string,
  image: ParsedImage,
): { reason: 'image ignored' | 'image not accepted'; detail?: string } | undefined {
  const forms = [written, canonicalImage(image)];
  const ignored = policy.ignoredImages.find((re) => forms.some((f) => re.test(f)));
  if (ignored) return { reason: 'image ignored', detail: ignored.source };
  if (policy.acceptedImages.length > 0 && !policy.acceptedImages.some((re) => forms.some((f) => re.test(f)))) return { reason: 'image not accepted' };
  return undefined;
}
