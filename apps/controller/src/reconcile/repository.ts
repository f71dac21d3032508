// Repository reconciler (key: Repository object name, "docker.io-library-nginx").
// A Repository is created automatically for the first CachedImage of a repository (marked
// kuik.enix.io/auto-created, so users can add pull secrets or an update policy to it), and
// removed again when it has no image left and nobody configured it. Its status counts its
// images and reports whether its pull secrets could be read.
import { ANNOTATION_AUTO_CREATED, API_VERSION, REPOSITORIES_PATH, type Repository, type RepositoryStatus } from '../crds/types.js';
import type { Condition } from '../kube/types.js';
import { isConflict, isNotFound } from '../kube/client.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { isoTime, type ReconcileContext } from './context.js';

const RECHECK_MS = 5 * 60_000;

export interface RepositoryImages {
  /** CachedImage names of the repository, and the repository's normalized name. */
  get(repositoryObjectName: string): { spec: string; images: Set<string> } | undefined;
}

function configured(repo: Repository): boolean {
  return !!(repo.spec.pullSecretNames?.length || repo.spec.updateInterval || repo.spec.updateFilters?.length);
}

export async function reconcileRepository(ctx: ReconcileContext, images: RepositoryImages, name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
  const repo = ctx.repositories.get(name);
  const mine = images.get(name);
  const count = mine?.images.size ?? 0;
  if (!repo) {
    if (count === 0 || !mine) return;
    const body: Repository = {
      apiVersion: API_VERSION,
      kind: 'Repository',
      metadata: { name, annotations: { [ANNOTATION_AUTO_CREATED]: 'true' } },
      spec: { name: mine.spec },
    };
    try {
      await ctx.client.create(REPOSITORIES_PATH, body, { signal });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    return;
  }
  if (repo.metadata.deletionTimestamp) return;
  if (count === 0 && repo.metadata.annotations?.[ANNOTATION_AUTO_CREATED] === 'true' && !configured(repo)) {
    try {
      await ctx.client.request('DELETE', `${REPOSITORIES_PATH}/${name}`, { body: { preconditions: { resourceVersion: repo.metadata.resourceVersion } }, signal });
    } catch (err) {
      if (isConflict(err)) return { requeueAfterMs: 1000 }; // judged on a stale version
      if (!isNotFound(err)) throw err;
    }
    return;
  }

  const now = ctx.now();
  const { missing } = await ctx.credentials.secretsOf(repo, signal);
  const condition: Omit<Condition, 'lastTransitionTime'> = missing.length
    ? { type: 'PullSecretsReady', status: 'False', reason: 'SecretsUnreadable', message: missing.map((m) => `${m.secret}: ${m.reason}`).join('; ').slice(0, 4000) }
    : { type: 'PullSecretsReady', status: 'True', reason: repo.spec.pullSecretNames?.length ? 'SecretsRead' : 'NoSecrets', message: '' };
  const previous = repo.status?.conditions?.find((c) => c.type === condition.type);
  const unchanged = previous && previous.status === condition.status && previous.reason === condition.reason && previous.message === condition.message;
  const conditions = unchanged ? repo.status?.conditions : [
    ...(repo.status?.conditions ?? []).filter((c) => c.type !== condition.type),
    { ...condition, lastTransitionTime: isoTime(now), observedGeneration: repo.metadata.generation },
  ];
  // lastUpdate: the most recent upstream check of its images.
  let lastUpdate = repo.status?.lastUpdate;
  for (const ciName of mine?.images ?? []) {
    const s = ctx.cachedImages.get(ciName)?.status?.lastSync;
    if (s && (!lastUpdate || s > lastUpdate)) lastUpdate = s;
  }
  const status: RepositoryStatus = { images: count, phase: missing.length ? 'Error' : 'Ready', conditions, ...(lastUpdate ? { lastUpdate } : {}) };
  const s = repo.status ?? {};
  if (s.images !== status.images || s.phase !== status.phase || s.lastUpdate !== status.lastUpdate || !unchanged) {
    try {
      await ctx.client.mergePatch(`${REPOSITORIES_PATH}/${name}/status`, { status }, { signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return { requeueAfterMs: RECHECK_MS };
}
