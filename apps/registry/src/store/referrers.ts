// The referrers index: for each subject digest, links to the manifests in the repository whose
// `subject` is that digest. Written when such a manifest is pushed, removed when it is deleted;
// the descriptors are computed from the referring manifests themselves when listed.
import { parseManifest, referrerDescriptor, type Descriptor, type Digest } from '@kuik/oci';
import type { CallOptions, StorageDriver } from '@kuik/storage';
import type { BlobStore } from './blobs.js';
import { layout } from './layout.js';
import { deleteIfExists, listOrEmpty, readLink, writeLink } from './storage-util.js';
import { byteOrder } from './tags.js';

export class ReferrerStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly manifestMaxBytes: number,
  ) {}

  async add(repo: string, subject: Digest, referrer: Digest, options?: CallOptions): Promise<void> {
    await writeLink(this.driver, layout.referrerLink(repo, subject, referrer), referrer, options);
  }

  async remove(repo: string, subject: Digest, referrer: Digest, options?: CallOptions): Promise<void> {
    await deleteIfExists(this.driver, layout.referrerLinkDir(repo, subject, referrer), options);
  }

  async list(repo: string, subject: Digest, options?: CallOptions): Promise<Descriptor[]> {
    const digests: Digest[] = [];
    for (const algDir of await listOrEmpty(this.driver, layout.referrersDir(repo, subject), options)) {
      for (const hexDir of await listOrEmpty(this.driver, algDir, options)) {
        const d = layout.digestFrom(layout.basename(algDir), layout.basename(hexDir));
        if (d) digests.push(d);
      }
    }
    digests.sort(byteOrder);
    const out = await Promise.all(digests.map((d) => this.describe(repo, d, options)));
    return out.filter((d): d is Descriptor => d !== null);
  }

  private async describe(repo: string, digest: Digest, options?: CallOptions): Promise<Descriptor | null> {
    // A referrer whose manifest was deleted from the repository is no longer listed.
    if ((await readLink(this.driver, layout.revisionLink(repo, digest), options)) !== digest) return null;
    const content = await this.blobs.getSmall(digest, Math.max(this.manifestMaxBytes, 4 << 20) * 4, options);
    if (!content) return null;
    return referrerDescriptor(parseManifest(content), digest, content.length);
  }
}
