import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Digester, DigestingStream, digestOf, isDigest, parseDigest, tryParseDigest } from './digest.js';
import { isOciError } from './errors.js';

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('digests', () => {
  it('parses sha256 and sha512 and rejects everything else with DIGEST_INVALID', () => {
    expect(tryParseDigest(EMPTY_SHA256)).toEqual({ algorithm: 'sha256', hex: EMPTY_SHA256.slice(7), digest: EMPTY_SHA256 });
    const sha512 = `sha512:${'a'.repeat(128)}`;
    expect(parseDigest(sha512).algorithm).toBe('sha512');
    for (const bad of ['', 'sha256', 'sha256:', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha512:${'a'.repeat(64)}`, `sha256:${'a'.repeat(64)}/..`, '../../etc']) {
      expect(isDigest(bad)).toBe(false);
      expect(() => parseDigest(bad)).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    }
    try {
      parseDigest(`blake3:${'a'.repeat(64)}`);
    } catch (e) {
      expect(isOciError(e, 'DIGEST_INVALID') && e.message).toMatch(/unsupported digest algorithm/);
    }
  });

  it('hashes in memory and incrementally, with snapshots that do not end the hash', () => {
    expect(digestOf(Buffer.alloc(0))).toBe(EMPTY_SHA256);
    const d = new Digester();
    d.update(Buffer.from('hello '));
    const partial = d.digest();
    d.update(Buffer.from('world'));
    expect(partial).toBe(digestOf(Buffer.from('hello ')));
    expect(d.digest()).toBe(digestOf(Buffer.from('hello world')));
    expect(d.size).toBe(11);
    expect(digestOf(Buffer.from('x'), 'sha512')).toBe(`sha512:${createHash('sha512').update('x').digest('hex')}`);
  });

  it('verifies streams while they pass and fails at the end on mismatch', async () => {
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    const content = Buffer.alloc(300_000, 7);
    const good = new DigestingStream({ expected: digestOf(content) });
    await pipeline(Readable.from([content.subarray(0, 1000), content.subarray(1000)]), good, sink());
    expect(good.digester.size).toBe(content.length);
    const bad = new DigestingStream({ expected: EMPTY_SHA256 });
    await expect(pipeline(Readable.from([content]), bad, sink())).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });
});
