import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, ConfigReader, loadConfigTree, parseBytes, parseDuration, parseListenAddress } from './index.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'kuik-config-'));
const file = (name: string, text: string) => {
  const f = path.join(tmp, name);
  writeFileSync(f, text);
  return f;
};

describe('loadConfigTree', () => {
  it('layers defaults, the YAML file and the environment (distribution-style names)', () => {
    const f = file('a.yml', 'http:\n  addr: 127.0.0.1:6000\nstorage:\n  s3:\n    bucket: b1\n    region: eu\n');
    const tree = loadConfigTree({
      file: f,
      envPrefix: 'REGISTRY',
      defaults: { http: { addr: ':5000' }, gc: { delete_untagged: false } },
      env: { REGISTRY_STORAGE_S3_BUCKET: 'b2', REGISTRY_GC_DELETE_UNTAGGED: 'true', REGISTRY_LOG_LEVEL: 'debug', OTHER: 'x' },
    });
    expect(tree).toEqual({
      http: { addr: '127.0.0.1:6000' },
      storage: { s3: { bucket: 'b2', region: 'eu' } },
      gc: { delete_untagged: true },
      log: { level: 'debug' },
    });
  });

  it('names the file and line of bad YAML, and refuses non-mappings', () => {
    expect(() => loadConfigTree({ file: file('b.yml', 'a: [1,\n'), envPrefix: 'X' })).toThrow(/b\.yml is not valid YAML \(line \d+\)/);
    expect(() => loadConfigTree({ file: file('c.yml', '- 1\n'), envPrefix: 'X' })).toThrow(/mapping at the top level/);
    expect(() => loadConfigTree({ file: path.join(tmp, 'missing.yml'), envPrefix: 'X' })).toThrow(/cannot read/);
  });

  it('refuses an environment override that descends into a scalar', () => {
    expect(() => loadConfigTree({ envPrefix: 'R', defaults: { http: 'x' }, env: { R_HTTP_ADDR: ':1' } })).toThrow(ConfigError);
  });
});

describe('ConfigReader', () => {
  const r = new ConfigReader({ n: '12', b: 'true', d: '1h30m', s: '4MiB', l: 'a, b', o: { x: 1 }, bad: [1] }, 'root');
  it('reads typed values and names the key on error', () => {
    expect(r.int('n', 0)).toBe(12);
    expect(r.bool('b', false)).toBe(true);
    expect(r.duration('d', 0)).toBe(5_400_000);
    expect(r.bytes('s', 0)).toBe(4 << 20);
    expect(r.stringList('l')).toEqual(['a', 'b']);
    expect(r.section('o').int('x', 0)).toBe(1);
    expect(() => r.string('bad')).toThrow('config root.bad: must be a string, got a list');
    expect(() => r.int('b', 0)).toThrow('config root.b: must be an integer');
    expect(() => r.string('missing')).toThrow('config root.missing: required');
    expect(() => r.onlyKnown(['n'])).toThrow(/config root\.b: unknown key/);
    expect(() => r.oneOf('b', ['x', 'y'] as const, 'x')).toThrow(/must be one of x, y/);
  });
  it('parses durations, sizes and listen addresses', () => {
    expect(parseDuration('720h')).toBe(720 * 3_600_000);
    expect(parseDuration('10x')).toBeUndefined();
    expect(parseBytes('10M')).toBe(10e6);
    expect(parseBytes('ten')).toBeUndefined();
    expect(parseListenAddress('http.addr', ':5000')).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(parseListenAddress('http.addr', '[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListenAddress('http.addr', 'nope')).toThrow(/config http.addr: must be host:port/);
  });
});
