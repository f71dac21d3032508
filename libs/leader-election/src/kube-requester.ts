// A minimal JSON-over-HTTPS transport to the Kubernetes API, authenticated by a KubeConfig.
// The elector needs three verbs on one object; a tiny transport keeps per-request AbortSignals and
// timeouts exact (the renew deadline depends on them) and reuses one keep-alive connection.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeHttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path with query string, e.g. /apis/coordination.k8s.io/v1/namespaces/x/leases/y. */
  path: string;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
}

export interface KubeHttpResponse {
  status: number;
  /** Parsed JSON body (a metav1.Status on errors), or undefined when the body was empty/not JSON. */
  body: unknown;
}

/** Sends one request and resolves with the status and parsed body; rejects only on transport errors. */
export type KubeRequester = (req: KubeHttpRequest) => Promise<KubeHttpResponse>;

/** A requester for the current context of a KubeConfig (certificates, tokens, exec plugins). */
export function kubeConfigRequester(kubeConfig: KubeConfig, userAgent = 'kuik-leader-election'): KubeRequester {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  const secure = base.protocol === 'https:';
  let agent: http.Agent | undefined;

  return async (req) => {
    const opts: https.RequestOptions = {};
    // Re-applied on every request so rotated tokens (projected service account tokens, exec
    // plugins) are picked up; the keep-alive agent is built once from the TLS material.
    await kubeConfig.applyToHTTPSOptions(opts);
    agent ??= secure
      ? new https.Agent({
          keepAlive: true,
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          rejectUnauthorized: opts.rejectUnauthorized,
          servername: opts.servername,
        })
      : new http.Agent({ keepAlive: true });
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': userAgent };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (payload) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const url = new URL(req.path, base);
    return new Promise<KubeHttpResponse>((resolve, reject) => {
      const send = secure ? https.request : http.request;
      const r = send(url, { method: req.method, headers, agent, auth: opts.auth, signal: req.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      r.on('error', reject);
      r.end(payload);
    });
  };
}
