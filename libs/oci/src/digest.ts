// Digests ("algorithm:hex"), parsed and verified in one place. Only the algorithms registries
// agree on are accepted: sha256 (canonical) and sha512. Hashing is streaming: a Digester is
// fed chunk by chunk, and DigestingStream hashes bytes as they pass through a pipeline, so
// nothing is ever buffered whole.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** A validated digest string such as "sha256:e3b0c4…". */
export type Digest = `${DigestAlgorithm}:${string}`;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  digest: Digest;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// The image-spec grammar; anything it admits that we do not implement is "unsupported", not "invalid".
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export const CANONICAL_ALGORITHM: DigestAlgorithm = 'sha256';

/** Returns the parsed digest, or null when the string is not a digest this library can verify. */
export function tryParseDigest(value: string): ParsedDigest | null {
  if (typeof value !== 'string' || value.length > 7 + 1 + 128) return null;
  const i = value.indexOf(':');
  if (i < 0) return null;
  const algorithm = value.slice(0, i);
  const hex = value.slice(i + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return null;
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) return null;
  return { algorithm, hex, digest: value as Digest };
}

/** Parses a digest or throws DIGEST_INVALID (with the reason: malformed or unsupported algorithm). */
export function parseDigest(value: string): ParsedDigest {
  const parsed = tryParseDigest(value);
  if (parsed) return parsed;
  const reason =
    typeof value === 'string' && GRAMMAR.test(value) && !/^sha(256|512):/.test(value)
      ? 'unsupported digest algorithm (sha256 and sha512 are supported)'
      : 'invalid digest';
  throw new OciError('DIGEST_INVALID', reason, { digest: String(value).slice(0, 200) });
}

export function isDigest(value: string): value is Digest {
  return tryParseDigest(value) !== null;
}

/** Digest of bytes held in memory (manifests; never blobs). */
export function digestOf(content: Uint8Array, algorithm: DigestAlgorithm = CANONICAL_ALGORITHM): Digest {
  return `${algorithm}:${createHash(algorithm).update(content).digest('hex')}`;
}

/** Incremental hashing that can be snapshotted (copy) without ending the running hash. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private bytes = 0;

  constructor(algorithm: DigestAlgorithm = CANONICAL_ALGORITHM) {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  /** Bytes hashed so far. */
  get size(): number {
    return this.bytes;
  }

  /** The digest of everything hashed so far; the Digester stays usable. */
  digest(): Digest {
    return `${this.algorithm}:${this.hash.copy().digest('hex')}`;
  }
}

/**
 * A pass-through stream that hashes every byte it forwards. With `expected`, it fails with
 * DIGEST_INVALID at the end of the stream when the content does not match, so a pipeline that
 * ends in a temp-then-commit writer never commits wrong content.
 */
export class DigestingStream extends Transform {
  readonly digester: Digester;
  private readonly expected?: Digest;

  constructor(options: { algorithm?: DigestAlgorithm; expected?: Digest; digester?: Digester } = {}) {
    super();
    const algorithm = options.expected ? (tryParseDigest(options.expected)?.algorithm ?? CANONICAL_ALGORITHM) : options.algorithm;
    this.digester = options.digester ?? new Digester(algorithm);
    this.expected = options.expected;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.digester.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.expected && this.digester.digest() !== this.expected) {
      done(new OciError('DIGEST_INVALID', 'content does not match digest', { expected: this.expected, actual: this.digester.digest() }));
      return;
    }
    done();
  }
}
