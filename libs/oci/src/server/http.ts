// Small HTTP helpers shared by the resource handlers: Range and Content-Range parsing, pagination
// (n/last and the Link header), Accept negotiation and bounded body reading.
import type { IncomingMessage } from 'node:http';
import { OciError } from '../errors.js';
import { baseMediaType } from '../media-types.js';
import type { ByteRange, Page } from './backend.js';

/**
 * Parses a Range request header against a size. Returns undefined to serve the whole content (no
 * header, or several ranges, which RFC 9110 lets a server ignore); throws RANGE_INVALID (416)
 * when the header is malformed or no byte of it lies within the content, as Go's ServeContent does.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const unsatisfiable = () =>
    new OciError('RANGE_INVALID', 'requested range not satisfiable', { range: header.slice(0, 100), size }, { headers: { 'Content-Range': `bytes */${size}` } });
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) throw unsatisfiable();
  const specs = m[1]!.split(',').map((s) => s.trim());
  if (specs.length > 1) return undefined;
  const r = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === '' && r[2] === '')) throw unsatisfiable();
  if (r[1] === '') {
    // Suffix range: the last N bytes.
    const n = Number(r[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || (r[2] !== '' && Number(r[2]) < start)) throw unsatisfiable();
  return { start, end };
}

/**
 * Parses an upload chunk's Content-Range. The spec's form is "<start>-<end>" (inclusive); the
 * RFC forms "bytes <start>-<end>/<total>" and "bytes=<start>-<end>" are accepted as well.
 * Throws RANGE_INVALID (416) when it cannot be parsed.
 */
export function parseContentRange(header: string): ByteRange {
  const m = /^\s*(?:bytes[ =])?\s*(\d+)-(\d+)(?:\/(?:\d+|\*))?\s*$/i.exec(header);
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new OciError('RANGE_INVALID', 'invalid Content-Range', { contentRange: header.slice(0, 100) });
  }
  return { start, end };
}

/** The Range header the spec answers upload requests with: "0-<last byte>" ("0-0" when empty). */
export function uploadRangeHeader(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}

/** Reads n and last from a query; n above maxN is clamped (the Link header then tells the rest). */
export function parsePage(query: URLSearchParams, maxN: number | undefined): Page {
  const page: Page = {};
  const n = query.get('n');
  if (n !== null && n !== '') {
    if (!/^\d{1,9}$/.test(n)) throw new OciError('PAGINATION_NUMBER_INVALID', 'n must be a non-negative integer', { n: n.slice(0, 20) });
    page.n = maxN === undefined ? Number(n) : Math.min(Number(n), maxN);
  } else if (maxN !== undefined) {
    page.n = maxN;
  }
  const last = query.get('last');
  if (last !== null && last !== '') page.last = last;
  return page;
}

/** RFC 5988 Link header for the next page, as the spec shows it. */
export function nextLink(path: string, n: number, last: string): string {
  const q = new URLSearchParams({ n: String(n), last });
  return `<${path}?${q.toString()}>; rel="next"`;
}

/** Whether an Accept header admits a media type. No header (or an empty one) admits everything. */
export function accepts(acceptHeader: string | undefined, mediaType: string): boolean {
  if (!acceptHeader || acceptHeader.trim() === '') return true;
  const wanted = mediaType.toLowerCase();
  const [type] = wanted.split('/');
  let any = false;
  for (const entry of acceptHeader.split(',')) {
    const [rawType, ...params] = entry.split(';');
    const t = baseMediaType(rawType);
    if (t === '') continue;
    any = true;
    if (params.some((p) => /^\s*q\s*=\s*0(?:\.0*)?\s*$/i.test(p))) continue;
    if (t === wanted || t === '*/*' || t === `${type}/*`) return true;
  }
  return !any;
}

/**
 * Reads a small request body (a manifest) into memory, refusing more than maxBytes with
 * MANIFEST_INVALID and 413, as the spec recommends for oversized manifests. The declared
 * Content-Length is checked before any byte is read.
 */
export async function readBoundedBody(req: IncomingMessage, body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new OciError('MANIFEST_INVALID', `manifest larger than ${maxBytes} bytes`, { limit: maxBytes }, { status: 413 });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** The query string of a request as URLSearchParams (independent of the framework's parser). */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const i = url.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : url.slice(i + 1));
}

/** The declared Content-Length, or undefined (chunked transfer); SIZE_INVALID when malformed. */
export function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new OciError('SIZE_INVALID', 'invalid Content-Length');
  return Number(v);
}
