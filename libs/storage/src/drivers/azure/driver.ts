// The azure driver: Azure Blob Storage (and Azurite for tests) through @azure/storage-blob, with
// block blobs. Paths map to blob names under rootdirectory (keys.ts); writers stage blocks and
// commit them (writer.ts); moves are server-side copies then deletes. Errors are left to the base
// wrapper (errors.ts) unless their meaning depends on the call.
import { BlobSASPermissions, type BlobClient, type ContainerClient } from '@azure/storage-blob';
import { addAbortSignal, Readable } from 'node:stream';
import { ContentTooLargeError, PathNotFoundError } from '../../errors.js';
import type {
  CallOptions,
  FileInfo,
  FileWriter,
  GetContentOptions,
  ReadOptions,
  RedirectOptions,
  StorageDriver,
  WalkOptions,
} from '../../types.js';
import { inParallel } from '../object-store/abort.js';
import { listChildren, walkFiles, type ListingPage } from '../object-store/listing.js';
import { readRange } from '../object-store/range.js';
import { AZURE, type AzureConfig } from './config.js';
import { isInvalidRange, isNotFound } from './errors.js';
import { KeyLayout } from './keys.js';
import { openWriter, type AzureContext } from './writer.js';

/** Default lifetime of redirect URLs, as distribution (20 minutes). */
const DEFAULT_EXPIRY_SECONDS = 1200;
/** Blobs per listing page (the service's maximum is 5000). */
const PAGE_SIZE = 5000;
const DELETE_CONCURRENCY = 32;
/** Re-requests of a download interrupted mid-stream (the SDK resumes where it broke, same ETag). */
const DOWNLOAD_RETRIES = 5;

export class AzureDriver implements StorageDriver {
  readonly name = AZURE;
  private readonly layout: KeyLayout;
  private readonly ctx: AzureContext;

  constructor(
    cfg: AzureConfig,
    private readonly container: ContainerClient,
  ) {
    this.layout = new KeyLayout(cfg.rootPrefix);
    this.ctx = { cfg, container, layout: this.layout };
  }

  async getContent(path: string, o?: GetContentOptions): Promise<Buffer> {
    const res = await this.blob(path).download(0, undefined, { abortSignal: o?.signal, maxRetryRequests: DOWNLOAD_RETRIES });
    const body = res.readableStreamBody as Readable | undefined;
    if (o?.maxBytes !== undefined && (res.contentLength ?? 0) > o.maxBytes) {
      body?.destroy();
      throw new ContentTooLargeError(AZURE, path, o.maxBytes);
    }
    if (!body) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const c of o?.signal ? addAbortSignal(o.signal, body) : body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async putContent(path: string, content: Uint8Array, o?: CallOptions): Promise<void> {
    // One Put Blob: atomic, and it ends any uncommitted blocks of the blob.
    await this.container.getBlockBlobClient(this.layout.key(path)).upload(content, content.byteLength, {
      abortSignal: o?.signal,
      blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
    });
  }

  reader(path: string, offset = 0, o?: ReadOptions): Promise<Readable> {
    const signal = o?.signal;
    const length = o?.length;
    const blob = this.blob(path);
    return readRange(AZURE, path, offset, length, {
      open: async () => {
        // offset 0 without a length sends no Range ("bytes=0-" is 416 on an empty blob).
        const res = await blob.download(offset, length, { abortSignal: signal, maxRetryRequests: DOWNLOAD_RETRIES });
        const body = res.readableStreamBody as Readable | undefined;
        if (!body) return Readable.from([]);
        return signal ? addAbortSignal(signal, body) : body;
      },
      size: () => this.blobSize(blob, signal),
      isInvalidRange,
    });
  }

  writer(path: string, append: boolean, o?: CallOptions): Promise<FileWriter> {
    return openWriter(this.ctx, path, append, o?.signal);
  }

  async stat(path: string, o?: CallOptions): Promise<FileInfo> {
    if (path === '/') return { path, size: 0, modTime: new Date(), isDir: true };
    try {
      const props = await this.blob(path).getProperties({ abortSignal: o?.signal });
      return { path, size: props.contentLength ?? 0, modTime: props.lastModified ?? new Date(), isDir: false };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Directories exist only through what they contain.
    for await (const page of this.pages(this.layout.dirPrefix(path), {}, o?.signal, 1)) {
      const first = page.objects[0];
      if (first) return { path, size: 0, modTime: first.modTime, isDir: true };
      break;
    }
    throw new PathNotFoundError(AZURE, path);
  }

  list(path: string, o?: CallOptions): Promise<string[]> {
    return listChildren(AZURE, this.layout, path, this.pages(this.layout.dirPrefix(path), { delimiter: '/' }, o?.signal));
  }

  async move(sourcePath: string, destPath: string, o?: CallOptions): Promise<void> {
    const signal = o?.signal;
    const src = this.blob(sourcePath);
    if (sourcePath === destPath) {
      await this.blobSize(src, signal); // PathNotFound when missing
      return;
    }
    // Copy Blob within one account: authorised by the same shared key, done server-side (for block
    // blobs within an account the service completes it without transferring data through us).
    const poller = await this.blob(destPath).beginCopyFromURL(src.url, { abortSignal: signal, intervalInMs: 200 });
    await poller.pollUntilDone();
    await src.deleteIfExists({ abortSignal: signal, deleteSnapshots: 'include' });
  }

  async delete(path: string, o?: CallOptions): Promise<void> {
    const signal = o?.signal;
    let found = 0;
    const exact = (async () => {
      const res = await this.blob(path).deleteIfExists({ abortSignal: signal, deleteSnapshots: 'include' });
      if (res.succeeded) found++;
    })();
    // Everything under the directory, whatever it is (including blobs that are not valid paths).
    const under = (async () => {
      for await (const page of this.pages(this.layout.dirPrefix(path), {}, signal)) {
        found += page.objects.length;
        await this.deleteNames(
          page.objects.map((b) => b.name),
          signal,
        );
      }
    })();
    // The state of in-progress writes at and under the path go with it (they do not count as found).
    const uploads = (async () => {
      for await (const page of this.pages(this.layout.uploadTreePrefix(path), {}, signal)) {
        await this.deleteNames(
          page.objects.map((b) => b.name),
          signal,
        );
      }
    })();
    await Promise.all([exact, under, uploads]);
    if (found === 0) throw new PathNotFoundError(AZURE, path);
  }

  /** A read-only service SAS for the blob, signed with the account key (GET and HEAD alike). */
  async redirectURL(path: string, o?: RedirectOptions): Promise<string | null> {
    const seconds = o?.expiresIn ?? DEFAULT_EXPIRY_SECONDS;
    return this.blob(path).generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      // A little slack for clocks behind ours.
      startsOn: new Date(Date.now() - 5 * 60_000),
      expiresOn: new Date(Date.now() + seconds * 1000),
    });
  }

