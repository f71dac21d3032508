// Maps a request path onto one of the spec's routes. Repository names contain slashes, so the
// route is recognised by its suffix (the last "/manifests/<ref>", "/blobs/<digest>", …) and the
// rest is the name, which must then match the spec's grammar: a path that has a route's shape
// but a bad name is NAME_INVALID, not an unknown route. Paths are matched raw (percent-encoded):
// a name or reference holding "%2F" or ".." never matches the grammar.
import { OciError } from '../errors.js';
import { isValidRepositoryName } from '../reference.js';

export type RouteKind = 'base' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'uploads' | 'upload' | 'referrers';

export interface RouteMatch {
  kind: RouteKind;
  /** Repository name (all kinds but base and catalog). */
  name?: string;
  /** Manifest reference, blob digest, upload session id or referrers subject, unvalidated. */
  param?: string;
}

const SUFFIX_ROUTES: { kind: RouteKind; re: RegExp }[] = [
  { kind: 'tags', re: /^\/v2\/(.+)\/tags\/list$/ },
  { kind: 'manifest', re: /^\/v2\/(.+)\/manifests\/([^/]+)$/ },
  { kind: 'uploads', re: /^\/v2\/(.+)\/blobs\/uploads\/?()$/ },
  { kind: 'upload', re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/ },
  { kind: 'blob', re: /^\/v2\/(.+)\/blobs\/([^/]+)$/ },
  { kind: 'referrers', re: /^\/v2\/(.+)\/referrers\/([^/]+)$/ },
];

/** The route for a path (relative to where the router is mounted), or null when none has its shape. */
export function matchRoute(path: string): RouteMatch | null {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  for (const { kind, re } of SUFFIX_ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    const name = m[1]!;
    if (!isValidRepositoryName(name)) throw new OciError('NAME_INVALID', 'invalid repository name', { name: name.slice(0, 300) });
    return m[2] ? { kind, name, param: m[2] } : { kind, name };
  }
  return null;
}
