// The typed service the HTTP layer sits on. The registry implements it over storage; the proxy
// can implement the pull half over an upstream registry and plug it into the same router. Push
// and delete operations are optional: a backend without them gets UNSUPPORTED (405) answers.
// Implementations throw OciError for protocol outcomes (BLOB_UNKNOWN, RANGE_INVALID, …).
import type { Readable } from 'node:stream';
import type { Digest } from '../digest.js';
import type { Descriptor } from '../manifest.js';
import type { ManifestReference } from '../reference.js';

export interface CallContext {
  /** Aborted when the client goes away or the request times out. */
  signal: AbortSignal;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** An inclusive byte range, already checked against the blob's size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  content: Buffer;
}

export interface Page {
  /** At most this many entries; undefined = all. */
  n?: number;
  /** Entries strictly after this one, in lexical order. */
  last?: string;
}

export interface PageResult {
  items: string[];
  /** True when entries remain after the last one returned. */
  more: boolean;
}

export interface UploadState {
  /** Session id as it appears in the upload URL. */
  id: string;
  /** Bytes received so far. */
  size: number;
}

export interface AppendOptions extends CallContext {
  /** From Content-Range: the chunk must start here (else RANGE_INVALID, 416). */
  start?: number;
  /** Declared chunk length (Content-Length or from Content-Range); more or fewer bytes → SIZE_INVALID. */
  length?: number;
}

export interface PutManifestResult {
  digest: Digest;
  /** The subject's digest, answered in the OCI-Subject header. */
  subject?: Digest;
}

export interface ReferrersFilter {
  artifactType?: string;
}

export interface PushOperations {
  /** Creates an upload session. */
  startUpload(repo: string, ctx: CallContext): Promise<UploadState>;
  /** BLOB_UPLOAD_UNKNOWN when the session does not exist. */
  uploadStatus(repo: string, id: string, ctx: CallContext): Promise<UploadState>;
  /** Appends a chunk from the body stream; resolves with the new state. */
  appendUpload(repo: string, id: string, body: Readable, options: AppendOptions): Promise<UploadState>;
  /**
   * Appends an optional last chunk, verifies the content against `digest` and makes the blob
   * visible in the repository. DIGEST_INVALID on mismatch (the session is then discarded).
   */
  completeUpload(repo: string, id: string, digest: Digest, body: Readable | undefined, options: AppendOptions): Promise<BlobInfo>;
  cancelUpload(repo: string, id: string, ctx: CallContext): Promise<void>;
  /** Links an existing blob into repo; null when it cannot be mounted (the caller starts an upload instead). */
  mountBlob(repo: string, digest: Digest, from: string | undefined, ctx: CallContext): Promise<BlobInfo | null>;
  /** Validates and stores a manifest under a tag or digest reference. */
  putManifest(repo: string, reference: ManifestReference, content: Buffer, contentType: string | undefined, ctx: CallContext): Promise<PutManifestResult>;
}

export interface DeleteOperations {
  /** By digest: removes the manifest and the tags pointing at it; by tag: removes the tag only. */
  deleteManifest(repo: string, reference: ManifestReference, ctx: CallContext): Promise<void>;
  /** Unlinks the blob from the repository. */
  deleteBlob(repo: string, digest: Digest, ctx: CallContext): Promise<void>;
}

export interface RegistryBackend {
  /** BLOB_UNKNOWN when the repository does not hold the blob. */
  statBlob(repo: string, digest: Digest, ctx: CallContext): Promise<BlobInfo>;
  /** Streams the blob, or the given range of it. */
  getBlob(repo: string, digest: Digest, range: ByteRange | undefined, ctx: CallContext): Promise<Readable>;
  /** A URL the client may download the blob from directly (307), or null to stream it here. */
  blobRedirectURL?(repo: string, digest: Digest, method: 'GET' | 'HEAD', ctx: CallContext): Promise<string | null>;
  /** MANIFEST_UNKNOWN when absent. */
  getManifest(repo: string, reference: ManifestReference, ctx: CallContext): Promise<StoredManifest>;
  /** NAME_UNKNOWN when the repository does not exist. */
  listTags(repo: string, page: Page, ctx: CallContext): Promise<PageResult>;
  listRepositories?(page: Page, ctx: CallContext): Promise<PageResult>;
  listReferrers?(repo: string, subject: Digest, filter: ReferrersFilter, ctx: CallContext): Promise<Descriptor[]>;
  push?: PushOperations;
  delete?: DeleteOperations;
}
