import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Digest } from '@kuik/oci';
import { BlobDownload } from './blob-download.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kuik-dl-test-'));
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
const collect = async (r: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
};

/** An origin whose bytes the test releases one by one. */
function controlledOrigin(size: number) {
  const body = new PassThrough();
  let opened = 0;
  return { body, opened: () => opened, open: async () => (opened++, { body, size }) };
}

describe('BlobDownload', () => {
  it('lets readers follow the file as it grows, each at its own offset, and leaves no file behind', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const origin = controlledOrigin(data.length);
    const dl = new BlobDownload(digestOf(data), dir, origin.open);
    const hold = dl.acquire();
    dl.start();
    await dl.ready;
    const whole = collect(dl.createReader());
    const tail = collect(dl.createReader(15));
    const middle = collect(dl.createReader(5, 10));
    hold();
    origin.body.write(data.subarray(0, 7));
    await new Promise((r) => setTimeout(r, 20));
    origin.body.end(data.subarray(7));
    expect((await whole).toString()).toBe('0123456789abcdefghij');
    expect((await tail).toString()).toBe('fghij');
    expect((await middle).toString()).toBe('56789');
    await dl.completed;
    expect(origin.opened()).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('hands chunks over live to readers that keep pace, and lets a slow one fall back to the file', async () => {
    const data = Buffer.alloc(8 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const origin = controlledOrigin(data.length);
    const dl = new BlobDownload(digestOf(data), dir, origin.open);
    const fast = collect(dl.createReader());
    const slowReader = dl.createReader();
    slowReader.pause();
    dl.start();
    await dl.ready;
    for (let i = 0; i < data.length; i += 64 << 10) {
      origin.body.write(data.subarray(i, i + (64 << 10)));
      await new Promise((r) => setImmediate(r));
    }
    origin.body.end();
    await new Promise((r) => setTimeout(r, 20));
    const slow = collect(slowReader);
    expect((await fast).equals(data)).toBe(true);
    expect((await slow).equals(data)).toBe(true);
  });

  it('serves readers a little behind from memory and readers further behind from the file, byte for byte', async () => {
    // 24 MiB in 64 KiB chunks: beyond the in-memory window, so both paths are taken.
    const data = Buffer.alloc(24 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i ^ 0x5a5a5a5a, i);
    const origin = controlledOrigin(data.length);
    const dl = new BlobDownload(digestOf(data), dir, origin.open);
    const hold = dl.acquire();
    dl.start();
    await dl.ready;
    const readers: Promise<Buffer>[] = [];
    for (let i = 0; i < data.length; i += 64 << 10) {
      origin.body.write(data.subarray(i, i + (64 << 10)));
      // Readers joining at 1 MiB (in the window) and at 20 MiB (its start has left the window).
      if (i === 1 << 20 || i === 20 << 20) readers.push(collect(dl.createReader()), collect(dl.createReader(1000, 3 << 20)));
      await new Promise((r) => setImmediate(r));
    }
    origin.body.end();
    hold();
    const [a, aRange, b, bRange] = await Promise.all(readers);
    expect(a!.equals(data)).toBe(true);
    expect(b!.equals(data)).toBe(true);
    expect(aRange!.equals(data.subarray(1000, 3 << 20))).toBe(true);
    expect(bRange!.equals(data.subarray(1000, 3 << 20))).toBe(true);
    await dl.completed;
  });

  it('fails every reader when the content does not match its digest', async () => {
    const origin = controlledOrigin(3);
    const dl = new BlobDownload(digestOf(Buffer.from('abc')), dir, origin.open);
    const reader = dl.createReader();
    dl.start();
    origin.body.end(Buffer.from('abd'));
    await expect(collect(reader)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    await expect(dl.completed).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('aborts the origin read when the last reader leaves before the end', async () => {
    const origin = controlledOrigin(1000);
    const dl = new BlobDownload(digestOf(Buffer.alloc(1000)), dir, origin.open);
    const reader = dl.createReader();
    dl.start();
    await dl.ready;
    origin.body.write(Buffer.alloc(10));
    reader.destroy();
    await expect(dl.completed).rejects.toThrow(/no reader is left/);
  });
});
