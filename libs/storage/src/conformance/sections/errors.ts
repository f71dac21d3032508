// Failures are the typed errors callers switch on: PathNotFound for what is not there, InvalidPath
// for what could never be a key — for every operation, before any backend is asked.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { expectStorageError, walkPaths } from '../probes.js';
import type { PathNotFoundError } from '../../errors.js';

const INVALID = ['', 'relative/path', 'a', '/a//b', '//a', '/a/../b', '/..', '/a/./b', '/a/', '/a\0b', '/a b', '/a\\b', `/${'x'.repeat(1100)}`];

export function errorTests(ctx: SuiteContext): void {
  describe('typed errors', () => {
    it('every read of a missing path is PathNotFound, naming the path', () =>
      ctx.withRoot(async (root) => {
        const d = ctx.driver();
        const p = `${root}/no/such/file`;
        await d.putContent(`${root}/exists`, Buffer.from('x')); // the root itself exists
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['getContent', () => d.getContent(p)],
          ['reader', () => d.reader(p)],
          ['stat', () => d.stat(p)],
          ['list', () => d.list(p)],
          ['delete', () => d.delete(p)],
          ['move', () => d.move(p, `${root}/elsewhere`)],
          ['writer(append)', () => d.writer(p, true)],
        ];
        for (const [op, call] of calls) {
          const e = await expectStorageError(call, 'PathNotFound');
          expect({ op, driver: (e as PathNotFoundError).driver, path: (e as PathNotFoundError).path }).toEqual({ op, driver: d.name, path: p });
        }
        expect(await walkPaths(d, p)).toEqual([]);
      }));

    it('invalid paths are InvalidPath for every operation', async () => {
      const d = ctx.driver();
      const ok = '/conformance-valid/x';
      for (const bad of INVALID) {
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['getContent', () => d.getContent(bad)],
          ['putContent', () => d.putContent(bad, Buffer.from('x'))],
          ['reader', () => d.reader(bad)],
          ['writer', () => d.writer(bad, false)],
          ['stat', () => d.stat(bad)],
          ['list', () => d.list(bad)],
          ['move from', () => d.move(bad, ok)],
          ['move to', () => d.move(ok, bad)],
          ['delete', () => d.delete(bad)],
          ['walk', async () => walkPaths(d, bad)],
        ];
        const redirect = d.redirectURL?.bind(d);
        if (redirect) calls.push(['redirectURL', () => redirect(bad)]);
        for (const [op, call] of calls) {
          const e = await expectStorageError(call, 'InvalidPath').catch((err: Error) => {
            throw new Error(`${op}(${JSON.stringify(bad.slice(0, 40))}): ${err.message}`);
          });
          expect(e.name).toBe('StorageError(InvalidPath)');
        }
      }
      // The root is a directory, never a file.
      await expectStorageError(d.getContent('/'), 'InvalidPath');
      await expectStorageError(d.putContent('/', Buffer.from('x')), 'InvalidPath');
      await expectStorageError(d.delete('/'), 'InvalidPath');
    });
  });
}
