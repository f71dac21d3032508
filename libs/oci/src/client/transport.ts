// HTTP for the registry client: undici Agents with keep-alive connection pools, per-host TLS
// (custom CAs, unverified TLS for insecure registries), timeouts on connect, headers and body
// silence for every request, and redirects followed by hand so that Authorization never
// leaves the registry's origin (blob GETs are commonly 307s to object storage).
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { classifyError, RegistryClientError } from './errors.js';

export interface Timeouts {
  /** TCP + TLS handshake. */
  connectMs: number;
  /** From request sent to response headers received. */
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyIdleMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, headersMs: 30_000, bodyIdleMs: 60_000 };

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable | null;
  signal?: AbortSignal;
  /** 'follow' (default for GET/HEAD) or 'manual' (the 3xx response is returned). */
  redirect?: 'follow' | 'manual';
  /** Overrides the headers timeout (e.g. a short revalidation HEAD). */
  headersTimeoutMs?: number;
}

export type ResponseBody = Dispatcher.ResponseData['body'];

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  /** The URL that answered, after redirects. */
  url: URL;
}

export interface TransportOptions {
  /** host:port whose TLS settings below apply; other hosts (redirect targets) are verified normally. */
  host: string;
  /** Skip certificate verification for `host`. */
  insecureTls?: boolean;
  /** Extra trusted CAs for every host. */
  ca?: readonly (string | Buffer)[];
  timeouts?: Partial<Timeouts>;
  /** Connections kept per origin (default 32). */
  connections?: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export function header(h: HttpResponse['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Transport {
  readonly timeouts: Timeouts;
  private readonly host: string;
  private readonly hostAgent: Agent;
  private readonly otherAgent: Agent;

  constructor(options: TransportOptions) {
    this.host = options.host.toLowerCase();
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    // `ca` replaces Node's root store, so the bundled roots are added back alongside custom CAs.
    const ca = options.ca && options.ca.length > 0 ? [...rootCertificates, ...options.ca] : undefined;
    const agentOptions = (rejectUnauthorized: boolean): Agent.Options => ({
      connections: options.connections ?? 32,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyIdleMs,
      connect: { timeout: this.timeouts.connectMs, rejectUnauthorized, ...(ca ? { ca } : {}) },
    });
    this.hostAgent = new Agent(agentOptions(!options.insecureTls));
    this.otherAgent = options.insecureTls || ca ? new Agent(agentOptions(true)) : this.hostAgent;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const follow = (req.redirect ?? 'follow') === 'follow' && (req.method === 'GET' || req.method === 'HEAD');
    const startOrigin = req.url.origin;
    let url = req.url;
    const headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.once({ ...req, url, headers });
      const location = header(res.headers, 'location');
      if (!follow || !REDIRECT_STATUSES.has(res.status) || !location) return res;
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryClientError('protocol', `more than ${MAX_REDIRECTS} redirects from ${req.url.href}`, { host: this.host, status: res.status });
      }
      url = new URL(location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new RegistryClientError('protocol', `redirect to unsupported URL scheme ${url.protocol}`, { host: this.host });
      }
      // Credentials are for the registry only: a presigned storage URL must not receive them.
      if (url.origin !== startOrigin) {
        for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k];
      }
    }
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const agent = req.url.host.toLowerCase() === this.host ? this.hostAgent : this.otherAgent;
    const what = `${req.method} ${req.url.origin}${req.url.pathname}`;
    try {
      const res = await agent.request({
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: req.signal,
        headersTimeout: req.headersTimeoutMs ?? this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyIdleMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, url: req.url };
    } catch (err) {
      throw classifyError(err, this.host, what, req.signal);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.hostAgent.close(), this.otherAgent === this.hostAgent ? undefined : this.otherAgent.close()]);
  }
}
