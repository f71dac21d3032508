// The few object-level calls the driver and its writers share: paged listing, small uploads,
// bounded-parallel deletes.
import type { Bucket, File, GetFilesOptions } from '@google-cloud/storage';
import { inParallel } from '../object-store/abort.js';
import type { ListedObject, ListingPage } from '../object-store/listing.js';
import { untilAborted } from './abort.js';
import { isNotFound } from './errors.js';

/** Objects per listing page (the JSON API's maximum is 1000). */
const PAGE_SIZE = 1000;
/** Deletes in flight at once (GCS has no batch delete in this SDK). */
export const DELETE_CONCURRENCY = 32;

export function entryOf(file: File): ListedObject {
  const m = file.metadata;
  const updated = m.updated ?? m.timeCreated;
  return { name: file.name, size: Number(m.size ?? 0), modTime: updated ? new Date(updated) : new Date(0) };
}

/** Listing pages under a prefix, in lexical order of names (pageToken pagination, never autoPaginate). */
export async function* listPages(
  bucket: Bucket,
  prefix: string,
  extra: { delimiter?: string; startOffset?: string; maxResults?: number },
  signal?: AbortSignal,
): AsyncGenerator<ListingPage> {
  let pageToken: string | undefined;
  do {
    signal?.throwIfAborted();
    const query: GetFilesOptions = { prefix, autoPaginate: false, maxResults: extra.maxResults ?? PAGE_SIZE, pageToken };
    if (extra.delimiter) query.delimiter = extra.delimiter;
    if (extra.startOffset) query.startOffset = extra.startOffset;
    const [files, next, raw] = await untilAborted(bucket.getFiles(query), signal);
    const prefixes = (raw as { prefixes?: unknown } | undefined)?.prefixes;
    yield { objects: files.map(entryOf), prefixes: Array.isArray(prefixes) ? prefixes.filter((p): p is string => typeof p === 'string') : [] };
    pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
  } while (pageToken);
}

/** Every object name under a prefix. */
export async function listNames(bucket: Bucket, prefix: string, signal?: AbortSignal): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const page of listPages(bucket, prefix, {}, signal)) out.push(...page.objects);
  return out;
}

/**
 * Uploads content held in memory in one request (a multipart upload: atomic, no resumable session).
 * Checked with MD5 (the SDK hashes with Node's native crypto and compares with the hash the server
 * computed) rather than the SDK's default CRC32C, computed in JavaScript: that one halves the
 * upload throughput.
 */
export async function putObject(bucket: Bucket, name: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  await untilAborted(bucket.file(name).save(data, { resumable: false, contentType: 'application/octet-stream', validation: 'md5' }), signal);
}

/** Deletes objects, ignoring those already gone. */
export async function deleteNames(bucket: Bucket, names: readonly string[], signal?: AbortSignal): Promise<void> {
  await inParallel(names, DELETE_CONCURRENCY, async (name) => {
    signal?.throwIfAborted();
    try {
      await untilAborted(bucket.file(name).delete(), signal);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
}

/** Deletes everything under a prefix. */
export async function deletePrefix(bucket: Bucket, prefix: string, signal?: AbortSignal): Promise<void> {
  for await (const page of listPages(bucket, prefix, {}, signal)) {
    await deleteNames(
      bucket,
      page.objects.map((o) => o.name),
      signal,
    );
  }
}
