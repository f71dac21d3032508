// Repository names, tags and manifest references as the distribution spec defines them, and
// full image references ("nginx", "ghcr.io/a/b:1.0", "localhost:5000/x@sha256:…") with the
// Docker normalization every user expects: docker.io as the default registry, "library/" for
// official images, index.docker.io folded into docker.io, and "latest" when neither a tag nor
// a digest is given.
import { tryParseDigest, type Digest } from './digest.js';
import { OciError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
/** The spec's <name> grammar. */
export const REPOSITORY_NAME_PATTERN = `${COMPONENT}(?:\\/${COMPONENT})*`;
export const REPOSITORY_NAME_RE = new RegExp(`^${REPOSITORY_NAME_PATTERN}$`);
/** The spec's tag grammar (at most 128 characters). */
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** distribution's limit; many clients refuse longer names too. */
export const MAX_REPOSITORY_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  return typeof name === 'string' && name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME_RE.test(name);
}

/**
 * kuik's cache layout: "<origin host, ':' as '-'>/<repository>" holds what anyone on the cluster
 * may pull; the same path under this prefix holds what the proxy fetched with a client's own
 * credentials, served only to clients the origin accepts (apps/proxy/src/client-auth.ts). A
 * shared path never starts with it: its first segment is a host (a '.', a port or "localhost").
 */
export const PRIVATE_CACHE_PREFIX = 'kuik-private/';

/** The private area's repository for shared cache repository `shared`; undefined when that name would be too long. */
export function privateCacheRepository(shared: string): string | undefined {
  const name = PRIVATE_CACHE_PREFIX + shared;
  return isValidRepositoryName(name) ? name : undefined;
}

export function isValidTag(tag: string): boolean {
  return typeof tag === 'string' && TAG_RE.test(tag);
}

/** Throws NAME_INVALID unless the repository name matches the spec. */
export function assertRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw new OciError('NAME_INVALID', 'invalid repository name', { name: String(name).slice(0, 300) });
  }
  return name;
}

/** The <reference> of /v2/<name>/manifests/<reference>: a tag or a digest. */
export type ManifestReference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** Parses a manifest reference; DIGEST_INVALID for a bad digest, TAG_INVALID for a bad tag. */
export function parseManifestReference(ref: string): ManifestReference {
  if (ref.includes(':')) {
    const d = tryParseDigest(ref);
    if (!d) throw new OciError('DIGEST_INVALID', 'invalid digest reference', { reference: ref.slice(0, 200) });
    return { kind: 'digest', digest: d.digest };
  }
  if (!isValidTag(ref)) throw new OciError('TAG_INVALID', 'invalid tag', { reference: ref.slice(0, 200) });
  return { kind: 'tag', tag: ref };
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_LEGACY_DOMAIN = 'index.docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host, with port when given ("docker.io", "localhost:5000", "[::1]:5000"). */
  domain: string;
  /** Repository path inside the registry ("library/nginx"). */
  path: string;
  tag?: string;
  digest?: Digest;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

export class ImageReferenceError extends Error {
  constructor(reference: string, problem: string) {
    super(`invalid image reference ${JSON.stringify(reference.slice(0, 300))}: ${problem}`);
    this.name = 'ImageReferenceError';
  }
}

/**
 * Parses an image reference the way Docker does (distribution/reference's ParseNormalizedNamed
 * followed by TagNameOnly). Throws ImageReferenceError naming the problem.
 */
export function parseImageReference(reference: string): ImageReference {
  const fail = (problem: string): never => {
    throw new ImageReferenceError(reference, problem);
  };
  if (typeof reference !== 'string' || reference === '') fail('empty');
  if (reference.length > 1024) fail('too long');

  let rest = reference;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = tryParseDigest(rest.slice(at + 1));
    if (!d) fail('invalid digest');
    digest = d!.digest;
    rest = rest.slice(0, at);
  }

  // A tag is the part after the last ':' that comes after the last '/'; a ':' before it is a port.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) fail('invalid tag');
  }

  let domain = DOCKER_HUB_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN_RE.test(domain)) fail('invalid registry host');
  if (domain === DOCKER_HUB_LEGACY_DOMAIN) domain = DOCKER_HUB_DOMAIN;
  if (path !== path.toLowerCase()) fail('repository name must be lowercase');
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!REPOSITORY_NAME_RE.test(path)) fail('invalid repository name');
  if (domain.length + 1 + path.length > MAX_REPOSITORY_NAME_LENGTH) fail(`name longer than ${MAX_REPOSITORY_NAME_LENGTH} characters`);

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return digest === undefined ? { domain, path, tag } : tag === undefined ? { domain, path, digest } : { domain, path, tag, digest };
}

/** The canonical string form: "docker.io/library/nginx:latest", "host:5000/a@sha256:…". */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}
