// Proxy readiness on nodes (key: node name). A node gets kuik.enix.io/proxy-ready=true while
// the proxy pod running on it is Ready (its readinessProbe passes), and loses it otherwise; the
// webhook makes rewritten pods require that label, so no pod is ever scheduled to pull through
// a proxy that cannot serve it (kuik 1.x's fresh-node failures).
// The controller (leader) maintains the label so the proxy needs no RBAC on Node objects.
import { LABEL_PROXY_READY } from '../crds/types.js';
import { isNotFound, type KubeClient } from '../kube/client.js';
import type { Informer } from '../kube/informer.js';
import type { Pod } from '../kube/types.js';
import type { Logger } from '@kuik/observability';

export interface ProxyPod {
  node: string;
  ready: boolean;
}

export function proxyPodState(pod: Pod): ProxyPod | undefined {
  const node = pod.spec?.nodeName;
  if (!node) return undefined;
  const ready = !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' && !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  return { node, ready };
}

export async function reconcileNodeLabel(
  client: KubeClient,
  proxyPods: Informer<ProxyPod>,
  labelledNodes: Informer<{ value: string }>,
  logger: Logger,
  node: string,
  signal: AbortSignal,
): Promise<void> {
  let want = false;
  for (const p of proxyPods.values()) if (p.node === node && p.ready) want = true;
  const have = labelledNodes.get(node)?.value === 'true';
  if (want === have) return;
  try {
    await client.mergePatch(`/api/v1/nodes/${encodeURIComponent(node)}`, { metadata: { labels: { [LABEL_PROXY_READY]: want ? 'true' : null } } }, { signal });
    logger.info(want ? 'proxy ready on node' : 'proxy not ready on node', { node });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
