// Blobs: content-addressed data shared by all repositories, made visible to a repository by a
// link. A repository "has" a blob when both its link and the data exist.
import { OciError, type BlobInfo, type ByteRange, type Digest } from '@kuik/oci';
import type { CallOptions, StorageDriver } from '@kuik/storage';
import type { Readable } from 'node:stream';
import { layout } from './layout.js';
import { deleteIfExists, orIfMissing, readLink, writeLink } from './storage-util.js';

export class BlobStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly redirects: boolean,
  ) {}

  /** Size of the blob in the global store, or null when absent. */
  async globalSize(digest: Digest, options?: CallOptions): Promise<number | null> {
    return orIfMissing(async () => (await this.driver.stat(layout.blobData(digest), options)).size, null);
  }

  /**
   * The blob as the repository sees it. Manifests are blobs too (served by digest through the
   * blobs endpoint, as distribution does), so a manifest revision link also counts.
   */
  async stat(repo: string, digest: Digest, options?: CallOptions): Promise<BlobInfo> {
    const linked =
      (await readLink(this.driver, layout.layerLink(repo, digest), options)) === digest ||
      (await readLink(this.driver, layout.revisionLink(repo, digest), options)) === digest;
    const size = linked ? await this.globalSize(digest, options) : null;
    if (size === null) throw new OciError('BLOB_UNKNOWN', undefined, { digest });
    return { digest, size };
  }

  /** Whether the repository links the blob as a layer/config (what manifests may reference). */
  async isLinked(repo: string, digest: Digest, options?: CallOptions): Promise<boolean> {
    if ((await readLink(this.driver, layout.layerLink(repo, digest), options)) !== digest) return false;
    return (await this.globalSize(digest, options)) !== null;
  }

  async open(digest: Digest, range: ByteRange | undefined, options?: CallOptions): Promise<Readable> {
    const path = layout.blobData(digest);
    return range
      ? this.driver.reader(path, range.start, { ...options, length: range.end - range.start + 1 })
      : this.driver.reader(path, 0, options);
  }

  async redirectURL(digest: Digest, method: 'GET' | 'HEAD', options?: CallOptions): Promise<string | null> {
    if (!this.redirects || !this.driver.redirectURL) return null;
    return this.driver.redirectURL(layout.blobData(digest), { ...options, method });
  }

  async link(repo: string, digest: Digest, options?: CallOptions): Promise<void> {
    await writeLink(this.driver, layout.layerLink(repo, digest), digest, options);
  }

  /** Removes the repository's link; the data stays until garbage collection. */
  async unlink(repo: string, digest: Digest, options?: CallOptions): Promise<void> {
    if (!(await deleteIfExists(this.driver, layout.layerLinkDir(repo, digest), options))) {
      throw new OciError('BLOB_UNKNOWN', undefined, { digest });
    }
  }

  /** Stores small content (a manifest) under its digest, atomically; a no-op when present. */
  async putSmall(digest: Digest, content: Buffer, options?: CallOptions): Promise<void> {
    if ((await this.globalSize(digest, options)) === content.length) return;
    await this.driver.putContent(layout.blobData(digest), content, options);
  }

  /**
   * Whether the blob's data is in the store, putting it back first when a garbage collection
   * run holds it in quarantine (see gc/collector.ts). Content-addressed, so the quarantined copy
   * is the same bytes; if the collector deletes it first, the move finds nothing and the blob is
   * reported missing.
   */
  async ensurePresent(digest: Digest, options?: CallOptions): Promise<boolean> {
    if ((await this.globalSize(digest, options)) !== null) return true;
    await orIfMissing(() => this.driver.move(layout.gcQuarantine(digest), layout.blobData(digest), options), undefined);
    return (await this.globalSize(digest, options)) !== null;
  }

  async getSmall(digest: Digest, maxBytes: number, options?: CallOptions): Promise<Buffer | null> {
    return orIfMissing(() => this.driver.getContent(layout.blobData(digest), { ...options, maxBytes }), null);
  }

  /** Moves verified upload data into place; when the blob already exists the upload is dropped. */
  async adopt(uploadDataPath: string, digest: Digest, size: number, options?: CallOptions): Promise<void> {
    if ((await this.globalSize(digest, options)) === size) {
      await deleteIfExists(this.driver, uploadDataPath, options);
      return;
    }
    await this.driver.move(uploadDataPath, layout.blobData(digest), options);
  }
}