  walk(path: string, o?: WalkOptions): AsyncIterable<FileInfo> {
    return walkFiles(this.layout, path, o?.startAfter, (prefix, startFrom) => this.pages(prefix, startFrom ? { startFrom } : {}, o?.signal));
  }

  async healthCheck(o?: CallOptions): Promise<void> {
    // ContainerNotFound and refused credentials map to clear messages (errors.ts).
    await this.container.getProperties({ abortSignal: o?.signal });
  }

  async close(): Promise<void> {
    // The SDK's pipeline keeps no per-instance resources to release (shared keep-alive agent).
  }

  private blob(path: string): BlobClient {
    return this.container.getBlobClient(this.layout.key(path));
  }

  private async blobSize(blob: BlobClient, signal?: AbortSignal): Promise<number> {
    return (await blob.getProperties({ abortSignal: signal })).contentLength ?? 0;
  }

  private async deleteNames(names: string[], signal?: AbortSignal): Promise<void> {
    await inParallel(names, DELETE_CONCURRENCY, async (name) => {
      await this.container.getBlobClient(name).deleteIfExists({ abortSignal: signal, deleteSnapshots: 'include' });
    });
  }

  /** Listing pages under a prefix, in lexical order of names (continuation tokens). */
  private async *pages(
    prefix: string,
    extra: { delimiter?: string; startFrom?: string },
    signal?: AbortSignal,
    maxPageSize = PAGE_SIZE,
  ): AsyncGenerator<ListingPage> {
    const options = { prefix, abortSignal: signal, ...(extra.startFrom ? { startFrom: extra.startFrom } : {}) };
    if (extra.delimiter) {
      for await (const page of this.container.listBlobsByHierarchy(extra.delimiter, options).byPage({ maxPageSize })) {
        signal?.throwIfAborted();
        yield {
          objects: page.segment.blobItems.map((b) => ({ name: b.name, size: b.properties.contentLength ?? 0, modTime: b.properties.lastModified })),
          prefixes: (page.segment.blobPrefixes ?? []).map((p) => p.name),
        };
      }
      return;
    }
    for await (const page of this.container.listBlobsFlat(options).byPage({ maxPageSize })) {
      signal?.throwIfAborted();
      yield {
        objects: page.segment.blobItems.map((b) => ({ name: b.name, size: b.properties.contentLength ?? 0, modTime: b.properties.lastModified })),
        prefixes: [],
      };
    }
  }
}
