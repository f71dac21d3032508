// redirectURL: a driver that gives URLs must give ones a plain HTTP client can download from (here
// only ever a local test server); a driver that cannot must say so with no method or null.
import { describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../context.js';
import { contentBytes } from '../content.js';

export function redirectTests(ctx: SuiteContext): void {
  describe('redirectURL', () => {
    if (ctx.opts.expectRedirect) {
      it('returns a URL on 127.0.0.1 that fetch downloads with the right bytes', () =>
        ctx.withRoot(async (root) => {
          const d = ctx.driver();
          const p = `${root}/blob`;
          const bytes = contentBytes(61, 123_457);
          await d.putContent(p, bytes);
          expect(typeof d.redirectURL).toBe('function');
          const url = await d.redirectURL?.(p, { expiresIn: 300 });
          expect(typeof url).toBe('string');
          const parsed = new URL(url as string);
          // The suite must never send test traffic anywhere but a local test server.
          expect(parsed.hostname).toBe('127.0.0.1');
          const res = await fetch(parsed);
          expect(res.status).toBe(200);
          expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
        }));
    } else {
      it('gives no redirect URL (no method, or null)', () =>
        ctx.withRoot(async (root) => {
          const d = ctx.driver();
          const p = `${root}/blob`;
          await d.putContent(p, Buffer.from('x'));
          expect(d.redirectURL === undefined || (await d.redirectURL(p)) === null).toBe(true);
        }));
    }
  });
}
