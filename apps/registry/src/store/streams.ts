// Pass-through stages for upload pipelines.
import { OciError, type Digester } from '@kuik/oci';
import { Transform, type TransformCallback } from 'node:stream';

/** Fails with SIZE_INVALID as soon as more than `length` bytes pass, or at the end when fewer did. */
export class LengthGuard extends Transform {
  private seen = 0;
  constructor(private readonly length: number | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.length !== undefined && this.seen > this.length) {
      done(new OciError('SIZE_INVALID', `body longer than the declared ${this.length} bytes`));
      return;
    }
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.length !== undefined && this.seen !== this.length) {
      done(new OciError('SIZE_INVALID', `body of ${this.seen} bytes, ${this.length} declared`));
      return;
    }
    done();
  }
}

/**
 * Feeds a Digester with the bytes that passed. Placed after the writer sink would be ideal; it
 * sits before it, so a failed write leaves the digest ahead of storage: callers drop the
 * Digester on any failure and fall back to re-reading the stored bytes.
 */
export class DigestTap extends Transform {
  constructor(private readonly digester: Digester) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.digester.update(chunk);
    done(null, chunk);
  }
}
