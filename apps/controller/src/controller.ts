// The controller process: informers and the admission webhook on every replica; reconcilers on
// the leader only. Informers run everywhere so that a new leader starts with warm caches and
// every replica reports the same gauges.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeLeaseClient, LeaderElector } from '@kuik/leader-election';
import { startOpsServer, type Logger, type OpsServer } from '@kuik/observability';
import type { ControllerConfig } from './config.js';
import { CACHED_IMAGES_PATH, LABEL_MANAGED, LABEL_PROXY_READY, REPOSITORIES_PATH, type CachedImage, type Repository } from './crds/types.js';
import { repositoryObjectName } from './images/naming.js';
import { parseImage, repositoryName } from './images/reference.js';
import { KubeClient } from './kube/client.js';
import { Informer, objectKey } from './kube/informer.js';
import type { Pod } from './kube/types.js';
import { WorkQueue, type Reconciler } from './kube/workqueue.js';
import { createControllerMetrics, type ControllerMetrics } from './metrics.js';
import { reconcileCache } from './reconcile/cache.js';
import type { ReconcileContext } from './reconcile/context.js';
import { proxyPodState, reconcileNodeLabel, type ProxyPod } from './reconcile/node-labels.js';
import { reconcilePodPullSecret } from './reconcile/pod-pull-secrets.js';
import { reconcilePullSecretMirror } from './reconcile/pull-secrets.js';
import { reconcileRepository } from './reconcile/repository.js';
import { reconcileUsage } from './reconcile/usage.js';
import type { ImageRegistries } from './registry/port.js';
import { CredentialResolver } from './registry/resolver.js';
import { UsageIndex } from './usage/index.js';
import { podUses, WORKLOAD_KINDS, workloadUses, type PodUses } from './usage/sources.js';
import { buildPolicy, type RewritePolicy } from './webhook/policy.js';
import { WebhookServer, type Webhook, type WebhookOutcome } from './webhook/server.js';
import { watchTlsFiles } from './webhook/tls/files.js';
import { SelfManagedTls, serviceHosts } from './webhook/tls/self-managed.js';
import { WebhookWorker } from './webhook/worker.js';

export interface ControllerOptions {
  config: ControllerConfig;
  kubeConfig: KubeConfig;
  registries: ImageRegistries;
  logger: Logger;
  version: string;
  /** The bundle's entry (main.js), run again as the webhook's thread; required when webhook.workerThread is set. */
  webhookWorkerScript?: URL;
}

type QueueName = 'usage' | 'cache' | 'repository' | 'mirror' | 'podSecrets' | 'nodes' | 'tls';

export class Controller {
  readonly metrics: ControllerMetrics;
  readonly client: KubeClient;
  readonly policy: RewritePolicy;
  readonly webhook: Webhook;
  readonly index = new UsageIndex();
  readonly cachedImages: Informer<CachedImage>;
  readonly repositories: Informer<Repository>;
  readonly pods: Informer<PodUses>;
  private readonly informers: Informer<unknown>[] = [];
  private readonly proxyPods?: Informer<ProxyPod>;
  private readonly labelledNodes?: Informer<{ value: string }>;
  private readonly tls?: SelfManagedTls;
  /** Repository object name → its normalized name and CachedImages (from the CachedImage cache). */
  private readonly repoImages = new Map<string, { spec: string; images: Set<string> }>();
  private queues?: Record<QueueName, WorkQueue>;
  private elector?: LeaderElector;
  private ops?: OpsServer;
  private readonly stopping = new AbortController();
  private running: Promise<unknown>[] = [];

