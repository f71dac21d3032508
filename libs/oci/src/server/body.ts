// The request body as handed to a backend: a pass-through stream that
//  - fails with a clean OciError when the client sends nothing for `idleMs` (slow-loris), while
//    never blaming the client for time the body spends waiting on a slow storage backend;
//  - fails (rather than ending normally) when the client disconnects before the declared
//    Content-Length arrived, so a truncated body is never mistaken for a complete one;
//  - never destroys the request itself, so an error response can still be written.
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError } from '../errors.js';
import type { HandlerContext } from './context.js';

/** Where the body's byte count is left for metrics and logs (wire counters miss small bodies). */
export const BODY_BYTES_LOCAL = 'ociBodyBytes';

/** The request body of a handler, counted into res.locals for metrics. */
export function requestBody(ctx: HandlerContext): RequestBody {
  ctx.res.locals[BODY_BYTES_LOCAL] = 0;
  return new RequestBody(ctx.req, ctx.options.bodyIdleTimeoutMs, (received) => (ctx.res.locals[BODY_BYTES_LOCAL] = received));
}

/** `idleMs`: longest silence from the client while we are ready to read (0 disables). */
export class RequestBody extends Transform {
  /** Bytes received from the client so far. */
  received = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly idleMs: number,
    private readonly onBytes?: (received: number) => void,
  ) {
    super({ highWaterMark: 1 << 16 });
    const onError = (err: Error) => this.destroy(clientGone(err));
    const onClose = () => {
      if (!req.complete) this.destroy(clientGone());
    };
    req.once('error', onError);
    req.once('close', onClose);
    // The consumer may not be reading yet (or ever: a request refused before its body is read);
    // the error stays stored on the stream and reaches whoever consumes it later.
    this.on('error', () => undefined);
    this.once('close', () => {
      this.clearTimer();
      req.off('error', onError);
      req.off('close', onClose);
      req.unpipe(this);
    });
    this.armTimer();
    req.pipe(this);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    this.onBytes?.(this.received);
    this.armTimer();
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.clearTimer();
    done();
  }

  private armTimer(): void {
    if (this.idleMs <= 0) return;
    this.clearTimer();
    this.timer = setTimeout(() => this.onIdle(), this.idleMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onIdle(): void {
    // Waiting on the consumer (storage) is not the client's fault: look again later.
    if (this.writableLength > 0 || this.readableLength >= this.readableHighWaterMark || this.req.isPaused()) {
      this.armTimer();
      return;
    }
    this.destroy(
      new OciError('BLOB_UPLOAD_INVALID', `request body stalled for more than ${this.idleMs} ms`, { received: this.received }, { status: 408 }),
    );
  }
}

function clientGone(cause?: Error): OciError {
  return new OciError('BLOB_UPLOAD_INVALID', 'request body ended before its declared length (client disconnected)', undefined, {
    status: 400,
    cause,
  });
}
