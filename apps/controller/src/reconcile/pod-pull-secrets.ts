// Pods' own pull secrets, made usable through the proxy (key: "<namespace>/<secret>"). The
// webhook rewrites a pod's images to "<proxy>/<origin>/…" and adds to its imagePullSecrets
// "kuik-proxy-<secret>" for each secret it had. This reconciler keeps that copy in the pod's
// namespace: a kubernetes.io/dockerconfigjson Secret whose auths entries are the original ones
// re-keyed "<proxy>/<origin segment>/" — kubelet matches a key's path as a prefix of the image, so
// it sends the credentials for "<origin>" only with images pulled from that origin through the
// proxy, and the proxy checks them with that origin before serving anything it cached with them
// (apps/proxy/src/client-auth.ts). Nothing leaves the namespace: no pod of another namespace can
// name the copy, and the proxy keeps what it fetched with it apart from the shared cache.
//
// The copy is owned by its source (ownerReferences): deleting the source removes it. It is
// rewritten when the source changes (checked when a pod naming it changes and every 5 minutes
// while one does) and never overwrites a Secret kuik did not create. Only user name / password
// entries can be presented by a runtime (Basic); identity and registry tokens are left out.
import { POD_PULL_SECRET_PREFIX, podPullSecretName } from '../images/naming.js';
import { hostSegment } from '../images/reference.js';
import { isNotFound } from '../kube/client.js';
import type { Secret } from '../kube/types.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { authsFromSecret, credentialsFor } from '../registry/credentials.js';
import type { ReconcileContext } from './context.js';
import { isManagedByKuik, writeManagedSecret } from './managed-secret.js';

const SOURCE_ANNOTATION = 'kuik.enix.io/copy-of';
const RECHECK_MS = 5 * 60_000;

/** "<proxy>/<origin segment>/" → { username, password, auth } for each usable entry of the source. */
export function proxyAuths(source: Secret, proxyAddress: string): Record<string, { username: string; password: string; auth: string }> {
  const auths = authsFromSecret(source);
  const out: Record<string, { username: string; password: string; auth: string }> = {};
  for (const host of Object.keys(auths).sort()) {
    const c = credentialsFor(auths, host);
    if (!c?.username || c.password === undefined) continue;
    out[`${proxyAddress}/${hostSegment(host)}/`] = { username: c.username, password: c.password, auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') };
  }
  return out;
}

export async function reconcilePodPullSecret(ctx: ReconcileContext, key: string, stillUsed: (key: string) => boolean, signal: AbortSignal): Promise<ReconcileResult | void> {
  if (!stillUsed(key)) return;
  const [namespace, name] = key.split('/') as [string, string];
  if (name.startsWith(POD_PULL_SECRET_PREFIX)) return;
  const source = await ctx.client.getOrNull<Secret>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, { signal });
  // Absent: kubelet will not find it either; the copy (if any) goes with it through its owner reference.
  if (!source || isManagedByKuik(source)) return { requeueAfterMs: RECHECK_MS };
  const auths = proxyAuths(source, ctx.config.webhook.proxyAddress);
  const copyName = podPullSecretName(name);
  let written;
  try {
    written = await writeManagedSecret(
      ctx.client,
      {
        namespace,
        name: copyName,
        type: 'kubernetes.io/dockerconfigjson',
        key: '.dockerconfigjson',
        content: JSON.stringify({ auths }),
        annotations: { [SOURCE_ANNOTATION]: name },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name, uid: source.metadata?.uid ?? '' }],
      },
      signal,
      { keepForeign: true },
    );
  } catch (err) {
    // The namespace is going away: look again shortly.
    if (isNotFound(err)) return { requeueAfterMs: 1000 };
    throw err;
  }
  // Changed or created meanwhile: look again shortly.
  if (written === 'conflict') return { requeueAfterMs: 1000 };
  if (written === 'foreign') ctx.logger.warn('a Secret kuik did not create has the name of a pull-secret copy; leaving it', { secret: `${namespace}/${copyName}`, source: name });
  if (written === 'created' || written === 'updated') {
    ctx.logger.info(`pull-secret copy ${written}`, { secret: `${namespace}/${copyName}`, source: name, registries: Object.keys(auths).length });
  }
  return { requeueAfterMs: RECHECK_MS };
}