  constructor(private readonly opts: ControllerOptions) {
    const { config, logger } = opts;
    this.metrics = createControllerMetrics(opts.version, () => this.gaugeSources());
    this.client = new KubeClient(opts.kubeConfig, {
      qps: config.kubeApi.qps,
      burst: config.kubeApi.burst,
      userAgent: `kuik-controller/${opts.version}`,
      onRequest: (verb, code) => this.metrics.kubeRequests.labels(verb, String(code)).inc(),
    });
    this.policy = buildPolicy({ ...config.webhook, ownNamespace: config.namespace });
    const webhookLogger = logger.child({ component: 'webhook' });
    const onLatency = (outcome: WebhookOutcome, seconds: number) => this.metrics.webhookLatency.labels(outcome).observe(seconds);
    if (config.webhook.workerThread) {
      // Sources run by Jest cannot start a thread: tests that construct a Controller set webhook.workerThread false.
      if (!opts.webhookWorkerScript) throw new Error('webhook.workerThread needs webhookWorkerScript (the bundle); set it to false to serve in-process');
      this.webhook = new WebhookWorker({
        script: opts.webhookWorkerScript,
        config: config.webhook,
        namespace: config.namespace,
        identity: config.identity,
        logLevel: config.logLevel,
        logger: webhookLogger,
        onLatency,
      });
    } else {
      this.webhook = new WebhookServer({ host: config.webhook.listen.host, port: config.webhook.listen.port, policy: this.policy, logger: webhookLogger, onLatency });
    }

    const inf = <T>(name: string, path: string, transform: (o: Record<string, unknown>) => T | undefined, sel: { labelSelector?: string; fieldSelector?: string } = {}) => {
      const i = new Informer<T>({ name, client: this.client, path, transform, logger, ...sel });
      this.informers.push(i as Informer<unknown>);
      return i;
    };
    this.cachedImages = inf<CachedImage>('cachedimages', CACHED_IMAGES_PATH, (o) => o as unknown as CachedImage);
    this.repositories = inf<Repository>('repositories', REPOSITORIES_PATH, (o) => o as unknown as Repository);
    this.pods = inf<PodUses>('pods', '/api/v1/pods', (o) => podUses(o, config.webhook.proxyAddress, this.policy), { labelSelector: `${LABEL_MANAGED}=true` });
    this.pods.addHandlers({
      onAdd: (_k, cur) => {
        this.index.podChanged(undefined, cur);
        this.podSecretsChanged(undefined, cur);
      },
      onUpdate: (_k, old, cur) => {
        this.index.podChanged(old, cur);
        this.podSecretsChanged(old, cur);
      },
      onDelete: (_k, old) => {
        this.index.podChanged(old, undefined);
        this.podSecretsChanged(old, undefined);
      },
    });
    for (const w of WORKLOAD_KINDS) {
      const i = inf(w.kind.toLowerCase() + 's', w.path, (o) => workloadUses(w.kind, o, w.template(o), this.policy));
      i.addHandlers({
        onAdd: (_k, cur) => this.index.workloadChanged(undefined, cur),
        onUpdate: (_k, old, cur) => this.index.workloadChanged(old, cur),
        onDelete: (_k, old) => this.index.workloadChanged(old, undefined),
      });
    }
    // A new image is reconciled at once (its CachedImage must exist); usage changes of existing
    // ones are coalesced for half a second, so a burst of pods costs one status write.
    this.index.onChange((name) => (this.cachedImages.get(name) ? this.queues?.usage.addAfter(name, 500) : this.enqueue('usage', name)));

    this.cachedImages.addHandlers({
      onAdd: (name, ci) => {
        this.trackRepository(name, ci, true);
        this.enqueue('usage', name);
        this.enqueue('cache', name);
      },
      onUpdate: (name, old, ci) => {
        // Status-only changes (the reconcilers' own writes) need no reconcile.
        const specChanged = old.metadata.generation !== ci.metadata.generation || old.metadata.deletionTimestamp !== ci.metadata.deletionTimestamp;
        if (specChanged) {
          this.enqueue('usage', name);
          this.enqueue('cache', name);
        }
        if (!old.metadata.deletionTimestamp && ci.metadata.deletionTimestamp) this.trackRepository(name, ci, false);
      },
      onDelete: (name, ci) => {
        this.trackRepository(name, ci, false);
        this.enqueue('usage', name); // still in use → created again
      },
    });
    this.repositories.addHandlers({
      onAdd: (name) => {
        this.enqueue('repository', name);
        this.enqueue('mirror', 'mirror');
      },
      onUpdate: (name, old, cur) => {
        if (old.metadata.generation === cur.metadata.generation) return;
        this.enqueue('repository', name);
        this.enqueue('mirror', 'mirror');
        // A new update policy applies to the repository's images at once.
        for (const ci of this.repoImages.get(name)?.images ?? []) this.enqueue('cache', ci);
      },
      onDelete: (name) => {
        this.enqueue('repository', name);
        this.enqueue('mirror', 'mirror');
      },
    });

    if (config.proxy.manageNodeLabels) {
      this.proxyPods = inf<ProxyPod>('proxy-pods', `/api/v1/namespaces/${config.proxy.namespace}/pods`, (o) => proxyPodState(o as Pod), {
        labelSelector: config.proxy.podSelector,
      });
      this.labelledNodes = inf('proxy-ready-nodes', '/api/v1/nodes', (o) => ({ value: (o as Pod).metadata?.labels?.[LABEL_PROXY_READY] ?? '' }), {
        labelSelector: LABEL_PROXY_READY,
      });
      const byNode = (p: ProxyPod) => this.enqueue('nodes', p.node);
      this.proxyPods.addHandlers({ onAdd: (_k, p) => byNode(p), onUpdate: (_k, o, p) => (byNode(o), byNode(p)), onDelete: (_k, p) => byNode(p) });
      this.labelledNodes.addHandlers({ onAdd: (n) => this.enqueue('nodes', n), onUpdate: (n) => this.enqueue('nodes', n), onDelete: (n) => this.enqueue('nodes', n) });
    }

    const tlsConfig = config.webhook.tls;
    if (tlsConfig.mode === 'self-managed') {
      this.tls = new SelfManagedTls({
        client: this.client,
        namespace: config.namespace,
        secretName: tlsConfig.secretName,
        webhookConfigurationName: tlsConfig.webhookConfigurationName,
        hosts: [...serviceHosts(tlsConfig.serviceName, config.namespace), ...tlsConfig.extraHosts],
        certValidityMs: tlsConfig.certValidityMs,
        logger: logger.child({ component: 'webhook-tls' }),
      });
      this.informers.push(this.tls.secretInformer as Informer<unknown>, this.tls.configurationInformer as Informer<unknown>);
      const reload = () => {
        const pair = this.tls?.current();
        if (pair) this.webhook.setCertificate(pair).catch((err: unknown) => logger.error('cannot load the webhook certificate', { err }));
        this.enqueue('tls', 'tls');
      };
      this.tls.secretInformer.addHandlers({ onAdd: reload, onUpdate: reload, onDelete: () => this.enqueue('tls', 'tls') });
      this.tls.configurationInformer.addHandlers({ onAdd: () => this.enqueue('tls', 'tls'), onUpdate: () => this.enqueue('tls', 'tls') });
    }
  }

