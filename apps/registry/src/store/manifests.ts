// Manifests: validated on push (type, size, every referenced blob or child manifest present in
// the repository), stored as blobs under their digest, linked into the repository as revisions,
// optionally tagged, and indexed as referrers of their subject.
import {
  digestOf,
  manifestReferences,
  OciError,
  parseManifest,
  tryParseDigest,
  type Descriptor,
  type Digest,
  type ManifestReference,
  type PutManifestResult,
  type StoredManifest,
} from '@kuik/oci';
import type { CallOptions, StorageDriver } from '@kuik/storage';
import type { BlobStore } from './blobs.js';
import { layout } from './layout.js';
import type { ReferrerStore } from './referrers.js';
import { deleteIfExists, readLink, writeLink } from './storage-util.js';
import type { TagStore } from './tags.js';

/** How many referenced blobs are checked at once on push. */
const CHECK_CONCURRENCY = 8;

export class ManifestStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly tags: TagStore,
    private readonly referrers: ReferrerStore,
    /** Stored manifests are read back with a generous bound (the push limit may have been lowered since). */
    private readonly readMaxBytes: number,
  ) {}

  async resolve(repo: string, reference: ManifestReference, options?: CallOptions): Promise<Digest> {
    if (reference.kind === 'digest') return reference.digest;
    const digest = await this.tags.resolve(repo, reference.tag, options);
    if (!digest) throw new OciError('MANIFEST_UNKNOWN', 'manifest tag unknown', { tag: reference.tag });
    return digest;
  }

  async get(repo: string, reference: ManifestReference, options?: CallOptions): Promise<StoredManifest> {
    const digest = await this.resolve(repo, reference, options);
    const content = (await this.hasRevision(repo, digest, options)) ? await this.blobs.getSmall(digest, this.readMaxBytes, options) : null;
    if (!content) throw new OciError('MANIFEST_UNKNOWN', undefined, { digest });
    // The body decides its type (Docker types must carry mediaType; OCI ones are told by shape).
    return { digest, mediaType: parseManifest(content).mediaType, content };
  }

  async put(repo: string, reference: ManifestReference, content: Buffer, contentType: string | undefined, options?: CallOptions): Promise<PutManifestResult> {
    const parsed = parseManifest(content, contentType);
    const algorithm = reference.kind === 'digest' ? tryParseDigest(reference.digest)!.algorithm : 'sha256';
    const digest = digestOf(content, algorithm);
    if (reference.kind === 'digest' && reference.digest !== digest) {
      throw new OciError('DIGEST_INVALID', 'manifest digest does not match the reference', { expected: reference.digest, actual: digest });
    }
    const refs = manifestReferences(parsed);
    await checkAll(refs.blobs, (d) => this.blobs.isLinked(repo, d.digest, options));
    await checkAll(refs.manifests, (d) => this.hasRevision(repo, d.digest, options));

    // Content first, then the links that make it reachable: a crash leaves at worst an
    // unreferenced blob for garbage collection, never a link to nothing.
    await this.blobs.putSmall(digest, content, options);
    await writeLink(this.driver, layout.revisionLink(repo, digest), digest, options);
    if (parsed.subject) await this.referrers.add(repo, parsed.subject.digest, digest, options);
    if (reference.kind === 'tag') await this.tags.set(repo, reference.tag, digest, options);
    return parsed.subject ? { digest, subject: parsed.subject.digest } : { digest };
  }

  /** By tag: removes the tag. By digest: removes the revision, its referrer entry and every tag on it. */
  async delete(repo: string, reference: ManifestReference, options?: CallOptions): Promise<void> {
    if (reference.kind === 'tag') {
      if (!(await this.tags.delete(repo, reference.tag, options))) throw new OciError('MANIFEST_UNKNOWN', 'manifest tag unknown', { tag: reference.tag });
      return;
    }
    const digest = reference.digest;
    if (!(await this.hasRevision(repo, digest, options))) throw new OciError('MANIFEST_UNKNOWN', undefined, { digest });
    const content = await this.blobs.getSmall(digest, this.readMaxBytes, options);
    for (const tag of await this.tags.pointingAt(repo, digest, options)) await this.tags.delete(repo, tag, options);
    if (content) {
      const subject = safeSubject(content);
      if (subject) await this.referrers.remove(repo, subject, digest, options);
    }
    await deleteIfExists(this.driver, layout.revisionDir(repo, digest), options);
  }

  async hasRevision(repo: string, digest: Digest, options?: CallOptions): Promise<boolean> {
    return (await readLink(this.driver, layout.revisionLink(repo, digest), options)) === digest;
  }
}

function safeSubject(content: Buffer): Digest | undefined {
  try {
    return parseManifest(content).subject?.digest;
  } catch {
    return undefined;
  }
}

/** Checks every descriptor (a few at a time); MANIFEST_BLOB_UNKNOWN names the first missing one. */
async function checkAll(descriptors: Descriptor[], present: (d: Descriptor) => Promise<boolean>): Promise<void> {
  const unique = [...new Map(descriptors.map((d) => [d.digest, d])).values()];
  for (let i = 0; i < unique.length; i += CHECK_CONCURRENCY) {
    const batch = unique.slice(i, i + CHECK_CONCURRENCY);
    const found = await Promise.all(batch.map(present));
    const missing = batch.find((_d, j) => !found[j]);
    if (missing) throw new OciError('MANIFEST_BLOB_UNKNOWN', undefined, { digest: missing.digest, mediaType: missing.mediaType });
  }
}
