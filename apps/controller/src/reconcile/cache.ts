// Cache reconciler (key: CachedImage name; at most maxConcurrentCachedImageReconciles at once).
// Makes the image present in the kuik registry and the status say so:
//   1. HEAD the cache first: an image the proxy already stored while streaming it to a node is
//      never fetched again (kuik 1.x downloaded every image twice);
//   2. an image only pods use (no workload template) that is still missing gets a grace period,
//      because the proxy is probably filling the cache right now;
//   3. otherwise HEAD the origin and copy the image (every platform, digests unchanged) with the
//      credentials of its Repository (or the controller's cloud identity); when the origin refuses
//      those, with the first pull secret of a pod using the image that it accepts, into the cache's
//      private area (served by the proxy only to clients whose credentials the origin accepts);
//   4. mutable tags are re-checked upstream every Repository.spec.updateInterval when the image
//      matches its updateFilters, and copied again when the digest changed.
// Deletion: the finalizer removes the manifest from the registry, but never holds the object
// longer than finalizerTimeout when the registry cannot be reached.
import { parseDuration } from '@kuik/config';
import { isRefusal } from '@kuik/oci';
import { clientErrorToOci } from '@kuik/oci/client';
import { CACHED_IMAGES_PATH, FINALIZER_CACHED_IMAGE, type CachedImage, type CachedImageStatus } from '../crds/types.js';
import { repositoryObjectName } from '../images/naming.js';
import { cacheRepository, parseImage, type ParsedImage } from '../images/reference.js';
import { isConflict, isNotFound, KubeApiError } from '../kube/client.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import type { Secret } from '../kube/types.js';
import { authsFromSecret, credentialsFor, type RegistryCredentials } from '../registry/credentials.js';
import type { CacheArea, ManifestInfo } from '../registry/port.js';
import { isoTime, type ReconcileContext } from './context.js';
import { patchStatus } from './usage.js';

const GRACE_RECHECK_MS = 10_000;
const FINALIZER_RETRY_MS = 10_000;

/** How often this image is re-checked upstream, or undefined when it is not (digests never change). */
export function updateIntervalMs(ctx: ReconcileContext, ci: CachedImage, image: ParsedImage): number | undefined {
  if (image.digest) return undefined;
  const repo = ctx.repositories.get(repositoryObjectName(image));
  const interval = repo?.spec.updateInterval ? parseDuration(repo.spec.updateInterval) : undefined;
  if (!interval) return undefined;
  const filters = repo?.spec.updateFilters ?? [];
  // No filter: every image of the repository follows the interval.
  if (filters.length === 0) return interval;
  return filters.some((f) => safeRegex(f)?.test(ci.spec.sourceImage)) ? interval : undefined;
}

function safeRegex(src: string): RegExp | undefined {
  try {
    return new RegExp(src);
  } catch {
    return undefined;
  }
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1000);
}

