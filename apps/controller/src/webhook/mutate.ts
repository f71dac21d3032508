// The pod mutation: AdmissionReview request in, JSON Patch out. Pure (no I/O), so it is tested
// against recorded AdmissionReview fixtures and is cheap enough to keep the webhook's p99 in the
// low milliseconds.
//
// CREATE of a pod: containers, init containers and ephemeral containers are rewritten to the
// node-local proxy, each original kept in an annotation, the pod labelled kuik.enix.io/managed,
// and (when configured) a required node affinity on proxy-ready nodes added.
// UPDATE of pods/ephemeralcontainers (kubectl debug): only the ephemeral containers that are new
// in this update are rewritten; existing ones are immutable and the pod is already scheduled.
import { LABEL_MANAGED } from '../crds/types.js';
import { originalImageAnnotation, POD_PULL_SECRET_PREFIX, podPullSecretName } from '../images/naming.js';
import { rewrittenImage } from '../images/reference.js';
import type { Container, Pod } from '../kube/types.js';
import { proxyReadyAffinityPatch } from './affinity.js';
import { pointerSegment, type JsonPatchOp } from './json-patch.js';
import { decideContainer, podSkipReason, type RewritePolicy, type SkipReason } from './policy.js';

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  namespace?: string;
  name?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: Pod;
  oldObject?: Pod;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** Base64 of the JSON Patch. */
  patch?: string;
  warnings?: string[];
  status?: { code: number; message: string };
}

export type ContainerKind = 'container' | 'init' | 'ephemeral';

export interface ContainerOutcome {
  kind: ContainerKind;
  name: string;
  image: string;
  rewrittenTo?: string;
  skipped?: SkipReason;
  detail?: string;
}

export interface MutationResult {
  patch: JsonPatchOp[];
  /** Why the whole pod was left alone, if it was. */
  podSkipped?: string;
  containers: ContainerOutcome[];
}

const FIELDS: Record<ContainerKind, 'containers' | 'initContainers' | 'ephemeralContainers'> = {
  container: 'containers',
  init: 'initContainers',
  ephemeral: 'ephemeralContainers',
};

export function mutatePod(req: AdmissionRequest, policy: RewritePolicy): MutationResult {
  const pod = req.object;
  const isCreate = req.operation === 'CREATE' && !req.subResource;
  const isEphemeralUpdate = req.operation === 'UPDATE' && req.subResource === 'ephemeralcontainers';
  if (!pod || !pod.spec || (!isCreate && !isEphemeralUpdate)) return { patch: [], containers: [], podSkipped: 'not a pod creation or ephemeral container update' };
  const namespace = req.namespace || pod.metadata?.namespace;
  const podSkipped = podSkipReason(policy, namespace, pod.metadata?.labels);
  if (podSkipped) return { patch: [], containers: [], podSkipped };

  const kinds: ContainerKind[] = isCreate ? ['container', 'init', 'ephemeral'] : ['ephemeral'];
  const existingEphemeral = new Set((req.oldObject?.spec?.ephemeralContainers ?? []).map((c) => c.name));
  const patch: JsonPatchOp[] = [];
  const annotations: Record<string, string> = {};
  const containers: ContainerOutcome[] = [];

  for (const kind of kinds) {
    const list: Container[] = pod.spec[FIELDS[kind]] ?? [];
    list.forEach((c, i) => {
      if (isEphemeralUpdate && existingEphemeral.has(c.name)) return;
      const decision = decideContainer(policy, c);
      const outcome: ContainerOutcome = { kind, name: c.name, image: c.image ?? '' };
      if (!decision.rewrite) {
        outcome.skipped = decision.reason;
        if (decision.detail) outcome.detail = decision.detail;
      } else {
        const to = rewrittenImage(policy.proxyAddress, decision.image);
        outcome.rewrittenTo = to;
        patch.push({ op: 'replace', path: `/spec/${FIELDS[kind]}/${i}/image`, value: to });
        annotations[originalImageAnnotation(c.name, kind)] = decision.image.written;
      }
      containers.push(outcome);
    });
  }
  if (patch.length === 0) return { patch, containers };

  const meta = pod.metadata ?? {};
  if (!pod.metadata) patch.push({ op: 'add', path: '/metadata', value: {} });
  if (!meta.annotations) patch.push({ op: 'add', path: '/metadata/annotations', value: annotations });
  else for (const [k, v] of Object.entries(annotations)) patch.push({ op: 'add', path: `/metadata/annotations/${pointerSegment(k)}`, value: v });
  if (!meta.labels) patch.push({ op: 'add', path: '/metadata/labels', value: { [LABEL_MANAGED]: 'true' } });
  else if (meta.labels[LABEL_MANAGED] !== 'true') patch.push({ op: 'add', path: `/metadata/labels/${pointerSegment(LABEL_MANAGED)}`, value: 'true' });
  if (isCreate && policy.requireProxyReadyNode) patch.push(...proxyReadyAffinityPatch(pod.spec));
  if (isCreate && policy.podPullSecrets) patch.push(...podPullSecretsPatch(pod.spec.imagePullSecrets));
  return { patch, containers };
}

/**
 * The proxy-host copies of the pod's pull secrets, appended after the originals (kubelet tries
 * each; the originals still serve images that were not rewritten).
 */
function podPullSecretsPatch(secrets: { name?: string }[] | undefined): JsonPatchOp[] {
  const names = new Set((secrets ?? []).map((s) => s.name));
  const patch: JsonPatchOp[] = [];
  for (const s of secrets ?? []) {
    // A copy is not copied again (a pod spec taken from a pod kuik already admitted).
    if (!s.name || s.name.startsWith(POD_PULL_SECRET_PREFIX)) continue;
    const copy = podPullSecretName(s.name);
    if (names.has(copy)) continue;
    names.add(copy);
    patch.push({ op: 'add', path: '/spec/imagePullSecrets/-', value: { name: copy } });
  }
  return patch;
}

/** The AdmissionReview answer for a request: always allowed (failurePolicy Ignore semantics), patched when needed. */
export function admissionResponse(req: AdmissionRequest, result: MutationResult): AdmissionReview {
  const response: AdmissionResponse = { uid: req.uid, allowed: true };
  if (result.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
