// The kuik registry seen as a cache: reads that answer "miss" instead of throwing on absence,
// and a breaker so that a registry that is down costs one failed connection per retry period,
// not one per request (the proxy then goes straight to origins).
import { isRegistryClientError, RegistryClient, hostOptionsFromUrl, type BlobResponse, type Manifest, type Timeouts } from '@kuik/oci/client';
import type { Digest } from '@kuik/oci';
import type { Logger } from '@kuik/observability';

export class CacheUnavailableError extends Error {
  constructor(reason: string) {
    super(`cache registry unavailable: ${reason}`);
    this.name = 'CacheUnavailableError';
  }
}

export interface CacheOptions {
  url: string;
  timeouts: Timeouts;
  retryAfterMs: number;
  manifestMaxBytes: number;
  userAgent: string;
  logger: Logger;
}

export class CacheRegistry {
  readonly client: RegistryClient;
  private downUntil = 0;
  private lastError = '';

  constructor(private readonly options: CacheOptions) {
    this.client = new RegistryClient({
      ...hostOptionsFromUrl(options.url),
      timeouts: options.timeouts,
      manifestMaxBytes: options.manifestMaxBytes,
      userAgent: options.userAgent,
      connections: 64,
    });
  }

  get available(): boolean {
    return Date.now() >= this.downUntil;
  }

  /** Runs a registry call through the breaker; connection-level failures open it. */
  async call<T>(fn: (client: RegistryClient) => Promise<T>): Promise<T> {
    if (!this.available) throw new CacheUnavailableError(this.lastError);
    try {
      return await fn(this.client);
    } catch (err) {
      if (isRegistryClientError(err, 'network') || isRegistryClientError(err, 'timeout')) {
        if (this.available) this.options.logger.warn('cache registry unreachable; going to origins', { retryAfterMs: this.options.retryAfterMs, err });
        this.downUntil = Date.now() + this.options.retryAfterMs;
        this.lastError = (err as Error).message;
      }
      throw err;
    }
  }

  /** The cached manifest, or null on a miss. */
  getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<Manifest | null> {
    return this.call(async (c) => {
      try {
        return await c.getManifest(repository, reference, { signal });
      } catch (err) {
        if (isRegistryClientError(err, 'http') && err.notFound) return null;
        throw err;
      }
    });
  }

  hasManifest(repository: string, reference: string, signal?: AbortSignal): Promise<boolean> {
    return this.call(async (c) => (await c.headManifest(repository, reference, { signal })) !== null);
  }

  /** The cached blob (or a redirect to storage), or null on a miss. */
  getBlob(repository: string, digest: Digest, range: { start: number; end?: number } | undefined, signal?: AbortSignal): Promise<BlobResponse | null> {
    return this.call(async (c) => {
      try {
        return await c.getBlob(repository, digest, { range, signal, redirect: 'external' });
      } catch (err) {
        if (isRegistryClientError(err, 'http') && err.notFound) return null;
        throw err;
      }
    });
  }

  statBlob(repository: string, digest: Digest, signal?: AbortSignal): Promise<{ size: number } | null> {
    return this.call((c) => c.statBlob(repository, digest, { signal }));
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
