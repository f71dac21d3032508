// Copies an image between registries unchanged: the index (all platforms by default), every
// child manifest and every blob, byte for byte, so every digest at the destination equals the
// source's. Children go before their parents and blobs before manifests, because a registry
// refuses a manifest whose references it does not hold. Blobs already at the destination are
// skipped (HEAD); within one registry they are mounted instead of copied.
import { parseManifest, manifestReferences, type Descriptor, type Platform } from '../manifest.js';
import type { Digest } from '../digest.js';
import { isIndexMediaType } from '../media-types.js';
import { abandon } from './body.js';
import { RegistryClientError } from './errors.js';
import type { Manifest, RegistryClient } from './registry-client.js';

export interface ImageSource {
  client: RegistryClient;
  repository: string;
  /** Tag or digest. */
  reference: string;
}

export interface ImageDestination {
  client: RegistryClient;
  repository: string;
  /** Tags to set on the copied root (default: the source reference when it is a tag). */
  tags?: string[];
}

export interface CopyOptions {
  /** Copy every platform of an index (default true). false: only `platform`'s manifest. */
  allPlatforms?: boolean;
  platform?: Pick<Platform, 'os' | 'architecture' | 'variant'>;
  /** Blobs copied at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface CopyResult {
  /** Digest of the root copied (the index, or the platform manifest when allPlatforms is false). */
  digest: Digest;
  mediaType: string;
  manifests: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  bytesCopied: number;
}

export async function copyImage(src: ImageSource, dst: ImageDestination, options: CopyOptions = {}): Promise<CopyResult> {
  const job = new CopyJob(src, dst, options);
  let root = await src.client.getManifest(src.repository, src.reference, { signal: options.signal });
  if (options.allPlatforms === false && isIndexMediaType(root.mediaType)) root = await job.selectPlatform(root);
  await job.copyManifest(root);
  const tags = dst.tags ?? (src.reference.includes(':') ? [] : [src.reference]);
  for (const tag of tags) await dst.client.putManifest(dst.repository, tag, root.content, root.mediaType, options.signal);
  return { digest: root.digest, mediaType: root.mediaType, ...job.stats };
}

class CopyJob {
  readonly stats = { manifests: 0, blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0, bytesCopied: 0 };
  private readonly blobs = new Map<Digest, Promise<void>>();
  private readonly sameRegistry: boolean;

  constructor(
    private readonly src: ImageSource,
    private readonly dst: ImageDestination,
    private readonly options: CopyOptions,
  ) {
    this.sameRegistry = src.client === dst.client || src.client.apiHost === dst.client.apiHost;
  }

  async selectPlatform(index: Manifest): Promise<Manifest> {
    const want = this.options.platform;
    if (!want) throw new RegistryClientError('protocol', 'copyImage: allPlatforms is false but no platform was given', { host: this.src.client.host });
    const match = parseManifest(index.content, index.mediaType).manifests.find(
      (d) => d.platform?.os === want.os && d.platform.architecture === want.architecture && (!want.variant || d.platform.variant === want.variant),
    );
    if (!match) {
      throw new RegistryClientError('http', `no ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''} manifest in ${index.digest}`, {
        host: this.src.client.host,
        status: 404,
        errors: [{ code: 'MANIFEST_UNKNOWN' }],
      });
    }
    return this.src.client.getManifest(this.src.repository, match.digest, { signal: this.options.signal });
  }

  async copyManifest(m: Manifest): Promise<void> {
    const { signal } = this.options;
    const parsed = parseManifest(m.content, m.mediaType);
    if (isIndexMediaType(parsed.mediaType)) {
      // Children one at a time: each fans out to its blobs already.
      for (const child of parsed.manifests) {
        if (await this.dst.client.headManifest(this.dst.repository, child.digest, { signal })) continue;
        await this.copyManifest(await this.src.client.getManifest(this.src.repository, child.digest, { signal }));
      }
    } else {
      await mapLimit(manifestReferences(parsed).blobs, this.options.concurrency ?? 4, (d) => this.copyBlob(d));
    }
    await this.dst.client.putManifest(this.dst.repository, m.digest, m.content, m.mediaType, signal);
    this.stats.manifests++;
  }

  /** Each digest once, however many platforms share it. */
  private copyBlob(d: Descriptor): Promise<void> {
    let p = this.blobs.get(d.digest);
    if (!p) {
      p = this.transferBlob(d);
      this.blobs.set(d.digest, p);
    }
    return p;
  }

  private async transferBlob(d: Descriptor): Promise<void> {
    const { signal } = this.options;
    const mountFrom = this.sameRegistry && this.src.repository !== this.dst.repository ? this.src.repository : undefined;
    const result = await this.dst.client.pushBlob(
      this.dst.repository,
      d.digest,
      d.size,
      async () => {
        const res = await this.src.client.getBlob(this.src.repository, d.digest, { signal });
        if (res.kind !== 'content') throw new RegistryClientError('protocol', 'unexpected redirect', { host: this.src.client.host });
        if (res.size !== undefined && res.size !== d.size) {
          abandon(res.body);
          throw new RegistryClientError('size', `blob ${d.digest} is ${res.size} bytes, the manifest says ${d.size}`, { host: this.src.client.host });
        }
        return res.body;
      },
      { signal, mountFrom },
    );
    if (result === 'exists') this.stats.blobsSkipped++;
    else if (result === 'mounted') this.stats.blobsMounted++;
    else {
      this.stats.blobsCopied++;
      this.stats.bytesCopied += d.size;
    }
  }
}

/** Runs fn over items with at most `limit` in flight; fails with the first error. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
