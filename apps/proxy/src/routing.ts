// Which origin registry and repository a request is for. Two forms are accepted:
//
// 1. Host form (what the webhook writes): /v2/<origin>/<repository>/{manifests,blobs}/<ref>.
//    The first path segment names the origin when it
//      - contains a "." or a ":"                       (ghcr.io, 10.0.0.1:5000, my.registry:5000)
//      - is "localhost"
//      - ends in "-<port>" (1-5 digits) and the part before contains a "." or is "localhost":
//        the webhook writes a host's ":" as "-" (docker.io-style names cannot hold ":"), so
//        "my.registry-5000" and "localhost-5000" mean my.registry:5000 and localhost:5000.
//        A real host never ends that way: its last label is a TLD, which has no digits or "-".
//    IPv6 literals are not supported (the webhook cannot write them either).
// 2. Mirror form (containerd hosts.toml mirrors, Docker registry-mirrors):
//    /v2/<repository>/…?ns=<origin>. Without ?ns= and without an origin segment, the default
//    origin (docker.io) is meant. When ?ns= is given and the first segment also names that
//    origin (a mirror configured with a /v2/<origin> path prefix), the segment is dropped.
//
// Docker Hub is normalized as Docker does: index.docker.io and registry-1.docker.io fold into
// docker.io, and one-component repositories get "library/". The cache repository in the kuik
// registry is "<origin with ':' as '-'>/<repository>": registry names cannot contain ':'.
import { isValidRepositoryName, OciError, parseDigest, parseManifestReference, type Digest } from '@kuik/oci';
import type { ClientCredentials } from './client-auth.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'manifest'; target: Target; reference: string }
  | { kind: 'blob'; target: Target; digest: Digest };

export interface Target {
  /** Origin registry host as in references: "docker.io", "ghcr.io", "127.0.0.1:5000". */
  origin: string;
  /** Repository at the origin: "library/nginx". */
  repository: string;
  /** Repository in the kuik registry: "docker.io/library/nginx", "127.0.0.1-5000/team/app". */
  cacheRepository: string;
  /** The client's own credentials: origin requests use them (see client-auth.ts). */
  client?: ClientCredentials;
}

const PATH_RE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;
const HOST_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function parseRoute(rawUrl: string, defaultOrigin: string): Route {
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base' };
  const m = PATH_RE.exec(pathname);
  if (!m) throw new OciError('NOT_FOUND', 'the proxy serves /v2/<name>/manifests/<reference> and /v2/<name>/blobs/<digest> only');
  let name: string;
  let ref: string;
  try {
    name = decodeURIComponent(m[1]!);
    ref = decodeURIComponent(m[3]!);
  } catch {
    throw new OciError('NAME_INVALID', 'malformed percent-encoding in the path');
  }
  const target = resolveTarget(name, query.get('ns'), defaultOrigin);
  if (m[2] === 'blobs') return { kind: 'blob', target, digest: parseDigest(ref).digest };
  parseManifestReference(ref); // TAG_INVALID / DIGEST_INVALID
  return { kind: 'manifest', target, reference: ref };
}

export function resolveTarget(name: string, ns: string | null, defaultOrigin: string): Target {
  const slash = name.indexOf('/');
  const first = slash < 0 ? null : originFromSegment(name.slice(0, slash));
  let origin: string;
  let repository: string;
  if (ns !== null && ns !== '') {
    origin = normalizeOrigin(ns);
    repository = first !== null && normalizeOrigin(first) === origin ? name.slice(slash + 1) : name;
  } else if (first !== null) {
    origin = normalizeOrigin(first);
    repository = name.slice(slash + 1);
  } else {
    origin = normalizeOrigin(defaultOrigin);
    repository = name;
  }
  if (origin === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!isValidRepositoryName(repository)) throw new OciError('NAME_INVALID', 'invalid repository name', { name: repository.slice(0, 300) });
  const cacheRepository = `${origin.replace(':', '-')}/${repository}`;
  if (!isValidRepositoryName(cacheRepository)) {
    throw new OciError('NAME_INVALID', 'origin and repository together are too long to cache', { name: cacheRepository.slice(0, 300) });
  }
  return { origin, repository, cacheRepository };
}

/** The origin host a first path segment names, or null when it is a repository component. */
export function originFromSegment(segment: string): string | null {
  const s = segment.toLowerCase();
  const dashed = /^(.+)-(\d{1,5})$/.exec(s);
  if (dashed && (dashed[1]!.includes('.') || dashed[1] === 'localhost') && !dashed[1]!.includes(':')) return `${dashed[1]}:${dashed[2]}`;
  if (s.includes('.') || s.includes(':') || s === 'localhost') return s;
  return null;
}

export function normalizeOrigin(host: string): string {
  const h = host.trim().toLowerCase();
  if (DOCKER_HUB_ALIASES.has(h)) return 'docker.io';
  const dashed = originFromSegment(h);
  const out = dashed ?? h;
  if (!HOST_RE.test(out)) throw new OciError('NAME_INVALID', 'invalid origin registry host', { origin: host.slice(0, 300) });
  return out;
}