export async function reconcileCache(ctx: ReconcileContext, name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
  const ci = ctx.cachedImages.get(name);
  if (!ci) return;
  if (ci.metadata.deletionTimestamp) return finalize(ctx, ci, signal);
  if (!ci.metadata.finalizers?.includes(FINALIZER_CACHED_IMAGE)) await addFinalizer(ctx, ci, signal);

  let image: ParsedImage;
  try {
    image = parseImage(ci.spec.sourceImage);
  } catch (err) {
    await patchStatus(ctx, name, { phase: 'ErrImagePull', isCached: false, message: errorMessage(err) }, signal);
    return; // retrying cannot help until the spec changes
  }
  const status = ci.status ?? {};
  const now = ctx.now();
  const interval = updateIntervalMs(ctx, ci, image);
  const lastSync = status.lastSync ? Date.parse(status.lastSync) : NaN;
  const upstreamDue = !Number.isFinite(lastSync) || (interval !== undefined && now - lastSync >= interval);
  const nextCheck = interval !== undefined ? { requeueAfterMs: Math.max(1000, (Number.isFinite(lastSync) && !upstreamDue ? lastSync + interval - now : interval)) } : undefined;

  const cached = await ctx.registries.headCached(image, signal);
  if (cached && !upstreamDue) {
    if (status.phase !== 'Ready' || !status.isCached || status.digest !== cached.digest) {
      await patchStatus(ctx, name, { phase: 'Ready', isCached: true, digest: cached.digest, message: null as unknown as undefined }, signal);
    }
    return nextCheck;
  }
  if (!cached) {
    const usage = ctx.index.get(name);
    const age = now - Date.parse(ci.metadata.creationTimestamp ?? new Date(now).toISOString());
    if (usage && usage.pods.size > 0 && usage.workloads.size === 0 && age < ctx.config.cacheFill.gracePeriodMs) {
      if (!status.phase) await patchStatus(ctx, name, { phase: 'Synchronizing', isCached: false }, signal);
      return { requeueAfterMs: Math.min(GRACE_RECHECK_MS, ctx.config.cacheFill.gracePeriodMs - age) };
    }
  }

  let credentials = await ctx.credentials.forImage(image, signal);
  let upstream: ManifestInfo | null = null;
  let upstreamError: unknown;
  try {
    upstream = await ctx.registries.headUpstream(image, credentials, signal);
  } catch (err) {
    upstreamError = err;
  }
  // Refused with the controller's credentials and not cached yet: a pod's own pull secret may be
  // accepted; what is copied with it goes to the private area, as the proxy would cache it.
  let area: CacheArea = 'shared';
  let podSecretsTried = 0;
  if (!upstream && !cached && refused(upstreamError) && ctx.config.webhook.podPullSecrets) {
    const viaPod = await podSecretCredentials(ctx, name, image, signal);
    podSecretsTried = viaPod.tried;
    if (viaPod.found) {
      ({ credentials, upstream } = viaPod.found);
      area = 'private';
      upstreamError = undefined;
      ctx.logger.info('copying with a pod pull secret into the private area', { cachedImage: name, secret: viaPod.found.secret });
    }
  }
  const sync: Partial<CachedImageStatus> = { lastSync: isoTime(now), availableUpstream: !!upstream };
  if (upstream) Object.assign(sync, { lastSeenUpstream: isoTime(now), upstreamDigest: upstream.digest });

  // In the cache and nothing newer upstream (or the origin is unreachable): keep what we have.
  if (cached && (!upstream || upstream.digest === cached.digest)) {
    await patchStatus(
      ctx,
      name,
      { ...sync, phase: 'Ready', isCached: true, digest: cached.digest, upToDate: upstream ? true : (status.upToDate ?? false), message: null as unknown as undefined },
      signal,
    );
    return nextCheck;
  }
  if (!upstream) {
    const message = !upstreamError
      ? 'image not found at its origin'
      : refused(upstreamError)
        ? `origin refused the controller's credentials${podSecretsTried > 0 ? ` and the ${podSecretsTried} pull secret(s) of its pods` : ''}: ${errorMessage(upstreamError)}`
        : `origin unreachable: ${errorMessage(upstreamError)}`;
    await patchStatus(ctx, name, { ...sync, phase: 'ErrImagePull', isCached: false, message }, signal);
    throw new Error(`${ci.spec.sourceImage}: ${message}`);
  }

  const registryHost = image.domain;
  await patchStatus(ctx, name, { phase: 'Pulling' }, signal);
  try {
    const copied = await ctx.registries.copyToCache(image, credentials, AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(ctx.config.cacheFill.timeoutMs))]), area);
    ctx.metrics.imageCachingRequest.labels('true', registryHost).inc();
    ctx.metrics.imagePutInCache.inc();
    ctx.logger.info('image cached', { cachedImage: name, sourceImage: ci.spec.sourceImage, digest: copied.digest, repository: cacheRepository(image), area });
    const done = isoTime(ctx.now());
    await patchStatus(
      ctx,
      name,
      {
        ...sync,
        phase: 'Ready',
        isCached: true,
        digest: copied.digest,
        upstreamDigest: upstream.digest,
        upToDate: copied.digest === upstream.digest,
        lastSuccessfulPull: done,
        message: null as unknown as undefined,
      },
      signal,
    );
    return nextCheck;
  } catch (err) {
    if (signal.aborted) throw err;
    ctx.metrics.imageCachingRequest.labels('false', registryHost).inc();
    await patchStatus(ctx, name, { ...sync, phase: cached ? 'Ready' : 'ErrImagePull', isCached: !!cached, message: errorMessage(err) }, signal);
    throw err;
  }
}

