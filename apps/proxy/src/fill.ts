// Completes the cache after a manifest was fetched from an origin. A registry accepts a manifest
// only once it holds everything the manifest references, so the filler works bottom-up: the
// blobs of an image manifest (joining downloads clients started, starting the ones no client
// asked for, e.g. layers the node already had), then the manifest by digest; for an index, each
// child first, then the index; then the tag. Manifests are stored byte for byte: digests in the
// cache equal the origin's. While a fill runs, its manifests are served from memory, so clients
// pulling by digest or tag meanwhile do not go back to the origin.
import { isIndexMediaType, manifestReferences, parseManifest, type Digest } from '@kuik/oci';
import { mapLimit, type Manifest } from '@kuik/oci/client';
import type { Logger } from '@kuik/observability';
import type { CacheRegistry } from './cache.js';
import type { Downloads } from './downloads.js';
import type { ProxyMetrics } from './metrics.js';
import type { OriginManifests } from './origin-manifests.js';
import type { Target } from './routing.js';
import { SingleFlight } from './single-flight.js';

export interface FillerOptions {
  enabled: boolean;
  indexChildren: 'all' | 'requested';
  concurrency: number;
  cache: CacheRegistry;
  downloads: Downloads;
  originManifests: OriginManifests;
  metrics: ProxyMetrics;
  logger: Logger;
}

/** Fills running at once; beyond this, new ones are skipped (the next pull tries again). */
const MAX_FILLS = 64;

export class CacheFiller {
  private readonly manifestFills = new SingleFlight<void>();
  private readonly tagFills = new SingleFlight<void>();
  /** Manifests of fills in progress, by "<cacheRepo>@<digest>" and "<cacheRepo>:<tag>". */
  private readonly pending = new Map<string, Manifest>();

  constructor(private readonly options: FillerOptions) {}

  /** A manifest a fill in progress holds, to be served without going to the origin. */
  pendingManifest(target: Target, reference: string): Manifest | undefined {
    return this.pending.get(key(target, reference));
  }

  /** Starts filling the cache with this manifest (and tag); returns at once. Idempotent. */
  fill(target: Target, manifest: Manifest, tag?: string): void {
    void this.fillAndWait(target, manifest, tag).catch(() => undefined);
  }

  /** Like fill, but resolves when the cache holds the manifest (and tag); rejects on failure. */
  async fillAndWait(target: Target, manifest: Manifest, tag?: string): Promise<void> {
    const { enabled, cache, logger, metrics } = this.options;
    if (!enabled || !cache.available || this.manifestFills.size >= MAX_FILLS) return;
    if (!tag) return this.fillManifest(target, manifest);
    const tagKey = key(target, tag);
    this.pending.set(tagKey, manifest);
    const { promise } = this.tagFills.run(`${tagKey}@${manifest.digest}`, async () => {
      try {
        await this.fillManifest(target, manifest);
        await cache.call((c) => c.putManifest(target.cacheRepository, tag, manifest.content, manifest.mediaType));
        metrics.cacheFills.labels('tag').inc();
        logger.info('cached', { repository: target.cacheRepository, tag, digest: manifest.digest });
      } catch (err) {
        metrics.cacheFillFailures.labels('tag').inc();
        logger.warn('cache fill failed', { kind: 'tag', repository: target.cacheRepository, tag, digest: manifest.digest, err });
        throw err;
      } finally {
        if (this.pending.get(tagKey) === manifest) this.pending.delete(tagKey);
      }
    });
    return promise;
  }

  private fillManifest(target: Target, manifest: Manifest): Promise<void> {
    const digestKey = key(target, manifest.digest);
    return this.manifestFills.run(digestKey, async () => {
      this.pending.set(digestKey, manifest);
      try {
        if (await this.options.cache.hasManifest(target.cacheRepository, manifest.digest)) return;
        await this.store(target, manifest);
      } catch (err) {
        this.options.metrics.cacheFillFailures.labels('manifest').inc();
        this.options.logger.warn('cache fill failed', { kind: 'manifest', repository: target.cacheRepository, digest: manifest.digest, err });
        throw err;
      } finally {
        this.pending.delete(digestKey);
      }
    }).promise;
  }

  private async store(target: Target, manifest: Manifest): Promise<void> {
    const { cache, downloads, concurrency, metrics } = this.options;
    const parsed = parseManifest(manifest.content, manifest.mediaType);
    if (isIndexMediaType(parsed.mediaType)) {
      for (const child of parsed.manifests) {
        if (await cache.hasManifest(target.cacheRepository, child.digest)) continue;
        if (this.options.indexChildren === 'requested') {
          // The index is stored once every platform is, by pulls or by the controller's copy.
          this.options.logger.debug('index not cached yet: a platform is missing', { repository: target.cacheRepository, digest: manifest.digest, missing: child.digest });
          return;
        }
        const childManifest = this.pendingManifest(target, child.digest) ?? (await this.options.originManifests.fetch(target, child.digest));
        await this.fillManifest(target, childManifest);
      }
    } else {
      await mapLimit(manifestReferences(parsed).blobs, concurrency, async (d) => {
        if (downloads.get(target, d.digest) === undefined && (await cache.statBlob(target.cacheRepository, d.digest))) return;
        await downloads.ensureCached(target, d.digest as Digest);
      });
    }
    await cache.call((c) => c.putManifest(target.cacheRepository, manifest.digest, manifest.content, manifest.mediaType));
    metrics.cacheFills.labels('manifest').inc();
  }
}

function key(target: Target, reference: string): string {
  return `${target.cacheRepository}${reference.includes(':') ? '@' : ':'}${reference}`;
}
