// The proxy-readiness guard: a rewritten pod may only be scheduled on a node whose proxy is ready,
// expressed as a required node affinity on kuik.enix.io/proxy-ready=true merged into the pod's own.
//
// requiredDuringScheduling terms are ORed and the expressions inside a term are ANDed, so "the
// pod's constraint AND proxy ready" is the expression added to every term (A∨B)∧P = (A∧P)∨(B∧P).
// A term with no expressions and no fields matches no node; it is left alone so that it keeps
// matching nothing.
import { LABEL_PROXY_READY } from '../crds/types.js';
import type { NodeSelectorRequirement, NodeSelectorTerm, PodSpec } from '../kube/types.js';
import type { JsonPatchOp } from './json-patch.js';

export const PROXY_READY_REQUIREMENT: NodeSelectorRequirement = { key: LABEL_PROXY_READY, operator: 'In', values: ['true'] };

const REQUIRED = 'requiredDuringSchedulingIgnoredDuringExecution';

function hasRequirement(term: NodeSelectorTerm): boolean {
  return (term.matchExpressions ?? []).some(
    (e) => e.key === LABEL_PROXY_READY && e.operator === 'In' && e.values?.length === 1 && e.values[0] === 'true',
  );
}

export function proxyReadyAffinityPatch(spec: PodSpec): JsonPatchOp[] {
  const expr = PROXY_READY_REQUIREMENT;
  const fresh = { [REQUIRED]: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } };
  const affinity = spec.affinity;
  if (!affinity) return [{ op: 'add', path: '/spec/affinity', value: { nodeAffinity: fresh } }];
  if (!affinity.nodeAffinity) return [{ op: 'add', path: '/spec/affinity/nodeAffinity', value: fresh }];
  const base = `/spec/affinity/nodeAffinity/${REQUIRED}`;
  const required = affinity.nodeAffinity[REQUIRED];
  if (!required) return [{ op: 'add', path: base, value: fresh[REQUIRED] }];
  const terms = required.nodeSelectorTerms ?? [];
  if (terms.length === 0) return [{ op: 'add', path: `${base}/nodeSelectorTerms`, value: [{ matchExpressions: [expr] }] }];
  const ops: JsonPatchOp[] = [];
  terms.forEach((term, i) => {
    if (hasRequirement(term)) return;
    const empty = !term.matchExpressions?.length && !term.matchFields?.length;
    if (empty) return;
    if (!term.matchExpressions) ops.push({ op: 'add', path: `${base}/nodeSelectorTerms/${i}/matchExpressions`, value: [expr] });
    else ops.push({ op: 'add', path: `${base}/nodeSelectorTerms/${i}/matchExpressions/-`, value: expr });
  });
  return ops;
}
