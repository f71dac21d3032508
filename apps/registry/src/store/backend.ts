// The storage-backed RegistryBackend: the stores composed behind the protocol library's
// interface. Storage failures surface as protocol errors here: transient ones as 503 with
// Retry-After (clients retry; e.g. an upload still held by a replica that just died, until the
// filesystem driver's sessiontimeout lets another replica take it over), anything else unexpected
// as 500 via the router.
import { OciError, type RegistryBackend } from '@kuik/oci';
import { isStorageError, type StorageDriver } from '@kuik/storage';
import { BlobStore } from './blobs.js';
import { HashCache } from './hash-cache.js';
import { ManifestStore } from './manifests.js';
import { ReferrerStore } from './referrers.js';
import { RepositoryStore } from './repositories.js';
import { TagStore } from './tags.js';
import { UploadStore } from './uploads.js';

export interface StorageBackendOptions {
  manifestMaxBytes: number;
  deleteEnabled: boolean;
  redirects: boolean;
  readOnly: boolean;
}

export interface Stores {
  blobs: BlobStore;
  uploads: UploadStore;
  manifests: ManifestStore;
  tags: TagStore;
  repositories: RepositoryStore;
  referrers: ReferrerStore;
}

export function createStores(driver: StorageDriver, options: StorageBackendOptions): Stores {
  const blobs = new BlobStore(driver, options.redirects);
  const tags = new TagStore(driver);
  const readMax = Math.max(options.manifestMaxBytes, 4 << 20) * 4;
  const referrers = new ReferrerStore(driver, blobs, readMax);
  return {
    blobs,
    tags,
    referrers,
    uploads: new UploadStore(driver, blobs, new HashCache()),
    manifests: new ManifestStore(driver, blobs, tags, referrers, readMax),
    repositories: new RepositoryStore(driver),
  };
}

export function createStorageBackend(stores: Stores, options: StorageBackendOptions): RegistryBackend {
  const { blobs, uploads, manifests, tags, repositories, referrers } = stores;
  const backend: RegistryBackend = {
    async statBlob(repo, digest, { signal }) {
      return blobs.stat(repo, digest, { signal });
    },
    async getBlob(_repo, digest, range, { signal }) {
      return blobs.open(digest, range, { signal });
    },
    async blobRedirectURL(_repo, digest, method, { signal }) {
      return blobs.redirectURL(digest, method, { signal });
    },
    async getManifest(repo, reference, { signal }) {
      return manifests.get(repo, reference, { signal });
    },
    async listTags(repo, page, { signal }) {
      const result = await tags.page(repo, page, { signal });
      if (result.items.length === 0 && !(await repositories.exists(repo, { signal }))) {
        throw new OciError('NAME_UNKNOWN', undefined, { name: repo });
      }
      return result;
    },
    async listRepositories(page, { signal }) {
      return repositories.page(page, { signal });
    },
    async listReferrers(repo, subject, _filter, { signal }) {
      return referrers.list(repo, subject, { signal });
    },
  };
  if (!options.readOnly) {
    backend.push = {
      startUpload: (repo, { signal }) => uploads.start(repo, signal),
      uploadStatus: (repo, id, { signal }) => uploads.status(repo, id, signal),
      appendUpload: (repo, id, body, o) => uploads.append(repo, id, body, o),
      completeUpload: (repo, id, digest, body, o) => uploads.complete(repo, id, digest, body, o),
      cancelUpload: (repo, id, { signal }) => uploads.cancel(repo, id, signal),
      async mountBlob(repo, digest, from, { signal }) {
        // From the named repository when it has the blob; otherwise from anywhere in the blob
        // store (the spec allows it, and with no auth every repository is readable anyway —
        // an auth layer must restrict this to repositories the client may pull).
        const fromHas = from !== undefined && (await blobs.isLinked(from, digest, { signal }));
        const size = fromHas ? (await blobs.stat(from, digest, { signal })).size : await blobs.globalSize(digest, { signal });
        if (size === null) return null;
        await blobs.link(repo, digest, { signal });
        return { digest, size };
      },
      putManifest: (repo, reference, content, contentType, { signal }) => manifests.put(repo, reference, content, contentType, { signal }),
    };
    if (options.deleteEnabled) {
      backend.delete = {
        deleteManifest: (repo, reference, { signal }) => manifests.delete(repo, reference, { signal }),
        deleteBlob: (repo, digest, { signal }) => blobs.unlink(repo, digest, { signal }),
      };
    }
  }
  return mapStorageErrors(backend);
}

/** Wraps every backend call so storage errors become protocol errors. */
function mapStorageErrors(backend: RegistryBackend): RegistryBackend {
  const wrap = <T extends object>(target: T): T => {
    const out = {} as Record<string, unknown>;
    for (const [k, v] of Object.entries(target)) {
      out[k] =
        typeof v === 'function'
          ? async (...args: unknown[]) => {
              try {
                return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
              } catch (err) {
                throw toProtocolError(err);
              }
            }
          : v;
    }
    return out as T;
  };
  const out = wrap(backend);
  if (backend.push) out.push = wrap(backend.push);
  if (backend.delete) out.delete = wrap(backend.delete);
  return out;
}

function toProtocolError(err: unknown): unknown {
  if (isStorageError(err, 'Transient')) {
    return new OciError('UNAVAILABLE', 'storage temporarily unavailable', undefined, { cause: err, headers: { 'Retry-After': '1' } });
  }
  return err;
}
