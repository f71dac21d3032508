// The registry's configuration: distribution's YAML shape (so existing config.yml files and
// REGISTRY_* variables carry over), parsed once into a typed object. A bad value stops start-up
// with an error naming the key. Keys distribution has but this registry does not implement are
// accepted and reported as ignored, so a registry:2 file loads; unknown keys are errors (typos).
import { ConfigError, ConfigReader, loadConfigTree, parseListenAddress, type ConfigTree } from '@kuik/config';
import { isLogLevel, type LogLevel } from '@kuik/observability';
import path from 'node:path';
import { CronError, parseCron } from './gc/cron.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface RegistryConfig {
  log: { level: LogLevel; accessLog: boolean };
  http: {
    addr: ListenAddress;
    /** Metrics and health endpoints; null when disabled (http.debug.addr set to ""). */
    debugAddr: ListenAddress | null;
    timeouts: {
      /** Time allowed to receive a request's headers. */
      headersMs: number;
      /** Longest silence of a client mid-body before the request is aborted (slow-loris). */
      idleMs: number;
      /** How long an idle keep-alive connection is kept. */
      keepAliveMs: number;
      /** Bound on a whole request (0 = none: a 10 GB layer may take long but never stalls). */
      requestMs: number;
    };
    /** How long in-flight requests may finish on shutdown. */
    drainTimeoutMs: number;
  };
  storage: {
    driver: string;
    params: Record<string, unknown>;
    deleteEnabled: boolean;
    redirect: boolean;
    readOnly: boolean;
    uploadPurging: { enabled: boolean; ageMs: number; intervalMs: number; dryRun: boolean };
  };
  limits: {
    manifestMaxBytes: number;
    headerMaxBytes: number;
    /** Upper bound of n for tag and catalog listings. */
    maxPageEntries: number;
  };
  /** Online garbage collection (kuik; distribution has an offline command instead). */
  garbageCollection: {
    /** Default: on, except on the inmemory driver (the chart's tmpfs mode turns it off too). */
    enabled: boolean;
    /** Five-field cron expression in UTC, or @hourly/@daily/@weekly/@monthly. */
    schedule: string;
    dryRun: boolean;
    /** Also delete manifests no tag reaches (directly, as an index child or as a referrer). */
    deleteUntagged: boolean;
    /** Blobs, links and manifests younger than this are never collected (longer than any push). */
    gracePeriodMs: number;
    /** Lease of the storage lock that lets one replica at a time collect. */
    leaseMs: number;
    /** Wait between quarantining candidates and re-checking (PUTs past their checks commit). */
    settleMs: number;
    /** Storage operations per second the collector may issue (0: unlimited), so that serving goes first. */
    rateLimit: number;
  };
  /** Keys present in the file that distribution knows and this registry ignores. */
  ignored: string[];
}

export const DEFAULT_ROOT_DIRECTORY = './tmp/registry-data';
/**
 * Storage operations per second of a collection: gentle on a shared backend and on the replica's
 * CPU (tools/bench/gc.mjs: push/pull throughput 0.81× of no GC on 2 shared cores with MinIO
 * beside); a 100,000-blob store with 10% garbage needs about 33,000 operations, some six minutes.
 */
export const DEFAULT_GC_RATE_LIMIT = 100;
/** Weekly, Sunday 03:00 UTC. */
export const DEFAULT_GC_SCHEDULE = '0 3 * * 0';

/** Storage keys that are not driver names. */
const STORAGE_SETTINGS = ['delete', 'redirect', 'maintenance', 'cache', 'tag'];
/** Distribution keys accepted for compatibility and ignored (with a warning). */
const IGNORED = {
  root: ['auth', 'middleware', 'notifications', 'redis', 'health', 'proxy', 'validation', 'compatibility', 'reporting', 'loglevel', 'catalog'],
  log: ['formatter', 'fields', 'hooks', 'reportcaller'],
  http: ['net', 'prefix', 'host', 'secret', 'relativeurls', 'tls', 'headers', 'http2', 'h2c'],
  debug: ['prometheus'],
  storage: ['cache', 'tag'],
};

export function loadRegistryConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RegistryConfig {
  return parseRegistryConfig(loadConfigTree({ file, envPrefix: 'REGISTRY', env }), cwd);
}

