// The one wrapper around every driver: validates paths, maps SDK errors onto the common set,
// times each call and reports it to optional metrics hooks. Drivers do none of this themselves.
import { Readable } from 'node:stream';
import { ContentTooLargeError, InvalidOffsetError, InvalidPathError, StorageError, TransientError } from './errors.js';
import { pathProblem } from './paths.js';
import type {
  CallOptions,
  FileInfo,
  FileWriter,
  GetContentOptions,
  ReadOptions,
  RedirectOptions,
  StorageDriver,
  WalkOptions,
} from './types.js';

export type Operation =
  | 'getContent'
  | 'putContent'
  | 'reader'
  | 'writer'
  | 'write'
  | 'commit'
  | 'cancel'
  | 'close'
  | 'stat'
  | 'list'
  | 'move'
  | 'delete'
  | 'redirectURL'
  | 'walk'
  | 'healthCheck';

export interface DriverHooks {
  /** Maps a raw SDK/system error to a StorageError, or returns undefined to wrap it as Unknown. */
  mapError(err: unknown, path: string | undefined): StorageError | undefined;
}

export interface StorageMetrics {
  /** Called once per driver call with its duration and outcome ('ok' or the error code). */
  observe(driver: string, operation: Operation, seconds: number, outcome: string): void;
  /** Bytes moved through readers and writers. */
  bytes?(driver: string, direction: 'read' | 'write', n: number): void;
}

export interface InstrumentOptions {
  metrics?: StorageMetrics;
}

