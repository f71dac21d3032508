// Usage reconciler (key: CachedImage name). Level-based: from the usage index it makes the
// CachedImage exist while the image is used, keeps status.usedBy exact, and runs expiry:
//   in use            → spec.expiresAt cleared;
//   unused, not kept  → spec.expiresAt = now + cachedImagesExpiryDelay, and once that time has
//                       passed (still unused) the CachedImage is deleted; its finalizer then
//                       removes the image from the registry (cache.ts).
// The index is complete before this runs (reconcilers start after every informer's first list),
// so "unused" never means "not seen yet".
import { API_VERSION, CACHED_IMAGES_PATH, FINALIZER_CACHED_IMAGE, LABEL_REPOSITORY, type CachedImage, type CachedImageStatus } from '../crds/types.js';
import { repositoryLabelValue } from '../images/naming.js';
import { parseImage } from '../images/reference.js';
import { isConflict, isNotFound } from '../kube/client.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { isoTime, type ReconcileContext } from './context.js';

type UsedBy = NonNullable<CachedImageStatus['usedBy']>;

export function desiredUsedBy(ctx: ReconcileContext, name: string): UsedBy {
  const u = ctx.index.get(name);
  const pods = [...(u?.pods ?? [])].sort().map((namespacedName) => ({ namespacedName }));
  const workloads = [...(u?.workloads.values() ?? [])].sort((a, b) => (a.kind + a.namespacedName).localeCompare(b.kind + b.namespacedName));
  return { pods, count: pods.length, workloads };
}

function sameUsedBy(a: CachedImageStatus['usedBy'], b: UsedBy): boolean {
  return (
    (a?.count ?? 0) === b.count &&
    JSON.stringify(a?.pods ?? []) === JSON.stringify(b.pods) &&
    JSON.stringify(a?.workloads ?? []) === JSON.stringify(b.workloads)
  );
}

export async function reconcileUsage(ctx: ReconcileContext, name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
  const path = `${CACHED_IMAGES_PATH}/${name}`;
  const usage = ctx.index.get(name);
  const inUse = ctx.index.inUse(name);
  const ci = ctx.cachedImages.get(name);

  if (!ci) {
    if (!inUse || !usage) return;
    const image = parseImage(usage.source);
    const body: CachedImage = {
      apiVersion: API_VERSION,
      kind: 'CachedImage',
      metadata: { name, labels: { [LABEL_REPOSITORY]: repositoryLabelValue(image) }, finalizers: [FINALIZER_CACHED_IMAGE] },
      spec: { sourceImage: usage.source },
    };
    try {
      await ctx.client.create(CACHED_IMAGES_PATH, body, { signal });
      ctx.logger.info('CachedImage created', { cachedImage: name, sourceImage: usage.source });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    await patchStatus(ctx, name, { usedBy: desiredUsedBy(ctx, name) }, signal);
    return;
  }
  if (ci.metadata.deletionTimestamp) return; // the cache reconciler finishes the deletion

  if (usage && ci.spec.sourceImage !== usage.source) {
    ctx.logger.warn('CachedImage name collision: two images map to one name', { cachedImage: name, existing: ci.spec.sourceImage, wanted: usage.source });
  }
  const usedBy = desiredUsedBy(ctx, name);
  if (!sameUsedBy(ci.status?.usedBy, usedBy)) await patchStatus(ctx, name, { usedBy }, signal);

  const now = ctx.now();
  if (inUse || ci.spec.retain) {
    if (ci.spec.expiresAt) await ctx.client.mergePatch(path, { spec: { expiresAt: null } }, { signal });
    return;
  }
  if (!ci.spec.expiresAt) {
    const expiresAt = isoTime(now + ctx.config.cachedImagesExpiryDelayMs);
    await ctx.client.mergePatch(path, { spec: { expiresAt } }, { signal });
    ctx.logger.info('CachedImage unused, expiry scheduled', { cachedImage: name, expiresAt });
    return { requeueAfterMs: ctx.config.cachedImagesExpiryDelayMs };
  }
  const expiresAt = Date.parse(ci.spec.expiresAt);
  if (Number.isFinite(expiresAt) && expiresAt > now) return { requeueAfterMs: expiresAt - now };
  try {
    // Preconditioned on the version we judged: a concurrent change (retain set) wins.
    await ctx.client.request('DELETE', path, { body: { preconditions: { resourceVersion: ci.metadata.resourceVersion } }, signal });
    ctx.logger.info('CachedImage expired, deleting', { cachedImage: name, sourceImage: ci.spec.sourceImage });
  } catch (err) {
    if (isNotFound(err)) return;
    // Our cache is behind (a status write since): judge again on the newer version.
    if (isConflict(err)) return { requeueAfterMs: 1000 };
    throw err;
  }
}

export async function patchStatus(ctx: ReconcileContext, name: string, status: Partial<CachedImageStatus>, signal: AbortSignal): Promise<void> {
  try {
    await ctx.client.mergePatch(`${CACHED_IMAGES_PATH}/${name}/status`, { status }, { signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
