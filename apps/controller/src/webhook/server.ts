// The admission webhook's HTTPS server (every replica). The certificate can be swapped at any
// time (setSecureContext): new connections use the new one, open ones finish with the old one.
// Requests are bounded (body size, time); the handler is synchronous after the body is read.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@kuik/observability';
import { admissionResponse, mutatePod, type AdmissionReview } from './mutate.js';
import type { RewritePolicy } from './policy.js';
import type { KeyPairPem } from './tls/certs.js';

const MAX_BODY = 16 << 20;

export type WebhookOutcome = 'patched' | 'unchanged' | 'error';

/** What the controller needs from its webhook, served in-process or from a worker thread. */
export interface Webhook {
  /** Whether a certificate is loaded and the server listens. */
  ready(): boolean;
  address(): { host: string; port: number };
  /** Installs (or replaces) the certificate; the server starts listening with the first one. */
  setCertificate(pair: KeyPairPem): Promise<void>;
  close(): Promise<void>;
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  path?: string;
  policy: RewritePolicy;
  logger: Logger;
  /** Called with the handling time (seconds) of every admission request. */
  onLatency?: (outcome: WebhookOutcome, seconds: number) => void;
  /** Called with the outcome of every pod seen (metrics, events). */
  onMutation?: (rewritten: number, review: AdmissionReview) => void;
}

export class WebhookServer implements Webhook {
  private server?: Server;
  private tls?: KeyPairPem;
  /** Certificate updates, one at a time: one arriving while the server starts waits for it. */
  private updates: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: WebhookServerOptions) {}

  ready(): boolean {
    return !!this.server?.listening;
  }

  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('webhook server not listening');
    return { host: a.address, port: a.port };
  }

  setCertificate(pair: KeyPairPem): Promise<void> {
    const update = this.updates.then(() => this.applyCertificate(pair));
    this.updates = update.catch(() => undefined);
    return update;
  }

  private async applyCertificate(pair: KeyPairPem): Promise<void> {
    if (this.tls && this.tls.cert === pair.cert && this.tls.key === pair.key) return;
    this.tls = pair;
    if (this.server) {
      this.server.setSecureContext({ cert: pair.cert, key: pair.key });
      this.opts.logger.info('webhook certificate reloaded');
      return;
    }
    const server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
      const started = performance.now();
      const path = this.opts.path ?? '/mutate';
      const url = req.url ?? '/';
      if (req.method === 'GET' && (url === '/healthz' || url === '/readyz')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
        return;
      }
      if (req.method !== 'POST' || url.split('?')[0] !== path) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          res.writeHead(413).end();
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (res.headersSent) return;
        let outcome: WebhookOutcome = 'error';
        try {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
          if (!review.request?.uid) throw new Error('not an AdmissionReview request');
          const result = mutatePod(review.request, this.opts.policy);
          const answer = admissionResponse(review.request, result);
          const rewritten = result.containers.filter((c) => c.rewrittenTo).length;
          outcome = rewritten > 0 ? 'patched' : 'unchanged';
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
          this.opts.onMutation?.(rewritten, review);
          if (this.opts.logger.level === 'debug') {
            this.opts.logger.debug('admission', {
              uid: review.request.uid,
              namespace: review.request.namespace,
              name: review.request.name ?? review.request.object?.metadata?.generateName,
              operation: review.request.operation,
              podSkipped: result.podSkipped,
              containers: result.containers,
            });
          }
        } catch (err) {
          this.opts.logger.warn('bad admission request', { err });
          res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`bad request: ${(err as Error).message}\n`);
        } finally {
          this.opts.onLatency?.(outcome, (performance.now() - started) / 1000);
        }
      });
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.opts.logger.info('webhook listening', { ...this.address(), path: this.opts.path ?? '/mutate' });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
    });
  }
}