export function parseRegistryConfig(tree: ConfigTree, cwd = process.cwd()): RegistryConfig {
  const root = new ConfigReader(tree);
  const ignored: string[] = [];
  const known = (reader: ConfigReader, at: string, keys: string[], skip: string[] = []) => {
    for (const k of reader.keys()) if (skip.includes(k)) ignored.push(at ? `${at}.${k}` : k);
    reader.onlyKnown([...keys, ...skip]);
  };
  known(root, '', ['version', 'log', 'http', 'storage', 'limits', 'garbagecollection'], IGNORED.root);
  if (root.has('version') && root.string('version') !== '0.1') throw new ConfigError('version', `must be 0.1, got ${JSON.stringify(root.raw('version'))}`);

  const log = root.section('log');
  known(log, 'log', ['level', 'accesslog'], IGNORED.log);
  const level = log.string('level', 'info');
  if (!isLogLevel(level)) throw new ConfigError('log.level', `must be one of debug, info, warn, error, got ${JSON.stringify(level)}`);
  const accessLog = log.section('accesslog');
  accessLog.onlyKnown(['disabled']);

  const http = root.section('http');
  known(http, 'http', ['addr', 'debug', 'timeouts', 'draintimeout'], IGNORED.http);
  const debug = http.section('debug');
  known(debug, 'http.debug', ['addr'], IGNORED.debug);
  const debugAddr = debug.raw('addr') === '' ? null : parseListenAddress('http.debug.addr', debug.string('addr', '127.0.0.1:5001'));
  const timeouts = http.section('timeouts');
  timeouts.onlyKnown(['headers', 'idle', 'keepalive', 'request']);

  const storage = root.section('storage');
  const drivers = storage.keys().filter((k) => !STORAGE_SETTINGS.includes(k));
  for (const k of storage.keys()) if (IGNORED.storage.includes(k)) ignored.push(`storage.${k}`);
  if (drivers.length > 1) throw new ConfigError('storage', `exactly one storage driver must be configured, got ${drivers.join(', ')}`);
  const driver = drivers[0] ?? 'filesystem';
  const params: Record<string, unknown> = drivers[0] ? { ...storage.object(driver) } : { rootdirectory: DEFAULT_ROOT_DIRECTORY };
  // A relative root directory is relative to the working directory, whoever interprets it.
  if (driver === 'filesystem' && typeof params['rootdirectory'] === 'string') params['rootdirectory'] = path.resolve(cwd, params['rootdirectory']);
  const del = storage.section('delete');
  del.onlyKnown(['enabled']);
  const redirect = storage.section('redirect');
  redirect.onlyKnown(['disable']);
  const maintenance = storage.section('maintenance');
  maintenance.onlyKnown(['uploadpurging', 'readonly']);
  const purging = maintenance.section('uploadpurging');
  purging.onlyKnown(['enabled', 'age', 'interval', 'dryrun']);
  const readonly = maintenance.section('readonly');
  readonly.onlyKnown(['enabled']);

  const limits = root.section('limits');
  limits.onlyKnown(['manifestmaxbytes', 'headermaxbytes', 'maxpageentries']);
  const gc = root.section('garbagecollection');
  gc.onlyKnown(['enabled', 'schedule', 'dryrun', 'deleteuntagged', 'graceperiod', 'lease', 'settle', 'ratelimit']);
  const schedule = gc.string('schedule', DEFAULT_GC_SCHEDULE);
  try {
    parseCron(schedule);
  } catch (err) {
    if (err instanceof CronError) throw new ConfigError('garbagecollection.schedule', err.message);
    throw err;
  }

  const positive = (reader: ConfigReader, key: string, at: string, fallback: number, ms = true) => {
    const v = ms ? reader.duration(key, fallback) : reader.bytes(key, fallback);
    if (v <= 0) throw new ConfigError(`${at}.${key}`, 'must be greater than zero');
    return v;
  };

  const headersMs = positive(timeouts, 'headers', 'http.timeouts', 30_000);
  const requestMs = timeouts.duration('request', 0);
  // Node refuses a header deadline beyond the whole-request one.
  if (requestMs > 0 && headersMs > requestMs) throw new ConfigError('http.timeouts.headers', 'must not exceed http.timeouts.request');

  return {
    log: { level, accessLog: !accessLog.bool('disabled', false) },
    http: {
      addr: parseListenAddress('http.addr', http.string('addr', '127.0.0.1:5000')),
      debugAddr,
      timeouts: {
        headersMs,
        idleMs: positive(timeouts, 'idle', 'http.timeouts', 60_000),
        keepAliveMs: positive(timeouts, 'keepalive', 'http.timeouts', 5_000),
        requestMs,
      },
      drainTimeoutMs: http.duration('draintimeout', 20_000),
    },
    storage: {
      driver,
      params,
      deleteEnabled: del.bool('enabled', false),
      redirect: !redirect.bool('disable', false),
      readOnly: readonly.bool('enabled', false),
      uploadPurging: {
        enabled: purging.bool('enabled', true),
        ageMs: positive(purging, 'age', 'storage.maintenance.uploadpurging', 168 * 3_600_000),
        intervalMs: positive(purging, 'interval', 'storage.maintenance.uploadpurging', 24 * 3_600_000),
        dryRun: purging.bool('dryrun', false),
      },
    },
    limits: {
      manifestMaxBytes: positive(limits, 'manifestmaxbytes', 'limits', 4 << 20, false),
      headerMaxBytes: positive(limits, 'headermaxbytes', 'limits', 16 << 10, false),
      maxPageEntries: limits.int('maxpageentries', 1000, 1, 100_000),
    },
    garbageCollection: {
      enabled: gc.bool('enabled', driver !== 'inmemory'),
      schedule,
      dryRun: gc.bool('dryrun', false),
      deleteUntagged: gc.bool('deleteuntagged', false),
      gracePeriodMs: positive(gc, 'graceperiod', 'garbagecollection', 3_600_000),
      leaseMs: positive(gc, 'lease', 'garbagecollection', 60_000),
      settleMs: gc.duration('settle', 30_000),
      rateLimit: gc.int('ratelimit', DEFAULT_GC_RATE_LIMIT, 0, 1_000_000),
    },
    ignored,
  };
}
