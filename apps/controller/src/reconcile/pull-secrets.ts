// Pull-secret mirror (one key). The proxy needs credentials for private origins, but must not
// read every Secret of the cluster (kuik 1.x did). The leader reads the Secrets that
// Repositories name, and writes one Secret in the controller's namespace that the proxy may
// read by name (RBAC resourceNames) or mount:
//
//   <pullSecrets.mirrorSecretName> (type Opaque), key "repositories.json":
//   {"repositories": {"docker.io/library/nginx": {"auths": {"docker.io": {"username": "…", "password": "…"}}}}}
//
// Only the entry for each repository's own registry host is copied. Re-read every 5 minutes
// (pull secrets are not watched: that would need list/watch on every Secret).
import { createHash } from 'node:crypto';
import { parseImage } from '../images/reference.js';
import { isConflict } from '../kube/client.js';
import type { Secret } from '../kube/types.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { normalizeRegistryHost, type AuthsByHost } from '../registry/credentials.js';
import type { ReconcileContext } from './context.js';

export const MIRROR_KEY = 'repositories.json';
const RECHECK_MS = 5 * 60_000;

export async function reconcilePullSecretMirror(ctx: ReconcileContext, signal: AbortSignal): Promise<ReconcileResult> {
  const repositories: Record<string, { auths: AuthsByHost }> = {};
  const sorted = [...ctx.repositories.values()].filter((r) => r.spec.pullSecretNames?.length).sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  for (const repo of sorted) {
    let host: string;
    try {
      host = normalizeRegistryHost(parseImage(`${repo.spec.name}:x`).domain);
    } catch {
      continue;
    }
    const { auths } = await ctx.credentials.secretsOf(repo, signal);
    if (auths[host]) repositories[repo.spec.name] = { auths: { [host]: auths[host] } };
  }
  const content = JSON.stringify({ repositories });
  const digest = createHash('sha256').update(content).digest('hex').slice(0, 16);
  const ns = ctx.config.namespace;
  const name = ctx.config.pullSecrets.mirrorSecretName;
  const path = `/api/v1/namespaces/${ns}/secrets/${name}`;
  const existing = await ctx.client.getOrNull<Secret>(path, { signal });
  if (existing?.metadata?.annotations?.['kuik.enix.io/content-sha256'] === digest) return { requeueAfterMs: RECHECK_MS };
  const body: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: ns,
      labels: { 'app.kubernetes.io/managed-by': 'kuik-controller' },
      annotations: { 'kuik.enix.io/content-sha256': digest },
      ...(existing ? { resourceVersion: existing.metadata?.resourceVersion } : {}),
    },
    type: 'Opaque',
    data: { [MIRROR_KEY]: Buffer.from(content).toString('base64') },
  };
  try {
    if (existing) await ctx.client.replace(path, body, { signal });
    else await ctx.client.create(`/api/v1/namespaces/${ns}/secrets`, body, { signal });
    ctx.logger.info('pull-secret mirror updated', { secret: `${ns}/${name}`, repositories: Object.keys(repositories).length });
  } catch (err) {
    if (!isConflict(err)) throw err;
    return { requeueAfterMs: 1000 };
  }
  return { requeueAfterMs: RECHECK_MS };
}
