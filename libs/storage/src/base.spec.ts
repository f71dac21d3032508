import { describe, expect, it, jest } from '@jest/globals';
import { Readable } from 'node:stream';
import { instrument, type DriverHooks, type Operation, type StorageMetrics } from './base.js';
import { isStorageError, StorageError, TransientError } from './errors.js';
import { InMemoryDriver } from './drivers/inmemory/index.js';
import { MemoryStore } from './drivers/inmemory/store.js';
import { expectAborted, expectStorageError, readAll } from './conformance/probes.js';
import type { StorageDriver } from './types.js';

/** An SDK-style error the hooks below know how to translate. */
class FakeSdkError extends Error {
  constructor(readonly status: number) {
    super(`sdk failure ${status}`);
  }
}

const hooks: DriverHooks = {
  mapError(err, path) {
    if (err instanceof FakeSdkError && err.status === 503) return new TransientError('inmemory', 'throttled', { path, cause: err });
    return undefined;
  },
};

function recorder() {
  const calls: Array<[Operation, string]> = [];
  const bytes = { read: 0, write: 0 };
  const metrics: StorageMetrics = {
    observe: (_driver, op, seconds, outcome) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      calls.push([op, outcome]);
    },
    bytes: (_driver, direction, n) => {
      bytes[direction] += n;
    },
  };
  return { calls, bytes, metrics };
}

/** The real in-memory driver as the raw driver, with some calls replaced to inject failures. */
function rawDriver(overrides: Partial<StorageDriver> = {}): StorageDriver {
  const real = new InMemoryDriver(new MemoryStore());
  return Object.assign(Object.create(real) as StorageDriver, overrides);
}

