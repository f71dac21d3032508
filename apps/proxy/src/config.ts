// The proxy's configuration: defaults, then a YAML file (--config FILE), then PROXY_* variables
// (PROXY_REGISTRY_URL → registry.url, PROXY_INSECUREREGISTRIES=a,b → insecureRegistries, …; see
// libs/config for the rule). Parsed once into a typed object; a bad value stops start-up with a
// message naming the key. Nothing here touches the network or lists anything: start-up is instant.
import { ConfigError, ConfigReader, loadConfigTree, parseListenAddress, type ConfigTree } from '@kuik/config';
import { isLogLevel, type LogLevel } from '@kuik/observability';
import {
  AZURE_CONFIG_DEFAULTS,
  ECR_CONFIG_DEFAULTS,
  GOOGLE_CONFIG_DEFAULTS,
  parseAzureConfig,
  parseEcrConfig,
  parseGoogleConfig,
  registryHostSetting,
  type AzureConfig,
  type EcrConfig,
  type GoogleConfig,
} from '@kuik/oci/client';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TimeoutConfig {
  connectMs: number;
  headersMs: number;
  bodyIdleMs: number;
}

export interface ProxyConfig {
  listen: ListenAddress;
  /** Metrics, /healthz and /readyz; null when disabled (metricsListen ""). */
  metricsAddr: ListenAddress | null;
  log: { level: LogLevel; accessLog: boolean };
  registry: {
    /** The kuik registry the proxy caches into, e.g. http://127.0.0.1:5000. */
    url: string;
    timeouts: TimeoutConfig;
    /** After a connection failure, how long the cache is bypassed before it is tried again. */
    retryAfterMs: number;
  };
  /** Origin used when a request names none (mirror form without ?ns=). */
  defaultOrigin: string;
  /** Hosts (host or host:port) reached over unverified TLS or plain HTTP. */
  insecureRegistries: string[];
  /** PEM CA certificates trusted for every origin, in addition to Node's bundled roots. */
  rootCertificateAuthorities: { file: string; pem: string }[];
  credentials: {
    dockerConfig: string | null;
    /**
     * Amazon ECR registries authenticated with the workload's AWS identity (IRSA, Pod Identity,
     * instance profile): ECR hosts always; `registries` are more hosts served by ECR, in `region`.
     */
    ecr: EcrConfig;
    /** Google Artifact Registry / gcr.io with the workload's Google identity (off by default). */
    google: GoogleConfig;
    /** Azure Container Registry with the workload's Azure identity (off by default). */
    azure: AzureConfig;
  };
  /**
   * Origin credentials from the Kubernetes API, read in the background after start-up (never
   * waited for): the Secrets named by Repository resources (repositories: true) and/or one fixed
   * Secret (pullSecret in namespace). Each Secret is read by name only.
   */
  kubernetes: {
    repositories: boolean;
    pullSecret: string | null;
    namespace: string | null;
    /** A kubeconfig file; null: $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
    kubeconfig: string | null;
  };
  origins: { timeouts: TimeoutConfig };
  /**
   * Credentials the container runtime presents (a pod's own pull secret, which the controller
   * copies for the proxy's host): what the origin refuses without them is fetched with them, kept
   * in a cache repository of its own, and served only to clients whose credentials the origin
   * accepts for that repository.
   */
  clientCredentials: {
    enabled: boolean;
    /** How long the origin's acceptance of a client's credentials for a repository is trusted. */
    grantTtlMs: number;
    /** While the origin cannot be reached, an older acceptance still counts for this long. */
    staleGrantTtlMs: number;
  };
  tags: {
    /** A cached tag older than this is revalidated against the origin. */
    refreshIntervalMs: number;
    /** The revalidation HEAD's deadline; past it the cached manifest is served. */
    revalidateTimeoutMs: number;
  };
  cache: {
    /** Write what is pulled into the registry (false: a pure pass-through with cache reads). */
    fill: boolean;
    /** 'all': an index is cached with every platform; 'requested': only platforms pulled (the index waits for the controller). */
    indexChildren: 'all' | 'requested';
    /** Blobs filled at once per image. */
    fillConcurrency: number;
  };
  /** Temporary files of in-progress downloads (deleted as soon as they are opened). */
  dataDir: string;
  limits: { manifestMaxBytes: number; headerMaxBytes: number };
}

export const DEFAULTS: ConfigTree = {
  listen: '127.0.0.1:7439',
  metricsListen: ':8080',
  log: { level: 'info', accessLog: true },
  registry: { url: 'http://127.0.0.1:5000', timeouts: { connect: '2s', headers: '10s', idle: '30s' }, retryAfter: '5s' },
  defaultOrigin: 'docker.io',
  insecureRegistries: [],
  rootCertificateAuthorities: [],
  credentials: { dockerConfig: '', ecr: ECR_CONFIG_DEFAULTS, google: GOOGLE_CONFIG_DEFAULTS, azure: AZURE_CONFIG_DEFAULTS },
  origins: { timeouts: { connect: '10s', headers: '30s', idle: '60s' } },
  clientCredentials: { enabled: true, grantTtl: '10m', staleGrantTtl: '24h' },
  tags: { refreshInterval: '5m', revalidateTimeout: '3s' },
  cache: { fill: true, indexChildren: 'all', fillConcurrency: 3 },
  dataDir: '',
  kubernetes: { repositories: false, pullSecret: '', namespace: '', kubeconfig: '', qps: '', burst: '' },
  limits: { manifestMaxBytes: '4MiB', headerMaxBytes: '16KiB' },
};

export function loadProxyConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  return parseProxyConfig(loadConfigTree({ file, envPrefix: 'PROXY', env, defaults: DEFAULTS }));
}

