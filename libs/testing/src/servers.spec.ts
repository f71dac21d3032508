import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnvFile, requireServer, serverValue, TestServerMissingError } from './servers.js';

describe('test server registry', () => {
  it('parses KEY=VALUE files, keeping "=" inside values', () => {
    expect(parseEnvFile('# c\nA=1\n\nB=x=y\n')).toEqual({ A: '1', B: 'x=y' });
    expect(() => parseEnvFile('novalue')).toThrow(/malformed line/);
  });

  it('reads a published server and names missing keys', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kuik-state-'));
    writeFileSync(path.join(dir, 'minio.env'), 'MINIO_ENDPOINT=http://127.0.0.1:9\n');
    const prev = process.env['KUIK_TEST_STATE_DIR'];
    process.env['KUIK_TEST_STATE_DIR'] = dir;
    try {
      expect(serverValue('minio', 'MINIO_ENDPOINT')).toBe('http://127.0.0.1:9');
      expect(() => serverValue('minio', 'MINIO_NOPE')).toThrow(/published no MINIO_NOPE/);
      expect(() => requireServer('azurite')).toThrow(TestServerMissingError);
      expect(() => requireServer('docker-registry-origin')).toThrow(/docker-registry.sh start origin/);
    } finally {
      if (prev === undefined) delete process.env['KUIK_TEST_STATE_DIR'];
      else process.env['KUIK_TEST_STATE_DIR'] = prev;
    }
  });
});
