// Image references as the webhook and the reconcilers see them. Parsing and Docker
// normalization come from @kuik/oci; this module adds what kuik needs on top:
//   - the image "as written" (a tag is only present when the user wrote one),
//   - the repository path inside the cache, where a ':' in the registry host becomes '-'
//     ("my.reg:5000/a/b" → "my.reg-5000/a/b") because a path cannot hold a port,
//   - the rewritten image the node pulls through its proxy.
import { parseImageReference, type ImageReference } from '@kuik/oci';

export interface ParsedImage {
  /** The image exactly as written in the pod. */
  written: string;
  /** Normalized registry host ("docker.io" for Docker Hub, "index.docker.io" folded into it). */
  domain: string;
  /** Repository path ("library/nginx"). */
  path: string;
  /** The tag as written; undefined when none was written (the runtime then pulls "latest"). */
  tag?: string;
  digest?: string;
}

export class UnsupportedImageError extends Error {
  constructor(image: string, why: string) {
    super(`image ${JSON.stringify(image.slice(0, 300))} cannot be cached: ${why}`);
    this.name = 'UnsupportedImageError';
  }
}

/** Parses an image reference; throws (ImageReferenceError or UnsupportedImageError) when it cannot be cached. */
export function parseImage(written: string): ParsedImage {
  const ref: ImageReference = parseImageReference(written);
  // An IPv6 literal host cannot be turned into a path segment.
  if (ref.domain.startsWith('[')) throw new UnsupportedImageError(written, 'IPv6 registry hosts are not supported');
  const withoutDigest = written.includes('@') ? written.slice(0, written.indexOf('@')) : written;
  const tagWritten = withoutDigest.lastIndexOf(':') > withoutDigest.lastIndexOf('/');
  return {
    written,
    domain: ref.domain,
    path: ref.path,
    ...(tagWritten && ref.tag !== undefined ? { tag: ref.tag } : {}),
    ...(ref.digest !== undefined ? { digest: ref.digest } : {}),
  };
}

/** The registry host as one path segment: ':' (port separator) written as '-'. */
export function hostSegment(domain: string): string {
  return domain.replaceAll(':', '-');
}

/** Repository path of this image inside the kuik registry (and under the proxy): "docker.io/library/nginx". */
export function cacheRepository(p: ParsedImage): string {
  return `${hostSegment(p.domain)}/${p.path}`;
}

/** ":tag", "@digest", ":tag@digest" or "" — exactly what was written after the repository. */
export function referenceSuffix(p: ParsedImage): string {
  return `${p.tag !== undefined ? `:${p.tag}` : ''}${p.digest !== undefined ? `@${p.digest}` : ''}`;
}

/** The image a node pulls: "<proxy>/<host>/<path>[:tag][@digest]". */
export function rewrittenImage(proxyAddress: string, p: ParsedImage): string {
  return `${proxyAddress}/${cacheRepository(p)}${referenceSuffix(p)}`;
}

/**
 * The canonical source image a CachedImage stands for: normalized, "latest" when nothing was
 * written, and only the digest when one is pinned (the runtime pulls the digest; the tag is then
 * only decoration, and two spellings of the same content are the same cached image).
 */
export function canonicalImage(p: ParsedImage): string {
  const ref = p.digest !== undefined ? `@${p.digest}` : `:${p.tag ?? 'latest'}`;
  return `${p.domain}/${p.path}${ref}`;
}

/** The normalized repository name "docker.io/library/nginx" (what a Repository's spec.name holds). */
export function repositoryName(p: ParsedImage): string {
  return `${p.domain}/${p.path}`;
}

/** The reference to ask a registry for: the digest when pinned, else the tag (default latest). */
export function manifestReference(p: ParsedImage): string {
  return p.digest ?? p.tag ?? 'latest';
}

/**
 * Recovers the original image from a rewritten one ("localhost:7439/my.reg-5000/a:1" →
 * "my.reg:5000/a:1"), for ephemeral containers whose annotations the API server discards.
 * A host segment ending in "-<digits>" came from a port: a host without a dot or a port is not
 * a registry host, so the mapping is unambiguous for everything the webhook produces.
 */
export function originalFromRewritten(proxyAddress: string, image: string): string | undefined {
  const prefix = `${proxyAddress}/`;
  if (!image.startsWith(prefix)) return undefined;
  const rest = image.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const host = rest.slice(0, slash).replace(/-(\d{1,5})$/, ':$1');
  return `${host}/${rest.slice(slash + 1)}`;
}