  /** Starts informers, the webhook (once it has a certificate), the ops server and the election. */
  async start(): Promise<void> {
    const { config, logger } = this.opts;
    const signal = this.stopping.signal;
    this.running.push(...this.informers.map((i) => i.run(signal)));
    const tls = config.webhook.tls;
    if (tls.mode === 'files') {
      this.running.push(watchTlsFiles(tls.certFile, tls.keyFile, (pair) => void this.webhook.setCertificate(pair).catch((err: unknown) => logger.error('cannot load the webhook certificate', { err })), logger, signal));
    }
    this.ops = await startOpsServer({
      host: config.opsListen.host,
      port: config.opsListen.port,
      registry: this.metrics.registry,
      readiness: [
        { name: 'webhook', check: async () => (this.webhook.ready() ? undefined : 'not listening (no serving certificate yet, or its thread restarting)') },
        { name: 'informers', check: async () => this.informers.filter((i) => !i.hasSynced()).map((i) => i.name).join(', ') ? `not synced: ${this.informers.filter((i) => !i.hasSynced()).map((i) => i.name).join(', ')}` : undefined },
      ],
    });
    const le = config.leaderElection;
    this.elector = new LeaderElector({
      lock: new KubeLeaseClient({ namespace: config.namespace, name: le.leaseName, request: this.client.requester, labels: { 'app.kubernetes.io/name': 'kuik-controller' } }),
      identity: config.identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      releaseOnCancel: true,
      logger: logger.child({ component: 'leader-election' }),
      callbacks: {
        onStartedLeading: (leading) => this.lead(leading),
        onNewLeader: (identity) => logger.info('leader observed', { leader: identity, me: identity === config.identity }),
      },
    });
    const elector = this.elector;
    this.running.push(
      (async () => {
        // A replica that lost leadership stands again: the informers are still warm.
        while (!signal.aborted) {
          await elector.run(signal);
          if (!signal.aborted) await new Promise((r) => setTimeout(r, le.retryPeriodMs));
        }
      })(),
    );
  }

  isLeader(): boolean {
    return this.elector?.isLeader() ?? false;
  }

  opsAddress(): { host: string; port: number } | undefined {
    return this.ops?.address();
  }

  /** Stops leading (releasing the lease once the reconcilers stopped), then the servers. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.running);
    await this.webhook.close();
    await this.ops?.close();
    await this.opts.registries.close?.();
  }

  /** Pods naming each "<namespace>/<pull secret>": its copy for the proxy is kept while any does. */
  private readonly podSecretUsers = new Map<string, number>();

  private podSecretsChanged(old: PodUses | undefined, cur: PodUses | undefined): void {
    if (!this.opts.config.webhook.podPullSecrets) return;
    const keys = (p: PodUses | undefined) => (p?.pullSecrets ?? []).map((s) => `${p!.namespacedName.split('/')[0]}/${s}`);
    // Counted up before down, so that an update naming the same secrets enqueues nothing.
    for (const k of keys(cur)) {
      const known = this.podSecretUsers.has(k);
      this.podSecretUsers.set(k, (this.podSecretUsers.get(k) ?? 0) + 1);
      if (!known) this.enqueue('podSecrets', k);
    }
    for (const k of keys(old)) {
      const n = (this.podSecretUsers.get(k) ?? 1) - 1;
      if (n > 0) this.podSecretUsers.set(k, n);
      else this.podSecretUsers.delete(k);
    }
  }

