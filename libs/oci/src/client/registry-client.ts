// An OCI distribution client for one registry host: manifests (HEAD/GET, digest-verified and
// size-bounded), blobs (streamed GET with Range, HEAD), pushes (see uploads.ts) and tag lists.
// Authentication, TLS, timeouts and redirects are handled underneath (auth.ts, transport.ts);
// every method takes an AbortSignal.
import type { Readable } from 'node:stream';
import { digestOf, tryParseDigest, type Digest } from '../digest.js';
import { baseMediaType, isManifestMediaType, MediaType } from '../media-types.js';
import { Authenticator, registryTokenRefused, repositoryScope } from './auth.js';
import { abandon, discard, readBounded, unexpectedStatus } from './body.js';
import { anonymous, type CredentialsResolver } from './credentials.js';
import { isRegistryClientError, RegistryClientError } from './errors.js';
import { apiHostOf, type RegistryHostOptions } from './hosts.js';
import { blobPath, manifestPath, tagsPath } from './paths.js';
import { header, Transport, type HttpMethod, type HttpResponse, type ResponseBody, type Timeouts } from './transport.js';
import { cancelUpload, mountBlob, pushBlob, pushBlobChunked, putManifest, startUpload, type ChunkedPushOptions, type PushBlobOptions, type PushResult, type UploadStart } from './uploads.js';

/** Every manifest type we can store and serve, most specific first. */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

const DEFAULT_MANIFEST_MAX_BYTES = 4 << 20;

export interface RegistryClientOptions extends RegistryHostOptions {
  credentials?: CredentialsResolver;
  timeouts?: Partial<Timeouts>;
  /** Largest manifest accepted (default 4 MiB). */
  manifestMaxBytes?: number;
  userAgent?: string;
  /** Connections kept per origin. */
  connections?: number;
}

export interface ManifestInfo {
  digest: Digest;
  mediaType: string;
  size: number;
}

export interface Manifest extends ManifestInfo {
  content: Buffer;
}

export interface BlobRange {
  start: number;
  /** Inclusive; absent = to the end. */
  end?: number;
}

export interface GetBlobOptions {
  signal?: AbortSignal;
  range?: BlobRange;
  /**
   * 'follow' (default): follow every redirect. 'external': follow redirects within the
   * registry's origin, but return a redirect to another host (object storage) to the caller,
   * which can pass it on instead of streaming the bytes itself.
   */
  redirect?: 'follow' | 'external';
}

export type BlobResponse =
  | {
      kind: 'content';
      /** 200 for the whole blob, 206 for a range. */
      status: 200 | 206;
      body: ResponseBody;
      /** Total size of the blob, when the registry said (Content-Length or Content-Range). */
      size?: number;
      /** Bytes in this response. */
      length?: number;
      /** For 206: the range served. */
      range?: { start: number; end: number };
    }
  | { kind: 'redirect'; location: string };

export interface SendOptions {
  method: HttpMethod;
  /** Path under the registry root, starting with /v2/, or an absolute URL (upload locations). */
  path: string | URL;
  scopes: readonly string[];
  headers?: Record<string, string>;
  body?: Buffer | string | Readable | null;
  signal?: AbortSignal;
  redirect?: 'follow' | 'manual';
  headersTimeoutMs?: number;
}

export class RegistryClient {
  /** The registry as named in references ("docker.io"). */
  readonly host: string;
  /** Where its API is served ("registry-1.docker.io"). */
  readonly apiHost: string;
  readonly manifestMaxBytes: number;
  readonly userAgent: string;
  readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly options: RegistryClientOptions;
  private originPromise?: Promise<string>;

  constructor(options: RegistryClientOptions) {
    this.options = options;
    this.host = options.host.toLowerCase();
    this.apiHost = apiHostOf(this.host);
    this.manifestMaxBytes = options.manifestMaxBytes ?? DEFAULT_MANIFEST_MAX_BYTES;
    this.userAgent = options.userAgent ?? 'kuik';
    this.transport = new Transport({
      host: this.apiHost,
      insecureTls: options.insecure === true,
      ca: options.ca,
      timeouts: options.timeouts,
      connections: options.connections,
    });
    this.auth = new Authenticator({ host: this.host, credentials: options.credentials ?? anonymous, transport: this.transport, userAgent: this.userAgent });
  }

  /** scheme://host:port of the API; for insecure registries found by trying HTTPS, then HTTP. */
  origin(signal?: AbortSignal): Promise<string> {
    this.originPromise ??= this.resolveOrigin(signal).catch((err: unknown) => {
      this.originPromise = undefined; // try again next time
      throw err;
    });
    return this.originPromise;
  }

