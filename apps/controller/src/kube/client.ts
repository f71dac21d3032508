// The controller's Kubernetes API client: JSON over one keep-alive HTTPS agent, authenticated by
// a KubeConfig (in-cluster service account or a kubeconfig file), with a client-side rate limit,
// streaming watches and one hook per request (metrics count API calls per verb and code).
// @kubernetes/client-node supplies the authentication; its generated API classes are not used
// because the controller needs exact abort signals, JSON/merge patches and raw watch streams.
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeRequester } from '@kuik/leader-election';
import { TokenBucket } from '@kuik/oci';

export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Default 30 s; watches have none. */
  timeoutMs?: number;
}

/** An error answer of the API server, with its metav1.Status reason ("NotFound", "Conflict", …). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly details: unknown;
  constructor(status: number, body: unknown, what: string) {
    const s = (body ?? {}) as { message?: string; reason?: string; details?: unknown };
    super(`${what}: HTTP ${status}${s.message ? `: ${s.message}` : ''}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = s.reason ?? '';
    this.details = s.details;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.status === 410;

export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface KubeClientOptions {
  userAgent?: string;
  /** Sustained requests per second (watches excluded); default 50. */
  qps?: number;
  burst?: number;
  /** Called once per finished request: verb, HTTP code (0 for transport errors), seconds. */
  onRequest?: (verb: Verb, code: number, seconds: number) => void;
}

export class KubeClient {
  private readonly base: URL;
  private readonly secure: boolean;
  private agent?: http.Agent;
  private readonly bucket: TokenBucket;
  private readonly userAgent: string;
  private readonly onRequest?: KubeClientOptions['onRequest'];

  constructor(
    private readonly kubeConfig: KubeConfig,
    opts: KubeClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.base = new URL(cluster.server);
    this.secure = this.base.protocol === 'https:';
    this.bucket = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
    this.userAgent = opts.userAgent ?? 'kuik-controller';
    this.onRequest = opts.onRequest;
  }

  /** For @kuik/leader-election: the same connection, rate limit and metrics as everything else. */
  readonly requester: KubeRequester = async (req) => {
    try {
      const body = await this.request<unknown>(req.method, req.path, { body: req.body, contentType: req.contentType, signal: req.signal });
      return { status: req.method === 'POST' ? 201 : 200, body };
    } catch (err) {
      if (err instanceof KubeApiError) return { status: err.status, body: { message: err.message, reason: err.reason } };
      throw err;
    }
  };

  async request<T>(verb: Verb, path: string, opts: RequestOptions = {}): Promise<T> {
    await this.bucket.take(opts.signal);
    const started = performance.now();
    let code = 0;
    try {
      const res = await this.send(verb, path, opts, false);
      code = res.statusCode ?? 0;
      const text = await readText(res);
      const body: unknown = text ? safeJson(text) : undefined;
      if (code < 200 || code >= 300) throw new KubeApiError(code, body, `${verb} ${path}`);
      return body as T;
    } finally {
      this.onRequest?.(verb, code, (performance.now() - started) / 1000);
    }
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  /** GET that answers null for 404 instead of throwing. */
  async getOrNull<T>(path: string, opts?: RequestOptions): Promise<T | null> {
    try {
      return await this.request<T>('GET', path, opts);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  create<T>(collectionPath: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('POST', collectionPath, { ...opts, body });
  }

  replace<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, { ...opts, body });
  }

  mergePatch<T>(path: string, patch: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, { ...opts, body: patch, contentType: MERGE_PATCH });
  }

  jsonPatch<T>(path: string, ops: unknown[], opts?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, { ...opts, body: ops, contentType: JSON_PATCH });
  }

  /** DELETE that treats 404 as success. */
  async delete(path: string, opts?: RequestOptions): Promise<void> {
    try {
      await this.request('DELETE', path, opts);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Streams a watch until the server ends it, `signal` aborts or the connection fails. Resolves on a
   * normal end; rejects with KubeApiError when the server refuses the watch (410 Gone: re-list).
   */
  async watch<T>(path: string, query: RequestOptions['query'], onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const res = await this.send('GET', path, { query: { ...query, watch: 1 }, signal, timeoutMs: 0 }, true);
    const code = res.statusCode ?? 0;
    this.onRequest?.('GET', code, (performance.now() - started) / 1000);
    if (code !== 200) {
      const text = await readText(res).catch(() => '');
      throw new KubeApiError(code, text ? safeJson(text) : undefined, `watch ${path}`);
    }
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line) continue;
        const event = safeJson(line) as WatchEvent<T> | undefined;
        if (event?.type) onEvent(event);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  private async send(verb: Verb, path: string, opts: RequestOptions, stream: boolean): Promise<http.IncomingMessage> {
    const auth: https.RequestOptions = {};
    // Applied per request so rotated service account tokens and exec credentials are used.
    await this.kubeConfig.applyToHTTPSOptions(auth);
    this.agent ??= this.secure
      ? new https.Agent({
          keepAlive: true,
          ca: auth.ca,
          cert: auth.cert,
          key: auth.key,
          rejectUnauthorized: auth.rejectUnauthorized,
          servername: auth.servername,
        })
      : new http.Agent({ keepAlive: true });
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent };
    for (const [k, v] of Object.entries(auth.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (payload) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const signals = [opts.signal, timeoutMs > 0 && !stream ? AbortSignal.timeout(Math.ceil(timeoutMs)) : undefined].filter((s): s is AbortSignal => !!s);
    const signal = signals.length ? AbortSignal.any(signals) : undefined;
    return new Promise((resolve, reject) => {
      const send = this.secure ? https.request : http.request;
      const req = send(url, { method: verb, headers, agent: this.agent, auth: auth.auth, signal }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
