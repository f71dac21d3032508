// Blob downloads in progress on this proxy, one per (cache repository, digest): single-flight
// for clients and for the cache filler alike. Each download is streamed into the kuik registry
// as it arrives (a monolithic upload whose digest the registry verifies), reading the same
// temporary file the clients read, so a client that disconnects does not stop the cache fill
// and a failing cache write does not disturb any client.
import type { Digest } from '@kuik/oci';
import type { Logger } from '@kuik/observability';
import { BlobDownload } from './blob-download.js';
import type { CacheRegistry } from './cache.js';
import type { ProxyMetrics } from './metrics.js';
import type { Origins } from './origins.js';
import type { Target } from './routing.js';

export interface DownloadsOptions {
  dataDir: string;
  cache: CacheRegistry;
  origins: Origins;
  /** Write downloads into the cache. */
  fill: boolean;
  metrics: ProxyMetrics;
  logger: Logger;
}

export interface TrackedDownload {
  download: BlobDownload;
  /** Resolves true once the blob is in the cache, false when the cache write failed or was skipped. */
  cached: Promise<boolean>;
}

/** How long a finished download's key is remembered, to close the miss-then-start race. */
const RECENT_MS = 60_000;

export class Downloads {
  private readonly inflight = new Map<string, TrackedDownload>();
  private readonly recent = new Map<string, number>();

  constructor(private readonly options: DownloadsOptions) {}

  static key(target: Target, digest: Digest): string {
    return `${target.cacheRepository}@${digest}`;
  }

  get(target: Target, digest: Digest): TrackedDownload | undefined {
    return this.inflight.get(Downloads.key(target, digest));
  }

  /**
   * True when a download of this blob finished into the cache moments ago: a caller that saw a
   * cache miss just before should look in the cache again rather than download it twice.
   */
  recentlyCached(target: Target, digest: Digest): boolean {
    const at = this.recent.get(Downloads.key(target, digest));
    return at !== undefined && Date.now() - at < RECENT_MS;
  }

  /** The download in progress for this blob, or a new one. */
  getOrStart(target: Target, digest: Digest, kind: 'client' | 'fill'): TrackedDownload & { joined: boolean } {
    const key = Downloads.key(target, digest);
    const existing = this.inflight.get(key);
    if (existing) {
      this.options.metrics.singleFlightJoins.labels(kind === 'fill' ? 'fill' : 'blob').inc();
      return { ...existing, joined: true };
    }
    const { origins, metrics, logger } = this.options;
    const origin = origins.for(target);
    const download = new BlobDownload(digest, this.options.dataDir, async (signal) => {
      metrics.originFetches.labels(target.origin, 'blob').inc();
      const res = await origin.getBlob(target.repository, digest, { signal });
      if (res.kind !== 'content') throw new Error('unexpected redirect'); // the client follows redirects for us
      return { body: res.body, size: res.size };
    });
    // The upload's hold is taken before start, so the download cannot be abandoned before it runs.
    const uploadHold = this.options.fill ? download.acquire() : undefined;
    download.start();
    metrics.downloadsInProgress.inc();
    const cached = uploadHold ? this.upload(target, download, uploadHold) : Promise.resolve(false);
    const tracked = { download, cached };
    this.inflight.set(key, tracked);
    void Promise.allSettled([download.completed, cached]).then(([completed, stored]) => {
      this.inflight.delete(key);
      download.retire();
      metrics.downloadsInProgress.dec();
      if (completed.status === 'rejected') logger.warn('origin download failed', { origin: target.origin, repository: target.repository, digest, err: completed.reason });
      if (stored.status === 'fulfilled' && stored.value) {
        this.recent.set(key, Date.now());
        this.pruneRecent();
      }
    });
    return { ...tracked, joined: false };
  }

  /** Starts (or joins) a download and resolves once the blob is in the cache. */
  async ensureCached(target: Target, digest: Digest): Promise<void> {
    const { cached } = this.getOrStart(target, digest, 'fill');
    if (!(await cached)) throw new Error(`blob ${digest} could not be written to the cache`);
  }

  private async upload(target: Target, download: BlobDownload, hold: () => void): Promise<boolean> {
    const { cache, metrics, logger } = this.options;
    try {
      await download.ready;
      const size = download.size;
      await cache.call(async (client) => {
        if (size !== undefined) {
          await client.pushBlob(target.cacheRepository, download.digest, size, () => download.createReader(0), { skipExisting: false });
        } else {
          // Unknown length (chunked origin response): PATCH chunks as they come.
          const reader = download.createReader(0);
          try {
            await client.pushBlobChunked(target.cacheRepository, download.digest, reader, { skipExisting: false });
          } finally {
            reader.destroy();
          }
        }
      });
      metrics.cacheFills.labels('blob').inc();
      return true;
    } catch (err) {
      // An origin failure is reported by the download itself; count only cache-side failures.
      if (!download.error) {
        metrics.cacheFillFailures.labels('blob').inc();
        logger.warn('cache fill failed', { kind: 'blob', repository: target.cacheRepository, digest: download.digest, err });
      }
      return false;
    } finally {
      hold();
    }
  }

  private pruneRecent(): void {
    if (this.recent.size < 10_000) return;
    const now = Date.now();
    for (const [k, at] of this.recent) if (now - at >= RECENT_MS) this.recent.delete(k);
  }

  /** Aborts every download (shutdown). */
  abortAll(): void {
    for (const { download } of this.inflight.values()) download.abort('proxy shutting down');
  }
}
