// Whole-object round trips: empty, small, binary, and one large object streamed through a writer
// and a reader with bounded resident memory.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes, contentChunks, contentDigest, digestOf, MiB, streamDigest } from '../content.js';
import { expectRecentDate, expectStorageError, readAll, RssSampler } from '../probes.js';
import { createHash } from 'node:crypto';

export function roundTripTests(ctx: SuiteContext): void {
  describe('round trips', () => {
    it('stores and returns empty content through putContent, getContent, reader and stat', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/empty`;
        await d.putContent(p, new Uint8Array(0));
        const got = await d.getContent(p);
        expect(Buffer.isBuffer(got)).toBe(true);
        expect(got.length).toBe(0);
        expect((await readAll(await d.reader(p))).length).toBe(0);
        const info = await d.stat(p);
        expect(info).toMatchObject({ path: p, size: 0, isDir: false });
      }));

    it('stores an empty object through a writer', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/empty-writer`;
        const w = await d.writer(p, false);
        expect(w.size).toBe(0);
        await w.commit();
        expect((await d.getContent(p)).length).toBe(0);
        expect((await d.stat(p)).size).toBe(0);
      }));

    it('round-trips small binary content byte for byte (every byte value, odd sizes, Uint8Array input)', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const every = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
        const cases: Array<[string, Uint8Array]> = [
          ['one', Buffer.from([0])],
          ['every-byte', every],
          ['odd', contentBytes(11, 65_537)],
          ['plain-uint8array', new Uint8Array(contentBytes(12, 4099))],
        ];
        for (const [name, bytes] of cases) {
          const p = `${root}/small/${name}`;
          await d.putContent(p, bytes);
          expect((await d.getContent(p)).equals(Buffer.from(bytes))).toBe(true);
          expect((await readAll(await d.reader(p))).equals(Buffer.from(bytes))).toBe(true);
          const info = await d.stat(p);
          expect(info).toMatchObject({ path: p, size: bytes.byteLength, isDir: false });
          expectRecentDate(info.modTime);
        }
      }));

    it('replaces content on putContent to an existing path', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/replaced`;
        await d.putContent(p, contentBytes(1, 10_000));
        await d.putContent(p, contentBytes(2, 300));
        expect((await d.getContent(p)).equals(contentBytes(2, 300))).toBe(true);
        expect((await d.stat(p)).size).toBe(300);
      }));

    it('getContent honours maxBytes (equal passes, one byte over is TooLarge)', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/manifest`;
        const bytes = contentBytes(3, 1000);
        await d.putContent(p, bytes);
        expect((await d.getContent(p, { maxBytes: 1000 })).equals(bytes)).toBe(true);
        expect((await d.getContent(p, { maxBytes: 1 << 20 })).equals(bytes)).toBe(true);
        const e = await expectStorageError(d.getContent(p, { maxBytes: 999 }), 'TooLarge');
        expect(e.message).toContain(p);
        await d.putContent(`${root}/zero`, new Uint8Array(0));
        expect((await d.getContent(`${root}/zero`, { maxBytes: 0 })).length).toBe(0);
      }));

    it(
      'round-trips a large object streaming, with resident memory well below its size',
      () =>
        ctx.withRoot(async (root) => {
          const d = ctx.driver();
          const size = ctx.opts.largeSizeMiB * MiB + 333; // not a multiple of any part size
          const p = `${root}/large/blob`;
          // Writing into an in-memory driver legitimately keeps the content resident; reading never may.
          const readBudget = ctx.opts.rssBudgetMiB * MiB;
          const writeBudget = (ctx.opts.holdsContentInMemory ? size : 0) + readBudget;

          const writeRss = new RssSampler();
          const w = await d.writer(p, false);
          const h = createHash('sha256');
          for (const chunk of contentChunks(42, size)) {
            h.update(chunk);
            await w.write(chunk);
            writeRss.sample();
          }
          expect(w.size).toBe(size);
          await w.commit();
          const writeGrowth = writeRss.stop();
          const written = h.digest('hex');

          expect((await d.stat(p)).size).toBe(size);
          const readRss = new RssSampler();
          const got = await streamDigest(await d.reader(p), () => readRss.sample());
          const readGrowth = readRss.stop();
          expect(got).toEqual({ sha256: written, size });

          // A ranged read deep inside the object, crossing chunk and block boundaries.
          const offset = Math.floor(size / 2) + 7;
          const length = Math.min(3 * MiB + 5, size - offset);
          expect(await streamDigest(await d.reader(p, offset, { length }))).toEqual(contentDigest(42, size, offset, length));

          const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
          const report =
            `${mib(size)} object: write grew RSS by ${mib(writeGrowth)} (budget ${mib(writeBudget)}), ` +
            `read by ${mib(readGrowth)} (budget ${mib(readBudget)})`;
          expect({ ok: writeGrowth < writeBudget && readGrowth < readBudget, report }).toEqual({ ok: true, report });
        }),
      ctx.opts.largeTimeoutMs,
    );

    it('a committed writer replaces an existing object', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/over`;
        await d.putContent(p, contentBytes(5, 5000));
        const w = await d.writer(p, false);
        await w.write(contentBytes(6, 70));
        await w.commit();
        expect(digestOf(await d.getContent(p))).toEqual(contentDigest(6, 70));
      }));
  });
}
