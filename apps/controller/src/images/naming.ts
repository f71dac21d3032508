// Object names derived from images, compatible with kube-image-keeper 1.x for every ordinary
// image ("docker.io/library/nginx:1.27" → CachedImage "docker.io-library-nginx-1.27"), and
// collision-free for the rest: when sanitizing loses information (upper case, '_', very long
// names) a hash of the exact reference is appended.
import { createHash } from 'node:crypto';
import { canonicalImage, repositoryName, type ParsedImage } from './reference.js';

/** DNS-1123 subdomain limit (object names). */
const MAX_NAME = 253;
/** Label value limit. */
const MAX_LABEL = 63;
const DNS_TOKEN = /[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/g;

/** kuik 1.x's SanitizeName: DNS-1123 tokens of the lower-cased input, joined by '-'. */
export function sanitizeName(s: string): string {
  return (s.toLowerCase().match(DNS_TOKEN) ?? []).join('-');
}

function hash(s: string, hexChars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, hexChars);
}

/** A name from `raw` that is a valid object name; hash-suffixed when sanitizing was lossy or it is too long. */
function nameFrom(raw: string): string {
  const sanitized = sanitizeName(raw);
  // Lossless: only characters the sanitizer keeps, and '/' or ':' which both become '-'
  // (those cannot collide: the registry/repository/tag structure is fixed by the parser).
  const lossless = /^[a-z0-9][a-z0-9.\-/:]*$/.test(raw) && sanitized.length <= MAX_NAME && !/[./:-]{2}|[.-]$/.test(raw);
  if (lossless && sanitized) return sanitized;
  const suffix = hash(raw, 10);
  const room = MAX_NAME - suffix.length - 1;
  const head = sanitized.slice(0, room).replace(/[-.]+$/, '');
  return head ? `${head}-${suffix}` : suffix;
}

/** CachedImage name: "<registry>-<repository>-<tag or digest>". */
export function cachedImageName(p: ParsedImage): string {
  const ref = p.digest ?? p.tag ?? 'latest';
  return nameFrom(`${repositoryName(p)}-${ref.replace(':', '-')}`);
}

/** Repository object name: "<registry>-<repository>". */
export function repositoryObjectName(p: ParsedImage): string {
  return nameFrom(repositoryName(p));
}

/** Value of the kuik.enix.io/repository label on CachedImages (kuik 1.x: sha224 when too long). */
export function repositoryLabelValue(p: ParsedImage): string {
  const sanitized = sanitizeName(repositoryName(p));
  return sanitized.length > MAX_LABEL ? createHash('sha224').update(sanitized).digest('hex') : sanitized;
}

/** Prefix of the proxy-host copy of a pod's pull secret. */
export const POD_PULL_SECRET_PREFIX = 'kuik-proxy-';

/**
 * The name of the copy of pull secret `name` keyed for the proxy's host, in the same namespace:
 * "kuik-proxy-<name>", hash-suffixed when that would be too long.
 */
export function podPullSecretName(name: string): string {
  const full = POD_PULL_SECRET_PREFIX + name;
  if (full.length <= MAX_NAME) return full;
  const suffix = hash(name, 10);
  return `${full.slice(0, MAX_NAME - suffix.length - 1).replace(/[-.]+$/, '')}-${suffix}`;
}

/** kuik 1.x's annotation key holding a container's original image (sha1 of the name when too long). */
export function originalImageAnnotation(containerName: string, kind: 'container' | 'init' | 'ephemeral'): string {
  const prefix = kind === 'container' ? 'original-image-' : kind === 'init' ? 'original-init-image-' : 'original-ephemeral-image-';
  const name = prefix.length + containerName.length > MAX_LABEL ? createHash('sha1').update(containerName).digest('hex') : containerName;
  return prefix + name;
}

export { canonicalImage };
