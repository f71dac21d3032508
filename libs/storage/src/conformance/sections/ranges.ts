// Ranged reads at every boundary: start, middle, last byte, end (empty), past the end (InvalidOffset),
// with and without a length, including lengths that run past the end.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes, MiB } from '../content.js';
import { expectStorageError, readAll } from '../probes.js';

export function rangeTests(ctx: SuiteContext): void {
  describe('ranged reads', () => {
    it('reads every boundary of an object, and rejects offsets past the end with InvalidOffset', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const size = 2 * MiB + 12_345; // spans several read chunks
        const bytes = contentBytes(7, size);
        const p = `${root}/ranged`;
        await d.putContent(p, bytes);
        const mid = Math.floor(size / 2) + 3;
        const cases: Array<[offset: number, length: number | undefined]> = [
          [0, undefined],
          [0, 0],
          [0, 1],
          [0, size],
          [0, size + 100],
          [1, undefined],
          [mid, undefined],
          [mid, 1000],
          [mid, 1 * MiB + 1],
          [size - 1, undefined],
          [size - 1, 1],
          [size - 1, 100],
          [size, undefined],
          [size, 10],
        ];
        for (const [offset, length] of cases) {
          const got = await readAll(await d.reader(p, offset, length === undefined ? {} : { length }));
          const want = bytes.subarray(offset, length === undefined ? size : Math.min(size, offset + length));
          expect({ offset, length, size: got.length, equal: got.equals(want) }).toEqual({ offset, length, size: want.length, equal: true });
        }
        for (const [offset, length] of [
          [size + 1, undefined],
          [size + 1, 1],
          [size + MiB, undefined],
        ] as const) {
          const e = await expectStorageError(d.reader(p, offset, length === undefined ? {} : { length }), 'InvalidOffset');
          expect(e.message).toContain(String(offset));
        }
        await expectStorageError(d.reader(p, -1), 'InvalidOffset');
        await expectStorageError(d.reader(p, 1.5), 'InvalidOffset');
      }));

    it('reads an empty object only at offset 0', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/empty`;
        await d.putContent(p, new Uint8Array(0));
        expect((await readAll(await d.reader(p, 0))).length).toBe(0);
        expect((await readAll(await d.reader(p, 0, { length: 5 }))).length).toBe(0);
        await expectStorageError(d.reader(p, 1), 'InvalidOffset');
      }));

    it('reader defaults to offset 0 and rejects a missing path with PathNotFound before streaming', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/r`;
        await d.putContent(p, Buffer.from('hello, ranges'));
        expect((await readAll(await d.reader(p))).toString()).toBe('hello, ranges');
        expect((await readAll(await d.reader(p, 7, { length: 5 }))).toString()).toBe('range');
        await expectStorageError(d.reader(`${root}/missing`), 'PathNotFound');
        await expectStorageError(d.reader(`${root}/missing`, 10), 'PathNotFound');
      }));
  });
}