  private async resolveOrigin(signal?: AbortSignal): Promise<string> {
    if (this.options.scheme) return `${this.options.scheme}://${this.apiHost}`;
    const https = `https://${this.apiHost}`;
    if (!this.options.insecure) return https;
    try {
      // Any HTTP answer (401 included) proves the scheme works.
      discard(await this.transport.request({ method: 'GET', url: new URL('/v2/', https), signal, headers: { 'User-Agent': this.userAgent } }));
      return https;
    } catch (err) {
      if (isRegistryClientError(err, 'aborted')) throw err;
      const http = `http://${this.apiHost}`;
      discard(await this.transport.request({ method: 'GET', url: new URL('/v2/', http), signal, headers: { 'User-Agent': this.userAgent } }));
      return http;
    }
  }

  /** One request with authentication: anonymous or cached credentials first, one retry after a 401. */
  async send(op: SendOptions): Promise<HttpResponse> {
    const url = op.path instanceof URL ? op.path : new URL(op.path, await this.origin(op.signal));
    const replayable = op.body === undefined || op.body === null || typeof op.body === 'string' || Buffer.isBuffer(op.body);
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.auth.authorization(op.scopes, op.signal);
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...op.headers };
      if (authorization) headers['Authorization'] = authorization.header;
      const res = await this.transport.request({
        method: op.method,
        url,
        headers,
        body: op.body,
        signal: op.signal,
        redirect: op.redirect,
        headersTimeoutMs: op.headersTimeoutMs,
      });
      // A refused registry token is final: say so here rather than retry with the same token.
      if (res.status === 401 && authorization?.registryToken) throw await registryTokenRefused(res, this.host, `${op.method} ${url.pathname}`);
      if (res.status !== 401 || attempt > 0 || !replayable) return res;
      discard(res);
      if (!(await this.auth.onUnauthorized(res, op.scopes, op.signal))) return res;
    }
  }

  /** GET /v2/: reachability and credentials check. */
  async ping(signal?: AbortSignal): Promise<void> {
    const res = await this.send({ method: 'GET', path: '/v2/', scopes: [], signal });
    if (res.status !== 200) throw await unexpectedStatus(res, this.host, 'GET /v2/');
    discard(res);
  }

  /** HEAD of a manifest: its digest, type and size; null when the registry does not have it. */
  async headManifest(repository: string, reference: string, options: { signal?: AbortSignal; headersTimeoutMs?: number } = {}): Promise<ManifestInfo | null> {
    const path = manifestPath(repository, reference);
    const res = await this.send({
      method: 'HEAD',
      path,
      scopes: [repositoryScope(repository, 'pull')],
      headers: { Accept: MANIFEST_ACCEPT },
      signal: options.signal,
      headersTimeoutMs: options.headersTimeoutMs,
    });
    discard(res);
    if (res.status === 404) return null;
    if (res.status !== 200) throw await unexpectedStatus(res, this.host, `HEAD ${path}`);
    const digest = tryParseDigest(header(res.headers, 'docker-content-digest') ?? '')?.digest ?? (isDigestRef(reference) ? (reference as Digest) : undefined);
    if (!digest) {
      // Some registries omit the header on HEAD; the body tells.
      const m = await this.getManifest(repository, reference, options);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    return { digest, mediaType: baseMediaType(header(res.headers, 'content-type')), size: Number(header(res.headers, 'content-length') ?? NaN) };
  }

  /**
   * GET of a manifest, read whole (at most manifestMaxBytes) and verified: against the
   * reference when it is a digest, else against Docker-Content-Digest when the registry sent one.
   */
  async getManifest(repository: string, reference: string, options: { signal?: AbortSignal } = {}): Promise<Manifest> {
    const path = manifestPath(repository, reference);
    const what = `GET ${path}`;
    const res = await this.send({ method: 'GET', path, scopes: [repositoryScope(repository, 'pull')], headers: { Accept: MANIFEST_ACCEPT }, signal: options.signal });
    if (res.status !== 200) throw await unexpectedStatus(res, this.host, what);
    const content = await readBounded(res, this.manifestMaxBytes, this.host, what);
    const expected = isDigestRef(reference) ? (reference as Digest) : tryParseDigest(header(res.headers, 'docker-content-digest') ?? '')?.digest;
    const digest = digestOf(content, expected ? tryParseDigest(expected)!.algorithm : 'sha256');
    if (expected && digest !== expected) {
      throw new RegistryClientError('digest', `${what}: content digest ${digest} does not match ${expected}`, { host: this.host });
    }
    return { digest, mediaType: manifestMediaType(header(res.headers, 'content-type'), content), size: content.length, content };
  }

  /** HEAD of a blob: its size, or null when absent. */
  async statBlob(repository: string, digest: Digest, options: { signal?: AbortSignal } = {}): Promise<{ size: number } | null> {
    const path = blobPath(repository, digest);
    const res = await this.send({ method: 'HEAD', path, scopes: [repositoryScope(repository, 'pull')], signal: options.signal });
    discard(res);
    if (res.status === 404) return null;
    if (res.status !== 200) throw await unexpectedStatus(res, this.host, `HEAD ${path}`);
    return { size: Number(header(res.headers, 'content-length') ?? NaN) };
  }

  /** GET of a blob as a stream (the caller must consume or destroy the body). */
  async getBlob(repository: string, digest: Digest, options: GetBlobOptions = {}): Promise<BlobResponse> {
    const path = blobPath(repository, digest);
    const what = `GET ${path}`;
    const headers: Record<string, string> = {};
    if (options.range) headers['Range'] = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    const external = options.redirect === 'external';
    let res = await this.send({ method: 'GET', path, scopes: [repositoryScope(repository, 'pull')], headers, signal: options.signal, redirect: external ? 'manual' : 'follow' });
    if (external && isRedirect(res)) {
      const location = new URL(header(res.headers, 'location')!, res.url);
      discard(res);
      if (location.origin !== res.url.origin) return { kind: 'redirect', location: location.href };
      res = await this.send({ method: 'GET', path: location, scopes: [repositoryScope(repository, 'pull')], headers, signal: options.signal });
    }
    if (res.status === 200) {
      const length = optionalNumber(header(res.headers, 'content-length'));
      return { kind: 'content', status: 200, body: res.body, size: length, length };
    }
    if (res.status === 206 && options.range) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res.headers, 'content-range') ?? '');
      if (!m) {
        abandon(res.body);
        throw new RegistryClientError('protocol', `${what}: 206 without a valid Content-Range`, { host: this.host, status: 206 });
      }
      const range = { start: Number(m[1]), end: Number(m[2]) };
      return { kind: 'content', status: 206, body: res.body, range, length: range.end - range.start + 1, size: m[3] === '*' ? undefined : Number(m[3]) };
    }
    throw await unexpectedStatus(res, this.host, what);
  }

  /** Tags of a repository, following pagination (at most maxTags). */
  async listTags(repository: string, options: { signal?: AbortSignal; maxTags?: number } = {}): Promise<string[]> {
    const max = options.maxTags ?? 10_000;
    const tags: string[] = [];
    let next: string | URL = `${tagsPath(repository)}?n=1000`;
    while (tags.length < max) {
      const res = await this.send({ method: 'GET', path: next, scopes: [repositoryScope(repository, 'pull')], signal: options.signal });
      if (res.status !== 200) throw await unexpectedStatus(res, this.host, `GET /v2/${repository}/tags/list`);
      const doc = JSON.parse((await readBounded(res, 16 << 20, this.host, 'tag list')).toString('utf8')) as { tags?: unknown };
      if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter((t): t is string => typeof t === 'string'));
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res.headers, 'link') ?? '');
      if (!link) break;
      next = new URL(link[1]!, res.url);
    }
    return tags.slice(0, max);
  }

  // Pushes (implemented in uploads.ts).
  startUpload(repository: string, options: { mount?: Digest; from?: string; signal?: AbortSignal } = {}): Promise<UploadStart> {
    return startUpload(this, repository, options);
  }
  cancelUpload(repository: string, location: URL, signal?: AbortSignal): Promise<void> {
    return cancelUpload(this, repository, location, signal);
  }
  mountBlob(repository: string, digest: Digest, from: string, signal?: AbortSignal): Promise<boolean> {
    return mountBlob(this, repository, digest, from, signal);
  }
  pushBlob(repository: string, digest: Digest, size: number, body: Buffer | (() => Readable | Promise<Readable>), options: PushBlobOptions = {}): Promise<PushResult> {
    return pushBlob(this, repository, digest, size, body, options);
  }
  pushBlobChunked(repository: string, digest: Digest, source: AsyncIterable<Uint8Array>, options: ChunkedPushOptions = {}): Promise<PushResult> {
    return pushBlobChunked(this, repository, digest, source, options);
  }
  putManifest(repository: string, reference: string, content: Buffer, mediaType: string, signal?: AbortSignal): Promise<Digest> {
    return putManifest(this, repository, reference, content, mediaType, signal);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

function isDigestRef(reference: string): boolean {
  return reference.includes(':');
}

function isRedirect(res: HttpResponse): boolean {
  return [301, 302, 303, 307, 308].includes(res.status) && header(res.headers, 'location') !== undefined;
}

function optionalNumber(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** The manifest's type: Content-Type when it names one, else the body's mediaType or shape. */
export function manifestMediaType(contentType: string | undefined, content: Buffer): string {
  const ct = baseMediaType(contentType);
  if (isManifestMediaType(ct)) return ct;
  try {
    const doc = JSON.parse(content.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
    return Array.isArray(doc.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  } catch {
    return ct || MediaType.OciManifest;
  }
}
