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
/** Index nesting followed when a child is linked again after a collection (indexes of indexes are rare). */
const MAX_NESTING = 4;

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
    await this.commitRevision(repo, digest, content, refs, options);
    if (parsed.subject) await this.referrers.add(repo, parsed.subject.digest, digest, options);
    if (reference.kind === 'tag') await this.tags.set(repo, reference.tag, digest, options);
    return parsed.subject ? { digest, subject: parsed.subject.digest } : { digest };
  }

  /**
   * Writes the revision link, then checks again that everything the manifest references is
   * still there. The checks above may have run before a garbage collection run moved an old,
   * unreferenced blob (or untagged child) into quarantine, and this link may land after the
   * collector's re-check (a PUT slower than its settle time): then nothing else would stop the
   * blob (or the manifest's own content) from being deleted. The check after the link closes
   * that gap: if it sees every reference present (putting quarantined ones back), any later
   * quarantine belongs to a run whose re-check starts after this link was written and so keeps
   * the references (see gc/collector.ts). If a reference is gone for good, the link is taken
   * back and the push fails as if the first check had failed — unless someone pushed the missing
   * content meanwhile.
   */
  private async commitRevision(repo: string, digest: Digest, content: Buffer, refs: ReturnType<typeof manifestReferences>, options?: CallOptions): Promise<void> {
    const link = layout.revisionLink(repo, digest);
    for (let attempt = 0; ; attempt++) {
      await writeLink(this.driver, link, digest, options);
      // The manifest's own content is a blob too (old, if pushed before): we hold its bytes.
      if (!(await this.blobs.ensurePresent(digest, options))) await this.blobs.putSmall(digest, content, options);
      const missing = await this.firstMissing(repo, refs, options);
      if (!missing) return;
      await deleteIfExists(this.driver, layout.revisionDir(repo, digest), options);
      // Pushed again while the link was away: the manifest is complete after all (and another
      // client's identical push that committed meanwhile must not lose its link).
      if (attempt === 0 && !(await this.firstMissing(repo, refs, options))) continue;
      throw new OciError('MANIFEST_BLOB_UNKNOWN', 'a referenced blob was removed by garbage collection while the manifest was pushed', {
        digest: missing.digest,
        mediaType: missing.mediaType,
      });
    }
  }

  /**
   * The first reference whose content is gone (quarantined content is put back first). A child
   * whose revision link is still there was kept, with what it references, by any collection
   * that could have seen it; one whose link a collection removed is checked in depth before it
   * is linked again.
   */
  private async firstMissing(repo: string, refs: ReturnType<typeof manifestReferences>, options?: CallOptions, depth = 0): Promise<Descriptor | undefined> {
    const children = new Set(refs.manifests.map((d) => d.digest));
    return firstMissingOf([...refs.blobs, ...refs.manifests], async (d) => {
      if (!(await this.blobs.ensurePresent(d.digest, options))) return d;
      if (!children.has(d.digest) || (await this.hasRevision(repo, d.digest, options))) return undefined;
      const content = await this.blobs.getSmall(d.digest, this.readMaxBytes, options);
      const childRefs = content && depth < MAX_NESTING ? safeReferences(content) : undefined;
      if (!childRefs) return d;
      const deeper = await this.firstMissing(repo, childRefs, options, depth + 1);
      if (deeper) return deeper;
      await writeLink(this.driver, layout.revisionLink(repo, d.digest), d.digest, options);
      return undefined;
    });
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

function safeReferences(content: Buffer): ReturnType<typeof manifestReferences> | undefined {
  try {
    return manifestReferences(parseManifest(content));
  } catch {
    return undefined;
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
  const missing = await firstMissingOf(descriptors, async (d) => ((await present(d)) ? undefined : d));
  if (missing) throw new OciError('MANIFEST_BLOB_UNKNOWN', undefined, { digest: missing.digest, mediaType: missing.mediaType });
}

/**
 * Runs `missing` over the descriptors (once per digest, a few at a time) and returns the first
 * descriptor it reports, in the descriptors' order; undefined when none is missing.
 */
async function firstMissingOf(descriptors: Descriptor[], missing: (d: Descriptor) => Promise<Descriptor | undefined>): Promise<Descriptor | undefined> {
  const unique = [...new Map(descriptors.map((d) => [d.digest, d])).values()];
  for (let i = 0; i < unique.length; i += CHECK_CONCURRENCY) {
    const found = (await Promise.all(unique.slice(i, i + CHECK_CONCURRENCY).map(missing))).find((m) => m !== undefined);
    if (found) return found;
  }
  return undefined;
}