  private enqueue(queue: QueueName, key: string): void {
    this.queues?.[queue].add(key);
  }

  private trackRepository(ciName: string, ci: CachedImage, present: boolean): void {
    let repoName: string;
    let spec: string;
    try {
      const image = parseImage(ci.spec.sourceImage);
      repoName = repositoryObjectName(image);
      spec = repositoryName(image);
    } catch {
      return;
    }
    let entry = this.repoImages.get(repoName);
    if (present && !ci.metadata.deletionTimestamp) {
      if (!entry) this.repoImages.set(repoName, (entry = { spec, images: new Set() }));
      if (entry.images.has(ciName)) return;
      entry.images.add(ciName);
    } else {
      if (!entry?.images.delete(ciName)) return;
      if (entry.images.size === 0) this.repoImages.delete(repoName);
    }
    this.enqueue('repository', repoName);
  }

  /** The leader's work: every reconciler, until leadership ends. */
  private async lead(signal: AbortSignal): Promise<void> {
    const { config, logger } = this.opts;
    this.metrics.isLeader.set(1);
    try {
      await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
      const ctx: ReconcileContext = {
        client: this.client,
        config,
        logger,
        metrics: this.metrics,
        index: this.index,
        cachedImages: this.cachedImages,
        repositories: this.repositories,
        pods: this.pods,
        registries: this.opts.registries,
        credentials: new CredentialResolver(this.client, this.repositories, logger),
        now: Date.now,
      };
      const q = (name: QueueName, concurrency: number) =>
        new WorkQueue({
          name,
          concurrency,
          logger,
          onResult: (outcome, seconds) => {
            this.metrics.reconciles.labels(name, outcome).inc();
            this.metrics.reconcileSeconds.labels(name).observe(seconds);
          },
        });
      const queues: Record<QueueName, WorkQueue> = {
        usage: q('usage', 4),
        cache: q('cache', config.maxConcurrentCachedImageReconciles),
        repository: q('repository', 2),
        mirror: q('mirror', 1),
        podSecrets: q('podSecrets', 2),
        nodes: q('nodes', 2),
        tls: q('tls', 1),
      };
      const reconcilers: Record<QueueName, Reconciler> = {
        usage: (k, s) => reconcileUsage(ctx, k, s),
        cache: (k, s) => reconcileCache(ctx, k, s),
        repository: (k, s) => reconcileRepository(ctx, this.repoImages, k, s),
        mirror: (_k, s) => reconcilePullSecretMirror(ctx, s),
        podSecrets: (k, s) => reconcilePodPullSecret(ctx, k, (key) => this.podSecretUsers.has(key), s),
        nodes: async (k, s) => {
          if (this.proxyPods && this.labelledNodes) await reconcileNodeLabel(this.client, this.proxyPods, this.labelledNodes, logger, k, s);
        },
        tls: async (_k, s) => (this.tls ? this.tls.reconcile(s) : undefined),
      };
      this.queues = queues;
      // Level-based start: everything known is reconciled once.
      for (const name of new Set([...this.index.names(), ...[...this.cachedImages.entries()].map(([k]) => k)])) queues.usage.add(name);
      for (const [name] of this.cachedImages.entries()) queues.cache.add(name);
      for (const name of new Set([...this.repoImages.keys(), ...[...this.repositories.entries()].map(([k]) => k)])) queues.repository.add(name);
      queues.mirror.add('mirror');
      for (const k of this.podSecretUsers.keys()) queues.podSecrets.add(k);
      if (this.tls) queues.tls.add('tls');
      for (const p of this.proxyPods?.values() ?? []) queues.nodes.add(p.node);
      for (const [n] of this.labelledNodes?.entries() ?? []) queues.nodes.add(n);
      logger.info('leading: reconcilers started', { cachedImages: this.cachedImages.size, pods: this.pods.size });
      await Promise.all(Object.entries(queues).map(([name, queue]) => queue.run(reconcilers[name as QueueName], signal)));
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      this.queues = undefined;
      this.metrics.isLeader.set(0);
    }
  }

  private gaugeSources() {
    return {
      cachedImages: () =>
        [...this.cachedImages.values()].map((c) => ({ phase: c.status?.phase ?? '', isCached: !!c.status?.isCached, expiring: !!c.spec.expiresAt })),
      repositories: () => [...this.repositories.values()].map((r) => ({ phase: r.status?.phase ?? '' })),
      containers: () =>
        [...this.pods.values()].flatMap((p) =>
          p.images.map((i) => {
            const ci = this.cachedImages.get(i.name);
            return ci ? { phase: ci.status?.phase ?? '', isCached: !!ci.status?.isCached } : undefined;
          }),
        ),
    };
  }
}

export { objectKey };
