import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRegistryConfig, parseRegistryConfig } from './config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kuik-registry-config-'));
const file = (text: string) => {
  const f = path.join(dir, `${Math.random()}.yml`);
  writeFileSync(f, text);
  return f;
};

describe('registry configuration', () => {
  it('has defaults for everything, storage included', () => {
    const c = parseRegistryConfig({}, '/srv');
    expect(c.http.addr).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(c.http.debugAddr).toEqual({ host: '127.0.0.1', port: 5001 });
    expect(c.storage).toEqual({
      driver: 'filesystem',
      params: { rootdirectory: '/srv/tmp/registry-data' },
      deleteEnabled: false,
      redirect: true,
      readOnly: false,
      uploadPurging: { enabled: true, ageMs: 168 * 3_600_000, intervalMs: 24 * 3_600_000, dryRun: false },
    });
    expect(c.limits).toEqual({ manifestMaxBytes: 4 << 20, headerMaxBytes: 16 << 10, maxPageEntries: 1000 });
    expect(c.http.timeouts).toEqual({ headersMs: 30_000, idleMs: 60_000, keepAliveMs: 5_000, requestMs: 0 });
  });

  it('reads a distribution-style file and lets REGISTRY_* variables override any key', () => {
    const f = file(`version: 0.1
log:
  level: warn
  formatter: json
http:
  addr: :5000
  secret: ignored
  debug:
    addr: 0.0.0.0:5001
    prometheus: { enabled: true }
storage:
  s3:
    bucket: images
    region: eu-west-1
  delete:
    enabled: true
  redirect:
    disable: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging: { enabled: true, age: 72h, interval: 1h, dryrun: false }
limits:
  manifestmaxbytes: 8MiB
`);
    const c = loadRegistryConfig(f, { REGISTRY_STORAGE_S3_BUCKET: 'other', REGISTRY_HTTP_TIMEOUTS_IDLE: '15s', REGISTRY_LOG_LEVEL: 'debug' });
    expect(c.log.level).toBe('debug');
    expect(c.http.addr).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(c.http.timeouts.idleMs).toBe(15_000);
    expect(c.storage.driver).toBe('s3');
    expect(c.storage.params).toEqual({ bucket: 'other', region: 'eu-west-1' });
    expect(c.storage.deleteEnabled).toBe(true);
    expect(c.storage.redirect).toBe(false);
    expect(c.storage.uploadPurging).toEqual({ enabled: true, ageMs: 72 * 3_600_000, intervalMs: 3_600_000, dryRun: false });
    expect(c.limits.manifestMaxBytes).toBe(8 << 20);
    expect(c.ignored.sort()).toEqual(['http.debug.prometheus', 'http.secret', 'log.formatter', 'storage.cache']);
  });

  it('selects a driver through the environment alone, and resolves a relative filesystem root', () => {
    const c = loadRegistryConfig(undefined, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: 'data', REGISTRY_HTTP_DEBUG_ADDR: '' }, '/var/lib');
    expect(c.storage).toMatchObject({ driver: 'filesystem', params: { rootdirectory: '/var/lib/data' } });
    expect(c.http.debugAddr).toBeNull();
  });

  const bad: [string, object, RegExp][] = [
    ['two drivers', { storage: { s3: {}, gcs: {} } }, /config storage: exactly one storage driver/],
    ['a bad address', { http: { addr: 'nowhere' } }, /config http.addr: must be host:port/],
    ['a bad duration', { http: { timeouts: { idle: 'soon' } } }, /config http.timeouts.idle: must be a duration/],
    ['a zero duration', { http: { timeouts: { headers: 0 } } }, /config http.timeouts.headers: must be greater than zero/],
    ['a bad size', { limits: { manifestmaxbytes: 'huge' } }, /config limits.manifestmaxbytes: must be a size/],
    ['a typo', { http: { adr: ':1' } }, /config http.adr: unknown key/],
    ['a bad level', { log: { level: 'loud' } }, /config log.level: must be one of/],
    ['a bad version', { version: '2' }, /config version: must be 0.1/],
    ['headers slower than requests', { http: { timeouts: { headers: '1m', request: '10s' } } }, /config http.timeouts.headers: must not exceed/],
    ['a bad boolean', { storage: { delete: { enabled: 'yes please' } } }, /config storage.delete.enabled: must be true or false/],
  ];
  it.each(bad)('stops on %s, naming the key', (_name, tree, message) => {
    expect(() => parseRegistryConfig(tree as Record<string, unknown>)).toThrow(message);
  });
});
