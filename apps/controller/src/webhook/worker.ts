// The admission webhook served from a worker thread, with an event loop of its own: admission
// latency then does not depend on what the informers and reconcilers do on the main thread
// (controller-runtime serves webhooks on their own goroutines for the same reason).
//
// The thread runs webhook-worker.js, a bundle of the webhook alone built beside main.js (or, in a
// build without it, main.js again, which starts runWebhookWorker when it finds WebhookWorkerData):
// workerData is plain data, from which the thread builds its own
// RewritePolicy and logger. The main thread sends certificates (the server swaps them in place,
// as in-process), the thread answers with its address and batches of latency samples, which the
// main thread observes in the controller's histogram: /metrics is unchanged. A thread that dies
// is restarted with the current certificate after a back-off; ready() is false meanwhile.
import { parentPort, Worker } from 'node:worker_threads';
import { createLogger, type Logger, type LogLevel } from '@kuik/observability';
import type { WebhookConfig } from '../config.js';
import { buildPolicy } from './policy.js';
import { WebhookServer, type Webhook, type WebhookOutcome } from './server.js';
import type { KeyPairPem } from './tls/certs.js';

/** Latency samples are sent when this many are pending, or this long after the first one. */
const BATCH_SIZE = 256;
const BATCH_MS = 200;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A thread that ran this long before dying restarts after the shortest back-off again. */
const HEALTHY_RUN_MS = 60_000;
/** Longer than WebhookServer.close's 2 s drain: past it the thread is stopped. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface WebhookWorkerData {
  kuikWebhook: true;
  host: string;
  port: number;
  logLevel: LogLevel;
  identity: string;
  /** buildPolicy's input, patterns as their source text. */
  policy: {
    proxyAddress: string;
    ownNamespace: string;
    ignoredNamespaces: string[];
    ignoredImages: string[];
    acceptedImages: string[];
    ignorePullPolicyAlways: boolean;
    requireProxyReadyNode: boolean;
    podPullSecrets: boolean;
  };
}

type ToWorker = { type: 'certificate'; id: number; pair: KeyPairPem } | { type: 'close' };
type FromWorker =
  | { type: 'listening'; host: string; port: number }
  | { type: 'certificate'; id: number; error?: string }
  | { type: 'latency'; samples: [WebhookOutcome, number][] };

export function isWebhookWorkerData(data: unknown): data is WebhookWorkerData {
  return typeof data === 'object' && data !== null && (data as { kuikWebhook?: unknown }).kuikWebhook === true;
}

export interface WebhookWorkerOptions {
  /** The bundle's entry (main.js), which runs runWebhookWorker in the thread. */
  script: URL;
  config: WebhookConfig;
  /** The controller's namespace (never rewritten). */
  namespace: string;
  identity: string;
  logLevel: LogLevel;
  logger: Logger;
  onLatency: (outcome: WebhookOutcome, seconds: number) => void;
}

/** Main thread side: the same surface as WebhookServer. The thread starts with the first certificate. */
export class WebhookWorker implements Webhook {
  private readonly data: WebhookWorkerData;
  private worker?: Worker;
  private listening?: { host: string; port: number };
  private certificate?: KeyPairPem;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 0;
  private failures = 0;
  private restartTimer?: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly opts: WebhookWorkerOptions) {
    const c = opts.config;
    this.data = {
      kuikWebhook: true,
      host: c.listen.host,
      port: c.listen.port,
      logLevel: opts.logLevel,
      identity: opts.identity,
      policy: {
        proxyAddress: c.proxyAddress,
        ownNamespace: opts.namespace,
        ignoredNamespaces: c.ignoredNamespaces,
        ignoredImages: c.ignoredImages.map((re) => re.source),
        acceptedImages: c.acceptedImages.map((re) => re.source),
        ignorePullPolicyAlways: c.ignorePullPolicyAlways,
        requireProxyReadyNode: c.requireProxyReadyNode,
        podPullSecrets: c.podPullSecrets,
      },
    };
  }

  ready(): boolean {
    return this.listening !== undefined;
  }

  address(): { host: string; port: number } {
    if (!this.listening) throw new Error('webhook server not listening');
    return this.listening;
  }

  async setCertificate(pair: KeyPairPem): Promise<void> {
    if (this.closing) return;
    this.certificate = pair;
    // While a dead thread waits for its restart, the new certificate is what it starts with.
    if (this.restartTimer) return;
    await this.install(this.worker ?? this.spawn(), pair);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ type: 'close' } satisfies ToWorker);
    });
  }

  private spawn(): Worker {
    const { logger } = this.opts;
    const worker = new Worker(this.opts.script, { workerData: this.data, name: 'kuik-webhook' });
    const startedAt = Date.now();
    let failure: Error | undefined;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => {
      this.worker = undefined;
      this.listening = undefined;
      for (const p of this.pending.values()) p.reject(new Error(`the webhook thread exited (code ${code})`));
      this.pending.clear();
      if (this.closing) return;
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) this.failures = 0;
      const delayMs = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.failures++);
      logger.error('webhook thread died; restarting it', { code, err: failure, stack: failure?.stack, restartInMs: delayMs });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        const pair = this.certificate;
        if (pair) this.install(this.spawn(), pair).catch((err: unknown) => logger.error('cannot load the webhook certificate', { err }));
      }, delayMs);
    });
    this.worker = worker;
    return worker;
  }

  private install(worker: Worker, pair: KeyPairPem): Promise<void> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'certificate', id, pair } satisfies ToWorker);
    });
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'listening':
        this.listening = { host: m.host, port: m.port };
        break;
      case 'certificate': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error === undefined) p?.resolve();
        else p?.reject(new Error(m.error));
        break;
      }
      case 'latency':
        for (const [outcome, seconds] of m.samples) this.opts.onLatency(outcome, seconds);
        break;
    }
  }
}

/** Thread side: serves the webhook until told to close, then lets the thread end. */
export function runWebhookWorker(data: WebhookWorkerData): void {
  const port = parentPort;
  if (!port) throw new Error('runWebhookWorker runs in a worker thread');
  const post = (m: FromWorker) => port.postMessage(m);
  // Same line shape as the main thread's webhook logger (component webhook, identity).
  const logger = createLogger({ component: 'webhook', level: data.logLevel }).child({ identity: data.identity });
  const { policy } = data;
  let samples: [WebhookOutcome, number][] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (samples.length === 0) return;
    post({ type: 'latency', samples });
    samples = [];
  };
  const server = new WebhookServer({
    host: data.host,
    port: data.port,
    policy: buildPolicy({
      ...policy,
      ignoredImages: policy.ignoredImages.map((s) => new RegExp(s)),
      acceptedImages: policy.acceptedImages.map((s) => new RegExp(s)),
    }),
    logger,
    // Batched: one message wakes the main thread for many requests.
    onLatency: (outcome, seconds) => {
      samples.push([outcome, seconds]);
      if (samples.length >= BATCH_SIZE) flush();
      else flushTimer ??= setTimeout(flush, BATCH_MS);
    },
  });
  let announced = false;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'certificate') {
      server.setCertificate(m.pair).then(
        () => {
          if (!announced) post({ type: 'listening', ...server.address() });
          announced = true;
          post({ type: 'certificate', id: m.id });
        },
        (err: unknown) => post({ type: 'certificate', id: m.id, error: (err as Error).message }),
      );
    } else {
      void server.close().then(() => {
        flush();
        port.unref(); // nothing else keeps the thread alive: it exits
      });
    }
  });
}
