// The controller's configuration: defaults, then an optional YAML file (--config FILE or
// CONTROLLER_CONFIG), then CONTROLLER_* environment variables (CONTROLLER_WEBHOOK_PROXYADDRESS
// sets webhook.proxyAddress). Key names follow the Helm values users already have
// (controllers.maxConcurrentCachedImageReconciles, controllers.webhook.ignoredImages,
// cachedImagesExpiryDelay, …). Parsed once; a bad value stops start-up naming the key.
import { hostname } from 'node:os';
import { ConfigError, ConfigReader, loadConfigTree, parseListenAddress, type ConfigTree } from '@kuik/config';
import { isLogLevel, type LogLevel } from '@kuik/observability';
import {
  AZURE_CONFIG_DEFAULTS,
  ECR_CONFIG_DEFAULTS,
  GOOGLE_CONFIG_DEFAULTS,
  parseAzureConfig,
  parseEcrConfig,
  parseGoogleConfig,
  type AzureConfig,
  type EcrConfig,
  type GoogleConfig,
} from '@kuik/oci/client';

export interface WebhookConfig {
  listen: { host: string; port: number };
  /** Registry address nodes pull through: the proxy on every node. */
  proxyAddress: string;
  ignoredNamespaces: string[];
  ignoredImages: RegExp[];
  acceptedImages: RegExp[];
  ignorePullPolicyAlways: boolean;
  /** Add a required node affinity on kuik.enix.io/proxy-ready=true to rewritten pods. */
  requireProxyReadyNode: boolean;
  /**
   * Pods' own imagePullSecrets follow them to the proxy: the webhook adds, for each, the name of a
   * copy keyed for the proxy's host, which the leader keeps in the pod's namespace
   * (reconcile/pod-pull-secrets.ts).
   */
  podPullSecrets: boolean;
  /** Serve from a worker thread with its own event loop, away from the informers and reconcilers. */
  workerThread: boolean;
  tls:
    | { mode: 'files'; certFile: string; keyFile: string }
    | {
        mode: 'self-managed';
        secretName: string;
        webhookConfigurationName: string;
        serviceName: string;
        /** More names or IPs for the serving certificate (e.g. 127.0.0.1 when the API server calls a URL). */
        extraHosts: string[];
        certValidityMs: number;
      };
}

export interface ControllerConfig {
  /** The controller's own namespace (the release namespace): ignored by the webhook, home of its Secrets and Lease. */
  namespace: string;
  identity: string;
  logLevel: LogLevel;
  opsListen: { host: string; port: number };
  maxConcurrentCachedImageReconciles: number;
  cachedImagesExpiryDelayMs: number;
  webhook: WebhookConfig;
  registry: { url: string; insecureRegistries: string[]; rootCertificateAuthoritiesFile?: string };
  /** Origin credentials the controller finds itself (a Repository's pull secrets come first). */
  credentials: { ecr: EcrConfig; google: GoogleConfig; azure: AzureConfig };
  /** Pods of the proxy DaemonSet, whose readiness the leader mirrors onto node labels. */
  proxy: { namespace: string; podSelector: string; manageNodeLabels: boolean };
  pullSecrets: { mirrorSecretName: string };
  cacheFill: { gracePeriodMs: number; timeoutMs: number; architectures: string[] };
  /** Longest a CachedImage's finalizer holds its deletion when the registry cannot be reached. */
  finalizerTimeoutMs: number;
  leaderElection: { leaseName: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  kubeApi: { qps: number; burst: number; kubeconfig?: string };
}

export const DEFAULTS: ConfigTree = {
  namespace: '',
  identity: '',
  log: { level: 'info' },
  ops: { listen: ':8080' },
  maxConcurrentCachedImageReconciles: 3,
  cachedImagesExpiryDelay: '720h',
  webhook: {
    listen: ':9443',
    proxyAddress: 'localhost:7439',
    ignoredNamespaces: [],
    ignoredImages: [],
    acceptedImages: [],
    ignorePullPolicyAlways: true,
    requireProxyReadyNode: true,
    podPullSecrets: true,
    workerThread: true,
    tls: {
      mode: 'self-managed',
      certFile: '',
      keyFile: '',
      secretName: 'kuik-webhook-tls',
      webhookConfigurationName: 'kuik-webhook',
      serviceName: 'kuik-controller',
      extraHosts: [],
      certValidity: '8760h',
    },
  },
  registry: { url: 'http://kuik-registry:5000', insecureRegistries: [], rootCertificateAuthorities: '' },
  credentials: { ecr: ECR_CONFIG_DEFAULTS, google: GOOGLE_CONFIG_DEFAULTS, azure: AZURE_CONFIG_DEFAULTS },
  proxy: { namespace: '', podSelector: 'app.kubernetes.io/component=proxy', manageNodeLabels: true },
  pullSecrets: { mirrorSecretName: 'kuik-pull-secrets' },
  cacheFill: { gracePeriod: '2m', timeout: '1h', architectures: [] },
  finalizerTimeout: '5m',
  leaderElection: { leaseName: 'kuik-controller', leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' },
  kubeApi: { qps: 50, burst: 100, kubeconfig: '' },
};

const TOP = [
  'namespace', 'identity', 'log', 'ops', 'maxConcurrentCachedImageReconciles', 'cachedImagesExpiryDelay', 'webhook', 'registry',
  'credentials', 'proxy', 'pullSecrets', 'cacheFill', 'finalizerTimeout', 'leaderElection', 'kubeApi',
] as const;

export function loadControllerConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : env['CONTROLLER_CONFIG'] || undefined;
  const tree = loadConfigTree({ file, envPrefix: 'CONTROLLER', defaults: DEFAULTS, env: withoutConfigVar(env) });
  return parseControllerConfig(tree, env);
}

function withoutConfigVar(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CONTROLLER_CONFIG: _ignored, ...rest } = env;
  return rest;
}

