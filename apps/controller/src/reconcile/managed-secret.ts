// Secrets the leader derives from other objects and keeps written (the pull-secret mirror, the
// proxy-host copies of pods' pull secrets): labelled as kuik's, stamped with a hash of what they
// hold, and rewritten only when that hash changes.
import { createHash } from 'node:crypto';
import { isConflict, type KubeClient } from '../kube/client.js';
import type { ObjectMeta, Secret } from '../kube/types.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kuik-controller';
const CONTENT_ANNOTATION = 'kuik.enix.io/content-sha256';

export function isManagedByKuik(s: Secret | null | undefined): boolean {
  return s?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

export interface ManagedSecret {
  namespace: string;
  name: string;
  type: string;
  /** The one data key and the text it holds (stored base64, as Secret data is). */
  key: string;
  content: string;
  annotations?: Record<string, string>;
  ownerReferences?: ObjectMeta['ownerReferences'];
}

/**
 * Writes the Secret unless it already holds this content. 'foreign': a Secret of that name that
 * kuik did not create exists and `keepForeign` says to leave it; 'conflict': it changed meanwhile.
 * Other API errors are thrown.
 */
export async function writeManagedSecret(
  client: KubeClient,
  s: ManagedSecret,
  signal: AbortSignal,
  options: { keepForeign?: boolean } = {},
): Promise<'unchanged' | 'created' | 'updated' | 'foreign' | 'conflict'> {
  const base = `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/secrets`;
  const path = `${base}/${encodeURIComponent(s.name)}`;
  const existing = await client.getOrNull<Secret>(path, { signal });
  if (existing && options.keepForeign && !isManagedByKuik(existing)) return 'foreign';
  const digest = createHash('sha256').update(s.content).digest('hex').slice(0, 16);
  if (existing?.metadata?.annotations?.[CONTENT_ANNOTATION] === digest) return 'unchanged';
  const body: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { [CONTENT_ANNOTATION]: digest, ...s.annotations },
      ...(s.ownerReferences ? { ownerReferences: s.ownerReferences } : {}),
      ...(existing ? { resourceVersion: existing.metadata?.resourceVersion } : {}),
    },
    type: s.type,
    data: { [s.key]: Buffer.from(s.content).toString('base64') },
  };
  try {
    if (existing) await client.replace(path, body, { signal });
    else await client.create(base, body, { signal });
  } catch (err) {
    if (isConflict(err)) return 'conflict';
    throw err;
  }
  return existing ? 'updated' : 'created';
}
