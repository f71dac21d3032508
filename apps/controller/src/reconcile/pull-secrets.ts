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
import { parseImage } from '../images/reference.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { normalizeRegistryHost, type AuthsByHost } from '../registry/credentials.js';
import type { ReconcileContext } from './context.js';
import { writeManagedSecret } from './managed-secret.js';

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
  const ns = ctx.config.namespace;
  const name = ctx.config.pullSecrets.mirrorSecretName;
  const content = JSON.stringify({ repositories });
  const written = await writeManagedSecret(ctx.client, { namespace: ns, name, type: 'Opaque', key: MIRROR_KEY, content }, signal);
  if (written === 'conflict') return { requeueAfterMs: 1000 };
  if (written !== 'unchanged') ctx.logger.info('pull-secret mirror updated', { secret: `${ns}/${name}`, repositories: Object.keys(repositories).length });
  return { requeueAfterMs: RECHECK_MS };
}
