// The little of the Kubernetes API the proxy needs: JSON GETs and streaming watches, over one
// keep-alive agent, authenticated as kubeconfig.ts found (in-cluster service account or a
// kubeconfig file; the token is read per request so rotated tokens are used). Nothing is
// requested at start-up.
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeEndpoint } from './kubeconfig.js';

/** An error answer of the API server (404, 403, 410 Gone, …). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    what: string,
    detail: string,
  ) {
    super(`${what}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface ListOf<T> {
  metadata: { resourceVersion?: string };
  items: T[];
}

type Query = Record<string, string | number | undefined>;

const REQUEST_TIMEOUT_MS = 30_000;
const RESPONSE_MAX_BYTES = 16 << 20;

export class KubeApi {
  private readonly agent: http.Agent;

  constructor(
    private readonly endpoint: KubeEndpoint,
    private readonly userAgent: string,
  ) {
    const e = endpoint;
    this.agent =
      e.server.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ca: e.ca, cert: e.cert, key: e.key, rejectUnauthorized: !e.insecureSkipTlsVerify })
        : new http.Agent({ keepAlive: true });
  }

  async get<T>(path: string, query: Query, signal: AbortSignal): Promise<T> {
    const res = await this.send(path, query, AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]));
    const text = await readText(res);
    if (res.statusCode === 401) this.endpoint.invalidate?.();
    if (res.statusCode !== 200) throw new KubeApiError(res.statusCode ?? 0, `GET ${path}`, statusMessage(text));
    return JSON.parse(text) as T;
  }

  /**
   * Streams a watch until the server ends it (timeoutSeconds) or `signal` aborts; rejects with
   * KubeApiError when the server refuses it (410: the resourceVersion is too old, list again).
   */
  async watch<T>(path: string, query: Query, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const res = await this.send(path, { ...query, watch: 1 }, signal);
    if (res.statusCode === 401) this.endpoint.invalidate?.();
    if (res.statusCode !== 200) throw new KubeApiError(res.statusCode ?? 0, `watch ${path}`, statusMessage(await readText(res).catch(() => '')));
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line) continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          const status = event.object as { code?: number; message?: string };
          throw new KubeApiError(status.code ?? 500, `watch ${path}`, status.message ?? '');
        }
        onEvent(event);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private async send(path: string, query: Query, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(path, this.endpoint.server);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent };
    const token = await this.endpoint.token();
    if (token) headers['Authorization'] = `Bearer ${token}`;
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? https.request : http.request)(url, { method: 'GET', headers, agent: this.agent, signal }, resolve);
      req.on('error', reject);
      req.end();
    });
  }
}

function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (c: Buffer) => {
      total += c.length;
      if (total > RESPONSE_MAX_BYTES) res.destroy(new Error(`response larger than ${RESPONSE_MAX_BYTES} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function statusMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? '';
  } catch {
    return text.slice(0, 200);
  }
}
