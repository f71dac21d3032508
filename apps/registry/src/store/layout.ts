// The one module that knows where things live in storage; nothing else builds storage paths.
// The layout is distribution's, so an existing registry:2 data directory is readable as is:
//
//   /docker/registry/v2/blobs/<alg>/<hex[0:2]>/<hex>/data               content, by digest
//   /docker/registry/v2/repositories/<name>/
//       _layers/<alg>/<hex>/link                                        blob linked into the repo
//       _manifests/revisions/<alg>/<hex>/link                           manifest in the repo
//       _manifests/tags/<tag>/current/link                              what the tag points at
//       _manifests/tags/<tag>/index/<alg>/<hex>/link                    every digest it pointed at
//       _manifests/referrers/<alg>/<hex>/<alg>/<hex>/link               referrer of a subject (kuik)
//       _uploads/<id>/{data,startedat}                                  upload session
//   /docker/registry/v2/_kuik/gc/lock/<owner>                           garbage collector lease claims (kuik)
//   /docker/registry/v2/_kuik/gc/quarantine/<alg>/<hex>                 blob data about to be collected (kuik)
//
// Every argument is validated again here (names, tags, digests, upload ids), so a caller that
// forgot to cannot reach outside the layout with "..", "/" or other tricks.
import { isValidRepositoryName, isValidTag, tryParseDigest, type Digest } from '@kuik/oci';

export const ROOT = '/docker/registry/v2';
const BLOBS = `${ROOT}/blobs`;
const REPOSITORIES = `${ROOT}/repositories`;
const GC_LOCK = `${ROOT}/_kuik/gc/lock`;
const GC_QUARANTINE = `${ROOT}/_kuik/gc/quarantine`;
const OWNER_RE = /^[A-Za-z0-9._-]{1,200}$/;
const UPLOAD_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Directory names inside a repository; repository path components never start with "_". */
export const REPOSITORY_MARKERS = ['_layers', '_manifests', '_uploads'] as const;

function digestParts(digest: string): { algorithm: string; hex: string } {
  const d = tryParseDigest(digest);
  if (!d) throw new Error(`layout: not a digest: ${JSON.stringify(digest.slice(0, 100))}`);
  return d;
}

function repo(name: string): string {
  if (!isValidRepositoryName(name)) throw new Error(`layout: not a repository name: ${JSON.stringify(name.slice(0, 300))}`);
  return `${REPOSITORIES}/${name}`;
}

function tagDir(name: string, tag: string): string {
  if (!isValidTag(tag)) throw new Error(`layout: not a tag: ${JSON.stringify(tag.slice(0, 200))}`);
  return `${repo(name)}/_manifests/tags/${tag}`;
}

export function isUploadId(id: string): boolean {
  return UPLOAD_ID_RE.test(id);
}

function uploadDir(name: string, id: string): string {
  if (!isUploadId(id)) throw new Error(`layout: not an upload id: ${JSON.stringify(id.slice(0, 100))}`);
  return `${repo(name)}/_uploads/${id}`;
}

export const layout = {
  root: ROOT,
  blobsRoot: BLOBS,
  repositoriesRoot: REPOSITORIES,

  blobData(digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${BLOBS}/${algorithm}/${hex.slice(0, 2)}/${hex}/data`;
  },

  repository: repo,

  gcLockDir: GC_LOCK,
  gcLockClaim(owner: string): string {
    if (!OWNER_RE.test(owner)) throw new Error(`layout: not a lock owner: ${JSON.stringify(owner.slice(0, 200))}`);
    return `${GC_LOCK}/${owner}`;
  },
  gcQuarantineDir: GC_QUARANTINE,
  gcQuarantine(digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${GC_QUARANTINE}/${algorithm}/${hex}`;
  },

  layerLink(name: string, digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${repo(name)}/_layers/${algorithm}/${hex}/link`;
  },
  layerLinkDir(name: string, digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${repo(name)}/_layers/${algorithm}/${hex}`;
  },

  revisionLink(name: string, digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${repo(name)}/_manifests/revisions/${algorithm}/${hex}/link`;
  },
  revisionDir(name: string, digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${repo(name)}/_manifests/revisions/${algorithm}/${hex}`;
  },

  tagsDir(name: string): string {
    return `${repo(name)}/_manifests/tags`;
  },
  tagDir,
  tagCurrentLink(name: string, tag: string): string {
    return `${tagDir(name, tag)}/current/link`;
  },
  tagIndexLink(name: string, tag: string, digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return `${tagDir(name, tag)}/index/${algorithm}/${hex}/link`;
  },

  referrersDir(name: string, subject: Digest): string {
    const { algorithm, hex } = digestParts(subject);
    return `${repo(name)}/_manifests/referrers/${algorithm}/${hex}`;
  },
  referrerLinkDir(name: string, subject: Digest, referrer: Digest): string {
    const { algorithm, hex } = digestParts(referrer);
    return `${layout.referrersDir(name, subject)}/${algorithm}/${hex}`;
  },
  referrerLink(name: string, subject: Digest, referrer: Digest): string {
    return `${layout.referrerLinkDir(name, subject, referrer)}/link`;
  },

  uploadsDir(name: string): string {
    return `${repo(name)}/_uploads`;
  },
  uploadDir,
  uploadData(name: string, id: string): string {
    return `${uploadDir(name, id)}/data`;
  },
  uploadStartedAt(name: string, id: string): string {
    return `${uploadDir(name, id)}/startedat`;
  },

  /** The last segment of a listed path (a tag, an upload id, an algorithm, a hex, a name component). */
  basename(path: string): string {
    return path.slice(path.lastIndexOf('/') + 1);
  },

  /** "<repositoriesRoot>/a/b" → "a/b" for paths under the repositories root. */
  repositoryNameOf(dir: string): string {
    return dir.slice(REPOSITORIES.length + 1);
  },

  /** Digest from the "<alg>/<hex>" pair of a listed link directory, or null when it is not one. */
  digestFrom(algorithm: string, hex: string): Digest | null {
    return tryParseDigest(`${algorithm}:${hex}`)?.digest ?? null;
  },
};