/** Pull secrets of one CachedImage's pods tried at most, per reconcile. */
const MAX_POD_SECRETS = 8;

/** A failure of the origin that other credentials might change (@kuik/oci's isRefusal, on the client's error). */
function refused(err: unknown): boolean {
  return err !== undefined && isRefusal(clientErrorToOci(err, 'origin'));
}

/**
 * Credentials from the pull secrets of the pods using this image (read by name, in each pod's
 * namespace) that the origin accepts for it, with what the origin answered (none found: no
 * `found`); `tried`: how many secrets were read.
 */
async function podSecretCredentials(
  ctx: ReconcileContext,
  name: string,
  image: ParsedImage,
  signal: AbortSignal,
): Promise<{ found?: { credentials: RegistryCredentials; upstream: ManifestInfo; secret: string }; tried: number }> {
  const tried = new Set<string>();
  for (const podKey of ctx.index.get(name)?.pods ?? []) {
    const namespace = podKey.slice(0, podKey.indexOf('/'));
    for (const secretName of ctx.pods.get(podKey)?.pullSecrets ?? []) {
      const key = `${namespace}/${secretName}`;
      if (tried.has(key)) continue;
      if (tried.size >= MAX_POD_SECRETS) return { tried: tried.size };
      tried.add(key);
      const secret = await ctx.client.getOrNull<Secret>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(secretName)}`, { signal });
      const credentials = secret && credentialsFor(authsFromSecret(secret), image.domain);
      if (!credentials) continue;
      try {
        const upstream = await ctx.registries.headUpstream(image, credentials, signal);
        if (upstream) return { found: { credentials, upstream, secret: key }, tried: tried.size };
      } catch (err) {
        if (!refused(err)) throw err;
      }
    }
  }
  return { tried: tried.size };
}

async function addFinalizer(ctx: ReconcileContext, ci: CachedImage, signal: AbortSignal): Promise<void> {
  const ops = ci.metadata.finalizers
    ? [{ op: 'add', path: '/metadata/finalizers/-', value: FINALIZER_CACHED_IMAGE }]
    : [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER_CACHED_IMAGE] }];
  try {
    await ctx.client.jsonPatch(`${CACHED_IMAGES_PATH}/${ci.metadata.name}`, [{ op: 'test', path: '/metadata/resourceVersion', value: ci.metadata.resourceVersion }, ...ops], {
      signal,
    });
  } catch (err) {
    // Gone, or changed since it was read (the test op fails with 422): the newer version is
    // reconciled when its watch event arrives.
    if (isConflict(err) || isNotFound(err) || (err instanceof KubeApiError && err.status === 422)) return;
    throw err;
  }
}

async function finalize(ctx: ReconcileContext, ci: CachedImage, signal: AbortSignal): Promise<ReconcileResult | void> {
  const name = ci.metadata.name ?? '';
  const index = ci.metadata.finalizers?.indexOf(FINALIZER_CACHED_IMAGE) ?? -1;
  if (index < 0) return;
  const deadline = Date.parse(ci.metadata.deletionTimestamp ?? '') + ctx.config.finalizerTimeoutMs;
  if (ci.status?.phase !== 'Terminating') await patchStatus(ctx, name, { phase: 'Terminating' }, signal);
  try {
    const remaining = Math.max(1000, Math.min(30_000, deadline - ctx.now()));
    await removeFromRegistry(ctx, ci, AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(remaining))]));
  } catch (err) {
    if (signal.aborted) throw err;
    if (ctx.now() < deadline) {
      ctx.logger.warn('cannot remove the image from the registry yet', { cachedImage: name, err });
      return { requeueAfterMs: Math.min(FINALIZER_RETRY_MS, Math.max(100, deadline - ctx.now())) };
    }
    ctx.logger.error('giving up removing the image from the registry; releasing the CachedImage', { cachedImage: name, err, finalizerTimeoutMs: ctx.config.finalizerTimeoutMs });
  }
  try {
    await ctx.client.jsonPatch(`${CACHED_IMAGES_PATH}/${name}`, [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: FINALIZER_CACHED_IMAGE },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ], { signal });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
}

async function removeFromRegistry(ctx: ReconcileContext, ci: CachedImage, signal: AbortSignal): Promise<void> {
  const image = parseImage(ci.spec.sourceImage);
  const digest = ci.status?.digest ?? image.digest ?? (await ctx.registries.headCached(image, signal))?.digest;
  if (!digest) return; // never reached the cache
  const repo = cacheRepository(image);
  // Another CachedImage of the same repository pointing at the same manifest (nginx:1.27 and
  // nginx:1.27.3): deleting the manifest would remove it too, so only this tag goes.
  const shared = [...ctx.cachedImages.values()].some((o) => {
    if (o.metadata.name === ci.metadata.name || o.metadata.deletionTimestamp || o.status?.digest !== digest) return false;
    try {
      return cacheRepository(parseImage(o.spec.sourceImage)) === repo;
    } catch {
      return false;
    }
  });
  if (shared && image.digest) return;
  // Read before the index goes: its platforms are untagged manifests that nothing else removes.
  const children = shared ? [] : await ctx.registries.cachedIndexChildren(image, digest, signal);
  const result = await ctx.registries.deleteCached(image, digest, shared, signal);
  if (result === 'deleted') {
    ctx.metrics.imageRemovedFromCache.inc();
    ctx.logger.info('image removed from the cache', { cachedImage: ci.metadata.name, repository: repo, digest, onlyTag: shared });
  } else if (result === 'unsupported') {
    ctx.logger.warn('the registry refused the deletion; garbage collection will reclaim it', { cachedImage: ci.metadata.name, repository: repo });
    return;
  }
  if (children.length > 0) await removeOrphanedChildren(ctx, ci, image, children, signal);
}

/**
 * Deletes the platform manifests of a removed index, except those another CachedImage of the same
 * repository still needs: its manifest itself (an image pinned to one platform's digest) or a
 * child of its index (v1 and v1.0 built from the same layers share platforms). What goes becomes
 * garbage, with its layers, for the registry's next collection.
 */
async function removeOrphanedChildren(ctx: ReconcileContext, ci: CachedImage, image: ParsedImage, children: string[], signal: AbortSignal): Promise<void> {
  const repo = cacheRepository(image);
  const needed = new Set<string>();
  // Tags of one repository often share a manifest (1.27, 1.27.3): each index is read once.
  const read = new Set<string>();
  for (const o of ctx.cachedImages.values()) {
    if (o.metadata.name === ci.metadata.name || o.metadata.deletionTimestamp || !o.status?.digest) continue;
    let other: ParsedImage;
    try {
      other = parseImage(o.spec.sourceImage);
    } catch {
      continue;
    }
    if (cacheRepository(other) !== repo || read.has(o.status.digest)) continue;
    read.add(o.status.digest);
    needed.add(o.status.digest);
    for (const d of await ctx.registries.cachedIndexChildren(other, o.status.digest, signal)) needed.add(d);
  }
  let removed = 0;
  for (const child of children) {
    if (needed.has(child)) continue;
    if ((await ctx.registries.deleteCached(image, child, false, signal)) === 'deleted') removed++;
  }
  if (removed > 0) ctx.logger.info('platform manifests of the removed index deleted', { cachedImage: ci.metadata.name, repository: repo, removed, kept: children.length - removed });
}