export function instrument(raw: StorageDriver, hooks: DriverHooks, options: InstrumentOptions = {}): StorageDriver {
  const name = raw.name;
  const metrics = options.metrics;

  const toStorageError = (err: unknown, path?: string): unknown => {
    if (err instanceof StorageError) return err;
    if (isAbort(err)) return err;
    const mapped = hooks.mapError(err, path);
    if (mapped) return mapped;
    const msg = err instanceof Error ? err.message : String(err);
    return new StorageError('Unknown', name, `${name}: ${msg}`, { path, cause: err });
  };

  // A signal that is already aborted fails the call before the driver sees it, so drivers only
  // have to handle aborts that happen while they work. Writer calls pass no options here: an abort
  // there must reach the driver, which ends the whole session (see FileWriter).
  async function call<T>(op: Operation, path: string | undefined, o: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      o?.signal?.throwIfAborted();
      const out = await fn();
      metrics?.observe(name, op, seconds(start), 'ok');
      return out;
    } catch (err) {
      const e = toStorageError(err, path);
      metrics?.observe(name, op, seconds(start), e instanceof StorageError ? e.code : 'aborted');
      throw e;
    }
  }

  const check = (path: string, allowRoot = false): void => {
    const problem = pathProblem(path, allowRoot);
    if (problem) throw new InvalidPathError(name, String(path), problem);
  };

  const wrapped: StorageDriver = {
    name,
    getContent(path: string, o?: GetContentOptions) {
      return call('getContent', path, o, async () => {
        check(path);
        const max = o?.maxBytes;
        if (max !== undefined && (!Number.isSafeInteger(max) || max < 0)) {
          throw new StorageError('InvalidOffset', name, `${name}: invalid maxBytes ${max}`, { path });
        }
        const content = await raw.getContent(path, o);
        // Safety net: drivers should refuse before downloading, but never hand out more than asked.
        if (max !== undefined && content.length > max) throw new ContentTooLargeError(name, path, max);
        return content;
      });
    },
    putContent(path: string, content: Uint8Array, o?: CallOptions) {
      return call('putContent', path, o, async () => (check(path), raw.putContent(path, content, o)));
    },
    reader(path: string, offset = 0, o?: ReadOptions) {
      return call('reader', path, o, async () => {
        check(path);
        if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(name, path, offset);
        const length = o?.length;
        if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
          throw new StorageError('InvalidOffset', name, `${name}: invalid length ${length} for ${path}`, { path });
        }
        const stream = await raw.reader(path, offset, o);
        return countAndMap(stream, path);
      });
    },
    writer(path: string, append: boolean, o?: CallOptions) {
      return call('writer', path, o, async () => {
        check(path);
        const w = await raw.writer(path, append, o);
        return wrapWriter(w, path);
      });
    },
    stat(path: string, o?: CallOptions) {
      return call('stat', path, o, async () => (check(path, true), raw.stat(path, o)));
    },
    list(path: string, o?: CallOptions) {
      return call('list', path, o, async () => (check(path, true), raw.list(path, o)));
    },
    move(src: string, dest: string, o?: CallOptions) {
      return call('move', src, o, async () => {
        check(src);
        check(dest);
        return raw.move(src, dest, o);
      });
    },
    delete(path: string, o?: CallOptions) {
      return call('delete', path, o, async () => (check(path), raw.delete(path, o)));
    },
    walk(path: string, o?: WalkOptions): AsyncIterable<FileInfo> {
      check(path, true);
      return {
        [Symbol.asyncIterator]: async function* () {
          const start = process.hrtime.bigint();
          try {
            o?.signal?.throwIfAborted();
            yield* raw.walk(path, o);
            metrics?.observe(name, 'walk', seconds(start), 'ok');
          } catch (err) {
            const e = toStorageError(err, path);
            metrics?.observe(name, 'walk', seconds(start), e instanceof StorageError ? e.code : 'aborted');
            throw e;
          }
        },
      };
    },
  };
  if (raw.redirectURL) {
    const redirect = raw.redirectURL.bind(raw);
    wrapped.redirectURL = (path: string, o?: RedirectOptions) =>
      call('redirectURL', path, o, async () => (check(path), redirect(path, o)));
  }
  if (raw.healthCheck) {
    const health = raw.healthCheck.bind(raw);
    wrapped.healthCheck = (o?: CallOptions) => call('healthCheck', undefined, o, () => health(o));
  }
  if (raw.close) wrapped.close = raw.close.bind(raw);
  return wrapped;

  function wrapWriter(w: FileWriter, path: string): FileWriter {
    return {
      get size() {
        return w.size;
      },
      write: (chunk, o) =>
        call('write', path, undefined, async () => {
          await w.write(chunk, o);
          metrics?.bytes?.(name, 'write', chunk.byteLength);
        }),
      close: (o) => call('close', path, undefined, () => w.close(o)),
      commit: (o) => call('commit', path, undefined, () => w.commit(o)),
      cancel: (o) => call('cancel', path, undefined, () => w.cancel(o)),
    };
  }

  // Errors raised while the stream flows are mapped too, and bytes are counted as the consumer
  // pulls them (a 'data' listener would switch the source to flowing mode and lose chunks emitted
  // before the consumer starts reading).
  function countAndMap(stream: Readable, path: string): Readable {
    // Until the consumer reads, nobody listens: an early error must not crash the process.
    stream.on('error', () => undefined);
    const count = metrics?.bytes ? (n: number) => metrics.bytes?.(name, 'read', n) : undefined;
    // Readable.from over an async iterator keeps backpressure and lets us translate errors.
    const iter = async function* () {
      try {
        for await (const chunk of stream) {
          count?.((chunk as Buffer).length);
          yield chunk as Buffer;
        }
      } catch (err) {
        const e = toStorageError(err, path);
        throw e instanceof StorageError && e.code === 'Unknown' ? new TransientError(name, e.message, { path, cause: err }) : e;
      }
    };
    const out = Readable.from(iter(), { objectMode: false, highWaterMark: 1 << 16 });
    out.on('close', () => {
      if (!stream.destroyed) stream.destroy();
    });
    return out;
  }
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Duck-typed: an AbortSignal's DOMException may come from another realm (vm contexts, Jest),
// where `instanceof Error` is false.
function isAbort(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'AbortError' || e.code === 'ABORT_ERR';
}