export function parseProxyConfig(tree: ConfigTree): ProxyConfig {
  const root = new ConfigReader(tree);
  root.onlyKnown(Object.keys(DEFAULTS));
  const positive = (reader: ConfigReader, key: string, at: string, fallback: number) => {
    const v = reader.duration(key, fallback);
    if (v <= 0) throw new ConfigError(`${at}.${key}`, 'must be greater than zero');
    return v;
  };
  const timeouts = (reader: ConfigReader, at: string): TimeoutConfig => {
    reader.onlyKnown(['connect', 'headers', 'idle']);
    return { connectMs: positive(reader, 'connect', at, 10_000), headersMs: positive(reader, 'headers', at, 30_000), bodyIdleMs: positive(reader, 'idle', at, 60_000) };
  };

  const log = root.section('log');
  log.onlyKnown(['level', 'accessLog']);
  const level = log.string('level', 'info');
  if (!isLogLevel(level)) throw new ConfigError('log.level', `must be one of debug, info, warn, error, got ${JSON.stringify(level)}`);

  const registry = root.section('registry');
  registry.onlyKnown(['url', 'timeouts', 'retryAfter']);
  const registryUrl = registry.string('url');
  try {
    const u = new URL(registryUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (u.pathname !== '/' || u.search) throw new Error('path');
  } catch {
    throw new ConfigError('registry.url', `must be an http(s) URL without a path, got ${JSON.stringify(registryUrl)}`);
  }

  const credentials = root.section('credentials');
  credentials.onlyKnown(['dockerConfig', 'ecr', 'google', 'azure']);
  const ecr = parseEcrConfig(credentials.section('ecr'), 'credentials.ecr');
  const google = parseGoogleConfig(credentials.section('google'), 'credentials.google');
  const azure = parseAzureConfig(credentials.section('azure'), 'credentials.azure');
  const tags = root.section('tags');
  tags.onlyKnown(['refreshInterval', 'revalidateTimeout']);
  const cache = root.section('cache');
  cache.onlyKnown(['fill', 'indexChildren', 'fillConcurrency']);
  const origins = root.section('origins');
  origins.onlyKnown(['timeouts']);
  const clientCredentials = root.section('clientCredentials');
  clientCredentials.onlyKnown(['enabled', 'grantTtl', 'staleGrantTtl']);
  const grantTtlMs = positive(clientCredentials, 'grantTtl', 'clientCredentials', 600_000);
  const staleGrantTtlMs = clientCredentials.duration('staleGrantTtl', 86_400_000);
  if (staleGrantTtlMs < grantTtlMs) throw new ConfigError('clientCredentials.staleGrantTtl', 'must not be shorter than clientCredentials.grantTtl');
  const limits = root.section('limits');
  limits.onlyKnown(['manifestMaxBytes', 'headerMaxBytes']);

  const metricsAddr = root.raw('metricsListen') === '' ? null : parseListenAddress('metricsListen', root.string('metricsListen'));
  const kubernetes = root.section('kubernetes');
  kubernetes.onlyKnown(['repositories', 'pullSecret', 'namespace', 'kubeconfig', 'qps', 'burst']);
  const pullSecret = kubernetes.string('pullSecret', '') || null;
  const kubeNamespace = kubernetes.string('namespace', '') || null;
  if (pullSecret && !kubeNamespace) throw new ConfigError('kubernetes.namespace', 'is required with kubernetes.pullSecret');
  const kubeconfig = kubernetes.string('kubeconfig', '');
  const dockerConfig = credentials.string('dockerConfig', '');

  return {
    listen: parseListenAddress('listen', root.string('listen')),
    metricsAddr,
    log: { level, accessLog: log.bool('accessLog', true) },
    registry: {
      url: registryUrl.replace(/\/+$/, ''),
      timeouts: timeouts(registry.section('timeouts'), 'registry.timeouts'),
      retryAfterMs: positive(registry, 'retryAfter', 'registry', 5_000),
    },
    defaultOrigin: registryHostSetting('defaultOrigin', root.string('defaultOrigin')),
    insecureRegistries: root.stringList('insecureRegistries').map((h, i) => registryHostSetting(`insecureRegistries[${i}]`, h)),
    rootCertificateAuthorities: root.stringList('rootCertificateAuthorities').map((file, i) => ({ file, pem: readPem(`rootCertificateAuthorities[${i}]`, file) })),
    credentials: {
      dockerConfig: dockerConfig === '' ? null : path.resolve(dockerConfig),
      ecr,
      google,
      azure,
    },
    kubernetes: {
      repositories: kubernetes.bool('repositories', false),
      pullSecret,
      namespace: kubeNamespace,
      kubeconfig: kubeconfig === '' ? null : path.resolve(kubeconfig),
    },
    origins: { timeouts: timeouts(origins.section('timeouts'), 'origins.timeouts') },
    clientCredentials: { enabled: clientCredentials.bool('enabled', true), grantTtlMs, staleGrantTtlMs },
    tags: { refreshIntervalMs: tags.duration('refreshInterval', 300_000), revalidateTimeoutMs: positive(tags, 'revalidateTimeout', 'tags', 3_000) },
    cache: {
      fill: cache.bool('fill', true),
      indexChildren: cache.oneOf('indexChildren', ['all', 'requested'] as const, 'all'),
      fillConcurrency: cache.int('fillConcurrency', 3, 1, 32),
    },
    dataDir: path.resolve(root.string('dataDir', '') || path.join(tmpdir(), 'kuik-proxy')),
    limits: {
      manifestMaxBytes: limits.bytes('manifestMaxBytes', 4 << 20),
      headerMaxBytes: limits.bytes('headerMaxBytes', 16 << 10),
    },
  };
}

function readPem(key: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(key, `${file} holds no PEM certificate`);
  return text;
}