export function parseControllerConfig(tree: ConfigTree, env: NodeJS.ProcessEnv = {}): ControllerConfig {
  const r = new ConfigReader(tree);
  r.onlyKnown(TOP);
  // The Downward API gives the pod's namespace and name; config wins when set.
  const namespace = r.string('namespace', '') || env['POD_NAMESPACE'] || 'kuik-system';
  const identity = r.string('identity', '') || env['POD_NAME'] || hostname();

  const log = r.section('log');
  log.onlyKnown(['level']);
  const level = log.string('level', 'info');
  if (!isLogLevel(level)) throw new ConfigError('log.level', `must be one of debug, info, warn, error, got ${JSON.stringify(level)}`);

  const ops = r.section('ops');
  ops.onlyKnown(['listen']);

  const w = r.section('webhook');
  w.onlyKnown(['listen', 'proxyAddress', 'ignoredNamespaces', 'ignoredImages', 'acceptedImages', 'ignorePullPolicyAlways', 'requireProxyReadyNode', 'podPullSecrets', 'workerThread', 'tls']);
  const proxyAddress = w.string('proxyAddress');
  if (!/^[a-zA-Z0-9.-]+(:\d{1,5})?$/.test(proxyAddress)) throw new ConfigError('webhook.proxyAddress', `must be host[:port], got ${JSON.stringify(proxyAddress)}`);
  const tls = w.section('tls');
  tls.onlyKnown(['mode', 'certFile', 'keyFile', 'secretName', 'webhookConfigurationName', 'serviceName', 'extraHosts', 'certValidity']);
  const mode = tls.oneOf('mode', ['self-managed', 'files'] as const, 'self-managed');
  const certValidityMs = tls.duration('certValidity', 365 * 86_400_000);
  if (certValidityMs < 3_600_000) throw new ConfigError('webhook.tls.certValidity', 'must be at least 1h');

  const reg = r.section('registry');
  reg.onlyKnown(['url', 'insecureRegistries', 'rootCertificateAuthorities']);
  const registryUrl = reg.string('url');
  try {
    const u = new URL(registryUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError('registry.url', `must be an http(s) URL, got ${JSON.stringify(registryUrl)}`);
  }

  const credentials = r.section('credentials');
  credentials.onlyKnown(['ecr', 'google', 'azure']);
  const ecr = parseEcrConfig(credentials.section('ecr'), 'credentials.ecr');
  const google = parseGoogleConfig(credentials.section('google'), 'credentials.google');
  const azure = parseAzureConfig(credentials.section('azure'), 'credentials.azure');

  const proxy = r.section('proxy');
  proxy.onlyKnown(['namespace', 'podSelector', 'manageNodeLabels']);
  const ps = r.section('pullSecrets');
  ps.onlyKnown(['mirrorSecretName']);
  const cf = r.section('cacheFill');
  cf.onlyKnown(['gracePeriod', 'timeout', 'architectures']);
  const le = r.section('leaderElection');
  le.onlyKnown(['leaseName', 'leaseDuration', 'renewDeadline', 'retryPeriod']);
  const leaseDurationMs = le.duration('leaseDuration', 15_000);
  if (leaseDurationMs % 1000 !== 0) throw new ConfigError('leaderElection.leaseDuration', 'must be whole seconds');
  const renewDeadlineMs = le.duration('renewDeadline', 10_000);
  const retryPeriodMs = le.duration('retryPeriod', 2_000);
  if (renewDeadlineMs >= leaseDurationMs) throw new ConfigError('leaderElection.renewDeadline', 'must be less than leaseDuration');
  if (retryPeriodMs * 1.2 >= renewDeadlineMs) throw new ConfigError('leaderElection.retryPeriod', 'must be less than renewDeadline / 1.2');
  const k = r.section('kubeApi');
  k.onlyKnown(['qps', 'burst', 'kubeconfig']);

  return {
    namespace,
    identity,
    logLevel: level,
    opsListen: parseListenAddress('ops.listen', ops.string('listen')),
    maxConcurrentCachedImageReconciles: r.int('maxConcurrentCachedImageReconciles', 3, 1, 100),
    cachedImagesExpiryDelayMs: r.duration('cachedImagesExpiryDelay', 30 * 86_400_000),
    webhook: {
      listen: parseListenAddress('webhook.listen', w.string('listen')),
      proxyAddress,
      ignoredNamespaces: w.stringList('ignoredNamespaces'),
      ignoredImages: regexList(w, 'webhook.ignoredImages', 'ignoredImages'),
      acceptedImages: regexList(w, 'webhook.acceptedImages', 'acceptedImages'),
      ignorePullPolicyAlways: w.bool('ignorePullPolicyAlways', true),
      requireProxyReadyNode: w.bool('requireProxyReadyNode', true),
      podPullSecrets: w.bool('podPullSecrets', true),
      workerThread: w.bool('workerThread', true),
      tls:
        mode === 'files'
          ? { mode, certFile: tls.string('certFile'), keyFile: tls.string('keyFile') }
          : {
              mode,
              secretName: tls.string('secretName'),
              webhookConfigurationName: tls.string('webhookConfigurationName'),
              serviceName: tls.string('serviceName'),
              extraHosts: tls.stringList('extraHosts'),
              certValidityMs,
            },
    },
    registry: {
      url: registryUrl.replace(/\/+$/, ''),
      insecureRegistries: reg.stringList('insecureRegistries'),
      rootCertificateAuthoritiesFile: reg.string('rootCertificateAuthorities', '') || undefined,
    },
    credentials: { ecr, google, azure },
    proxy: {
      namespace: proxy.string('namespace', '') || namespace,
      podSelector: proxy.string('podSelector'),
      manageNodeLabels: proxy.bool('manageNodeLabels', true),
    },
    pullSecrets: { mirrorSecretName: ps.string('mirrorSecretName') },
    cacheFill: { gracePeriodMs: cf.duration('gracePeriod', 120_000), timeoutMs: cf.duration('timeout', 3_600_000), architectures: cf.stringList('architectures') },
    finalizerTimeoutMs: r.duration('finalizerTimeout', 300_000),
    leaderElection: { leaseName: le.string('leaseName'), leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    kubeApi: { qps: k.int('qps', 50, 1, 10_000), burst: k.int('burst', 100, 1, 10_000), kubeconfig: k.string('kubeconfig', '') || undefined },
  };
}

function regexList(r: ConfigReader, key: string, k: string): RegExp[] {
  return r.stringList(k).map((src, i) => {
    try {
      return new RegExp(src);
    } catch (err) {
      throw new ConfigError(`${key}[${i}]`, `is not a valid regular expression: ${(err as Error).message}`);
    }
  });
}