describe('instrument', () => {
  it('reports every call to the metrics hooks with its outcome', async () => {
    const r = recorder();
    const d = instrument(rawDriver(), hooks, { metrics: r.metrics });
    await d.putContent('/a', Buffer.from('abc'));
    await d.getContent('/a');
    await expectStorageError(d.stat('/missing'), 'PathNotFound');
    await expectStorageError(d.getContent('bad'), 'InvalidPath');
    await expectAborted(d.list('/', { signal: AbortSignal.abort() }));
    const w = await d.writer('/w', false);
    await w.write(Buffer.from('12345'));
    await w.commit();
    await readAll(await d.reader('/w'));
    for await (const _ of d.walk('/'));
    expect(r.calls).toEqual([
      ['putContent', 'ok'],
      ['getContent', 'ok'],
      ['stat', 'PathNotFound'],
      ['getContent', 'InvalidPath'],
      ['list', 'aborted'],
      ['writer', 'ok'],
      ['write', 'ok'],
      ['commit', 'ok'],
      ['reader', 'ok'],
      ['walk', 'ok'],
    ]);
    expect(r.bytes).toEqual({ read: 5, write: 5 });
  });

  it('validates paths before the driver sees them', async () => {
    const getContent = jest.fn(async () => Buffer.alloc(0));
    const d = instrument(rawDriver({ getContent }), hooks);
    for (const bad of ['', 'x', '/a/../b', '/a//b', '/a\0']) await expectStorageError(d.getContent(bad), 'InvalidPath');
    await expectStorageError(() => d.move('/ok', '/not ok'), 'InvalidPath');
    expect(getContent).not.toHaveBeenCalled();
  });

  it('fails calls with an already aborted signal without calling the driver', async () => {
    const stat = jest.fn(async () => ({ path: '/', size: 0, modTime: new Date(), isDir: true }));
    const d = instrument(rawDriver({ stat }), hooks);
    await expectAborted(d.stat('/x', { signal: AbortSignal.abort() }));
    expect(stat).not.toHaveBeenCalled();
  });

  it('maps SDK errors through the driver hooks, and wraps unknown ones as Unknown with the cause', async () => {
    const boom = new FakeSdkError(500);
    let next: Error = new FakeSdkError(503);
    const d = instrument(rawDriver({ stat: async () => Promise.reject(next) }), hooks);
    const transient = await expectStorageError(d.stat('/x'), 'Transient');
    expect(transient).toMatchObject({ driver: 'inmemory', path: '/x' });
    next = boom;
    const unknown = await expectStorageError(d.stat('/x'), 'Unknown');
    expect(unknown.message).toBe('inmemory: sdk failure 500');
    expect(unknown.cause).toBe(boom);
  });

  it('maps errors raised while a reader streams, as Transient when unknown', async () => {
    const failing = (err: Error) =>
      rawDriver({
        reader: async () =>
          Readable.from(
            (async function* () {
              yield Buffer.from('partial');
              throw err;
            })(),
          ),
      });
    const mapped = instrument(failing(new FakeSdkError(503)), hooks);
    await expectStorageError(readAll(await mapped.reader('/x')), 'Transient');
    const unknown = instrument(failing(new Error('socket hang up')), hooks);
    const e = await expectStorageError(readAll(await unknown.reader('/x')), 'Transient');
    expect(e.message).toContain('socket hang up');
    const typed = instrument(failing(new StorageError('PathNotFound', 'inmemory', 'gone')), hooks);
    await expectStorageError(readAll(await typed.reader('/x')), 'PathNotFound');
  });

  it('counts read bytes without losing any when the consumer starts late', async () => {
    const r = recorder();
    const d = instrument(rawDriver(), hooks, { metrics: r.metrics });
    const content = Buffer.alloc(1 << 20, 7);
    await d.putContent('/big', content);
    const stream = await d.reader('/big');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await readAll(stream)).equals(content)).toBe(true);
    expect(r.bytes.read).toBe(content.length);
  });

  it('destroys the driver’s stream when the consumer destroys the wrapped one', async () => {
    const source = new Readable({
      read() {
        // data is pushed by the test
      },
    });
    source.push(Buffer.from('x'));
    const d = instrument(rawDriver({ reader: async () => source }), hooks);
    const out = await d.reader('/x');
    out.destroy();
    await new Promise((resolve) => out.once('close', resolve));
    expect(source.destroyed).toBe(true);
  });

  it('checks reader offsets and lengths, and getContent maxBytes even if the driver ignores it', async () => {
    const d = instrument(rawDriver({ getContent: async () => Buffer.alloc(10) }), hooks);
    await expectStorageError(d.reader('/x', -1), 'InvalidOffset');
    await expectStorageError(d.reader('/x', 0, { length: -5 }), 'InvalidOffset');
    await expectStorageError(d.getContent('/x', { maxBytes: 9 }), 'TooLarge');
    await expectStorageError(d.getContent('/x', { maxBytes: -1 }), 'InvalidOffset');
    expect((await d.getContent('/x', { maxBytes: 10 })).length).toBe(10);
  });

  it('passes optional methods through only when the driver has them', async () => {
    const plain = instrument(rawDriver(), hooks);
    expect(plain.redirectURL).toBeUndefined();
    expect(plain.healthCheck).toBeUndefined();
    const redirectURL = jest.fn(async (p: string) => `http://127.0.0.1/${p}`);
    const healthCheck = jest.fn(async () => undefined);
    const close = jest.fn(async () => undefined);
    const rich = instrument(rawDriver({ redirectURL, healthCheck, close }), hooks);
    expect(await rich.redirectURL?.('/a/b')).toBe('http://127.0.0.1//a/b');
    await rich.healthCheck?.();
    await rich.close?.();
    expect([redirectURL.mock.calls.length, healthCheck.mock.calls.length, close.mock.calls.length]).toEqual([1, 1, 1]);
    await expectStorageError(rich.redirectURL?.('nope') ?? Promise.resolve(), 'InvalidPath');
  });

  it('leaves abort errors untouched', async () => {
    const d = instrument(rawDriver({ stat: async () => Promise.reject(new DOMException('stop', 'AbortError')) }), hooks);
    const e = await d.stat('/x').catch((err: unknown) => err);
    expect(isStorageError(e)).toBe(false);
    expect((e as Error).name).toBe('AbortError');
  });
});
